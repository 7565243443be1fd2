"""The numpy backend: the server's and CPython's default "cpu" implementation.

This module holds the primitives; conv.py the convolutions and pooling, fused.py the
fused BatchNorm and optimizer steps, blas.py the threads and BLAS they run on."""
import math

import numpy as np

from ...random import stream_key
from ..base import Backend
from .blas import _elementwise, _matmul
from .conv import ConvPoolOps
from .fused import FusedOps

NP_DTYPES = {"float32": np.float32, "int64": np.int64, "bool": np.bool_, "float64": np.float64}
NAMES = {np.dtype(np.float32): "float32", np.dtype(np.int64): "int64", np.dtype(np.bool_): "bool",
         np.dtype(np.float64): "float64"}

_UNARY = {
    "neg": np.negative, "exp": np.exp, "log": np.log, "sqrt": np.sqrt,
    "abs": np.abs, "sign": np.sign, "tanh": np.tanh, "sin": np.sin, "cos": np.cos,
    "reciprocal": np.reciprocal, "floor": np.floor, "ceil": np.ceil, "round": np.round,
    "logical_not": np.logical_not,
}
_BINARY = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.true_divide,
    "pow": np.power, "maximum": np.maximum, "minimum": np.minimum,
    "floordiv": np.floor_divide, "mod": np.mod,
    "lt": np.less, "le": np.less_equal, "gt": np.greater, "ge": np.greater_equal,
    "eq": np.equal, "ne": np.not_equal,
    "logical_and": np.logical_and, "logical_or": np.logical_or,
}

# float32 binary ops split over threads, and their result dtypes
_SPLIT_BINARY = dict.fromkeys(("add", "sub", "mul", "div", "maximum", "minimum"), np.float32)
_SPLIT_BINARY.update(dict.fromkeys(("lt", "le", "gt", "ge", "eq", "ne"), np.bool_))


def _hash32(x):
    # lowbias32 on uint32 arrays (multiplication wraps mod 2**32, as in distml.random)
    x = x ^ (x >> np.uint32(16))
    x = x * np.uint32(0x7FEB352D)
    x = x ^ (x >> np.uint32(15))
    x = x * np.uint32(0x846CA68B)
    return x ^ (x >> np.uint32(16))


def _relu(a, out, row=4096):
    """np.maximum(a, 0, out=out) against rows of zeros (numpy's loop against a scalar: 2x slower)"""
    a, out = a.reshape(-1), out.reshape(-1)
    whole, zeros = a.size - a.size % row, np.zeros(row, dtype=a.dtype)
    np.maximum(a[:whole].reshape(-1, row), zeros, out=out[:whole].reshape(-1, row))
    np.maximum(a[whole:], zeros[:a.size - whole], out=out[whole:])


def _erf(x):
    # numpy has no erf: a Taylor series near 0 (keeps relative accuracy) and the
    # Numerical Recipes erfc fit (fractional error < 1.2e-7) elsewhere, in float64
    x = x.astype(np.float64)
    a = np.abs(x)
    x2 = x * x
    series = x * (1.1283791670955126 + x2 * (-0.37612638903183754 + x2 * (
        0.11283791670955126 + x2 * (-0.026866170645131252 + x2 * (
            0.005223977625442188 - x2 * 0.0008548327023450852)))))
    t = 1.0 / (1.0 + 0.5 * a)
    erfc = t * np.exp(-a * a - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (
        0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (
            1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))))
    out = np.where(a < 0.5, series, np.sign(x) * (1.0 - erfc))
    return out.astype(np.float32)


def _erf64(x):
    # float64: math.erf per element (exact to double precision; float64 is CPU-only)
    return np.vectorize(math.erf, otypes=[np.float64])(x) if x.size else x.copy()


