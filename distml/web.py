"""Helpers for Python running in a web page (Pyodide in a Web Worker, or on the page's
main thread where web/distml.js falls back to it).

    from distml.web import report, fetch_mnist
    fetch_mnist()                       # the server's /data/mnist/ IDX files, into the page
    report(step=10, loss=0.31)          # one point for the page's live chart

Outside a browser, report() prints the metrics instead, so the same script runs on CPython.
"""
import json
import os
import sys

IN_BROWSER = sys.platform == "emscripten"
MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
               "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def report(**metrics):
    """Send numbers (loss, accuracy, samples_per_s, step, ...) to the page's chart;
    strings (e.g. a worker's state) pass through as they are."""
    clean = {k: v if isinstance(v, str) else float(v) for k, v in metrics.items()}
    if not IN_BROWSER:
        print("report", json.dumps(clean))
        return
    import js
    from pyodide.ffi import to_js
    message = to_js({"type": "metric", "metrics": clean}, dict_converter=js.Object.fromEntries)
    if _on_main_thread():
        # the window's postMessage: web/distml.js listens for it (same origin only)
        js.postMessage(message, js.location.origin)
    else:
        js.postMessage(message)


def _on_main_thread():
    """True when Python runs on a page's main thread (there is a document), False in a
    Web Worker."""
    import js
    return hasattr(js, "document")


def fetch_bytes(url):
    """GET url from the page's host, synchronously, as bytes (a synchronous XMLHttpRequest:
    binary in a Web Worker; on the main thread, where a synchronous request may not ask for
    an ArrayBuffer, as x-user-defined text, one char per byte)."""
    import js
    main = _on_main_thread()
    xhr = js.XMLHttpRequest.new()
    xhr.open("GET", url, False)
    if main:
        xhr.overrideMimeType("text/plain; charset=x-user-defined")
    else:
        xhr.responseType = "arraybuffer"
    xhr.send(None)
    if xhr.status != 200:
        raise OSError(f"GET {url}: HTTP {xhr.status}")
    if main:
        # x-user-defined maps byte b to U+0000+b (ASCII) or U+F780+(b-0x80): the low byte of
        # each UTF-16 code unit is the byte
        return str(xhr.responseText).encode("utf-16-le")[::2]
    return js.Uint8Array.new(xhr.response).to_bytes()


def fetch_mnist(base_url="/data/mnist/", dest="/tmp/mnist"):
    """Fetch the four MNIST IDX files from the serving host into the page's file system
    and point distml.datasets.MNIST at them. On CPython this does nothing (the set-up
    installed them)."""
    if not IN_BROWSER:
        return None
    os.makedirs(dest, exist_ok=True)
    for name in MNIST_FILES:
        path = os.path.join(dest, name)
        if not os.path.exists(path):
            with open(path, "wb") as f:
                f.write(fetch_bytes(base_url + name))
    os.environ["DISTML_MNIST_DIR"] = dest
    return dest
