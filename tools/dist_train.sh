#!/usr/bin/env bash
# Distributed training through torchrun: tools/dist_train.sh CONFIG NPROC [train.py options]
# NPROC processes on this machine: one per GPU, or on a machine without a GPU NPROC CPU
# processes (gloo; tools/train.py selects CPUDistributedRunner by itself). The Python that runs
# it: $PYTHON if set, else `python` if it has gain_mmseg, else the project's environment
# (tools/install_env.sh, which `make install` creates).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/dist_env.sh"
CONFIG=$1
NPROC=$2
exec "$PYTHON" -m torch.distributed.run --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" --nproc_per_node="$NPROC" \
    --master_port="${PORT:-29500}" "$here/train.py" "$CONFIG" --launcher pytorch "${@:3}"
