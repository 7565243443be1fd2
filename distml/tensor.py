"""Tensor: a backend buffer plus autograd bookkeeping, with PyTorch's API.

Every method here is composed from the differentiable primitives in function.py; no
method reads values back to the host except item(), tolist(), numpy(), printing and
the data-dependent cases that say so (boolean-mask indexing).
"""
import math
import weakref
from array import array
from collections import namedtuple

from . import function as F
from .autograd import backward as _run_backward
from .autograd import is_grad_enabled
from .device import get_device
from .dtypes import bool_, dtype as _dtype_cls, float32, float64, get_dtype, int64, promote
from .random import seed_from_generator
from ._tensor.index_put import setitem_advanced
from ._tensor.legacy import is_size_args, legacy_new
from ._tensor.op_mixins import OP_MIXINS


class Size(tuple):
    """torch.Size: a tuple of ints with numel()."""

    def numel(self):
        return math.prod(self)

    def __repr__(self):
        return f"distml.Size({list(self)})"


_minmax = namedtuple("return_types", ["values", "indices"])


def check_same_device(tensors):
    first = tensors[0].device
    for t in tensors[1:]:
        if t.device != first:
            raise RuntimeError("Expected all tensors to be on the same device, but found at "
                               f"least two devices, {first} and {t.device}!")


def _normalize_dim(dim, ndim):
    lim = max(ndim, 1)
    if not -lim <= dim < lim:
        raise IndexError(f"Dimension out of range (expected to be in range of "
                         f"[{-lim}, {lim - 1}], but got {dim})")
    return dim % lim


def _normalize_dims(dim, ndim):
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, int):
        dim = (dim,)
    out = sorted({_normalize_dim(d, ndim) for d in dim}) if ndim else []
    return tuple(out)


def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list, Size)):
        shape = shape[0]
    return tuple(int(s) for s in shape)


def _flatten_nested(data):
    """Flatten nested lists/tuples of numbers to (flat list, shape), checking raggedness."""
    if isinstance(data, (int, float, bool)):
        return [data], ()
    if isinstance(data, Tensor):
        return data.tolist() if data.ndim == 0 else None, None
    if _is_numpy_array(data) and not data.shape:
        return [data.item()], ()
    if not (hasattr(data, "__len__") and hasattr(data, "__getitem__")) or isinstance(
            data, (str, bytes, dict)):  # a sequence (list, tuple, deque, range), as torch
        raise RuntimeError(f"Could not infer dtype of {type(data).__name__}")
    if len(data) == 0:
        return [], (0,)
    flats, shapes = [], []
    for item in data:
        if isinstance(item, Tensor):
            item = item.tolist()
        f, s = _flatten_nested(item)
        flats.append(f)
        shapes.append(s)
    if any(s != shapes[0] for s in shapes):
        raise ValueError(f"expected a rectangular sequence, got sub-shapes {shapes[0]} and "
                         f"{next(s for s in shapes if s != shapes[0])}")
    return [v for f in flats for v in f], (len(data),) + shapes[0]


def _infer_dtype(flat):
    if all(isinstance(v, bool) for v in flat) and flat:
        return bool_
    if any(isinstance(v, float) for v in flat):
        return float32
    return int64 if flat else float32


