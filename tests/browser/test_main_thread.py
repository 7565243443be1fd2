"""The main-thread fallback of web/distml.js: Pyodide on the page's main thread, behind the
same page API (window.distmlCall, window.distmlStatus), when a Web Worker with WebGL2 on an
OffscreenCanvas is unavailable or when the page asks for it (test.html?mainthread=1)."""
import hashlib

from .harness import PYODIDE_DIST

STEPS = 30

TRAIN = f"""
import js
import distml, distml.nn as nn, distml.nn.functional as F
from distml.web import fetch_bytes, report

distml.manual_seed(0)
x = distml.randn(32, 4)
y = (x[:, 0] + x[:, 1] > 0).long() + (x[:, 2] > 1).long()   # 3 classes
model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
opt = distml.optim.SGD(model.parameters(), lr=0.2, momentum=0.9)
losses = []
for step in range({STEPS}):
    opt.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    losses.append(loss.item())
    report(step=step, loss=losses[-1])
print("trained on", x.device)
wheel = fetch_bytes("/pyodide/micropip-0.11.1-py3-none-any.whl")
{{"main_thread": hasattr(js, "document"), "device": str(x.device), "losses": losses,
  "wheel_sha256": __import__("hashlib").sha256(wheel).hexdigest(),
  "html": fetch_bytes("/web/test.html")[:15].decode()}}
"""


def test_the_default_is_the_worker(browser_python):
    assert browser_python.info["mode"] == "worker"
    assert browser_python.info["fallbackReason"] is None


def test_main_thread_flag_trains_on_cpu(browser_python):
    view = browser_python.open_page("mainthread=1")
    try:
        info = view.info
        assert info["mode"] == "main-thread" and info["fallbackReason"] == "requested"
        outcome = view.call(TRAIN, timeout=120)
        assert outcome["ok"], outcome.get("traceback") or outcome.get("error")
        result = outcome["result"]
        assert result["main_thread"] is True  # Python sees the page's window, not a worker
        assert result["device"] == "cpu"
        losses = result["losses"]
        assert len(losses) == STEPS and losses[-1] < 0.5 * losses[0], losses
        assert outcome["stdout"] == "trained on cpu\n"
        # report() reaches the page's onMetric through the window's message events
        view.page.wait_for_function(f"() => window.distmlMetrics.length >= {STEPS}",
                                    timeout=10_000)
        metrics = view.page.evaluate("window.distmlMetrics")
        assert [m["step"] for m in metrics] == list(range(STEPS))
        assert metrics[-1]["loss"] == losses[-1]
        # fetch_bytes on the main thread: binary intact, text intact
        wheel = PYODIDE_DIST / "micropip-0.11.1-py3-none-any.whl"
        assert result["wheel_sha256"] == hashlib.sha256(wheel.read_bytes()).hexdigest()
        assert result["html"] == "<!doctype html>"
        # a Python error comes back as on the worker, and the namespace survives it
        bad = view.call("1 / 0", timeout=10)
        assert not bad["ok"] and not bad["timeout"]
        assert "ZeroDivisionError" in bad["traceback"]
        again = view.call("len(losses)", timeout=10)
        assert again["ok"] and again["result"] == STEPS
        assert view.console_errors == []
    finally:
        view.close()


def test_no_offscreen_canvas_falls_back(browser_python):
    # a browser without OffscreenCanvas: startPython picks the main thread by itself
    view = browser_python.open_page("", init_script="delete globalThis.OffscreenCanvas;")
    try:
        info = view.info
        assert info["mode"] == "main-thread"
        assert info["fallbackReason"] == "no OffscreenCanvas"
        outcome = view.call(
            "import distml, distml.webgl\n"
            "ones = distml.ones(64, 64, device='webgl')\n"
            "[str(__import__('js').distmlCreateCanvas().tagName),\n"
            " (distml.ones(2, 3) * 2).sum().item(), distml.webgl.is_available(),\n"
            " (ones @ ones).sum().item()]", timeout=60)
        assert outcome["ok"], outcome.get("traceback") or outcome.get("error")
        # WebGL on the page's DOM canvas: the packed matmul runs there too
        assert outcome["result"] == ["CANVAS", 12.0, True, 64.0 ** 3]
        assert view.console_errors == []
    finally:
        view.close()
