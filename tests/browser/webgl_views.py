"""Run IN THE PAGE by test_browser_webgl.py: every webgl primitive on views (transposed,
step-sliced, broadcast inputs) against the pure-Python backend, at the backend level.
The value of the last expression is {"checks": n, "problems": [...]}.
"""
import math
import random
from distml.backends import get_backend
from distml.backends.python import backend as py
from distml.backends.base import UNARY_OPS, BINARY_OPS
gl = get_backend("webgl")
rng = random.Random(5)
problems = []
count = 0


def make(shape, kind="any"):
    n = math.prod(shape)
    if kind == "pos":
        vals = [rng.uniform(0.1, 3.0) for _ in range(n)]
    elif kind == "int":
        vals = [rng.randint(-6, 6) for _ in range(n)]
    else:
        vals = [rng.uniform(-2.0, 2.0) for _ in range(n)]
    dt = "int64" if kind == "int" else "float32"
    return gl.from_list(vals, shape, dt), py.from_list(vals, shape, dt)


def view(pair, how):
    g, p = pair
    shape = g.shape
    if how == "T" and len(shape) >= 2:
        order = list(range(len(shape)))[::-1]
        return gl.permute(g, order), py.permute(p, order)
    if how == "slice":
        starts = [1 if n > 2 else 0 for n in shape]
        steps = [2 if n > 3 else 1 for n in shape]
        stops = list(shape)
        return gl.slice(g, starts, stops, steps), py.slice(p, starts, stops, steps)
    return g, p


def check(name, a, b, tol=1e-4):
    global count
    count += 1
    if isinstance(a, tuple):
        for k, (x, y) in enumerate(zip(a, b)):
            check(f"{name}[{k}]", x, y, tol)
        return
    if gl.shape(a) != py.shape(b) or gl.dtype(a) != py.dtype(b):
        problems.append(f"{name}: {gl.shape(a)} {gl.dtype(a)} vs {py.shape(b)} {py.dtype(b)}")
        return
    x, y = gl.to_list(a), py.to_list(b)
    for u, v in zip(x, y):
        if u != u and v != v:
            continue
        if isinstance(v, float) and (math.isinf(v) or math.isinf(u)):
            if u != v:
                problems.append(f"{name}: {u} vs {v}")
                return
            continue
        if abs(u - v) > tol * (1 + abs(v)):
            problems.append(f"{name}: {u} vs {v}")
            return


for how in ("plain", "T", "slice"):
    base = (7, 6, 5)
    a = view(make(base), how)
    b = view(make(base), how)
    ap = view(make(base, "pos"), how)
    ai = view(make(base, "int"), how)
    bi = view(make(base, "int"), how)
    for op in UNARY_OPS:
        src = ap if op in ("log", "sqrt", "rsqrt") else a
        check(f"{how} unary {op}", gl.unary(op, src[0]), py.unary(op, src[1]))
        if op not in ("log", "sqrt", "rsqrt", "exp", "sigmoid", "tanh", "erf", "sin", "cos",
                      "reciprocal"):
            check(f"{how} unary int {op}", gl.unary(op, ai[0]), py.unary(op, ai[1]))
    for op in BINARY_OPS:
        y = ap if op == "pow" else b
        check(f"{how} binary {op}", gl.binary(op, a[0] if op != "pow" else ap[0], y[0]),
              py.binary(op, a[1] if op != "pow" else ap[1], y[1]))
        if op not in ("pow",):
            bz = (gl.binary("add", bi[0], gl.full((), 7, "int64")),
                  py.binary("add", bi[1], py.full((), 7, "int64")))  # no zeros
            check(f"{how} binary int {op}", gl.binary(op, ai[0], bz[0]),
                  py.binary(op, ai[1], bz[1]))
    # broadcasting against a (1, 1, k) row and a scalar
    k = gl.shape(a[0])[-1]
    r = make((1, 1, k))
    check(f"{how} bcast", gl.binary("mul", a[0], r[0]), py.binary("mul", a[1], r[1]))
    cond = (gl.binary("gt", a[0], b[0]), py.binary("gt", a[1], b[1]))
    check(f"{how} where", gl.where(cond[0], a[0], r[0]), py.where(cond[1], a[1], r[1]))
    for axes in ((0,), (1,), (2,), (0, 2), (0, 1, 2)):
        for op in ("sum", "prod", "max", "min"):
            for kd in (False, True):
                check(f"{how} reduce {op} {axes} {kd}", gl.reduce(op, a[0], axes, kd),
                      py.reduce(op, a[1], axes, kd))
    for ax in range(3):
        for op in ("argmax", "argmin"):
            check(f"{how} {op} {ax}", gl.argreduce(op, a[0], ax, False),
                  py.argreduce(op, a[1], ax, False))
    sh = gl.shape(a[0])
    st, sp, ss = [0, 1, 0], [sh[0], sh[1], sh[2]], [2, 1, 3]
    cnt = [len(range(x, y, z)) for x, y, z in zip(st, sp, ss)]
    src = make(tuple(cnt))
    check(f"{how} slice_assign", gl.slice_assign(a[0], st, sp, ss, src[0]),
          py.slice_assign(a[1], st, sp, ss, src[1]))
    check(f"{how} cat", gl.cat([a[0], b[0], a[0]], 1), py.cat([a[1], b[1], a[1]], 1))
    idx_vals = [rng.randrange(sh[1]) for _ in range(sh[0] * 3 * sh[2])]
    idx = (gl.from_list(idx_vals, (sh[0], 3, sh[2]), "int64"),
           py.from_list(idx_vals, (sh[0], 3, sh[2]), "int64"))
    check(f"{how} gather", gl.gather(a[0], 1, idx[0]), py.gather(a[1], 1, idx[1]))
    srcs = make((sh[0], 3, sh[2]))
    check(f"{how} scatter_add", gl.scatter_add(a[0], 1, idx[0], srcs[0]),
          py.scatter_add(a[1], 1, idx[1], srcs[1]))
    # matmul of views: (B, M, K) @ (B, K, N)
    m2 = view(make((sh[0], sh[2], 4)), "plain")
    check(f"{how} matmul", gl.matmul(a[0], m2[0]), py.matmul(a[1], m2[1]))
    mt = make((sh[0], 4, sh[2]))
    mtv = (gl.permute(mt[0], (0, 2, 1)), py.permute(mt[1], (0, 2, 1)))
    check(f"{how} matmul T", gl.matmul(a[0], mtv[0]), py.matmul(a[1], mtv[1]))

