"""Static files for the browser side, answered by `websockets.serve`'s `process_request`.

    python -m server.static --port 8000     # then open http://127.0.0.1:8000/web/test.html

One port serves the page, Pyodide, the wheel and (later) the parameter server's websocket:
a request that asks for a websocket upgrade is passed on (`process_request` returns None),
every other GET is a file from one of these folders, and nothing outside them:

    /pyodide/...      .cache/pyodide/dist        the Pyodide core + micropip (`run.sh setup`)
    /wheels/...       wheels/                    `run.sh wheel`; /wheels/latest.json names the
                                                 newest distml wheel: {"wheel": "/wheels/..."}
    /web/...          web/                       the page, the worker and the JS API
    /playground/...   examples/playground/       the playground page (Python in the page)
    /data/mnist/...   the MNIST IDX folder       distml.datasets.mnist_files_dir()
    /conformance/...  tests/conformance/         op cases and runner, for the in-page suite
    /vendor/tfjs/...  .cache/tfjs/dist           TensorFlow.js (`run.sh setup`): tf.min.js,
                                                 the benchmark's peer (bench/browser_bench.py)
    /vendor/tfjs-wasm/... .cache/tfjs-wasm/dist  TF.js's wasm backend and its .wasm files
    /vendor/uplot/... .cache/vendor/uplot        uPlot (`run.sh setup`): the pages' charts
    /vendor/codemirror/...  .cache/vendor/codemirror   CodeMirror 5: the playground's editor

Two layouts: a checkout (server/ beside distml/, web/, wheels/ and .cache/) and the
installed package (distml/server/, with web/ and playground/ inside it). Installed, the
cache is $DISTML_CACHE_DIR or ~/.cache/distml (Pyodide in pyodide/dist, or wherever
--pyodide-dir / $DISTML_PYODIDE_DIR says), and the wheel the browsers install is built
from the installed package itself (server/selfwheel.py) into the cache's wheels/.

Paths with `..`, `.` or empty segments, backslashes or NUL (also percent-encoded) get 403,
as do symlinks that resolve outside their folder; missing files and folders get 404
(error bodies never repeat the request).
Every response carries cross-origin-isolation headers, so the page may share an interrupt
buffer (a SharedArrayBuffer) with the Pyodide worker to stop a runaway Python call.
"""
import argparse
import asyncio
import email.utils
import json
import os
import threading
import urllib.parse
from pathlib import Path

from websockets.asyncio.server import serve
from websockets.datastructures import Headers
from websockets.http11 import Response

HERE = Path(__file__).resolve().parent  # server/ in a checkout, distml/server installed
ROOT = HERE.parent  # the checkout, or the installed distml package
IN_CHECKOUT = (ROOT / "pyproject.toml").is_file()


def _first(*paths):
    """The first of these paths that exists (else the first)."""
    return next((p for p in paths if p.exists()), paths[0])


WEB_DIR = _first(HERE / "web", ROOT / "web")
PLAYGROUND_DIR = _first(HERE / "playground", ROOT / "examples" / "playground")


def cache_dir():
    """Where set-up put Pyodide, the vendor scripts and (installed) the browsers' wheel."""
    if os.environ.get("DISTML_CACHE_DIR"):
        return Path(os.environ["DISTML_CACHE_DIR"])
    return ROOT / ".cache" if IN_CHECKOUT else Path.home() / ".cache" / "distml"


def pyodide_dir(override=None):
    """The Pyodide distribution: --pyodide-dir, $DISTML_PYODIDE_DIR, else the cache's."""
    chosen = override or os.environ.get("DISTML_PYODIDE_DIR")
    return Path(chosen) if chosen else cache_dir() / "pyodide" / "dist"


def wheels_dir():
    """The folder of distml wheels for the browsers: wheels/ in a checkout (`run.sh
    wheel`); installed, a wheel made from the installed package, in the cache."""
    if IN_CHECKOUT:
        return ROOT / "wheels"
    from .selfwheel import ensure_wheel
    return ensure_wheel(cache_dir() / "wheels")

MIME_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".wasm": "application/wasm",
    ".whl": "application/octet-stream",
    ".zip": "application/octet-stream",
    ".tgz": "application/octet-stream",
    ".json": "application/json",
    ".map": "application/json",
    ".py": "text/plain; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/plain; charset=utf-8",
    ".ts": "text/plain; charset=utf-8",
    ".glsl": "text/plain; charset=utf-8",
    ".frag": "text/plain; charset=utf-8",
    ".vert": "text/plain; charset=utf-8",
}
DEFAULT_MIME = "application/octet-stream"

ISOLATION_HEADERS = (
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Cross-Origin-Embedder-Policy", "require-corp"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
)

_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
            404: "Not Found", 429: "Too Many Requests", 503: "Service Unavailable"}


def default_mounts(pyodide=None):
    """{url prefix: folder} for this layout (MNIST only when it is installed); `pyodide`
    overrides where Pyodide is (--pyodide-dir)."""
    cache = cache_dir()
    mounts = {
        "pyodide": pyodide_dir(pyodide),
        "wheels": wheels_dir(),
        "web": WEB_DIR,
        "playground": PLAYGROUND_DIR,
        "conformance": ROOT / "tests" / "conformance",
        "vendor/tfjs": cache / "tfjs" / "dist",
        "vendor/tfjs-wasm": cache / "tfjs-wasm" / "dist",
        "vendor/uplot": cache / "vendor" / "uplot",
        "vendor/codemirror": cache / "vendor" / "codemirror",
    }
    try:
        from distml.datasets import mnist_files_dir
        mounts["data/mnist"] = mnist_files_dir()
    except (ImportError, FileNotFoundError):
        pass
    return mounts


