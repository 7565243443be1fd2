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
from array import array

from distml import random as _rnd
from distml.backends.base import COMPARISON_OPS, FLOAT_UNARY_OPS, Backend
from distml.backends.base import broadcast_shape as _broadcast_shape
from distml.backends.base import reduced_shapes
from distml.backends.base import promote_names as _promote
from distml.backends.hostvalues import (
    array_from_bytes,
    array_to_bytes,
    array_to_list,
    check_count,
    typed_array,
)

from .buffer import (
    _INV24,
    _MASK,
    _NAN,
    _TC,
    PyBuffer,
    _bdata,
    _contig_strides,
    _convert,
    _has_nan,
    _hash32_list,
    _make,
    _numel,
    _offsets,
    _strided,
    _strided_assign,
)
from .conv import ConvPool
from .elementwise import _binary_float, _binary_int, _compare, _unary_float, _unary_int


class PythonBackend(ConvPool, Backend):
    name = "python"
    host_resident = True

    # -- buffers and transfer ----------------------------------------------------------------
    def shape(self, buf):
        return buf.shape

    def dtype(self, buf):
        return buf.dtype

    def from_list(self, flat, shape, dtype):
        shape = tuple(int(s) for s in shape)
        data = typed_array(flat, dtype)
        check_count("from_list", len(data), shape)
        return PyBuffer(data, shape, dtype)

    def from_bytes(self, data, shape, dtype):
        shape = tuple(int(s) for s in shape)
        arr = array_from_bytes(data, dtype)
        check_count("from_bytes", len(arr), shape)
        return PyBuffer(arr, shape, dtype)

    def to_list(self, buf):
        return array_to_list(buf.data, buf.dtype)

    def to_bytes(self, buf):
        return array_to_bytes(buf.data)

    # -- creation ----------------------------------------------------------------------------
    def full(self, shape, value, dtype):
        shape = tuple(int(s) for s in shape)
        return PyBuffer(typed_array([value], dtype) * _numel(shape), shape, dtype)

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
            cos, log, sqrt = math.cos, math.log, math.sqrt
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
        """(data laid out as kept dims then reduced dims, reduced size, kept size, axes)."""
        nd = len(x.shape)
        axes = tuple(sorted(set(axes)))
        kept = [d for d in range(nd) if d not in axes]
        order = kept + list(axes)
        st = _contig_strides(x.shape)
        if order == list(range(nd)):
            data = x.data
        else:
            data = _strided(x.data, 0, [x.shape[d] for d in order], [st[d] for d in order])
        R = _numel([x.shape[d] for d in axes])
        M = _numel([x.shape[d] for d in kept])
        return data, R, M, axes

    def reduce(self, op, x, axes, keepdim):
        axes = tuple(axes)
        if not axes:
            return x
        data, R, M, axes = self._chunks(x, axes)
        out_shape = reduced_shapes(x.shape, axes, keepdim)[1]
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
        data, R, M, axes = self._chunks(x, (axis,))
        out_shape = reduced_shapes(x.shape, axes, keepdim)[1]
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


backend = PythonBackend()

__all__ = ["PyBuffer", "PythonBackend", "backend"]
