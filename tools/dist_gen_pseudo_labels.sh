#!/usr/bin/env bash
# Pseudo masks from NPROC torchrun processes, each labelling its share of the images:
# tools/dist_gen_pseudo_labels.sh CONFIG CHECKPOINT NPROC --out DIR [gen_pseudo_labels.py options]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/dist_env.sh"
launch gen_pseudo_labels.py "$3" "$1" "$2" "${@:4}"
