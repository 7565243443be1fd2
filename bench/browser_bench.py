"""distml's "webgl" device vs TensorFlow.js 4.22 (webgl backend), in one headless Chromium.

    python bench/browser_bench.py --quick          # a couple of minutes: a first look
    python bench/browser_bench.py                  # everything (ResNet-18 at batch 64 is slow)
    python bench/browser_bench.py --only train --models mnistcnn --batches 8,32 --libs distml

(or `bash run.sh bench browser [ARGS]`, which also runs the set-up and builds the wheel.)

One Chromium (Debian's, the flags of tests/browser/harness.py, WebGL2 on SwiftShader), one
page (web/test.html): distml runs in the page's Pyodide worker, TF.js (/vendor/tfjs/tf.min.js,
fetched by `bash run.sh setup`) on the page's main thread, one after the other, never at
the same time. Three sections, each point distml and TF.js side by side:

- matmul: n x n @ n x n (float32), ms per op;
- conv: the distinct conv2d shapes of ResNet-18 on 32x32x3 inputs (ImageNet stem), forward,
  input gradient and weight gradient, ms per op at --conv-batch (distml NCHW through its
  backend primitives, TF.js NHWC through its kernels Conv2D, Conv2DBackpropInput and
  Conv2DBackpropFilter);
- train: samples/s vs batch of a training step (forward + cross-entropy + backward + SGD
  momentum 0.9) of distml.models.resnet18(num_classes=10) (7x7/2 conv, max pool, 4 stages)
  on 32x32x3 and of distml.models.MnistCNN on 28x28x1, against the same models written with
  TF.js layers ("same" padding where PyTorch pads symmetrically: same output shapes and
  FLOPs) trained by tf.train.momentum: the analogue of Fig. 1 of the DistML.js paper.

Timing: one warm-up (shader compiles), then --repeats timed runs (--train-repeats for
steps), the median reported. Every timed op or step ends with a read-back that waits for
the GPU: distml reads one element of the result (`.item()`; the loss in training), TF.js
reads a one-element slice (the loss in training) with `await data()` or `dataSync()`: for
an op both are timed and the faster kept (TF.js's async read-back is ~2x faster for a
1024 matmul here, its sync one for small ops), for a step `await data()` (--tfjs-read).
`ratio` is distml time / TF.js time (below 1: distml is faster). Writes --output (JSON,
rewritten after every point, so an interrupted run keeps what it measured) and a PNG plot
beside it. Not a test.
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

from common import names, save_figure, write_json  # noqa: E402 (bench/ is the script's folder)

TFJS_URL = "/vendor/tfjs/tf.min.js"
TFJS_FILE = os.path.join(ROOT, ".cache", "tfjs", "dist", "tf.min.js")

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
}
SECTIONS = ("matmul", "conv", "train")
LIBS = ("distml", "tfjs")

# -- distml, in the page's Pyodide worker --------------------------------------------------

DISTML_SETUP = """
import statistics, time
import distml, distml.nn.functional as F
from distml.backends import get_backend
from distml.models import MnistCNN, resnet18

DEV = "webgl"
_be = get_backend(DEV)


def _sync(t):
    # one element back to Python: waits for every draw that produced t
    return t.reshape(-1)[0].item()


def _times(fn, repeats, warmup=1):
    t0 = time.perf_counter()
    for _ in range(warmup):
        fn()
    warm = time.perf_counter() - t0
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return {"times": out, "warmup_s": warm}


def bench_matmul(n, repeats):
    distml.manual_seed(0)
    a = distml.randn(n, n, device=DEV)
    b = distml.randn(n, n, device=DEV)
    with distml.no_grad():
        return _times(lambda: _sync(a @ b), repeats)


