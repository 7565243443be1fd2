"""distml's "webgl" device vs TensorFlow.js 4.22 (webgl and wasm backends), in one Chromium.

    python bench/browser_bench.py --quick          # a couple of minutes: a first look
    python bench/browser_bench.py                  # everything (ResNet-18 at batch 64 is slow)
    python bench/browser_bench.py --only train --models mnistcnn --batches 8,32 --libs distml

(or `bash run.sh bench browser [ARGS]`, which also runs the set-up and builds the wheel.)

One Chromium (Debian's, the flags of tests/browser/harness.py, WebGL2 on SwiftShader), one
page (web/test.html): distml runs in the page's Pyodide worker, TF.js (/vendor/tfjs/tf.min.js
and its wasm backend /vendor/tfjs-wasm/, fetched by `bash run.sh setup`) on the page's main
thread, one after the other, never at the same time. This file is the orchestration; the
code that runs in the page is in bench/page/ (distml_setup.py for Pyodide, tfjs_bench.js for
TF.js), read at run time. TF.js's wasm backend (XNNPACK) is a peer only where it has the
kernels: it has no Conv2DBackpropFilter, so no conv weight gradient and no conv-net
training. Four sections, each point the libraries side by side:

- eager: the host cost of one small eager op, `x = x + 1` on 16 elements --eager-ops times
  in a row, in us per op before the read-back (Python + FFI + issuing the draw) and with
  it; for distml also draws and FFI calls per op and host us per draw;
- matmul: n x n @ n x n (float32), ms per op;
- conv: the distinct conv2d shapes of ResNet-18 on 32x32x3 inputs (ImageNet stem), forward,
  input gradient and weight gradient, ms per op at --conv-batch (distml NCHW through its
  backend primitives, TF.js NHWC through its kernels Conv2D, Conv2DBackpropInput and
  Conv2DBackpropFilter);
- train: samples/s vs batch of a training step (forward + cross-entropy + backward + SGD
  momentum 0.9) of distml.models.resnet18(num_classes=10) (7x7/2 conv, max pool, 4 stages)
  on 32x32x3 and of distml.models.MnistCNN on 28x28x1, against the same models written with
  TF.js layers ("same" padding where PyTorch pads symmetrically: same output shapes and
  FLOPs) trained by tf.train.momentum: the analogue of Fig. 1 of the DistML.js paper; and
  of distml.models.MLP(784, 32, 10) on flat 784-vectors (--models mlp), also on TF.js's
  wasm backend. For distml, each point also records the draws and FFI calls of one step
  (distml.webgl.stats() before and after it).

Timing: one warm-up (shader compiles; two for a training step, whose first makes the
optimizer's momentum buffers), then --repeats timed runs (--train-repeats for steps), the
median reported. Every timed op or step ends with a read-back that waits for
the GPU: distml reads one element of the result (`.item()`; the loss in training), TF.js
reads a one-element slice (the loss in training) with `await data()` or `dataSync()`: for
an op both are timed and the faster kept (TF.js's async read-back is ~2x faster for a
1024 matmul here, its sync one for small ops), for a step `await data()` (--tfjs-read).
`ratio` is distml time / TF.js webgl time (below 1: distml is faster), `ratio_captured`
the same for the step wrapped in distml.compile (its draws replayed by the JS helper in
one call; "distml_captured" in --libs, training points only), `ratio_wasm` distml against
TF.js wasm. Writes --output (JSON, rewritten after every point, so an
interrupted run keeps what it measured) and a PNG plot beside it. Not a test.
"""
import argparse
import datetime
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

from common import median_ms, names, pyplot, save_figure, write_json  # noqa: E402 (bench/ is the script's folder)

TFJS_URL = "/vendor/tfjs/tf.min.js"
TFJS_FILE = os.path.join(ROOT, ".cache", "tfjs", "dist", "tf.min.js")
TFJS_WASM_PATHS = "/vendor/tfjs-wasm/"  # tf.wasm.setWasmPaths: the .wasm binaries
TFJS_WASM_URL = TFJS_WASM_PATHS + "tf-backend-wasm.min.js"
TFJS_WASM_FILE = os.path.join(ROOT, ".cache", "tfjs-wasm", "dist", "tf-backend-wasm.min.js")

