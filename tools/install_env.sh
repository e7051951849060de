#!/usr/bin/env bash
# Create (or reuse) the virtual environment that runs gain-mmseg, and print its path.
#
# Idempotent: the environment lives outside the checkout, in
#   ${GAIN_MMSEG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gain-mmseg}/venv-<hash>
# where <hash> covers requirements/*.txt and the pins below, so a fresh clone reuses it in seconds
# and a change of pins builds a new one. mmcv 2.1.0 ships no wheels; its build (about 7 minutes
# on 2 cores) is cached as a wheel keyed by the torch version it was built against.
#
# Override: GAIN_MMSEG_VENV=/path/to/venv uses (and fills) that environment instead.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cache=${GAIN_MMSEG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gain-mmseg}
torch_pin=${GAIN_MMSEG_TORCH:-torch==2.14.1 torchvision==0.29.1}
mmcv_version=2.1.0

# Bump when the install steps below change in a way that needs a new environment.
layout=1
hash=$(cat "$root"/requirements/*.txt <(echo "$torch_pin $mmcv_version $layout") | sha256sum | cut -c1-12)
venv=${GAIN_MMSEG_VENV:-$cache/venv-$hash}
stamp=$venv/.gain-mmseg-installed
log() { echo "[install_env] $*" >&2; }

build_mmcv_wheel() {
    # mmcv's setup.py hard-codes -std=c++17, but torch >= 2.14 headers need C++20; and an
    # isolated build sees neither torch nor pkg_resources, hence --no-build-isolation.
    local py=$1 out=$2 src
    src=$(mktemp -d)
    "$py" -m pip download -q --no-deps --no-binary :all: --no-build-isolation \
        "mmcv==$mmcv_version" -d "$src"
    tar -xzf "$src"/mmcv-"$mmcv_version".tar.gz -C "$src"
    sed -i 's/-std=c++17/-std=c++20/g' "$src/mmcv-$mmcv_version/setup.py"
    log "building mmcv $mmcv_version with CPU ops (takes several minutes)"
    (cd "$src/mmcv-$mmcv_version" && MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-2} \
        "$py" -m pip wheel -q --no-deps --no-build-isolation --no-cache-dir -w "$src/dist" .)
    mkdir -p "$out"
    # Rename into place so a killed build never leaves a half-written cached wheel.
    for whl in "$src"/dist/*.whl; do
        cp "$whl" "$out/.tmp-$(basename "$whl")" && mv "$out/.tmp-$(basename "$whl")" "$out/$(basename "$whl")"
    done
    rm -rf "$src"
}

install_all() {
    local py=$venv/bin/python torch_version wheels
    [ -x "$py" ] || python3 -m venv "$venv"
    "$py" -m pip install -q -r "$root/requirements/build.txt"
    # shellcheck disable=SC2086
    "$py" -m pip install -q $torch_pin
    torch_version=$("$py" -c 'import torch; print(torch.__version__)')
    wheels=$cache/wheels/mmcv-$mmcv_version-torch-$torch_version
    ls "$wheels"/mmcv-*.whl >/dev/null 2>&1 || build_mmcv_wheel "$py" "$wheels"
    "$py" -m pip install -q -r "$root/requirements/runtime.txt" -r "$root/requirements/dev.txt" \
        -r "$root/requirements/bench.txt"
    "$py" -m pip install -q "$wheels"/mmcv-*.whl
    touch "$stamp"
}

if [ ! -f "$stamp" ]; then
    log "creating $venv"
    install_all
fi
# A shared environment may point at another checkout: re-link the editable install to this one.
# (Checked from / so that the current directory does not shadow the installed package.)
if ! (cd / && "$venv/bin/python" - "$root" <<'EOF' 2>/dev/null); then
import pathlib, sys
import gain_mmseg
sys.exit(pathlib.Path(gain_mmseg.__file__).resolve().parents[1] != pathlib.Path(sys.argv[1]).resolve())
EOF
    log "installing gain_mmseg from $root (editable)"
    "$venv/bin/python" -m pip install -q --no-deps --no-build-isolation -e "$root"
fi
echo "$venv"