def _path_only(url_path):
    """The path of a request target, without query or fragment (still percent-encoded)."""
    return url_path.split("?", 1)[0].split("#", 1)[0]


def mime_type(path):
    return MIME_TYPES.get(Path(path).suffix.lower(), DEFAULT_MIME)


class StaticFiles:
    """Maps URL paths to files under a few folders; `process_request` plugs into
    `websockets.serve`."""

    def __init__(self, mounts=None, log=None):
        mounts = default_mounts() if mounts is None else mounts
        self.mounts = {prefix.strip("/"): Path(folder) for prefix, folder in mounts.items()}
        self.log = log  # optional callable(str): one line per request

    def resolve(self, url_path):
        """(status, file) for a request path: (200, Path) or (403 | 404, None)."""
        path = urllib.parse.unquote(_path_only(url_path))
        if not path.startswith("/") or "\\" in path or "\0" in path:
            return 403, None
        parts = path[1:].split("/")
        if any(p in ("", ".", "..") for p in parts[:-1]) or parts[-1] in (".", ".."):
            return 403, None
        if parts[-1] == "":
            return 404, None  # a folder: no listings
        for prefix in sorted(self.mounts, key=lambda p: -p.count("/")):
            head = prefix.split("/")
            if parts[:len(head)] != head or len(parts) == len(head):
                continue
            root = self.mounts[prefix].resolve()
            target = root.joinpath(*parts[len(head):]).resolve()
            if not target.is_relative_to(root):
                return 403, None  # a symlink pointing outside the folder
            return (200, target) if target.is_file() else (404, None)
        return 404, None

    def latest_wheel(self):
        """The newest distml-*.whl in the wheels folder, or None."""
        folder = self.mounts.get("wheels")
        found = sorted(folder.glob("distml-*.whl"), key=lambda p: p.stat().st_mtime) \
            if folder is not None and folder.is_dir() else []
        return found[-1] if found else None

    def response(self, url_path):
        """The HTTP response for a GET of `url_path`."""
        if _path_only(url_path) == "/wheels/latest.json":
            whl = self.latest_wheel()
            if whl is None:
                return self._reply(url_path, 404, b"no distml wheel: run `bash run.sh wheel`\n",
                                   MIME_TYPES[".txt"])
            body = json.dumps({"wheel": f"/wheels/{whl.name}", "name": whl.name}).encode()
            return self._reply(url_path, 200, body, MIME_TYPES[".json"])
        status, target = self.resolve(url_path)
        if status != 200:
            text = f"{status} {_REASONS[status]}\n".encode()  # never echo the request
            return self._reply(url_path, status, text, MIME_TYPES[".txt"])
        return self._reply(url_path, 200, target.read_bytes(), mime_type(target))

    def process_request(self, connection, request):
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return None  # a websocket handshake: not ours
        return self.response(request.path)

    def _reply(self, url_path, status, body, content_type):
        headers = Headers([
            ("Date", email.utils.formatdate(usegmt=True)),
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-cache"),
            ("Connection", "close"),
            *ISOLATION_HEADERS,
        ])
        if self.log is not None:
            self.log(f"GET {url_path} {status} {len(body)}")
        return Response(status, _REASONS[status], headers, body)


async def _no_websocket(connection):
    await connection.close(1008, "no websocket endpoint on the static server")


class ServerThread:
    """The static server on its own event loop in a daemon thread (tests, harness).

        with ServerThread() as srv:
            urlopen(srv.url + "/web/test.html")
    """

    def __init__(self, host="127.0.0.1", port=0, files=None, handler=_no_websocket):
        self.host, self.port = host, port
        self.files = files if files is not None else StaticFiles()
        self.handler = handler
        self._loop = self._server = self._error = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="static-server", daemon=True)

    @property
    def url(self):
        return f"http://{self.host}:{self.port}"

    def start(self):
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise RuntimeError(f"static server failed to start: {self._error!r}")
        if self._server is None:
            raise RuntimeError("static server did not start within 30 s")
        return self

    def stop(self):
        if self._loop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._server.close)
            self._thread.join(10)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _main(self):
        asyncio.run(self._serve())

    async def _serve(self):
        try:
            server = await serve(self.handler, self.host, self.port,
                                 process_request=self.files.process_request,
                                 compression=None)
        except Exception as exc:  # reported by start()
            self._error = exc
            self._ready.set()
            return
        self._loop = asyncio.get_running_loop()
        self.port = server.sockets[0].getsockname()[1]
        self._server = server
        self._ready.set()
        await server.wait_closed()


async def _amain(host, port, quiet):
    files = StaticFiles(log=None if quiet else lambda line: print(line, flush=True))
    async with serve(_no_websocket, host, port, process_request=files.process_request,
                     compression=None) as server:
        port = server.sockets[0].getsockname()[1]
        for prefix, folder in files.mounts.items():
            print(f"  /{prefix}/ -> {folder}")
        print(f"serving on http://{host}:{port}/web/test.html", flush=True)
        await server.serve_forever()


def main(argv=None):
    ap = argparse.ArgumentParser(description="Serve distml's page, Pyodide and wheel.")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("-q", "--quiet", action="store_true", help="no per-request log lines")
    args = ap.parse_args(argv)
    try:
        asyncio.run(_amain(args.host, args.port, args.quiet))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
