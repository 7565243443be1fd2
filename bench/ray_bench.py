"""Training samples/s with 1 vs 2 (vs more) Ray gateways: a smoke benchmark of
`python -m server --ray` (server/ray/), not issue 12's full figure.

    python bench/ray_bench.py --gateways 1,2 --workers 4 --rounds 10

For each gateway count: a local Ray instance (started once, --num-cpus), the gateway
actors and the coordinator (server/ray/launch.py), --workers CPython worker processes
(`python -m distml.distributed.worker` with every gateway's URL, worker i starting on
gateway i mod g; numpy's threads pinned to 1), the MNIST CNN of
examples/mnist_distributed.py in `fixed_local` (--local-batch per worker, so the work per
worker is the same for every gateway count). samples/s = samples of the rounds after
--warmup / their wall time, from the coordinator's history. Each point records the load
average before it: on a shared 2-core machine, gateways, coordinator and workers compete
for the same cores, so this shows the mechanics, not where a gateway's NIC saturates.
Writes --output (JSON). Not a test.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

EXPERIMENT = os.path.join(ROOT, "examples", "mnist_distributed.py")
TOKEN = "ray-bench"


def start_workers(urls, n, logdir):
    env = dict(os.environ, PYTHONPATH=ROOT)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"
    procs = []
    for i in range(n):
        mine = urls[i % len(urls):] + urls[:i % len(urls)]  # its own gateway first
        with open(os.path.join(logdir, f"worker-{i}.log"), "wb") as log:
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "distml.distributed.worker", *mine, "--token", TOKEN,
                 "--reconnect", "3"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
    return procs


def point(n_gateways, args):
    import ray
    from server.ray import launch
    overrides = {"mode": "fixed_local", "local_batch": args.local_batch, "eval_every": 0,
                 "max_samples": 10 ** 9, "min_workers": args.workers, "deadline_s": 600.0}
    load = [round(v, 2) for v in os.getloadavg()]
    gateways, urls = launch.start_gateways(EXPERIMENT, TOKEN, n_gateways, max_restarts=0,
                                           overrides=overrides)
    coordinator = launch.start_coordinator(EXPERIMENT, TOKEN, gateways,
                                           max_rounds=args.warmup + args.rounds,
                                           overrides=overrides)
    logdir = tempfile.mkdtemp(prefix="distml-ray-bench-")
    procs = start_workers(urls, args.workers, logdir)
    try:
        summary = launch.train(coordinator, gateways, say=lambda line: None)
    finally:
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for actor in [coordinator, *gateways]:
            ray.kill(actor)
    timed = summary["history"][args.warmup:]
    seconds = timed[-1]["time"] - summary["history"][args.warmup - 1]["time"]
    samples = sum(h["samples"] for h in timed)
    return {"gateways": n_gateways, "workers": args.workers, "rounds": len(timed),
            "samples": samples, "seconds": round(seconds, 3),
            "samples_per_s": round(samples / seconds, 1), "load_before": load}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gateways", default="1,2", help="gateway counts (default 1,2)")
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--local-batch", type=int, default=32)
    ap.add_argument("--warmup", type=int, default=2, help="untimed rounds (at least 1)")
    ap.add_argument("--rounds", type=int, default=10, help="timed rounds")
    ap.add_argument("--num-cpus", type=int, default=2, help="the local Ray instance's CPUs")
    ap.add_argument("-o", "--output", default=os.path.join(HERE, "results", "ray_bench.json"))
    args = ap.parse_args(argv)
    if args.warmup < 1:
        ap.error("--warmup must be at least 1 (the first round includes the joins)")
    from server.ray import launch
    launch.connect(None, num_cpus=args.num_cpus, log_to_driver=False)
    result = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "args": vars(args), "points": []}
    try:
        for g in [int(x) for x in args.gateways.split(",")]:
            p = point(g, args)
            result["points"].append(p)
            print(f"{g} gateway(s), {p['workers']} workers: {p['samples_per_s']} samples/s "
                  f"({p['samples']} samples in {p['seconds']} s; load {p['load_before']})",
                  flush=True)
    finally:
        import ray
        ray.shutdown()
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w") as fh:
        json.dump(result, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
