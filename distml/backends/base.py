"""The primitive interface every backend implements: `Backend`, an abstract base class.

Everything in distml (autograd functions, losses, BatchNorm, optimizers) is composed
from these methods. A backend implements the abstract methods (the true primitives) and
declares its capabilities; every other method has a default composed from the
primitives, which a backend may override with a faster kernel. So a new backend is one
file plus `distml.backends.register(name, factory)`.

A *buffer* is the backend's own opaque array object (a numpy array, a flat pure-Python
array, a WebGL texture). Buffers are never mutated after they are returned: every method
returns a new buffer (or a view that shares memory but is itself never written). That
makes saved tensors in the autograd graph safe without version counters, and maps onto
GPUs, where a shader cannot read and write the same texture.

No method may assume it can read values back on the host except `to_list`/`to_bytes`,
which are the explicit read-back points.

Conventions
- dtype is one of the strings "float32", "int64", "bool".
- shape is a tuple of ints; () is a scalar (0-d) buffer.
- Elementwise methods broadcast their inputs numpy-style.
- axes for reductions are non-negative ints, sorted, unique.
"""
import abc
import math
from types import SimpleNamespace

from . import composed, update_rules
from .geometry import (  # noqa: F401 - re-exported: the backends' shared shape arithmetic
    as_pair,
    avg_pool_divisors,
    avg_pool_ranges,
    broadcast_shape,
    broadcast_strides,
    collapse,
    contiguous_strides,
    conv_geometry,
    conv_output_size,
    pool_geometry,
    pool_output_size,
    promote_names,
    reduced_shapes,
    useful_taps,
)
from .hostvalues import array_from_bytes, array_to_bytes, check_count, typed_array

UNARY_OPS = (
    "neg", "exp", "log", "sqrt", "rsqrt", "abs", "sign", "relu", "sigmoid", "tanh",
    "erf", "sin", "cos", "reciprocal", "floor", "ceil", "round", "logical_not",
)
# unary ops whose result is float32 whatever the input dtype (int64 inputs are cast first)
FLOAT_UNARY_OPS = frozenset(
    ("exp", "log", "sqrt", "rsqrt", "sigmoid", "tanh", "erf", "sin", "cos", "reciprocal"))
# pow: x ** y (float). maximum/minimum: elementwise. Comparisons return "bool".
# div on int64 inputs is true division (returns float32), as in torch.
# floordiv/mod follow Python/torch floor semantics.
BINARY_OPS = (
    "add", "sub", "mul", "div", "pow", "maximum", "minimum", "floordiv", "mod",
    "lt", "le", "gt", "ge", "eq", "ne", "logical_and", "logical_or",
)
COMPARISON_OPS = ("lt", "le", "gt", "ge", "eq", "ne", "logical_and", "logical_or")
REDUCE_OPS = ("sum", "max", "min", "prod")
# fused ops: Backend composes each from the primitives, so a backend may leave them
FUSED_OPS = ("batch_norm_train", "batch_norm_train_backward", "sgd_update", "adam_update",
             "optimizer_step")
CONV_POOL_OPS = ("conv2d", "conv2d_grad_input", "conv2d_grad_weight", "max_pool2d",
                 "max_pool2d_grad", "avg_pool2d", "avg_pool2d_grad")
# every method with a composed default a backend may override (see Backend.overrides)
COMPOSED_OPS = FUSED_OPS + CONV_POOL_OPS + (
    "cat", "from_bytes", "to_bytes", "arange", "random", "from_numpy", "to_numpy")


