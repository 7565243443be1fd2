"""Pure-Python backend: the fallback that runs anywhere, including Pyodide without numpy.

A buffer is a `PyBuffer`: a flat row-major `array.array` ('f' float32, 'q' int64, 'B' bool)
plus a shape tuple and a dtype string. Storing floats in an 'f' array rounds the result of
every op to float32 (ops themselves are computed in double and rounded once on store).
Buffers are never mutated after they are returned, so `reshape`/`cast` to the same dtype may
share the underlying array.

Only the standard library is used. Hot loops are written as comprehensions / `map` over
builtins, strided copies use `array` extended slicing, and matmul/conv use dot products of
pre-transposed rows (`math.sumprod` when available, else `sum(map(mul, a, b))`).
"""
import math
import operator
import sys
from array import array

from distml import random as _rnd
from distml.backends.base import (
    COMPARISON_OPS,
    FLOAT_UNARY_OPS,
    Backend,
    avg_pool_ranges,
    collapse,
    conv_output_size,
    pool_output_size,
    useful_taps,
)
from distml.backends.base import as_pair as _pair
from distml.backends.base import broadcast_shape as _broadcast_shape
from distml.backends.base import contiguous_strides
from distml.backends.base import promote_names as _promote

_TC = {"float32": "f", "int64": "q", "bool": "B", "float64": "d"}
_INF = float("inf")
_NINF = float("-inf")
_NAN = float("nan")
_I64MIN = -(1 << 63)
_M64 = (1 << 64) - 1
_TWO63 = 9.223372036854775808e18  # 2**63 as a float
_BIG = 4503599627370496.0  # 2**52: floats at least this large are integers already
_MASK = 0xFFFFFFFF
_INV24 = 1.0 / 16777216.0
_BIG_ENDIAN = sys.byteorder == "big"

_sumprod = getattr(math, "sumprod", None)
_mul = operator.mul
_add = operator.add
exp = math.exp
log = math.log
sqrt = math.sqrt
floor = math.floor
ceil = math.ceil
copysign = math.copysign


class PyBuffer:
    """A flat row-major `array.array` with a shape and a dtype string."""

    __slots__ = ("data", "shape", "dtype")

    def __init__(self, data, shape, dtype):
        self.data = data
        self.shape = shape
        self.dtype = dtype

    def __repr__(self):
        return f"PyBuffer(shape={self.shape}, dtype={self.dtype}, data={self.data.tolist()})"


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
def _numel(shape):
    return math.prod(shape)


def _contig_strides(shape):
    return list(contiguous_strides(shape))  # a list: callers zero one stride in place


def _to_q(values):
    """int64 array from a list of Python ints, wrapping on overflow like torch."""
    try:
        return array("q", values)
    except OverflowError:
        return array("q", [((v + (1 << 63)) & _M64) - (1 << 63) for v in values])


def _make(values, dtype):
    """Array of `dtype` from a list of Python numbers already of the right kind."""
    if dtype == "float32":
        return array("f", values)
    if dtype == "float64":
        return array("d", values)
    if dtype == "int64":
        return _to_q(values)
    return array("B", [1 if v else 0 for v in values])


def _convert(data, src, dst):
    """Convert the flat array `data` from dtype src to dtype dst (a new or shared array)."""
    if src == dst:
        return data
    if dst in ("float32", "float64"):
        return array(_TC[dst], data)
    if dst == "bool":
        return array("B", [v != 0 for v in data])
    if src == "bool":
        return array("q", data)
    # float32 -> int64: truncation toward zero; nan/inf/out of range -> INT64_MIN like torch
    return array("q", [int(v) if -_TWO63 <= v < _TWO63 else _I64MIN for v in data])


def _offsets(shape, strides, base=0):
    """Flat offsets of every index (row-major over shape) of a strided view."""
    offs = [base]
    for n, s in zip(shape, strides):
        if n == 1:
            continue
        if s == 0:
            offs = [o for o in offs for _ in range(n)]
        else:
            r = range(0, n * s, s)
            offs = [o + j for o in offs for j in r]
    return offs


