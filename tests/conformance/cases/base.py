"""What every case module shares: the case format (`Input`, `Case`, see the package
docstring), the one `CASES` list that `add` fills, input shorthands, tolerances and
common shapes."""
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

RT = REDUCE_TOL
MM = MATMUL_TOL


# a copy with x[key] = value (the indexing and non-contiguous cases)
def _setitem(x, key, value):
    y = x * 1
    y[key] = value
    return y
