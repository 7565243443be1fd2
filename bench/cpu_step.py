"""Training-step time on the CPU: distml (numpy backend) vs PyTorch, same models, same run.

    python bench/cpu_step.py [--repeats 15] [--rounds 3] [--threads 2]

A step is forward + cross-entropy + backward + SGD(momentum) step. The torch models are
distml.models' own source executed with `torch.nn` in place of `distml.nn`: the same
code defines both, which is also a check that a model ports by changing imports.
distml and torch run in two processes with OPENBLAS/OMP threads set to --threads
(numpy's OpenBLAS threads and torch's OpenMP threads in one process fight over the cores:
we measured a 4x slowdown), in lockstep: after their warm-up steps, the parent asks each
for one timed step in turn (distml, torch, torch, distml, ...), the other process waiting
on its pipe meanwhile, for `--repeats` pairs of steps. A pair's two steps are well under a
second apart for every model but ResNet-18 with the CIFAR stem (~6 s), so the ratio rides
out this shared VM's spells: its two vCPUs give two cores' worth of work in some seconds and
one in others (a 2-thread GEMM microbenchmark measured 0.4-1.2 of a perfect 2x speedup, for
numpy and torch alike), which made a process's median step vary 1.5x between fresh
processes run one after the other. Each of `--rounds` rounds is a fresh pair of processes;
a round's ratio is the median of its pairs' ratios, the reported ratio the median over
every pair of every round (with the rounds' ratios, and each step's times, in the JSON).
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


def start_worker(framework, case, threads):
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads))
    return subprocess.Popen([sys.executable, __file__, "--worker", framework, "--case",
                             str(case), "--threads", str(threads)], env=env, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)


def read_line(proc):
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError(f"a benchmark worker exited (code {proc.wait()})")
    return line


def timed_step(proc):
    proc.stdin.write("step\n")
    proc.stdin.flush()
    return float(read_line(proc))


def measure_round(case, threads, repeats):
    """[(distml seconds, torch seconds)] of `repeats` pairs of steps in lockstep."""
    procs = []  # every started worker is closed, also when the other one failed
    try:
        for fw in ("distml", "torch"):
            procs.append(start_worker(fw, case, threads))
        d, t = procs
        versions = {fw: json.loads(read_line(proc))["version"]
                    for fw, proc in zip(("distml", "torch"), procs)}
        pairs = []
        for r in range(repeats):
            if r % 2:
                tt, dd = timed_step(t), timed_step(d)
            else:
                dd, tt = timed_step(d), timed_step(t)
            pairs.append((dd, tt))
        return pairs, versions
    finally:
        for proc in procs:
            proc.stdin.close()
            proc.wait()


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
    for _ in range(2):  # warm-up
        step()
    print(json.dumps(dict(version=version)), flush=True)
    for line in sys.stdin:  # "step": one timed step, its seconds printed
        t0 = time.perf_counter()
        step()
        print(time.perf_counter() - t0, flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--repeats", type=int, default=15)
    p.add_argument("--rounds", type=int, default=3)
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
        rounds = []
        for _ in range(max(1, args.rounds)):
            pairs, versions = measure_round(i, args.threads, args.repeats)
            rounds.append(pairs)
        every = [pair for pairs in rounds for pair in pairs]
        ratio = statistics.median(a / b for a, b in every)
        d, t = (statistics.median(pair[k] for pair in every) for k in (0, 1))
        by_round = [statistics.median(a / b for a, b in pairs) for pairs in rounds]
        rows.append(dict(model=name, batch=batch, distml_ms=round(d * 1000, 1),
                         torch_ms=round(t * 1000, 1), ratio=round(ratio, 2),
                         round_ratios=[round(r, 2) for r in by_round],
                         distml_samples_per_s=round(batch / d, 1),
                         torch_samples_per_s=round(batch / t, 1),
                         steps_ms=[[[round(a * 1000, 1), round(b * 1000, 1)] for a, b in pairs]
                                   for pairs in rounds]))
        print(f"{name:32s} batch {batch:3d}: distml {d * 1000:8.1f} ms  torch {t * 1000:8.1f} ms"
              f"  ratio {ratio:5.2f} (rounds {', '.join(f'{r:.2f}' for r in by_round)})",
              flush=True)
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
