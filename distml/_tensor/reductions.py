"""Reductions over dims through their Functions: sum, prod, max/min (with indices),
amax/amin, argmax/argmin, all/any.
"""
from collections import namedtuple

from .. import function
from ..dtypes import bool_, int64
from .base import TensorBase
from .shapes import _normalize_dim, _normalize_dims

_minmax = namedtuple("return_types", ["values", "indices"])


class ReductionOps(TensorBase):
    __slots__ = ()

    def sum(self, dim=None, keepdim=False, dtype=None):
        t = self.type(dtype) if dtype is not None else self
        if t.dtype is bool_:
            t = t.long()
        axes = _normalize_dims(dim, t.ndim)
        return function.Sum.apply(t, axes=axes, keepdim=keepdim)

    def prod(self, dim=None, keepdim=False):
        axes = _normalize_dims(dim, self.ndim)
        if self.dtype.is_floating_point:
            return function.Prod.apply(self, axes=axes, keepdim=keepdim)
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
        if isinstance(dim, TensorBase):
            return self.maximum(dim)
        return self._extreme(function.Amax, "argmax", dim, keepdim)

    def min(self, dim=None, keepdim=False):
        if isinstance(dim, TensorBase):
            return self.minimum(dim)
        return self._extreme(function.Amin, "argmin", dim, keepdim)

    def amax(self, dim=None, keepdim=False):
        return function.Amax.apply(self, axes=_normalize_dims(dim, self.ndim), keepdim=keepdim)

    def amin(self, dim=None, keepdim=False):
        return function.Amin.apply(self, axes=_normalize_dims(dim, self.ndim), keepdim=keepdim)

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
