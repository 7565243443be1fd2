"""The playground's preloaded script, run in full in headless Chromium (not a test).

    python bench/playground_run.py [--shot docs/playground.png]

Opens /playground/index.html, presses Run with the preloaded script unchanged (MnistCNN on
"webgl"), waits until it finishes, takes a screenshot of the page for the README and writes
bench/results/playground_run.json (the script's output, final test accuracy, wall time).
Build the wheel first (`bash run.sh wheel`).
"""
import argparse
import json
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shot", default=os.path.join(ROOT, "docs", "playground.png"))
    ap.add_argument("--timeout", type=float, default=7200, help="seconds for the whole run")
    ap.add_argument("-o", "--output",
                    default=os.path.join(HERE, "results", "playground_run.json"))
    args = ap.parse_args(argv)
    from browser.harness import BrowserPython, missing_requirements

    reasons = missing_requirements()
    if reasons:
        sys.exit("cannot run: " + "; ".join(reasons))
    with BrowserPython(start_timeout=120) as py:
        page = py._context.new_page()
        page.set_viewport_size({"width": 1280, "height": 800})
        page.goto(f"{py.url}/playground/index.html", wait_until="commit")
        page.wait_for_function("() => window.playground && window.playground.state === "
                               "'ready'", timeout=120_000, polling=200)
        t0 = time.monotonic()
        page.click("#run")
        page.wait_for_function("() => ['done', 'error'].includes(window.playground.state)",
                               timeout=args.timeout * 1000, polling=1000)
        seconds = time.monotonic() - t0
        state = page.evaluate("window.playground.state")
        output = page.evaluate("window.playground.output()")
        os.makedirs(os.path.dirname(args.shot), exist_ok=True)
        page.screenshot(path=args.shot, full_page=True)
    found = re.findall(r"test accuracy ([\d.]+)% on (\d+) test images", output)
    result = {"state": state, "seconds": seconds, "output": output,
              "test_accuracy": float(found[-1][0]) / 100 if found else None,
              "screenshot": os.path.relpath(args.shot, ROOT)}
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w") as fh:
        json.dump(result, fh, indent=1)
    print(output)
    print(f"{state} in {seconds / 60:.1f} min; test accuracy {result['test_accuracy']}; "
          f"screenshot {args.shot}; wrote {args.output}")
    return 0 if state == "done" else 1


if __name__ == "__main__":
    sys.exit(main())
