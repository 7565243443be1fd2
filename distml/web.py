"""Helpers for Python running in a web page (Pyodide in a Web Worker).

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
    """Send numbers (loss, accuracy, samples_per_s, step, ...) to the page's chart."""
    clean = {k: float(v) for k, v in metrics.items()}
    if not IN_BROWSER:
        print("report", json.dumps(clean))
        return
    import js
    from pyodide.ffi import to_js
    js.postMessage(to_js({"type": "metric", "metrics": clean},
                         dict_converter=js.Object.fromEntries))


def fetch_bytes(url):
    """GET url from the page's host, synchronously (allowed inside a Web Worker, where
    distml's Python runs), as bytes."""
    import js
    xhr = js.XMLHttpRequest.new()
    xhr.open("GET", url, False)
    xhr.responseType = "arraybuffer"
    xhr.send(None)
    if xhr.status != 200:
        raise OSError(f"GET {url}: HTTP {xhr.status}")
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