# (name, cin, cout, kernel, stride, padding, input h = w, how many in the network):
# ResNet-18 with the ImageNet stem on 32x32 inputs
RESNET18_CONVS = [
    ("conv1 7x7/2", 3, 64, 7, 2, 3, 32, 1),
    ("layer1 3x3", 64, 64, 3, 1, 1, 8, 4),
    ("layer2.0.conv1 3x3/2", 64, 128, 3, 2, 1, 8, 1),
    ("layer2 3x3", 128, 128, 3, 1, 1, 4, 3),
    ("layer2 downsample 1x1/2", 64, 128, 1, 2, 0, 8, 1),
    ("layer3.0.conv1 3x3/2", 128, 256, 3, 2, 1, 4, 1),
    ("layer3 3x3", 256, 256, 3, 1, 1, 2, 3),
    ("layer3 downsample 1x1/2", 128, 256, 1, 2, 0, 4, 1),
    ("layer4.0.conv1 3x3/2", 256, 512, 3, 2, 1, 2, 1),
    ("layer4 3x3", 512, 512, 3, 1, 1, 1, 3),
    ("layer4 downsample 1x1/2", 256, 512, 1, 2, 0, 2, 1),
]
CONV_MODES = ("forward", "grad_input", "grad_weight")
MODELS = {  # name: (input shape CHW, label)
    "resnet18": ((3, 32, 32), "ResNet-18 (ImageNet stem) 32x32x3"),
    "mnistcnn": ((1, 28, 28), "MnistCNN 28x28x1"),
    "mlp": ((784,), "MLP 784-32-10"),
}
SECTIONS = ("eager", "matmul", "conv", "train")
LIBS = ("distml", "distml_captured", "tfjs", "tfjs_wasm")  # captured: distml.compile(step)
TFJS_BACKENDS = {"tfjs": "webgl", "tfjs_wasm": "wasm"}
# where TF.js's wasm backend has the kernels: no Conv2DBackpropFilter, so neither the
# weight gradient nor a conv net's training step
WASM_CONV_MODES = ("forward", "grad_input")
WASM_MODELS = ("mlp",)

# the code that runs in the page, in files of its own, read at run time
PAGE_DIR = os.path.join(HERE, "page")
DISTML_PAGE_CODE = os.path.join(PAGE_DIR, "distml_setup.py")  # Python, in the Pyodide worker
TFJS_PAGE_CODE = os.path.join(PAGE_DIR, "tfjs_bench.js")  # JS, on the page's main thread


def _read(path):
    with open(path, encoding="utf-8") as fh:
        return fh.read()


class Bench:
    def __init__(self, py, args):
        self.py, self.args = py, args
        self.page = py.page

    def distml(self, code):
        return self.py.run(code, timeout=self.args.call_timeout)

    def tfjs(self, backend, fn, *args):
        """TF.js's fn(*args) on `backend`; with --tfjs-read best, an op (not a training step)
        is timed with both read-backs and the faster kept (both medians recorded)."""
        self.page.evaluate("(b) => window.tfBench.use(b)", backend)
        call = f"(a) => window.tfBench.{fn}(...a)"
        mode = self.args.tfjs_read
        if mode != "best" or fn in ("train", "eagerOp"):
            self.page.evaluate("(m) => window.tfBench.setRead(m)",
                               "sync" if mode == "sync" else "async")
            out = self.page.evaluate(call, list(args))
            out["read_back"] = "sync" if mode == "sync" else "async"
            return out
        runs = {}
        for read in ("async", "sync"):
            self.page.evaluate("(m) => window.tfBench.setRead(m)", read)
            runs[read] = self.page.evaluate(call, list(args))
        read = min(runs, key=lambda r: statistics.median(runs[r]["times"]))
        out = dict(runs[read], read_back=read)
        out["median_ms_by_read_back"] = {r: median_ms(v["times"]) for r, v in runs.items()}
        return out

    def point(self, lib, distml_code, tfjs_fn, *tfjs_args):
        """{"times": [...]} or {"error": "..."} of one library at one point."""
        t0 = time.monotonic()
        load = os.getloadavg()[0]  # other processes on these cores skew the numbers
        try:
            if lib.startswith("distml"):
                out = self.distml(distml_code)
            else:
                out = self.tfjs(TFJS_BACKENDS[lib], tfjs_fn, *tfjs_args)
        except Exception as exc:  # keep going: a failed point is recorded, not fatal
            out = {"error": f"{type(exc).__name__}: {exc}"[:2000]}
        out["wall_s"] = round(time.monotonic() - t0, 2)
        out["load_before"] = round(load, 2)
        if lib.startswith("distml"):
            try:
                self.distml("cleanup()")
            except Exception:
                pass
        return out


