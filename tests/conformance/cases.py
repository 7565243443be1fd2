"""The op conformance cases: pure data plus callables written against the torch API.

Nothing here imports torch, numpy or distml: every `fn(lib, *inputs)` receives the library
(`torch` or `distml`) and the input tensors built by runner.py, so the same file runs on the
host (reference: torch) and in the browser under Pyodide (distml on "webgl").

A case is
- `id`: unique, stable (reference files are keyed by it);
- `inputs`: `Input` specs, each a shape (or `sz(small, full)`: one shape per backend profile,
  "small" for the pure-Python backend, "full" for numpy/webgl), a dtype ("float32", "int64",
  "bool"), requires_grad (default: True for float32) and a value domain (see DOMAINS), or
  fixed literal `values` (edge cases: ties, NaN, inf, zeros);
- `fn(lib, *tensors)`: returns a tensor, a Python scalar/list, or a (nested) tuple/list of
  those;
- `rtol`/`atol`: float tolerance (default 1e-5/1e-6; looser only where the comment says why);
- `needs`: optional features ("nn.functional"), the runner skips the case with a reason when
  the library under test lacks them;
- `grad`: False to skip the backward pass.

Zero-size inputs cannot be described by nested lists alone: give `values=[]` and reshape
inside `fn`.
"""
import math

INF = math.inf
NAN = math.nan

# value domains for generated inputs (see runner.make_inputs)
DOMAINS = {
    "any": "uniform in [-2, 2]",
    "positive": "uniform in [0.1, 3]",
    "unit": "uniform in [-0.95, 0.95]",
    "nonzero": "+-uniform in [0.5, 2]",
    "prob": "uniform in [0.05, 0.95]",
    "int<a,b>": "integers a..b inclusive",
    "index<N>": "integers 0..N-1 (index tensors)",
    "sindex<N>": "integers -N..N-1 (index tensors with negative entries)",
    "bool": "True/False",
}

# Tolerances. Default: what torch's own float32 kernels meet against each other.
DEFAULT_RTOL, DEFAULT_ATOL = 1e-5, 1e-6
# float32 dot products / convolutions accumulate K products in a different order than
# torch's BLAS / oneDNN (blocked, FMA): error grows ~ sqrt(K) * eps * |terms|
MATMUL_TOL = {"rtol": 1e-4, "atol": 1e-5}
# conv weight gradients sum N*OH*OW (~1000) products: torch's own float32 result is ~2e-5
# away from float64 there (conv2d_padding_same), so the absolute tolerance is wider
CONV_TOL = {"rtol": 1e-4, "atol": 1e-4}
# sums over thousands of float32 values in different orders (pairwise vs blocked SIMD)
REDUCE_TOL = {"rtol": 1e-4, "atol": 1e-5}
# a chain of transcendental ops / reductions (norms, losses, batch statistics) compounds
# a few ulps per step
CHAIN_TOL = {"rtol": 1e-4, "atol": 1e-5}


def sz(small, full):
    """A per-profile value: `small` for the pure-Python backend, `full` for numpy/webgl."""
    return {"small": small, "full": full}


def resolve(value, profile):
    if isinstance(value, dict) and set(value) == {"small", "full"}:
        return value[profile]
    return value


class Input:
    __slots__ = ("shape", "dtype", "requires_grad", "domain", "values")

    def __init__(self, shape=(), dtype="float32", requires_grad=None, domain="any",
                 values=None):
        if dtype not in ("float32", "int64", "bool"):
            raise ValueError(f"unsupported dtype {dtype!r}")
        self.shape = shape
        self.dtype = dtype
        self.requires_grad = (dtype == "float32") if requires_grad is None else requires_grad
        self.domain = "bool" if dtype == "bool" and domain == "any" else domain
        self.values = values

    def __repr__(self):
        if self.values is not None:
            return f"Input(values={self.values!r}, dtype={self.dtype!r})"
        return (f"Input({self.shape!r}, {self.dtype!r}, requires_grad={self.requires_grad}, "
                f"domain={self.domain!r})")


class Case:
    __slots__ = ("id", "fn", "inputs", "rtol", "atol", "needs", "grad", "skip", "note")

    def __init__(self, id, fn, inputs=(), rtol=DEFAULT_RTOL, atol=DEFAULT_ATOL, needs=(),
                 grad=True, skip=None, note=""):
        self.id = id
        self.fn = fn
        self.inputs = tuple(inputs)
        self.rtol = rtol
        self.atol = atol
        self.needs = tuple(needs)
        self.grad = grad
        self.skip = skip  # a reason string: a known design difference, not run against distml
        self.note = note

    def __repr__(self):
        return f"Case({self.id!r})"


CASES = []


def add(id, fn, *inputs, **kw):
    CASES.append(Case(id, fn, inputs, **kw))


# -- input shorthands ----------------------------------------------------------------------

def f(shape, domain="any", grad=True):
    """float32 input."""
    return Input(shape, "float32", grad, domain)


def i(shape, domain):
    """int64 input (values or indices, see DOMAINS)."""
    return Input(shape, "int64", False, domain)


def b(shape):
    return Input(shape, "bool", False, "bool")


def lit(values, dtype="float32", grad=None):
    """Fixed literal values (nested lists; may hold NaN/inf)."""
    return Input(None, dtype, grad, None, values)


def nnf(lib):
    return lib.nn.functional


NN = {"needs": ("nn.functional",)}

# common shapes: odd sizes (1, 3, 127) in the full profile, tiny ones for pure Python
M2 = sz((3, 5), (31, 127))          # a matrix
ROW = sz((5,), (127,))              # broadcasts against M2's rows
COL = sz((3, 1), (31, 1))           # broadcasts against M2's columns
T3 = sz((2, 3, 4), (4, 7, 33))      # a 3-D tensor
V1 = sz((5,), (127,))

# ==========================================================================================
# creation
# ==========================================================================================
add("tensor_float", lambda lib: lib.tensor([[1.5, -2.0], [3.0, 4.25]]))
add("tensor_int", lambda lib: lib.tensor([1, -2, 3]))
add("tensor_bool", lambda lib: lib.tensor([True, False, True]))
add("tensor_scalar", lambda lib: lib.tensor(3.5))
add("tensor_int_scalar", lambda lib: lib.tensor(7))
add("tensor_mixed_int_float", lambda lib: lib.tensor([1, 2.5]))
add("tensor_dtype_float", lambda lib: lib.tensor([1, 2], dtype=lib.float32))
add("tensor_dtype_long", lambda lib: lib.tensor([1.7, -2.7], dtype=lib.int64))
add("tensor_empty", lambda lib: lib.tensor([]))
add("tensor_3d", lambda lib: lib.tensor([[[1, 2], [3, 4]], [[5, 6], [7, 8]]]))
add("tensor_requires_grad", lambda lib: lib.tensor([1.0, 2.0], requires_grad=True) * 3)
add("zeros", lambda lib: lib.zeros(2, 3))
add("zeros_tuple", lambda lib: lib.zeros((3, 1, 2)))
add("zeros_int", lambda lib: lib.zeros(4, dtype=lib.int64))
add("zeros_scalar", lambda lib: lib.zeros(()))
add("ones", lambda lib: lib.ones(3, 2))
add("ones_bool", lambda lib: lib.ones(2, 2, dtype=lib.bool))
add("full_float", lambda lib: lib.full((2, 3), 1.5))
add("full_int", lambda lib: lib.full((3,), 7))
add("full_bool", lambda lib: lib.full((2,), True))
add("full_dtype", lambda lib: lib.full((2, 2), 3, dtype=lib.float32))
add("arange_end", lambda lib: lib.arange(5))
add("arange_start_step", lambda lib: lib.arange(1, 8, 2))
add("arange_negative_step", lambda lib: lib.arange(10, 0, -3))
add("arange_float", lambda lib: lib.arange(0, 1, 0.25))
add("arange_float_inexact", lambda lib: lib.arange(0.0, 1.0, 0.1))
add("arange_dtype", lambda lib: lib.arange(4, dtype=lib.float32))
add("arange_empty", lambda lib: lib.arange(3, 3))
add("arange_127", lambda lib: lib.arange(127))
add("eye", lambda lib: lib.eye(3))
add("eye_rect", lambda lib: lib.eye(2, 4))
add("eye_int", lambda lib: lib.eye(3, dtype=lib.int64))
add("linspace", lambda lib: lib.linspace(0, 1, 7))
add("linspace_negative", lambda lib: lib.linspace(2, -10, 5))
add("linspace_one", lambda lib: lib.linspace(-1, 1, 1))
add("linspace_127", lambda lib: lib.linspace(-3, 5, 127))
add("zeros_like", lambda lib, x: lib.zeros_like(x), f(M2))
add("zeros_like_int", lambda lib, x: lib.zeros_like(x), i((2, 3), "int<-5,5>"))
add("ones_like", lambda lib, x: lib.ones_like(x), f(T3))
add("ones_like_dtype", lambda lib, x: lib.ones_like(x, dtype=lib.int64), f((2, 3)))
add("full_like", lambda lib, x: lib.full_like(x, 2.5), f((3, 2)))
add("full_like_int_truncates", lambda lib, x: lib.full_like(x, 2.5), i((3,), "int<0,3>"))
add("empty_like_shape", lambda lib, x: [list(lib.empty_like(x).shape),
                                       str(lib.empty_like(x).dtype).split(".")[-1]], f((2, 5)))
add("empty_shape", lambda lib: list(lib.empty(3, 4).shape))
add("size_dim_numel", lambda lib, x: [list(x.shape), list(x.size()), x.size(1), x.size(-1),
                                      x.dim(), x.ndim, x.numel(), len(x)], f(T3))
add("clone", lambda lib, x: x.clone() * 2, f(M2))
add("detach", lambda lib, x: x.detach() * x, f((3, 4)))
# x.int() is int32 in torch; distml has no int32 (float32, int64, bool only)
add("to_dtype", lambda lib, x: [x.long(), x.bool(), x.to(lib.int64), x.float()],
    lit([-1.5, -0.5, 0.0, 0.7, 2.9], grad=False))
add("to_float_grad", lambda lib, x: x.to(lib.float32) * 2, f((4,)))
add("int_to_float", lambda lib, x: x.float() / 2, i((5,), "int<-9,9>"))

RT = REDUCE_TOL
# ==========================================================================================
# arithmetic, broadcasting, Python scalars
# ==========================================================================================
BIN_SHAPES = [
    ("same", M2, M2),
    ("row", M2, ROW),
    ("row_rev", ROW, M2),
    ("col", M2, COL),
    ("outer", COL, sz((1, 5), (1, 127))),
    ("3d", sz((2, 1, 4), (4, 1, 33)), sz((3, 1), (7, 1))),
    ("scalar_tensor", M2, sz((), ())),
    ("one", sz((1,), (1,)), sz((3,), (127,))),
]
_ARITH = {
    "add": (lambda lib, x, y: x + y, "any"),
    "sub": (lambda lib, x, y: x - y, "any"),
    "mul": (lambda lib, x, y: x * y, "any"),
    "div": (lambda lib, x, y: x / y, "nonzero"),
}
for _name, (_fn, _dom) in _ARITH.items():
    for _tag, _sa, _sb in BIN_SHAPES:
        # the gradient of a broadcast input is a sum over the broadcast dims: REDUCE_TOL
        add(f"{_name}_{_tag}", _fn, f(_sa), f(_sb, _dom), **({} if _tag == "same" else RT))

