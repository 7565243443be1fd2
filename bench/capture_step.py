"""Captured steps (distml.compile) against eager steps on the "webgl" device, in headless
Chromium (SwiftShader).

    python bench/capture_step.py [--steps 40] [--rounds 5]

Runs in the page of tests/browser/harness.py (build the wheel first: `bash run.sh wheel`).
The MLP 784-32-10 at batch 64 with SGD momentum 0.9 (forward, cross-entropy, backward,
step, loss read back), eager and captured, interleaved over `--rounds`:
- steps/s with the loss read back after every step (the benchmarks' step);
- host time per step without any read back (Python + FFI + GL command submission; the
  GPU work is only waited for at the final read back, outside the timing), divided by the
  draws per step: the host time per eager op and per replayed draw; as the mean over the
  steps (which includes the waits of calls that GL's flow control holds back when the GPU
  falls behind) and as the median call ("_median_call": without those waits); and the
  median call of the benchmarks' step, which starts on an idle GPU after the last step's
  read back ("_after_read_back": SwiftShader's threads, just busy on the same two cores,
  leave the page's caches cold, so the same Python and GL calls take longer);
- an A/B of eager steps (ABBA order per round): the backend's draw path as it is ("now")
  against the pre-capture one ("pre", without the `recording` check).
Writes bench/results/capture_step.json. Not a test; no wall-clock figure is asserted.
"""
import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

PAGE = """
import json, statistics, time
import distml, distml.webgl
import distml.nn.functional as F
from distml.backends import get_backend
from distml.models import MLP
from distml.backends.webgl.resources import GPUResources

be = get_backend("webgl")
STEPS, ROUNDS, BATCH = {steps}, {rounds}, 64


def make():
    distml.manual_seed(0)
    model = MLP(784, [32], 10).to("webgl")
    opt = distml.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return step


x = distml.randn(BATCH, 784).to("webgl")
y = distml.randint(0, 10, (BATCH,)).to("webgl")


def run(fn, read_back):
    for _ in range(6):  # warm-up: compiles, recordings
        fn(x, y).item()
    d0 = distml.webgl.stats()
    calls = []
    t0 = time.perf_counter()
    for _ in range(STEPS):
        t1 = time.perf_counter()
        loss = fn(x, y)
        calls.append(time.perf_counter() - t1)
        if read_back:
            loss.item()
    host = time.perf_counter() - t0
    d1 = distml.webgl.stats()
    loss.item()
    total = time.perf_counter() - t0
    # without read backs, a call that finds the GPU too far behind waits in GL's flow
    # control: the mean then includes GPU time, the median of the calls does not
    return {{"seconds": (total if read_back else host) / STEPS,
             "median_call_seconds": statistics.median(calls),
             "draws": (d1["draws"] - d0["draws"]) / STEPS,
             "ffi_calls": (d1["ffi_calls"] - d0["ffi_calls"]) / STEPS}}


def old_draw(self, family, defines, out, inputs, uniforms):  # _draw before the capture
    prog = defines if isinstance(defines, int) else self._program(family, **defines)
    targets = [st.handle for st in out] if isinstance(out, list) else out.handle
    uniforms["u_outW"] = (out[0] if isinstance(out, list) else out).w
    for k, st in enumerate(inputs):
        uniforms[f"u_w{{k}}"] = [st.w - 1, st.w.bit_length() - 1]
    spec = json.dumps([prog, targets, [st.handle for st in inputs], uniforms],
                      separators=(",", ":"))
    self.counters["draws"] += 1
    self._call(f"kernel {{family}} {{defines}}", self._gl.run, spec)


new_draw = GPUResources._draw
rows = []
for r in range(ROUNDS):
    eager, captured = make(), distml.compile(make())
    ab = {{}}
    for which in ("pre", "now", "now", "pre"):  # ABBA: neither side always goes first
        GPUResources._draw = old_draw if which == "pre" else new_draw
        ab.setdefault(which, []).append(run(make(), True)["seconds"])
    GPUResources._draw = new_draw
    rows.append({{"eager": run(eager, True), "captured": run(captured, True),
                 "eager_host": run(eager, False), "captured_host": run(captured, False),
                 "ab_seconds": ab, "replays": captured.replays}})
med = lambda key, f: statistics.median(row[key][f] for row in rows)
summary = {{
    "eager_steps_per_s": 1 / med("eager", "seconds"),
    "captured_steps_per_s": 1 / med("captured", "seconds"),
    "ab_eager_steps_per_s": {{k: 1 / statistics.median(t for row in rows
                                                     for t in row["ab_seconds"][k])
                             for k in ("pre", "now")}},
    "draws_per_step": med("eager", "draws"),
    "ffi_calls_per_step": {{"eager": med("eager", "ffi_calls"),
                            "captured": med("captured", "ffi_calls")}},
    "host_us_per_eager_op": 1e6 * med("eager_host", "seconds") / med("eager_host", "draws"),
    "host_us_per_replayed_draw":
        1e6 * med("captured_host", "seconds") / med("captured_host", "draws"),
    "host_us_per_replayed_draw_median_call":
        1e6 * med("captured_host", "median_call_seconds") / med("captured_host", "draws"),
    "host_us_per_eager_op_median_call":
        1e6 * med("eager_host", "median_call_seconds") / med("eager_host", "draws"),
    "host_us_per_replayed_draw_after_read_back":
        1e6 * med("captured", "median_call_seconds") / med("captured", "draws"),
    "host_us_per_eager_op_after_read_back":
        1e6 * med("eager", "median_call_seconds") / med("eager", "draws"),
}}
{{"info": be.info, "steps": STEPS, "rounds": rows, "summary": summary}}
"""


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=5,
                    help="rounds; the summary takes the median over them (default 5: a "
                         "round can catch SwiftShader's threads busy on the same cores)")
    ap.add_argument("-o", "--output",
                    default=os.path.join(HERE, "results", "capture_step.json"))
    args = ap.parse_args(argv)
    from browser.harness import BrowserPython, missing_requirements

    reasons = missing_requirements()
    if reasons:
        sys.exit("cannot run: " + "; ".join(reasons))
    t0 = time.monotonic()
    with BrowserPython(start_timeout=120, call_timeout=1800) as py:
        result = py.run(PAGE.format(steps=args.steps, rounds=args.rounds), timeout=1800)
        result["page"] = py.info
    result["wall_seconds"] = time.monotonic() - t0
    result["when"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    with open("/proc/loadavg") as fh:
        result["loadavg"] = fh.read().split()[:3]
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w") as fh:
        json.dump(result, fh, indent=1)
    print(json.dumps(result["summary"], indent=1))


if __name__ == "__main__":
    main()