def bench_conv(batch, cin, cout, k, s, p, hw, mode, repeats):
    distml.manual_seed(0)
    x = distml.randn(batch, cin, hw, hw, device=DEV)
    w = distml.randn(cout, cin, k, k, device=DEV) * 0.05
    oh = (hw + 2 * p - k) // s + 1
    gy = distml.randn(batch, cout, oh, oh, device=DEV)
    args = ((s, s), (p, p), (1, 1), 1)
    wrap = lambda buf: distml.Tensor._wrap(buf, _be, x.device)  # noqa: E731
    if mode == "forward":
        fn = lambda: _sync(F.conv2d(x, w, stride=s, padding=p))  # noqa: E731
    elif mode == "grad_input":
        fn = lambda: _sync(wrap(_be.conv2d_grad_input(  # noqa: E731
            gy._buf, w._buf, tuple(x.shape), *args)))
    else:
        fn = lambda: _sync(wrap(_be.conv2d_grad_weight(  # noqa: E731
            x._buf, gy._buf, tuple(w.shape), *args)))
    with distml.no_grad():
        return _times(fn, repeats)


def bench_train(model, batch, repeats):
    distml.manual_seed(0)
    if model == "resnet18":
        net, shape = resnet18(num_classes=10, stem="imagenet"), (3, 32, 32)
    else:
        net, shape = MnistCNN(), (1, 28, 28)
    net = net.to(DEV).train()
    opt = distml.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    x = distml.randn(batch, *shape, device=DEV)
    y = distml.randint(0, 10, (batch,), device=DEV)
    losses = []

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())

    s0 = distml.webgl.stats()
    out = _times(step, repeats)
    s1 = distml.webgl.stats()
    calls = repeats + 1
    out.update(losses=losses, shader_compiles=s1.get("compiles", 0) - s0.get("compiles", 0),
               draws_per_step=(s1["draws"] - s0["draws"]) / calls,
               ffi_calls_per_step=(s1["ffi_calls"] - s0["ffi_calls"]) / calls)
    return out


def cleanup():
    import gc
    gc.collect()
    distml.webgl.empty_cache()
    return distml.webgl.stats()


