"""Does distml train slower when Pyodide runs on the page's main thread than in a Worker?

    python bench/thread_gap.py                       # ResNet-18 b8 and the MLP b64, 3 rounds
    python bench/thread_gap.py --points resnet18:8 --rounds 2 --captured

Issue 14 saw a ResNet-18 step measured through a page whose Python ran on the main thread
give about half the samples/s of bench/browser_bench.py (which uses the Worker). This runs
the same page code as browser_bench.py (bench/page/distml_setup.py) in two pages of one
headless Chromium, opened alike: web/test.html with `mainthread=0` (Pyodide in a module
Worker, WebGL2 on an OffscreenCanvas) and `mainthread=1` (Pyodide on the page's main
thread, WebGL2 on a DOM canvas). Only one of them computes at a time: the rounds alternate the order
(worker first, then main thread first). Each point records the training step's median
time, and the host cost of one small eager op (`x = x + 1` on 16 elements: Python, FFI and
issuing the draw, without the GPU's share), which tells Python's speed apart from the
GL's. Writes bench/results/thread_gap.json.
"""
import argparse
import datetime
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

from common import median_ms, write_json  # noqa: E402 (bench/ is the script's folder)

PAGE_CODE = os.path.join(HERE, "page", "distml_setup.py")
MODES = {"worker": "mainthread=0", "main_thread": "mainthread=1"}
MODELS = ("resnet18", "mnistcnn", "mlp")


def _points(text):
    """"resnet18:8,mlp:64" -> [("resnet18", 8), ("mlp", 64)]."""
    out = []
    for item in (v.strip() for v in text.split(",") if v.strip()):
        model, _, batch = item.partition(":")
        if model not in MODELS or not batch.isdigit() or int(batch) < 1:
            raise argparse.ArgumentTypeError(
                f"bad point {item!r}: write MODEL:BATCH with MODEL one of {list(MODELS)}")
        out.append((model, int(batch)))
    return out


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=_points, default=_points("resnet18:8,mlp:64"),
                    help="MODEL:BATCH list (default resnet18:8,mlp:64)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="rounds, alternating which page goes first (default 3)")
    ap.add_argument("--train-repeats", type=int, default=5,
                    help="timed steps per point after the warm-up (default 5)")
    ap.add_argument("--eager-ops", type=int, default=1000,
                    help="eager `x = x + 1` ops timed in a row (default 1000)")
    ap.add_argument("--captured", action="store_true",
                    help="also time the step wrapped in distml.compile")
    ap.add_argument("-o", "--output", default=os.path.join(HERE, "results", "thread_gap.json"))
    args = ap.parse_args(argv)
    if args.rounds < 1 or args.train_repeats < 1 or args.eager_ops < 1:
        ap.error("--rounds, --train-repeats and --eager-ops must be at least 1")
    return args


def run(args):
    from browser.harness import BrowserPython, missing_requirements

    reasons = missing_requirements()
    if reasons:
        sys.exit("cannot run: " + "; ".join(reasons))
    with open(PAGE_CODE, encoding="utf-8") as fh:
        page_code = fh.read()
    result = {"benchmark": "thread_gap", "args": {k: v for k, v in vars(args).items()},
              "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "pages": {}, "rounds": []}
    pages = {}
    with BrowserPython(start_timeout=180, call_timeout=1800) as browser:
        for mode, query in MODES.items():  # two new pages of one browser, opened alike
            py = pages[mode] = browser.open_page(query)
            py.run(page_code)
            result["pages"][mode] = {"info": py.info, "distml": py.run("info()"),
                                     "visibility": py.page.evaluate("document.visibilityState")}
            if py.info["mode"] != mode.replace("_", "-"):
                sys.exit(f"the {mode} page started in mode {py.info['mode']!r}")
        kinds = [False, True] if args.captured else [False]
        for r in range(args.rounds):
            order = list(MODES) if r % 2 == 0 else list(MODES)[::-1]
            entry = {"round": r, "order": order, "points": []}
            for model, batch in args.points:
                for captured in kinds:
                    point = {"model": model, "batch": batch, "captured": captured}
                    for mode in order:
                        py = pages[mode]
                        load = os.getloadavg()[0]
                        out = py.run(f"bench_train({model!r}, {batch}, {args.train_repeats}, "
                                     f"captured={captured})")
                        py.run("cleanup()")
                        point[mode] = {"step_ms": median_ms(out["times"]),
                                       "draws_per_step": out["draws_per_step"],
                                       "load_before": round(load, 2)}
                    point["main_over_worker"] = round(
                        point["main_thread"]["step_ms"] / point["worker"]["step_ms"], 3)
                    entry["points"].append(point)
                    print(f"round {r} {model} b{batch}{' captured' if captured else ''}: "
                          f"worker {point['worker']['step_ms']} ms, main thread "
                          f"{point['main_thread']['step_ms']} ms, ratio "
                          f"{point['main_over_worker']}", flush=True)
            eager = {}
            for mode in order:
                out = pages[mode].run(f"bench_eager_op({args.eager_ops}, 16, 3)")
                eager[mode] = {"host_us_per_op": out["host_us_per_op"],
                               "us_per_op_with_read_back": out["us_per_op_with_read_back"]}
            entry["eager"] = eager
            print(f"round {r} eager x + 1: {eager}", flush=True)
            result["rounds"].append(entry)
            write_json(args.output, result)
    result["summary"] = _summary(result["rounds"])
    write_json(args.output, result)
    return result


def _summary(rounds):
    """Per point, the median over rounds of each page's step time and of the ratio."""
    by_point = {}
    for entry in rounds:
        for p in entry["points"]:
            by_point.setdefault((p["model"], p["batch"], p["captured"]), []).append(p)
    out = []
    for (model, batch, captured), points in by_point.items():
        out.append({"model": model, "batch": batch, "captured": captured,
                    "worker_ms": statistics.median(p["worker"]["step_ms"] for p in points),
                    "main_thread_ms": statistics.median(
                        p["main_thread"]["step_ms"] for p in points),
                    "main_over_worker": statistics.median(
                        p["main_over_worker"] for p in points),
                    "range": [min(p["main_over_worker"] for p in points),
                              max(p["main_over_worker"] for p in points)]})
    return out


def main(argv=None):
    args = parse_args(argv)
    t0 = time.monotonic()
    result = run(args)
    for row in result["summary"]:
        print(row)
    print(f"wrote {args.output} in {time.monotonic() - t0:.0f} s")


if __name__ == "__main__":
    main()
