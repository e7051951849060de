# Sourced by tools/dist_*.sh: `launch SCRIPT NPROC [ARGS...]` runs tools/SCRIPT in NPROC torchrun
# processes (--launcher pytorch). The Python: $PYTHON if set, else `python` if it has
# gain_mmseg, else the project's environment (tools/install_env.sh).
if [ -z "${PYTHON:-}" ]; then
    if command -v python >/dev/null && (cd / && python -c 'import gain_mmseg') 2>/dev/null; then
        PYTHON=python
    else
        PYTHON="$(bash "$here/install_env.sh")/bin/python"
    fi
fi
export PYTHONPATH="$here/..${PYTHONPATH:+:$PYTHONPATH}"

launch() {
    local script=$1 nproc=$2
    exec "$PYTHON" -m torch.distributed.run --nnodes="${NNODES:-1}" \
        --node_rank="${NODE_RANK:-0}" --master_addr="${MASTER_ADDR:-127.0.0.1}" \
        --nproc_per_node="$nproc" --master_port="${PORT:-29500}" "$here/$script" \
        "${@:3}" --launcher pytorch
}
