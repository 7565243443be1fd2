"""The playground page in real headless Chromium: the preloaded script trains and feeds
the live chart; Stop interrupts a running script."""
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SHOT = os.environ.get("DISTML_PLAYGROUND_SCREENSHOT")  # optional PNG path, for the README


@pytest.fixture
def playground(browser_python):
    page = browser_python._context.new_page()
    try:
        page.goto(f"{browser_python.url}/playground/index.html", wait_until="commit")
        page.wait_for_function("() => window.playground && window.playground.state !== "
                               "'starting'", timeout=120_000, polling=100)
        assert page.evaluate("window.playground.state") == "ready"
        # the editor is CodeMirror (served from /vendor/codemirror/ when set-up fetched it)
        if (ROOT / ".cache" / "vendor" / "codemirror" / "lib" / "codemirror.js").is_file():
            assert page.evaluate("window.playground.editor") == "codemirror"
            assert page.locator(".CodeMirror-linenumber").count() > 10
        yield page
    finally:
        page.close()


def _run(page, code, timeout_s):
    page.evaluate("(code) => window.playground.setCode(code)", code)
    page.click("#run")
    page.wait_for_function("() => ['done', 'error'].includes(window.playground.state)",
                           timeout=timeout_s * 1000, polling=200)
    return page.evaluate("window.playground.state"), page.evaluate("window.playground.output()")


def test_preloaded_script_trains_and_charts(playground):
    script = playground.evaluate("window.playground.getCode()")
    assert "MnistCNN" in script and "report(" in script
    # the same script, shortened: 40 steps (its chart points come every 20 steps) and an
    # accuracy on the first 1,000 test images
    short = script.replace("MnistCNN(width=16), 64, 900", "MnistCNN(width=16), 64, 40")
    short = short.replace("accuracy = evaluate(len(test_set))", "accuracy = evaluate(1000)")
    assert short.count(", 40  #") == 1 and "evaluate(1000)\nreport" in short
    state, output = _run(playground, short, 600)
    assert state == "done", output
    assert "training MnistCNN on webgl" in output and "done: 40 steps" in output
    assert "step 1 of 40: loss" in output  # the first step shows at once
    points = playground.evaluate("window.playground.points")
    losses = [p for p in points if "loss" in p]
    accuracy = [p["accuracy"] for p in points if "accuracy" in p]
    # every step of the first 10, then every 5th: 16 points, from step 1
    assert [p["step"] for p in losses] == list(range(1, 11)) + list(range(15, 41, 5))
    assert all(p["max_steps"] == 40 and p["samples_per_s"] > 0 for p in losses)
    assert losses[-1]["loss"] < 2.0
    assert accuracy and accuracy[-1] > 0.5
    stats = playground.inner_text("#stats")
    assert "step 40 of 40" in stats and "samples/s" in stats and "test accuracy" in stats
    # the chart (uPlot, when set-up fetched it) drew its canvas
    if (ROOT / ".cache" / "vendor" / "uplot" / "dist" / "uPlot.iife.min.js").is_file():
        assert playground.locator("#chart canvas").count() == 1
    if SHOT:
        playground.screenshot(path=SHOT, full_page=True)


def test_stop_interrupts_a_running_script(playground):
    playground.evaluate("(code) => window.playground.setCode(code)",
                        "from distml.web import report\n"
                        "i = 0\nwhile True:\n    i += 1\n"
                        "    if i % 100000 == 0:\n        report(step=i, loss=1 / i)\n")
    if playground.evaluate("window.playground.editor") == "codemirror":
        playground.click(".CodeMirror")
        playground.keyboard.press("Control+Enter")  # runs, like the Run button
    else:
        playground.click("#run")
    playground.wait_for_function("() => window.playground.points.length > 3", timeout=60_000)
    playground.click("#stop")
    playground.wait_for_function("() => window.playground.state === 'error'", timeout=30_000)
    assert "KeyboardInterrupt" in playground.evaluate("window.playground.output()")
    assert not playground.is_disabled("#run")
