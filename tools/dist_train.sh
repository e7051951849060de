#!/usr/bin/env bash
# Distributed training through torchrun: tools/dist_train.sh CONFIG NPROC [train.py options]
# NPROC processes on this machine: one per GPU, or on a machine without a GPU NPROC CPU
# processes (gloo; tools/train.py selects CPUDistributedRunner by itself).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/dist_env.sh"
launch train.py "$2" "$1" "${@:3}"