def _row(entry, results, batch=None):
    """Fill entry with per-library medians and the ratio distml / TF.js."""
    for lib, out in results.items():
        entry[lib] = out
        if "times" in out:
            if batch is None:
                entry[f"{lib}_ms"] = median_ms(out["times"])
            else:
                step = statistics.median(out["times"])
                entry[f"{lib}_step_s"] = round(step, 4)
                entry[f"{lib}_samples_per_s"] = round(batch / step, 3)
    key = "ms" if batch is None else "step_s"
    if f"distml_{key}" in entry and f"tfjs_{key}" in entry:
        entry["ratio"] = round(entry[f"distml_{key}"] / entry[f"tfjs_{key}"], 3)
    if f"distml_captured_{key}" in entry and f"tfjs_{key}" in entry:
        entry["ratio_captured"] = round(entry[f"distml_captured_{key}"] / entry[f"tfjs_{key}"],
                                        3)
    if f"distml_{key}" in entry and f"tfjs_wasm_{key}" in entry:
        entry["ratio_wasm"] = round(entry[f"distml_{key}"] / entry[f"tfjs_wasm_{key}"], 3)
    if batch is not None and "draws_per_step" in entry.get("distml", {}):
        entry["distml_draws_per_step"] = entry["distml"]["draws_per_step"]
        entry["distml_ffi_calls_per_step"] = entry["distml"]["ffi_calls_per_step"]
    return entry


def _fmt(entry, key):
    parts = []
    for lib in LIBS:
        if f"{lib}_{key}" in entry:
            parts.append(f"{lib} {entry[f'{lib}_{key}']:.4g}")
        elif lib in entry and "error" in entry[lib]:
            parts.append(f"{lib} ERROR ({entry[lib]['error'].splitlines()[0][:120]})")
    if "ratio" in entry:
        parts.append(f"ratio {entry['ratio']:.3g}")
    if "ratio_captured" in entry:
        parts.append(f"captured ratio {entry['ratio_captured']:.3g}")
    if "ratio_wasm" in entry:
        parts.append(f"ratio to wasm {entry['ratio_wasm']:.3g}")
    return ", ".join(parts)


def _libs(args, section, mode=None, model=None):
    """The libraries measured at one point: TF.js's wasm backend only where it has the
    kernels."""
    libs = [lib for lib in args.libs if section == "train" or lib != "distml_captured"]
    if (section == "conv" and mode not in WASM_CONV_MODES) or (
            section == "train" and model not in WASM_MODELS):
        return [lib for lib in libs if lib != "tfjs_wasm"]
    return libs


def batches_for(args, model):
    """--batches, else the default: 8, 16, 32, 64 (--quick: 8, and 64 for the MLP, the
    batch of issue 14's table)."""
    if args.batches:
        return args.batches
    if args.quick:
        return [64] if model == "mlp" else [8]
    return [8, 16, 32, 64]


