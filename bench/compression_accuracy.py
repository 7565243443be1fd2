"""The accuracy cost of gradient compression (not a test).

    python bench/compression_accuracy.py [--workers 2]

Trains examples/mnist_distributed.py through the real parameter server (`python -m
server`) with CPython workers, once per gradient encoding (float32, float16, int8 with a
per-tensor scale, top-k sparsification with error feedback keeping 1 % and 10 % of each
tensor), and reads the server's final test accuracy on the full 10k test set.
The experiment's seed fixes the sample order, so the runs differ only by the encoding.
Writes bench/results/compression_accuracy.json.
"""
import argparse
import json
import os
import re
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
EXPERIMENT = os.path.join(ROOT, "examples", "mnist_distributed.py")
TOKEN = "bench-token"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def train(compression, workers):
    """(final test accuracy, wall seconds) of one run."""
    port = free_port()
    env = dict(os.environ, PYTHONPATH=ROOT, OPENBLAS_NUM_THREADS="1")
    server = subprocess.Popen(
        [sys.executable, "-m", "server", EXPERIMENT, "--port", str(port), "--workers-token",
         TOKEN, "--compression", compression, "--min-workers", str(workers), "-q"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    procs = []
    t0 = time.monotonic()
    try:
        time.sleep(2)
        for i in range(workers):
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "distml.distributed.worker", f"ws://127.0.0.1:{port}/ws",
                 "--token", TOKEN, "--name", f"w{i}"], cwd=ROOT, env=env,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        out, _ = server.communicate(timeout=3600)
    finally:
        for p in procs + [server]:
            if p.poll() is None:
                p.kill()
    found = re.findall(r"test accuracy ([\d.]+)% after (\d+) rounds", out)
    if not found:
        raise RuntimeError(f"no final accuracy in the server's output:\n{out[-2000:]}")
    return float(found[-1][0]) / 100, time.monotonic() - t0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--compressions", default="none,float16,int8,topk:0.01,topk:0.1")
    ap.add_argument("-o", "--output",
                    default=os.path.join(HERE, "results", "compression_accuracy.json"))
    args = ap.parse_args(argv)
    runs = []
    for comp in args.compressions.split(","):
        acc, seconds = train(comp, args.workers)
        runs.append({"compression": comp, "test_accuracy": acc, "seconds": round(seconds, 1),
                     "load": os.getloadavg()[0]})
        print(f"{comp:10s}: test accuracy {acc:.2%} ({seconds:.0f} s)", flush=True)
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w") as fh:
        json.dump({"experiment": os.path.relpath(EXPERIMENT, ROOT), "workers": args.workers,
                   "runs": runs}, fh, indent=1)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
