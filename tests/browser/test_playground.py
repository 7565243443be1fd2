"""The playground page in real headless Chromium: the preloaded script trains and feeds
the live chart; Stop interrupts a running script."""
import os

import pytest

SHOT = os.environ.get("DISTML_PLAYGROUND_SCREENSHOT")  # optional PNG path, for the README


@pytest.fixture
def playground(browser_python):
    page = browser_python._context.new_page()
    try:
        page.goto(f"{browser_python.url}/playground/index.html", wait_until="commit")
        page.wait_for_function("() => window.playground && window.playground.state !== "
                               "'starting'", timeout=120_000, polling=100)
        assert page.evaluate("window.playground.state") == "ready"
        yield page
    finally:
        page.close()


def _run(page, code, timeout_s):
    page.fill("#code", code)
    page.click("#run")
    page.wait_for_function("() => ['done', 'error'].includes(window.playground.state)",
                           timeout=timeout_s * 1000, polling=200)
    return page.evaluate("window.playground.state"), page.evaluate("window.playground.output()")


def test_preloaded_script_trains_and_charts(playground):
    script = playground.input_value("#code")
    assert "MnistCNN" in script and "report(" in script
    # the same script, shortened: 40 steps (its chart points come every 20 steps) and an
    # accuracy on the first 1,000 test images
    short = script.replace("MnistCNN(width=16), 64, 900", "MnistCNN(width=16), 64, 40")
    short = short.replace("accuracy = evaluate(len(test_set))", "accuracy = evaluate(1000)")
    assert short.count(", 40  #") == 1 and "evaluate(1000)\nreport" in short
    state, output = _run(playground, short, 600)
    assert state == "done", output
    assert "training MnistCNN on webgl" in output and "done: 40 steps" in output
    points = playground.evaluate("window.playground.points")
    losses = [p["loss"] for p in points if "loss" in p]
    accuracy = [p["accuracy"] for p in points if "accuracy" in p]
    assert len(losses) == 2 and losses[-1] < 2.0
    assert accuracy and accuracy[-1] > 0.5
    assert "samples/s" in playground.inner_text("#stats")
    if SHOT:
        playground.screenshot(path=SHOT, full_page=True)


def test_stop_interrupts_a_running_script(playground):
    playground.fill("#code", "from distml.web import report\n"
                             "i = 0\nwhile True:\n    i += 1\n"
                             "    if i % 100000 == 0:\n        report(step=i, loss=1 / i)\n")
    playground.click("#run")
    playground.wait_for_function("() => window.playground.points.length > 3", timeout=60_000)
    playground.click("#stop")
    playground.wait_for_function("() => window.playground.state === 'error'", timeout=30_000)
    assert "KeyboardInterrupt" in playground.evaluate("window.playground.output()")
    assert not playground.is_disabled("#run")