class Tensor(*OP_MIXINS):
    __slots__ = ("_buf", "_backend", "device", "shape", "dtype", "requires_grad", "grad",
                 "_ctx", "_retains_grad", "__weakref__", "__dict__")

    # -- construction --------------------------------------------------------------------
    def __init__(self, *args, dtype=None, device=None, requires_grad=False):
        # torch.Tensor(...) is the legacy constructor: a shape (ints or a Size) makes an
        # uninitialised tensor, data without a dtype is float32; distml.tensor() infers
        if not args or is_size_args(args) or (dtype is None and _is_plain_data(args[0])):
            t = legacy_new(dtype or float32, args, device)
            self._init(t._buf, t._backend, t.device, requires_grad)
            return
        if len(args) > 1:
            raise TypeError(f"Tensor(): expected one data argument, got {len(args)}")
        self._from_data(args[0], dtype, device, requires_grad)

    def _from_data(self, data, dtype, device, requires_grad):
        dev = get_device(device)
        be = dev.backend
        if isinstance(data, Tensor):
            buf = F.transfer(data._backend, be, data._buf)
            src_dtype = data.dtype
        elif _is_numpy_array(data):
            buf, src_dtype = _from_numpy(be, data, dtype)
        elif isinstance(data, array):
            src_dtype = {"f": float32, "d": float32, "q": int64, "l": int64, "i": int64,
                         "b": int64, "B": int64, "h": int64, "H": int64, "I": int64}[data.typecode]
            buf = be.from_list(data, (len(data),), src_dtype.name)
        else:
            if data is None:
                data = []
            flat, shape = _flatten_nested(data)
            src_dtype = get_dtype(dtype) if dtype is not None else _infer_dtype(flat)
            if src_dtype is bool_:
                flat = [bool(v) for v in flat]
            elif src_dtype is int64:
                flat = [int(v) for v in flat]
            else:
                flat = [float(v) for v in flat]
            buf = be.from_list(flat, shape, src_dtype.name)
        if dtype is not None and get_dtype(dtype) is not src_dtype:
            buf = be.cast(buf, get_dtype(dtype).name)
        self._init(buf, be, dev, requires_grad)

    def _init(self, buf, be, dev, requires_grad):
        self._buf = buf
        self._backend = be
        self.device = dev
        self.shape = Size(be.shape(buf))
        self.dtype = get_dtype(be.dtype(buf))
        self.grad = None
        self._ctx = None
        self._retains_grad = False
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _wrap(cls, buf, be, dev, requires_grad=False):
        t = cls.__new__(cls)
        Tensor._init(t, buf, be, dev, False)
        t.requires_grad = requires_grad
        return t

    def _new(self, buf):
        """A new tensor on this device holding buf (no graph)."""
        return Tensor._wrap(buf, self._backend, self.device)

    def _const(self, value, dtype=None):
        dtype = dtype or self.dtype
        return Tensor._wrap(self._backend.full((), value, dtype.name), self._backend, self.device)

    # -- basic properties ----------------------------------------------------------------
    @property
    def ndim(self):
        return len(self.shape)

    def dim(self):
        return len(self.shape)

    def size(self, dim=None):
        if dim is None:
            return self.shape
        return self.shape[_normalize_dim(dim, self.ndim)]

    def numel(self):
        return math.prod(self.shape)

    def nelement(self):
        return self.numel()

    def element_size(self):
        return self.dtype.itemsize

    @property
    def is_leaf(self):
        return self._ctx is None

    @property
    def grad_fn(self):
        return self._ctx

    @property
    def is_floating_point_type(self):
        return self.dtype.is_floating_point

    def is_floating_point(self):
        return self.dtype.is_floating_point

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def requires_grad_(self, requires_grad=True):
        if requires_grad and not self.dtype.is_floating_point:
            raise RuntimeError("only Tensors of floating point dtype can require gradients, "
                               f"got {self.dtype}")
        if not self.is_leaf and not requires_grad:
            raise RuntimeError("you can only change requires_grad flags of leaf variables.")
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self):
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        self._retains_grad = True
        if self._ctx is not None:
            self._ctx.retained = weakref.ref(self)

    def _accumulate_grad(self, g):
        if self.grad is None:
            self.grad = self._new(g if self._backend.shape(g) == tuple(self.shape)
                                  else self._backend.expand(g, tuple(self.shape)))
        else:
            self.grad = self._new(self._backend.binary("add", self.grad._buf, g))

    def backward(self, gradient=None, retain_graph=False):
        _run_backward(self, gradient, retain_graph)

    def detach(self):
        return self._new(self._buf)

    def detach_(self):
        self._ctx = None
        self.requires_grad = False
        return self

    @property
    def data(self):
        # a detached view: in-place ops on it (p.data.normal_()) rebind p's buffer too,
        # bypassing autograd as in torch
        return self.detach()._as_view(lambda v: self._rebind(v))

    def _rebind(self, other):
        self._buf, self._backend, self.device = other._buf, other._backend, other.device

    @data.setter
    def data(self, other):
        if not isinstance(other, Tensor):
            raise TypeError("data must be set to a Tensor")
        self._buf, self._backend, self.device = other._buf, other._backend, other.device
        self.shape, self.dtype = other.shape, other.dtype

    # -- read-back -------------------------------------------------------------------------
    def tolist(self):
        flat = self._backend.to_list(self._buf)
        if self.dtype is bool_:
            flat = [bool(v) for v in flat]
        if self.ndim == 0:
            return flat[0]
        return _nest(flat, self.shape)

    def item(self):
        if self.numel() != 1:
            raise RuntimeError(f"a Tensor with {self.numel()} elements cannot be converted "
                               "to Scalar")
        v = self._backend.to_list(self._buf)[0]
        return bool(v) if self.dtype is bool_ else v

    def numpy(self):
        import numpy as np
        if self.requires_grad:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. "
                               "Use tensor.detach().numpy() instead.")
        if hasattr(self._backend, "to_numpy"):
            return np.array(self._backend.to_numpy(self._buf), copy=True)
        np_dtype = {"float32": np.float32, "int64": np.int64, "bool": np.bool_,
                    "float64": np.float64}[self.dtype.name]
        return np.frombuffer(self._backend.to_bytes(self._buf), dtype=np_dtype).reshape(
            self.shape).copy()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        if self.numel() != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return bool(self.item())

    def __index__(self):
        if self.dtype.is_floating_point or self.numel() != 1:
            raise TypeError("only integer tensors of a single element can be converted "
                            "to an index")
        return int(self.item())

    def __repr__(self):
        body = _format(self.tolist(), self.dtype)
        extras = []
        if self.dtype not in (float32, int64, bool_) or (self.dtype is int64 and self.numel() == 0):
            extras.append(f"dtype={self.dtype}")
        if self.device.type != "cpu":
            extras.append(f"device='{self.device}'")
        if self._ctx is not None:
            extras.append(f"grad_fn=<{type(self._ctx).__name__}Backward>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        inner = ", ".join([body] + extras)
        return f"tensor({inner})"

    __str__ = __repr__

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.shape[0]))

    def __hash__(self):
        return id(self)

    # -- device and dtype ----------------------------------------------------------------
    def to(self, *args, **kwargs):
        dev, dtype = kwargs.pop("device", None), kwargs.pop("dtype", None)
        for a in args:
            if isinstance(a, Tensor):
                dev, dtype = a.device, a.dtype
            elif isinstance(a, _dtype_cls) or a in (float, int, bool):
                dtype = a
            elif isinstance(a, str) and a in ("float32", "int64", "bool", "float", "long",
                                              "float64", "double"):
                dtype = a
            else:
                dev = a
        out = self
        if dev is not None:
            dev = get_device(dev)
            if dev != self.device:
                out = F.To.apply(out, device=dev)
        if dtype is not None:
            out = out.type(dtype)
        return out

    def cpu(self):
        return self.to("cpu")

    def type(self, dtype=None):
        if dtype is None:
            return f"distml.{self.dtype.name}"
        dtype = get_dtype(dtype)
        if dtype is self.dtype:
            return self
        if self.requires_grad and dtype.is_floating_point:
            return F.Cast.apply(self, dtype=dtype.name)
        return self._new(self._backend.cast(self._buf, dtype.name))

    def float(self):
        return self.type(float32)

    def long(self):
        return self.type(int64)

    def int(self):
        return self.type(int64)

    def bool(self):
        return self.type(bool_)

    def clone(self):
        return self + 0 if self.dtype is not bool_ else self._new(self._buf)

    def contiguous(self):
        return self

    def is_contiguous(self):
        return True

    # -- arithmetic ----------------------------------------------------------------------
    def _operand(self, other):
        """Turn a Python number into a 0-d tensor (weakly typed, like torch's scalars)."""
        if isinstance(other, Tensor):
            return other
        if isinstance(other, bool):
            return self._const(other, bool_)
        if isinstance(other, int):
            return self._const(other, int64 if self.dtype is not float32 else float32)
        if isinstance(other, float):
            return self._const(other, float32)
        if _is_numpy_array(other) or isinstance(other, (list, tuple)):
            return tensor(other, device=self.device)
        raise TypeError(f"unsupported operand type: {type(other).__name__}")

    def _binary(self, fn, other, reverse=False, op_dtype=None):
        other = self._operand(other)
        a, b = (other, self) if reverse else (self, other)
        dtype = op_dtype or _result_dtype(a, b)
        a, b = a.type(dtype), b.type(dtype)
        _check_broadcast(a.shape, b.shape)
        return fn.apply(a, b)

    def _compare(self, op, other):
        other = self._operand(other)
        dtype = promote(self.dtype, other.dtype)
        a, b = self.type(dtype), other.type(dtype)
        _check_broadcast(a.shape, b.shape)
        return self._new(self._backend.binary(op, a._buf, b._buf))

    def __add__(self, o):
        return self._binary(F.Add, o)

    def __radd__(self, o):
        return self._binary(F.Add, o, True)

    def __sub__(self, o):
        return self._binary(F.Sub, o)

    def __rsub__(self, o):
        return self._binary(F.Sub, o, True)

    def __mul__(self, o):
        return self._binary(F.Mul, o)

    def __rmul__(self, o):
        return self._binary(F.Mul, o, True)

    def __truediv__(self, o):
        o = self._operand(o)
        return self._binary(F.Div, o, op_dtype=_div_dtype(self, o))

    def __rtruediv__(self, o):
        o = self._operand(o)
        return self._binary(F.Div, o, True, op_dtype=_div_dtype(self, o))

    def __floordiv__(self, o):
        return self._int_op("floordiv", o)

    def __rfloordiv__(self, o):
        return self._int_op("floordiv", o, True)

    def __mod__(self, o):
        return self._int_op("mod", o)

    def __rmod__(self, o):
        return self._int_op("mod", o, True)

    def _int_op(self, op, o, reverse=False):
        o = self._operand(o)
        a, b = (o, self) if reverse else (self, o)
        dtype = promote(a.dtype, b.dtype)
        a, b = a.type(dtype), b.type(dtype)
        _check_broadcast(a.shape, b.shape)
        if op == "mod" and dtype.is_floating_point:
            return F.Mod.apply(a, b)  # differentiable, as torch.remainder
        return self._new(self._backend.binary(op, a._buf, b._buf))

    def __pow__(self, o):
        if isinstance(o, (int, float)) and not isinstance(o, bool) and \
                self.dtype.is_floating_point:
            o = float(o)
        return self._binary(F.Pow, o)

    def __rpow__(self, o):
        return self._binary(F.Pow, o, True)

    def __neg__(self):
        return F.Neg.apply(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return self.abs()

    def __matmul__(self, o):
        return matmul(self, o)

    def matmul(self, o):
        return matmul(self, o)

    def __rmatmul__(self, o):
        return matmul(self._operand(o), self)

    def __invert__(self):
        if self.dtype is not bool_:
            raise TypeError("~ is only supported for bool tensors")
        return self._new(self._backend.unary("logical_not", self._buf))

    def __and__(self, o):
        return self._compare("logical_and", o)

    def __or__(self, o):
        return self._compare("logical_or", o)

    def __lt__(self, o):
        return self._compare("lt", o)

    def __le__(self, o):
        return self._compare("le", o)

    def __gt__(self, o):
        return self._compare("gt", o)

    def __ge__(self, o):
        return self._compare("ge", o)

    def __eq__(self, o):
        return self._compare("eq", o)

    def __ne__(self, o):
        return self._compare("ne", o)

    def add(self, other, alpha=1):
        return self + (other * alpha if alpha != 1 else other)

    def sub(self, other, alpha=1):
        return self - (other * alpha if alpha != 1 else other)

    def mul(self, other):
        return self * other

    def div(self, other):
        return self / other

    def pow(self, other):
        return self ** other

    def lt(self, o):
        return self < o

    def le(self, o):
        return self <= o

    def gt(self, o):
        return self > o

    def ge(self, o):
        return self >= o

    def eq(self, o):
        return self == o

    def ne(self, o):
        return self != o

    def equal(self, other):
        return self.shape == other.shape and bool((self == other).all())

    def maximum(self, other):
        return self._binary(F.Maximum, other)

    def minimum(self, other):
        return self._binary(F.Minimum, other)

    def logical_not(self):
        return ~self.bool()

    def logical_and(self, o):
        return self.bool() & o

    def logical_or(self, o):
        return self.bool() | o

    # -- elementwise functions -----------------------------------------------------------
    def _unary(self, fn):
        t = self if self.dtype.is_floating_point else self.float()
        return fn.apply(t)

    def exp(self):
        return self._unary(F.Exp)

    def log(self):
        return self._unary(F.Log)

    def log2(self):
        return self.log() * (1 / math.log(2))

    def log1p(self):
        return (self + 1).log()

    def expm1(self):
        return self.exp() - 1

    def sqrt(self):
        return self._unary(F.Sqrt)

    def rsqrt(self):
        return 1 / self.sqrt()

    def abs(self):
        if not self.dtype.is_floating_point:
            return self._new(self._backend.unary("abs", self._buf))
        return F.Abs.apply(self)

    def neg(self):
        return -self

    def sign(self):
        if self.dtype.is_floating_point:
            return F.Sign.apply(self)
        return self._new(self._backend.unary("sign", self._buf))

    def relu(self):
        return F.Relu.apply(self)

    def sigmoid(self):
        return self._unary(F.Sigmoid)

    def tanh(self):
        return self._unary(F.Tanh)

    def erf(self):
        return self._unary(F.Erf)

    def sin(self):
        return self._unary(F.Sin)

    def cos(self):
        return self._unary(F.Cos)

    def reciprocal(self):
        return 1 / self

    def square(self):
        return self * self

    def floor(self):
        if self.dtype.is_floating_point:
            return F.Floor.apply(self)
        return self._new(self._backend.unary("floor", self._buf))

    def ceil(self):
        if self.dtype.is_floating_point:
            return F.Ceil.apply(self)
        return self._new(self._backend.unary("ceil", self._buf))

    def round(self):
        if self.dtype.is_floating_point:
            return F.Round.apply(self)
        return self._new(self._backend.unary("round", self._buf))

    def isnan(self):
        return self != self

    def isinf(self):
        return self.abs() == math.inf

    def isfinite(self):
        return ~(self.isnan() | self.isinf())

    def clamp(self, min=None, max=None):
        if min is None and max is None:
            raise RuntimeError("clamp: At least one of 'min' or 'max' must not be None")
        # where() passes the gradient through inside [min, max], inclusive, like torch
        dtype = self.dtype  # promoted by the bounds: int.clamp(0.5) is float32, as torch
        for bound in (min, max):
            if bound is not None:
                dtype = promote(dtype, self._operand(bound).dtype)
        out = self.type(dtype)
        if min is not None:
            m = self._operand(min)
            out = where(out < m, m.type(dtype), out)
        if max is not None:
            m = self._operand(max)
            out = where(out > m, m.type(dtype), out)
        return out

    clip = clamp

    def lerp(self, end, weight):
        return self + (end - self) * weight

    def addcmul(self, t1, t2, value=1):
        return self + t1 * t2 * value

    def addcdiv(self, t1, t2, value=1):
        return self + t1 / t2 * value

    # -- reductions ----------------------------------------------------------------------
    def sum(self, dim=None, keepdim=False, dtype=None):
        t = self.type(dtype) if dtype is not None else self
        if t.dtype is bool_:
            t = t.long()
        axes = _normalize_dims(dim, t.ndim)
        return F.Sum.apply(t, axes=axes, keepdim=keepdim)

    def mean(self, dim=None, keepdim=False):
        if not self.dtype.is_floating_point:
            raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be "
                               f"floating point, but got {self.dtype}. Use .float() first.")
        axes = _normalize_dims(dim, self.ndim)
        count = math.prod(self.shape[a] for a in axes)
        return self.sum(dim=axes, keepdim=keepdim) / max(count, 1) if count else \
            self.sum(dim=axes, keepdim=keepdim) * math.nan

    def var(self, dim=None, unbiased=None, keepdim=False, correction=None):
        if correction is None:
            correction = 1 if unbiased is None or unbiased else 0
        axes = _normalize_dims(dim, self.ndim)
        count = math.prod(self.shape[a] for a in axes)
        centered = self - self.mean(dim=axes, keepdim=True)
        return (centered * centered).sum(dim=axes, keepdim=keepdim) / max(count - correction, 0)

    def std(self, dim=None, unbiased=None, keepdim=False, correction=None):
        v = self.var(dim, unbiased, keepdim, correction)
        # torch's std backward is 0 where std == 0; sqrt's would give 0 * inf = nan there
        zero = v == 0
        return where(zero, v._const(0.0), where(zero, v._const(1.0), v).sqrt())

    def prod(self, dim=None, keepdim=False):
        axes = _normalize_dims(dim, self.ndim)
        if self.dtype.is_floating_point:
            return F.Prod.apply(self, axes=axes, keepdim=keepdim)
        return self._new(self._backend.reduce("prod", self._buf, axes, keepdim))

    def _extreme(self, fn, argop, dim, keepdim):
        if self.numel() == 0 and (dim is None or self.shape[_normalize_dim(dim, self.ndim)] == 0):
            raise RuntimeError(f"{argop[3:]}(): Expected reduction dim to be specified for "
                               "input.numel() == 0.")
        if dim is None:
            return fn.apply(self, axes=tuple(range(self.ndim)), keepdim=False)
        dim = _normalize_dim(dim, self.ndim)
        if self.ndim == 0:  # torch: the value itself and index 0
            return _minmax(fn.apply(self, axes=(), keepdim=False), self._const(0, int64))
        idx = self._new(self._backend.argreduce(argop, self._buf, dim, True))
        values = self.gather(dim, idx)
        if not keepdim:
            values, idx = values.squeeze(dim), idx.squeeze(dim)
        return _minmax(values, idx)

    def max(self, dim=None, keepdim=False):
        if isinstance(dim, Tensor):
            return self.maximum(dim)
        return self._extreme(F.Amax, "argmax", dim, keepdim)

    def min(self, dim=None, keepdim=False):
        if isinstance(dim, Tensor):
            return self.minimum(dim)
        return self._extreme(F.Amin, "argmin", dim, keepdim)

    def amax(self, dim=None, keepdim=False):
        return F.Amax.apply(self, axes=_normalize_dims(dim, self.ndim), keepdim=keepdim)

    def amin(self, dim=None, keepdim=False):
        return F.Amin.apply(self, axes=_normalize_dims(dim, self.ndim), keepdim=keepdim)

    def _arg(self, op, dim, keepdim):
        if dim is None:
            flat = self.reshape(-1)
            out = flat._new(self._backend.argreduce(op, flat._buf, 0, False))
            return out.reshape((1,) * self.ndim) if keepdim else out
        dim = _normalize_dim(dim, self.ndim)
        if self.ndim == 0:
            return self._const(0, int64)
        return self._new(self._backend.argreduce(op, self._buf, dim, keepdim))

    def argmax(self, dim=None, keepdim=False):
        return self._arg("argmax", dim, keepdim)

    def argmin(self, dim=None, keepdim=False):
        return self._arg("argmin", dim, keepdim)

    def all(self, dim=None, keepdim=False):
        return (self.bool().long().amin(dim, keepdim) if self.numel() else
                self._const(1, int64)).bool()

    def any(self, dim=None, keepdim=False):
        return (self.bool().long().amax(dim, keepdim) if self.numel() else
                self._const(0, int64)).bool()

    def logsumexp(self, dim, keepdim=False):
        axes = _normalize_dims(dim, self.ndim)
        m = self.detach().amax(axes, keepdim=True)
        m = where(m.isinf(), m._const(0.0), m)  # all -inf rows: avoid inf - inf
        out = (self - m).exp().sum(axes, keepdim=True).log() + m
        return out if keepdim else out.squeeze(axes)

    def softmax(self, dim):
        if self.numel() == 0:  # nothing to normalise (torch returns the empty shape)
            return self * 1
        e = (self - self.detach().amax(dim, keepdim=True)).exp()
        return e / e.sum(dim, keepdim=True)

    def log_softmax(self, dim):
        if self.numel() == 0:
            return self * 1
        return self - self.logsumexp(dim, keepdim=True)

    def norm(self, p=2, dim=None, keepdim=False):
        if p in ("fro", 2):
            return (self * self).sum(dim, keepdim).sqrt()
        if p == 1:
            return self.abs().sum(dim, keepdim)
        if p == math.inf:
            return self.abs().amax(dim, keepdim)
        return (self.abs() ** p).sum(dim, keepdim) ** (1.0 / p)

    # -- movement ------------------------------------------------------------------------
    def reshape(self, *shape):
        shape = _shape_arg(shape)
        n = self.numel()
        if shape.count(-1) > 1:
            raise RuntimeError("only one dimension can be inferred")
        if -1 in shape:
            known = math.prod(s for s in shape if s != -1)
            if known == 0 or n % known:
                raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {n}")
            shape = tuple(n // known if s == -1 else s for s in shape)
        if math.prod(shape) != n or any(s < 0 for s in shape):
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {n}")
        if shape == tuple(self.shape):
            return self
        base = self
        return F.Reshape.apply(self, shape=shape)._as_view(
            lambda v: base._assign(v.reshape(base.shape)))

    view = reshape

    def view_as(self, other):
        return self.reshape(other.shape)

    def reshape_as(self, other):
        return self.reshape(other.shape)

    def flatten(self, start_dim=0, end_dim=-1):
        if self.ndim == 0:
            return self.reshape(1)
        s, e = _normalize_dim(start_dim, self.ndim), _normalize_dim(end_dim, self.ndim)
        if s > e:
            raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
        shape = self.shape[:s] + (math.prod(self.shape[s:e + 1]),) + self.shape[e + 1:]
        return self.reshape(shape)

    def unflatten(self, dim, sizes):
        dim = _normalize_dim(dim, self.ndim)
        return self.reshape(self.shape[:dim] + tuple(sizes) + self.shape[dim + 1:])

    def permute(self, *dims):
        dims = _shape_arg(dims)
        if len(dims) != self.ndim:
            raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input "
                               f"does not match the length of the desired ordering of "
                               f"dimensions i.e. input.dim() = {self.ndim} is not equal to "
                               f"len(dims) = {len(dims)}")
        dims = tuple(_normalize_dim(d, self.ndim) for d in dims)
        if sorted(dims) != list(range(self.ndim)):
            raise RuntimeError(f"permute(): dims {dims} are not a permutation")
        if dims == tuple(range(self.ndim)):
            return self
        inverse = tuple(sorted(range(len(dims)), key=dims.__getitem__))
        base = self
        return F.Permute.apply(self, order=dims)._as_view(
            lambda v: base._assign(v.permute(inverse)))

    def transpose(self, dim0, dim1):
        if self.ndim == 0:
            return self
        order = list(range(self.ndim))
        a, b = _normalize_dim(dim0, self.ndim), _normalize_dim(dim1, self.ndim)
        order[a], order[b] = order[b], order[a]
        return self.permute(order)

    swapaxes = transpose

    def t(self):
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                               f"{self.ndim}D")
        return self.transpose(0, 1) if self.ndim == 2 else self

    @property
    def T(self):
        return self.permute(tuple(reversed(range(self.ndim))))

    @property
    def mT(self):
        return self.transpose(-2, -1)

    def unsqueeze(self, dim):
        dim = _normalize_dim(dim, self.ndim + 1)
        return self.reshape(self.shape[:dim] + (1,) + self.shape[dim:])

    def squeeze(self, dim=None):
        if dim is None:
            return self.reshape(tuple(s for s in self.shape if s != 1))
        dims = _normalize_dims(dim, self.ndim)
        return self.reshape(tuple(s for i, s in enumerate(self.shape)
                                  if not (i in dims and s == 1)))

    def expand(self, *shape):
        shape = _shape_arg(shape)
        if len(shape) < self.ndim:
            raise RuntimeError(f"expand: the number of sizes provided ({len(shape)}) must be "
                               f"greater or equal to the number of dimensions in the tensor "
                               f"({self.ndim})")
        lead = len(shape) - self.ndim
        src = (1,) * lead + tuple(self.shape)
        out = []
        for i, (s, want) in enumerate(zip(src, shape)):
            if want == -1:
                if i < lead:
                    raise RuntimeError("expand: -1 is not allowed in a leading, new dimension")
                want = s
            if s != want and s != 1:
                raise RuntimeError(f"The expanded size of the tensor ({want}) must match the "
                                   f"existing size ({s}) at non-singleton dimension {i}. "
                                   f"Target sizes: {list(shape)}. Tensor sizes: "
                                   f"{list(self.shape)}")
            out.append(want)
        out = tuple(out)
        t = self.reshape(src) if lead else self
        if out == tuple(t.shape):
            return t
        return F.Expand.apply(t, shape=out)

    def expand_as(self, other):
        return self.expand(other.shape)

    def repeat(self, *sizes):
        sizes = _shape_arg(sizes)
        if len(sizes) < self.ndim:
            raise RuntimeError("Number of dimensions of repeat dims can not be smaller than "
                               "number of dimensions of tensor")
        src = (1,) * (len(sizes) - self.ndim) + tuple(self.shape)
        t = self.reshape(src)
        inter = []
        for s, r in zip(src, sizes):
            inter += [1, s]
        t = t.reshape(inter).expand([x for s, r in zip(src, sizes) for x in (r, s)])
        return t.reshape([s * r for s, r in zip(src, sizes)])

    def chunk(self, chunks, dim=0):
        if self.size(dim) == 0:  # torch: `chunks` empty pieces
            return tuple(self.narrow(dim, 0, 0) for _ in range(chunks))
        size = -(-self.size(dim) // chunks)
        return self.split(size, dim)

    def split(self, split_size, dim=0):
        dim = _normalize_dim(dim, self.ndim)
        n = self.shape[dim]
        if not isinstance(split_size, (list, tuple)) and (n == 0 or split_size == 0):
            if n:
                raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got "
                                   f"dimension size of {n}")
            return (self.narrow(dim, 0, 0),)
        sizes = split_size if isinstance(split_size, (list, tuple)) else \
            [min(split_size, n - i) for i in range(0, n, split_size)]
        if sum(sizes) != n:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n}")
        out, start = [], 0
        for s in sizes:
            out.append(self.narrow(dim, start, s))
            start += s
        return tuple(out)

    def narrow(self, dim, start, length):
        dim = _normalize_dim(dim, self.ndim)
        key = [slice(None)] * self.ndim
        key[dim] = slice(start, start + length)
        return self[tuple(key)]

    def unbind(self, dim=0):
        return tuple(self.select(dim, i) for i in range(self.size(dim)))

    def select(self, dim, index):
        dim = _normalize_dim(dim, self.ndim)
        return self[(slice(None),) * dim + (index,)]

    def flip(self, dims):
        out = self
        for d in _normalize_dims(dims, self.ndim):
            idx = arange(self.shape[d] - 1, -1, -1, device=self.device)
            out = out.index_select(d, idx)
        return out

    # -- indexing ------------------------------------------------------------------------
    def gather(self, dim, index):
        dim = _normalize_dim(dim, self.ndim)
        _check_index(index, "gather")
        if index.ndim != self.ndim:
            raise RuntimeError("Index tensor must have the same number of dimensions as "
                               f"input tensor ({index.ndim} vs {self.ndim})")
        for d in range(self.ndim):
            if d != dim and index.shape[d] > self.shape[d]:
                raise RuntimeError(f"Size does not match at dimension {d} expected index "
                                   f"{list(index.shape)} to be smaller than self "
                                   f"{list(self.shape)} apart from dimension {dim}")
        self._check_bounds(index, self.shape[dim], "gather")
        if index.shape != self.shape:
            # the backend primitive wants equal sizes outside `dim`: slice the input to fit
            key = tuple(slice(0, index.shape[d]) if d != dim else slice(None)
                        for d in range(self.ndim))
            src = self[key]
        else:
            src = self
        return F.Gather.apply(src, index, axis=dim)

    def scatter_add(self, dim, index, src):
        dim = _normalize_dim(dim, self.ndim)
        _check_index(index, "scatter_add")
        self._check_bounds(index, self.shape[dim], "scatter_add")
        if tuple(src.shape) != tuple(index.shape):
            src = src[tuple(slice(0, n) for n in index.shape)]
        return F.ScatterAdd.apply(self, index, src.type(self.dtype), axis=dim)

    def index_select(self, dim, index):
        dim = _normalize_dim(dim, self.ndim)
        _check_index(index, "index_select")
        if index.ndim > 1:
            raise IndexError("index_select(): Index is supposed to be a vector")
        index = index.reshape(-1)
        shape = [1] * self.ndim
        shape[dim] = index.shape[0]
        full = list(self.shape)
        full[dim] = index.shape[0]
        self._check_bounds(index, self.shape[dim], "index_select")
        return F.Gather.apply(self, index.reshape(shape).expand(full), axis=dim)

    def _check_bounds(self, index, size, op=None):
        # a cheap check where the data already lives on the host; the GPU path trusts it.
        # As torch: indexing (op None) wraps negative indices and raises IndexError;
        # gather/scatter_add/index_select want 0 <= index < size and raise RuntimeError.
        if self._backend.name in ("numpy", "python") and index.numel():
            lo, hi = index.amin().item(), index.amax().item()
            if lo < (-size if op is None else 0) or hi >= size:
                bad = hi if hi >= size else lo
                msg = f"index {bad} is out of bounds for dimension with size {size}"
                if op is None:
                    raise IndexError(msg)
                raise RuntimeError(f"{op}(): {msg}")

    def masked_fill(self, mask, value):
        value = self._operand(value).type(self.dtype)
        return where(mask, value, self)

    def where(self, condition, other):
        return where(condition, self, other)

    def __getitem__(self, key):
        return _getitem(self, key)

    def __setitem__(self, key, value):
        _setitem(self, key, value)

    # -- in-place ops: rebind the buffer (buffers are never mutated); graphs built earlier
    # keep their edge to the old value, since edges are fixed when an op runs -----------
    def _as_view(self, write_back):
        """Mark self as a view of another tensor: buffers are immutable, so where torch
        would write through shared storage, an in-place op on a view calls write_back
        with the view's new value to update its base (x[0].zero_(), w.data.normal_())."""
        self.__dict__["_write_back"] = write_back
        return self

    def _assign(self, result):
        if is_grad_enabled() and self.is_leaf and self.requires_grad:
            raise RuntimeError("a leaf Variable that requires grad is being used in an "
                               "in-place operation.")
        if tuple(result.shape) != tuple(self.shape):
            if _broadcast_shape(result.shape, self.shape) != tuple(self.shape):
                raise RuntimeError(f"output with shape {list(self.shape)} doesn't match the "
                                   f"broadcast shape {list(result.shape)}")
            result = result.expand(self.shape)
        if result.dtype is not self.dtype:
            result = result.type(self.dtype)
        if result.requires_grad and result._ctx is None and is_grad_enabled():
            # a leaf that requires grad (copy_(param)): an identity node routes grads to it
            result = F.Reshape.apply(result, shape=tuple(result.shape))
        self._buf, self._backend, self.device = result._buf, result._backend, result.device
        if result._ctx is not None:
            self._ctx, self.requires_grad = result._ctx, True
        elif self._ctx is not None and is_grad_enabled():
            # fill_/zero_/copy_ of a constant: the old graph no longer produces this value
            self._ctx, self.requires_grad = None, False
        write_back = self.__dict__.get("_write_back")
        if write_back is not None:
            write_back(self)
        return self

    def add_(self, other, alpha=1):
        return self._assign(self.add(other, alpha))

    def sub_(self, other, alpha=1):
        return self._assign(self.sub(other, alpha))

    def mul_(self, other):
        return self._assign(self * other)

    def div_(self, other):
        return self._assign(self / other)

    def pow_(self, other):
        return self._assign(self ** other)

    def clamp_(self, min=None, max=None):
        return self._assign(self.clamp(min, max))

    def addcmul_(self, t1, t2, value=1):
        return self._assign(self.addcmul(t1, t2, value))

    def addcdiv_(self, t1, t2, value=1):
        return self._assign(self.addcdiv(t1, t2, value))

    def lerp_(self, end, weight):
        return self._assign(self.lerp(end, weight))

    def sqrt_(self):
        return self._assign(self.sqrt())

    def relu_(self):
        return self._assign(self.relu())

    def neg_(self):
        return self._assign(-self)

    def exp_(self):
        return self._assign(self.exp())

    def copy_(self, src):
        src = src if isinstance(src, Tensor) else Tensor(src)
        return self._assign(src.to(self.device))

    def zero_(self):
        return self.fill_(0)

    def fill_(self, value):
        return self._assign(full(self.shape, value, dtype=self.dtype, device=self.device))

    def masked_fill_(self, mask, value):
        return self._assign(self.masked_fill(mask, value))

    def uniform_(self, a=0.0, b=1.0, generator=None):
        return self._assign(rand(self.shape, generator=generator, device=self.device)
                            * (b - a) + a)

    def normal_(self, mean=0.0, std=1.0, generator=None):
        return self._assign(randn(self.shape, generator=generator, device=self.device)
                            * std + mean)

    def bernoulli_(self, p=0.5, generator=None):
        return self._assign((rand(self.shape, generator=generator, device=self.device) < p)
                            .float())

    def __iadd__(self, o):
        return self.add_(o)

    def __isub__(self, o):
        return self.sub_(o)

    def __imul__(self, o):
        return self.mul_(o)

    def __itruediv__(self, o):
        return self.div_(o)


