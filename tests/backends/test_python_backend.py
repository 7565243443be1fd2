"""The pure-Python backend checked method by method against torch (and numpy)."""
import math
import random as pyrandom
import struct
from array import array

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from distml import random as drandom
from distml.backends.base import BINARY_OPS, COMPOSED_OPS, UNARY_OPS, Backend
from distml.backends.python import PyBuffer, PythonBackend, backend

B = backend
NAN = float("nan")
INF = float("inf")
TORCH_DT = {"float32": torch.float32, "int64": torch.int64, "bool": torch.bool}


# -- helpers ------------------------------------------------------------------------------------
def buf(t):
    """PyBuffer from a torch tensor."""
    dt = {torch.float32: "float32", torch.int64: "int64", torch.bool: "bool"}[t.dtype]
    return B.from_list(t.reshape(-1).tolist(), tuple(t.shape), dt)


def tt(b):
    """torch tensor from a PyBuffer."""
    return torch.tensor(B.to_list(b), dtype=TORCH_DT[B.dtype(b)]).reshape(B.shape(b))


def check(b, expected, rtol=1e-5, atol=1e-6):
    assert isinstance(b, PyBuffer)
    got = tt(b)
    assert tuple(got.shape) == tuple(expected.shape), (got.shape, expected.shape)
    assert got.dtype == expected.dtype, (got.dtype, expected.dtype)
    if expected.dtype == torch.float32:
        torch.testing.assert_close(got, expected, rtol=rtol, atol=atol, equal_nan=True)
    else:
        assert torch.equal(got, expected), (got, expected)


