"""distml in real headless Chromium: Pyodide (Python 3.14) in a Web Worker, the wheel
installed by micropip, the "cpu" device served by the pure-Python backend (no numpy there).

The op conformance suite of tests/conformance runs in the page against torch reference
values computed here on the host.
"""
import json
import time

import pytest

from .harness import LOAD_CONFORMANCE, PagePythonError, PageTimeout

SEED = 1234  # conformance inputs and gradient weights: fixed, any value works


def test_python_in_the_page(browser_python):
    info = browser_python.run(
        "import json, sys, distml, distml.backends, distml.webgl\n"
        "try:\n"
        "    import numpy\n"
        "    numpy_error = None\n"
        "except ImportError as exc:\n"
        "    numpy_error = type(exc).__name__\n"
        "{'version': list(sys.version_info[:3]), 'platform': sys.platform,\n"
        " 'distml': distml.__version__, 'file': distml.__file__,\n"
        " 'numpy_error': numpy_error,\n"
        " 'cpu_backend': distml.backends.cpu_backend_name(),\n"
        " 'webgl': distml.webgl.is_available(),\n"
        " 'glsl': (__import__('importlib.resources').resources.files('distml') / 'glsl'\n"
        "          / 'copy.frag').read_text().startswith('#version 300 es')}")
    assert info["version"][:2] == [3, 14], info
    assert info["platform"] == "emscripten"
    assert info["file"].startswith("/lib/python3.14/site-packages/distml/"), info["file"]
    assert info["numpy_error"] == "ModuleNotFoundError"
    assert info["cpu_backend"] == "python"
    assert info["webgl"] is True  # SwiftShader gives WebGL2 with float32 render targets
    assert info["glsl"] is True  # package data ships in the wheel and reads under Pyodide
    assert browser_python.console_errors == []


def test_stdout_is_captured(browser_python):
    out = browser_python.call("print('hello from', 'the page')\n42")
    assert out["ok"] and out["result"] == 42
    assert out["stdout"] == "hello from the page\n"


# "small" is the pure-Python backend's profile (tests/conformance/cases/); "full" (the
# numpy/webgl shapes) also runs here in ~15 s, so the page sees the same sizes as the host
@pytest.mark.parametrize("profile", ["small", "full"])
def test_conformance_suite_in_the_page(browser_python, profile):
    from conformance.make_reference import make_reference

    reference = make_reference(profile, SEED)
    expected = sorted(cid for cid, entry in reference["cases"].items() if "result" in entry)
    assert expected, "the reference has no cases"
    t0 = time.monotonic()
    browser_python.run(LOAD_CONFORMANCE)  # the case files, into the page
    report = browser_python.run(
        "import json, distml\n"
        "from conformance import runner\n"
        f"REFERENCE = json.loads({json.dumps(reference)!r})\n"
        f"report = runner.run_all(distml, {profile!r}, {SEED}, REFERENCE)\n"
        "{'pass': report['pass'], 'fail': report['fail'], 'skip': report['skip'],\n"
        " 'backend': distml.backends.cpu_backend_name()}", timeout=240)
    seconds = time.monotonic() - t0
    assert report["backend"] == "python"
    failures = "\n".join(f"  {cid}: {'; '.join(msgs)[:400]}"
                         for cid, msgs in sorted(report["fail"].items()))
    assert not report["fail"], (
        f"{len(report['fail'])} conformance case(s) ({profile}, seed {SEED}) differ from "
        f"torch in the page (Pyodide, cpu=python): {sorted(report['fail'])}\n{failures}")
    skipped = {cid: r for cid, r in report["skip"].items() if cid in expected}
    assert not skipped, f"cases with a torch reference were skipped in the page: {skipped}"
    assert sorted(report["pass"]) == expected
    print(f"\n{len(report['pass'])} conformance cases ({profile}) pass in the page in "
          f"{seconds:.1f} s")


TRAIN = """
import distml, distml.nn as nn, distml.nn.functional as F
distml.manual_seed(0)
x = distml.randn(64, 8)
y = (x[:, 0] * x[:, 1] + x[:, 2] > 0).long()
model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 2))
opt = distml.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
losses = []
for step in range(50):
    opt.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    losses.append(loss.item())
accuracy = (model(x).argmax(1) == y).float().mean().item()
"""


def test_training_loop_in_the_page(browser_python, cpu_backend):
    t0 = time.monotonic()
    page = browser_python.run(TRAIN + "{'losses': losses, 'accuracy': accuracy}")
    seconds = time.monotonic() - t0
    losses = page["losses"]
    assert len(losses) == 50
    assert losses[-1] < 0.5 * losses[0], losses
    assert page["accuracy"] > 0.8, page
    # counter-based random numbers: the same seed gives the same model and data here, so
    # the page's run follows the host's pure-Python run (up to libm ulps in exp/log)
    cpu_backend("python")
    host = {}
    exec(TRAIN, host)
    assert losses == pytest.approx(host["losses"], rel=1e-4, abs=1e-5)
    print(f"\n50 MLP steps in the page in {seconds:.1f} s: loss {losses[0]:.4f} -> "
          f"{losses[-1]:.4f}")


def test_python_error_surfaces_with_traceback(browser_python):
    with pytest.raises(PagePythonError) as info:
        browser_python.run("import distml\n"
                           "def shapes():\n"
                           "    return distml.ones(2, 3) @ distml.ones(2, 3)\n"
                           "print('before the error')\n"
                           "shapes()")
    text = str(info.value)
    assert "Traceback (most recent call last)" in text
    assert "in shapes" in text and "distml.ones(2, 3) @ distml.ones(2, 3)" in text
    assert "before the error" in text  # stdout up to the error is part of the report
    assert "<distml-run-" in text and "_distml_run" not in text  # the wrapper is hidden
    # the page is still usable, and its namespace survived
    assert browser_python.run("shapes.__name__") == "shapes"


def test_hung_python_call_is_interrupted(browser_python):
    browser_python.run("kept = 'still here'")
    t0 = time.monotonic()
    with pytest.raises(PageTimeout) as info:
        browser_python.run("while True:\n    pass", timeout=2)
    assert time.monotonic() - t0 < 15
    assert "timed out after 2 s (interrupted)" in str(info.value)
    assert "KeyboardInterrupt" in str(info.value)
    assert browser_python.run("kept") == "still here"  # same worker, same namespace


def test_call_hung_in_javascript_restarts_the_worker(browser_python):
    # a loop in JS never checks Python's interrupt buffer: the page gives up after its
    # grace period, terminates the worker and starts a fresh one
    browser_python.run("kept = 1")
    t0 = time.monotonic()
    with pytest.raises(PageTimeout, match="worker was restarted"):
        browser_python.run("import js\njs.eval('for (;;) {}')", timeout=2)
    assert time.monotonic() - t0 < 60
    assert browser_python.run("import distml\n'kept' in globals(), distml.__version__") == \
        [False, browser_python.info["distml"]]
    assert browser_python.console_errors == []
