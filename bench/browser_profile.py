"""Where a captured training step's time goes on the webgl device (a profiling aid, not a
benchmark of record): one page, the step of bench/browser_bench.py wrapped in
distml.compile, then replays with gl.finish() after every draw (the JS helper's
replayTimed), so each draw's time includes SwiftShader running it.

    python bench/browser_profile.py --model mlp --batch 64 [--replays 5]
    python bench/browser_profile.py --model mlp:16,32,10    # an MLP of other sizes

Prints the ops of one step: the least ms over the replays of ops 0..k followed by a sync
(a one-texel readPixels; gl.finish() does not wait in Chromium) and its increase over ops
0..k-1 (what op k adds in the chain of dependent draws; noisy, use --replays 20), and op k
alone run 20 times in a row (ms per run: pipelined, so less than in the chain); also step,
replay and read-back times.
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

PAGE_CODE = os.path.join(HERE, "page", "profile_setup.py")  # Python, in the Pyodide worker


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="mlp")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--replays", type=int, default=5)
    ap.add_argument("--no-prefix", action="store_true",
                    help="skip the prefix replays (slow for a ResNet's ~1000 ops)")
    ap.add_argument("-o", "--output")
    a = ap.parse_args()
    from browser.harness import BrowserPython
    with BrowserPython(start_timeout=180, call_timeout=900) as py:
        with open(os.path.join(HERE, "page", "distml_setup.py"), encoding="utf-8") as fh:
            py.run(fh.read())
        py.run(open(PAGE_CODE, encoding="utf-8").read())
        out = py.run(f"profile_step({a.model!r}, {a.batch}, {a.replays}, {not a.no_prefix})")
    by_kernel = {}
    for (name, w, h), ms in zip(out["ops"], out["per_op_ms"]):
        key = name.split(" OP")[0]
        e = by_kernel.setdefault(key, [0, 0.0])
        e[0] += 1
        e[1] += ms
    print("per kernel: count, ms (ops alone)")
    for key, (n, ms) in sorted(by_kernel.items(), key=lambda kv: -kv[1][1])[:25]:
        print(f"{ms:8.2f} ms {n:5d}x  {key[:100]}")
    if a.output:
        with open(a.output, "w", encoding="utf-8") as fh:
            json.dump(out, fh, indent=1)
    print(f"{out['n_draws']} draws, ops alone sum to {sum(out['per_op_ms']):.2f} ms")
    for k in ("split_replay_ms", "split_read_ms", "step_ms", "replay_only_ms", "read_back_only_ms"):
        print(k, out[k])
    if not out["draws"]:
        return
    print("prefix ms (ops 0..k replayed, then a sync), its increase, one op alone (ms, run "
          "20x in a row)")
    prev = out["draws"][0][3]
    for k, (name, w, h, ms) in enumerate(out["draws"]):
        alone = f"{out['per_op_ms'][k - 1]:8.3f}" if k else "prologue"
        print(f"{ms:8.3f} {ms - prev:+7.3f} {alone:>9}  {w:5d}x{h:<5d} {name[:100]}")
        prev = ms


if __name__ == "__main__":
    main()