def _strided(data, offset, shape, strides):
    """Contiguous copy (array of the same typecode) of a strided view of `data`."""
    tc = data.typecode
    if _numel(shape) == 0:
        return array(tc)
    shp, (st,) = collapse(shape, [strides])
    if not shp:
        return array(tc, [data[offset]])
    n, s = shp[-1], st[-1]
    if len(shp) == 1 and s == 1:
        return data[offset:offset + n]
    if n <= 4:
        return array(tc, map(data.__getitem__, _offsets(shp, st, offset)))
    bases = _offsets(shp[:-1], st[:-1], offset)
    out = array(tc)
    if s == 0:
        for b in bases:
            out += array(tc, [data[b]]) * n
    else:
        span = (n - 1) * s + 1
        for b in bases:
            out += data[b:b + span:s]
    return out


def _strided_assign(out, offset, shape, strides, src):
    """Write the contiguous array `src` into the strided view of the array `out` (in place)."""
    if _numel(shape) == 0:
        return
    shp, (st,) = collapse(shape, [strides])
    if not shp:
        out[offset] = src[0]
        return
    n, s = shp[-1], st[-1]
    span = (n - 1) * s + 1
    bases = _offsets(shp[:-1], st[:-1], offset)
    k = 0
    for b in bases:
        out[b:b + span:s] = src[k:k + n]
        k += n


def _bdata(buf, out_shape):
    """buf's data broadcast to out_shape (an array or a list, row-major)."""
    if buf.shape == out_shape:
        return buf.data
    data = buf.data
    n = _numel(out_shape)
    if len(data) == 1:
        return [data[0]] * n
    shape = (1,) * (len(out_shape) - len(buf.shape)) + tuple(buf.shape)
    st = _contig_strides(shape)
    st = [0 if (shape[d] == 1 and out_shape[d] != 1) else st[d] for d in range(len(shape))]
    return _strided(data, 0, out_shape, st)


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


def _has_nan(seq):
    s = sum(seq)
    if s == s:
        return False
    return any(v != v for v in seq)


def _hash32_list(xs):
    """distml.random.hash32 over a sequence of ints already in [0, 2**32)."""
    x = [((v ^ (v >> 16)) * 0x7FEB352D) & _MASK for v in xs]
    x = [((v ^ (v >> 15)) * 0x846CA68B) & _MASK for v in x]
    return [v ^ (v >> 16) for v in x]


if _sumprod is not None:
    def _mm_rows(rows, cols):
        """[dot(r, c) for r in rows for c in cols] flat."""
        sp = _sumprod
        return [sp(r, c) for r in rows for c in cols]
else:
    def _mm_rows(rows, cols):
        mul = _mul
        return [sum(map(mul, r, c)) for r in rows for c in cols]


def _pad_image(xl, base, C, H, W, ph, pw, Hp, Wp, fill):
    """C planes of H x W (from xl[base:]) into a list of C planes Hp x Wp at offset (ph, pw)."""
    if ph == 0 and pw == 0 and Hp == H and Wp == W:
        return xl[base:base + C * H * W]
    out = [fill] * (C * Hp * Wp)
    for c in range(C):
        src = base + c * H * W
        dst = c * Hp * Wp + ph * Wp + pw
        for h in range(H):
            out[dst:dst + W] = xl[src:src + W]
            src += W
            dst += Wp
    return out


def _im2col(xp, c0, Cg, Hp, Wp, KH, KW, sh, sw, dh, dw, OH, OW):
    """Rows (c, kh, kw) of length OH*OW for channels c0..c0+Cg of a padded image list."""
    rows = []
    span = (OW - 1) * sw + 1
    step = sh * Wp
    for c in range(c0, c0 + Cg):
        cbase = c * Hp * Wp
        for kh in range(KH):
            for kw in range(KW):
                s = cbase + kh * dh * Wp + kw * dw
                row = []
                for _ in range(OH):
                    row += xp[s:s + span:sw]
                    s += step
                rows.append(row)
    return rows


def _conv_geometry(x_shape, w_shape, stride, padding, dilation, groups):
    N, C, H, W = x_shape
    CO, Cg, KH, KW = w_shape
    sh, sw = _pair(stride)
    ph, pw = _pair(padding)
    dh, dw = _pair(dilation)
    if Cg * groups != C or CO % groups != 0:
        raise ValueError(f"conv2d: bad channels/groups: x {x_shape}, w {w_shape}, g={groups}")
    OH = conv_output_size(H, KH, sh, ph, dh)
    OW = conv_output_size(W, KW, sw, pw, dw)
    return N, C, H, W, CO, Cg, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW


