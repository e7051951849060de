# Sourced by tools/dist_*.sh: the Python that has gain_mmseg, in $PYTHON.
if [ -z "${PYTHON:-}" ]; then
    if command -v python >/dev/null && (cd / && python -c 'import gain_mmseg') 2>/dev/null; then
        PYTHON=python
    else
        PYTHON="$(bash "$here/install_env.sh")/bin/python"
    fi
fi
export PYTHONPATH="$here/..${PYTHONPATH:+:$PYTHONPATH}"
