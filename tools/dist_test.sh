#!/usr/bin/env bash
# Distributed evaluation through torchrun: tools/dist_test.sh CONFIG CHECKPOINT NPROC
# [test.py options]; as tools/dist_train.sh (GPUs, or gloo on CPU; the same choice of Python).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/dist_env.sh"
CONFIG=$1
CHECKPOINT=$2
NPROC=$3
exec "$PYTHON" -m torch.distributed.run --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" --nproc_per_node="$NPROC" \
    --master_port="${PORT:-29500}" "$here/test.py" "$CONFIG" "$CHECKPOINT" \
    --launcher pytorch "${@:4}"
