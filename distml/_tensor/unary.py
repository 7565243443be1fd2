"""Elementwise math on one tensor through its Function: exp, log, sqrt, abs, sign, relu,
sigmoid, tanh, erf, sin, cos, floor/ceil/round; and clamp (factories' randint uses it).
"""

from .. import function
from ..dtypes import float32, promote
from .base import TensorBase
from .free_functions import where


class UnaryOps(TensorBase):
    __slots__ = ()

    def _unary(self, fn):
        t = self if self.dtype.is_floating_point else self.float()
        return fn.apply(t)

    def exp(self):
        return self._unary(function.Exp)

    def log(self):
        return self._unary(function.Log)

    def sqrt(self):
        return self._unary(function.Sqrt)

    def abs(self):
        if not self.dtype.is_floating_point:
            return self._new(self._backend.unary("abs", self._buf))
        return function.Abs.apply(self)

    def sign(self):
        if self.dtype is float32:
            return function.Sign.apply(self)
        return self._new(self._backend.unary("sign", self._buf))

    def relu(self):
        return function.Relu.apply(self)

    def sigmoid(self):
        return self._unary(function.Sigmoid)

    def tanh(self):
        return self._unary(function.Tanh)

    def erf(self):
        return self._unary(function.Erf)

    def sin(self):
        return self._unary(function.Sin)

    def cos(self):
        return self._unary(function.Cos)

    def floor(self):
        if self.dtype.is_floating_point:
            return function.Floor.apply(self)
        return self._new(self._backend.unary("floor", self._buf))

    def ceil(self):
        if self.dtype.is_floating_point:
            return function.Ceil.apply(self)
        return self._new(self._backend.unary("ceil", self._buf))

    def round(self):
        if self.dtype.is_floating_point:
            return function.Round.apply(self)
        return self._new(self._backend.unary("round", self._buf))

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