# -- helpers for tensors -----------------------------------------------------------------

def _is_numpy_array(x):
    """An ndarray or numpy scalar, recognised without importing numpy."""
    return type(x).__module__ == "numpy" and hasattr(x, "dtype") and hasattr(x, "shape")


def _from_numpy(be, arr, dtype):
    import numpy as np
    arr = np.asarray(arr)
    kind = arr.dtype.kind
    if dtype is not None:
        target = get_dtype(dtype)
    elif kind == "f":
        target = float64 if arr.dtype.itemsize == 8 else float32  # as torch
    elif kind in "iu":
        target = int64
    elif kind == "b":
        target = bool_
    else:
        raise TypeError(f"can't convert np.ndarray of type {arr.dtype}: distml supports "
                        "float, int and bool arrays")
    np_type = {"float32": np.float32, "int64": np.int64, "bool": np.bool_,
               "float64": np.float64}[target.name]
    arr = np.array(arr, dtype=np_type, order="C", copy=True)  # own it: buffers are immutable
    if hasattr(be, "from_numpy"):
        return be.from_numpy(arr, target.name), target
    return be.from_bytes(arr.astype(arr.dtype.newbyteorder("<")).tobytes(), arr.shape,
                         target.name), target


def _nest(flat, shape):
    if len(shape) == 1:
        return list(flat)
    step = math.prod(shape[1:])
    return [_nest(flat[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]


def _format(values, dtype):
    """torch-like printing: one number style for the whole tensor."""
    flat = values if isinstance(values, list) else [values]
    while flat and isinstance(flat[0], list):
        flat = [v for row in flat for v in row]
    finite = [abs(v) for v in flat if isinstance(v, float) and math.isfinite(v)]
    integral = all(float(v).is_integer() for v in finite)
    sci = bool(finite) and (max(finite) >= 1e8 or 0 < min(v for v in finite if v) < 1e-4
                            if any(finite) else False)

    def fmt(v):
        if dtype is bool_:
            return str(bool(v))
        if dtype is int64:
            return str(v)
        if v != v:
            return "nan"
        if v in (math.inf, -math.inf):
            return "inf" if v > 0 else "-inf"
        if sci:
            return f"{v:.4e}"
        return f"{v:.0f}." if integral else f"{v:.4f}"

    def rec(x, depth):
        if not isinstance(x, list):
            return fmt(x)
        if x and isinstance(x[0], list):
            return "[" + (",\n" + " " * (8 + depth)).join(rec(i, depth + 1) for i in x) + "]"
        return "[" + ", ".join(fmt(i) for i in x) + "]"
    return rec(values, 0)


def _broadcast_shape(a, b):
    out = []
    for i in range(1, max(len(a), len(b)) + 1):
        x = a[-i] if i <= len(a) else 1
        y = b[-i] if i <= len(b) else 1
        if x != y and x != 1 and y != 1:
            return None
        out.append(max(x, y) if x != 0 and y != 0 else 0)
    return tuple(reversed(out))


def _div_dtype(a, b):
    """True division's result dtype: the operands' floating dtype, else float32."""
    dtype = _result_dtype(a, b)
    return dtype if dtype.is_floating_point else float32


def _category(dtype):
    return 2 if dtype.is_floating_point else 1 if dtype is int64 else 0


def _result_dtype(a, b):
    """torch's promotion: a 0-d tensor (or Python scalar) takes part only when it is of a
    higher category (bool < int < float) than the tensor with dims (float32 x + 0-d
    float64 is float32; int x + 0-d float64 is float64)."""
    if a.ndim and not b.ndim and _category(b.dtype) <= _category(a.dtype):
        return a.dtype
    if b.ndim and not a.ndim and _category(a.dtype) <= _category(b.dtype):
        return b.dtype
    return promote(a.dtype, b.dtype)


def _check_broadcast(a, b):
    if _broadcast_shape(a, b) is None:
        raise RuntimeError(f"The size of tensor a ({list(a)}) must match the size of tensor b "
                           f"({list(b)}): shapes {list(a)} and {list(b)} are not broadcastable")


def _check_index(index, name):
    if not isinstance(index, Tensor) or index.dtype is not int64:
        raise RuntimeError(f"{name}(): Expected dtype int64 for index, got "
                           f"{getattr(index, 'dtype', type(index).__name__)}")


def _getitem(x, key):
    if not isinstance(key, tuple):
        key = (key,)
    # a bool tensor as the whole index: data-dependent shape, so read the mask back
    if len(key) == 1 and isinstance(key[0], Tensor) and key[0].dtype is bool_:
        mask = key[0]
        if tuple(mask.shape) != tuple(x.shape[:mask.ndim]):
            raise IndexError(f"The shape of the mask {list(mask.shape)} does not match the "
                             f"shape of the indexed tensor {list(x.shape)}")
        flat = mask.reshape(-1).tolist()
        idx = tensor([i for i, m in enumerate(flat) if m], dtype=int64, device=x.device)
        return x.reshape((-1,) + tuple(x.shape[mask.ndim:])).index_select(0, idx)
    n_real = sum(1 for k in key if k is not None and k is not Ellipsis)
    if sum(1 for k in key if k is Ellipsis) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if n_real > x.ndim:
        raise IndexError(f"too many indices for tensor of dimension {x.ndim}")
    expanded = []
    for k in key:
        if k is Ellipsis:
            expanded += [slice(None)] * (x.ndim - n_real)
        else:
            expanded.append(k)
    if not any(k is Ellipsis for k in key):
        expanded += [slice(None)] * (x.ndim - n_real)
    starts, stops, steps, out_shape = [], [], [], []
    advanced = []  # (position in out_shape, index tensor)
    dim = 0
    for k in expanded:
        if k is None:
            out_shape.append(1)
            continue
        size = x.shape[dim]
        if isinstance(k, Tensor) and k.dtype is bool_:
            if k.ndim != 1 or k.shape[0] != size:
                raise IndexError(f"The shape of the mask {list(k.shape)} at index {dim} does "
                                 f"not match the shape of the indexed tensor {list(x.shape)}; "
                                 "a mask combined with other indices must be 1-D")
            # data-dependent shape: read the mask back, as the sole-mask path does
            k = tensor([j for j, m in enumerate(k.tolist()) if m], dtype=int64, device=x.device)
        if isinstance(k, (list, tuple)) or _is_numpy_array(k):
            k = tensor(k, dtype=int64, device=x.device)
        if isinstance(k, Tensor) and k.ndim == 0 and k.dtype is int64:
            k = k.item()
        if isinstance(k, bool):
            raise IndexError("bool scalars are not supported as indices")
        if isinstance(k, int):
            if not -size <= k < size:
                raise IndexError(f"index {k} is out of bounds for dimension {dim} with "
                                 f"size {size}")
            k %= size
            starts.append(k)
            stops.append(k + 1)
            steps.append(1)
        elif isinstance(k, slice):
            if k.step is not None and k.step <= 0:
                raise ValueError("step must be greater than zero")
            a, b, s = k.indices(size)
            b = max(a, b)
            starts.append(a)
            stops.append(b)
            steps.append(s)
            out_shape.append(len(range(a, b, s)))
        elif isinstance(k, Tensor):
            _check_index(k, "index")
            starts.append(0)
            stops.append(size)
            steps.append(1)
            advanced.append((len(out_shape), k, size))
            out_shape.append(size)
        else:
            raise IndexError(f"only integers, slices, None, Ellipsis and int64 or bool tensors "
                             f"are valid indices (got {type(k).__name__})")
        dim += 1
    out = x
    if any(a != 0 or b != n or s != 1 for a, b, s, n in zip(starts, stops, steps, x.shape)):
        out = F.Slice.apply(x, starts=tuple(starts), stops=tuple(stops), steps=tuple(steps))
    if tuple(out.shape) != tuple(out_shape):
        out = out.reshape(out_shape)
    if not advanced:
        if out is x:
            return out
        return out._as_view(lambda v: _setitem(x, key, v))
    return _advanced_index(out, advanced)


def _advanced_index(x, advanced):
    positions = [p for p, _, _ in advanced]
    if positions != list(range(positions[0], positions[0] + len(positions))):
        # non-adjacent advanced indices: torch puts the result dims first
        rest = [d for d in range(x.ndim) if d not in positions]
        x = x.permute(positions + rest)
        positions = list(range(len(positions)))
    first = positions[0]
    idx_shape = ()
    for _, k, _ in advanced:
        idx_shape = _broadcast_shape(idx_shape, tuple(k.shape))
        if idx_shape is None:
            raise IndexError("shape mismatch: indexing tensors could not be broadcast together")
    linear = None
    for (_, k, size) in advanced:
        x._check_bounds(k, size)
        k = where(k < 0, k + size, k)
        linear = k if linear is None else linear * size + k
    merged = math.prod(x.shape[p] for p in positions)
    flat_x = x.reshape(x.shape[:first] + (merged,) + x.shape[first + len(positions):])
    picked = flat_x.index_select(first, linear.expand(idx_shape).reshape(-1))
    return picked.reshape(x.shape[:first] + tuple(idx_shape) +
                          x.shape[first + len(positions):])


def _setitem(x, key, value):
    value = x._operand(value) if not isinstance(value, Tensor) else value
    value = value.to(x.device).type(x.dtype)
    if isinstance(key, Tensor) and key.dtype is bool_:
        if tuple(key.shape) != tuple(x.shape[:key.ndim]):
            raise IndexError(f"The shape of the mask {list(key.shape)} does not match the "
                             f"shape of the indexed tensor {list(x.shape)}")
        if value.numel() == 1:
            # the mask covers x's leading dims: align it on the left
            cond = key.reshape(tuple(key.shape) + (1,) * (x.ndim - key.ndim))
            x._assign(where(cond, value.reshape(()), x))
            return
        # one value per selected element (or row): assign through the selected positions
        idx = tensor([i for i, m in enumerate(key.reshape(-1).tolist()) if m], dtype=int64,
                     device=x.device)
        flat = x.reshape((-1,) + tuple(x.shape[key.ndim:]))
        _setitem(flat, idx, value)
        x._assign(flat.reshape(x.shape))
        return
    keys = key if isinstance(key, tuple) else (key,)
    if any(isinstance(k, (Tensor, list, range)) or _is_numpy_array(k) for k in keys):
        setitem_advanced(x, keys, value)  # integer-array assignment (x[rows, cols] = v)
        return
    region = _getitem(x.detach(), key)
    starts, stops, steps = _slice_ranges(x, keys)
    src = value.expand(region.shape).reshape(tuple(len(range(a, b, s)) for a, b, s
                                                   in zip(starts, stops, steps)))
    x._assign(F.SliceAssign.apply(x, src, starts=starts, stops=stops, steps=steps))


def _slice_ranges(x, keys):
    n_real = sum(1 for k in keys if k is not None and k is not Ellipsis)
    starts, stops, steps = [], [], []
    dim = 0
    for k in keys:
        if k is None:
            continue
        if k is Ellipsis:
            for _ in range(x.ndim - n_real):
                starts.append(0)
                stops.append(x.shape[dim])
                steps.append(1)
                dim += 1
            continue
        size = x.shape[dim]
        if isinstance(k, int):
            k %= size
            starts.append(k)
            stops.append(k + 1)
            steps.append(1)
        else:
            a, b, s = k.indices(size)
            starts.append(a)
            stops.append(max(a, b))
            steps.append(s)
        dim += 1
    while dim < x.ndim:
        starts.append(0)
        stops.append(x.shape[dim])
        steps.append(1)
        dim += 1
    return tuple(starts), tuple(stops), tuple(steps)


# -- free functions --------------------------------------------------------------------------

def tensor(data, dtype=None, device=None, requires_grad=False):
    t = Tensor.__new__(Tensor)
    t._from_data(data, dtype, device, requires_grad)
    return t


def _is_plain_data(data):
    """Python data (not a tensor or array) that Tensor(data) reads as float32, as torch."""
    return not (isinstance(data, (Tensor, array)) or _is_numpy_array(data))


def as_tensor(data, dtype=None, device=None):
    if isinstance(data, Tensor):
        return data.to(device=device, dtype=dtype) if device or dtype else data
    return tensor(data, dtype=dtype, device=device)


def from_numpy(arr):
    return Tensor(arr)


def is_tensor(x):
    return isinstance(x, Tensor)


def _creation_device(device):
    dev = get_device(device)
    return dev, dev.backend


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    size = _shape_arg((size,) if isinstance(size, int) else tuple(size))
    if dtype is None:
        dtype = bool_ if isinstance(fill_value, bool) else \
            int64 if isinstance(fill_value, int) else float32
    dtype = get_dtype(dtype)
    dev, be = _creation_device(device)
    return Tensor._wrap(be.full(size, fill_value, dtype.name), be, dev).requires_grad_(
        requires_grad)


def _size_arg(args, size):
    """The shape of a factory call: zeros(2, 3), zeros((2, 3)) or zeros(size=(2, 3))."""
    if size is not None:
        if args:
            raise TypeError("got the size both positionally and as size=")
        return _shape_arg((size,) if isinstance(size, int) else (tuple(size),))
    return _shape_arg(args)


def zeros(*args, size=None, dtype=None, device=None, requires_grad=False):
    return full(_size_arg(args, size), 0.0 if dtype is None else 0, dtype or float32, device,
                requires_grad)


def ones(*args, size=None, dtype=None, device=None, requires_grad=False):
    return full(_size_arg(args, size), 1.0 if dtype is None else 1, dtype or float32, device,
                requires_grad)


def empty(*args, size=None, dtype=None, device=None, requires_grad=False):
    return zeros(_size_arg(args, size), dtype=dtype, device=device, requires_grad=requires_grad)


def _like(fn, x, *args, dtype=None, device=None, requires_grad=False):
    return fn(tuple(x.shape), *args, dtype=dtype or x.dtype, device=device or x.device,
              requires_grad=requires_grad)


def zeros_like(x, dtype=None, device=None, requires_grad=False):
    return _like(zeros, x, dtype=dtype, device=device, requires_grad=requires_grad)


def ones_like(x, dtype=None, device=None, requires_grad=False):
    return _like(ones, x, dtype=dtype, device=device, requires_grad=requires_grad)


def empty_like(x, dtype=None, device=None, requires_grad=False):
    return zeros_like(x, dtype=dtype, device=device, requires_grad=requires_grad)


def full_like(x, fill_value, dtype=None, device=None, requires_grad=False):
    return _like(full, x, fill_value, dtype=dtype, device=device, requires_grad=requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if dtype is None:
        dtype = float32 if any(isinstance(v, float) for v in (start, end, step)) else int64
    dtype = get_dtype(dtype)
    dev, be = _creation_device(device)
    n = max(0, math.ceil((end - start) / step))
    if dtype.is_floating_point:
        buf = be.from_list([start + i * step for i in range(n)], (n,), dtype.name) \
            if n < 4096 or not hasattr(be, "from_numpy") else \
            be.arange(start, end, step, dtype.name)
    else:
        buf = be.arange(int(start), int(end), int(step), "int64")
    return Tensor._wrap(buf, be, dev).requires_grad_(requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    vals = [start + (end - start) * i / (steps - 1) for i in range(steps)] if steps > 1 \
        else [float(start)][:steps]
    return tensor(vals, dtype=dtype or float32, device=device, requires_grad=requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    m = n if m is None else m
    return tensor([[1.0 if i == j else 0.0 for j in range(m)] for i in range(n)],
                  dtype=dtype or float32, device=device, requires_grad=requires_grad)


def _random(kind, size, generator, dtype, device, requires_grad):
    size = _shape_arg(size)
    dev, be = _creation_device(device)
    gen = seed_from_generator(generator)
    seed, offset = gen.next_draw(math.prod(size))
    t = Tensor._wrap(be.random(size, kind, seed, offset), be, dev)
    if dtype is not None and get_dtype(dtype) is float64:
        t = t.type(float64)  # the float32 draws, widened: the same numbers on every device
    elif dtype is not None and get_dtype(dtype) is not float32:
        raise RuntimeError(f"{kind} random numbers are only implemented for float32 and "
                           "float64")
    return t.requires_grad_(requires_grad)


def rand(*args, size=None, generator=None, dtype=None, device=None, requires_grad=False):
    return _random("uniform", _size_arg(args, size), generator, dtype, device, requires_grad)


def randn(*args, size=None, generator=None, dtype=None, device=None, requires_grad=False):
    return _random("normal", _size_arg(args, size), generator, dtype, device, requires_grad)


def rand_like(x, dtype=None, device=None):
    return rand(tuple(x.shape), dtype=dtype, device=device or x.device)


def randn_like(x, dtype=None, device=None):
    return randn(tuple(x.shape), dtype=dtype, device=device or x.device)


def randint(low, high=None, size=None, generator=None, dtype=None, device=None,
            requires_grad=False):
    if size is None and isinstance(high, (tuple, list, Size)):
        high, size = None, high  # torch.randint(high, size)
    if high is None:
        low, high = 0, low
    if size is None:
        raise TypeError("randint() missing the size argument")
    u = rand(tuple(size), generator=generator, device=device)
    out = (u * (high - low)).floor().long().clamp(max=high - low - 1) + low
    return out.type(dtype) if dtype is not None else out


def randperm(n, generator=None, device=None):
    """Host-side shuffle from the generator's counter stream (argsort of uniforms)."""
    keys = rand(n, generator=generator).tolist()
    order = sorted(range(n), key=keys.__getitem__)
    return tensor(order, dtype=int64, device=device)


def where(condition, input=None, other=None):
    if input is None and other is None:
        raise NotImplementedError("where(condition) with one argument is not supported; "
                                  "use nonzero()")
    if not isinstance(condition, Tensor):
        raise TypeError("where(): condition must be a Tensor")
    cond = condition if condition.dtype is bool_ else condition.bool()
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        input = cond._const(input, float32 if isinstance(input, float) else
                            int64 if isinstance(input, int) else float32)
    if not isinstance(input, Tensor):
        input = other._operand(input)
    if not isinstance(other, Tensor):
        other = input._operand(other)
    dtype = promote(input.dtype, other.dtype)
    a, b = input.type(dtype), other.type(dtype)
    shape = _broadcast_shape(_broadcast_shape(cond.shape, a.shape) or (), b.shape)
    if _broadcast_shape(cond.shape, a.shape) is None or shape is None:
        raise RuntimeError(f"where(): shapes {list(cond.shape)}, {list(a.shape)} and "
                           f"{list(b.shape)} are not broadcastable")
    check_same_device([cond, a, b])
    return F.Where.apply(cond, a, b)


def matmul(a, b):
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise TypeError("matmul(): arguments must be Tensors")
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError("both arguments to matmul need to be at least 1D, but they are "
                           f"{a.ndim}D and {b.ndim}D")
    if a.dtype is not b.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {a.dtype} "
                           f"!= {b.dtype}")
    int_result = a.dtype is int64
    if not a.dtype.is_floating_point:
        a, b = a.float(), b.float()
    a2 = a.unsqueeze(0) if a.ndim == 1 else a
    b2 = b.unsqueeze(1) if b.ndim == 1 else b
    if a2.shape[-1] != b2.shape[-2]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied "
                           f"({'x'.join(map(str, a.shape))} and {'x'.join(map(str, b.shape))})")
    batch = _broadcast_shape(a2.shape[:-2], b2.shape[:-2])
    if batch is None:
        raise RuntimeError(f"matmul: batch dimensions {list(a2.shape[:-2])} and "
                           f"{list(b2.shape[:-2])} are not broadcastable")
    if a2.shape[:-2] != batch:
        a2 = a2.expand(batch + a2.shape[-2:])
    if b2.shape[:-2] != batch and b2.ndim > 2:
        b2 = b2.expand(batch + b2.shape[-2:])
    if b2.ndim == 2 and a2.ndim > 2:
        # (..., M, K) @ (K, N): fold the batch into M, one 2-D product
        out = F.Matmul.apply(a2.reshape(-1, a2.shape[-1]), b2).reshape(
            batch + (a2.shape[-2], b2.shape[-1]))
    else:
        out = F.Matmul.apply(a2, b2)
    if a.ndim == 1:
        out = out.squeeze(-2)
    if b.ndim == 1:
        out = out.squeeze(-1)
    # int64 @ int64 is int64 in torch (computed in float32 here: exact below 2**24)
    return out.long() if int_result else out


def cat(tensors, dim=0):
    tensors = [t for t in tensors]
    if not tensors:
        raise ValueError("cat(): expected a non-empty list of Tensors")  # as torch
    # torch skips legacy empty 1-D tensors
    ref = next((t for t in tensors if not (t.ndim == 1 and t.numel() == 0)), tensors[0])
    tensors = [t for t in tensors if not (t.ndim == 1 and t.numel() == 0)] or tensors
    dim = _normalize_dim(dim, ref.ndim)
    dtype = ref.dtype
    for t in tensors:
        dtype = promote(dtype, t.dtype)
    for i, t in enumerate(tensors):
        if t.ndim != ref.ndim:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {ref.ndim} "
                               f"and {t.ndim}")
        for d in range(ref.ndim):
            if d != dim and t.shape[d] != ref.shape[d]:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {dim}. "
                                   f"Expected size {ref.shape[d]} but got size {t.shape[d]} "
                                   f"for tensor number {i} in the list.")
    tensors = [t.type(dtype) for t in tensors]
    if len(tensors) == 1:
        return tensors[0]
    return F.Cat.apply(*tensors, axis=dim)


concat = cat


def stack(tensors, dim=0):
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(tensors[0].shape)} at entry 0 and {list(t.shape)} at "
                               f"entry {i}")
    dim = _normalize_dim(dim, tensors[0].ndim + 1)
    return cat([t.unsqueeze(dim) for t in tensors], dim)


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    return bool(isclose(a, b, rtol, atol, equal_nan).all())


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    a, b = a.float(), b.float()
    close = (a - b).abs() <= atol + rtol * b.abs()
    if equal_nan:
        close = close | (a.isnan() & b.isnan())
    return close


