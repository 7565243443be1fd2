"""The pure-Python backend's buffer (PyBuffer) and the array helpers its ops share:
dtype conversion, strided copies and broadcasting, hashing for random numbers, and the
row-by-row dot products of matmul and conv. Only the standard library (it runs in Pyodide
without numpy)."""
import math
import operator
from array import array

from distml.backends.base import broadcast_strides, collapse, contiguous_strides
from distml.backends.hostvalues import TYPECODES as _TC
from distml.backends.hostvalues import int64_array

_INF = float("inf")
_NINF = float("-inf")
_NAN = float("nan")
_I64MIN = -(1 << 63)
_M64 = (1 << 64) - 1
_TWO63 = 9.223372036854775808e18  # 2**63 as a float
_BIG = 4503599627370496.0  # 2**52: floats at least this large are integers already
_MASK = 0xFFFFFFFF
_INV24 = 1.0 / 16777216.0

_sumprod = getattr(math, "sumprod", None)
_mul = operator.mul


class PyBuffer:
    """A flat row-major `array.array` with a shape and a dtype string."""

    __slots__ = ("data", "shape", "dtype")

    def __init__(self, data, shape, dtype):
        self.data = data
        self.shape = shape
        self.dtype = dtype

    def __repr__(self):
        return f"PyBuffer(shape={self.shape}, dtype={self.dtype}, data={self.data.tolist()})"


def _numel(shape):
    return math.prod(shape)


def _contig_strides(shape):
    return list(contiguous_strides(shape))  # a list: callers zero one stride in place


def _make(values, dtype):
    """Array of `dtype` from a list of Python numbers already of the right kind."""
    if dtype == "float32":
        return array("f", values)
    if dtype == "float64":
        return array("d", values)
    if dtype == "int64":
        return int64_array(values)
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
    st = broadcast_strides(buf.shape, contiguous_strides(buf.shape), out_shape)
    return _strided(data, 0, out_shape, st)


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
