"""The "webgl" device in headless Chromium (SwiftShader): kernel and training-step times.

    python bench/webgl_step.py [--repeats 3]

Runs in the page of tests/browser/harness.py (build the wheel first: `bash run.sh wheel`):
square matmuls, and training steps (forward + cross-entropy + backward + SGD momentum,
ending with loss.item()) of an MLP 784-32-10 (batch 64), the 3-conv MNIST net of
shared/DESIGN.md (batch 32) and distml.models.MnistCNN (batch 8), each also with the
time per kernel family (every draw followed by a 1-texel read-back so that the GPU time
lands on its kernel). Writes bench/results/webgl_step.json. Not a test.
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
import time, statistics
from collections import defaultdict
import distml, distml.nn as nn, distml.nn.functional as F
from distml.backends import get_backend
from distml.models import MnistCNN

be = get_backend("webgl")
REPEATS = {repeats}
out = {{"info": be.info, "matmul": {{}}, "steps": {{}}}}


def median_time(fn):
    fn()
    times = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


for n in (128, 256, 512, 1024):
    a = distml.randn(n, n, device="webgl")
    b = distml.randn(n, n, device="webgl")
    out["matmul"][n] = median_time(lambda: (a @ b).sum().item())


class Conv3(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 32, 3, stride=2, padding=1)
        self.c2 = nn.Conv2d(32, 32, 3, stride=2, padding=1)
        self.c3 = nn.Conv2d(32, 32, 3, stride=2, padding=1)
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        x = F.relu(self.c3(F.relu(self.c2(F.relu(self.c1(x))))))
        return self.fc(x.mean((2, 3)))


MODELS = [
    ("mlp 784-32-10", 64, (784,),
     lambda: nn.Sequential(nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 10))),
    ("conv3 mnist", 32, (1, 28, 28), Conv3),
    ("MnistCNN", 8, (1, 28, 28), MnistCNN),
]
for name, batch, shape, make in MODELS:
    distml.manual_seed(0)
    model = make().to("webgl")
    opt = distml.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = distml.randn(batch, *shape, device="webgl")
    y = distml.randint(0, 10, (batch,), device="webgl")

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    s0 = be.stats()
    seconds = median_time(step)
    s1 = be.stats()
    calls = REPEATS + 1
    per_kernel = defaultdict(float)
    draw = be._draw

    def synced(family, defines, o, inputs, uniforms):
        t0 = time.perf_counter()
        draw(family, defines, o, inputs, uniforms)
        be._gl.download((o[0] if isinstance(o, list) else o).handle, 1)
        per_kernel[family + str(defines.get("MODE", ""))] += time.perf_counter() - t0

    be._draw = synced
    try:
        step()
    finally:
        del be._draw
    out["steps"][name] = {{
        "batch": batch, "seconds": seconds, "samples_per_s": batch / seconds,
        "draws": (s1["draws"] - s0["draws"]) / calls,
        "ffi_calls": (s1["ffi_calls"] - s0["ffi_calls"]) / calls,
        "kernel_seconds": dict(sorted(per_kernel.items(), key=lambda kv: -kv[1])),
    }}
out
"""


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("-o", "--output", default=os.path.join(HERE, "results", "webgl_step.json"))
    args = ap.parse_args(argv)
    from browser.harness import BrowserPython, missing_requirements

    reasons = missing_requirements()
    if reasons:
        sys.exit("cannot run: " + "; ".join(reasons))
    t0 = time.monotonic()
    with BrowserPython(start_timeout=120, call_timeout=1800) as py:
        result = py.run(PAGE.format(repeats=args.repeats), timeout=1800)
        result["page"] = py.info
    result["wall_seconds"] = time.monotonic() - t0
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w") as fh:
        json.dump(result, fh, indent=1)
    for n, s in result["matmul"].items():
        print(f"matmul {n}: {s:.3f} s ({2 * int(n) ** 3 / s / 1e9:.2f} GFLOPS)")
    for name, r in result["steps"].items():
        top = ", ".join(f"{k} {v:.2f}" for k, v in list(r["kernel_seconds"].items())[:3])
        print(f"{name} (batch {r['batch']}): {r['seconds']:.3f} s/step, "
              f"{r['samples_per_s']:.1f} samples/s, {r['draws']:.0f} draws; top: {top}")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