_PASSTHROUGH = [
    "exp", "log", "sqrt", "rsqrt", "abs", "neg", "sign", "relu", "sigmoid", "tanh", "erf",
    "sin", "cos", "reciprocal", "square", "floor", "ceil", "round", "clamp", "clip",
    "isnan", "isinf", "isfinite", "sum", "mean", "var", "std", "prod", "max", "min", "amax",
    "amin", "argmax", "argmin", "all", "any", "logsumexp", "softmax", "log_softmax", "norm",
    "reshape", "flatten", "unflatten", "permute", "transpose", "swapaxes", "t", "unsqueeze",
    "squeeze", "gather", "scatter_add", "index_select", "masked_fill", "maximum", "minimum",
    "chunk", "split", "narrow", "unbind", "select", "flip", "lerp", "addcmul", "addcdiv",
    "add", "sub", "mul", "div", "pow", "lt", "le", "gt", "ge", "eq", "ne", "equal",
    "logical_not", "logical_and", "logical_or", "numel", "log2", "log1p", "expm1", "detach",
    "clone", "repeat",
]


def _make_free(name):
    method = getattr(Tensor, name)

    def fn(input, *args, **kwargs):
        return method(input, *args, **kwargs)
    fn.__name__ = name
    fn.__doc__ = f"distml.{name}(input, ...): the same as Tensor.{name}."
    return fn


FREE_FUNCTIONS = {name: _make_free(name) for name in _PASSTHROUGH}
