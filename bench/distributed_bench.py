"""Data-parallel training throughput vs workers, and the server's aggregation throughput.

    python bench/distributed_bench.py --quick      # ~1 minute: a first look
    python bench/distributed_bench.py              # everything (~10 minutes here)
    python bench/distributed_bench.py --only aggregation --agg-k 2,4
    python bench/distributed_bench.py --workers 1,2 --browser-workers 0 --compressions none
    python bench/distributed_bench.py --model resnet18 --workers 1,2 --rounds 3 --quick

(or `bash run.sh bench distributed [ARGS]`, which also runs the set-up and builds the wheel
the browser workers install.) The analogue of Fig. 2 of the DistML.js paper, on this
machine: the parameter server (server/, in this process) trains the MNIST CNN of
examples/mnist_distributed.py (synchronous data-parallel SGD, Adam on the server) with

- CPython workers (`python -m distml.distributed.worker`, one process each, numpy's
  thread pool pinned to --worker-threads), counts --workers (1, 2, 4, 8), and
- headless Chromium workers (the /worker page, Pyodide + WebGL on SwiftShader, launched
  with Playwright as server/demo.py does), counts --browser-workers (1, 2: each is a
  CPU-heavy browser on a 2-core machine),

and measures training samples/s over --rounds rounds after --warmup rounds, for every
combination of

- mode: `fixed_global` (the round's --global-batch is split over the workers: per-worker
  work shrinks as workers are added) and `fixed_local` (every worker gets --local-batch:
  the round grows with the workers);
- link: `loopback` and `shaped` (every worker connection shaped by the server's
  transport to --link-rate-mbps per direction plus --link-delay-ms one way: a token bucket
  and a delay, server/transport.py `Link`, as `python -m server --link-rate-mbps R
  --link-delay-ms D` does);
- compression of the gradients: none, float16, int8, topk:F (the largest F of each
  tensor with error feedback; weights always go out as float32).

--model resnet18 trains ResNet-18 with the CIFAR stem on synthetic 32x32x3 data, 10
classes (bench/resnet18_experiment.py) instead: ~45 MB of weights down and of float32
gradient up per worker and round, so its shaped link defaults to 100 Mbit/s and --quick
to compressions none and topk:0.01, 1 warm-up + 3 timed rounds. Each point also records
the link model's prediction, drawn beside the measured curve: a round takes (weights
frame + gradient frame) / link rate (+ 2 x the delay) + the per-worker batch / the
workers' own measured compute rate, and the round's batch over that is the prediction.

One server (and one set of workers, added as the count grows) per kind of worker and
compression; the mode and the link are switched between measurements on the same
connections (`Orchestrator.hp["mode"]`, `Transport.set_link`). Every round sends the
new weights to every worker (the version changes each round) and gets a gradient back.
samples/s = samples of the measured rounds / their wall time (the server's aggregation
and optimizer step included). Each point records the load average before it
(`os.getloadavg()`): the machine is shared, read the numbers with that in mind.

The aggregation section times `distml.distributed.strategy.aggregate` (mean weighted by
batch size, coordinate median, trimmed mean, Krum) on k float32 gradients shaped like the
experiment's model and like ResNet-18 (num_classes=10, 11.2 M parameters), numpy arrays,
median of --agg-repeats after an untimed call, in MB/s of gradients in (k x the
gradient's float32 bytes).
Krum needs more than 2f + 2 updates: f = (k - 3) // 2, and k = 2 is skipped.

Writes --output (JSON, rewritten after every point) and PNG plots beside it (throughput vs
workers per worker kind; aggregation MB/s vs k), and prints summary tables. Not a test.
"""
import argparse
import asyncio
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

from common import names, pyplot, save_figure, write_json  # noqa: E402 (bench/ is the script's folder)

EXPERIMENT = os.path.join(ROOT, "examples", "mnist_distributed.py")
MODELS = {"mnist": (EXPERIMENT, "MNIST CNN"),
          "resnet18": (os.path.join(HERE, "resnet18_experiment.py"),
                       "ResNet-18 (CIFAR stem, synthetic 32x32x3)")}