class NumpyBackend(ConvPoolOps, FusedOps, Backend):
    name = "numpy"
    host_resident = True
    host_arrays = True

    # -- buffers and transfer ------------------------------------------------------------
    def shape(self, buf):
        return buf.shape

    def dtype(self, buf):
        return NAMES[buf.dtype]

    def from_list(self, flat, shape, dtype):
        return np.asarray(flat, dtype=NP_DTYPES[dtype]).reshape(shape)

    def from_bytes(self, data, shape, dtype):
        arr = np.frombuffer(data, dtype=np.dtype(NP_DTYPES[dtype]).newbyteorder("<"))
        return arr.astype(NP_DTYPES[dtype]).reshape(shape)

    def from_numpy(self, arr, dtype):
        return np.asarray(arr, dtype=NP_DTYPES[dtype], order="C")  # keeps 0-d arrays 0-d

    def to_numpy(self, buf):
        return buf

    def to_list(self, buf):
        return buf.ravel().tolist()

    def to_bytes(self, buf):
        return np.ascontiguousarray(buf).astype(buf.dtype.newbyteorder("<")).tobytes()

    # -- creation --------------------------------------------------------------------------
    def full(self, shape, value, dtype):
        return np.full(shape, value, dtype=NP_DTYPES[dtype])

    def arange(self, start, stop, step, dtype):
        return np.arange(start, stop, step, dtype=NP_DTYPES[dtype])

    def random(self, shape, kind, seed, offset):
        n = math.prod(shape)
        counter = (np.arange(n, dtype=np.uint64) + np.uint64(offset)).astype(np.uint32)
        hc = _hash32(counter)
        u = (_hash32(np.uint32(stream_key(seed, 0)) ^ hc) >> np.uint32(8)).astype(np.float64)
        if kind == "uniform":
            out = u * (1.0 / 16777216.0)
        else:
            u2 = (_hash32(np.uint32(stream_key(seed, 1)) ^ hc) >> np.uint32(8)).astype(np.float64)
            u1 = (u + 1.0) * (1.0 / 16777216.0)
            out = np.sqrt(-2.0 * np.log(u1)) * np.cos(6.283185307179586 * u2 / 16777216.0)
        return out.astype(np.float32).reshape(shape)

    def cast(self, x, dtype):
        return x.astype(NP_DTYPES[dtype])

    # -- elementwise -----------------------------------------------------------------------
    def unary(self, op, x):
        with np.errstate(all="ignore"):
            if op == "relu":
                if x.dtype == np.bool_:
                    return x
                return _elementwise(_relu, x.dtype, x)
            if op == "sigmoid":
                # exp(-|x|) never overflows; pick the stable form by sign
                e = np.exp(-np.abs(x))
                return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype)
            if op == "rsqrt":
                return (1 / np.sqrt(x)).astype(x.dtype)
            if op == "erf":
                return _erf64(x) if x.dtype == np.float64 else _erf(x)
            fn = _UNARY[op]
            if x.dtype == np.float32 and op not in ("logical_not", "sign"):
                return _elementwise(fn, np.float32, x)
            return np.asarray(fn(x))

    def binary(self, op, x, y):
        with np.errstate(all="ignore"):
            if op == "div" and x.dtype not in (np.float32, np.float64):
                x = x.astype(np.float32)
            if op == "pow" and x.dtype == np.int64 and y.dtype == np.int64:
                return np.asarray(np.power(x, y))
            fn = _BINARY[op]
            if x.dtype == np.float32 and y.dtype == np.float32 and op in _SPLIT_BINARY:
                return _elementwise(fn, _SPLIT_BINARY[op], x, y)
            return np.asarray(fn(x, y))

    def where(self, cond, x, y):
        if x.dtype == np.float32 and y.dtype == np.float32 and cond.dtype == np.bool_ and \
                cond.size >= 4096:
            # np.where branches per element (~10x slower than a multiply on a random mask);
            # on the float bits as int32 (wrapping), y + (x - y) * cond picks x or y exactly
            # and branch-free (relu's backward: x * cond alone, as +0.0 has no bits)
            c8 = cond.view(np.int8)
            xb, yb = x.view(np.int32), y.view(np.int32)
            if y.ndim == 0 and yb == 0:
                def select(c, a, out):
                    np.multiply(a, c, out=out, dtype=np.int32)
                return _elementwise(select, np.int32, c8, xb).view(np.float32)

            def select(c, a, b, out):
                np.subtract(a, b, out=out)
                np.multiply(out, c, out=out, dtype=np.int32)
                out += b
            return _elementwise(select, np.int32, c8, xb, yb).view(np.float32)
        return np.where(cond, x, y)

    # -- reductions ------------------------------------------------------------------------
    def reduce(self, op, x, axes, keepdim):
        axes = tuple(axes)
        if op == "sum":
            acc = x.dtype if x.dtype != np.bool_ else np.int64
            return np.asarray(np.sum(x, axis=axes, keepdims=keepdim, dtype=acc))
        if op == "prod":
            return np.asarray(np.prod(x, axis=axes, keepdims=keepdim))
        fn = np.max if op == "max" else np.min
        return np.asarray(fn(x, axis=axes, keepdims=keepdim))

    def argreduce(self, op, x, axis, keepdim):
        fn = np.argmax if op == "argmax" else np.argmin
        return np.asarray(fn(x, axis=axis, keepdims=keepdim)).astype(np.int64)

    # -- movement --------------------------------------------------------------------------
    def reshape(self, x, shape):
        return x.reshape(shape)

    def permute(self, x, order):
        return x.transpose(order)

    def expand(self, x, shape):
        return np.broadcast_to(x, shape)

    def slice(self, x, starts, stops, steps):
        return x[tuple(slice(a, b, s) for a, b, s in zip(starts, stops, steps))]

    def slice_assign(self, x, starts, stops, steps, src):
        out = x.copy()
        out[tuple(slice(a, b, s) for a, b, s in zip(starts, stops, steps))] = src
        return out

    def cat(self, xs, axis):
        return np.concatenate(xs, axis=axis)

    # -- indexing --------------------------------------------------------------------------
    def gather(self, x, axis, index):
        return np.take_along_axis(x, index, axis=axis)

    def scatter_add(self, x, axis, index, src):
        out = x.copy()
        # explicit coordinates so repeated indices accumulate (np.add.at)
        coords = list(np.indices(index.shape, sparse=True))
        coords[axis] = index
        np.add.at(out, tuple(coords), src[tuple(slice(0, n) for n in index.shape)])
        return out

    # -- linear algebra and nn -------------------------------------------------------------
    def matmul(self, a, b):
        return _matmul(a, b)

backend = NumpyBackend()
