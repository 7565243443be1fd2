"""Arithmetic and comparison operators (+, -, *, /, //, %, **, @, <, ==, &, ...),
maximum and minimum, with torch's type promotion (the method names add, lt, ... are
composed: distml/_composed_ops/aliases.py).
"""
from .. import function
from ..dtypes import bool_, float32, int64, promote
from .base import TensorBase
from .free_functions import matmul
from .host import _is_numpy_array
from .shapes import _check_broadcast



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

class ArithmeticOps(TensorBase):
    __slots__ = ()

    def _operand(self, other):
        """Turn a Python number into a 0-d tensor (weakly typed, like torch's scalars)."""
        if isinstance(other, TensorBase):
            return other
        if isinstance(other, bool):
            return self._const(other, bool_)
        if isinstance(other, int):
            return self._const(other, int64 if self.dtype is not float32 else float32)
        if isinstance(other, float):
            return self._const(other, float32)
        if _is_numpy_array(other) or isinstance(other, (list, tuple)):
            return self._from_host(other, device=self.device)
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
        return self._binary(function.Add, o)

    def __radd__(self, o):
        return self._binary(function.Add, o, True)

    def __sub__(self, o):
        return self._binary(function.Sub, o)

    def __rsub__(self, o):
        return self._binary(function.Sub, o, True)

    def __mul__(self, o):
        return self._binary(function.Mul, o)

    def __rmul__(self, o):
        return self._binary(function.Mul, o, True)

    def __truediv__(self, o):
        o = self._operand(o)
        return self._binary(function.Div, o, op_dtype=_div_dtype(self, o))

    def __rtruediv__(self, o):
        o = self._operand(o)
        return self._binary(function.Div, o, True, op_dtype=_div_dtype(self, o))

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
            return function.Mod.apply(a, b)  # differentiable, as torch.remainder
        return self._new(self._backend.binary(op, a._buf, b._buf))

    def __pow__(self, o):
        if isinstance(o, (int, float)) and not isinstance(o, bool) and \
                self.dtype.is_floating_point:
            o = float(o)
        return self._binary(function.Pow, o)

    def __rpow__(self, o):
        return self._binary(function.Pow, o, True)

    def __neg__(self):
        return function.Neg.apply(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return self.abs()

    def __matmul__(self, o):
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

    def maximum(self, other):
        return self._binary(function.Maximum, other)

    def minimum(self, other):
        return self._binary(function.Minimum, other)