class Backend(abc.ABC):
    name = "abstract"

    # -- capabilities: what code above the backends may rely on --------------------------
    # buffers live in host memory, so reading values back is cheap: value checks that
    # torch performs (indices in range, targets valid) run only on such backends
    host_resident = False
    # from_numpy/to_numpy hand numpy arrays over without a byte copy (else they go
    # through to_bytes/from_bytes)
    host_arrays = False
    # a Linear's weight gradient comes out contiguous when computed as (g^T a)^T (the
    # same sums): worth it where a strided read costs a texel fetch per value (webgl)
    grad_in_operand_layout = False
    # names in COMPOSED_OPS this backend implements itself (set for every subclass)
    overrides = frozenset()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.overrides = frozenset(op for op in COMPOSED_OPS
                                  if getattr(cls, op) is not getattr(Backend, op))

    def __repr__(self):
        return f"<{type(self).__name__} {self.name!r}>"

    # -- buffers and transfer ------------------------------------------------------------
    @abc.abstractmethod
    def shape(self, buf):
        """Shape tuple of a buffer."""

    @abc.abstractmethod
    def dtype(self, buf):
        """dtype string of a buffer."""

    @abc.abstractmethod
    def from_list(self, flat, shape, dtype):
        """Buffer from a flat sequence of Python numbers (row-major) or an `array.array`."""

    @abc.abstractmethod
    def to_list(self, buf):
        """Flat row-major list of Python numbers (the read-back point)."""

    def from_bytes(self, data, shape, dtype):
        """Buffer from little-endian raw bytes (float32: 4 bytes, int64: 8, bool: 1)."""
        values = array_from_bytes(data, dtype)
        check_count("from_bytes", len(values), shape)
        return self.from_list(values, tuple(shape), dtype)

    def to_bytes(self, buf):
        """Little-endian raw bytes, row-major (the read-back point for files and sockets)."""
        return array_to_bytes(typed_array(self.to_list(buf), self.dtype(buf)))

    def from_numpy(self, arr, dtype):
        """Buffer from a C-contiguous numpy array of dtype's type (owned by the buffer)."""
        return self.from_bytes(arr.astype(arr.dtype.newbyteorder("<")).tobytes(),
                               tuple(arr.shape), dtype)

    def to_numpy(self, buf):
        """A numpy array of buf's values (may share memory with buf: do not write it)."""
        import numpy as np  # only called where numpy is importable
        np_dtype = {"float32": np.float32, "int64": np.int64, "bool": np.bool_,
                    "float64": np.float64}[self.dtype(buf)]
        return np.frombuffer(self.to_bytes(buf), dtype=np.dtype(np_dtype).newbyteorder("<")
                             ).astype(np_dtype).reshape(self.shape(buf))

    # -- creation --------------------------------------------------------------------------
    @abc.abstractmethod
    def full(self, shape, value, dtype):
        """Buffer of `shape` filled with value."""

    def arange(self, start, stop, step, dtype):
        n = max(0, math.ceil((stop - start) / step))
        if dtype == "float32":
            values = [start + i * step for i in range(n)]
        else:
            values = [int(start + i * step) for i in range(n)]
        return self.from_list(values, (n,), dtype)

    def random(self, shape, kind, seed, offset):
        """float32 buffer of counter-based random numbers (see distml/random.py).

        kind is "uniform" ([0, 1)) or "normal" (mean 0, std 1). Element i (row-major) is
        distml.random.uniform_at(seed, offset + i) or normal_at(seed, offset + i), so all
        backends produce the same numbers for the same seed.
        """
        from .. import random as rnd
        if kind not in ("uniform", "normal"):
            raise ValueError(f"unknown random kind {kind!r}")
        at = rnd.uniform_at if kind == "uniform" else rnd.normal_at
        n = math.prod(shape)
        return self.from_list([at(seed, (offset + i) & rnd.MASK) for i in range(n)],
                              tuple(shape), "float32")

    @abc.abstractmethod
    def cast(self, x, dtype):
        """x converted to dtype (float -> int truncates toward zero; nonzero -> True)."""

    # -- elementwise -----------------------------------------------------------------------
    @abc.abstractmethod
    def unary(self, op, x):
        """op in UNARY_OPS; FLOAT_UNARY_OPS return float32."""

    @abc.abstractmethod
    def binary(self, op, x, y):
        """x and y are buffers of this backend (same dtype unless op is a comparison)."""

    @abc.abstractmethod
    def where(self, cond, x, y):
        """cond is a bool buffer; broadcasts all three."""

    # -- reductions ------------------------------------------------------------------------
    @abc.abstractmethod
    def reduce(self, op, x, axes, keepdim):
        """op in REDUCE_OPS over the given axes (empty tuple: identity copy)."""

    @abc.abstractmethod
    def argreduce(self, op, x, axis, keepdim):
        """op "argmax" or "argmin" along one axis; int64; first index among ties."""

    # -- movement --------------------------------------------------------------------------
    @abc.abstractmethod
    def reshape(self, x, shape):
        """x's elements (row-major) in a new shape of the same size."""

    @abc.abstractmethod
    def permute(self, x, order):
        """x with its dims reordered: out dim i is x's dim order[i]."""

    @abc.abstractmethod
    def expand(self, x, shape):
        """Broadcast x (same ndim, size-1 dims only) to shape."""

    @abc.abstractmethod
    def slice(self, x, starts, stops, steps):
        """Basic strided slice, one (start, stop, step) per dim, step > 0, already clamped."""

    @abc.abstractmethod
    def slice_assign(self, x, starts, stops, steps, src):
        """Copy of x with x[slices] replaced by src (src has the slice's shape)."""

    def cat(self, xs, axis):
        """Concatenation of buffers along axis (dtypes promoted); composed from full and
        slice_assign by default."""
        return composed.cat(self, xs, axis)

    # -- indexing --------------------------------------------------------------------------
    @abc.abstractmethod
    def gather(self, x, axis, index):
        """torch.gather: out[i][j] = x[index[i][j]][j] (axis 0); index int64, same ndim."""

    @abc.abstractmethod
    def scatter_add(self, x, axis, index, src):
        """Copy of x with src added at index along axis (torch.Tensor.scatter_add)."""

    # -- linear algebra --------------------------------------------------------------------
    @abc.abstractmethod
    def matmul(self, a, b):
        """(..., M, K) @ (..., K, N) -> (..., M, N); batch dims already equal (no broadcast)."""

    # -- convolution and pooling: composed defaults (distml/backends/composed.py) ----------
    def conv2d(self, x, w, stride, padding, dilation, groups):
        """x (N, C, H, W), w (O, C/groups, KH, KW); stride/padding/dilation are (h, w) pairs."""
        return composed.conv2d(self, x, w, stride, padding, dilation, groups)

    def conv2d_grad_input(self, gy, w, x_shape, stride, padding, dilation, groups):
        return composed.conv2d_grad_input(self, gy, w, x_shape, stride, padding, dilation,
                                          groups)

    def conv2d_grad_weight(self, x, gy, w_shape, stride, padding, dilation, groups):
        return composed.conv2d_grad_weight(self, x, gy, w_shape, stride, padding, dilation,
                                           groups)

    def _cropped_kernel(self, w, crop):
        """w[:, :, i0:i1, j0:j1] for a `useful_taps` crop (a helper, not a primitive)."""
        (i0, i1), (j0, j1), _ = crop
        o, cg = self.shape(w)[:2]
        return self.slice(w, (0, 0, i0, j0), (o, cg, i1, j1), (1, 1, 1, 1))

    def max_pool2d(self, x, kernel, stride, padding, dilation, ceil_mode):
        """Returns (y, indices); indices (int64) are flat h*W+w positions in each input plane,
        as torch's max_pool2d_with_indices. Padding counts as -inf."""
        return composed.max_pool2d(self, x, kernel, stride, padding, dilation, ceil_mode)

    def max_pool2d_grad(self, gy, indices, x_shape):
        return composed.max_pool2d_grad(self, gy, indices, x_shape)

    def avg_pool2d(self, x, kernel, stride, padding, ceil_mode, count_include_pad):
        return composed.avg_pool2d(self, x, kernel, stride, padding, ceil_mode,
                                   count_include_pad)

    def avg_pool2d_grad(self, gy, x_shape, kernel, stride, padding, ceil_mode, count_include_pad):
        return composed.avg_pool2d_grad(self, gy, x_shape, kernel, stride, padding, ceil_mode,
                                        count_include_pad)

    # -- fused ops -------------------------------------------------------------------------
    def cross_entropy_fits(self, logits):
        """Whether this backend has a fused cross-entropy kernel (cross_entropy and
        cross_entropy_backward) for these logits; the default is no, and F.cross_entropy
        composes log_softmax and the gather instead."""
        return False

    # Each has a default composed from the primitives above, so every backend gets it;
    # a backend overrides it with a fused kernel where that is faster (numpy does).

    def _same_float32(self, first, *others):
        """Whether `first` and every other buffer given (None skipped) are float32 of
        first's shape: what a fused optimizer kernel handles; else the composed default."""
        shape = self.shape(first)
        return all(self.dtype(b) == "float32" and self.shape(b) == shape
                   for b in (first,) + others if b is not None)

    # two elementwise helpers of the defaults below (not primitives): a backend that runs
    # one kernel per op overrides them with a single pass (webgl)
    def _mul_add(self, x, y, z):
        """x * y + z, broadcast."""
        return self.binary("add", self.binary("mul", x, y), z)

    def _mul3(self, x, y, z):
        """(x * y) * z, broadcast."""
        return self.binary("mul", self.binary("mul", x, y), z)

    def _sum_of_products(self, x, y, axes):
        """sum(x * y) over axes, keepdim (x and y of one shape)."""
        return self.reduce("sum", self.binary("mul", x, y), axes, True)

    def batch_norm_train(self, x, weight, bias, axes, eps):
        """Training-mode batch normalization of float32 x over `axes` (all but the channel
        dim): y = (x - mean) * rsqrt(var + eps) * weight + bias, var biased.

        weight and bias are None or buffers in the statistics' keepdim shape (size 1 on
        `axes`). Returns (y, centered, mean, var, invstd): centered = x - mean (what the
        backward needs), and mean, var, invstd = rsqrt(var + eps) in the keepdim shape."""
        inv_n = self.full((), 1.0 / math.prod(self.shape(x)[a] for a in axes), "float32")
        mean = self.binary("mul", self.reduce("sum", x, axes, True), inv_n)
        centered = self.binary("sub", x, mean)
        var = self.binary("mul", self._sum_of_products(centered, centered, axes), inv_n)
        invstd = self.unary("rsqrt", self.binary("add", var, self.full((), eps, "float32")))
        scale = invstd if weight is None else self.binary("mul", invstd, weight)
        y = self.binary("mul", centered, scale) if bias is None \
            else self._mul_add(centered, scale, bias)
        return y, centered, mean, var, invstd

    def batch_norm_train_backward(self, g, centered, invstd, weight, axes):
        """Gradients of batch_norm_train through its batch statistics.

        Returns (gx, gweight, gbias); gweight and gbias in the statistics' keepdim shape
        (the backward of torch's fused kernel: with xhat = centered * invstd,
        gx = weight * invstd * (g - mean(g) - xhat * mean(g * xhat)))."""
        # = g * scale + centered * k1 + k0, with per-channel scale = weight * invstd,
        # k1 = -scale * invstd * mean(g * xhat), k0 = -scale * mean(g): two passes over g
        minus_inv_n = self.full((), -1.0 / math.prod(self.shape(g)[a] for a in axes),
                                "float32")
        gbias = self.reduce("sum", g, axes, True)
        gweight = self.binary("mul", self._sum_of_products(g, centered, axes), invstd)
        scale = invstd if weight is None else self.binary("mul", invstd, weight)
        k1 = self.binary("mul", self._mul3(scale, invstd, gweight), minus_inv_n)
        k0 = self._mul3(scale, gbias, minus_inv_n)
        gx = self._mul_add(g, scale, k0)
        return self._mul_add(centered, k1, gx), gweight, gbias

    def sgd_update(self, p, grad, momentum_buffer, lr, momentum, dampening, weight_decay,
                   nesterov, maximize):
        """One torch.optim.SGD step for one float32 parameter: returns (new p, new momentum
        buffer), the buffer None when momentum is 0. momentum_buffer is None on the first
        step (it starts as the gradient). Hyper-parameters are Python floats/bools."""
        return self.optimizer_step("sgd", dict(lr=lr, momentum=momentum, dampening=dampening,
                                               weight_decay=weight_decay),
                                   (p, grad, momentum_buffer), momentum=bool(momentum),
                                   nesterov=nesterov, maximize=maximize,
                                   weight_decay=bool(weight_decay))

    def adam_update(self, p, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, lr, beta1, beta2, eps,
                    weight_decay, decoupled, amsgrad, maximize, step):
        """One torch.optim.Adam step (AdamW's when `decoupled`) for one float32 parameter.
        The state buffers start as zeros (max_exp_avg_sq is None without amsgrad); `step`
        counts this step. Returns (new p, new exp_avg, new exp_avg_sq, new max_exp_avg_sq
        or None). Hyper-parameters are Python floats/bools."""
        return self.optimizer_step(
            "adam", dict(lr=lr, beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay,
                         step=step),
            (p, grad, exp_avg, exp_avg_sq, max_exp_avg_sq if amsgrad else None),
            weight_decay=bool(weight_decay), decoupled=decoupled, amsgrad=amsgrad,
            maximize=maximize)

    def optimizer_step(self, kind, hyper, buffers, **flags):
        """update_rules' `kind` rule ("sgd", "adam") over the buffers (None where a state
        does not exist), its constants from `hyper` and its shape from `flags`: a tuple of
        new buffers (None likewise). This default runs the rule on the primitives; webgl
        overrides it to run the same rule in one draw (numpy overrides sgd_update and
        adam_update with an in-place copy of the rules, tested bit-equal to them)."""
        ops, k, args = _Arith.bind(self, buffers[0], update_rules.constants(kind, hyper),
                                   buffers)
        return _Arith.unwrap(getattr(update_rules, kind)(ops, k, *args, **flags))


