"""Tensor: a backend buffer plus autograd bookkeeping, with PyTorch's API.

This file holds what makes a tensor (construction, properties, the autograd hooks, device
and dtype conversions, read-back); the core ops come from the topic mixins it inherits (see
__init__.py), the rest of torch's API is attached from distml/_composed_ops/. Every op is
composed from the differentiable primitives in distml/function.py; no method reads values
back to the host except item(), tolist(), numpy(), printing and the data-dependent cases
that say so (boolean-mask indexing).
"""
import math
import weakref
from array import array

from .. import function
from ..autograd import backward as _run_backward
from ..device import get_device
from ..dtypes import bool_, dtype as _dtype_cls, float32, get_dtype, int64
from .arithmetic import ArithmeticOps
from .host import (_flatten_nested, _from_numpy, _infer_dtype, _is_numpy_array, _is_plain_data,
                   _nest)
from .indexing import IndexingOps
from .inplace import InplaceOps
from .movement import MovementOps
from .printing import tensor_repr
from .reductions import ReductionOps
from .shapes import Size, _normalize_dim
from .unary import UnaryOps


class Tensor(ArithmeticOps, UnaryOps, ReductionOps, MovementOps, IndexingOps, InplaceOps):
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
            buf = function.transfer(data._backend, be, data._buf)
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

    @staticmethod
    def _wrap(buf, be, dev, requires_grad=False):
        """A plain Tensor holding buf: what every op returns, also for a Parameter's ops, and
        how the floors below (autograd, the mixins) build tensors without importing this."""
        t = Tensor.__new__(Tensor)
        Tensor._init(t, buf, be, dev, False)
        t.requires_grad = requires_grad
        return t

    @staticmethod
    def _make_subclass(cls, data, requires_grad=False):
        """An instance of the Tensor subclass cls sharing data's buffer (torch's name)."""
        obj = Tensor.__new__(cls)
        Tensor._init(obj, data._buf, data._backend, data.device, False)
        obj.requires_grad_(bool(requires_grad))
        return obj

    @staticmethod
    def _from_host(data, dtype=None, device=None):
        """distml.tensor(data, ...) of host data (numbers, lists, numpy arrays), for the
        mixins below this file."""
        t = Tensor.__new__(Tensor)
        t._from_data(data, dtype, device, False)
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

    def size(self, dim=None):
        if dim is None:
            return self.shape
        return self.shape[_normalize_dim(dim, self.ndim)]

    def numel(self):
        return math.prod(self.shape)

    @property
    def is_leaf(self):
        return self._ctx is None

    @property
    def grad_fn(self):
        return self._ctx

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
        if gradient is not None and not isinstance(gradient, Tensor):
            gradient = Tensor(gradient, device=self.device)
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
        return np.array(self._backend.to_numpy(self._buf), copy=True)

    def to_bytes(self):
        """The values as little-endian raw bytes, row-major (float32: 4 bytes each, int64:
        8, bool: 1), read back from the device: what files and the wire codec store."""
        return self._backend.to_bytes(self._buf)

    @staticmethod
    def from_bytes(data, shape, dtype, device=None):
        """A tensor of shape and dtype holding to_bytes()'s layout, on device."""
        dev = get_device(device)
        return Tensor._wrap(dev.backend.from_bytes(bytes(data), tuple(shape),
                                                   get_dtype(dtype).name), dev.backend, dev)

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
        return tensor_repr(self)

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
            # also when another backend now serves the device (distml.set_cpu_backend)
            if dev != self.device or dev.backend is not self._backend:
                out = function.To.apply(out, device=dev)
        if dtype is not None:
            out = out.type(dtype)
        return out

    def type(self, dtype=None):
        if dtype is None:
            return f"distml.{self.dtype.name}"
        dtype = get_dtype(dtype)
        if dtype is self.dtype:
            return self
        if self.requires_grad and dtype.is_floating_point:
            return function.Cast.apply(self, dtype=dtype.name)
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


def is_size_args(args):
    """Whether constructor arguments are a shape: ints (not bools) or one Size."""
    if len(args) == 1 and isinstance(args[0], Size):
        return True
    return bool(args) and all(isinstance(a, int) and not isinstance(a, bool) for a in args)


def legacy_new(dtype, args, device=None):
    """torch's legacy constructor (Tensor(2, 3), Tensor([1, 2]), FloatTensor(...)): a shape
    makes an uninitialised (here zero) tensor, one piece of data a copy of it as dtype."""
    if not args or is_size_args(args):
        shape = (0,) if not args else tuple(args[0]) if isinstance(args[0], Size) else args
        if any(s < 0 for s in shape):
            raise RuntimeError(f"Trying to create tensor with negative dimension "
                               f"{min(shape)}: {list(shape)}")
        dev = get_device(device)
        shape = tuple(int(s) for s in shape)
        return Tensor._wrap(dev.backend.full(shape, 0, get_dtype(dtype).name), dev.backend, dev)
    if len(args) != 1:
        raise TypeError(f"new(): invalid arguments: expected a shape (ints) or one sequence "
                        f"of data, got {len(args)} arguments")
    data = args[0]
    if isinstance(data, Tensor):
        return data.detach().to(device=device or data.device, dtype=dtype)
    return Tensor._from_host(data, dtype, device)