def run(args):
    from browser.harness import BrowserPython, missing_requirements

    reasons = missing_requirements()
    for lib, path in (("tfjs", TFJS_FILE), ("tfjs_wasm", TFJS_FILE), ("tfjs_wasm", TFJS_WASM_FILE)):
        if lib in args.libs and not os.path.isfile(path):
            reasons.append(f"{path} is missing (`bash run.sh setup`)")
    if reasons:
        sys.exit("cannot run: " + "; ".join(reasons))
    result = {
        "benchmark": "browser_bench",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "args": vars(args), "cpus": os.cpu_count(),
        "eager": {}, "matmul": [], "conv": [], "train": [],
    }

    def save():
        write_json(args.output, result)

    t_start = time.monotonic()
    with BrowserPython(start_timeout=180, call_timeout=args.call_timeout) as py:
        bench = Bench(py, args)
        result["page"] = py.info
        result["user_agent"] = py.page.evaluate("navigator.userAgent")
        if any(lib.startswith("distml") for lib in args.libs):  # distml_captured alone too
            bench.distml(_read(DISTML_PAGE_CODE))
            result["distml_info"] = bench.distml("info()")
        if "tfjs" in args.libs or "tfjs_wasm" in args.libs:
            py.page.add_script_tag(url=TFJS_URL)
            if "tfjs_wasm" in args.libs:
                py.page.add_script_tag(url=TFJS_WASM_URL)
            py.page.add_script_tag(content=_read(TFJS_PAGE_CODE))
            result["tfjs_info"] = py.page.evaluate("window.tfBench.init()")
            if "tfjs_wasm" in args.libs:
                result["tfjs_wasm_info"] = py.page.evaluate(
                    "(p) => window.tfBench.initWasm(p)", TFJS_WASM_PATHS)
        wasm = result.get("tfjs_wasm_info", {})
        print(f"page ready in {py.info['page_seconds']:.1f} s; "
              f"distml {result.get('distml_info', {}).get('distml')}, "
              f"TF.js {result.get('tfjs_info', {}).get('version')}"
              + (f" (wasm: {wasm.get('flags')}, threads {wasm.get('threads')})"
                 if wasm else ""), flush=True)
        save()

        if "eager" in args.only:
            n, size = args.eager_ops, 16
            for lib in _libs(args, "eager"):
                out = bench.point(lib, f"bench_eager_op({n}, {size}, {args.repeats})",
                                  "eagerOp", n, size, args.repeats)
                result["eager"][lib] = out
                save()
                if "error" in out:
                    print(f"eager x = x + 1 ({size} elements) {lib}: ERROR "
                          f"{out['error'].splitlines()[0][:120]}", flush=True)
                    continue
                extra = ""
                if lib == "distml":
                    extra = (f"; {out['draws_per_op']:g} draws and {out['ffi_calls_per_op']:g}"
                             f" FFI calls per op; host {out['host_us_per_draw']} us per draw")
                print(f"eager x = x + 1 ({size} elements, {n} ops) {lib}: host "
                      f"{out['host_us_per_op']:.1f} us per op, "
                      f"{out['us_per_op_with_read_back']:.1f} with the read-back{extra}",
                      flush=True)

        if "matmul" in args.only:
            for n in args.sizes:
                res = {lib: bench.point(lib, f"bench_matmul({n}, {args.repeats})",
                                        "matmul", n, args.repeats)
                       for lib in _libs(args, "matmul")}
                entry = _row({"n": n, "gflop": round(2 * n ** 3 / 1e9, 3)}, res)
                result["matmul"].append(entry)
                save()
                print(f"matmul {n}: ms per op: {_fmt(entry, 'ms')}", flush=True)

        if "conv" in args.only:
            b = args.conv_batch
            for name, cin, cout, k, s, p, hw, count in RESNET18_CONVS:
                if args.convs and not any(c in name for c in args.convs):
                    continue
                for mode in args.conv_modes:
                    res = {lib: bench.point(
                        lib, f"bench_conv({b}, {cin}, {cout}, {k}, {s}, {p}, {hw}, "
                             f"{mode!r}, {args.repeats})",
                        "conv", b, cin, cout, k, s, p, hw, mode, args.repeats)
                        for lib in _libs(args, "conv", mode=mode)}
                    oh = (hw + 2 * p - k) // s + 1
                    entry = _row({"name": name, "mode": mode, "batch": b, "cin": cin,
                                  "cout": cout, "kernel": k, "stride": s, "padding": p,
                                  "hw": hw, "out_hw": oh, "count_in_resnet18": count,
                                  "gflop": round(2 * b * cout * oh * oh * cin * k * k / 1e9, 4)},
                                 res)
                    result["conv"].append(entry)
                    save()
                    print(f"conv {name} {mode} (batch {b}): ms per op: {_fmt(entry, 'ms')}",
                          flush=True)

        if "train" in args.only:
            for model in args.models:
                for batch in batches_for(args, model):
                    res = {lib: bench.point(lib, f"bench_train({model!r}, {batch}, "
                                                 f"{args.train_repeats}, "
                                                 f"captured={lib == 'distml_captured'})",
                                            "train", model, batch, args.train_repeats)
                           for lib in _libs(args, "train", model=model)}
                    entry = _row({"model": model, "label": MODELS[model][1], "batch": batch},
                                 res, batch=batch)
                    result["train"].append(entry)
                    save()
                    counts = ""
                    if "distml_draws_per_step" in entry:
                        counts = (f"; distml {entry['distml_draws_per_step']} draws, "
                                  f"{entry['distml_ffi_calls_per_step']} FFI calls per step")
                    print(f"train {model} batch {batch}: samples/s: "
                          f"{_fmt(entry, 'samples_per_s')}; step ratio "
                          f"{entry.get('ratio', float('nan')):.3g}{counts}", flush=True)
        result["console_errors"] = py.console_errors[:50]
    result["wall_seconds"] = round(time.monotonic() - t_start, 1)
    save()
    print(f"wrote {args.output} ({result['wall_seconds']:.0f} s)", flush=True)
    return result