class _Arith(update_rules.Operators):
    """A buffer of a backend with Python's arithmetic operators, so that an update rule
    (backends/update_rules.py) runs on the primitives."""

    __slots__ = ("be", "buf")

    def __init__(self, be, buf):
        self.be, self.buf = be, buf

    def _binary(self, op, other):
        return _Arith(self.be, self.be.binary(op, self.buf, other.buf))

    @staticmethod
    def bind(be, like, consts, buffers):
        """(ops, constants, arguments) of a rule: a constant becomes a scalar buffer of
        like's dtype when the rule first reads it, and None stays None."""
        ops = SimpleNamespace(neg=lambda x: _Arith(be, be.unary("neg", x.buf)),
                              sqrt=lambda x: _Arith(be, be.unary("sqrt", x.buf)),
                              maximum=lambda x, y: x._binary("maximum", y))
        k = _Scalars(be, consts, be.dtype(like))
        return ops, k, [None if b is None else _Arith(be, b) for b in buffers]

    @staticmethod
    def unwrap(results):
        return tuple(None if r is None else r.buf for r in results)


class _Scalars(dict):
    """A rule's constants as scalar _Arith buffers, each made when the rule first reads it
    (only those its flags use)."""

    def __init__(self, be, consts, dtype):
        super().__init__()
        self.be, self.consts, self.dtype = be, consts, dtype

    def __missing__(self, name):
        value = self[name] = _Arith(self.be, self.be.full((), self.consts[name], self.dtype))
        return value
