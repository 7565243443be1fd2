"""The distml side of bench/browser_bench.py: runs in the page's Pyodide worker.

browser_bench.py sends this file's text to the page once, then calls the functions below
one at a time (`bench_train('mlp', 64, 2)`, `cleanup()`...); each returns a JSON-able dict.
Not importable on CPython as a module of the repository: it is page code, read at run time.
"""
import gc
import statistics
import time

import distml
import distml.nn.functional as F
from distml.backends import get_backend
from distml.models import MLP, MnistCNN, resnet18

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


def _counted(before, after, key):
    return after.get(key, 0) - before.get(key, 0)


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


def bench_eager_op(n, size, repeats):
    """The host cost of one small eager op: `x = x + 1` on a `size`-element tensor, n times
    in a row, timed before the read-back (Python + FFI + issuing the draw: WebGL queues the
    work) and with it (the GPU's share too); the webgl counters say how many draws and FFI
    calls one op makes."""
    distml.manual_seed(0)
    x = distml.zeros(size, device=DEV)
    runs = []
    with distml.no_grad():
        for _ in range(20):  # warm-up: shader compiled, textures pooled
            x = x + 1
        _sync(x)
        for _ in range(repeats):
            s0 = distml.webgl.stats()
            t0 = time.perf_counter()
            for _ in range(n):
                x = x + 1
            t1 = time.perf_counter()
            s1 = distml.webgl.stats()
            _sync(x)
            t2 = time.perf_counter()
            runs.append({"host_s": t1 - t0, "total_s": t2 - t0,
                         "draws": _counted(s0, s1, "draws"),
                         "ffi_calls": _counted(s0, s1, "ffi_calls")})
    host = statistics.median(r["host_s"] for r in runs)
    draws = runs[-1]["draws"]
    return {"n": n, "size": size, "runs": runs,
            "host_us_per_op": round(host / n * 1e6, 2),
            "us_per_op_with_read_back": round(
                statistics.median(r["total_s"] for r in runs) / n * 1e6, 2),
            "draws_per_op": draws / n,
            "ffi_calls_per_op": runs[-1]["ffi_calls"] / n,
            "host_us_per_draw": round(host / draws * 1e6, 2) if draws else None}


def _model(model):
    """(network, input shape without the batch) of a benchmark model name; "mlp:784,32,10"
    is an MLP of those sizes (a profiling aid: how a step's time scales with its work)."""
    if model.startswith("mlp:"):
        sizes = [int(v) for v in model[4:].split(",")]
        return MLP(*sizes), (sizes[0],)
    if model == "resnet18":
        return resnet18(num_classes=10, stem="imagenet"), (3, 32, 32)
    if model == "mlp":
        return MLP(784, 32, 10), (784,)
    return MnistCNN(), (1, 28, 28)


def bench_train(model, batch, repeats, captured=False):
    """A training step's time; captured: the step wrapped in distml.compile (its draws
    replayed in one FFI call once recorded), the loss read back outside it."""
    distml.manual_seed(0)
    net, shape = _model(model)
    net = net.to(DEV).train()
    opt = distml.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    x = distml.randn(batch, *shape, device=DEV)
    y = distml.randint(0, 10, (batch,), device=DEV)
    losses = []

    def forward_backward(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        return loss

    core = distml.compile(forward_backward) if captured else forward_backward

    def step():
        losses.append(core(x, y).item())

    # two warm-up steps: SGD's momentum buffers are made by the first, so the second is the
    # first to run (and compile) the steady-state kernels; a captured step records until
    # two recordings line up (calls 2-4), so it warms up for 6
    s0 = distml.webgl.stats()
    out = _times(step, repeats, warmup=6 if captured else 2)
    s1 = distml.webgl.stats()
    # one more step between two counter reads: the draws and FFI calls of one step
    step()
    s2 = distml.webgl.stats()
    out.update(losses=losses[:-1], shader_compiles=_counted(s0, s1, "compiles"),
               draws_per_step=_counted(s1, s2, "draws"),
               ffi_calls_per_step=_counted(s1, s2, "ffi_calls"))
    if captured:
        out.update(replays=core.replays, eager_reason=core.reason)
    return out


def cleanup():
    gc.collect()
    distml.webgl.empty_cache()
    return distml.webgl.stats()


def info():
    return {"distml": distml.__version__, "device": _be.info}