# -- the plot -------------------------------------------------------------------------------

COLORS = {"distml": "#1f77b4", "distml_captured": "#9467bd", "tfjs": "#ff7f0e",
          "tfjs_wasm": "#2ca02c"}
NAMES = {"distml": 'distml "webgl"', "distml_captured": 'distml "webgl", distml.compile',
         "tfjs": "TF.js 4.22 webgl", "tfjs_wasm": "TF.js 4.22 wasm"}


def plot(result, path):
    plt = pyplot()
    if plt is None:
        return None

    has_ops = bool(result["matmul"] or result["conv"])
    models = [m for m in MODELS if any(e["model"] == m for e in result["train"])]
    if not has_ops and not models:
        return None
    n_ops = len(result["matmul"]) + len(result["conv"])
    height = max(5.0, 0.2 * n_ops + 1.5) if has_ops else 4.5 * len(models)
    cols = int(has_ops) + int(bool(models))
    fig = plt.figure(figsize=(7.5 * cols, height))
    grid = fig.add_gridspec(max(1, len(models)), cols)
    if has_ops:
        _plot_ops(fig.add_subplot(grid[:, 0]), result)
    for i, model in enumerate(models):
        _plot_train(fig.add_subplot(grid[i, cols - 1]), result, model)
    loads = [e[lib]["load_before"] for section in ("matmul", "conv", "train")
             for e in result[section] for lib in LIBS if "load_before" in e.get(lib, {})]
    load = f", load average {min(loads):.1f}-{max(loads):.1f}" if loads else ""
    fig.suptitle(f"distml vs TensorFlow.js, headless Chromium on SwiftShader "
                 f"({result.get('cpus')} cores{load}), {result['date'][:10]}", fontsize=11)
    return save_figure(fig, path)


def _plot_ops(ax, result):
    labels, values = [], {lib: [] for lib in LIBS}
    short = {"forward": "fwd", "grad_input": "dx", "grad_weight": "dw"}
    for e in result["matmul"]:
        labels.append(f"matmul {e['n']}")
        for lib in LIBS:
            values[lib].append(e.get(f"{lib}_ms", float("nan")))
    for e in result["conv"]:
        labels.append(f"{e['name']} {short[e['mode']]}")
        for lib in LIBS:
            values[lib].append(e.get(f"{lib}_ms", float("nan")))
    ys = range(len(labels))
    shown = [lib for lib in LIBS if any(v == v for v in values[lib])]
    h = 0.8 / max(1, len(shown))
    for i, lib in enumerate(shown):
        ax.barh([y + (i - (len(shown) - 1) / 2) * h for y in ys], values[lib], height=h,
                color=COLORS[lib], label=NAMES[lib])
    for y, *vs in zip(ys, *(values[lib] for lib in LIBS)):
        d, t = vs[LIBS.index("distml")], vs[LIBS.index("tfjs")]
        if d == d and t == t:  # both measured: the ratio at the end of the group
            ax.annotate(f"x{d / t:.2g}", (max(v for v in vs if v == v), y),
                        textcoords="offset points", xytext=(3, -3), fontsize=6)
    ax.set_yticks(list(ys))
    ax.set_yticklabels(labels, fontsize=6 if len(labels) > 20 else 8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    batch = result["conv"][0]["batch"] if result["conv"] else None
    ax.set_xlabel("ms per op (log)" + (f"; conv batch {batch}" if batch else ""))
    ax.set_title("matmul and ResNet-18 conv2d (fwd, dx, dw); labels: distml / TF.js")
    ax.legend(fontsize=8)
    ax.grid(axis="x", alpha=0.3)


def _plot_train(ax, result, model):
    rows = [e for e in result["train"] if e["model"] == model]
    for lib in LIBS:
        pts = [(e["batch"], e[f"{lib}_samples_per_s"]) for e in rows
               if f"{lib}_samples_per_s" in e]
        if pts:
            ax.plot(*zip(*pts), "o-", color=COLORS[lib], label=NAMES[lib])
    for e in rows:
        if "ratio" in e:
            y = max(e.get(f"{lib}_samples_per_s", 0) for lib in LIBS)
            ax.annotate(f"x{e['ratio']:.2g}", (e["batch"], y), textcoords="offset points",
                        xytext=(0, 6), ha="center", fontsize=8)
    ax.set_xscale("log", base=2)
    batches = sorted({e["batch"] for e in rows})
    ax.set_xticks(batches)
    ax.set_xticklabels([str(b) for b in batches])
    ax.set_xlabel("batch size (labels: step time distml / TF.js)")
    ax.set_ylabel("training samples/s")
    ax.set_ylim(0, ax.get_ylim()[1] * 1.15)
    ax.set_title(f"training: {MODELS[model][1]}")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)