# conv and pooling on views (NCHW from a permuted NHWC buffer)
for groups, stride, pad, dil in ((1, 1, 1, 1), (2, 2, 0, 1), (1, 2, 2, 2), (4, 1, 1, 1)):
    xh = make((2, 9, 8, 4))
    x = (gl.permute(xh[0], (0, 3, 1, 2)), py.permute(xh[1], (0, 3, 1, 2)))
    w = make((4, 4 // groups, 3, 3))
    args = ((stride, stride), (pad, pad), (dil, dil), groups)
    y = (gl.conv2d(x[0], w[0], *args), py.conv2d(x[1], w[1], *args))
    check(f"conv2d {args}", *y)
    gy = make(gl.shape(y[0]))
    check(f"conv2d_gi {args}", gl.conv2d_grad_input(gy[0], w[0], (2, 4, 9, 8), *args),
          py.conv2d_grad_input(gy[1], w[1], (2, 4, 9, 8), *args))
    check(f"conv2d_gw {args}", gl.conv2d_grad_weight(x[0], gy[0], (4, 4 // groups, 3, 3), *args),
          py.conv2d_grad_weight(x[1], gy[1], (4, 4 // groups, 3, 3), *args))
for k, s, p, d, cm in ((2, 2, 0, 1, False), (3, 2, 1, 1, True), (3, 1, 1, 2, False)):
    xh = make((2, 9, 8, 3))
    x = (gl.permute(xh[0], (0, 3, 1, 2)), py.permute(xh[1], (0, 3, 1, 2)))
    yg, yp = gl.max_pool2d(x[0], k, s, p, d, cm), py.max_pool2d(x[1], k, s, p, d, cm)
    check(f"maxpool {k} {s} {p} {d} {cm}", yg, yp)
    gy = make(gl.shape(yg[0]))
    check("maxpool grad", gl.max_pool2d_grad(gy[0], yg[1], (2, 3, 9, 8)),
          py.max_pool2d_grad(gy[1], yp[1], (2, 3, 9, 8)))
    for cip in (True, False):
        ag = gl.avg_pool2d(x[0], k, s, p, cm, cip)
        check(f"avgpool {k} {s} {p} {cm} {cip}", ag, py.avg_pool2d(x[1], k, s, p, cm, cip))
        gy = make(gl.shape(ag))
        check(f"avgpool grad {k} {s} {p} {cm} {cip}",
              gl.avg_pool2d_grad(gy[0], (2, 3, 9, 8), k, s, p, cm, cip),
              py.avg_pool2d_grad(gy[1], (2, 3, 9, 8), k, s, p, cm, cip))
# bool arithmetic stays 0/1 (torch: bool + bool is a logical or)
bv = [rng.random() < 0.5 for _ in range(12)]
bb = (gl.from_list(bv, (3, 4), "bool"), py.from_list(bv, (3, 4), "bool"))
for op in ("add", "mul", "maximum", "minimum"):
    r = (gl.binary(op, bb[0], bb[0]), py.binary(op, bb[1], bb[1]))
    check(f"bool {op}", r[0], r[1])
    check(f"bool {op} as float", gl.cast(r[0], "float32"), py.cast(r[1], "float32"))
for op in ("neg", "abs"):
    r = (gl.unary(op, bb[0]), py.unary(op, bb[1]))
    check(f"bool {op} as float", gl.cast(r[0], "float32"), py.cast(r[1], "float32"))
{"checks": count, "problems": problems}