PY = sys.executable
MODES = ("fixed_global", "fixed_local")
LINKS = ("loopback", "shaped")
COMPRESSIONS = ("none", "float16", "int8", "topk:0.01")
RULES = ("mean", "median", "trimmed_mean", "krum")
AGG_MODELS = ("mnist", "resnet18")
SECTIONS = ("python", "browser", "aggregation")


def _load():
    return [round(v, 2) for v in os.getloadavg()]


# -- training throughput -------------------------------------------------------------------

class PythonWorkers:
    """CPython worker processes, logs in a temp dir."""

    def __init__(self, url, token, threads):
        self.url, self.token, self.threads = url, token, threads
        self.procs = []
        self.logdir = tempfile.mkdtemp(prefix="distml-bench-")

    async def add(self, n):
        env = dict(os.environ, PYTHONPATH=ROOT)
        if self.threads:
            for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
                env[var] = str(self.threads)
        for _ in range(n):
            i = len(self.procs) + 1
            log = open(os.path.join(self.logdir, f"py-{i}.log"), "wb")
            self.procs.append(subprocess.Popen(
                [PY, "-m", "distml.distributed.worker", self.url, "--token", self.token,
                 "--name", f"py-{i}"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
            log.close()

    @property
    def count(self):
        return len(self.procs)

    def failed(self):
        bad = [(i, p.returncode) for i, p in enumerate(self.procs, 1) if p.poll() is not None]
        if not bad:
            return None
        i, rc = bad[0]
        with open(os.path.join(self.logdir, f"py-{i}.log"), errors="replace") as fh:
            tail = fh.read()[-2000:]
        return f"CPython worker py-{i} exited with {rc}:\n{tail}"

    async def close(self):
        deadline = time.monotonic() + 15
        for p in self.procs:
            while p.poll() is None and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()


class BrowserWorkers:
    """Headless Chromium processes with the worker page open (server/demo.py)."""

    def __init__(self, base, token, say):
        self.base, self.token, self.say = base, token, say
        self.pw, self.browsers = None, []

    async def add(self, n):
        from server.demo import HeadlessWorker
        if self.pw is None:
            from playwright.async_api import async_playwright
            self.pw = await async_playwright().start()
        new = []
        for _ in range(n):
            name = f"chromium-{len(self.browsers) + len(new) + 1}"
            new.append(HeadlessWorker(self.pw, name, f"{self.base}/worker?token={self.token}"
                                                    f"&name={name}", self.say))
        await asyncio.gather(*(b.start() for b in new))
        self.browsers += new

    @property
    def count(self):
        return len(self.browsers)

    def failed(self):
        return None  # checked asynchronously in wait_ready

    async def page_errors(self):
        for b in self.browsers:
            s = await b.state()
            if s and s.get("state") == "error":
                return f"{b.name}: the worker page failed:\n{s.get('error')}"
        return None

    async def close(self):
        await asyncio.gather(*(b.close() for b in self.browsers), return_exceptions=True)
        if self.pw is not None:
            await self.pw.stop()


async def wait_ready(orch, workers, n, timeout):
    t0 = time.monotonic()
    while len(orch.ready()) < n:
        problem = workers.failed()
        if problem is None and isinstance(workers, BrowserWorkers):
            problem = await workers.page_errors()
        if problem:
            raise RuntimeError(problem)
        if time.monotonic() - t0 > timeout:
            raise RuntimeError(f"only {len(orch.ready())} of {n} workers ready after "
                               f"{timeout:.0f} s")
        await asyncio.sleep(0.2)
    return time.monotonic() - t0


async def run_rounds(orch, count, state):
    """`count` rounds of the orchestrator, starting a new epoch when one would run out."""
    from server.orchestrator import epoch_permutation
    for _ in range(count):
        need = orch.hp["local_batch"] * max(1, len(orch.ready())) \
            if orch.hp["mode"] == "fixed_local" else orch.hp["global_batch"]
        if state.get("perm") is None or orch.position + need > orch.n_train:
            if state.get("perm") is not None:
                orch.epoch += 1
                orch.position = 0
            state["perm"] = epoch_permutation(orch.hp["seed"], orch.epoch, orch.n_train)
        await orch.run_round(state["perm"])


async def measure(orch, n, args, state):
    """Warm-up rounds, then the timed ones: one point."""
    load = _load()
    await run_rounds(orch, args.warmup, state)
    first = len(orch.history)
    seen0, t0 = orch.samples_seen(), time.perf_counter()
    await run_rounds(orch, args.rounds, state)
    seconds = time.perf_counter() - t0
    rounds = orch.history[first:]
    samples = orch.samples_seen() - seen0
    rates = [m.samples_per_s for m in orch.ready() if m.samples_per_s]
    return {
        "samples": samples, "seconds": round(seconds, 3),
        "samples_per_s": round(samples / seconds, 2),
        "round_ms_median": round(1000 * statistics.median(r["seconds"] for r in rounds), 1),
        "batch": rounds[-1]["samples"],
        "workers_answering": min(r["workers"] for r in rounds),
        "worker_compute_samples_per_s": round(statistics.median(rates), 1) if rates else None,
        "loss": rounds[-1]["loss"], "load_before": load, "load_after": _load(),
    }


async def session(kind, compression, counts, args, result, save):
    """One server (compression fixed) and its workers; every count x link x mode."""
    from server.__main__ import add_arguments, start
    from server.orchestrator import default_token
    from server.transport import Link

    ap = argparse.ArgumentParser()
    add_arguments(ap)
    token = default_token()
    sargs = ap.parse_args(["--port", "0", "--workers-token", token, "--compression",
                           compression, "--deadline", "600", "-q"])
    sargs.experiment = MODELS[args.model][0]
    overrides = {"min_workers": 1, "eval_every": 0, "max_samples": 10 ** 9,
                 "global_batch": args.global_batch, "local_batch": args.local_batch}
    orch, transport = await start(sargs, overrides)
    orch.say = lambda line: None  # joins and leaves: not for the summary
    links = {"loopback": None,
             "shaped": Link(args.link_rate_mbps * 1e6 / 8, args.link_delay_ms / 1000)}
    base = f"http://127.0.0.1:{transport.port}"
    workers = PythonWorkers(transport.url, token, args.worker_threads) if kind == "python" \
        else BrowserWorkers(base, token, lambda line: print(line, flush=True))
    state = {}
    try:
        for n in counts:
            transport.set_link(None)
            await workers.add(n - workers.count)
            join_s = await wait_ready(orch, workers, n, args.join_timeout)
            for link in (args.links if kind == "python" else args.browser_links):
                transport.set_link(links[link])
                for mode in args.modes:
                    orch.hp["mode"] = mode
                    point = {"kind": kind, "compression": compression, "link": link,
                             "mode": mode, "workers": n, "join_s": round(join_s, 1)}
                    try:
                        point.update(await measure(orch, n, args, state))
                        point["predicted_samples_per_s"] = predict(point, result["frames"],
                                                                   args)
                    except Exception as e:  # noqa: BLE001 - keep the other points
                        point["error"] = f"{type(e).__name__}: {e}"
                    result["throughput"].append(point)
                    save()
                    print(_point_line(point), flush=True)
                    join_s = 0.0
    finally:
        for m in orch.live():
            orch._drop(m, "benchmark finished")
        if orch._closing:
            await asyncio.wait(list(orch._closing), timeout=10)
        await workers.close()
        await transport.close()


def predict(p, frames, args):
    """The link model's samples/s for a measured point: each worker's round is its frames
    over its own link plus its batch at its own measured compute rate."""
    if not p.get("worker_compute_samples_per_s"):
        return None
    n, batch = p["workers_answering"], p["batch"]
    per_worker = -(-batch // n) if p["mode"] == "fixed_global" else args.local_batch
    seconds = per_worker / p["worker_compute_samples_per_s"]
    if p["link"] == "shaped":
        wire = frames["weights_frame"] + frames[f"gradient_frame_{p['compression']}"]
        seconds += wire / (args.link_rate_mbps * 1e6 / 8) + 2 * args.link_delay_ms / 1000
    return round(batch / seconds, 2)


def _point_line(p):
    head = (f"{p['kind']:7s} {p['compression']:7s} {p['link']:8s} {p['mode']:12s} "
            f"workers {p['workers']}: ")
    if "error" in p:
        return head + "ERROR " + p["error"].splitlines()[0][:200]
    predicted = p.get("predicted_samples_per_s")
    return head + (f"{p['samples_per_s']:7.1f} samples/s (batch {p['batch']}, round "
                   f"{p['round_ms_median']:.0f} ms, load {p['load_before'][0]:.1f}"
                   + (f"; link model {predicted:.1f})" if predicted else ")"))


def frame_sizes(args):
    """Bytes on the wire per round and worker: the weights down, the gradient up."""
    from distml.distributed import codec
    from distml.distributed.experiment import float_buffers, load_experiment, state_arrays
    from distml.distributed.topk import ErrorFeedback
    from distml.distributed.worker import BUFFER_PREFIX
    path = MODELS[args.model][0]
    with open(path, "rb") as fh:
        exp = load_experiment(fh.read(), os.path.splitext(os.path.basename(path))[0])
    model = exp.make_model()
    weights = [(k, v.shape, v) for k, v in state_arrays(model).items()]
    buffers = [(BUFFER_PREFIX + k, tuple(b.shape), b.detach().numpy())
               for k, b in float_buffers(model).items()]
    indices = list(range(args.global_batch))
    fields = {"round": 1, "version": 1, "indices": indices, "batch_size": len(indices),
              "deadline_s": 60.0, "kind": "gradient"}
    out = {"parameters": sum(p.numel() for p in model.parameters()),
           "weights_frame": len(codec.encode("round", fields, weights))}
    for c in dict.fromkeys(args.compressions + args.browser_compressions):
        fraction = codec.topk_fraction(c)
        sparse = ErrorFeedback(fraction).compress if fraction else lambda k, v: v
        grads = [(k, tuple(p.shape), sparse(k, p.detach().numpy()))
                 for k, p in model.named_parameters()]
        out[f"gradient_frame_{c}"] = len(codec.encode(
            "gradient", {"round": 1, "version": 1, "batch_size": len(indices)},
            grads + buffers, None if c == "none" else c))
    return out


# -- aggregation ---------------------------------------------------------------------------

def model_shapes(name):
    if name == "mnist":
        from distml.distributed.experiment import load_experiment
        with open(EXPERIMENT, "rb") as fh:
            model = load_experiment(fh.read(), "mnist_distributed").make_model()
    else:
        from distml.models import resnet18
        model = resnet18(num_classes=10)
    return {k: tuple(p.shape) for k, p in model.named_parameters()}


def bench_aggregation(args, result, save):
    import numpy as np
    from distml.distributed import strategy

    for model in args.agg_models:
        shapes = model_shapes(model)
        n_params = sum(int(np.prod(s)) for s in shapes.values())
        rng = np.random.default_rng(0)
        pool = [{k: rng.standard_normal(s, dtype=np.float32) for k, s in shapes.items()}
                for _ in range(max(args.agg_k))]
        for k in args.agg_k:
            updates, sizes = pool[:k], [32] * k
            for rule in args.agg_rules:
                options = {}
                if rule == "krum":
                    if k < 3:
                        continue
                    options["f"] = (k - 3) // 2
                repeats = args.agg_repeats if n_params < 1e6 else max(1, args.agg_repeats - 1)
                times, load = [], _load()
                if n_params < 1e6 or k == args.agg_k[0]:  # untimed: first touches, caches
                    strategy.aggregate(updates, sizes, rule=rule, **options)
                for _ in range(repeats):
                    t0 = time.perf_counter()
                    strategy.aggregate(updates, sizes, rule=rule, **options)
                    times.append(time.perf_counter() - t0)
                sec = statistics.median(times)
                mb = k * n_params * 4 / 1e6
                entry = {"model": model, "parameters": n_params, "k": k, "rule": rule,
                         **options, "seconds": round(sec, 5), "mb_in": round(mb, 3),
                         "mb_per_s": round(mb / sec, 1), "repeats": repeats,
                         "load_before": load}
                result["aggregation"].append(entry)
                save()
                print(f"aggregate {model} ({n_params / 1e6:.2f} M params) k={k} {rule:12s}: "
                      f"{1000 * sec:9.1f} ms, {entry['mb_per_s']:8.1f} MB/s", flush=True)
        del pool


# -- tables and plots ----------------------------------------------------------------------

def tables(result):
    """Markdown tables: throughput (rows: kind/compression/link/mode; columns: workers) and
    aggregation (rows: model/rule; columns: k)."""
    out = []
    pts = result["throughput"]
    if pts:
        counts = sorted({p["workers"] for p in pts})
        keys = []
        for p in pts:
            key = (p["kind"], p["compression"], p["link"], p["mode"])
            if key not in keys:
                keys.append(key)
        out.append("| worker | compression | link | mode | "
                   + " | ".join(f"{n} worker{'s' if n > 1 else ''}" for n in counts) + " |")
        out.append("| --- | --- | --- | --- | " + " | ".join("---" for _ in counts) + " |")
        for key in keys:
            cells = []
            for n in counts:
                p = next((p for p in pts if (p["kind"], p["compression"], p["link"],
                                             p["mode"]) == key and p["workers"] == n), None)
                cells.append("" if p is None else "error" if "error" in p
                             else f"{p['samples_per_s']:.0f}")
            out.append(f"| {key[0]} | {key[1]} | {key[2]} | {key[3]} | " + " | ".join(cells)
                       + " |")
        loads = [p["load_before"][0] for p in pts if "load_before" in p]
        if loads:
            out.append(f"\n(samples/s; load average {min(loads):.1f}-{max(loads):.1f} on "
                       f"{result.get('cpus')} cores)")
    agg = result["aggregation"]
    if agg:
        ks = sorted({e["k"] for e in agg})
        out.append("")
        out.append("| model | rule | " + " | ".join(f"k={k}" for k in ks) + " |")
        out.append("| --- | --- | " + " | ".join("---" for _ in ks) + " |")
        rows = []
        for e in agg:
            if (e["model"], e["rule"]) not in rows:
                rows.append((e["model"], e["rule"]))
        for model, rule in rows:
            cells = []
            for k in ks:
                e = next((e for e in agg if (e["model"], e["rule"], e["k"]) ==
                          (model, rule, k)), None)
                cells.append("" if e is None else f"{e['mb_per_s']:.0f}")
            out.append(f"| {model} | {rule} | " + " | ".join(cells) + " |")
        out.append("\n(MB/s of float32 gradients in: k x gradient bytes / time)")
    return "\n".join(out)


COLORS = {"fixed_global": "#1f77b4", "fixed_local": "#ff7f0e"}
LINESTYLES = {"none": ("o", "-"), "float16": ("s", "--"), "int8": ("^", ":")}
TOPK_STYLE = ("D", "-.")


def plot(result, path):
    plt = pyplot()
    if plt is None:
        return []

    written = []
    # x_quick -> x_throughput_quick.png (git-ignored like every *_quick.* result)
    path, quick = (path[:-6], "_quick") if path.endswith("_quick") else (path, "")
    pts = [p for p in result["throughput"] if "error" not in p]
    kinds = [k for k in ("python", "browser") if any(p["kind"] == k for p in pts)]
    links = [k for k in LINKS if any(p["link"] == k for p in pts)]
    a = result["args"]
    if kinds:
        fig, axes = plt.subplots(len(kinds), len(links), figsize=(6.5 * len(links),
                                                                  4.5 * len(kinds)),
                                 squeeze=False)
        for row, kind in enumerate(kinds):
            for col, link in enumerate(links):
                ax = axes[row][col]
                sub = [p for p in pts if p["kind"] == kind and p["link"] == link]
                if not sub:
                    ax.set_axis_off()
                    ax.text(0.5, 0.5, f"{kind} workers, {link}: not measured",
                            ha="center", transform=ax.transAxes)
                    continue
                keys = []
                for p in sub:
                    if (p["mode"], p["compression"]) not in keys:
                        keys.append((p["mode"], p["compression"]))
                for mode, comp in keys:
                    line = sorted((p["workers"], p["samples_per_s"]) for p in sub
                                  if (p["mode"], p["compression"]) == (mode, comp))
                    marker, ls = LINESTYLES.get(comp, TOPK_STYLE)
                    ax.plot(*zip(*line), marker=marker, linestyle=ls,
                            color=COLORS.get(mode, "gray"),
                            label=f"{mode.replace('_', ' ')} batch, {comp}")
                    model = sorted((p["workers"], p["predicted_samples_per_s"]) for p in sub
                                   if (p["mode"], p["compression"]) == (mode, comp)
                                   and p.get("predicted_samples_per_s"))
                    if model:  # the link model beside the measurement: thin, faded
                        ax.plot(*zip(*model), marker=marker, linestyle=ls, linewidth=0.8,
                                markerfacecolor="none", alpha=0.45,
                                color=COLORS.get(mode, "gray"),
                                label=f"{mode.replace('_', ' ')}, {comp}: link model")
                counts = sorted({p["workers"] for p in pts if p["kind"] == kind})
                ax.set_xscale("log", base=2)
                ax.set_xticks(counts)
                ax.set_xticklabels([str(c) for c in counts])
                ax.set_ylim(0, max([p["samples_per_s"] for p in sub] + [1]) * 1.6)
                ax.set_xlabel("workers")
                ax.set_ylabel("training samples/s")
                what = "CPython workers (numpy)" if kind == "python" else \
                    "headless Chromium workers (WebGL on SwiftShader)"
                where = "loopback" if link == "loopback" else \
                    f"shaped: {a['link_rate_mbps']:g} Mbit/s + {a['link_delay_ms']:g} ms"
                batches = result.get("batches", {}).get(kind)  # a merged run's own batches
                if batches:
                    where += f"; global {batches[0]}, local {batches[1]}"
                ax.set_title(f"{what}, {where}", fontsize=10)
                ax.legend(fontsize=6, ncol=2)
                ax.grid(alpha=0.3)
        loads = [p["load_before"][0] for p in pts]
        title = MODELS[a.get("model", "mnist")][1]
        fig.suptitle(f"{title}, data-parallel SGD: fixed global batch {a['global_batch']} "
                     f"vs fixed local batch {a['local_batch']} per worker\n"
                     f"{result.get('cpus')} cores, load average "
                     f"{min(loads):.1f}-{max(loads):.1f}, {result['date'][:10]}", fontsize=10)
        written.append(save_figure(fig, f"{path}_throughput{quick}.png"))
    agg = result["aggregation"]
    models = [m for m in AGG_MODELS if any(e["model"] == m for e in agg)]
    if models:
        fig, axes = plt.subplots(1, len(models), figsize=(6 * len(models), 4.5), squeeze=False)
        for ax, model in zip(axes[0], models):
            sub = [e for e in agg if e["model"] == model]
            for rule in RULES:
                line = sorted((e["k"], e["mb_per_s"]) for e in sub if e["rule"] == rule)
                if line:
                    ax.plot(*zip(*line), "o-", label=rule)
            ks = sorted({e["k"] for e in sub})
            ax.set_xscale("log", base=2)
            ax.set_xticks(ks)
            ax.set_xticklabels([str(k) for k in ks])
            ax.set_yscale("log")
            ax.set_xlabel("k (worker gradients aggregated)")
            ax.set_ylabel("MB/s of float32 gradients")
            ax.set_title(f"{'MNIST CNN' if model == 'mnist' else 'ResNet-18'} "
                         f"({sub[0]['parameters'] / 1e6:.2f} M parameters)", fontsize=10)
            ax.legend(fontsize=8)
            ax.grid(alpha=0.3, which="both")
        fig.suptitle(f"server aggregation (distml.distributed.strategy, numpy), "
                     f"{result.get('cpus')} cores, {result['date'][:10]}", fontsize=10)
        written.append(save_figure(fig, f"{path}_aggregation{quick}.png"))
    return written


# -- command line ---------------------------------------------------------------------------

def run(args):
    result = {
        "benchmark": "distributed_bench",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "args": vars(args), "cpus": os.cpu_count(),
        "experiment": os.path.relpath(MODELS[args.model][0], ROOT),
        "throughput": [], "aggregation": [],
    }

    def save():
        write_json(args.output, result)

    t_start = time.monotonic()
    if "python" in args.only or "browser" in args.only:
        result["frames"] = frame_sizes(args)
        f = result["frames"]
        print(f"model: {f['parameters']} parameters; per worker and round: weights "
              f"{f['weights_frame']} B down, gradient "
              + ", ".join(f"{v} B ({k[15:]})" for k, v in f.items()
                          if k.startswith("gradient_frame_"))
              + " up", flush=True)
    if "python" in args.only and args.workers:
        for comp in args.compressions:
            asyncio.run(session("python", comp, args.workers, args, result, save))
    if "browser" in args.only and args.browser_workers:
        from server.demo import missing_requirements
        missing = missing_requirements(max(args.browser_workers))
        if missing:
            print("browser workers skipped: " + "; ".join(missing), flush=True)
            result["browser_skipped"] = missing
        else:
            for comp in args.browser_compressions:
                asyncio.run(session("browser", comp, args.browser_workers, args, result, save))
    if "aggregation" in args.only:
        bench_aggregation(args, result, save)
    result["wall_seconds"] = round(time.monotonic() - t_start, 1)
    save()
    print(f"wrote {args.output} ({result['wall_seconds']:.0f} s)", flush=True)
    return result


def compressions(text):
    """argparse type: comma-separated gradient compressions (none, float16, int8, topk:F)."""
    from distml.distributed.codec import parse_compression
    listed = [v.strip() for v in text.split(",") if v.strip()]
    for c in listed:
        try:
            parse_compression(c)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
    return listed


def _ints(text):
    return [int(v) for v in text.split(",") if v.strip() and int(v) > 0]


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n".join(__doc__.splitlines()[1:6]))
    ap.add_argument("--quick", action="store_true",
                    help="~1 minute: CPython workers 1,2, compression none and int8, one "
                         "browser worker on loopback, 2 warm-up + 8 timed rounds, "
                         "aggregation k=2,4 with 1 repeat (explicit options still win)")
    ap.add_argument("--model", choices=sorted(MODELS), default="mnist",
                    help="mnist (the demo's CNN, default) or resnet18 (CIFAR-shaped "
                         "synthetic data; its own result files)")
    ap.add_argument("--only", type=names(SECTIONS), default=None,
                    help=f"sections, comma-separated: {','.join(SECTIONS)} (default: all)")
    ap.add_argument("--workers", type=_ints, default=None,
                    help="CPython worker counts (default 1,2,4,8)")
    ap.add_argument("--browser-workers", type=_ints, default=None,
                    help="headless Chromium worker counts (default 1,2; 0 or '' for none)")
    ap.add_argument("--modes", type=names(MODES), default=None,
                    help="fixed_global,fixed_local (default both)")
    ap.add_argument("--links", type=names(LINKS), default=None,
                    help="loopback,shaped (default both)")
    ap.add_argument("--browser-links", type=names(LINKS), default=None,
                    help="links for the browser workers (default: --links)")
    ap.add_argument("--compressions", type=compressions, default=None,
                    help="gradient compressions for CPython workers: none, float16, int8, "
                         "topk:F (default none,float16,int8,topk:0.01)")
    ap.add_argument("--browser-compressions", type=compressions, default=None,
                    help="for browser workers (default none)")
    ap.add_argument("--link-rate-mbps", type=float, default=None,
                    help="shaped link: megabits/s per connection and direction (default 10; "
                         "100 with --model resnet18)")
    ap.add_argument("--link-delay-ms", type=float, default=20.0,
                    help="shaped link: one-way delay (default 20 ms)")
    ap.add_argument("--global-batch", type=int, default=32, help="fixed_global (default 32)")
    ap.add_argument("--local-batch", type=int, default=32, help="fixed_local (default 32)")
    ap.add_argument("--warmup", type=int, default=None, help="untimed rounds (default 4)")
    ap.add_argument("--rounds", type=int, default=None, help="timed rounds (default 40)")
    ap.add_argument("--worker-threads", type=int, default=1,
                    help="numpy/BLAS threads per CPython worker (default 1; 0: numpy's "
                         "default)")
    ap.add_argument("--join-timeout", type=float, default=300,
                    help="seconds for new workers to be ready (default 300)")
    ap.add_argument("--agg-k", type=_ints, default=None, help="default 2,4,8")
    ap.add_argument("--agg-rules", type=names(RULES), default=None,
                    help="default mean,median,trimmed_mean,krum")
    ap.add_argument("--agg-models", type=names(AGG_MODELS), default=None,
                    help="mnist,resnet18 (default both)")
    ap.add_argument("--agg-repeats", type=int, default=None,
                    help="timed runs per point, median (default 3; ResNet-18 one fewer)")
    ap.add_argument("-o", "--output", default=None,
                    help="JSON path (default bench/results/distributed_bench.json, or "
                         "distributed_bench_quick.json with --quick); the plots are that "
                         "path with _throughput.png and _aggregation.png for .json (before "
                         "_quick)")
    ap.add_argument("--plot-only", action="store_true",
                    help="redraw the plots and tables from --output, measure nothing")
    args = ap.parse_args(argv)
    quick, resnet = args.quick, args.model == "resnet18"
    quick_compressions = ["none", "topk:0.01"] if resnet else ["none", "int8"]
    suffix = ("_resnet18" if resnet else "") + ("_quick" if quick else "")
    defaults = {
        "only": ["python", "browser"] if resnet else list(SECTIONS),
        "workers": [1, 2] if quick else [1, 2, 4, 8],
        "browser_workers": [1] if quick else [1, 2], "modes": list(MODES),
        "links": list(LINKS),
        "compressions": quick_compressions if quick else list(COMPRESSIONS),
        "browser_compressions": ["none"],
        "warmup": (1 if resnet else 2) if quick else 4,
        "rounds": (3 if resnet else 8) if quick else (10 if resnet else 40),
        "link_rate_mbps": 100.0 if resnet else 10.0,
        "agg_k": [2, 4] if quick else [2, 4, 8],
        "agg_rules": list(RULES), "agg_models": list(AGG_MODELS),
        "agg_repeats": 1 if quick else 3,
        "output": os.path.join(HERE, "results", f"distributed_bench{suffix}.json"),
    }
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.browser_links is None:
        args.browser_links = ["loopback"] if quick else list(args.links)
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.plot_only:
        with open(args.output) as fh:
            result = json.load(fh)
    else:
        result = run(args)
    print()
    print(tables(result))
    for png in plot(result, os.path.splitext(args.output)[0]):
        print(f"wrote {png}")


if __name__ == "__main__":
    main()
