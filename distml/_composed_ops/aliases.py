"""torch's other names for existing ops (true_divide, multiply, clamp_min, ...), and the
small dtype/shape helpers scripts call (broadcast_shapes, promote_types)."""
from .._tensor import Tensor, matmul, where
from ..dtypes import bool_, float32, int64


class AliasOps:

    def double(self):
        return self.type("float64")

    def half(self):
        raise TypeError("distml has no float16 tensors: use float() (float32) or double()")

    bfloat16 = half

    def true_divide(self, other):
        return self / other

    def divide(self, other, *, rounding_mode=None):
        if rounding_mode is None:
            return self / other
        if rounding_mode == "floor":
            return self // other
        if rounding_mode == "trunc":
            q = self / other
            q = where(q < 0, q.ceil(), q.floor())
            return q if self.dtype.is_floating_point or getattr(
                other, "dtype", int64).is_floating_point else q.long()
        raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' "
                         f"but found '{rounding_mode}'")

    def multiply(self, other):
        return self * other

    def subtract(self, other, *, alpha=1):
        return self.sub(other, alpha)

    def negative(self):
        return -self

    def absolute(self):
        return self.abs()

    def clamp_min(self, min):
        return self.clamp(min=min)

    def clamp_max(self, max):
        return self.clamp(max=max)

    def clamp_min_(self, min):
        return self.clamp_(min=min)

    def clamp_max_(self, max):
        return self.clamp_(max=max)

    def true_divide_(self, other):
        return self.div_(other)

    def greater(self, other):
        return self > other

    def less(self, other):
        return self < other

    def greater_equal(self, other):
        return self >= other

    def less_equal(self, other):
        return self <= other

    def not_equal(self, other):
        return self != other

    def fmod(self, other):
        """C's fmod: the remainder takes the dividend's sign (% takes the divisor's)."""
        r = self % other
        return where((r != 0) & ((r < 0) != (self < 0)), r - other, r)

    def xlogy(self, other):
        other = other if isinstance(other, Tensor) else self._operand(other)
        return where(self == 0, self * 0, self * other.log())

    def to_sparse(self, *args, **kwargs):
        return sparse_coo_tensor()

    to_sparse_coo = to_sparse_csr = to_sparse

    @property
    def is_sparse(self):
        return False

    def to_dense(self):
        return self

    def log10(self):
        return self.log() * 0.4342944819032518

    def matmul(self, o):
        return matmul(self, o)

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

    def logical_not(self):
        return ~self.bool()

    def logical_and(self, o):
        return self.bool() & o

    def logical_or(self, o):
        return self.bool() | o


def get_default_dtype():
    return float32


def set_default_dtype(d):
    if d is not float32:
        raise NotImplementedError(f"set_default_dtype({d}): distml's default dtype is float32 "
                                  "(create float64 tensors with dtype=distml.float64)")


def sparse_coo_tensor(*args, **kwargs):
    raise NotImplementedError("sparse tensors are out of scope in distml: use dense tensors")


def promote_types(type1, type2):
    from ..dtypes import get_dtype, promote
    return promote(get_dtype(type1), get_dtype(type2))


def result_type(a, b):
    ta = a.dtype if isinstance(a, Tensor) else \
        bool_ if isinstance(a, bool) else int64 if isinstance(a, int) else float32
    tb = b.dtype if isinstance(b, Tensor) else \
        bool_ if isinstance(b, bool) else int64 if isinstance(b, int) else float32
    return promote_types(ta, tb)


FREE = ("true_divide", "divide", "multiply", "subtract", "negative", "absolute",
        "clamp_min", "clamp_max", "greater", "less", "greater_equal", "less_equal",
        "not_equal", "fmod", "xlogy", "log10")