add("add_free", lambda lib, x, y: lib.add(x, y), f(M2), f(ROW), **RT)
add("add_alpha", lambda lib, x, y: x.add(y, alpha=2), f(M2), f(ROW), **RT)
add("sub_alpha", lambda lib, x, y: lib.sub(x, y, alpha=0.5), f(M2), f(COL), **RT)
add("mul_method", lambda lib, x, y: x.mul(y), f(M2), f(COL), **RT)
add("div_method", lambda lib, x, y: x.div(y), f(M2), f(ROW, "nonzero"), **RT)
add("add_scalar", lambda lib, x: x + 2, f(M2))
add("radd_scalar", lambda lib, x: 2.5 + x, f(M2))
add("sub_scalar", lambda lib, x: x - 1.5, f(M2))
add("rsub_scalar", lambda lib, x: 3 - x, f(M2))
add("mul_scalar", lambda lib, x: x * 3, f(M2))
add("rmul_scalar", lambda lib, x: 0.5 * x, f(M2))
add("div_scalar", lambda lib, x: x / 4, f(M2))
add("rdiv_scalar", lambda lib, x: 2 / x, f(M2, "nonzero"))
add("neg", lambda lib, x: -x, f(M2))
add("neg_method", lambda lib, x: x.neg(), f(M2))
add("pos", lambda lib, x: +x, f((3,)))
add("int_add", lambda lib, x, y: x + y, i((3, 4), "int<-9,9>"), i((4,), "int<-9,9>"))
add("int_mul_scalar", lambda lib, x: x * 3 - 1, i((5,), "int<-9,9>"))
add("int_div_true", lambda lib, x, y: x / y, i((5,), "int<-9,9>"),
    lit([2, -3, 4, 1, -7], "int64"))
add("int_plus_float_scalar", lambda lib, x: x + 2.5, i((4,), "int<-9,9>"))
add("int_times_float_tensor", lambda lib, x, y: x * y, i((3, 4), "int<-9,9>"), f((4,)), **RT)
add("float_plus_int_tensor", lambda lib, x, y: x + y, f((3, 4)), i((3, 1), "int<-9,9>"))
add("bool_plus_int", lambda lib, x, y: x + y, b((4,)), i((4,), "int<0,5>"))
add("bool_times_float", lambda lib, x, y: x * y, b((4,)), f((4,)))

# powers
add("pow_2", lambda lib, x: x ** 2, f(M2))
add("pow_3", lambda lib, x: x ** 3, f(M2))
add("pow_half", lambda lib, x: x ** 0.5, f(M2, "positive"))
add("pow_neg1", lambda lib, x: x ** -1, f(M2, "nonzero"))
add("pow_0", lambda lib, x: x ** 0, f((3, 4)))
add("pow_float_exp", lambda lib, x: x ** 2.5, f(M2, "positive"))
add("rpow_int", lambda lib, x: 2 ** x, f(M2))
add("rpow_float", lambda lib, x: 0.5 ** x, f(M2))
add("pow_tensor", lambda lib, x, y: x ** y, f(M2, "positive"), f(M2))
# the gradient of a broadcast input is a sum over the broadcast dims: REDUCE_TOL
add("pow_tensor_bcast", lambda lib, x, y: x ** y, f(M2, "positive"), f(ROW), **RT)
add("pow_tensor_bcast_rev", lambda lib, x, y: x ** y, f(ROW, "positive"), f(M2), **RT)
add("pow_method", lambda lib, x, y: x.pow(y), f((3, 4), "positive"), f((4,)), **RT)
add("pow_free", lambda lib, x: lib.pow(x, 3), f((3, 4)))
add("pow_edge", lambda lib, x, y: x ** y, lit([0.0, 0.0, 1.0, 2.0, -2.0, -2.0]),
    lit([2.0, 0.0, 0.0, 0.5, 3.0, 2.0]))
add("pow_int", lambda lib, x: x ** 2, i((5,), "int<-5,5>"))
add("pow_int_tensor", lambda lib, x, y: x ** y, i((5,), "int<-5,5>"), i((5,), "int<0,3>"))
add("pow_int_float", lambda lib, x: x ** 0.5, i((5,), "int<0,9>"))
add("square", lambda lib, x: x.square(), f(M2))

