"""The pure-Python backend's elementwise kernels: unary, binary and comparison ops over
flat sequences of Python numbers, with torch's results for the IEEE edge cases."""
import math
import operator

from .buffer import _BIG, _INF, _M64, _NAN, _NINF, _mul

_add = operator.add
exp = math.exp
log = math.log
sqrt = math.sqrt
floor = math.floor
copysign = math.copysign
ceil = math.ceil


def _div0(a, b):
    """a / b for b == 0 with IEEE semantics."""
    if a != a or a == 0:
        return _NAN
    return copysign(_INF, a) * copysign(1.0, b)


def _is_odd_int(b):
    return b == b and abs(b) < _BIG and b == floor(b) and int(b) % 2 == 1


def _pow_safe(a, b):
    try:
        return math.pow(a, b)
    except OverflowError:
        if a < 0 and _is_odd_int(b):
            return _NINF
        return _INF
    except ValueError:
        if a == 0:  # zero to a negative power
            if _is_odd_int(b) and copysign(1.0, a) < 0:
                return _NINF
            return _INF
        return _NAN  # negative base, non-integer exponent


def _unary_float(op, xs):
    if op == "neg":
        return [-v for v in xs]
    if op == "exp":
        return [exp(v) if v < 700.0 else v * _INF for v in xs]
    if op == "log":
        return [log(v) if v > 0.0 else (_NINF if v == 0.0 else _NAN) for v in xs]
    if op == "sqrt":
        return [sqrt(v) if v >= 0.0 else _NAN for v in xs]
    if op == "rsqrt":
        return [1.0 / sqrt(v) if v > 0.0 else (copysign(_INF, v) if v == 0.0 else _NAN)
                for v in xs]
    if op == "abs":
        return list(map(abs, xs))
    if op == "sign":
        return [1.0 if v > 0.0 else (-1.0 if v < 0.0 else 0.0) for v in xs]
    if op == "relu":
        return [0.0 if v <= 0.0 else v for v in xs]
    if op == "sigmoid":
        return [1.0 / (1.0 + exp(-v)) if v >= 0.0 else (e := exp(v)) / (1.0 + e) for v in xs]
    if op == "tanh":
        return list(map(math.tanh, xs))
    if op == "erf":
        return list(map(math.erf, xs))
    if op == "sin":
        sin = math.sin
        return [sin(v) if v - v == 0.0 else _NAN for v in xs]
    if op == "cos":
        cos = math.cos
        return [cos(v) if v - v == 0.0 else _NAN for v in xs]
    if op == "reciprocal":
        return [1.0 / v if v else copysign(_INF, v) for v in xs]
    if op == "floor":
        return [floor(v) if -_BIG < v < _BIG else v for v in xs]
    if op == "ceil":
        return [ceil(v) if -_BIG < v < _BIG else v for v in xs]
    if op == "round":
        return [round(v) if -_BIG < v < _BIG else v for v in xs]
    raise ValueError(f"unknown unary op {op!r}")


def _unary_int(op, xs):
    if op == "neg":
        return [-v for v in xs]
    if op == "abs":
        return list(map(abs, xs))
    if op == "sign":
        return [(v > 0) - (v < 0) for v in xs]
    if op == "relu":
        return [0 if v <= 0 else v for v in xs]
    if op in ("floor", "ceil", "round"):
        return list(xs)
    raise ValueError(f"unknown unary op {op!r}")


# binary ops that Python's operators compute as torch does for floats and integers alike
_SAME_IN_EVERY_DTYPE = {"add": _add, "sub": operator.sub, "mul": _mul}


def _binary_float(op, xs, ys):
    if op in _SAME_IN_EVERY_DTYPE:
        return list(map(_SAME_IN_EVERY_DTYPE[op], xs, ys))
    if op == "div":
        return [a / b if b else _div0(a, b) for a, b in zip(xs, ys)]
    if op == "pow":
        try:
            return list(map(math.pow, xs, ys))
        except (ValueError, OverflowError):
            return list(map(_pow_safe, xs, ys))
    if op == "maximum":
        return [a if (a > b or a != a) else b for a, b in zip(xs, ys)]
    if op == "minimum":
        return [a if (a < b or a != a) else b for a, b in zip(xs, ys)]
    if op == "floordiv":
        # Python's float // is fmod-based exactly like torch's div_floor
        return [a // b if b else _div0(a, b) for a, b in zip(xs, ys)]
    if op == "mod":
        return [a % b if b else _NAN for a, b in zip(xs, ys)]
    raise ValueError(f"unknown binary op {op!r}")


def _binary_int(op, xs, ys):
    if op in _SAME_IN_EVERY_DTYPE:
        return list(map(_SAME_IN_EVERY_DTYPE[op], xs, ys))
    if op == "pow":
        if any(b < 0 for b in ys):
            raise ValueError("Integers to negative integer powers are not allowed.")
        return [((pow(a, b, 1 << 64) + (1 << 63)) & _M64) - (1 << 63) for a, b in zip(xs, ys)]
    if op == "maximum":
        return list(map(max, xs, ys))
    if op == "minimum":
        return list(map(min, xs, ys))
    if op == "floordiv":
        try:
            return list(map(operator.floordiv, xs, ys))
        except ZeroDivisionError:
            raise ZeroDivisionError("integer floordiv by zero") from None
    if op == "mod":
        try:
            return list(map(operator.mod, xs, ys))
        except ZeroDivisionError:
            raise ZeroDivisionError("integer mod by zero") from None
    raise ValueError(f"unknown binary op {op!r}")


def _compare(op, xs, ys):
    if op == "logical_and":
        return [(a != 0) & (b != 0) for a, b in zip(xs, ys)]
    if op == "logical_or":
        return [(a != 0) | (b != 0) for a, b in zip(xs, ys)]
    fn = {"lt": operator.lt, "le": operator.le, "gt": operator.gt, "ge": operator.ge,
          "eq": operator.eq, "ne": operator.ne}[op]
    return list(map(fn, xs, ys))
