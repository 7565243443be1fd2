"""Issue 12's figure (item 4): training samples/s against workers with 1, 2 and 4 Ray
gateways, each gateway behind its own shaped link standing in for one machine's NIC.

The full figure (on a quiet machine; each writes bench/results/ray_bench_MODEL.json and
the plot ray_bench_MODEL.png beside it):

    python bench/ray_bench.py --model mnist --gateways 1,2,4 --workers 1,2,4,8 \\
        --gateway-link-rate-mbps 10 --gateway-link-delay-ms 5 --warmup 2 --rounds 10
    python bench/ray_bench.py --model resnet18 --gateways 1,2,4 --workers 1,2,4,8 \\
        --gateway-link-rate-mbps 200 --gateway-link-delay-ms 5 --local-batch 8 \\
        --warmup 1 --rounds 3

A smoke run (seconds; `_quick` results are git-ignored):

    python bench/ray_bench.py --model mnist --gateways 1,2 --workers 2 --rounds 2 \\
        --gateway-link-rate-mbps 10 -o bench/results/ray_bench_mnist_quick.json

For each gateway count and worker count: a local Ray instance (started once,
--num-cpus), the gateway actors and the coordinator (server/ray/launch.py), --workers
CPython worker processes (`python -m distml.distributed.worker` with every gateway's
URL, worker i starting on gateway i mod g; numpy's threads pinned to 1), the model in
`fixed_local` (--local-batch per worker, so the work per worker is the same everywhere).
With --gateway-link-rate-mbps / --gateway-link-delay-ms every gateway's transport gets
one `Link(rate, delay, shared=True)` (server/transport.py): all of that gateway's worker
connections draw from one token bucket per direction, so a gateway with W workers moves
W weight frames down and W gradient frames up through one rate. The coordinator and the
gateways talk through Ray's object store, unshaped (one machine here).

samples/s = samples of the rounds after --warmup / their wall time (the coordinator's
history). Beside each point, the link model's prediction from the bytes through the
busiest gateway's link (W workers): the link is full duplex and the rounds' frames go
down first, so its last worker has its weights after W x weights frame / rate, computes
its batch at the workers' own measured compute rate (the median of what they report),
and its gradient frame / rate goes up behind the others' (which went up while later
weights came down), + 2 x the delay; the round's samples over that time. Each point
records the load average before it: on a small shared machine gateways, coordinator and
workers compete for the same cores, so compute, not the link, may set the limit.
Not a test.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from types import SimpleNamespace

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

from common import pyplot, save_figure, write_json  # noqa: E402 (bench/ is the script's folder)
from distributed_bench import MODELS, frame_sizes  # noqa: E402

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


def gateway_link(args):
    from server.transport import Link
    return Link.from_flags(args.gateway_link_rate_mbps, args.gateway_link_delay_ms,
                           shared=True)


def point(n_gateways, n_workers, args):
    """One measurement: fresh gateways, coordinator and worker processes."""
    import ray
    from server.ray import launch
    experiment = MODELS[args.model][0]
    overrides = {"mode": "fixed_local", "local_batch": args.local_batch, "eval_every": 0,
                 "max_samples": 10 ** 9, "min_workers": n_workers, "deadline_s": 3600.0}
    load = [round(v, 2) for v in os.getloadavg()]
    gateways, urls = launch.start_gateways(
        experiment, TOKEN, n_gateways, max_restarts=0, overrides=overrides,
        transport_kw={"link": gateway_link(args)})
    coordinator = launch.start_coordinator(experiment, TOKEN, gateways,
                                           max_rounds=args.warmup + args.rounds,
                                           overrides=overrides)
    logdir = tempfile.mkdtemp(prefix="distml-ray-bench-")
    procs = start_workers(urls, n_workers, logdir)
    try:
        summary = ray.get(coordinator.run.remote())
        status = ray.get(coordinator.status.remote())  # the workers' own compute rates
        for g in gateways:
            ray.get(g.finish.remote(), timeout=60)
    finally:
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for actor in [coordinator, *gateways]:
            ray.kill(actor)
    history = summary["history"]
    timed = history[args.warmup:]
    seconds = timed[-1]["time"] - history[args.warmup - 1]["time"]
    samples = sum(h["samples"] for h in timed)
    rates = [w["samples_per_s"] for w in status["workers"] if w["samples_per_s"]]
    return {"gateways": n_gateways, "workers": n_workers, "rounds": len(timed),
            "samples": samples, "seconds": round(seconds, 3),
            "samples_per_s": round(samples / seconds, 1),
            "round_ms_median": round(1000 * statistics.median(h["seconds"] for h in timed), 1),
            "workers_per_gateway": [g["workers"] for g in status["gateways"]],
            "worker_compute_samples_per_s": round(statistics.median(rates), 1) if rates
            else None, "load_before": load}


def workers_per_gateway(n_gateways, n_workers):
    """Worker i starts on gateway i mod g: how many each gateway gets."""
    return [len(range(g, n_workers, n_gateways)) for g in range(n_gateways)]


def predict(p, frames, args):
    """The link model's samples/s for point `p` (see the module's docstring)."""
    if not p.get("worker_compute_samples_per_s"):
        return None
    busiest = max(workers_per_gateway(p["gateways"], p["workers"]))
    seconds = args.local_batch / p["worker_compute_samples_per_s"]
    if args.gateway_link_rate_mbps:  # the busiest link: W frames down, then the last up
        wire = busiest * frames["weights_frame"] + frames["gradient_frame_none"]
        seconds += wire / (args.gateway_link_rate_mbps * 1e6 / 8)
    seconds += 2 * (args.gateway_link_delay_ms or 0) / 1000
    return round(p["workers"] * args.local_batch / seconds, 1)


def plot(result, path):
    """samples/s against workers, one line per gateway count, the link model faded."""
    plt = pyplot()
    if plt is None:
        return None
    a, pts = result["args"], result["points"]
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for i, g in enumerate(sorted({p["gateways"] for p in pts})):
        color = f"C{i}"
        sub = sorted((p["workers"], p["samples_per_s"], p.get("predicted_samples_per_s"))
                     for p in pts if p["gateways"] == g)
        label = f"{g} gateway{'s' if g > 1 else ''}"
        ax.plot([w for w, _, _ in sub], [s for _, s, _ in sub], "o-", color=color,
                label=label)
        model = [(w, m) for w, _, m in sub if m]
        if model:  # the link model beside the measurement: thin, faded
            ax.plot(*zip(*model), "o--", color=color, linewidth=0.8, alpha=0.45,
                    markerfacecolor="none", label=f"{label}: link model")
    counts = sorted({p["workers"] for p in pts})
    ax.set_xscale("log", base=2)
    ax.set_xticks(counts)
    ax.set_xticklabels([str(c) for c in counts])
    ax.set_ylim(0, max([p["samples_per_s"] for p in pts] + [1]) * 1.5)
    ax.set_xlabel("CPython workers")
    ax.set_ylabel("training samples/s")
    link = (f"{a['gateway_link_rate_mbps']:g} Mbit/s + {a['gateway_link_delay_ms'] or 0:g} ms"
            " per gateway" if a["gateway_link_rate_mbps"] else "loopback (no shaped link)")
    loads = [p["load_before"][0] for p in pts]
    ax.set_title(f"{MODELS[a['model']][1]} on Ray, fixed local batch {a['local_batch']}\n"
                 f"each gateway behind one shaped link: {link}\n{result['cpus']} cores, "
                 f"load {min(loads):.1f}-{max(loads):.1f}, {result['date'][:10]}",
                 fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return save_figure(fig, path)


def counts(text):
    """argparse type: a comma-separated list of positive ints."""
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of counts like 1,2,4")
    return values


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", choices=sorted(MODELS), default="mnist")
    ap.add_argument("--gateways", type=counts, default=[1, 2, 4], help="e.g. 1,2,4")
    ap.add_argument("--workers", type=counts, default=[1, 2, 4, 8], help="e.g. 1,2,4,8")
    ap.add_argument("--gateway-link-rate-mbps", type=float, default=None,
                    help="each gateway's shared link rate, Mbit/s per direction")
    ap.add_argument("--gateway-link-delay-ms", type=float, default=None,
                    help="each gateway's link one-way delay")
    ap.add_argument("--local-batch", type=int, default=32)
    ap.add_argument("--warmup", type=int, default=2, help="untimed rounds (at least 1)")
    ap.add_argument("--rounds", type=int, default=10, help="timed rounds")
    ap.add_argument("--num-cpus", type=int, default=2, help="the local Ray instance's CPUs")
    ap.add_argument("-o", "--output", default=None,
                    help="JSON path (default bench/results/ray_bench_MODEL.json); the plot "
                         "is the same path with .png")
    args = ap.parse_args(argv)
    if args.warmup < 1:
        ap.error("--warmup must be at least 1 (the first round includes the joins)")
    args.output = args.output or os.path.join(HERE, "results", f"ray_bench_{args.model}.json")
    frames = frame_sizes(SimpleNamespace(model=args.model, global_batch=args.local_batch,
                                         compressions=["none"], browser_compressions=[]))
    from server.ray import launch
    launch.connect(None, num_cpus=args.num_cpus, log_to_driver=False)
    result = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "cpus": os.cpu_count(), "args": vars(args), "frames": frames, "points": []}
    print(f"{args.model}: {frames['weights_frame']:,} B weights down + "
          f"{frames['gradient_frame_none']:,} B gradient up per worker and round; gateway "
          f"link {gateway_link(args)}", flush=True)
    try:
        for g in args.gateways:
            for w in args.workers:
                p = point(g, w, args)
                p["predicted_samples_per_s"] = predict(p, frames, args)
                result["points"].append(p)
                write_json(args.output, result)
                print(f"{g} gateway(s), {w} workers {p['workers_per_gateway']}: "
                      f"{p['samples_per_s']} samples/s (link model "
                      f"{p['predicted_samples_per_s']}; {p['samples']} samples in "
                      f"{p['seconds']} s; load {p['load_before']})", flush=True)
    finally:
        import ray
        ray.shutdown()
    png = plot(result, os.path.splitext(args.output)[0] + ".png")
    print(f"wrote {args.output}" + (f" and {png}" if png else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