def randn(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(tuple(shape), generator=g)


def randint(lo, hi, *shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(lo, hi, shape, generator=g)


SPECIAL = torch.tensor([0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1.5, 2.5, -2.5, 3.7, -3.7, 1e-30,
                        50.0, -50.0, 100.0, -100.0, 1e30, -1e30, INF, -INF, NAN, 88.0, 89.0])


# -- buffers, transfer, creation ---------------------------------------------------------------
def test_interface_complete():
    # Backend is an ABC: every abstract primitive is implemented, the rest is composed
    assert Backend.__abstractmethods__ and not PythonBackend.__abstractmethods__
    assert PythonBackend.overrides <= set(COMPOSED_OPS)
    assert PythonBackend.host_resident and not PythonBackend.host_arrays
    assert PythonBackend.name == "python"
    assert isinstance(backend, PythonBackend)


def test_package_imports_only_stdlib():
    # every file of the pure-Python backend imports only the standard library, distml's
    # numpy-free floors and its own package's modules (it must run in Pyodide without numpy)
    import ast
    import pathlib

    import distml.backends.python as pkg
    files = sorted(pathlib.Path(pkg.__file__).parent.glob("*.py"))
    own = {f.stem for f in files}
    # with the host-value conversions it shares with the webgl backend
    files.append(pathlib.Path(pkg.__file__).parent.parent / "hostvalues.py")
    assert {"__init__", "backend"} <= own
    for f in files:
        roots = set()
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.Import):
                roots.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level:
                assert node.level == 1 and (node.module or "").split(".")[0] in own, f
            elif isinstance(node, ast.ImportFrom):
                roots.add((node.module or "").split(".")[0])
        assert roots <= {"array", "math", "operator", "sys", "itertools", "struct",
                         "distml"}, (f.name, roots)


@pytest.mark.parametrize("dtype,values", [
    ("float32", [1.5, -2.25, 0.1, 3.0]),
    ("int64", [1, -2, 2 ** 62, -(2 ** 63)]),
    ("bool", [True, False, True, True]),
])
def test_list_and_bytes_roundtrip(dtype, values):
    b = B.from_list(values, (2, 2), dtype)
    assert B.shape(b) == (2, 2) and B.dtype(b) == dtype
    ref = np.array(values, dtype={"float32": np.float32, "int64": np.int64,
                                  "bool": np.bool_}[dtype])
    assert B.to_list(b) == ref.tolist()
    raw = B.to_bytes(b)
    assert raw == ref.astype(ref.dtype.newbyteorder("<")).tobytes()
    b2 = B.from_bytes(raw, (4,), dtype)
    assert B.to_list(b2) == ref.tolist() and B.shape(b2) == (4,)
    # from an array.array, and a 0-d buffer
    b3 = B.from_list(array(b.data.typecode, b.data), (4,), dtype)
    assert B.to_list(b3) == ref.tolist()
    s = B.from_list([values[0]], (), dtype)
    assert B.shape(s) == () and B.to_list(s) == [ref.tolist()[0]]


def test_from_list_rounds_to_float32_and_checks_size():
    b = B.from_list([0.1, 1 / 3, 7], (3,), "float32")
    assert B.to_list(b) == np.array([0.1, 1 / 3, 7], np.float32).tolist()
    b = B.from_list([1.0, 2.0], (2,), "int64")
    assert B.to_list(b) == [1, 2]
    with pytest.raises(ValueError):
        B.from_list([1.0, 2.0], (3,), "float32")
    assert struct.unpack("<2f", B.to_bytes(B.from_list([1.0, -2.0], (2,), "float32"))) == (
        1.0, -2.0)


def test_full():
    check(B.full((2, 3), 1.5, "float32"), torch.full((2, 3), 1.5))
    check(B.full((), 7, "int64"), torch.tensor(7))
    check(B.full((0, 3), 1, "int64"), torch.zeros((0, 3), dtype=torch.int64))
    check(B.full((4,), True, "bool"), torch.ones(4, dtype=torch.bool))


@pytest.mark.parametrize("args,dtype", [
    ((0, 5, 1), "int64"), ((5, 0, -2), "int64"), ((-3, 4, 3), "int64"), ((0, 0, 1), "int64"),
    ((0.0, 1.0, 0.1), "float32"), ((1.0, -1.0, -0.3), "float32"), ((0, 7, 2), "float32"),
])
def test_arange(args, dtype):
    check(B.arange(*args, dtype), torch.arange(*args, dtype=TORCH_DT[dtype]))


@pytest.mark.parametrize("kind", ["uniform", "normal"])
@pytest.mark.parametrize("seed,offset", [(0, 0), (12345, 17), (2 ** 40 + 3, 2 ** 32 - 5)])
def test_random_matches_reference(kind, seed, offset):
    fn = drandom.uniform_at if kind == "uniform" else drandom.normal_at
    b = B.random((3, 4), kind, seed, offset)
    assert B.shape(b) == (3, 4) and B.dtype(b) == "float32"
    ref = array("f", [fn(seed, offset + i) for i in range(12)]).tolist()
    assert B.to_list(b) == ref
    if kind == "uniform":
        assert all(0.0 <= v < 1.0 for v in ref)


def test_cast():
    x = torch.tensor([[-2.7, -0.5, 0.0], [0.4, 3.9, 1e10]])
    check(B.cast(buf(x), "int64"), x.to(torch.int64))
    check(B.cast(buf(x), "bool"), x.to(torch.bool))
    special = torch.tensor([NAN, INF, -INF, 1e20])
    check(B.cast(buf(special), "int64"), special.to(torch.int64))
    check(B.cast(buf(special), "bool"), special.to(torch.bool))
    i = torch.tensor([-3, 0, 5, 2 ** 40])
    check(B.cast(buf(i), "float32"), i.to(torch.float32))
    check(B.cast(buf(i), "bool"), i.to(torch.bool))
    bl = torch.tensor([True, False])
    check(B.cast(buf(bl), "float32"), bl.to(torch.float32))
    check(B.cast(buf(bl), "int64"), bl.to(torch.int64))
    check(B.cast(buf(x), "float32"), x)


# -- elementwise --------------------------------------------------------------------------------
TORCH_UNARY = {
    "neg": torch.neg, "exp": torch.exp, "log": torch.log, "sqrt": torch.sqrt,
    "rsqrt": torch.rsqrt, "abs": torch.abs, "sign": torch.sign, "relu": torch.relu,
    "sigmoid": torch.sigmoid, "tanh": torch.tanh, "erf": torch.erf, "sin": torch.sin,
    "cos": torch.cos, "reciprocal": torch.reciprocal, "floor": torch.floor, "ceil": torch.ceil,
    "round": torch.round, "logical_not": torch.logical_not,
}


@pytest.mark.parametrize("op", UNARY_OPS)
def test_unary_float(op):
    x = randn(2, 3, 5) * 3
    check(B.unary(op, buf(x)), TORCH_UNARY[op](x))
    check(B.unary(op, buf(SPECIAL)), TORCH_UNARY[op](SPECIAL))
    s = torch.tensor(0.75)
    check(B.unary(op, buf(s)), TORCH_UNARY[op](s))


@pytest.mark.parametrize("op", ["neg", "abs", "sign", "relu", "floor", "ceil", "round",
                                "logical_not", "exp", "sqrt", "reciprocal", "sigmoid"])
def test_unary_int(op):
    x = torch.tensor([[-3, 0, 2], [7, -1, 4]])
    check(B.unary(op, buf(x)), TORCH_UNARY[op](x))


TORCH_BINARY = {
    "add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div, "pow": torch.pow,
    "maximum": torch.maximum, "minimum": torch.minimum, "floordiv": torch.floor_divide,
    "mod": torch.remainder, "lt": torch.lt, "le": torch.le, "gt": torch.gt, "ge": torch.ge,
    "eq": torch.eq, "ne": torch.ne, "logical_and": torch.logical_and,
    "logical_or": torch.logical_or,
}
BCAST_PAIRS = [((1,), (1,)), ((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 3, 5), (3, 1)),
               ((3, 1), (1, 4)), ((), (2, 3)), ((2, 1, 5), (2, 3, 1)), ((5,), ())]


@pytest.mark.parametrize("op", BINARY_OPS)
@pytest.mark.parametrize("sa,sb", BCAST_PAIRS)
def test_binary_float(op, sa, sb):
    a = randn(*sa, seed=1) * 3
    b = randn(*sb, seed=2) * 3
    if op == "pow":
        a = a.abs() + 0.1
    if op in ("eq", "ne", "le", "ge"):
        b = torch.where(randn(*sb, seed=3) > 0, b, b.round())
        a = a.round()
    check(B.binary(op, buf(a), buf(b)), TORCH_BINARY[op](a, b))


@pytest.mark.parametrize("op", BINARY_OPS)
def test_binary_float_special(op):
    vals = [0.0, -0.0, 1.0, -1.0, 2.5, -3.0, INF, -INF, NAN, 1e30]
    a = torch.tensor([v for v in vals for _ in vals])
    b = torch.tensor([w for _ in vals for w in vals])
    check(B.binary(op, buf(a), buf(b)), TORCH_BINARY[op](a, b))


def test_pow_special():
    a = torch.tensor([-8.0, 0.0, -0.0, -2.0, 2.0, -2.0, 0.0, 10.0, -10.0, 1.0, NAN, 3.0])
    b = torch.tensor([1 / 3, -1.0, -1.0, 3.0, 200.0, 201.0, 0.0, -50.0, 2.0, NAN, 0.0, 0.5])
    check(B.binary("pow", buf(a), buf(b)), torch.pow(a, b))


@pytest.mark.parametrize("op", BINARY_OPS)
@pytest.mark.parametrize("sa,sb", [((3, 4), (4,)), ((2, 3, 1), (3, 5))])
def test_binary_int(op, sa, sb):
    a = randint(-9, 10, *sa, seed=4)
    b = randint(-9, 10, *sb, seed=5)
    if op in ("floordiv", "mod", "div"):
        b = torch.where(b == 0, torch.ones_like(b) * 3, b)
    if op == "pow":
        b = b.abs() % 5
    check(B.binary(op, buf(a), buf(b)), TORCH_BINARY[op](a, b))


def test_int_div_by_zero_and_overflow():
    a = torch.tensor([5, -5, 0])
    z = torch.zeros(3, dtype=torch.int64)
    check(B.binary("div", buf(a), buf(z)), a / z)
    big = torch.tensor([2 ** 62, -(2 ** 63)])
    check(B.binary("add", buf(big), buf(big)), big + big)
    check(B.binary("mul", buf(big), buf(torch.tensor([3, 1]))), big * torch.tensor([3, 1]))
    check(B.binary("pow", buf(torch.tensor([3])), buf(torch.tensor([50]))),
          torch.pow(torch.tensor([3]), torch.tensor([50])))
    with pytest.raises(ZeroDivisionError):
        B.binary("floordiv", buf(a), buf(z))


def test_bool_binary():
    a = torch.tensor([True, False, True, False])
    b = torch.tensor([True, True, False, False])
    for op in ("logical_and", "logical_or", "eq", "ne", "lt", "ge"):
        check(B.binary(op, buf(a), buf(b)), TORCH_BINARY[op](a, b))
    for op in ("add", "mul", "maximum", "minimum"):
        check(B.binary(op, buf(a), buf(b)), TORCH_BINARY[op](a, b))


def test_comparison_mixed_dtypes():
    a = torch.tensor([1.5, 2.0, -1.0])
    b = torch.tensor([1, 2, 3])
    for op in ("lt", "le", "gt", "ge", "eq", "ne"):
        check(B.binary(op, buf(a), buf(b)), TORCH_BINARY[op](a, b))


@pytest.mark.parametrize("sc,sx,sy", [((3, 4), (3, 4), (3, 4)), ((3, 1), (4,), ()),
                                      ((2, 1, 5), (3, 1), (2, 3, 5))])
def test_where(sc, sx, sy):
    c = randn(*sc, seed=7) > 0
    x = randn(*sx, seed=8)
    y = randn(*sy, seed=9)
    check(B.where(buf(c), buf(x), buf(y)), torch.where(c, x, y))
    xi, yi = randint(0, 9, *sx, seed=1), randint(0, 9, *sy, seed=2)
    check(B.where(buf(c), buf(xi), buf(yi)), torch.where(c, xi, yi))


# -- reductions ---------------------------------------------------------------------------------
AXES = [((3, 4), (0,)), ((3, 4), (1,)), ((3, 4), (0, 1)), ((2, 3, 5), (1,)),
        ((2, 3, 5), (0, 2)), ((2, 3, 5), (0, 1, 2)), ((2, 3, 5), (2,)), ((1,), (0,)),
        ((4, 1, 3), (1,))]
TORCH_REDUCE = {
    "sum": lambda t, a, k: t.sum(dim=a, keepdim=k),
    "max": lambda t, a, k: t.amax(dim=a, keepdim=k),
    "min": lambda t, a, k: t.amin(dim=a, keepdim=k),
    "prod": lambda t, a, k: t.prod(dim=a[0], keepdim=k) if len(a) == 1 else
    t.reshape(-1).prod() if len(a) == t.ndim and not k else None,
}


def torch_reduce(op, t, axes, keepdim):
    if op != "prod":
        return TORCH_REDUCE[op](t, axes, keepdim)
    out = t
    for a in sorted(axes, reverse=True):
        out = out.prod(dim=a, keepdim=keepdim)
    return out


@pytest.mark.parametrize("op", ["sum", "max", "min", "prod"])
@pytest.mark.parametrize("shape,axes", AXES)
@pytest.mark.parametrize("keepdim", [False, True])
def test_reduce(op, shape, axes, keepdim):
    x = randn(*shape, seed=11) + (1.0 if op == "prod" else 0.0)
    check(B.reduce(op, buf(x), axes, keepdim), torch_reduce(op, x, axes, keepdim))
    xi = randint(-5, 6, *shape, seed=12)
    check(B.reduce(op, buf(xi), axes, keepdim), torch_reduce(op, xi, axes, keepdim))


def test_reduce_nan_and_identity():
    x = torch.tensor([[1.0, NAN, 3.0], [4.0, 5.0, -INF], [INF, -INF, 2.0]])
    for op in ("max", "min", "sum"):
        for axes in ((0,), (1,), (0, 1)):
            check(B.reduce(op, buf(x), axes, False), torch_reduce(op, x, axes, False))
    b = buf(x)
    check(B.reduce("sum", b, (), False), x)
    bl = torch.tensor([[True, False], [True, True]])
    check(B.reduce("sum", buf(bl), (0,), False), bl.sum(0))
    check(B.reduce("max", buf(bl), (1,), False), bl.amax(1))
    big = torch.tensor([2 ** 62, 2 ** 62, 2 ** 62])
    check(B.reduce("sum", buf(big), (0,), False), big.sum(0))


@pytest.mark.parametrize("op", ["argmax", "argmin"])
@pytest.mark.parametrize("keepdim", [False, True])
def test_argreduce(op, keepdim):
    fn = torch.argmax if op == "argmax" else torch.argmin
    x = randn(2, 3, 5, seed=13).round()  # rounding creates ties
    for axis in range(3):
        check(B.argreduce(op, buf(x), axis, keepdim), fn(x, dim=axis, keepdim=keepdim))
    xi = randint(0, 3, 4, 6, seed=14)
    for axis in range(2):
        check(B.argreduce(op, buf(xi), axis, keepdim), fn(xi, dim=axis, keepdim=keepdim))
    xn = torch.tensor([[1.0, NAN, 3.0, NAN], [2.0, 2.0, -1.0, -1.0]])
    check(B.argreduce(op, buf(xn), 1, keepdim), fn(xn, dim=1, keepdim=keepdim))


# -- movement -----------------------------------------------------------------------------------
def test_reshape_permute_expand():
    x = randn(2, 3, 5, seed=15)
    check(B.reshape(buf(x), (5, 6)), x.reshape(5, 6))
    check(B.reshape(buf(x), (30,)), x.reshape(30))
    for order in [(0, 1, 2), (2, 1, 0), (1, 0, 2), (0, 2, 1), (2, 0, 1), (1, 2, 0)]:
        check(B.permute(buf(x), order), x.permute(*order).contiguous())
    y = randn(3, 2, seed=16)
    check(B.permute(buf(y), (1, 0)), y.t().contiguous())
    w = randn(3, 1, 2, 1, seed=17)
    check(B.expand(buf(w), (3, 4, 2, 5)), w.expand(3, 4, 2, 5).contiguous())
    check(B.expand(buf(torch.tensor([2.0])), (3,)), torch.full((3,), 2.0))
    check(B.expand(buf(torch.tensor([[1], [2]])), (2, 7)), torch.tensor([[1], [2]]).expand(2, 7))
    big = randn(2, 1, 6, seed=18)
    check(B.expand(buf(big), (2, 9, 6)), big.expand(2, 9, 6).contiguous())


def test_slice_and_slice_assign():
    x = randn(5, 6, 7, seed=19)
    cases = [((0, 0, 0), (5, 6, 7), (1, 1, 1)), ((1, 2, 3), (4, 6, 7), (2, 1, 3)),
             ((0, 1, 0), (5, 5, 7), (1, 2, 1)), ((4, 0, 6), (5, 6, 7), (1, 5, 1)),
             ((2, 3, 0), (2, 6, 7), (1, 1, 1))]
    for starts, stops, steps in cases:
        sl = tuple(slice(a, b, c) for a, b, c in zip(starts, stops, steps))
        ref = x[sl]
        check(B.slice(buf(x), starts, stops, steps), ref.contiguous())
        src = randn(*ref.shape, seed=20)
        expected = x.clone()
        expected[sl] = src
        check(B.slice_assign(buf(x), starts, stops, steps, buf(src)), expected)
    xi = randint(0, 9, 4, 4, seed=21)
    check(B.slice(buf(xi), (1, 0), (4, 4), (2, 3)), xi[1:4:2, 0:4:3].contiguous())
    src = torch.tensor([[-1, -2], [-3, -4]])
    expected = xi.clone()
    expected[1:4:2, 0:4:3] = src
    check(B.slice_assign(buf(xi), (1, 0), (4, 4), (2, 3), buf(src)), expected)
    orig = B.to_list(buf(xi))
    b = buf(xi)
    B.slice_assign(b, (1, 0), (4, 4), (2, 3), buf(src))
    assert B.to_list(b) == orig  # input not mutated


def test_cat():
    a, b, c = randn(2, 3, 4, seed=1), randn(2, 1, 4, seed=2), randn(2, 5, 4, seed=3)
    check(B.cat([buf(a), buf(b), buf(c)], 1), torch.cat([a, b, c], 1))
    check(B.cat([buf(a), buf(a)], 0), torch.cat([a, a], 0))
    check(B.cat([buf(a), buf(randn(2, 3, 2))], 2), torch.cat([a, randn(2, 3, 2)], 2))
    i1, i2 = randint(0, 5, 3, seed=1), randint(0, 5, 2, seed=2)
    check(B.cat([buf(i1), buf(i2)], 0), torch.cat([i1, i2]))


# -- indexing -----------------------------------------------------------------------------------
@pytest.mark.parametrize("axis", [0, 1, 2])
def test_gather_scatter_add(axis):
    x = randn(3, 4, 5, seed=22)
    ishape = [2, 3, 4]
    ishape[axis] = 6
    idx = randint(0, x.shape[axis], *ishape, seed=23)
    check(B.gather(buf(x), axis, buf(idx)), torch.gather(x, axis, idx))
    src = randn(*ishape, seed=24)
    check(B.scatter_add(buf(x), axis, buf(idx), buf(src)), x.scatter_add(axis, idx, src))
    # src larger than index (torch only reads the index's extent)
    big = randn(*[n + 1 for n in ishape], seed=25)
    check(B.scatter_add(buf(x), axis, buf(idx), buf(big)), x.scatter_add(axis, idx, big))
    xi = randint(0, 50, 3, 4, 5, seed=26)
    check(B.gather(buf(xi), axis, buf(idx)), torch.gather(xi, axis, idx))
    with pytest.raises(IndexError):
        B.gather(buf(x), axis, buf(idx + 10))


def test_gather_class_picking():
    logits = randn(4, 10, seed=27)
    labels = torch.tensor([[3], [0], [9], [3]])
    check(B.gather(buf(logits), 1, buf(labels)), logits.gather(1, labels))
    g = torch.ones(4, 1)
    check(B.scatter_add(buf(torch.zeros(4, 10)), 1, buf(labels), buf(g)),
          torch.zeros(4, 10).scatter_add(1, labels, g))


# -- linear algebra -----------------------------------------------------------------------------
@pytest.mark.parametrize("sa,sb", [((3, 4), (4, 5)), ((1, 1), (1, 1)), ((2, 3, 7), (2, 7, 2)),
                                   ((2, 2, 3, 4), (2, 2, 4, 6)), ((5, 1), (1, 3)),
                                   ((3, 0), (0, 2))])
def test_matmul(sa, sb):
    a, b = randn(*sa, seed=28), randn(*sb, seed=29)
    check(B.matmul(buf(a), buf(b)), a @ b, rtol=1e-5, atol=1e-5)
    ai, bi = randint(-4, 5, *sa, seed=30), randint(-4, 5, *sb, seed=31)
    check(B.matmul(buf(ai), buf(bi)), ai @ bi)


CONV_CASES = [
    # x shape, w shape, stride, padding, dilation, groups
    ((2, 3, 7, 6), (4, 3, 3, 3), (1, 1), (0, 0), (1, 1), 1),
    ((2, 3, 7, 6), (4, 3, 3, 3), (2, 2), (1, 1), (1, 1), 1),
    ((1, 4, 9, 8), (6, 2, 3, 2), (2, 1), (1, 2), (2, 1), 2),
    ((2, 4, 8, 9), (4, 1, 3, 3), (1, 2), (2, 1), (2, 2), 4),
    ((1, 2, 5, 5), (3, 2, 1, 1), (1, 1), (0, 0), (1, 1), 1),
    ((3, 2, 6, 7), (2, 2, 5, 4), (3, 2), (0, 1), (1, 1), 1),
    ((1, 6, 7, 7), (4, 3, 3, 3), (2, 2), (1, 1), (2, 2), 2),
]


@pytest.mark.parametrize("xs,ws,stride,padding,dilation,groups", CONV_CASES)
def test_conv2d_and_grads(xs, ws, stride, padding, dilation, groups):
    x = randn(*xs, seed=32).requires_grad_()
    w = randn(*ws, seed=33).requires_grad_()
    y = F.conv2d(x, w, None, stride, padding, dilation, groups)
    gy = randn(*y.shape, seed=34)
    y.backward(gy)
    xb, wb = buf(x.detach()), buf(w.detach())
    check(B.conv2d(xb, wb, stride, padding, dilation, groups), y.detach(), atol=1e-5)
    check(B.conv2d_grad_input(buf(gy), wb, xs, stride, padding, dilation, groups), x.grad,
          atol=1e-5)
    check(B.conv2d_grad_weight(xb, buf(gy), ws, stride, padding, dilation, groups), w.grad,
          atol=1e-4)


POOL_CASES = [
    # x shape, kernel, stride, padding, dilation, ceil_mode
    ((2, 3, 6, 6), (2, 2), (2, 2), (0, 0), (1, 1), False),
    ((1, 2, 7, 5), (3, 3), (2, 2), (1, 1), (1, 1), False),
    ((1, 2, 7, 5), (3, 3), (2, 2), (1, 1), (1, 1), True),
    ((2, 1, 8, 9), (2, 3), (2, 3), (0, 1), (1, 1), True),
    ((1, 2, 9, 9), (3, 2), (2, 2), (1, 1), (2, 2), True),
    ((1, 1, 5, 5), (2, 2), (3, 3), (1, 1), (1, 1), True),
    ((3, 6, 6), (3, 3), (1, 1), (1, 0), (1, 1), False),
]


@pytest.mark.parametrize("xs,kernel,stride,padding,dilation,ceil_mode", POOL_CASES)
def test_max_pool2d(xs, kernel, stride, padding, dilation, ceil_mode):
    x = randn(*xs, seed=35).round()  # ties: the first index wins
    xr = x.clone().requires_grad_()
    y, idx = F.max_pool2d(xr, kernel, stride, padding, dilation, ceil_mode, return_indices=True)
    gy = randn(*y.shape, seed=36)
    y.backward(gy)
    yb, ib = B.max_pool2d(buf(x), kernel, stride, padding, dilation, ceil_mode)
    check(yb, y.detach())
    check(ib, idx)
    check(B.max_pool2d_grad(buf(gy), ib, xs), xr.grad)


def test_max_pool2d_nan_and_neg_inf():
    x = torch.tensor([[[[-INF, -INF, 1.0, 2.0],
                        [-INF, -INF, NAN, 0.0],
                        [3.0, NAN, NAN, 4.0],
                        [-INF, 5.0, 6.0, -INF]]]])
    for kernel, stride, padding, ceil_mode in [(2, 2, 0, False), (3, 2, 1, True),
                                               (2, 1, 1, False)]:
        y, idx = F.max_pool2d(x, kernel, stride, padding, 1, ceil_mode, return_indices=True)
        yb, ib = B.max_pool2d(buf(x), (kernel,) * 2, (stride,) * 2, (padding,) * 2, (1, 1),
                              ceil_mode)
        check(yb, y)
        check(ib, idx)


AVG_CASES = [
    # x shape, kernel, stride, padding, ceil_mode, count_include_pad
    ((2, 3, 6, 6), (2, 2), (2, 2), (0, 0), False, True),
    ((1, 2, 7, 5), (3, 3), (2, 2), (1, 1), False, True),
    ((1, 2, 7, 5), (3, 3), (2, 2), (1, 1), False, False),
    ((1, 2, 7, 5), (3, 3), (2, 2), (1, 1), True, True),
    ((1, 2, 7, 5), (3, 3), (2, 2), (1, 1), True, False),
    ((2, 1, 8, 9), (2, 3), (2, 3), (0, 1), True, True),
    ((2, 1, 8, 9), (2, 3), (2, 3), (0, 1), True, False),
    ((1, 1, 5, 5), (2, 2), (3, 3), (1, 1), True, True),
    ((1, 1, 6, 6), (4, 4), (3, 3), (2, 2), True, True),
    ((1, 1, 6, 6), (4, 4), (3, 3), (2, 2), True, False),
    ((3, 6, 6), (3, 3), (1, 1), (1, 0), False, True),
]


@pytest.mark.parametrize("xs,kernel,stride,padding,ceil_mode,cip", AVG_CASES)
def test_avg_pool2d(xs, kernel, stride, padding, ceil_mode, cip):
    x = randn(*xs, seed=37).requires_grad_()
    y = F.avg_pool2d(x, kernel, stride, padding, ceil_mode, cip)
    gy = randn(*y.shape, seed=38)
    y.backward(gy)
    check(B.avg_pool2d(buf(x.detach()), kernel, stride, padding, ceil_mode, cip), y.detach())
    check(B.avg_pool2d_grad(buf(gy), xs, kernel, stride, padding, ceil_mode, cip), x.grad)


# -- misc ---------------------------------------------------------------------------------------
def test_buffers_not_mutated():
    rng = pyrandom.Random(0)
    vals = [rng.uniform(-1, 1) for _ in range(12)]
    x = B.from_list(vals, (3, 4), "float32")
    before = B.to_list(x)
    B.reshape(x, (4, 3))
    B.unary("exp", x)
    B.binary("add", x, x)
    B.reduce("sum", x, (0,), False)
    B.scatter_add(x, 0, B.full((1, 4), 0, "int64"), B.full((1, 4), 1.0, "float32"))
    B.slice_assign(x, (0, 0), (1, 4), (1, 1), B.full((1, 4), 5.0, "float32"))
    assert B.to_list(x) == before
    assert math.isclose(B.to_list(B.reduce("sum", x, (0, 1), False))[0], sum(before),
                        rel_tol=1e-5)
