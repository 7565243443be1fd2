"""server.static: MIME types, the URL layout, 404s and no way out of the served folders."""
import http.client
import json
import os
import time

import pytest

from server.static import ROOT, ServerThread, StaticFiles, default_mounts


@pytest.fixture
def tree(tmp_path):
    web = tmp_path / "web"
    web.mkdir()
    (web / "test.html").write_text("<!doctype html>")
    (web / "worker.js").write_text("self.onmessage = null;")
    (web / "sub").mkdir()
    (web / "sub" / "cases.py").write_text("CASES = []\n")
    (web / "inside-link.js").symlink_to(web / "worker.js")
    (tmp_path / "secret.txt").write_text("top secret")
    (web / "escape.txt").symlink_to(tmp_path / "secret.txt")
    (web / "escape-dir").symlink_to(tmp_path, target_is_directory=True)
    pyo = tmp_path / "pyodide"
    pyo.mkdir()
    for name, data in (("pyodide.mjs", b"export {}"), ("pyodide.asm.wasm", b"\0asm"),
                       ("python_stdlib.zip", b"PK"), ("pyodide-lock.json", b"{}")):
        (pyo / name).write_bytes(data)
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    old = wheels / "distml-0.0.9-py3-none-any.whl"
    old.write_bytes(b"old")
    new = wheels / "distml-0.1.0-py3-none-any.whl"
    new.write_bytes(b"new")
    os.utime(old, (time.time() - 100, time.time() - 100))
    mnist = tmp_path / "mnist"
    mnist.mkdir()
    (mnist / "t10k-labels-idx1-ubyte").write_bytes(b"\0\0\x08\x01")
    tfjs = tmp_path / "tfjs"
    tfjs.mkdir()
    (tfjs / "tf.min.js").write_text("var tf = {};")
    return {"web": web, "pyodide": pyo, "wheels": wheels, "data/mnist": mnist,
            "vendor/tfjs": tfjs}


@pytest.fixture
def server(tree):
    with ServerThread(files=StaticFiles(tree)) as srv:
        yield srv


def get(srv, path):
    """A raw GET: http.client sends the path as given (no `..` normalisation)."""
    conn = http.client.HTTPConnection(srv.host, srv.port, timeout=10)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


@pytest.mark.parametrize("path, mime", [
    ("/web/test.html", "text/html"),
    ("/web/worker.js", "text/javascript"),
    ("/pyodide/pyodide.mjs", "text/javascript"),
    ("/pyodide/pyodide.asm.wasm", "application/wasm"),
    ("/pyodide/python_stdlib.zip", "application/octet-stream"),
    ("/pyodide/pyodide-lock.json", "application/json"),
    ("/wheels/distml-0.1.0-py3-none-any.whl", "application/octet-stream"),
    ("/web/sub/cases.py", "text/plain"),
    ("/data/mnist/t10k-labels-idx1-ubyte", "application/octet-stream"),
    ("/web/inside-link.js?v=3", "text/javascript"),  # a symlink inside the folder is fine
    ("/vendor/tfjs/tf.min.js", "text/javascript"),  # a two-segment mount
])
def test_serves_files_with_mime_types(server, tree, path, mime):
    status, headers, body = get(server, path)
    assert status == 200
    assert headers["Content-Type"].split(";")[0] == mime
    assert int(headers["Content-Length"]) == len(body)
    # cross-origin isolation (SharedArrayBuffer interrupt buffer for the worker)
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert headers["Cross-Origin-Embedder-Policy"] == "require-corp"
    prefix = next(p for p in sorted(tree, key=len, reverse=True) if path[1:].startswith(p))
    assert body == (tree[prefix] / path[len(prefix) + 2:].split("?")[0]).read_bytes()


@pytest.mark.parametrize("path", [
    "/web/../secret.txt",
    "/web/sub/../../secret.txt",
    "/web/%2e%2e/secret.txt",
    "/web/%2E%2E%2Fsecret.txt",
    "/web/..%2fsecret.txt",
    "/web/./test.html",
    "/web//etc/passwd",
    "/web/%2Fetc%2Fpasswd",
    "//etc/passwd",
    "/web/..\\secret.txt",
    "/web/%5c..%5csecret.txt",
    "/web/test.html%00.js",
    "/web/escape.txt",  # symlink to a file outside web/
    "/web/escape-dir/secret.txt",  # symlinked folder pointing outside
    "/vendor/tfjs/../../secret.txt",
    "/vendor/tfjs/%2e%2e/secret.txt",
    "/vendor/%2e%2e/web/test.html",
])
def test_rejects_traversal(server, path):
    status, _, body = get(server, path)
    assert status == 403, (path, status)
    assert b"top secret" not in body


@pytest.mark.parametrize("path", [
    "/web/missing.js", "/web/sub", "/web/sub/", "/web", "/web/", "/", "/nothing/here.js",
    "/pyodide/pyodide.mjs/x", "/data/mnist", "/data/other/file",
    "/vendor/tfjs", "/vendor/tfjs/", "/vendor/tfjs/tf.js", "/vendor/other.js",
])
def test_missing_is_404(server, path):
    status, headers, _ = get(server, path)
    assert status == 404, (path, status)
    assert headers["Content-Type"].startswith("text/plain")


def test_latest_wheel(server):
    status, headers, body = get(server, "/wheels/latest.json")
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"wheel": "/wheels/distml-0.1.0-py3-none-any.whl",
                                "name": "distml-0.1.0-py3-none-any.whl"}


def test_latest_wheel_missing(tmp_path):
    files = StaticFiles({"wheels": tmp_path})
    assert files.response("/wheels/latest.json").status_code == 404


def test_resolve_unit(tree):
    files = StaticFiles(tree)
    assert files.resolve("/web/sub/cases.py") == (200, (tree["web"] / "sub" / "cases.py")
                                                   .resolve())
    assert files.resolve("web/test.html")[0] == 403  # not an absolute URL path
    assert files.resolve("/web/../web/test.html")[0] == 403


def test_websocket_upgrade_is_not_intercepted(tree):
    class Request:
        path = "/ws"
        headers = {"Upgrade": "websocket"}

    assert StaticFiles(tree).process_request(None, Request()) is None


def test_default_mounts():
    mounts = default_mounts()
    assert mounts["pyodide"] == ROOT / ".cache" / "pyodide" / "dist"
    assert mounts["wheels"] == ROOT / "wheels"
    assert mounts["web"] == ROOT / "web"
    assert mounts["conformance"] == ROOT / "tests" / "conformance"
    assert mounts["vendor/tfjs"] == ROOT / ".cache" / "tfjs" / "dist"
    assert (mounts["web"] / "worker.js").is_file()
    with ServerThread() as srv:
        status, headers, body = get(srv, "/conformance/runner.py")
        assert status == 200 and headers["Content-Type"].startswith("text/plain")
        assert b"def run_all" in body
        assert get(srv, "/web/worker.js")[1]["Content-Type"].startswith("text/javascript")
        if (mounts["vendor/tfjs"] / "tf.min.js").is_file():  # `bash run.sh setup` fetched it
            status, headers, body = get(srv, "/vendor/tfjs/tf.min.js")
            assert status == 200 and headers["Content-Type"].startswith("text/javascript")
            assert len(body) > 1_000_000