# -- command line ---------------------------------------------------------------------------

def _ints(text):
    return [int(v) for v in text.split(",") if v]


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n".join(__doc__.splitlines()[1:6]))
    ap.add_argument("--quick", action="store_true",
                    help="a couple of minutes: matmul 256,512; conv at batch 4, forward only; "
                         "training at batch 8 (the MLP at 64); 2 timed runs per op, 1 per "
                         "step (explicit options still win)")
    ap.add_argument("--only", type=names(SECTIONS), default=None,
                    help=f"sections, comma-separated: {','.join(SECTIONS)} (default: all)")
    ap.add_argument("--libs", type=names(LIBS), default=None,
                    help="distml,tfjs,tfjs_wasm (default all; TF.js's wasm backend only "
                         "where it has the kernels: eager, matmul, conv forward and input "
                         "gradient, the MLP's training)")
    ap.add_argument("--sizes", type=_ints, default=None, help="matmul n (default 256,512,1024)")
    ap.add_argument("--conv-batch", type=int, default=None, help="conv batch (default 32)")
    ap.add_argument("--conv-modes", type=names(CONV_MODES), default=None,
                    help="forward,grad_input,grad_weight (default all)")
    ap.add_argument("--convs", type=lambda t: [v for v in t.split(",") if v], default=None,
                    help="only the conv shapes whose name contains one of these, e.g. "
                         "'conv1,layer1'")
    ap.add_argument("--models", type=names(tuple(MODELS)), default=None,
                    help="resnet18,mnistcnn,mlp (default all; mlp is MLP(784, 32, 10))")
    ap.add_argument("--batches", type=_ints, default=None,
                    help="training batch sizes (default 8,16,32,64; --quick: 8, the MLP 64)")
    ap.add_argument("--eager-ops", type=int, default=2000,
                    help="section eager: how many `x = x + 1` on 16 elements are timed in a "
                         "row for the host cost of one eager op (default 2000)")
    ap.add_argument("--repeats", type=int, default=None,
                    help="timed runs per op after one warm-up (default 3)")
    ap.add_argument("--train-repeats", type=int, default=None,
                    help="timed steps per point after two warm-up steps (default 2)")
    ap.add_argument("--tfjs-read", choices=("best", "async", "sync"), default="best",
                    help="TF.js read-back: `await data()` (async), dataSync() (sync), or "
                         "best (default): ops timed both ways, the faster kept (async is "
                         "~2x faster for matmul 1024 here, sync for small ops); training "
                         "steps use async")
    ap.add_argument("--call-timeout", type=float, default=3600,
                    help="seconds one distml measurement may take (default 3600)")
    ap.add_argument("-o", "--output", default=None,
                    help="JSON path (default bench/results/browser_bench.json, or "
                         "browser_bench_quick.json with --quick); the plot is the same path "
                         "with .png")
    ap.add_argument("--plot-only", action="store_true",
                    help="redraw the plot from --output, measure nothing")
    args = ap.parse_args(argv)
    quick = args.quick
    defaults = {
        "only": list(SECTIONS), "libs": list(LIBS),
        "sizes": [256, 512] if quick else [256, 512, 1024],
        "conv_batch": 4 if quick else 32,
        "conv_modes": ["forward"] if quick else list(CONV_MODES),
        "models": list(MODELS),
        "repeats": 2 if quick else 3, "train_repeats": 1 if quick else 2,
        "output": os.path.join(HERE, "results",
                               "browser_bench_quick.json" if quick else "browser_bench.json"),
    }
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.plot_only:
        with open(args.output) as fh:
            result = json.load(fh)
    else:
        result = run(args)
    png = plot(result, os.path.splitext(args.output)[0] + ".png")
    if png:
        print(f"wrote {png}")


if __name__ == "__main__":
    main()