{"distml": distml.__version__, "device": _be.info}
"""

# -- TF.js, on the page's main thread --------------------------------------------------------

TFJS_SETUP = r"""
window.tfBench = (() => {
  const now = () => performance.now() / 1000;

  let asyncRead = true;  // await data() (TF.js's faster read-back here) or dataSync()

  async function read(t) {
    return asyncRead ? (await t.data())[0] : t.dataSync()[0];
  }

  async function syncOne(t) {
    // one element back to JS: waits for every kernel that produced t
    const one = tf.tidy(() => tf.slice(t, new Array(t.rank).fill(0), new Array(t.rank).fill(1)));
    const v = await read(one);
    one.dispose();
    return v;
  }

  async function times(fn, repeats, warmup = 1) {
    let t0 = now();
    for (let i = 0; i < warmup; i++) await fn();
    const warmupS = now() - t0;
    const out = [];
    for (let i = 0; i < repeats; i++) {
      t0 = now();
      await fn();
      out.push(now() - t0);
    }
    return { times: out, warmup_s: warmupS };
  }

  function setRead(mode) {
    asyncRead = mode !== "sync";
  }

  async function init() {
    await tf.setBackend("webgl");
    await tf.ready();
    const gl = tf.backend().gpgpu.gl;
    const dbg = gl.getExtension("WEBGL_debug_renderer_info");
    const flags = {};
    for (const f of ["WEBGL_VERSION", "WEBGL_PACK", "WEBGL_CONV_IM2COL",
                     "WEBGL_RENDER_FLOAT32_ENABLED", "WEBGL_USE_SHAPES_UNIFORMS"]) {
      try { flags[f] = tf.env().get(f); } catch (e) { flags[f] = String(e); }
    }
    return { version: tf.version.tfjs, backend: tf.getBackend(), flags,
             renderer: dbg ? gl.getParameter(dbg.UNMASKED_RENDERER_WEBGL) : null };
  }

  async function matmul(n, repeats) {
    const a = tf.randomNormal([n, n], 0, 1, "float32", 1);
    const b = tf.randomNormal([n, n], 0, 1, "float32", 2);
    const out = await times(async () => {
      const c = tf.matMul(a, b);
      await syncOne(c);
      c.dispose();
    }, repeats);
    a.dispose(); b.dispose();
    return out;
  }

  async function conv(batch, cin, cout, k, s, p, hw, mode, repeats) {
    const oh = Math.floor((hw + 2 * p - k) / s) + 1;
    const x = tf.randomNormal([batch, hw, hw, cin], 0, 1, "float32", 1);
    const w = tf.mul(tf.randomNormal([k, k, cin, cout], 0, 1, "float32", 2), 0.05);
    const dy = tf.randomNormal([batch, oh, oh, cout], 0, 1, "float32", 3);
    const attrs = { strides: [s, s], pad: p, dataFormat: "NHWC", dilations: [1, 1],
                    dimRoundingMode: undefined };
    let fn;
    if (mode === "forward") {
      fn = () => tf.conv2d(x, w, s, p);
    } else if (mode === "grad_input") {
      fn = () => tf.engine().runKernel("Conv2DBackpropInput", { dy, filter: w },
                                       { ...attrs, inputShape: x.shape });
    } else {
      fn = () => tf.engine().runKernel("Conv2DBackpropFilter", { x, dy },
                                       { ...attrs, filterShape: w.shape });
    }
    const shape = mode === "grad_input" ? x.shape : mode === "grad_weight" ? w.shape
                                                 : [batch, oh, oh, cout];
    const probe = fn();
    const ok = probe.shape.join() === shape.join();
    probe.dispose();
    if (!ok) throw new Error(`TF.js ${mode} gave shape ${probe.shape}, expected ${shape}`);
    const out = await times(async () => {
      const y = fn();
      await syncOne(y);
      y.dispose();
    }, repeats);
    x.dispose(); w.dispose(); dy.dispose();
    return out;
  }

  // the models of distml.models, in TF.js layers (NHWC); PyTorch's BatchNorm defaults
  function convBn(x, filters, k, s, relu) {
    x = tf.layers.conv2d({ filters, kernelSize: k, strides: s, padding: "same",
                           useBias: false, kernelInitializer: "heNormal" }).apply(x);
    x = tf.layers.batchNormalization({ axis: 3, momentum: 0.9, epsilon: 1e-5 }).apply(x);
    return relu ? tf.layers.reLU().apply(x) : x;
  }

  function resnet18(numClasses) {
    const input = tf.input({ shape: [32, 32, 3] });
    let x = convBn(input, 64, 7, 2, true);
    x = tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: "same" }).apply(x);
    let inplanes = 64;
    for (const [planes, stride] of [[64, 1], [128, 2], [256, 2], [512, 2]]) {
      for (let b = 0; b < 2; b++) {
        const s = b === 0 ? stride : 1;
        let out = convBn(x, planes, 3, s, true);
        out = convBn(out, planes, 3, 1, false);
        const identity = (s !== 1 || inplanes !== planes) ? convBn(x, planes, 1, s, false) : x;
        x = tf.layers.reLU().apply(tf.layers.add().apply([out, identity]));
        inplanes = planes;
      }
    }
    x = tf.layers.globalAveragePooling2d({}).apply(x);
    x = tf.layers.dense({ units: numClasses }).apply(x);
    return tf.model({ inputs: input, outputs: x });
  }

  function mnistcnn(numClasses) {
    const input = tf.input({ shape: [28, 28, 1] });
    let x = convBn(input, 32, 3, 1, true);
    x = convBn(x, 32, 3, 1, true);
    x = tf.layers.maxPooling2d({ poolSize: 2 }).apply(x);
    x = convBn(x, 64, 3, 1, true);
    x = convBn(x, 64, 3, 1, true);
    x = tf.layers.maxPooling2d({ poolSize: 2 }).apply(x);
    x = tf.layers.flatten().apply(x);
    x = tf.layers.dense({ units: 128, activation: "relu" }).apply(x);
    x = tf.layers.dropout({ rate: 0.5 }).apply(x);
    x = tf.layers.dense({ units: numClasses }).apply(x);
    return tf.model({ inputs: input, outputs: x });
  }

  async function train(model, batch, repeats) {
    const net = model === "resnet18" ? resnet18(10) : mnistcnn(10);
    const shape = model === "resnet18" ? [32, 32, 3] : [28, 28, 1];
    const opt = tf.train.momentum(0.01, 0.9);
    const x = tf.randomNormal([batch, ...shape], 0, 1, "float32", 1);
    const y = tf.tidy(() => tf.oneHot(
      tf.randomUniform([batch], 0, 10, "float32", 2).floor().toInt(), 10));
    const losses = [];
    const step = async () => {
      const loss = opt.minimize(
        () => tf.losses.softmaxCrossEntropy(y, net.apply(x, { training: true })), true);
      losses.push(await read(loss));
      loss.dispose();
    };
    const out = await times(step, repeats);
    const params = net.countParams();
    net.dispose(); opt.dispose(); x.dispose(); y.dispose();
    return { ...out, losses, params, numTensors: tf.memory().numTensors };
  }

  return { init, setRead, matmul, conv, train };
})();
"""


def _median_ms(times):
    return round(statistics.median(times) * 1000, 3)


class Bench:
    def __init__(self, py, args):
        self.py, self.args = py, args
        self.page = py.page

    def distml(self, code):
        return self.py.run(code, timeout=self.args.call_timeout)

    def tfjs(self, fn, *args):
        """TF.js's fn(*args); with --tfjs-read best, an op (not a training step) is timed
        with both read-backs and the faster kept (both medians recorded)."""
        call = f"(a) => window.tfBench.{fn}(...a)"
        mode = self.args.tfjs_read
        if mode != "best" or fn == "train":
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
        out["median_ms_by_read_back"] = {r: _median_ms(v["times"]) for r, v in runs.items()}
        return out

    def point(self, lib, distml_code, tfjs_fn, *tfjs_args):
        """{"times": [...]} or {"error": "..."} of one library at one point."""
        t0 = time.monotonic()
        load = os.getloadavg()[0]  # other processes on these cores skew the numbers
        try:
            if lib == "distml":
                out = self.distml(distml_code)
            else:
                out = self.tfjs(tfjs_fn, *tfjs_args)
        except Exception as exc:  # keep going: a failed point is recorded, not fatal
            out = {"error": f"{type(exc).__name__}: {exc}"[:2000]}
        out["wall_s"] = round(time.monotonic() - t0, 2)
        out["load_before"] = round(load, 2)
        if lib == "distml":
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
                entry[f"{lib}_ms"] = _median_ms(out["times"])
            else:
                step = statistics.median(out["times"])
                entry[f"{lib}_step_s"] = round(step, 4)
                entry[f"{lib}_samples_per_s"] = round(batch / step, 3)
    key = "ms" if batch is None else "step_s"
    if f"distml_{key}" in entry and f"tfjs_{key}" in entry:
        entry["ratio"] = round(entry[f"distml_{key}"] / entry[f"tfjs_{key}"], 3)
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
    return ", ".join(parts)


def run(args):
    from browser.harness import BrowserPython, missing_requirements

    reasons = missing_requirements()
    if "tfjs" in args.libs and not os.path.isfile(TFJS_FILE):
        reasons.append(f"{TFJS_FILE} is missing (`bash run.sh setup`)")
    if reasons:
        sys.exit("cannot run: " + "; ".join(reasons))
    result = {
        "benchmark": "browser_bench",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "args": vars(args), "cpus": os.cpu_count(),
        "matmul": [], "conv": [], "train": [],
    }

    def save():
        write_json(args.output, result)

    t_start = time.monotonic()
    with BrowserPython(start_timeout=180, call_timeout=args.call_timeout) as py:
        bench = Bench(py, args)
        result["page"] = py.info
        result["user_agent"] = py.page.evaluate("navigator.userAgent")
        if "distml" in args.libs:
            result["distml_info"] = bench.distml(DISTML_SETUP)
        if "tfjs" in args.libs:
            py.page.add_script_tag(url=TFJS_URL)
            py.page.add_script_tag(content=TFJS_SETUP)
            result["tfjs_info"] = py.page.evaluate("window.tfBench.init()")
        print(f"page ready in {py.info['page_seconds']:.1f} s; "
              f"distml {result.get('distml_info', {}).get('distml')}, "
              f"TF.js {result.get('tfjs_info', {}).get('version')}", flush=True)
        save()

        if "matmul" in args.only:
            for n in args.sizes:
                res = {lib: bench.point(lib, f"bench_matmul({n}, {args.repeats})",
                                        "matmul", n, args.repeats) for lib in args.libs}
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
                        for lib in args.libs}
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
                for batch in args.batches:
                    res = {lib: bench.point(lib, f"bench_train({model!r}, {batch}, "
                                                 f"{args.train_repeats})",
                                            "train", model, batch, args.train_repeats)
                           for lib in args.libs}
                    entry = _row({"model": model, "label": MODELS[model][1], "batch": batch},
                                 res, batch=batch)
                    result["train"].append(entry)
                    save()
                    print(f"train {model} batch {batch}: samples/s: "
                          f"{_fmt(entry, 'samples_per_s')}; step ratio "
                          f"{entry.get('ratio', float('nan')):.3g}", flush=True)
        result["console_errors"] = py.console_errors[:50]
    result["wall_seconds"] = round(time.monotonic() - t_start, 1)
    save()
    print(f"wrote {args.output} ({result['wall_seconds']:.0f} s)", flush=True)
    return result


# -- the plot -------------------------------------------------------------------------------

COLORS = {"distml": "#1f77b4", "tfjs": "#ff7f0e"}
NAMES = {"distml": 'distml "webgl"', "tfjs": "TF.js 4.22 webgl"}


def plot(result, path):
    try:
        import matplotlib
    except ImportError:
        print("matplotlib is missing (pip install -e .[dev]): no plot", file=sys.stderr)
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
    h = 0.4
    for i, lib in enumerate(LIBS):
        if any(v == v for v in values[lib]):
            ax.barh([y + (i - 0.5) * h for y in ys], values[lib], height=h,
                    color=COLORS[lib], label=NAMES[lib])
    for y, d, t in zip(ys, values["distml"], values["tfjs"]):
        if d == d and t == t:  # both measured: the ratio at the end of the pair
            ax.annotate(f"x{d / t:.2g}", (max(d, t), y), textcoords="offset points",
                        xytext=(3, -3), fontsize=6)
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
            y = max(e.get("distml_samples_per_s", 0), e.get("tfjs_samples_per_s", 0))
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
                         "training at batch 8; 2 timed runs per op, 1 per step "
                         "(explicit options still win)")
    ap.add_argument("--only", type=names(SECTIONS), default=None,
                    help=f"sections, comma-separated: {','.join(SECTIONS)} (default: all)")
    ap.add_argument("--libs", type=names(LIBS), default=None,
                    help="distml,tfjs (default both)")
    ap.add_argument("--sizes", type=_ints, default=None, help="matmul n (default 256,512,1024)")
    ap.add_argument("--conv-batch", type=int, default=None, help="conv batch (default 32)")
    ap.add_argument("--conv-modes", type=names(CONV_MODES), default=None,
                    help="forward,grad_input,grad_weight (default all)")
    ap.add_argument("--convs", type=lambda t: [v for v in t.split(",") if v], default=None,
                    help="only the conv shapes whose name contains one of these, e.g. "
                         "'conv1,layer1'")
    ap.add_argument("--models", type=names(tuple(MODELS)), default=None,
                    help="resnet18,mnistcnn (default both)")
    ap.add_argument("--batches", type=_ints, default=None,
                    help="training batch sizes (default 8,16,32,64)")
    ap.add_argument("--repeats", type=int, default=None,
                    help="timed runs per op after one warm-up (default 3)")
    ap.add_argument("--train-repeats", type=int, default=None,
                    help="timed steps per point after one warm-up step (default 2)")
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
        "models": list(MODELS), "batches": [8] if quick else [8, 16, 32, 64],
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
