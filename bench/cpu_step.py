"""Training-step time on the CPU: distml (numpy backend) vs PyTorch, same models, same run.

    python bench/cpu_step.py [--repeats 15] [--rounds 5] [--threads 2]

A step is forward + cross-entropy + backward + SGD(momentum) step. The torch models are
distml.models' own source executed with `torch.nn` in place of `distml.nn`: the same
code defines both, which is also a check that a model ports by changing imports.
Each measurement runs in its own process with OPENBLAS/OMP threads set to --threads:
numpy's OpenBLAS threads and torch's OpenMP threads in one process fight over the cores
(we measured a 4x slowdown). Each model is measured in `--rounds` alternating pairs of
processes (distml, torch, distml, torch, ...): a shared machine's speed drifts by 10%
over a minute, so the reported ratio is the median of the rounds' ratios, with their
range (and each round's times in the JSON). A process times `--repeats` steps (their
median) after warm-up steps: with 5 steps, a round that caught the host busy for a second
gave ratios from 1.2 to 2.2 in one run; 15 steps and 5 rounds ride such spells out.
Writes bench/results/cpu_step.json.
"""
import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import distml  # noqa: E402
import distml.models  # noqa: E402

CASES = [
    ("MnistCNN", 64, (1, 28, 28), lambda lib: lib.MnistCNN()),
    ("ResNet-18 cifar stem 32x32", 32, (3, 32, 32),
     lambda lib: lib.resnet18(num_classes=10, stem="cifar")),
    ("ResNet-18 imagenet stem 32x32", 32, (3, 32, 32),
     lambda lib: lib.resnet18(num_classes=10, stem="imagenet")),
]


def torch_models():
    """distml/models.py, executed against torch.nn."""
    import torch
    source = open(distml.models.__file__).read().replace("from . import nn", "from torch import nn")
    spec = importlib.util.spec_from_loader("torch_models", loader=None)
    module = importlib.util.module_from_spec(spec)
    module.__dict__["torch"] = torch
    exec(compile(source, "torch_models", "exec"), module.__dict__)
    return module


def time_steps(step, repeats, warmup=2):
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def distml_step(make, batch, shape):
    distml.manual_seed(0)
    model = make(distml.models)
    opt = distml.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = distml.randn(batch, *shape)
    y = distml.randint(0, 10, (batch,))

    def step():
        opt.zero_grad()
        loss = distml.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()
    return step


def torch_step(make, batch, shape, tm):
    import torch
    torch.manual_seed(0)
    model = make(tm)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(batch, *shape)
    y = torch.randint(0, 10, (batch,))

    def step():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()
    return step


def measure(framework, case, threads, repeats):
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads))
    out = subprocess.run([sys.executable, __file__, "--worker", framework, "--case", str(case),
                          "--threads", str(threads), "--repeats", str(repeats)],
                         env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def worker(args):
    name, batch, shape, make = CASES[args.case]
    if args.worker == "torch":
        import torch
        torch.set_num_threads(args.threads)
        step = torch_step(make, batch, shape, torch_models())
        version = torch.__version__
    else:
        step = distml_step(make, batch, shape)
        version = f"{distml.__version__} ({distml.backends.cpu_backend_name()} backend)"
    print(json.dumps(dict(seconds=time_steps(step, args.repeats), version=version)))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--repeats", type=int, default=15)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default=os.path.join(HERE, "results", "cpu_step.json"))
    p.add_argument("--models", default="",
                   help="comma-separated substrings of model names to run (default: all)")
    p.add_argument("--worker", choices=["distml", "torch"], help=argparse.SUPPRESS)
    p.add_argument("--case", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        return worker(args)
    rows, versions = [], {}
    wanted = [m.strip().lower() for m in args.models.split(",") if m.strip()]
    for i, (name, batch, _, _) in enumerate(CASES):
        if wanted and not any(m in name.lower() for m in wanted):
            continue
        ds, ts = [], []
        for _ in range(max(1, args.rounds)):
            d, t = (measure(fw, i, args.threads, args.repeats) for fw in ("distml", "torch"))
            versions = dict(distml=d["version"], torch=t["version"])
            ds.append(d["seconds"])
            ts.append(t["seconds"])
        ratios = [d / t for d, t in zip(ds, ts)]
        d, t, ratio = statistics.median(ds), statistics.median(ts), statistics.median(ratios)
        rows.append(dict(model=name, batch=batch, distml_ms=round(d * 1000, 1),
                         torch_ms=round(t * 1000, 1), ratio=round(ratio, 2),
                         ratio_range=[round(min(ratios), 2), round(max(ratios), 2)],
                         distml_samples_per_s=round(batch / d, 1),
                         torch_samples_per_s=round(batch / t, 1),
                         rounds_ms=[[round(a * 1000, 1), round(b * 1000, 1)]
                                    for a, b in zip(ds, ts)]))
        print(f"{name:32s} batch {batch:3d}: distml {d * 1000:8.1f} ms  torch {t * 1000:8.1f} ms"
              f"  ratio {ratio:5.2f} ({min(ratios):.2f}-{max(ratios):.2f})", flush=True)
    result = dict(benchmark="cpu_step", when=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                  versions=versions, threads=args.threads,
                  python=platform.python_version(), cpus=os.cpu_count(),
                  repeats=args.repeats, rounds=args.rounds, rows=rows)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