# ---------------------------------------------------------------------------------------------
# elementwise kernels
# ---------------------------------------------------------------------------------------------
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


def _binary_float(op, xs, ys):
    if op == "add":
        return list(map(_add, xs, ys))
    if op == "sub":
        return list(map(operator.sub, xs, ys))
    if op == "mul":
        return list(map(_mul, xs, ys))
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
    if op == "add":
        return list(map(_add, xs, ys))
    if op == "sub":
        return list(map(operator.sub, xs, ys))
    if op == "mul":
        return list(map(_mul, xs, ys))
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


# ---------------------------------------------------------------------------------------------
# the backend
# ---------------------------------------------------------------------------------------------
class PythonBackend(Backend):
    name = "python"
    host_resident = True

    # -- buffers and transfer ----------------------------------------------------------------
    def shape(self, buf):
        return buf.shape

    def dtype(self, buf):
        return buf.dtype

    def from_list(self, flat, shape, dtype):
        shape = tuple(int(s) for s in shape)
        tc = _TC[dtype]
        if isinstance(flat, array) and flat.typecode == tc and dtype != "bool":
            data = array(tc, flat)
        elif dtype in ("float32", "float64"):
            try:
                data = array(tc, flat)
            except TypeError:
                data = array(tc, [float(v) for v in flat])
        elif dtype == "int64":
            try:
                data = array("q", flat)
            except (TypeError, OverflowError):
                data = _to_q([int(v) for v in flat])
        else:
            data = array("B", [1 if v else 0 for v in flat])
        if len(data) != _numel(shape):
            raise ValueError(f"from_list: {len(data)} values for shape {shape}")
        return PyBuffer(data, shape, dtype)

    def from_bytes(self, data, shape, dtype):
        shape = tuple(int(s) for s in shape)
        arr = array(_TC[dtype])
        arr.frombytes(bytes(data))
        if _BIG_ENDIAN and arr.itemsize > 1:
            arr.byteswap()
        if dtype == "bool":
            arr = array("B", [1 if v else 0 for v in arr])
        if len(arr) != _numel(shape):
            raise ValueError(f"from_bytes: {len(arr)} values for shape {shape}")
        return PyBuffer(arr, shape, dtype)

    def to_list(self, buf):
        if buf.dtype == "bool":
            return [v != 0 for v in buf.data]
        return buf.data.tolist()

    def to_bytes(self, buf):
        if _BIG_ENDIAN and buf.data.itemsize > 1:
            arr = array(buf.data.typecode, buf.data)
            arr.byteswap()
            return arr.tobytes()
        return buf.data.tobytes()

    # -- creation ----------------------------------------------------------------------------
    def full(self, shape, value, dtype):
        shape = tuple(int(s) for s in shape)
        if dtype in ("float32", "float64"):
            v = float(value)
        elif dtype == "int64":
            v = int(value)
        else:
            v = 1 if value else 0
        return PyBuffer(array(_TC[dtype], [v]) * _numel(shape), shape, dtype)

    def arange(self, start, stop, step, dtype):
        if step == 0:
            raise ValueError("arange: step must be nonzero")
        n = max(0, math.ceil((stop - start) / step))
        if dtype in ("float32", "float64"):
            values = [start + i * step for i in range(n)]
        else:
            values = [int(start + i * step) for i in range(n)]
        return PyBuffer(_make(values, dtype), (n,), dtype)

    def random(self, shape, kind, seed, offset):
        shape = tuple(int(s) for s in shape)
        n = _numel(shape)
        if offset >= 0 and offset + n <= _MASK + 1:
            counters = range(offset, offset + n)
        else:
            counters = [(offset + i) & _MASK for i in range(n)]
        h = _hash32_list(counters)
        k0 = _rnd.stream_key(seed, 0)
        b0 = _hash32_list([k0 ^ v for v in h])
        if kind == "uniform":
            values = [(v >> 8) * _INV24 for v in b0]
        elif kind == "normal":
            k1 = _rnd.stream_key(seed, 1)
            b1 = _hash32_list([k1 ^ v for v in h])
            two_pi = _rnd.TWO_PI
            cos = math.cos
            values = [sqrt(-2.0 * log(((u >> 8) + 1) * _INV24)) * cos(two_pi * ((w >> 8) * _INV24))
                      for u, w in zip(b0, b1)]
        else:
            raise ValueError(f"unknown random kind {kind!r}")
        return PyBuffer(array("f", values), shape, "float32")

    def cast(self, x, dtype):
        if x.dtype == dtype:
            return x
        return PyBuffer(_convert(x.data, x.dtype, dtype), x.shape, dtype)

    # -- elementwise -------------------------------------------------------------------------
    def unary(self, op, x):
        dt = x.dtype
        xs = x.data
        if op == "logical_not":
            return PyBuffer(array("B", [v == 0 for v in xs]), x.shape, "bool")
        if dt == "float64":
            return PyBuffer(array("d", _unary_float(op, xs)), x.shape, "float64")
        if op in FLOAT_UNARY_OPS or dt == "float32":
            return PyBuffer(array("f", _unary_float(op, xs)), x.shape, "float32")
        return PyBuffer(_make(_unary_int(op, xs), dt), x.shape, dt)

    def binary(self, op, x, y):
        out_shape = _broadcast_shape(x.shape, y.shape)
        xs = _bdata(x, out_shape)
        ys = _bdata(y, out_shape)
        if op in COMPARISON_OPS:
            return PyBuffer(array("B", _compare(op, xs, ys)), out_shape, "bool")
        dt = _promote(x.dtype, y.dtype)
        if dt == "float64":
            return PyBuffer(array("d", _binary_float(op, xs, ys)), out_shape, "float64")
        if dt == "float32" or op == "div":
            return PyBuffer(array("f", _binary_float(op, xs, ys)), out_shape, "float32")
        return PyBuffer(_make(_binary_int(op, xs, ys), dt), out_shape, dt)

    def where(self, cond, x, y):
        out_shape = _broadcast_shape(cond.shape, x.shape, y.shape)
        dt = x.dtype if x.dtype == y.dtype else _promote(x.dtype, y.dtype)
        cs = _bdata(cond, out_shape)
        xs = _bdata(x, out_shape)
        ys = _bdata(y, out_shape)
        values = [a if c else b for c, a, b in zip(cs, xs, ys)]
        return PyBuffer(_make(values, dt), out_shape, dt)

    # -- reductions --------------------------------------------------------------------------
    def _chunks(self, x, axes):
        """(data laid out as kept dims then reduced dims, kept shape, reduced size)."""
        nd = len(x.shape)
        axes = tuple(sorted(set(axes)))
        kept = [d for d in range(nd) if d not in axes]
        order = kept + list(axes)
        st = _contig_strides(x.shape)
        if order == list(range(nd)):
            data = x.data
        else:
            data = _strided(x.data, 0, [x.shape[d] for d in order], [st[d] for d in order])
        kept_shape = tuple(x.shape[d] for d in kept)
        R = _numel([x.shape[d] for d in axes])
        M = _numel(kept_shape)
        return data, kept_shape, R, M, axes

    @staticmethod
    def _out_shape(shape, axes, kept_shape, keepdim):
        if keepdim:
            return tuple(1 if d in axes else n for d, n in enumerate(shape))
        return kept_shape

    def reduce(self, op, x, axes, keepdim):
        axes = tuple(axes)
        if not axes:
            return x
        data, kept_shape, R, M, axes = self._chunks(x, axes)
        out_shape = self._out_shape(x.shape, axes, kept_shape, keepdim)
        dt = x.dtype
        if R == 1:
            values = data
        else:
            chunks = [data[i * R:(i + 1) * R] for i in range(M)]
            if op == "sum":
                values = list(map(sum, chunks))
            elif op == "prod":
                values = list(map(math.prod, chunks))
            elif op in ("max", "min"):
                if R == 0:
                    raise ValueError(f"reduce {op} over an empty dimension")
                values = list(map(max if op == "max" else min, chunks))
                if dt in ("float32", "float64") and _has_nan(data):
                    values = [_NAN if _has_nan(c) else v for c, v in zip(chunks, values)]
            else:
                raise ValueError(f"unknown reduce op {op!r}")
        if dt == "bool" and op in ("sum", "prod"):
            dt = "int64"
            values = [int(v) for v in values]
        if isinstance(values, array) and values.typecode == _TC[dt]:
            return PyBuffer(values, out_shape, dt)
        return PyBuffer(_make(list(values), dt), out_shape, dt)

    def argreduce(self, op, x, axis, keepdim):
        if not x.shape:
            return PyBuffer(array("q", [0]), (), "int64")
        data, kept_shape, R, M, axes = self._chunks(x, (axis,))
        out_shape = self._out_shape(x.shape, axes, kept_shape, keepdim)
        if R == 0:
            raise ValueError(f"{op} over an empty dimension")
        fn = max if op == "argmax" else min
        if op not in ("argmax", "argmin"):
            raise ValueError(f"unknown argreduce op {op!r}")
        chunks = [data[i * R:(i + 1) * R] for i in range(M)]
        values = [c.index(fn(c)) for c in chunks]
        if x.dtype in ("float32", "float64") and _has_nan(data):
            for i, c in enumerate(chunks):
                if _has_nan(c):
                    values[i] = next(j for j, v in enumerate(c) if v != v)
        return PyBuffer(array("q", values), out_shape, "int64")

    # -- movement ----------------------------------------------------------------------------
    def reshape(self, x, shape):
        shape = tuple(int(s) for s in shape)
        if _numel(shape) != len(x.data):
            raise ValueError(f"cannot reshape {x.shape} to {shape}")
        return PyBuffer(x.data, shape, x.dtype)

    def permute(self, x, order):
        order = tuple(order)
        st = _contig_strides(x.shape)
        shape = tuple(x.shape[d] for d in order)
        if order == tuple(range(len(order))):
            return x
        return PyBuffer(_strided(x.data, 0, shape, [st[d] for d in order]), shape, x.dtype)

    def expand(self, x, shape):
        shape = tuple(int(s) for s in shape)
        if shape == x.shape:
            return x
        if len(x.data) == 1:
            return PyBuffer(array(x.data.typecode, x.data) * _numel(shape), shape, x.dtype)
        return PyBuffer(_bdata(x, shape), shape, x.dtype)

    def _slice_view(self, x, starts, stops, steps):
        st = _contig_strides(x.shape)
        shape = tuple(len(range(a, b, c)) for a, b, c in zip(starts, stops, steps))
        offset = sum(a * s for a, s in zip(starts, st))
        strides = [s * c for s, c in zip(st, steps)]
        return offset, shape, strides

    def slice(self, x, starts, stops, steps):
        offset, shape, strides = self._slice_view(x, starts, stops, steps)
        return PyBuffer(_strided(x.data, offset, shape, strides), shape, x.dtype)

    def slice_assign(self, x, starts, stops, steps, src):
        offset, shape, strides = self._slice_view(x, starts, stops, steps)
        out = array(x.data.typecode, x.data)
        srcdata = src.data
        if src.shape != shape:  # tolerate a broadcastable src
            srcdata = array(srcdata.typecode, _bdata(src, shape))
        srcdata = _convert(srcdata, src.dtype, x.dtype)
        _strided_assign(out, offset, shape, strides, srcdata)
        return PyBuffer(out, x.shape, x.dtype)

    def cat(self, xs, axis):
        xs = list(xs)
        dt = xs[0].dtype
        for b in xs[1:]:
            dt = _promote(dt, b.dtype) if b.dtype != dt else dt
        datas = [_convert(b.data, b.dtype, dt) for b in xs]
        base = xs[0].shape
        shape = list(base)
        shape[axis] = sum(b.shape[axis] for b in xs)
        shape = tuple(shape)
        outer = _numel(base[:axis])
        out = array(_TC[dt])
        if outer == 1:
            for d in datas:
                out += d
        else:
            sizes = [_numel(b.shape[axis:]) for b in xs]
            for o in range(outer):
                for d, c in zip(datas, sizes):
                    out += d[o * c:(o + 1) * c]
        return PyBuffer(out, shape, dt)

    # -- indexing ----------------------------------------------------------------------------
    def _index_bases(self, x_shape, axis, index):
        st = _contig_strides(x_shape)
        sa = st[axis]
        st[axis] = 0
        bases = _offsets(index.shape, st)
        idx = index.data
        n = x_shape[axis]
        if len(idx) and (min(idx) < 0 or max(idx) >= n):
            raise IndexError(f"index out of range for dimension {axis} of size {n}")
        return bases, idx, sa

    def gather(self, x, axis, index):
        bases, idx, sa = self._index_bases(x.shape, axis, index)
        data = x.data
        values = [data[b + i * sa] for b, i in zip(bases, idx)]
        return PyBuffer(array(data.typecode, values), index.shape, x.dtype)

    def scatter_add(self, x, axis, index, src):
        bases, idx, sa = self._index_bases(x.shape, axis, index)
        if src.shape == index.shape:
            vals = src.data
        else:
            vals = _strided(src.data, 0, index.shape, _contig_strides(src.shape))
        out = x.data.tolist()
        for b, i, v in zip(bases, idx, vals):
            out[b + i * sa] += v
        return PyBuffer(_make(out, x.dtype), x.shape, x.dtype)

    # -- linear algebra and nn ---------------------------------------------------------------
    def matmul(self, a, b):
        *batch, M, K = a.shape
        *batch_b, K2, N = b.shape
        if K != K2 or tuple(batch) != tuple(batch_b):
            raise ValueError(f"matmul shapes {a.shape} @ {b.shape}")
        dt = a.dtype if a.dtype == b.dtype else _promote(a.dtype, b.dtype)
        ad = a.data.tolist()
        bd = b.data
        out = []
        for bi in range(_numel(batch)):
            ao = bi * M * K
            bo = bi * K * N
            rows = [ad[ao + i * K:ao + (i + 1) * K] for i in range(M)]
            cols = [bd[bo + j:bo + K * N:N].tolist() for j in range(N)] if K else [[]] * N
            out += _mm_rows(rows, cols)
        return PyBuffer(_make(out, dt), tuple(batch) + (M, N), dt)

    def conv2d(self, x, w, stride, padding, dilation, groups):
        crop = useful_taps(x.shape, w.shape[2:], stride, padding, dilation)
        if crop is not None:  # skip the taps that only see padding
            return self.conv2d(x, self._cropped_kernel(w, crop), stride, crop[2], dilation,
                               groups)
        (N, C, H, W, CO, Cg, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW) = _conv_geometry(
            x.shape, w.shape, stride, padding, dilation, groups)
        Og = CO // groups
        R = Cg * KH * KW
        Hp, Wp = H + 2 * ph, W + 2 * pw
        xl = x.data.tolist()
        wl = w.data.tolist()
        wrows = [wl[o * R:(o + 1) * R] for o in range(CO)]
        out = []
        if OH > 0 and OW > 0:
            for n in range(N):
                xp = _pad_image(xl, n * C * H * W, C, H, W, ph, pw, Hp, Wp, 0.0)
                for g in range(groups):
                    rows = _im2col(xp, g * Cg, Cg, Hp, Wp, KH, KW, sh, sw, dh, dw, OH, OW)
                    patches = list(zip(*rows)) if R else [()] * (OH * OW)
                    out += _mm_rows(wrows[g * Og:(g + 1) * Og], patches)
        return PyBuffer(array("f", out), (N, CO, max(OH, 0), max(OW, 0)), "float32")

    def conv2d_grad_input(self, gy, w, x_shape, stride, padding, dilation, groups):
        crop = useful_taps(tuple(x_shape), w.shape[2:], stride, padding, dilation)
        if crop is not None:  # the taps that only see padding contribute nothing
            return self.conv2d_grad_input(gy, self._cropped_kernel(w, crop), x_shape, stride,
                                          crop[2], dilation, groups)
        (N, C, H, W, CO, Cg, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW) = _conv_geometry(
            tuple(x_shape), w.shape, stride, padding, dilation, groups)
        Og = CO // groups
        R = Cg * KH * KW
        P = OH * OW
        Hp, Wp = H + 2 * ph, W + 2 * pw
        gyl = gy.data.tolist()
        wl = w.data.tolist()
        gx = [0.0] * (N * C * H * W)
        span = (OW - 1) * sw + 1
        step = sh * Wp
        add = _add
        if P > 0 and Og > 0:
            for n in range(N):
                for g in range(groups):
                    o0 = g * Og
                    gyrows = [gyl[(n * CO + o) * P:(n * CO + o + 1) * P]
                              for o in range(o0, o0 + Og)]
                    gycols = list(zip(*gyrows))
                    wcols = list(zip(*[wl[o * R:(o + 1) * R] for o in range(o0, o0 + Og)]))
                    gcol = _mm_rows(wcols, gycols)  # R x P
                    gxp = [0.0] * (Cg * Hp * Wp)
                    r = 0
                    for c in range(Cg):
                        cbase = c * Hp * Wp
                        for kh in range(KH):
                            for kw in range(KW):
                                s = cbase + kh * dh * Wp + kw * dw
                                k = r * P
                                for _ in range(OH):
                                    gxp[s:s + span:sw] = list(
                                        map(add, gxp[s:s + span:sw], gcol[k:k + OW]))
                                    s += step
                                    k += OW
                                r += 1
                    # crop the padding away
                    for c in range(Cg):
                        dst = ((n * C) + g * Cg + c) * H * W
                        src = c * Hp * Wp + ph * Wp + pw
                        for _ in range(H):
                            gx[dst:dst + W] = gxp[src:src + W]
                            dst += W
                            src += Wp
        return PyBuffer(array("f", gx), (N, C, H, W), "float32")

    def conv2d_grad_weight(self, x, gy, w_shape, stride, padding, dilation, groups):
        crop = useful_taps(x.shape, tuple(w_shape)[2:], stride, padding, dilation)
        if crop is not None:  # taps that only see padding get zero gradient
            (i0, i1), (j0, j1), pad = crop
            o, cg = w_shape[0], w_shape[1]
            inner = self.conv2d_grad_weight(x, gy, (o, cg, i1 - i0, j1 - j0), stride, pad,
                                            dilation, groups)
            return self.slice_assign(self.full(tuple(w_shape), 0.0, "float32"),
                                     (0, 0, i0, j0), (o, cg, i1, j1), (1, 1, 1, 1), inner)
        (N, C, H, W, CO, Cg, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW) = _conv_geometry(
            x.shape, tuple(w_shape), stride, padding, dilation, groups)
        Og = CO // groups
        R = Cg * KH * KW
        P = OH * OW
        Hp, Wp = H + 2 * ph, W + 2 * pw
        if P <= 0 or N == 0:
            return PyBuffer(array("f", [0.0]) * (CO * R), (CO, Cg, KH, KW), "float32")
        xl = x.data.tolist()
        gyl = gy.data.tolist()
        colrows = [[[] for _ in range(R)] for _ in range(groups)]
        for n in range(N):
            xp = _pad_image(xl, n * C * H * W, C, H, W, ph, pw, Hp, Wp, 0.0)
            for g in range(groups):
                rows = _im2col(xp, g * Cg, Cg, Hp, Wp, KH, KW, sh, sw, dh, dw, OH, OW)
                acc = colrows[g]
                for r in range(R):
                    acc[r] += rows[r]
        out = []
        for g in range(groups):
            gyrows = []
            for o in range(g * Og, (g + 1) * Og):
                row = []
                for n in range(N):
                    row += gyl[(n * CO + o) * P:(n * CO + o + 1) * P]
                gyrows.append(row)
            out += _mm_rows(gyrows, colrows[g])
        return PyBuffer(array("f", out), (CO, Cg, KH, KW), "float32")

    def max_pool2d(self, x, kernel, stride, padding, dilation, ceil_mode):
        KH, KW = _pair(kernel)
        sh, sw = _pair(stride)
        ph, pw = _pair(padding)
        dh, dw = _pair(dilation)
        *lead, H, W = x.shape
        planes = _numel(lead)
        OH = pool_output_size(H, KH, sh, ph, dh, ceil_mode)
        OW = pool_output_size(W, KW, sw, pw, dw, ceil_mode)
        Hp = max(H + 2 * ph, (OH - 1) * sh + (KH - 1) * dh + 1)
        Wp = max(W + 2 * pw, (OW - 1) * sw + (KW - 1) * dw + 1)
        xl = x.data.tolist()
        # per output row / column: first in-bounds input index (used when all values are -inf)
        first_h = []
        for oh in range(OH):
            ih = oh * sh - ph
            while ih < 0:
                ih += dh
            first_h.append(ih)
        first_w = []
        for ow in range(OW):
            iw = ow * sw - pw
            while iw < 0:
                iw += dw
            first_w.append(iw)
        wspan = (KW - 1) * dw + 1
        # local window position q -> (kh * dh * W + kw * dw) offset relative to (ih0, iw0)
        qoff = [kh * dh * W + kw * dw for kh in range(KH) for kw in range(KW)]
        vals, idxs = [], []
        for p in range(planes):
            base = p * H * W
            pl = _pad_image(xl, base, 1, H, W, ph, pw, Hp, Wp, _NINF)
            nan_plane = _has_nan(xl[base:base + H * W])
            for oh in range(OH):
                rbase = oh * sh * Wp
                ih0 = oh * sh - ph
                for ow in range(OW):
                    win = []
                    s = rbase + ow * sw
                    for _ in range(KH):
                        win += pl[s:s + wspan:dw]
                        s += dh * Wp
                    m = max(win)
                    iw0 = ow * sw - pw
                    if nan_plane and _has_nan(win):
                        q = max(j for j, v in enumerate(win) if v != v)
                        m = _NAN
                        idx = ih0 * W + iw0 + qoff[q]
                    elif m == _NINF:
                        idx = first_h[oh] * W + first_w[ow]
                    else:
                        idx = ih0 * W + iw0 + qoff[win.index(m)]
                    vals.append(m)
                    idxs.append(idx)
        shape = tuple(lead) + (OH, OW)
        return PyBuffer(array("f", vals), shape, "float32"), PyBuffer(array("q", idxs), shape,
                                                                      "int64")

    def max_pool2d_grad(self, gy, indices, x_shape):
        *lead, H, W = x_shape
        planes = _numel(lead)
        HW = H * W
        P = _numel(gy.shape[-2:])
        gx = [0.0] * (planes * HW)
        gyl = gy.data.tolist()
        idx = indices.data.tolist()
        for p in range(planes):
            base = p * HW
            o = p * P
            for i, g in zip(idx[o:o + P], gyl[o:o + P]):
                gx[base + i] += g
        return PyBuffer(array("f", gx), tuple(x_shape), "float32")

    def _avg_geometry(self, x_shape, kernel, stride, padding, ceil_mode, count_include_pad):
        KH, KW = _pair(kernel)
        sh, sw = _pair(stride)
        ph, pw = _pair(padding)
        *lead, H, W = x_shape
        OH = pool_output_size(H, KH, sh, ph, 1, ceil_mode)
        OW = pool_output_size(W, KW, sw, pw, 1, ceil_mode)
        hr = avg_pool_ranges(H, KH, sh, ph, OH)
        wr = avg_pool_ranges(W, KW, sw, pw, OW)
        windows = []  # per output position: (hs, he, ws, we, divisor)
        for hs, he, hpool in hr:
            for ws, we, wpool in wr:
                if count_include_pad:
                    div = hpool * wpool
                else:
                    div = max(he - hs, 0) * max(we - ws, 0)
                windows.append((hs, he, ws, we, div))
        return lead, H, W, OH, OW, windows

    def avg_pool2d(self, x, kernel, stride, padding, ceil_mode, count_include_pad):
        lead, H, W, OH, OW, windows = self._avg_geometry(
            x.shape, kernel, stride, padding, ceil_mode, count_include_pad)
        xl = x.data.tolist()
        out = []
        for p in range(_numel(lead)):
            base = p * H * W
            for hs, he, ws, we, div in windows:
                if he <= hs or we <= ws or div == 0:
                    out.append(0.0)
                    continue
                s = 0.0
                a = base + hs * W
                for _ in range(hs, he):
                    s += sum(xl[a + ws:a + we])
                    a += W
                out.append(s / div)
        return PyBuffer(array("f", out), tuple(lead) + (OH, OW), "float32")

    # avg_pool2d_grad: the composed default (backends/composed.py) measured faster here


backend = PythonBackend()

__all__ = ["PyBuffer", "PythonBackend", "backend"]
