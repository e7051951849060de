#!/usr/bin/env bash
# Distributed evaluation through torchrun: tools/dist_test.sh CONFIG CHECKPOINT NPROC
# [test.py options]; as tools/dist_train.sh (GPUs, or gloo on CPU).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/dist_env.sh"
launch test.py "$3" "$1" "$2" "${@:4}"