# floor division and remainder (torch's floor semantics, both signs)
add("floordiv_tensor", lambda lib, x, y: x // y, f(M2, grad=False), f(M2, "nonzero", False))
add("floordiv_scalar", lambda lib, x: x // 0.75, f(M2, grad=False))
add("floordiv_int", lambda lib, x, y: x // y, i((3, 5), "int<-20,20>"),
    lit([3, -3, 7, -2, 1], "int64"))
add("floordiv_int_scalar", lambda lib, x: x // 4, i((6,), "int<-20,20>"))
add("rfloordiv_scalar", lambda lib, x: 7 // x, f((4, 5), "nonzero", False))
add("rfloordiv_int", lambda lib, x: 7 // x, lit([2, -3, 4, -1], "int64"))
add("mod_tensor", lambda lib, x, y: x % y, f(M2), f(M2, "nonzero"))
add("mod_scalar", lambda lib, x: x % 1.5, f(M2))
add("mod_int", lambda lib, x, y: x % y, i((3, 5), "int<-20,20>"),
    lit([3, -3, 7, -2, 1], "int64"))
add("mod_int_scalar", lambda lib, x: x % 3, i((8,), "int<-20,20>"))
add("rmod_scalar", lambda lib, x: 5 % x, f((4, 5), "nonzero", False))

# in-place ops on non-leaf tensors (gradients flow through the old value)
add("iadd", lambda lib, x, y: _inplace(x, lambda t: t.__iadd__(y)), f(M2), f(ROW), **RT)
add("isub", lambda lib, x, y: _inplace(x, lambda t: t.__isub__(y)), f(M2), f(COL), **RT)
add("imul", lambda lib, x, y: _inplace(x, lambda t: t.__imul__(y)), f(M2), f(ROW), **RT)
add("itruediv", lambda lib, x, y: _inplace(x, lambda t: t.__itruediv__(y)), f(M2),
    f(ROW, "nonzero"), **RT)
add("add_", lambda lib, x, y: _inplace(x, lambda t: t.add_(y, alpha=3)), f(M2), f(M2))
add("sub_", lambda lib, x: _inplace(x, lambda t: t.sub_(1.5)), f(M2))
add("mul_", lambda lib, x: _inplace(x, lambda t: t.mul_(2)), f(M2))
add("div_", lambda lib, x: _inplace(x, lambda t: t.div_(3)), f(M2))
add("pow_", lambda lib, x: _inplace(x, lambda t: t.pow_(2)), f(M2))
add("clamp_", lambda lib, x: _inplace(x, lambda t: t.clamp_(-0.5, 0.5)), f(M2))
add("neg_", lambda lib, x: _inplace(x, lambda t: t.neg_()), f(M2))
add("exp_", lambda lib, x: _inplace(x, lambda t: t.exp_()), f(M2))
add("sqrt_", lambda lib, x: _inplace(x, lambda t: t.sqrt_()), f(M2, "positive"))
add("relu_", lambda lib, x: _inplace(x, lambda t: t.relu_()), f(M2))
add("zero_", lambda lib, x: _inplace(x, lambda t: t.zero_()) + x, f((3, 4)))
add("fill_", lambda lib, x: _inplace(x, lambda t: t.fill_(2.5)) * x, f((3, 4)))
add("copy_", lambda lib, x, y: _inplace(x, lambda t: t.copy_(y)), f((3, 4)), f((4,)), **RT)
add("masked_fill_", lambda lib, x: _inplace(x, lambda t: t.masked_fill_(x > 0, -1.0)),
    f(M2))
add("addcmul_", lambda lib, x, y, z: _inplace(x, lambda t: t.addcmul_(y, z, value=0.5)),
    f(M2), f(M2), f(ROW))
add("addcdiv_", lambda lib, x, y, z: _inplace(x, lambda t: t.addcdiv_(y, z, value=2)),
    f(M2), f(M2), f(ROW, "nonzero"), **RT)
add("lerp_", lambda lib, x, y: _inplace(x, lambda t: t.lerp_(y, 0.3)), f(M2), f(M2), **RT)
add("inplace_int", lambda lib, x: _inplace(x, lambda t: t.add_(2)), i((4,), "int<-5,5>"))
add("lerp", lambda lib, x, y: x.lerp(y, 0.25), f(M2), f(ROW), **RT)
add("addcmul", lambda lib, x, y, z: x.addcmul(y, z, value=-2), f(M2), f(COL), f(ROW), **RT)
add("addcdiv", lambda lib, x, y, z: lib.addcdiv(x, y, z, value=0.5), f(M2), f(COL),
    f(ROW, "nonzero"), **RT)


def _inplace(x, op):
    t = x * 1  # a non-leaf copy: in-place on a leaf that requires grad is an error
    out = op(t)
    assert out is t, "in-place ops return self"
    return t


# ==========================================================================================
# matmul
# ==========================================================================================
MM = MATMUL_TOL
add("matmul_1d_1d", lambda lib, x, y: x @ y, f(V1), f(V1), **MM)
add("matmul_2d_1d", lambda lib, x, y: x @ y, f(M2), f(V1), **MM)
add("matmul_1d_2d", lambda lib, x, y: x @ y, f(sz((3,), (31,))), f(M2), **MM)
add("matmul_2d_2d", lambda lib, x, y: x @ y, f(sz((3, 4), (31, 127))),
    f(sz((4, 5), (127, 17))), **MM)
add("matmul_1x1", lambda lib, x, y: x @ y, f((1, 1)), f((1, 1)), **MM)
add("matmul_batched", lambda lib, x, y: x @ y, f(sz((2, 3, 4), (5, 9, 33))),
    f(sz((2, 4, 5), (5, 33, 7))), **MM)
add("matmul_broadcast_batch", lambda lib, x, y: x @ y, f(sz((2, 1, 3, 4), (3, 1, 9, 16))),
    f(sz((3, 4, 2), (4, 16, 5))), **MM)
add("matmul_3d_2d", lambda lib, x, y: x @ y, f(sz((2, 3, 4), (4, 9, 33))),
    f(sz((4, 5), (33, 7))), **MM)
add("matmul_2d_3d", lambda lib, x, y: x @ y, f(sz((3, 4), (9, 33))),
    f(sz((2, 4, 5), (4, 33, 7))), **MM)
add("matmul_1d_3d", lambda lib, x, y: x @ y, f(sz((4,), (33,))),
    f(sz((2, 4, 5), (4, 33, 7))), **MM)
add("matmul_3d_1d", lambda lib, x, y: x @ y, f(sz((2, 3, 4), (4, 9, 33))),
    f(sz((4,), (33,))), **MM)
add("matmul_free", lambda lib, x, y: lib.matmul(x, y), f((3, 4)), f((4, 2)), **MM)
add("matmul_method", lambda lib, x, y: x.matmul(y), f((3, 4)), f((4, 2)), **MM)
add("matmul_transposed", lambda lib, x, y: x.t() @ y, f(sz((4, 3), (33, 9))),
    f(sz((4, 5), (33, 7))), **MM)
add("matmul_mT_expand", lambda lib, x, y: x.mT @ y.expand(x.shape[0], *y.shape),
    f(sz((2, 4, 3), (3, 33, 9))), f(sz((4, 5), (33, 7))), **MM)
add("matmul_int", lambda lib, x, y: x @ y, i((3, 4), "int<-5,5>"), i((4, 2), "int<-5,5>"))
add("rmatmul_chain", lambda lib, x, y, z: (x @ y) @ z, f((2, 3)), f((3, 4)), f((4,)), **MM)

# ==========================================================================================
# matrix products, einsum, triangular, sorting, scans, shifting, index_put (issue 10)
# ==========================================================================================
add("mm", lambda lib, x, y: x.mm(y), f(sz((3, 4), (31, 33))), f(sz((4, 5), (33, 7))), **MM)
add("mm_free", lambda lib, x, y: lib.mm(x, y), f((3, 4)), f((4, 2)), **MM)
add("bmm", lambda lib, x, y: lib.bmm(x, y), f(sz((2, 3, 4), (5, 9, 33))),
    f(sz((2, 4, 5), (5, 33, 7))), **MM)
add("mv", lambda lib, x, y: x.mv(y), f(sz((3, 4), (31, 33))), f(sz((4,), (33,))), **MM)
add("dot", lambda lib, x, y: lib.dot(x, y), f(V1), f(V1), **MM)
add("outer", lambda lib, x, y: lib.outer(x, y), f((3,)), f((4,)))
add("addmm", lambda lib, b, x, y: lib.addmm(b, x, y, beta=0.5, alpha=2.0), f((5,)), f((3, 4)),
    f((4, 5)), **MM)
add("addmm_beta0", lambda lib, b, x, y: lib.addmm(b, x, y, beta=0), f((3, 5)), f((3, 4)),
    f((4, 5)), **MM)
add("baddbmm", lambda lib, b, x, y: b.baddbmm(x, y, alpha=0.5), f((2, 3, 5)), f((2, 3, 4)),
    f((2, 4, 5)), **MM)
add("addmv", lambda lib, b, x, y: lib.addmv(b, x, y), f((3,)), f((3, 4)), f((4,)), **MM)
for _eq, _shapes in [
        ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
        ("ij->ji", [(3, 4)]),
        ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),
        ("bhqk,bhkd->bhqd", [(2, 2, 3, 5), (2, 2, 5, 4)]),
        ("ii->i", [(4, 4)]),
        ("ii", [(4, 4)]),
        ("i,i->", [(5,), (5,)]),
        ("i,j->ij", [(3,), (4,)]),
        ("ij,j->i", [(3, 4), (4,)]),
        ("ij->", [(3, 4)]),
        ("ij,kj", [(3, 4), (2, 4)]),
        ("...ij,...jk->...ik", [(2, 3, 4), (2, 4, 5)]),
        ("bn,anm,bm->ba", [(2, 3), (4, 3, 5), (2, 5)]),
        ("b i d, b j d -> b i j", [(2, 3, 4), (2, 5, 4)])]:
    add("einsum_" + "".join(c if c.isalnum() else "_" for c in _eq),
        lambda lib, *xs, _eq=_eq: lib.einsum(_eq, *xs), *[f(s) for s in _shapes], **MM)
add("einsum_list", lambda lib, x, y: lib.einsum("ij,jk", [x, y]), f((3, 4)), f((4, 2)), **MM)
add("tril", lambda lib, x: x.tril(), f(sz((4, 5), (17, 9))))
add("tril_diag1", lambda lib, x: lib.tril(x, 1), f((3, 4, 5)))
add("tril_diag_neg", lambda lib, x: x.tril(diagonal=-2), f((5, 4)))
add("triu", lambda lib, x: x.triu(), f(sz((4, 5), (17, 9))))
add("triu_diag_neg", lambda lib, x: lib.triu(x, -1), f((2, 4, 3)))
add("tril_causal_mask", lambda lib, x: x.masked_fill(
    lib.ones(4, 4).tril() == 0, float("-inf")).softmax(-1), f((2, 4, 4)))
add("triu_bool", lambda lib, x: x.triu(1), lit([[True, True], [True, True]], "bool"))
add("diag_1d", lambda lib, x: lib.diag(x), f((4,)))
add("diag_1d_above", lambda lib, x: x.diag(2), f((3,)))
add("diag_1d_below", lambda lib, x: x.diag(-1), f((3,)))
add("diag_2d", lambda lib, x: x.diag(), f((3, 5)))
add("diag_2d_offset", lambda lib, x: x.diag(-1), f((4, 3)))
add("diagonal_dims", lambda lib, x: x.diagonal(1, 0, 2), f((3, 2, 4)))
add("trace", lambda lib, x: x.trace(), f((4, 4)))
add("sort", lambda lib, x: x.sort(), f(sz((3, 5), (9, 40))))
add("sort_dim0_desc", lambda lib, x: lib.sort(x, 0, descending=True), f((5, 3)))
add("sort_stable_ties", lambda lib, x: x.sort(stable=True, descending=True),
    lit([[1.0, 3.0, 1.0, 3.0, 2.0], [0.0, 0.0, 0.0, -1.0, 0.0]]))
add("sort_nan", lambda lib, x: x.sort(stable=True),
    lit([2.0, NAN, -1.0, INF, -INF]), grad=False)
add("sort_int", lambda lib, x: x.sort(descending=True, stable=True), lit([3, 1, 3, -2], "int64"))
add("argsort", lambda lib, x: x.argsort(dim=1), f((3, 6)))
add("argsort_desc_stable", lambda lib, x: lib.argsort(x, descending=True, stable=True),
    lit([1.0, 2.0, 1.0, 2.0]))
add("topk", lambda lib, x: x.topk(3), f(sz((3, 6), (8, 50))))
add("topk_smallest_dim0", lambda lib, x: lib.topk(x, 2, dim=0, largest=False), f((5, 3)))
add("kthvalue", lambda lib, x: x.kthvalue(2, 1), f((3, 5)))
add("median_dim", lambda lib, x: x.median(1), f((3, 5)))
add("median_all", lambda lib, x: x.median(), f((3, 4)))
add("cumsum", lambda lib, x: x.cumsum(1), f(sz((3, 7), (5, 100))), **REDUCE_TOL)
add("cumsum_dim0", lambda lib, x: lib.cumsum(x, dim=0), f((5, 3)))
add("cumsum_int", lambda lib, x: x.cumsum(0), lit([3, 1, -4, 1, 5], "int64"))
add("cumsum_bool", lambda lib, x: x.cumsum(0), lit([True, False, True], "bool"))
add("cumprod", lambda lib, x: x.cumprod(-1), f((3, 6), "nonzero"), **CHAIN_TOL)
add("cumprod_zeros", lambda lib, x: lib.cumprod(x, 0), lit([2.0, 0.5, 0.0, 3.0, 0.0, 1.5]))
add("logcumsumexp", lambda lib, x: x.logcumsumexp(1), f((2, 5)), **CHAIN_TOL)
add("flip_dims", lambda lib, x: x.flip([0, 2]), f((2, 3, 4)))
add("flip_free", lambda lib, x: lib.flip(x, (1,)), f((2, 3)))
add("roll", lambda lib, x: x.roll(2, 1), f((3, 5)))
add("roll_negative_multi", lambda lib, x: lib.roll(x, (-1, 4), (0, 1)), f((3, 5)))
add("roll_flat", lambda lib, x: x.roll(3), f((2, 4)))
add("repeat_new_dims", lambda lib, x: x.repeat(2, 1, 3), f((2, 3)))
add("tile", lambda lib, x: x.tile((2,)), f((2, 3)))
add("repeat_interleave", lambda lib, x: x.repeat_interleave(2, dim=1), f((2, 3)))
add("repeat_interleave_flat", lambda lib, x: lib.repeat_interleave(x, 3), f((2, 2)))
add("movedim", lambda lib, x: x.movedim(0, -1), f((2, 3, 4)))
add("chunk_uneven_v2", lambda lib, x: x.chunk(3), f((5, 2)))
add("chunk_more_than_size_v2", lambda lib, x: lib.chunk(x, 4, dim=1), f((2, 3)))
add("chunk_6_by_4", lambda lib, x: x.chunk(4), f((6,)))
add("split_uneven", lambda lib, x: x.split(2, dim=1), f((2, 5)))
add("split_sizes_v2", lambda lib, x: lib.split(x, [1, 3, 1]), f((5, 2)))
add("index_put_2d", lambda lib, x, r, c, v: x.index_put((r, c), v), f((4, 5)),
    lit([0, 2, 3], "int64"), lit([4, 0, 2], "int64"), f((3,)))
add("index_put_accumulate_dups", lambda lib, x, r, c, v: x.index_put((r, c), v, True),
    f((3, 4)), lit([0, 2, 0, 0], "int64"), lit([1, 3, 1, 2], "int64"), f((4,)))
add("index_put_rows", lambda lib, x, r, v: lib.index_put(x, (r,), v), f((4, 3)),
    lit([3, -4], "int64"), f((2, 3)))
add("setitem_rows_cols", lambda lib, x, r, c, v: _set(x, (r, c), v), f((4, 5)),
    lit([0, 1, 3], "int64"), lit([2, 2, 4], "int64"), f((3,)))
add("setitem_rows_cols_scalar", lambda lib, x, r, c: _set(x, (r, c), 0.5), f((3, 3)),
    lit([0, 2], "int64"), lit([1, 0], "int64"))
add("setitem_slice_then_index", lambda lib, x, c, v: _set(x, (slice(None), c), v), f((3, 5)),
    lit([4, 1], "int64"), f((3, 2)))
add("setitem_index_trailing", lambda lib, x, r, v: _set(x, (r, Ellipsis), v), f((4, 2, 3)),
    lit([2, 0], "int64"), f((2, 1, 3)))
add("index_add", lambda lib, x, i, s: x.index_add(1, i, s, alpha=2.0), f((2, 4)),
    lit([3, 0, 3], "int64"), f((2, 3)))
add("new_zeros_like_dtype", lambda lib, x: (x.new_zeros(2, 3), x.new_ones((2,)),
                                            x.new_full((2, 2), 7), x.new_tensor([1, 2])),
    lit([1, 2], "int64"))
add("new_zeros_float", lambda lib, x: x.new_zeros((2, 1)) + x.new_empty(2, 1).zero_() + x[:2],
    f((3, 1)))
add("scatter", lambda lib, x, i, s: x.scatter(1, i, s), f((2, 5)), lit([[4, 0], [1, 3]], "int64"),
    f((2, 2)))
add("scatter_value_inplace", lambda lib, x, i: x.clone().scatter_(0, i, 0.25),
    f((3, 2)), lit([[2, 0]], "int64"))
add("scatter_one_hot", lambda lib, t: lib.zeros(4, 5).scatter_(1, t.unsqueeze(1), 1.0),
    lit([3, 0, 4, 3], "int64"))
add("unique", lambda lib, x: lib.unique(x, return_inverse=True, return_counts=True),
    lit([[3, 1, 3], [0, 1, 7]], "int64"))
add("unique_float", lambda lib, x: x.unique(), lit([2.5, -1.0, 2.5, 0.0], grad=False))
add("bincount", lambda lib, x: (x.bincount(), lib.bincount(x, minlength=7)),
    lit([2, 0, 2, 5], "int64"))
add("count_nonzero", lambda lib, x: (lib.count_nonzero(x), x.count_nonzero(0)),
    lit([[0.0, 1.0], [2.0, 0.0], [0.0, 0.0]]))
add("masked_select", lambda lib, x, m: x.masked_select(m), f((3, 4)), b((3, 4)))
add("masked_select_broadcast", lambda lib, x, m: lib.masked_select(x, m), f((3, 4)), b((4,)))
add("nonzero", lambda lib, x: (x.nonzero(), lib.nonzero(x, as_tuple=True)),
    lit([[0.0, 1.0, 0.0], [2.0, 0.0, -3.0]]))
add("true_divide", lambda lib, x, y: (lib.true_divide(x, y), x.true_divide(2)), f(M2),
    f(M2, "nonzero"))
add("true_divide_int", lambda lib, x, y: lib.true_divide(x, y), lit([7, -7, 3], "int64"),
    lit([2, 2, -4], "int64"))
add("clamp_min_max", lambda lib, x: (x.clamp_min(-0.5), lib.clamp_max(x, 0.3)), f(M2))
add("fmod", lambda lib, x, y: lib.fmod(x, y), lit([5.5, -5.5, 5.5, -5.5]),
    lit([2.0, 2.0, -2.0, -2.0], grad=False))
# torch's edge cases: reductions with a dim on 0-d tensors, softmax over zero size,
# unbiased var/std of one element
add("max_dim_0d", lambda lib, x: (x.max(dim=0), x.min(-1, keepdim=True)), f(()))
add("reduce_dim_0d", lambda lib, x: (x.sum(0), x.mean(-1), x.argmax(0), x.amax(0),
                                     x.prod(0)), f(()))
add("softmax_zero_size", lambda lib, x: (x.reshape(0, 3).softmax(1), x.reshape(0, 3)
                                         .log_softmax(0), x.reshape(3, 0).softmax(1)),
    lit([]))
add("max_min_empty_rows", lambda lib, x: (x.reshape(0, 3).max(dim=1), x.reshape(3, 0).min(0),
                                         x.reshape(0, 3).argmax(1)), lit([]), grad=False)
add("chunk_split_empty", lambda lib, x: (x.reshape(0, 2).chunk(3), x.reshape(0, 2).split(0),
                                         x.reshape(2, 0).split(4, 1)), lit([]))
add("var_std_one_element", lambda lib, x: (x.var(), x.std(), x.var(0), x.std(unbiased=False)),
    f((1,)), grad=False)
add("var_one_row", lambda lib, x: x.var(0), f((1, 3)), grad=False)


def _set(x, key, v):
    y = x.clone()
    y[key] = v
    return y

# ==========================================================================================
# elementwise functions
# ==========================================================================================
_UNARY = [
    ("exp", lambda lib, x: x.exp(), "any"),
    ("log", lambda lib, x: x.log(), "positive"),
    ("sqrt", lambda lib, x: x.sqrt(), "positive"),
    ("rsqrt", lambda lib, x: x.rsqrt(), "positive"),
    ("abs", lambda lib, x: x.abs(), "any"),
    ("sign", lambda lib, x: x.sign(), "any"),
    ("tanh", lambda lib, x: x.tanh(), "any"),
    ("sigmoid", lambda lib, x: x.sigmoid(), "any"),
    ("relu", lambda lib, x: x.relu(), "any"),
    ("erf", lambda lib, x: x.erf(), "any"),
    ("sin", lambda lib, x: x.sin(), "any"),
    ("cos", lambda lib, x: x.cos(), "any"),
    ("reciprocal", lambda lib, x: x.reciprocal(), "nonzero"),
    ("log2", lambda lib, x: x.log2(), "positive"),
    ("log1p", lambda lib, x: x.log1p(), "unit"),
    ("expm1", lambda lib, x: x.expm1(), "unit"),
    ("floor", lambda lib, x: x.floor(), "any"),
    ("ceil", lambda lib, x: x.ceil(), "any"),
    ("round", lambda lib, x: x.round(), "any"),
]
for _name, _fn, _dom in _UNARY:
    add(_name, _fn, f(M2, _dom))
for _name in ("exp", "log", "sqrt", "rsqrt", "abs", "neg", "sign", "tanh", "sigmoid", "relu",
              "erf", "sin", "cos", "reciprocal", "square", "floor", "ceil", "round"):
    _dom = "positive" if _name in ("log", "sqrt", "rsqrt") else \
        "nonzero" if _name == "reciprocal" else "any"
    add(f"{_name}_free", (lambda n: lambda lib, x: getattr(lib, n)(x))(_name), f((3, 4), _dom))

add("exp_extreme", lambda lib, x: x.exp(), lit([-100.0, -1e-8, 0.0, 10.0, 88.0, 89.0, 100.0]))
add("log_edge", lambda lib, x: x.log(), lit([0.0, 1e-30, 1.0, 3.5, INF]))
add("sqrt_edge", lambda lib, x: x.sqrt(), lit([0.0, 1e-20, 4.0, INF]))
add("rsqrt_edge", lambda lib, x: x.rsqrt(), lit([0.0, 0.25, 4.0, INF]))
add("sigmoid_extreme", lambda lib, x: x.sigmoid(),
    lit([-INF, -100.0, -20.0, 0.0, 20.0, 100.0, INF]))
add("tanh_extreme", lambda lib, x: x.tanh(), lit([-INF, -30.0, -1e-6, 0.0, 1e-6, 30.0, INF]))
add("erf_range", lambda lib, x: x.erf(),
    lit([-INF, -6.0, -3.0, -1.0, -0.49, -1e-4, 0.0, 1e-4, 0.2, 0.5, 0.51, 1.5, 2.5, 4.0, INF]))
add("relu_zero", lambda lib, x: x.relu(), lit([-1.0, -0.0, 0.0, 1.0]))
add("abs_zero", lambda lib, x: x.abs(), lit([-1.0, 0.0, 1.0]))
add("sign_zero", lambda lib, x: x.sign(), lit([-2.0, 0.0, 3.0]))
add("round_half_even", lambda lib, x: x.round(),
    lit([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, 0.49999997]))
add("floor_ceil_edge", lambda lib, x: [x.floor(), x.ceil()],
    lit([-1.5, -1.0, -0.2, 0.0, 0.2, 1.0, 1.5]))
add("nan_propagation", lambda lib, x: [x.exp(), x.abs(), x.relu(), x.sigmoid(), x.tanh(),
                                      x.clamp(-1, 1), x + 1, x * 0],
    lit([NAN, 1.0, -INF, INF]), grad=False)
add("isnan_isinf_isfinite", lambda lib, x: [x.isnan(), x.isinf(), x.isfinite(),
                                           lib.isnan(x)],
    lit([NAN, 1.0, -INF, INF, 0.0]), grad=False)
add("abs_int", lambda lib, x: [x.abs(), -x, x.sign()], i((6,), "int<-5,5>"))
add("exp_int", lambda lib, x: x.exp(), i((5,), "int<-3,3>"))
add("sqrt_int", lambda lib, x: x.sqrt(), i((5,), "int<0,9>"))
add("sigmoid_int", lambda lib, x: x.sigmoid(), i((5,), "int<-3,3>"))
add("relu_int", lambda lib, x: x.relu(), i((5,), "int<-3,3>"))
add("unary_chain", lambda lib, x: (x.sin() * x.cos() + x.tanh()).exp().sqrt(), f(M2))

# clamp, maximum, minimum
add("clamp_min", lambda lib, x: x.clamp(min=-0.5), f(M2))
add("clamp_max", lambda lib, x: x.clamp(max=0.5), f(M2))
add("clamp_both", lambda lib, x: x.clamp(-0.5, 0.5), f(M2))
add("clamp_free", lambda lib, x: lib.clamp(x, min=0.0, max=1.0), f(M2))
add("clip", lambda lib, x: x.clip(-1, 1), f(M2))
add("clamp_ties", lambda lib, x: x.clamp(-0.5, 0.5),
    lit([-1.0, -0.5, -0.25, 0.0, 0.5, 0.75]))
add("clamp_ties_min_only", lambda lib, x: x.clamp(min=0.0), lit([-1.0, 0.0, 1.0]))
add("clamp_min_gt_max", lambda lib, x: x.clamp(1.0, -1.0), lit([-2.0, 0.0, 2.0]),
    grad=False)
add("clamp_int", lambda lib, x: x.clamp(-2, 3), i((8,), "int<-5,5>"))
add("clamp_int_float_bounds", lambda lib, x: [x.clamp(0.5), x.clamp(min=-1.5, max=2)],
    i((8,), "int<-5,5>"))
add("clamp_tensor_bounds", lambda lib, x, lo, hi: x.clamp(lo, hi), f(M2),
    f(ROW, "unit", False), f(COL, "positive", False), **RT)
add("maximum", lambda lib, x, y: lib.maximum(x, y), f(M2), f(M2))
add("maximum_bcast", lambda lib, x, y: x.maximum(y), f(M2), f(ROW), **RT)
add("minimum", lambda lib, x, y: lib.minimum(x, y), f(M2), f(COL), **RT)
add("maximum_ties", lambda lib, x, y: lib.maximum(x, y), lit([1.0, 2.0, 3.0, -1.0]),
    lit([1.0, 1.0, 4.0, -1.0]))
add("minimum_ties", lambda lib, x, y: lib.minimum(x, y), lit([1.0, 2.0, 3.0, -1.0]),
    lit([1.0, 1.0, 4.0, -1.0]))
add("max_binary", lambda lib, x, y: [lib.max(x, y), x.min(y)], f(M2), f(ROW), **RT)
add("maximum_nan", lambda lib, x, y: [lib.maximum(x, y), lib.minimum(x, y)],
    lit([NAN, 1.0, 2.0]), lit([1.0, NAN, 3.0]), grad=False)
add("maximum_int", lambda lib, x, y: lib.maximum(x, y), i((5,), "int<-5,5>"),
    i((5,), "int<-5,5>"))

# comparisons, logical ops, where
for _name, _op in (("lt", "__lt__"), ("le", "__le__"), ("gt", "__gt__"), ("ge", "__ge__"),
                   ("eq", "__eq__"), ("ne", "__ne__")):
    add(f"{_name}_bcast", (lambda o: lambda lib, x, y: getattr(x, o)(y))(_op),
        i(M2, "int<-2,2>"), i(ROW, "int<-2,2>"))
    add(f"{_name}_scalar", (lambda o: lambda lib, x: getattr(x, o)(0.5))(_op), f(M2))
    add(f"{_name}_method", (lambda n: lambda lib, x, y: [getattr(x, n)(y),
                                                         getattr(lib, n)(x, y)])(_name),
        f((3, 4), grad=False), f((3, 1), grad=False))
add("compare_reversed_scalar", lambda lib, x: [1 < x, 0 >= x, 2 == x], i((6,), "int<0,3>"))
add("compare_int_float", lambda lib, x, y: [x < y, x == y], i((5,), "int<-2,2>"),
    lit([-1.5, 0.0, 1.0, 2.0, 0.5], grad=False))
add("compare_nan", lambda lib, x: [x == x, x != x, x < 1, x >= 1],
    lit([NAN, 1.0, INF, -INF]), grad=False)
add("logical_ops", lambda lib, x, y: [x & y, x | y, ~x, lib.logical_not(x),
                                      lib.logical_and(x, y), x.logical_or(y)],
    b(sz((3, 5), (31, 127))), b(sz((5,), (127,))))
add("logical_not_float", lambda lib, x: lib.logical_not(x), lit([0.0, 1.5, -2.0], grad=False))
add("where", lambda lib, c, x, y: lib.where(c, x, y), b(M2), f(M2), f(M2))
add("where_bcast_cond", lambda lib, c, x, y: lib.where(c, x, y), b(ROW), f(M2), f(COL), **RT)
add("where_bcast_values", lambda lib, c, x, y: lib.where(c, x, y), b(M2), f(ROW),
    f(sz((), ())), **RT)
add("where_from_compare", lambda lib, x, y: lib.where(x > y, x, y * 2), f(M2), f(ROW), **RT)
add("where_scalar_other", lambda lib, c, x: lib.where(c, x, 0.0), b(M2), f(M2))
add("where_scalar_input", lambda lib, c, x: lib.where(c, -1.0, x), b(M2), f(M2))
add("where_int", lambda lib, c, x, y: lib.where(c, x, y), b((5,)), i((5,), "int<-5,5>"),
    i((5,), "int<-5,5>"))
add("where_method", lambda lib, c, x, y: x.where(c, y), b((3, 4)), f((3, 4)), f((4,)))
add("masked_fill", lambda lib, x, m: x.masked_fill(m, -1.5), f(M2), b(M2))
add("masked_fill_bcast", lambda lib, x, m: x.masked_fill(m, 0.0), f(M2), b(ROW))
add("masked_fill_inf", lambda lib, x, m: x.masked_fill(m, -INF).softmax(-1), f(M2), b(ROW),
    **CHAIN_TOL)
add("masked_fill_tensor_value", lambda lib, x, m, v: x.masked_fill(m, v), f(M2), b(M2),
    f(()), **RT)
add("masked_fill_int", lambda lib, x, m: lib.masked_fill(x, m, 7), i((5,), "int<-5,5>"),
    b((5,)))

# ==========================================================================================
# reductions
# ==========================================================================================
add("sum_all", lambda lib, x: x.sum(), f(M2), **RT)
add("sum_dim0", lambda lib, x: x.sum(0), f(M2), **RT)
add("sum_dim_neg", lambda lib, x: x.sum(-1), f(T3), **RT)
add("sum_dim_tuple", lambda lib, x: x.sum((0, 2)), f(T3), **RT)
add("sum_keepdim", lambda lib, x: x.sum(dim=1, keepdim=True), f(T3), **RT)
add("sum_tuple_keepdim", lambda lib, x: lib.sum(x, (-1, 0), keepdim=True), f(T3), **RT)
add("sum_int", lambda lib, x: [x.sum(), x.sum(0)], i((3, 4), "int<-9,9>"))
add("sum_bool", lambda lib, x: [x.sum(), x.sum(1)], b((3, 4)))
add("sum_scalar", lambda lib, x: x.sum(), f(()))
add("sum_empty", lambda lib, x: [x.reshape(0, 3).sum(0), x.sum()], lit([]))
add("sum_inf", lambda lib, x: [x.sum(), x[:2].sum()], lit([INF, 1.0, -INF]), grad=False)
add("sum_127", lambda lib, x: x.sum(), f((127,)), **RT)
add("mean_all", lambda lib, x: x.mean(), f(M2), **RT)
add("mean_dim", lambda lib, x: x.mean(1), f(T3), **RT)
add("mean_dim_tuple_keepdim", lambda lib, x: lib.mean(x, (0, -1), keepdim=True), f(T3),
    **RT)
add("mean_empty", lambda lib, x: x.mean(), lit([]), grad=False)
add("max_all", lambda lib, x: x.max(), f(M2))
add("min_all", lambda lib, x: lib.min(x), f(M2))
add("max_dim", lambda lib, x: tuple(x.max(1)), f(M2))
add("max_dim_named", lambda lib, x: [x.max(dim=0).values, x.max(dim=0).indices], f(T3))
add("max_dim_keepdim", lambda lib, x: tuple(lib.max(x, -1, keepdim=True)), f(T3))
add("min_dim", lambda lib, x: tuple(x.min(0)), f(M2))
add("min_dim_keepdim", lambda lib, x: tuple(x.min(dim=2, keepdim=True)), f(T3))
add("max_dim_ties", lambda lib, x: tuple(x.max(1)), lit([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]]))
add("min_dim_ties", lambda lib, x: tuple(x.min(1)), lit([[1.0, 1.0, 3.0], [2.0, 0.0, 0.0]]))
add("max_all_ties", lambda lib, x: x.max(), lit([[1.0, 3.0, 3.0], [3.0, 2.0, 0.0]]))
add("max_int", lambda lib, x: [x.max(), x.max(0).values, x.min(1).indices],
    i((3, 4), "int<-3,3>"))
add("max_nan", lambda lib, x: [x.max(), x.amax(1), tuple(x.max(1)), x.argmax(1)],
    lit([[1.0, NAN, 2.0], [0.0, 1.0, -1.0]]), grad=False)
add("amax", lambda lib, x: x.amax(), f(M2))
add("amax_dim", lambda lib, x: x.amax(1), f(T3))
add("amax_tuple", lambda lib, x: lib.amax(x, (0, 2)), f(T3))
add("amax_keepdim_neg", lambda lib, x: x.amax(-2, keepdim=True), f(T3))
add("amin_tuple_keepdim", lambda lib, x: x.amin((1, 2), keepdim=True), f(T3))
add("amin", lambda lib, x: lib.amin(x, 0), f(M2))
add("amax_ties", lambda lib, x: x.amax(1), lit([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]))
add("amin_ties", lambda lib, x: x.amin(0), lit([[1.0, 0.0, 3.0], [1.0, 0.0, 2.0]]))
add("argmax_all", lambda lib, x: x.argmax(), f(M2))
add("argmax_dim", lambda lib, x: x.argmax(1), f(T3))
add("argmax_keepdim", lambda lib, x: lib.argmax(x, dim=-1, keepdim=True), f(T3))
add("argmin_all", lambda lib, x: lib.argmin(x), f(M2))
add("argmin_dim", lambda lib, x: x.argmin(0), f(M2))
add("argmax_ties", lambda lib, x: [x.argmax(), x.argmax(1), x.argmin(0)],
    lit([[1.0, 3.0, 3.0], [3.0, 0.0, 0.0]]))
add("argmax_int", lambda lib, x: [x.argmax(0), x.argmin()], i((4, 3), "int<-2,2>"))
add("argmax_keepdim_no_dim", lambda lib, x: [x.argmax(keepdim=True), x.argmin(keepdim=True)],
    f((3, 4)))
add("var_all", lambda lib, x: x.var(), f(M2), **CHAIN_TOL)
add("var_dim", lambda lib, x: x.var(1), f(M2), **CHAIN_TOL)
add("var_unbiased_false", lambda lib, x: x.var(0, unbiased=False), f(M2), **CHAIN_TOL)
add("var_correction0_keepdim", lambda lib, x: lib.var(x, (0, 2), correction=0, keepdim=True),
    f(T3), **CHAIN_TOL)
add("var_one_element", lambda lib, x: x.var(0, unbiased=False), f((1, 3)), **CHAIN_TOL)
add("std_all", lambda lib, x: x.std(), f(M2), **CHAIN_TOL)
add("std_dim_keepdim", lambda lib, x: lib.std(x, -1, keepdim=True), f(T3), **CHAIN_TOL)
add("std_unbiased_false", lambda lib, x: x.std(dim=0, unbiased=False), f(M2), **CHAIN_TOL)
add("std_constant", lambda lib, x: x.std(1), lit([[1.0, 1.0, 1.0], [1.0, 2.0, 3.0]]))
add("var_single_unbiased", lambda lib, x: x.var(0), f((1, 3)))
add("prod_all", lambda lib, x: x.prod(), f((3, 4), "any"), **CHAIN_TOL)
add("prod_dim", lambda lib, x: x.prod(1), f(M2, "any"), **CHAIN_TOL)
add("prod_dim_keepdim", lambda lib, x: lib.prod(x, 0, keepdim=True), f((4, 3), "nonzero"),
    **CHAIN_TOL)
add("prod_zeros", lambda lib, x: [x.prod(1), x.prod()],
    lit([[2.0, 0.0, 3.0], [0.0, 0.0, 4.0], [-1.0, 2.0, -3.0]]))
add("prod_int", lambda lib, x: [x.prod(), x.prod(0)], i((3, 2), "int<-3,3>"))
add("logsumexp_dim", lambda lib, x: x.logsumexp(1), f(M2), **CHAIN_TOL)
add("logsumexp_tuple", lambda lib, x: lib.logsumexp(x, (0, 2)), f(T3), **CHAIN_TOL)
add("logsumexp_keepdim_neg", lambda lib, x: x.logsumexp(-1, keepdim=True), f(T3),
    **CHAIN_TOL)
# torch's backward is exp(x - lse) with lse rounded to float32 (ulp(1000) = 6e-5)
add("logsumexp_large", lambda lib, x: x.logsumexp(1),
    lit([[1000.0, 1000.0, -1000.0], [-1e4, -1e4, -1e4]]), rtol=1e-4)
add("logsumexp_neg_inf", lambda lib, x: x.logsumexp(1),
    lit([[-INF, -INF, -INF], [-INF, 0.0, 1.0]]))
add("softmax", lambda lib, x: x.softmax(-1), f(M2), **CHAIN_TOL)
add("softmax_dim0", lambda lib, x: lib.softmax(x, 0), f(M2), **CHAIN_TOL)
add("softmax_3d", lambda lib, x: x.softmax(dim=1), f(T3), **CHAIN_TOL)
add("softmax_size1", lambda lib, x: [x.softmax(1), x.log_softmax(1)], f((3, 1)))
add("softmax_large", lambda lib, x: x.softmax(1), lit([[1000.0, 0.0, -1000.0],
                                                      [50.0, 50.0, 50.0]]))
add("softmax_neg_inf", lambda lib, x: x.softmax(1), lit([[-INF, 0.0, 1.0], [2.0, -INF, 2.0]]))
add("log_softmax", lambda lib, x: x.log_softmax(-1), f(M2), **CHAIN_TOL)
add("log_softmax_dim0", lambda lib, x: lib.log_softmax(x, 0), f(T3), **CHAIN_TOL)
add("log_softmax_large", lambda lib, x: x.log_softmax(1),
    lit([[1000.0, 0.0, -1000.0], [-50.0, -50.0, -50.0]]))
add("norm", lambda lib, x: x.norm(), f(M2), **CHAIN_TOL)
add("norm_p1_dim", lambda lib, x: x.norm(p=1, dim=1), f(M2), **CHAIN_TOL)
add("norm_inf", lambda lib, x: x.norm(p=INF), f(M2), **CHAIN_TOL)
add("norm_p3_keepdim", lambda lib, x: lib.norm(x, 3, dim=0, keepdim=True), f(M2), **CHAIN_TOL)
add("all_any", lambda lib, x: [x.all(), x.any(), x.all(1), x.any(0), lib.all(x, 0)],
    b((3, 4)))
add("all_any_keepdim", lambda lib, x: [x.all(1, keepdim=True), x.any(dim=0, keepdim=True)],
    b((3, 4)))
add("all_any_float", lambda lib, x: [x.all(), x.any(), x.all(1)],
    lit([[0.0, 1.0], [2.0, -1.0]], grad=False))

# ==========================================================================================
# shape / movement
# ==========================================================================================
add("reshape_flat", lambda lib, x: x.reshape(-1), f(T3))
add("reshape_infer", lambda lib, x: x.reshape(2, -1), f(T3))
add("reshape_tuple", lambda lib, x: lib.reshape(x, (x.shape[1], -1)), f(T3))
add("reshape_scalar", lambda lib, x: x.reshape(()), f((1, 1)))
add("view", lambda lib, x: x.view(x.shape[0], -1, 1), f(T3))
add("view_as_reshape_as", lambda lib, x, y: [x.view_as(y), x.reshape_as(y)], f((3, 4)),
    f((2, 6), grad=False))
add("flatten", lambda lib, x: x.flatten(), f(T3))
add("flatten_start", lambda lib, x: x.flatten(1), f(T3))
add("flatten_range", lambda lib, x: lib.flatten(x, 0, 1), f(T3))
add("flatten_scalar", lambda lib, x: x.flatten(), f(()))
add("unflatten", lambda lib, x: x.unflatten(1, (2, -1)), f(sz((3, 4), (5, 8))))
add("permute", lambda lib, x: x.permute(2, 0, 1), f(T3))
add("permute_tuple_neg", lambda lib, x: lib.permute(x, (-1, 1, 0)), f(T3))
add("transpose", lambda lib, x: x.transpose(0, 2), f(T3))
add("transpose_neg", lambda lib, x: lib.transpose(x, -1, -2), f(T3))
add("swapaxes", lambda lib, x: x.swapaxes(0, 1), f(T3))
add("t_2d", lambda lib, x: x.t(), f(M2))
add("t_1d", lambda lib, x: lib.t(x), f(V1))
add("T_2d", lambda lib, x: x.T, f(M2))
add("mT", lambda lib, x: x.mT, f(T3))
add("unsqueeze", lambda lib, x: x.unsqueeze(0), f(M2))
add("unsqueeze_neg", lambda lib, x: lib.unsqueeze(x, -1), f(M2))
add("unsqueeze_mid", lambda lib, x: x.unsqueeze(1), f(M2))
add("squeeze_all", lambda lib, x: x.squeeze(), f((1, 3, 1, 2)))
add("squeeze_dim", lambda lib, x: x.squeeze(2), f((1, 3, 1, 2)))
add("squeeze_noop", lambda lib, x: x.squeeze(1), f((1, 3, 1, 2)))
add("squeeze_tuple", lambda lib, x: lib.squeeze(x, (0, -2)), f((1, 3, 1, 2)))
add("expand", lambda lib, x: x.expand(3, -1, 4), f(sz((5, 1), (127, 1))), **RT)
add("expand_same_ndim", lambda lib, x: x.expand(4, 5), f((4, 1)))
add("expand_as", lambda lib, x, y: x.expand_as(y), f(ROW), f(M2, grad=False), **RT)
add("expand_scalar", lambda lib, x: x.expand(2, 3), f(()), **RT)
add("repeat", lambda lib, x: x.repeat(2, 3), f((2, 3)), **RT)
add("repeat_more_dims", lambda lib, x: x.repeat((2, 1, 3)), f((3, 2)))
add("repeat_ones", lambda lib, x: x.repeat(1, 1), f(M2))
add("flip", lambda lib, x: x.flip(0), f(M2))
add("flip_multi", lambda lib, x: lib.flip(x, (0, -1)), f(T3))
add("flip_int", lambda lib, x: x.flip([1]), i((2, 5), "int<-9,9>"))
add("chunk_even", lambda lib, x: x.chunk(2), f(sz((4, 3), (8, 31))))
add("chunk_uneven", lambda lib, x: lib.chunk(x, 3, 1), f(sz((2, 7), (3, 127))))
add("chunk_more_than_size", lambda lib, x: x.chunk(4, 0), f((6, 2)))
add("split_size", lambda lib, x: x.split(2), f(sz((5, 3), (127, 3))))
add("split_sizes", lambda lib, x: lib.split(x, [1, 3, 1], dim=1), f((3, 5)))
add("split_neg_dim", lambda lib, x: x.split(3, -1), f((2, 7)))
add("narrow", lambda lib, x: x.narrow(1, 1, 2), f(M2))
add("narrow_free", lambda lib, x: lib.narrow(x, 0, 1, 1), f(M2))
add("unbind", lambda lib, x: x.unbind(), f((3, 4)))
add("unbind_dim", lambda lib, x: lib.unbind(x, 1), f((2, 3, 2)))
add("select", lambda lib, x: [x.select(1, -1), lib.select(x, 0, 1)], f(T3))
add("contiguous", lambda lib, x: x.t().contiguous().reshape(-1), f(M2))

# ==========================================================================================
# indexing
# ==========================================================================================
add("index_int", lambda lib, x: x[1], f(T3))
add("index_neg_int", lambda lib, x: x[-1, 0], f(T3))
add("index_all_ints", lambda lib, x: x[1, 2, 3], f(T3))
add("index_slice", lambda lib, x: x[1:], f(M2))
add("index_slice_step", lambda lib, x: x[::2, 1::3], f(M2))
add("index_slice_neg", lambda lib, x: x[-2:, :-1], f(M2))
add("index_slice_clamped", lambda lib, x: x[1:100, -100:2], f(M2))
add("index_slice_empty", lambda lib, x: x[3:1], f(M2))
add("index_none", lambda lib, x: x[None], f(M2))
add("index_none_mid", lambda lib, x: x[:, None, 1:], f(M2))
add("index_ellipsis", lambda lib, x: x[..., 1], f(T3))
add("index_ellipsis_mid", lambda lib, x: x[0, ..., ::2], f(T3))
add("index_ellipsis_none", lambda lib, x: x[..., None, 1:3], f(T3))
add("index_mixed", lambda lib, x: x[1:, None, ..., ::2], f(T3))
add("index_0d_int_tensor", lambda lib, x: x[lib.tensor(1)], f(M2))
add("index_tensor_1d", lambda lib, x, k: x[k], f(M2), i((4,), "index<3>"))
add("index_tensor_2d", lambda lib, x, k: x[k], f(M2), i((2, 3), "index<3>"))
add("index_tensor_neg", lambda lib, x, k: x[k], f(M2), i((4,), "sindex<3>"))
add("index_tensor_repeated", lambda lib, x, k: x[k], f((4, 3)), lit([0, 2, 0, 0, 3], "int64"))
add("index_list", lambda lib, x: x[[0, 2, 2]], f((4, 3)))
add("index_tensor_dim1", lambda lib, x, k: x[:, k], f(M2), lit([4, 0, 0, -1], "int64"))
add("index_tensor_after_int", lambda lib, x, k: x[1, k], f(T3), lit([2, 0, 2], "int64"))
add("index_pair", lambda lib, x, y: x[lib.arange(x.shape[0]), y], f(sz((4, 5), (64, 10))),
    i(sz((4,), (64,)), sz("index<5>", "index<10>")))
add("index_pair_bcast", lambda lib, x, r, c: x[r[:, None], c], f(M2),
    lit([0, 2], "int64"), lit([1, 1, 4], "int64"))
add("index_pair_3d_adjacent", lambda lib, x, r, c: x[:, r, c], f(T3),
    lit([0, 2, 1], "int64"), lit([3, 0, 0], "int64"))
add("index_pair_non_adjacent", lambda lib, x, r, c: x[r, :, c], f(T3),
    lit([1, 0], "int64"), lit([3, 0], "int64"))
add("index_bool_mask", lambda lib, x: x[x > 0], f(M2))
add("index_bool_mask_rows", lambda lib, x, m: x[m], f(M2), b(sz((3,), (31,))))
add("index_bool_all_false", lambda lib, x: x[x > 100], f((3, 4)))
add("index_bool_mask_dim1", lambda lib, x, m: x[:, m], f(M2), b(ROW))
add("index_bool_mask_after_int", lambda lib, x, m: x[1, m], f(T3), b(sz((3,), (7,))))
add("index_noncontig", lambda lib, x: x.t()[1:, ::2], f(M2))


def _setitem(x, key, value):
    y = x * 1
    y[key] = value
    return y


add("setitem_slice_scalar", lambda lib, x: _setitem(x, slice(1, 3), 0.0), f(M2))
add("setitem_slice_step", lambda lib, x, v: _setitem(x, (slice(None), slice(None, None, 2)),
                                                     v * 2), f((3, 5)), f((3, 3)))
add("setitem_slice_bcast", lambda lib, x, v: _setitem(x, (slice(None), 0), v), f(M2),
    f(sz((3,), (31,))), **RT)
add("setitem_int", lambda lib, x, v: _setitem(x, 1, v), f(M2), f(ROW))
add("setitem_ellipsis", lambda lib, x: _setitem(x, (Ellipsis, -1), 5.0), f(T3))
add("setitem_mask", lambda lib, x: _setitem(x, x > 0, 0.0), f(M2))
add("setitem_mask_tensor_value", lambda lib, x, v: _setitem(x, x < 0, v), f(M2), f(()), **RT)
add("setitem_mask_rows", lambda lib, x, m: _setitem(x, m, 0.0), f(sz((3, 5), (31, 31))),
    b(sz((3,), (31,))))
add("setitem_mask_rows_value", lambda lib, x, v: _setitem(x, lib.tensor([True, False, True]),
                                                          v), f((3, 3)), f((3,)))
add("setitem_mask_per_element", lambda lib, x, v: _setitem(x, lib.tensor([True, False, True]),
                                                           v), f((3,)), f((2,)))
add("setitem_mask_2d_per_element", lambda lib, x, v: _setitem(x, x.detach() > 0, v[:int(
    (x > 0).sum())]), lit([[1.0, -1.0, 2.0], [-3.0, 4.0, -5.0]]), f((3,)))
add("view_inplace_shares_memory", lambda lib, x: _view_inplace(x), f((3, 4)))


def _view_inplace(x):
    t = x * 1
    row = t[0]
    row.add_(1)
    t.view(4, 3)[1:3].mul_(2)
    t.t()[:, 1].sub_(0.5)
    return t
add("setitem_index_tensor", lambda lib, x, k, v: _setitem(x, k, v), f((4, 3)),
    lit([2, 0], "int64"), f((2, 3)))
add("setitem_index_tensor_neg", lambda lib, x, k, v: _setitem(x, k, v), f((4, 3)),
    lit([-1, 1], "int64"), f((3,)))
add("setitem_int_tensor_value", lambda lib, x: _setitem(x, slice(0, 2), 7),
    i((4,), "int<-5,5>"))
add("setitem_leaf_no_grad", lambda lib, x, v: _leaf_set(lib, x, v), f((3, 4), grad=False),
    f((4,)))


def _leaf_set(lib, x, v):
    x = x.clone()
    x[1] = v
    return x * 2


# cat / stack
add("cat_dim0", lambda lib, x, y: lib.cat([x, y]), f(M2), f(sz((2, 5), (3, 127))))
add("cat_dim1", lambda lib, x, y: lib.cat((x, y), dim=1), f(M2), f(sz((3, 2), (31, 1))))
add("cat_neg_dim", lambda lib, x, y, z: lib.cat([x, y, z], -1), f(T3), f(T3),
    f(sz((2, 3, 1), (4, 7, 1))))
add("cat_single", lambda lib, x: lib.cat([x]), f(M2))
add("cat_legacy_empty", lambda lib, x, e: lib.cat([e, x, e]), f((2, 3)), lit([]))
add("cat_promote", lambda lib, x, y: lib.cat([x, y]), i((2, 3), "int<-5,5>"), f((1, 3)))
add("cat_int", lambda lib, x, y: lib.cat([x, y], 1), i((2, 3), "int<-5,5>"),
    i((2, 1), "int<-5,5>"))
add("cat_no_grad_input", lambda lib, x, y: lib.cat([x, y]), f((2, 3)), f((2, 3), grad=False))
add("concat", lambda lib, x, y: lib.concat([x, y], 0), f((2, 3)), f((1, 3)))
add("stack", lambda lib, x, y: lib.stack([x, y]), f(M2), f(M2))
add("stack_dim1", lambda lib, x, y, z: lib.stack((x, y, z), dim=1), f(M2), f(M2), f(M2))
add("stack_last", lambda lib, x, y: lib.stack([x, y], -1), f(T3), f(T3))
add("stack_scalars", lambda lib, x, y: lib.stack([x, y]), f(()), f(()))

# gather / scatter_add / index_select
add("gather_dim0", lambda lib, x, k: x.gather(0, k), f(M2),
    i(sz((4, 5), (40, 127)), sz("index<3>", "index<31>")))
add("gather_dim1", lambda lib, x, k: lib.gather(x, 1, k), f(M2),
    i(sz((3, 2), (31, 7)), sz("index<5>", "index<127>")))
add("gather_smaller_index", lambda lib, x, k: x.gather(1, k), f((4, 5)), i((2, 3), "index<5>"))
add("gather_neg_dim_3d", lambda lib, x, k: x.gather(-1, k), f(T3),
    i(sz((2, 3, 6), (4, 7, 9)), sz("index<4>", "index<33>")))
add("gather_repeated", lambda lib, x, k: x.gather(1, k), f((2, 3)),
    lit([[0, 0, 0, 2], [1, 1, 2, 1]], "int64"))
add("gather_int", lambda lib, x, k: x.gather(0, k), i((3, 2), "int<-9,9>"),
    lit([[2, 0], [1, 1]], "int64"))
add("scatter_add", lambda lib, x, k, s: x.scatter_add(0, k, s), f((5, 4)),
    i((3, 4), "index<5>"), f((3, 4)))
add("scatter_add_dim1_repeated", lambda lib, x, k, s: lib.scatter_add(x, 1, k, s), f((2, 3)),
    lit([[0, 0, 2, 0], [1, 1, 1, 1]], "int64"), f((2, 4)))
# src larger than index: torch's backward cannot produce src's gradient (shape error)
add("scatter_add_larger_src", lambda lib, x, k, s: x.scatter_add(0, k, s), f((5, 4)),
    i((2, 3), "index<5>"), f((3, 4), grad=False))
add("index_select", lambda lib, x, k: x.index_select(0, k), f(M2), i((4,), "index<3>"))
add("index_select_dim1", lambda lib, x, k: lib.index_select(x, 1, k), f(M2),
    lit([4, 0, 0, 2, 1, 4], "int64"))
add("index_select_3d", lambda lib, x, k: x.index_select(-1, k), f(T3), lit([3, 3, 0], "int64"))
add("index_select_int", lambda lib, x, k: x.index_select(0, k), i((3, 2), "int<-9,9>"),
    lit([2, 2, 0], "int64"))

# read-back
add("item_float", lambda lib, x: x.sum().item(), f((3, 4)), **RT)
add("item_int", lambda lib, x: x.max().item(), i((4,), "int<-9,9>"))
add("item_bool", lambda lib, x: (x > 0).any().item(), f((4,), grad=False))
add("item_one_element", lambda lib, x: x.item(), f((1, 1), grad=False))
add("tolist", lambda lib, x: x.tolist(), f(T3, grad=False))
add("tolist_int_bool", lambda lib, x: [x.tolist(), (x > 0).tolist()], i((2, 3), "int<-3,3>"))
add("tolist_scalar", lambda lib, x: x.tolist(), f((), grad=False))
add("float_int_bool_builtin", lambda lib, x: [float(x), int(x * 10), bool(x > 0)],
    lit([0.75], grad=False))

# ==========================================================================================
# non-contiguous inputs: results of transpose / expand / slices fed into other ops
# ==========================================================================================
add("nc_transpose_exp", lambda lib, x: x.t().exp(), f(M2))
add("nc_transpose_add", lambda lib, x, y: x.t() + y, f(M2), f(sz((5, 3), (127, 31))))
add("nc_slice_mul", lambda lib, x, y: x[:, ::2] * y, f(M2), f(sz((3, 3), (31, 64))))
add("nc_expand_sum", lambda lib, x: x.expand(4, *x.shape).sum(0), f(M2), **RT)
add("nc_expand_mul", lambda lib, x, y: x.expand(3, 5) * y, f((3, 1)), f((3, 5)), **RT)
add("nc_transpose_reshape", lambda lib, x: x.transpose(0, 1).reshape(-1), f(M2))
add("nc_permute_softmax", lambda lib, x: x.permute(1, 0, 2).softmax(-1), f(T3), **CHAIN_TOL)
add("nc_permute_sum", lambda lib, x: x.permute(2, 0, 1).sum(1), f(T3), **RT)
add("nc_slice_max", lambda lib, x: tuple(x[1:, ::2].max(0)), f(M2))
add("nc_flip_cumul", lambda lib, x: x.flip(1)[:, 1:] - x[:, 1:], f(M2))
add("nc_slice_matmul", lambda lib, x, y: x[:, 1:] @ y[::2], f(sz((3, 7), (31, 33))),
    f(sz((12, 4), (64, 5))), **MM)
add("nc_transpose_gather", lambda lib, x, k: x.t().gather(0, k), f(M2),
    i(sz((3, 3), (9, 31)), sz("index<5>", "index<127>")))
add("nc_expand_index", lambda lib, x, k: x.expand(4, 3)[k], f((1, 3)), lit([3, 1], "int64"))
add("nc_slice_setitem", lambda lib, x, v: _setitem(x.t(), (slice(None, None, 2),), v),
    f((3, 5)), f((3,)))
add("nc_unbind_stack", lambda lib, x: lib.stack(x.t().unbind(0), 0), f(M2))
add("nc_chunk_cat", lambda lib, x: lib.cat(x.chunk(3, 1)[::-1], 1), f(M2))
add("nc_sizes_1", lambda lib, x, y: (x * y).sum(0), f((1, 1)), f((1, 3)))
add("nc_odd_127", lambda lib, x, y: (x[None, :] * y[:, None]).softmax(0), f((127,)), f((3,)),
    **CHAIN_TOL)

# ==========================================================================================
# misc API: dtype/device conversion, comparisons of whole tensors, iteration
# ==========================================================================================
add("to_device_str", lambda lib, x: [x.to("cpu") * 2, x.cpu() + 1], f((3, 4)))
add("type_conversion", lambda lib, x: [x.type(lib.int64), x.type(lib.float32) * 2],
    f((4,)))
add("sum_dtype", lambda lib, x: x.sum(dtype=lib.float32) / 2, i((3, 4), "int<-9,9>"))
add("as_tensor", lambda lib, x: lib.as_tensor([[1, 2], [3, 4]], dtype=lib.float32) * x,
    f((2, 2)))
add("equal_allclose_isclose", lambda lib, x: [x.equal(x * 1), lib.equal(x, x + 1),
                                              lib.allclose(x, x + 1e-9), lib.isclose(x, x + 0.5),
                                              lib.allclose(x, x + 1, atol=2.0)],
    f((3, 4), grad=False))
add("iterate_rows", lambda lib, x: [row * k for k, row in enumerate(x)], f((3, 4)))
add("builtin_abs_len", lambda lib, x: [abs(x), len(x), x.shape.numel(), lib.numel(x)],
    f((3, 4)))
add("is_floating_point", lambda lib, x, k: [x.is_floating_point(), k.is_floating_point(),
                                            lib.is_tensor(x), lib.is_tensor(3)],
    f((2,)), i((2,), "int<0,3>"))
add("requires_grad_flags", lambda lib, x, y: [x.requires_grad, (x * 2).requires_grad,
                                              (x * 2).is_leaf, x.is_leaf,
                                              x.detach().requires_grad, (y + 1).requires_grad],
    f((2,)), f((2,), grad=False))
add("no_grad_block", lambda lib, x: _no_grad(lib, x), f((3,)))
add("inplace_after_use", lambda lib, x: _inplace_after_use(x), f((3, 4)))


def _no_grad(lib, x):
    with lib.no_grad():
        y = x * 2
    return [y, y.requires_grad, x * 3]


def _inplace_after_use(x):
    t = x * 1
    z = t * 2
    t.mul_(3)
    return z + t


# ==========================================================================================
# nn.functional (skipped with a reason when the library has no nn.functional yet)
# ==========================================================================================
CONV = dict(NN, **CONV_TOL)
X4 = sz((2, 3, 6, 6), (4, 3, 15, 17))
add("conv2d_basic", lambda lib, x, w, bb: nnf(lib).conv2d(x, w, bb), f(X4),
    f((4, 3, 3, 3)), f((4,)), **CONV)
add("conv2d_no_bias", lambda lib, x, w: nnf(lib).conv2d(x, w), f(X4), f((2, 3, 2, 2)), **CONV)
add("conv2d_stride", lambda lib, x, w, bb: nnf(lib).conv2d(x, w, bb, stride=2), f(X4),
    f((4, 3, 3, 3)), f((4,)), **CONV)
add("conv2d_padding", lambda lib, x, w: nnf(lib).conv2d(x, w, padding=1), f(X4),
    f((2, 3, 3, 3)), **CONV)
add("conv2d_padding_tuple", lambda lib, x, w: nnf(lib).conv2d(x, w, padding=(1, 2),
                                                             stride=(2, 1)),
    f(X4), f((2, 3, 3, 2)), **CONV)
add("conv2d_dilation", lambda lib, x, w: nnf(lib).conv2d(x, w, dilation=2, padding=1), f(X4),
    f((2, 3, 3, 3)), **CONV)
add("conv2d_groups", lambda lib, x, w, bb: nnf(lib).conv2d(x, w, bb, groups=2),
    f(sz((2, 4, 5, 5), (3, 4, 13, 11))), f((6, 2, 3, 3)), f((6,)), **CONV)
add("conv2d_depthwise", lambda lib, x, w: nnf(lib).conv2d(x, w, groups=3, padding=1), f(X4),
    f((3, 1, 3, 3)), **CONV)
add("conv2d_all", lambda lib, x, w, bb: nnf(lib).conv2d(x, w, bb, stride=(2, 3),
                                                         padding=(2, 1), dilation=(1, 2),
                                                         groups=2),
    f(sz((1, 4, 7, 8), (2, 4, 16, 19))), f((4, 2, 3, 2)), f((4,)), **CONV)
add("conv2d_1x1", lambda lib, x, w: nnf(lib).conv2d(x, w), f(X4), f((5, 3, 1, 1)), **CONV)
add("conv2d_padding_same", lambda lib, x, w: nnf(lib).conv2d(x, w, padding="same"), f(X4),
    f((2, 3, 3, 3)), **CONV)
add("conv2d_noncontig_input", lambda lib, x, w: nnf(lib).conv2d(x.transpose(2, 3), w), f(X4),
    f((2, 3, 2, 2)), **CONV)
# kernel taps that only ever meet padding (a ResNet's 3x3 convs on 1x1 maps)
add("conv2d_taps_on_padding_only", lambda lib, x, w: nnf(lib).conv2d(x, w, padding=1),
    f(sz((2, 4, 1, 1), (4, 16, 1, 1))), f(sz((3, 4, 3, 3), (8, 16, 3, 3))), **CONV)
add("conv2d_taps_on_padding_cols", lambda lib, x, w, bb: nnf(lib).conv2d(x, w, bb, padding=1),
    f(sz((1, 3, 2, 1), (2, 8, 5, 1))), f(sz((2, 3, 3, 3), (4, 8, 3, 3))), f(sz((2,), (4,))),
    **CONV)
add("conv2d_taps_on_padding_dilated",
    lambda lib, x, w: nnf(lib).conv2d(x, w, padding=3, dilation=3),
    f(sz((1, 2, 2, 2), (2, 8, 3, 2))), f(sz((2, 2, 3, 3), (4, 8, 3, 3))), **CONV)
# conv_transpose2d: a Function of its own (conv2d's three primitives with swapped roles)
add("conv_transpose2d_basic", lambda lib, x, w, bb: nnf(lib).conv_transpose2d(x, w, bb),
    f(X4), f((3, 4, 3, 3)), f((4,)), **CONV)
add("conv_transpose2d_stride_outpad",
    lambda lib, x, w: nnf(lib).conv_transpose2d(x, w, stride=2, padding=1, output_padding=1),
    f(X4), f((3, 2, 4, 4)), **CONV)
add("conv_transpose2d_all",
    lambda lib, x, w, bb: nnf(lib).conv_transpose2d(x, w, bb, stride=(2, 1), padding=(1, 0),
                                                    groups=2, dilation=(1, 2)),
    f(sz((1, 4, 4, 5), (2, 4, 9, 8))), f((4, 3, 3, 2)), f((6,)), **CONV)
add("max_pool2d", lambda lib, x: nnf(lib).max_pool2d(x, 2), f(X4), **NN)
add("max_pool2d_stride", lambda lib, x: nnf(lib).max_pool2d(x, 3, stride=2), f(X4), **NN)
add("max_pool2d_padding", lambda lib, x: nnf(lib).max_pool2d(x, 3, 2, padding=1), f(X4), **NN)
add("max_pool2d_ceil", lambda lib, x: nnf(lib).max_pool2d(x, 2, ceil_mode=True),
    f(sz((1, 2, 5, 7), (2, 3, 15, 17))), **NN)
add("max_pool2d_ceil_padding", lambda lib, x: nnf(lib).max_pool2d(x, 3, 2, 1, ceil_mode=True),
    f(sz((1, 2, 6, 5), (2, 3, 16, 15))), **NN)
add("max_pool2d_dilation", lambda lib, x: nnf(lib).max_pool2d(x, 2, 1, dilation=2), f(X4),
    **NN)
add("max_pool2d_rect", lambda lib, x: nnf(lib).max_pool2d(x, (2, 3), (1, 2)), f(X4), **NN)
add("max_pool2d_indices", lambda lib, x: tuple(nnf(lib).max_pool2d(x, 2, return_indices=True)),
    f(X4), **NN)
add("max_pool2d_ties", lambda lib, x: nnf(lib).max_pool2d(x, 2, 1),
    lit([[[[1.0, 1.0, 0.0], [1.0, 1.0, 2.0], [0.0, 2.0, 2.0]]]]), **NN)
add("avg_pool2d", lambda lib, x: nnf(lib).avg_pool2d(x, 2), f(X4), **NN)
add("avg_pool2d_stride_pad", lambda lib, x: nnf(lib).avg_pool2d(x, 3, 2, 1), f(X4), **NN)
add("avg_pool2d_no_pad_count", lambda lib, x: nnf(lib).avg_pool2d(x, 3, 2, 1,
                                                                   count_include_pad=False),
    f(X4), **NN)
add("avg_pool2d_ceil", lambda lib, x: nnf(lib).avg_pool2d(x, 2, ceil_mode=True),
    f(sz((1, 2, 5, 7), (2, 3, 15, 17))), **NN)
add("avg_pool2d_ceil_pad", lambda lib, x: nnf(lib).avg_pool2d(x, 3, 2, 1, ceil_mode=True),
    f(sz((1, 2, 6, 5), (2, 3, 16, 15))), **NN)
add("avg_pool2d_ceil_pad_nocount",
    lambda lib, x: nnf(lib).avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
    f(sz((1, 2, 6, 5), (2, 3, 16, 15))), **NN)
add("adaptive_avg_pool2d_1", lambda lib, x: nnf(lib).adaptive_avg_pool2d(x, 1), f(X4), **NN)
add("adaptive_avg_pool2d_tuple", lambda lib, x: nnf(lib).adaptive_avg_pool2d(x, (2, 3)),
    f(X4), **NN)
add("adaptive_avg_pool2d_identity", lambda lib, x: nnf(lib).adaptive_avg_pool2d(
    x, tuple(x.shape[-2:])), f(X4), **NN)
add("adaptive_avg_pool2d_uneven", lambda lib, x: nnf(lib).adaptive_avg_pool2d(x, (4, 4)),
    f(sz((1, 2, 7, 5), (2, 3, 15, 17))), **NN)
add("linear", lambda lib, x, w, bb: nnf(lib).linear(x, w, bb), f(sz((3, 5), (31, 127))),
    f(sz((4, 5), (10, 127))), f(sz((4,), (10,))), **dict(NN, **MATMUL_TOL))
add("linear_no_bias", lambda lib, x, w: nnf(lib).linear(x, w), f((3, 5)), f((2, 5)),
    **dict(NN, **MATMUL_TOL))
add("linear_3d", lambda lib, x, w, bb: nnf(lib).linear(x, w, bb), f((2, 3, 5)), f((4, 5)),
    f((4,)), **dict(NN, **MATMUL_TOL))
add("linear_1d", lambda lib, x, w, bb: nnf(lib).linear(x, w, bb), f((5,)), f((4, 5)), f((4,)),
    **dict(NN, **MATMUL_TOL))
add("f_relu_sigmoid_tanh", lambda lib, x: [nnf(lib).relu(x), nnf(lib).sigmoid(x),
                                           nnf(lib).tanh(x)], f(M2), **NN)
add("gelu", lambda lib, x: nnf(lib).gelu(x), f(M2), **dict(NN, **CHAIN_TOL))
add("gelu_tanh", lambda lib, x: nnf(lib).gelu(x, approximate="tanh"), f(M2),
    **dict(NN, **CHAIN_TOL))
add("gelu_extreme", lambda lib, x: nnf(lib).gelu(x), lit([-20.0, -5.0, 0.0, 5.0, 20.0]),
    **dict(NN, **CHAIN_TOL))
add("leaky_relu", lambda lib, x: nnf(lib).leaky_relu(x), f(M2), **NN)
add("leaky_relu_slope", lambda lib, x: nnf(lib).leaky_relu(x, 0.2), f(M2), **NN)
add("leaky_relu_zero", lambda lib, x: nnf(lib).leaky_relu(x, negative_slope=0.1),
    lit([-1.0, 0.0, 1.0]), **NN)
add("dropout_p0", lambda lib, x: nnf(lib).dropout(x, p=0.0), f(M2), **NN)
add("dropout_eval", lambda lib, x: nnf(lib).dropout(x, 0.5, training=False), f(M2), **NN)
add("dropout_eval_positional", lambda lib, x: nnf(lib).dropout(x, 0.3, False), f(M2), **NN)
add("softmax_functional", lambda lib, x: [nnf(lib).softmax(x, dim=1),
                                          nnf(lib).log_softmax(x, dim=1)], f(M2),
    **dict(NN, **CHAIN_TOL))
BNT = dict(NN, **CHAIN_TOL)
add("batch_norm_train", lambda lib, x, w, bb: _bn(lib, x, w, bb, True), f(sz((4, 3), (32, 7))),
    f(sz((3,), (7,))), f(sz((3,), (7,))), **BNT)
add("batch_norm_train_4d", lambda lib, x, w, bb: _bn(lib, x, w, bb, True, momentum=0.3,
                                                     eps=1e-3),
    f(sz((2, 3, 3, 2), (4, 5, 7, 6))), f(sz((3,), (5,))), f(sz((3,), (5,))), **BNT)
add("batch_norm_eval", lambda lib, x, w, bb: _bn(lib, x, w, bb, False), f(sz((4, 3), (32, 7))),
    f(sz((3,), (7,))), f(sz((3,), (7,))), **BNT)
add("batch_norm_eval_4d", lambda lib, x: _bn(lib, x, None, None, False),
    f(sz((2, 3, 3, 2), (4, 5, 7, 6))), **BNT)
add("batch_norm_no_running", lambda lib, x, w: nnf(lib).batch_norm(x, None, None, w,
                                                                   training=True),
    f((4, 3, 2)), f((3,)), **BNT)
add("batch_norm_no_affine_train", lambda lib, x: _bn(lib, x, None, None, True), f((5, 2)),
    **BNT)
# conv -> BatchNorm -> ReLU as in ResNet (the fused batch-norm primitives), and a batch of
# 1x1 maps (4 values per channel: the statistics amplify rounding differences)
add("batch_norm_train_relu", lambda lib, x, w, bb: nnf(lib).relu(_bn(lib, x, w, bb, True)[0]),
    f(sz((2, 3, 3, 2), (8, 6, 5, 5))), f(sz((3,), (6,))), f(sz((3,), (6,))), **BNT)
add("batch_norm_train_1x1", lambda lib, x, w, bb: _bn(lib, x, w, bb, True),
    f(sz((4, 3, 1, 1), (4, 16, 1, 1))), f(sz((3,), (16,))), f(sz((3,), (16,))), **BNT)


def _bn(lib, x, w, bb, training, **kw):
    c = x.shape[1]
    rm = lib.linspace(-0.5, 0.5, c)
    rv = lib.linspace(0.5, 2.0, c)
    out = nnf(lib).batch_norm(x, rm, rv, w, bb, training=training, **kw)
    return out, rm, rv


LOSS = dict(NN, **CHAIN_TOL)
LOGITS = sz((4, 5), (64, 10))
TARGET = i(sz((4,), (64,)), sz("index<5>", "index<10>"))
add("cross_entropy", lambda lib, x, t: nnf(lib).cross_entropy(x, t), f(LOGITS), TARGET, **LOSS)
add("cross_entropy_sum", lambda lib, x, t: nnf(lib).cross_entropy(x, t, reduction="sum"),
    f(LOGITS), TARGET, **LOSS)
add("cross_entropy_none", lambda lib, x, t: nnf(lib).cross_entropy(x, t, reduction="none"),
    f(LOGITS), TARGET, **LOSS)
add("cross_entropy_label_smoothing",
    lambda lib, x, t: nnf(lib).cross_entropy(x, t, label_smoothing=0.1), f(LOGITS), TARGET,
    **LOSS)
add("cross_entropy_weight", lambda lib, x, t, w: nnf(lib).cross_entropy(x, t, weight=w),
    f(LOGITS), TARGET, f(sz((5,), (10,)), "positive", False), **LOSS)
add("cross_entropy_weight_smoothing",
    lambda lib, x, t, w: nnf(lib).cross_entropy(x, t, weight=w, label_smoothing=0.2),
    f(LOGITS), TARGET, f(sz((5,), (10,)), "positive", False), **LOSS)
add("cross_entropy_ignore_index",
    lambda lib, x, t: nnf(lib).cross_entropy(x, t, ignore_index=-100), f((5, 4)),
    lit([1, -100, 3, 0, -100], "int64"), **LOSS)
add("cross_entropy_ignore_custom",
    lambda lib, x, t, w: nnf(lib).cross_entropy(x, t, weight=w, ignore_index=2,
                                                reduction="none"),
    f((5, 4)), lit([1, 2, 3, 0, 2], "int64"), f((4,), "positive", False), **LOSS)
add("cross_entropy_ignore_smoothing",
    lambda lib, x, t: nnf(lib).cross_entropy(x, t, ignore_index=0, label_smoothing=0.1),
    f((5, 4)), lit([1, 0, 3, 0, 2], "int64"), **LOSS)
add("cross_entropy_4d", lambda lib, x, t: nnf(lib).cross_entropy(x, t), f((2, 3, 2, 2)),
    i((2, 2, 2), "index<3>"), **LOSS)
add("cross_entropy_probs", lambda lib, x, p: nnf(lib).cross_entropy(x, p.softmax(1)),
    f((3, 4)), f((3, 4), grad=False), **LOSS)
add("cross_entropy_extreme", lambda lib, x, t: nnf(lib).cross_entropy(x, t),
    lit([[1000.0, 0.0, -1000.0], [-50.0, 50.0, 0.0]]), lit([2, 1], "int64"), **LOSS)
add("nll_loss", lambda lib, x, t: nnf(lib).nll_loss(x.log_softmax(1), t), f(LOGITS), TARGET,
    **LOSS)
add("nll_loss_weight_none", lambda lib, x, t, w: nnf(lib).nll_loss(x, t, weight=w,
                                                                   reduction="none"),
    f((5, 4)), i((5,), "index<4>"), f((4,), "positive", False), **LOSS)
add("nll_loss_weight_mean", lambda lib, x, t, w: nnf(lib).nll_loss(x, t, weight=w),
    f((5, 4)), i((5,), "index<4>"), f((4,), "positive", False), **LOSS)
add("nll_loss_ignore", lambda lib, x, t: nnf(lib).nll_loss(x, t, ignore_index=1,
                                                            reduction="sum"),
    f((5, 4)), lit([1, 2, 3, 1, 0], "int64"), **LOSS)
add("mse_loss", lambda lib, x, y: nnf(lib).mse_loss(x, y), f(M2), f(M2), **LOSS)
add("mse_loss_sum", lambda lib, x, y: nnf(lib).mse_loss(x, y, reduction="sum"), f(M2), f(M2),
    **LOSS)
add("mse_loss_none", lambda lib, x, y: nnf(lib).mse_loss(x, y, reduction="none"), f(M2),
    f(M2, grad=False), **LOSS)
add("one_hot", lambda lib, t: nnf(lib).one_hot(t), lit([0, 3, 1, 1], "int64"), **NN)
add("one_hot_num_classes", lambda lib, t: nnf(lib).one_hot(t, num_classes=6),
    i(sz((2, 3), (8, 9)), "index<4>"), **NN)


def _check_ids():
    seen = set()
    for c in CASES:
        if c.id in seen:
            raise ValueError(f"duplicate case id {c.id!r}")
        seen.add(c.id)


_check_ids()
BY_ID = {c.id: c for c in CASES}
