#!/usr/bin/env bash
# Pseudo masks from NPROC torchrun processes, each labelling its share of the images:
# tools/dist_gen_pseudo_labels.sh CONFIG CHECKPOINT NPROC --out DIR [gen_pseudo_labels.py options]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/dist_env.sh"
CONFIG=$1
CHECKPOINT=$2
NPROC=$3
exec "$PYTHON" -m torch.distributed.run --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" --nproc_per_node="$NPROC" \
    --master_port="${PORT:-29500}" "$here/gen_pseudo_labels.py" "$CONFIG" "$CHECKPOINT" \
    --launcher pytorch "${@:4}"
