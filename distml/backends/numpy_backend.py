"""The numpy backend: the server's and CPython's default "cpu" implementation."""
import ctypes
import math
import os
import sys

import numpy as np

from ..random import stream_key
from .base import Backend, conv_output_size, pool_output_size, useful_taps
from .parallel import ForkJoinPool, split

def _keep_freed_arrays_in_heap():
    """Training allocates and frees the same large activations every step. glibc serves
    blocks over its mmap threshold with fresh pages (page faults and zeroing: ~8,000 a
    step for the MNIST CNN, ~7% of the step) and trims the heap on free; raising both
    thresholds lets freed arrays be reused. Linux/glibc only; DISTML_MALLOC_TUNING=0 skips it."""
    if not sys.platform.startswith("linux") or os.environ.get("DISTML_MALLOC_TUNING") == "0":
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        libc.mallopt(m_mmap_threshold, 1 << 30)
        libc.mallopt(m_trim_threshold, (1 << 31) - 1)
    except (OSError, AttributeError):
        pass  # not glibc: nothing to tune


_keep_freed_arrays_in_heap()


def _find_openblas():
    """cblas_sgemm of the OpenBLAS that numpy's wheel bundles (scipy-openblas, 64-bit
    ints), called through ctypes: unlike np.matmul it accumulates into its output
    (beta = 1) and takes row strides, so a conv can sum one GEMM per kernel tap over
    offset views of the padded input without copying columns. Also its thread-count
    getter and setter. (None, None) when not found (another BLAS, a different layout) or
    DISTML_CBLAS=0; the numpy paths are used then, on one thread."""
    if os.environ.get("DISTML_CBLAS") == "0":
        return None, None
    import glob
    libs_dir = os.path.join(os.path.dirname(os.path.dirname(np.__file__)), "numpy.libs")
    for path in sorted(glob.glob(os.path.join(libs_dir, "*openblas*"))):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix, int_t in (("scipy_", ctypes.c_int64), ("", ctypes.c_int64)):
            fn = getattr(lib, prefix + "cblas_sgemm64_", None)
            if fn is None:
                continue
            ptr, f32, enum = ctypes.c_void_p, ctypes.c_float, ctypes.c_int
            fn.argtypes = [enum, enum, enum, int_t, int_t, int_t, f32, ptr, int_t, ptr, int_t,
                           f32, ptr, int_t]
            fn.restype = None
            get = getattr(lib, prefix + "openblas_get_num_threads64_", None)
            set_ = getattr(lib, prefix + "openblas_set_num_threads64_", None)
            if get is None or set_ is None:
                return fn, None
            get.argtypes, get.restype = [], ctypes.c_int
            set_.argtypes, set_.restype = [ctypes.c_int], None
            return fn, (get, set_)
    return None, None


_SGEMM, _BLAS_THREADS = _find_openblas()
_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112


def _gemm_operand(a):
    """(transpose flag, leading dimension) of a 2-D float32 view for cblas, or None."""
    m, n = a.shape
    s0, s1 = a.strides
    if s1 == 4 and s0 % 4 == 0 and s0 // 4 >= max(n, 1):
        return _NO_TRANS, s0 // 4
    if s0 == 4 and s1 % 4 == 0 and s1 // 4 >= max(m, 1):
        return _TRANS, s1 // 4
    return None


def _sgemm(a, b, c, beta):
    """c = a @ b + beta * c for 2-D float32 views (c's rows contiguous), in place."""
    (m, k), n = a.shape, b.shape[1]
    ta, tb = _gemm_operand(a), _gemm_operand(b)
    if ta is None or tb is None or c.strides[1] != 4 or c.strides[0] < 4 * n:
        raise ValueError("operands not BLAS-compatible")
    _SGEMM(_ROW_MAJOR, ta[0], tb[0], m, n, k, 1.0, a.ctypes.data, ta[1], b.ctypes.data, tb[1],
           beta, c.ctypes.data, c.strides[0] // 4)


# -- intra-op threads ------------------------------------------------------------------
POOL = ForkJoinPool()
# work (elements moved, or multiply-adds / 64 for GEMMs) below which one thread beats
# splitting: handing a part to a sleeping thread and back costs ~50 us here
PARALLEL_MIN = 1 << 18
GEMM_WORK = 64  # multiply-adds per unit of work
OVERSPLIT = 2  # parts per thread for big ops: a helper that wakes late takes fewer parts


def set_num_threads(n):
    """distml's intra-op threads on the CPU (torch.set_num_threads). With more than one,
    big ops are split into a part per thread, each running single-threaded BLAS: this
    sets OpenBLAS's own thread count to 1, process-wide (numpy's matmul included)."""
    n = int(n)
    if n < 1:
        raise ValueError(f"set_num_threads: expected a positive thread count, got {n}")
    POOL.threads = n
    if _BLAS_THREADS is not None:
        _BLAS_THREADS[1](1)


def get_num_threads():
    return POOL.threads


def _default_threads():
    env = os.environ.get("DISTML_NUM_THREADS", "").strip()
    if env:
        if not env.isdigit() or int(env) < 1:
            raise ValueError(f"DISTML_NUM_THREADS must be a positive integer, got {env!r}")
        return int(env)
    # OpenBLAS's count honours OPENBLAS_NUM_THREADS / OMP_NUM_THREADS, else the cores
    return _BLAS_THREADS[0]() if _BLAS_THREADS is not None else 1


set_num_threads(_default_threads())


def _parts(work):
    if work < PARALLEL_MIN or POOL.threads == 1:
        return 1
    return POOL.threads * (OVERSPLIT if work >= 4 * PARALLEL_MIN else 1)


def _in_parts(n, work, fn, align=1):
    """fn(start, stop) over contiguous ranges of range(n), in parallel when `work` is big;
    returns the list of results."""
    ranges = split(n, _parts(work), align)
    return POOL.run(lambda t: fn(*ranges[t]), len(ranges))


def _matmul(a, b, out=None):
    """np.matmul, split over the threads: float32 2-D products by output rows or columns
    (whichever is larger) or, for a long reduction, by the reduced dim; batched ones by
    the leading batch dim."""
    if a.dtype != np.float32 or b.dtype != np.float32 or a.ndim < 2 or b.ndim < 2:
        return np.matmul(a, b) if out is None else np.matmul(a, b, out=out)
    m, k, n = a.shape[-2], a.shape[-1], b.shape[-1]
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    work = math.prod(batch) * m * n * k // GEMM_WORK
    if _parts(work) == 1:
        return np.matmul(a, b) if out is None else np.matmul(a, b, out=out)
    if out is None:
        out = np.empty(batch + (m, n), dtype=np.float32)
    if batch and batch[0] > 1:
        def lead(arr, i0, i1):  # the operand's share of the leading batch dim
            return arr[i0:i1] if arr.ndim == out.ndim and arr.shape[0] > 1 else arr

        _in_parts(batch[0], work, lambda i0, i1: np.matmul(lead(a, i0, i1), lead(b, i0, i1),
                                                           out=out[i0:i1]))
    elif batch:  # a batch of one: drop it
        _matmul(a.reshape(a.shape[-2:]) if a.ndim > 2 else a,
                b.reshape(b.shape[-2:]) if b.ndim > 2 else b, out[(0,) * len(batch)])
    elif k >= 8 * max(m, n):
        # a long reduction to a small output (weight gradients): partial products, added
        parts = _in_parts(k, work, lambda k0, k1: np.matmul(a[:, k0:k1], b[k0:k1]), align=16)
        np.copyto(out, parts[0])
        for part in parts[1:]:
            out += part
    elif m >= n:
        _in_parts(m, work, lambda r0, r1: np.matmul(a[r0:r1], b, out=out[r0:r1]), align=8)
    else:
        _in_parts(n, work, lambda c0, c1: _gemm_into(a, b[:, c0:c1], out[:, c0:c1]), align=8)
    return out


def _flat_parts(fn, out_dtype, *arrays):
    """fn(*flat pieces, out=piece of the result) over ranges of elements, in parallel, when
    every array is 0-d or C-contiguous with the result's shape; else None."""
    shape = next((a.shape for a in arrays if a.ndim), None)
    if shape is None or _parts(math.prod(shape)) == 1 or \
            any(a.ndim and (a.shape != shape or not a.flags.c_contiguous) for a in arrays):
        return None
    out = np.empty(shape, dtype=out_dtype)
    flat_out = out.reshape(-1)
    flats = [a.reshape(-1) if a.ndim else a for a in arrays]

    def piece(e0, e1):
        with np.errstate(all="ignore"):  # (the caller's errstate does not reach helpers)
            fn(*[f[e0:e1] if f.ndim else f for f in flats], out=flat_out[e0:e1])
    _in_parts(out.size, out.size, piece, align=16)
    return out


def _contiguous(a):
    """np.ascontiguousarray, big views copied by the threads (ranges of the first axis)."""
    if a.flags.c_contiguous or a.ndim == 0 or _parts(a.size) == 1:
        return np.ascontiguousarray(a)
    out = np.empty(a.shape, dtype=a.dtype)
    _in_parts(a.shape[0], a.size, lambda i0, i1: np.copyto(out[i0:i1], a[i0:i1]))
    return out


def _gemm_into(a, b, c):
    """c[...] = a @ b for 2-D float32, c possibly a column slice (cblas writes it with a
    row stride; numpy would go through a temporary)."""
    if _SGEMM is not None and _gemm_operand(a) and _gemm_operand(b) and c.strides[1] == 4:
        _sgemm(a, b, c, 0.0)
    else:
        c[...] = np.matmul(a, b)


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


class NumpyBackend(Backend):
    name = "numpy"

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
                zero = x.dtype.type(0)
                out = _flat_parts(lambda a, out: np.maximum(a, zero, out=out), x.dtype, x)
                return np.maximum(x, zero) if out is None else out
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
                out = _flat_parts(fn, np.float32, x)
                if out is not None:
                    return out
            return np.asarray(fn(x))

    def binary(self, op, x, y):
        with np.errstate(all="ignore"):
            if op == "div" and x.dtype not in (np.float32, np.float64):
                x = x.astype(np.float32)
            if op == "pow" and x.dtype == np.int64 and y.dtype == np.int64:
                return np.asarray(np.power(x, y))
            fn = _BINARY[op]
            if x.dtype == np.float32 and y.dtype == np.float32 and op in _SPLIT_BINARY:
                out = _flat_parts(fn, _SPLIT_BINARY[op], x, y)
                if out is not None:
                    return out
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
                out = _flat_parts(select, np.int32, c8, xb)
                if out is None:
                    out = np.multiply(xb, c8, dtype=np.int32)
                return out.view(np.float32)

            def select(c, a, b, out):
                np.subtract(a, b, out=out)
                np.multiply(out, c, out=out, dtype=np.int32)
                out += b
            out = _flat_parts(select, np.int32, c8, xb, yb)
            if out is None:
                out = np.empty(np.broadcast_shapes(c8.shape, xb.shape, yb.shape), np.int32)
                select(c8, xb, yb, out)
            return out.view(np.float32)
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

    def _padded(self, x, padding):
        ph, pw = padding
        if ph == 0 and pw == 0:
            return x
        n, c, h, w = x.shape
        xp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=x.dtype)  # faster than np.pad
        xp[:, :, ph:ph + h, pw:pw + w] = x
        return xp

    def _windows(self, xp, kernel, stride, dilation, out_hw):
        """View (N, C, OH, OW, KH, KW) of the padded input, no copy (used by pooling)."""
        n, c, _, _ = xp.shape
        kh, kw = kernel
        sn, sc, sh, sw = xp.strides
        return np.lib.stride_tricks.as_strided(
            xp, (n, c, out_hw[0], out_hw[1], kh, kw),
            (sn, sc, sh * stride[0], sw * stride[1], sh * dilation[0], sw * dilation[1]),
            writeable=False)

    @staticmethod
    def _tap(kernel_pos, dilation, stride, out):
        start = kernel_pos * dilation
        return slice(start, start + stride * (out - 1) + 1, stride)

    def _im2col(self, x, kernel, stride, padding, dilation, oh, ow, per_image):
        """Columns for a conv as a GEMM, one strided copy per kernel tap (copying a 6-D
        window view element by element is several times slower).

        per_image: (N, C*KH*KW, OH*OW), for one GEMM per image when OH*OW is large;
        otherwise (C*KH*KW, N*OH*OW), for a single GEMM over the whole batch."""
        xp = self._padded(x, padding)
        n, c = x.shape[:2]
        kh, kw = kernel
        shape = (n, c, kh, kw, oh, ow) if per_image else (c, kh, kw, n, oh, ow)
        cols = np.empty(shape, dtype=np.float32)
        for i in range(kh):
            for j in range(kw):
                tap = xp[:, :, self._tap(i, dilation[0], stride[0], oh),
                         self._tap(j, dilation[1], stride[1], ow)]
                if per_image:
                    cols[:, :, i, j] = tap
                else:
                    cols[:, i, j] = tap.transpose(1, 0, 2, 3)
        if per_image:
            return cols.reshape(n, c * kh * kw, oh * ow)
        return cols.reshape(c * kh * kw, n * oh * ow)

    def _row_columns(self, x, kernel, padding, dilation):
        """For stride-1 convs on large maps: the padded input flattened per channel to
        (C, N*Hp*Wp), where a kernel tap is a constant offset. Stacking the KW column
        shifts (3 contiguous copies instead of im2col's 9 strided ones) leaves one GEMM
        per kernel row, on a view offset by i*dilation*Wp. Outputs are computed at every
        padded position and the valid ones cropped.
        Returns (cols (C*KW, L + tail), L, Hp, Wp)."""
        kh, kw = kernel
        flat, length, hp, wp = self._flat_padded(x, kernel, padding, dilation)
        span = length + (kh - 1) * dilation[0] * wp
        cols = np.empty((x.shape[1], kw, span), dtype=np.float32)

        def channels(c0, c1):
            for j in range(kw):
                cols[c0:c1, j] = flat[c0:c1, j * dilation[1]:j * dilation[1] + span]
        _in_parts(x.shape[1], cols.size, channels)
        return cols.reshape(x.shape[1] * kw, span), length, hp, wp

    def _flat_padded(self, x, kernel, padding, dilation):
        """The input flattened per channel with zero padding, (C, F + N*Hp*Wp + tail), for
        a stride-1 conv: kernel tap (i, j) is then the constant column offset
        i*dh*Wp + j*dw from every output position of the (Hp, Wp) grid at once.
        Neighbouring rows and images share their padding (a row's right pad is the next
        row's left one; the zeros in front, F = ph*Wp + pw, are the first image's top-left
        pad): Hp = H + ph and Wp = W + pw rather than H + 2ph and W + 2pw, so fewer wasted
        positions (14x14 maps: 225 instead of 256). Returns (flat, length = N*Hp*Wp, Hp, Wp);
        output (n, r, q) is position n*Hp*Wp + r*Wp + q."""
        n, c, h, wd = x.shape
        (kh, kw), (ph, pw), (dh, dw) = kernel, padding, dilation
        oh, ow = h + 2 * ph - dh * (kh - 1), wd + 2 * pw - dw * (kw - 1)
        hp, wp = max(h + ph, oh), max(wd + pw, ow)
        length = n * hp * wp
        front = ph * wp + pw
        reach = (kh - 1) * dh * wp + (kw - 1) * dw  # the largest tap offset
        flat = np.empty((c, max(front + length, length + reach)), dtype=np.float32)
        grid = flat[:, front:front + length].reshape(c, n, hp, wp)

        def fill(c0, c1):  # a range of channels
            g = grid[c0:c1]
            g[:, :, h:] = 0
            g[:, :, :h, wd:] = 0
            g[:, :, :h, :wd] = x[:, c0:c1].transpose(1, 0, 2, 3)
            flat[c0:c1, :front] = 0
            flat[c0:c1, front + length:] = 0
        _in_parts(c, flat.size, fill)
        return flat, length, hp, wp

    @staticmethod
    def _crop_to_nchw(y, n, hp, wp, oh, ow):
        """(O, N*Hp*Wp) outputs on the padded grid -> the valid (N, O, OH, OW), contiguous."""
        o = y.shape[0]
        grid = y.reshape(o, n, hp, wp)
        out = np.empty((n, o, oh, ow), dtype=y.dtype)

        def crop(n0, n1):
            out[n0:n1] = grid[:, n0:n1, :oh, :ow].transpose(1, 0, 2, 3)
        _in_parts(n, out.size, crop)
        return out

    # output maps (OH*OW) at least this large use the tap GEMMs (measured: from 14x14 on
    # they beat the row columns and im2col; for weight gradients, above 16x16)
    TAP_MIN_MAP = 144
    TAP_MIN_C = 16  # fewer input channels: the per-image im2col is cheap and the GEMM fatter
    TAP_GW_MIN_MAP = 257

    def _conv_taps(self, x, w, padding, dilation, oh, ow):
        """Stride-1 conv as one GEMM per kernel tap, W[:, :, i, j] (O, C) @ an offset
        view of the flattened padded input, accumulated in place (beta = 1); outputs at
        every padded position, the valid ones cropped. No im2col. Threads take ranges of
        positions. (Blocking the positions to keep the output in cache measured no
        faster.)"""
        n = x.shape[0]
        o, c, kh, kw = w.shape
        flat, length, hp, wp = self._flat_padded(x, (kh, kw), padding, dilation)
        w_taps = _contiguous(w.transpose(2, 3, 0, 1))  # (KH, KW, O, C)
        offsets = [(i, j, i * dilation[0] * wp + j * dilation[1])
                   for i in range(kh) for j in range(kw)]
        y = np.empty((o, length), dtype=np.float32)

        def positions(a, b):
            for t, (i, j, off) in enumerate(offsets):
                _sgemm(w_taps[i, j], flat[:, off + a:off + b], y[:, a:b], 1.0 if t else 0.0)
        _in_parts(length, o * c * length * kh * kw // GEMM_WORK, positions, align=16)
        return self._crop_to_nchw(y, n, hp, wp, oh, ow)

    def _conv_taps_grad_weight(self, x, gy, w_shape, padding, dilation):
        """dW[:, :, i, j] = sum over padded-grid positions p of gy[:, p] x[:, p + off_ij],
        off_ij = i*dh*Wp + j*dw. With q = p + i*dh*Wp, gy's grid shifted by each kernel
        row and stacked, (KH*O, Lq), gives one GEMM per kernel column for every row at
        once: (KH*O, Lq) @ (Lq, C), fatter and ~25% faster than a GEMM per tap. Threads
        take ranges of q and their partial sums are added."""
        n = x.shape[0]
        o, c, kh, kw = w_shape
        _, _, oh, ow = gy.shape
        flat, length, hp, wp = self._flat_padded(x, (kh, kw), padding, dilation)
        row = dilation[0] * wp
        span = length + (kh - 1) * row
        stack = np.empty((kh, o, span), dtype=np.float32)
        grid = stack[0, :, :length].reshape(o, n, hp, wp)

        def place(o0, o1):  # gy on the padded grid (zeros where no output is), then shifted
            g = grid[o0:o1]
            g[:, :, oh:] = 0
            g[:, :, :oh, ow:] = 0
            g[:, :, :oh, :ow] = gy[:, o0:o1].transpose(1, 0, 2, 3)
            stack[0, o0:o1, length:] = 0
            for i in range(1, kh):
                stack[i, o0:o1, :i * row] = 0
                stack[i, o0:o1, i * row:] = stack[0, o0:o1, :span - i * row]
        _in_parts(o, stack.size, place)
        rows = stack.reshape(kh * o, span)

        def positions(a, b):
            part = np.empty((kw, kh * o, c), dtype=np.float32)
            for j in range(kw):
                off = j * dilation[1]
                _sgemm(rows[:, a:b], flat[:, off + a:off + b].T, part[j], 0.0)
            return part
        parts = _in_parts(span, o * c * span * kh * kw // GEMM_WORK, positions, align=16)
        out = parts[0]
        for part in parts[1:]:
            out += part
        return _contiguous(out.reshape(kw, kh, o, c).transpose(2, 3, 1, 0))

    @staticmethod
    def _use_taps(stride, groups, *dtypes):
        return stride == (1, 1) and groups == 1 and all(d == np.float32 for d in dtypes)

    @staticmethod
    def _pointwise(w_shape, padding, groups, dtype):
        return w_shape[2:] == (1, 1) and padding == (0, 0) and groups == 1 and \
            dtype == np.float32

    @staticmethod
    def _use_nhwc(x_shape, w_shape, groups, oh, ow, dtype):
        """Channels-last columns: a window copy whose inner runs are C long (NCHW columns
        copy runs of OW), at the price of transposing the weights, so only where the
        columns outweigh the weights (N*OH*OW against O) and C is not tiny."""
        n, c = x_shape[:2]
        return groups == 1 and c >= 16 and 2 * n * oh * ow >= w_shape[0] and \
            dtype == np.float32

    def _im2col_nhwc(self, x, kernel, stride, padding, dilation, oh, ow):
        """(N*OH*OW, KH*KW*C) columns, (kh, kw, c) order, from one window copy of the
        padded input in NHWC; threads take ranges of images."""
        n, c, h, wd = x.shape
        (kh, kw), (ph, pw) = kernel, padding
        xp = np.zeros((n, h + 2 * ph, wd + 2 * pw, c), dtype=np.float32)
        sn, sh, sw, sc = xp.strides
        win = np.lib.stride_tricks.as_strided(
            xp, (n, oh, ow, kh, kw, c),
            (sn, sh * stride[0], sw * stride[1], sh * dilation[0], sw * dilation[1], sc),
            writeable=False)
        cols = np.empty((n, oh, ow, kh, kw, c), dtype=np.float32)

        def images(n0, n1):
            xp[n0:n1, ph:ph + h, pw:pw + wd] = x[n0:n1].transpose(0, 2, 3, 1)
            cols[n0:n1] = win[n0:n1]
        _in_parts(n, cols.size, images)
        return cols.reshape(n * oh * ow, kh * kw * c)

    @staticmethod
    def _use_rows(stride, groups, oh, ow):
        return stride == (1, 1) and groups == 1 and oh * ow > 256

    def conv2d(self, x, w, stride, padding, dilation, groups):
        n, c, h, wd = x.shape
        o, cg, kh, kw = w.shape
        oh = conv_output_size(h, kh, stride[0], padding[0], dilation[0])
        ow = conv_output_size(wd, kw, stride[1], padding[1], dilation[1])
        crop = useful_taps(x.shape, (kh, kw), stride, padding, dilation)
        if crop is not None:  # skip the taps that only see padding
            (i0, i1), (j0, j1), pad = crop
            return self.conv2d(x, w[:, :, i0:i1, j0:j1], stride, pad, dilation, groups)
        if self._pointwise(w.shape, padding, groups, x.dtype):
            # 1x1: GEMMs on the subsampled input, per image on large maps (NCHW out),
            # else one over the batch
            xs = x[:, :, ::stride[0], ::stride[1]][:, :, :oh, :ow]
            if oh * ow >= 256:
                xs = _contiguous(xs).reshape(n, c, oh * ow)
                return _matmul(_contiguous(w).reshape(o, c), xs).reshape(n, o, oh, ow)
            y = _matmul(_contiguous(w).reshape(o, c),
                        xs.transpose(1, 0, 2, 3).reshape(c, n * oh * ow))
            return _contiguous(y.reshape(o, n, oh, ow).transpose(1, 0, 2, 3))
        if _SGEMM is not None and oh * ow >= self.TAP_MIN_MAP and c >= self.TAP_MIN_C and \
                self._use_taps(stride, groups, x.dtype, w.dtype):
            return self._conv_taps(x, w, padding, dilation, oh, ow)
        if self._use_rows(stride, groups, oh, ow) and (_SGEMM is None or c >= self.TAP_MIN_C):
            cols, length, hp, wp = self._row_columns(x, (kh, kw), padding, dilation)
            w_rows = _contiguous(w.transpose(2, 0, 1, 3)).reshape(kh, o, c * kw)
            y = _matmul(w_rows[0], cols[:, :length])
            for i in range(1, kh):
                off = i * dilation[0] * wp
                y += _matmul(w_rows[i], cols[:, off:off + length])
            return self._crop_to_nchw(y, n, hp, wp, oh, ow)
        if self._use_nhwc(x.shape, w.shape, groups, oh, ow, x.dtype):
            cols = self._im2col_nhwc(x, (kh, kw), stride, padding, dilation, oh, ow)
            w_rows = _contiguous(w.transpose(0, 2, 3, 1)).reshape(o, kh * kw * c)
            y = _matmul(cols, w_rows.T)  # (N*OH*OW, O)
            return _contiguous(
                y.reshape(n, oh * ow, o).transpose(0, 2, 1)).reshape(n, o, oh, ow)
        og, k = o // groups, cg * kh * kw
        # large feature maps: a GEMM per image gives NCHW directly; small ones (deep layers)
        # make per-image GEMMs too thin, so use one GEMM over the batch and transpose
        per_image = oh * ow >= 256
        cols = self._im2col(x, (kh, kw), stride, padding, dilation, oh, ow, per_image)
        wg = w.reshape(groups, og, k)
        if per_image:
            if groups == 1:
                return _matmul(wg[0], cols).reshape(n, o, oh, ow)
            y = np.empty((n, o, oh * ow), dtype=np.float32)
            for g in range(groups):
                y[:, g * og:(g + 1) * og] = _matmul(wg[g], cols[:, g * k:(g + 1) * k])
            return y.reshape(n, o, oh, ow)
        y = np.empty((o, n * oh * ow), dtype=np.float32)
        for g in range(groups):
            _matmul(wg[g], cols[g * k:(g + 1) * k], out=y[g * og:(g + 1) * og])
        return _contiguous(y.reshape(o, n, oh, ow).transpose(1, 0, 2, 3))

    def conv2d_grad_input(self, gy, w, x_shape, stride, padding, dilation, groups):
        n, c, h, wd = x_shape
        o, cg, kh, kw = w.shape
        _, _, oh, ow = gy.shape
        og, k = o // groups, cg * kh * kw
        if groups == 1:
            crop = useful_taps(x_shape, (kh, kw), stride, padding, dilation)
            if crop is not None:  # the taps that only see padding contribute nothing
                (i0, i1), (j0, j1), pad = crop
                return self.conv2d_grad_input(gy, w[:, :, i0:i1, j0:j1], x_shape, stride, pad,
                                              dilation, groups)
        if self._pointwise(w.shape, padding, groups, gy.dtype):
            wt = _contiguous(w).reshape(o, c).T
            if oh * ow >= 256:
                g = _matmul(wt, gy.reshape(n, o, oh * ow)).reshape(n, c, oh, ow)
            else:
                g = _matmul(wt, gy.transpose(1, 0, 2, 3).reshape(o, n * oh * ow))
                g = g.reshape(c, n, oh, ow).transpose(1, 0, 2, 3)
            if stride == (1, 1) and (oh, ow) == (h, wd):
                return _contiguous(g)
            dx = np.zeros(x_shape, dtype=np.float32)
            dx[:, :, ::stride[0], ::stride[1]][:, :, :oh, :ow] = g
            return dx
        ph, pw = padding
        fph, fpw = dilation[0] * (kh - 1) - ph, dilation[1] * (kw - 1) - pw
        if stride == (1, 1) and fph >= 0 and fpw >= 0:
            # stride 1: the input gradient is a forward conv of gy with the flipped,
            # transposed kernel (cheaper than scattering columns back)
            # (a view: conv2d copies it once into the layout its GEMMs want)
            wt = w.reshape(groups, og, cg, kh, kw)[:, :, :, ::-1, ::-1].transpose(0, 2, 1, 3, 4)
            return self.conv2d(gy, wt.reshape(c, og, kh, kw), (1, 1), (fph, fpw), dilation,
                               groups)
        # col2im: scatter each tap back, into an input padded enough for every window
        hp = max(h + 2 * ph, (oh - 1) * stride[0] + (kh - 1) * dilation[0] + 1)
        wp = max(wd + 2 * pw, (ow - 1) * stride[1] + (kw - 1) * dilation[1] + 1)
        taps = [(i, j, self._tap(i, dilation[0], stride[0], oh),
                 self._tap(j, dilation[1], stride[1], ow)) for i in range(kh) for j in range(kw)]
        if groups == 1 and gy.dtype == np.float32:
            # one GEMM over the whole batch (per-image GEMMs are thin on small maps)
            if self._use_nhwc(x_shape, w.shape, 1, oh, ow, w.dtype):
                # channels last: (N*OH*OW, O) @ (O, KH*KW*C), taps added back C-contiguous
                g_rows = gy.transpose(0, 2, 3, 1).reshape(n * oh * ow, o)
                w_rows = _contiguous(w.transpose(0, 2, 3, 1)).reshape(o, k)
                dcols = _matmul(g_rows, w_rows).reshape(n, oh, ow, kh, kw, c)
                dxp = np.zeros((n, hp, wp, c), dtype=np.float32)
                for i, j, ti, tj in taps:
                    dxp[:, ti, tj] += dcols[:, :, :, i, j]
                return _contiguous(dxp[:, ph:ph + h, pw:pw + wd].transpose(0, 3, 1, 2))
            g2 = gy.transpose(1, 0, 2, 3).reshape(o, n * oh * ow)
            dcols = _matmul(w.reshape(o, k).T, g2).reshape(c, kh, kw, n, oh, ow)
            dxp = np.zeros((c, n, hp, wp), dtype=np.float32)
            for i, j, ti, tj in taps:
                dxp[:, :, ti, tj] += dcols[:, i, j]
            return _contiguous(dxp[:, :, ph:ph + h, pw:pw + wd].transpose(1, 0, 2, 3))
        g2 = gy.reshape(n, o, oh * ow)
        if groups == 1:
            dcols = _matmul(w.reshape(o, k).T, g2)
        else:
            dcols = np.empty((n, c * kh * kw, oh * ow), dtype=np.float32)
            for g in range(groups):
                dcols[:, g * k:(g + 1) * k] = _matmul(
                    w[g * og:(g + 1) * og].reshape(og, k).T, g2[:, g * og:(g + 1) * og])
        dcols = dcols.reshape(n, c, kh, kw, oh, ow)
        dxp = np.zeros((n, c, hp, wp), dtype=np.float32)
        for i, j, ti, tj in taps:
            dxp[:, :, ti, tj] += dcols[:, :, i, j]
        return _contiguous(dxp[:, :, ph:ph + h, pw:pw + wd])

    def conv2d_grad_weight(self, x, gy, w_shape, stride, padding, dilation, groups):
        n = x.shape[0]
        o, cg, kh, kw = w_shape
        _, _, oh, ow = gy.shape
        crop = useful_taps(x.shape, (kh, kw), stride, padding, dilation)
        if crop is not None:  # taps that only see padding get zero gradient
            (i0, i1), (j0, j1), pad = crop
            inner = self.conv2d_grad_weight(x, gy, (o, cg, i1 - i0, j1 - j0), stride, pad,
                                            dilation, groups)
            out = np.empty(w_shape, dtype=np.float32)

            def rows(o0, o1):  # (ResNet's layer4: 9.4 MB of mostly zeros)
                out[o0:o1] = 0
                out[o0:o1, :, i0:i1, j0:j1] = inner[o0:o1]
            _in_parts(o, out.size, rows)
            return out
        if self._pointwise(w_shape, padding, groups, x.dtype):
            xs = x[:, :, ::stride[0], ::stride[1]][:, :, :oh, :ow]
            x2 = xs.transpose(1, 0, 2, 3).reshape(cg, n * oh * ow)
            g2 = gy.transpose(1, 0, 2, 3).reshape(o, n * oh * ow)
            return _matmul(g2, x2.T).reshape(w_shape)
        og, k = o // groups, cg * kh * kw
        # with threads, the taps (no columns to copy) win from 12x12 maps on, as forward
        tap_min_map = self.TAP_GW_MIN_MAP if POOL.threads == 1 else self.TAP_MIN_MAP
        if _SGEMM is not None and oh * ow >= tap_min_map and cg >= self.TAP_MIN_C and \
                self._use_taps(stride, groups, x.dtype, gy.dtype):
            return self._conv_taps_grad_weight(x, gy, w_shape, padding, dilation)
        if self._use_rows(stride, groups, oh, ow) and (_SGEMM is None or cg >= self.TAP_MIN_C):
            # gy placed on the padded grid (zeros where no output is) against each kernel
            # row's view of the row columns: kh GEMMs, no im2col
            cols, length, hp, wp = self._row_columns(x, (kh, kw), padding, dilation)
            grid = np.zeros((o, n, hp, wp), dtype=np.float32)
            grid[:, :, :oh, :ow] = gy.transpose(1, 0, 2, 3)
            grid = grid.reshape(o, length)
            out = np.empty((kh, o, cg * kw), dtype=np.float32)
            for i in range(kh):
                off = i * dilation[0] * wp
                _matmul(grid, cols[:, off:off + length].T, out=out[i])
            return _contiguous(out.reshape(kh, o, cg, kw).transpose(1, 2, 0, 3))
        if self._use_nhwc(x.shape, w_shape, groups, oh, ow, x.dtype):
            cols = self._im2col_nhwc(x, (kh, kw), stride, padding, dilation, oh, ow)
            g2 = gy.transpose(1, 0, 2, 3).reshape(o, n * oh * ow)
            out = _matmul(g2, cols).reshape(o, kh, kw, cg)
            return _contiguous(out.transpose(0, 3, 1, 2))
        if groups == 1 and oh * ow >= 256:
            # large maps: a GEMM per image, gy (O, P) @ its columns (P, K), summed over
            # the batch (no transposed copy of gy; ~4x faster for a 1-channel input)
            cols = self._im2col(x, (kh, kw), stride, padding, dilation, oh, ow, per_image=True)
            per_image = _matmul(gy.reshape(n, o, oh * ow), cols.transpose(0, 2, 1))
            return np.add.reduce(per_image, axis=0).reshape(w_shape)
        # (O, N*P) @ (N*P, K): one GEMM; the columns enter transposed as a view
        cols = self._im2col(x, (kh, kw), stride, padding, dilation, oh, ow, per_image=False)
        g2 = gy.transpose(1, 0, 2, 3).reshape(o, n * oh * ow)
        out = np.empty((o, k), dtype=np.float32)
        for g in range(groups):
            _matmul(g2[g * og:(g + 1) * og], cols[g * k:(g + 1) * k].T,
                      out=out[g * og:(g + 1) * og])
        return out.reshape(w_shape)

    def _pool_geometry(self, x_shape, kernel, stride, padding, dilation, ceil_mode):
        _, _, h, w = x_shape
        oh = pool_output_size(h, kernel[0], stride[0], padding[0], dilation[0], ceil_mode)
        ow = pool_output_size(w, kernel[1], stride[1], padding[1], dilation[1], ceil_mode)
        # pad right/bottom enough for every window (ceil_mode windows may run past the input)
        need_h = (oh - 1) * stride[0] + dilation[0] * (kernel[0] - 1) + 1
        need_w = (ow - 1) * stride[1] + dilation[1] * (kernel[1] - 1) + 1
        extra = (max(0, need_h - h - padding[0]), max(0, need_w - w - padding[1]))
        return oh, ow, extra

    def max_pool2d(self, x, kernel, stride, padding, dilation, ceil_mode):
        n, c, h, w = x.shape
        oh, ow, extra = self._pool_geometry(x.shape, kernel, stride, padding, dilation, ceil_mode)
        best = np.empty((n, c, oh, ow), dtype=x.dtype)
        arg = np.empty((n, c, oh, ow), dtype=np.int64)

        def images(n0, n1):  # threads take ranges of images
            self._max_pool_into(x[n0:n1], kernel, stride, padding, dilation, (oh, ow), extra,
                                best[n0:n1], arg[n0:n1])
        _in_parts(n, x.size, images)
        return best, arg

    def _max_pool_into(self, x, kernel, stride, padding, dilation, out_hw, extra, best, arg):
        n, c, h, w = x.shape
        (kh, kw), (oh, ow) = kernel, out_hw
        if padding != (0, 0) or extra != (0, 0):
            xp = np.full((n, c, h + padding[0] + extra[0], w + padding[1] + extra[1]), -np.inf,
                         dtype=x.dtype)
            xp[:, :, padding[0]:padding[0] + h, padding[1]:padding[1] + w] = x
        else:
            xp = x
        # the max over kernel taps (strided views), then each output's flat input index
        # from the first tap that equals it: a few whole-array passes, no tiny-axis argmax
        taps = [(i, j, xp[:, :, self._tap(i, dilation[0], stride[0], oh),
                          self._tap(j, dilation[1], stride[1], ow)])
                for i in range(kh) for j in range(kw)]
        best[...] = taps[0][2]
        for _, _, v in taps[1:]:
            np.maximum(best, v, out=best)  # propagates NaN, as torch
        nan = bool(np.isnan(best).any())
        # k = how many taps come before the first one equal to the max (or NaN): count the
        # taps while nothing matched yet, in branch-free uint8 passes (np.where branches)
        k = np.zeros(best.shape, dtype=np.uint8 if len(taps) < 256 else np.int64)
        found = None
        for _, _, v in taps[:-1]:
            hit = v == best
            if nan:
                hit |= np.isnan(v)
            found = hit if found is None else np.logical_or(found, hit, out=found)
            k += ~found
        # flat input index = window origin + the tap's offset (a table lookup by k)
        offsets = np.array([i * dilation[0] * w + j * dilation[1] for i, j, _ in taps],
                           dtype=np.int64)
        origin = ((np.arange(oh) * stride[0] - padding[0])[:, None] * w +
                  (np.arange(ow) * stride[1] - padding[1])[None, :])
        np.take(offsets, k, out=arg)
        arg += origin

    def max_pool2d_grad(self, gy, indices, x_shape):
        n = x_shape[0]
        if gy.dtype != np.float32:
            return self._max_pool_grad_images(gy, indices, x_shape)
        dx = np.empty(x_shape, dtype=np.float32)

        def images(n0, n1):  # threads take ranges of images
            dx[n0:n1] = self._max_pool_grad_images(gy[n0:n1], indices[n0:n1],
                                                   (n1 - n0,) + tuple(x_shape[1:]))
        _in_parts(n, dx.size, images)
        return dx

    def _max_pool_grad_images(self, gy, indices, x_shape):
        n, c, h, w = x_shape
        plane = np.arange(n * c, dtype=np.int64).reshape(n, c, 1, 1) * (h * w)
        flat = (indices + plane).reshape(-1)
        size = n * c * h * w
        if gy.dtype == np.float32 and flat.size <= size:
            # windows that do not overlap (the usual 2x2/2) pick distinct inputs: a plain
            # scatter is then exact; a hit count tells whether any index repeated
            hits = np.zeros(size, dtype=np.bool_)
            hits[flat] = True
            if np.count_nonzero(hits) == flat.size:
                dx = np.zeros(size, dtype=np.float32)
                dx[flat] = gy.reshape(-1)
                return dx.reshape(x_shape)
        # bincount with weights is a much faster scatter-add than np.add.at
        dx = np.bincount(flat, weights=gy.reshape(-1), minlength=size)
        return dx.astype(np.float32).reshape(x_shape)

    def _avg_divisor(self, x_shape, kernel, stride, padding, oh, ow, count_include_pad):
        _, _, h, w = x_shape

        def axis(size, k, s, p, o):
            start = np.arange(o) * s - p
            end = np.minimum(start + k, size + p)
            if count_include_pad:
                return end - start
            return np.minimum(end, size) - np.maximum(start, 0)
        dh = axis(h, kernel[0], stride[0], padding[0], oh)
        dw = axis(w, kernel[1], stride[1], padding[1], ow)
        return (dh[:, None] * dw[None, :]).astype(np.float32)

    def avg_pool2d(self, x, kernel, stride, padding, ceil_mode, count_include_pad):
        oh, ow, extra = self._pool_geometry(x.shape, kernel, stride, padding, (1, 1), ceil_mode)
        xp = np.pad(x, ((0, 0), (0, 0), (padding[0], extra[0]), (padding[1], extra[1])))
        win = self._windows(xp, kernel, stride, (1, 1), (oh, ow))
        div = self._avg_divisor(x.shape, kernel, stride, padding, oh, ow, count_include_pad)
        return (win.sum(axis=(4, 5), dtype=np.float32) / div).astype(np.float32)

    def avg_pool2d_grad(self, gy, x_shape, kernel, stride, padding, ceil_mode, count_include_pad):
        n, c, h, w = x_shape
        oh, ow, extra = self._pool_geometry(x_shape, kernel, stride, padding, (1, 1), ceil_mode)
        div = self._avg_divisor(x_shape, kernel, stride, padding, oh, ow, count_include_pad)
        g = gy / div
        dxp = np.zeros((n, c, h + padding[0] + extra[0], w + padding[1] + extra[1]), np.float32)
        for i in range(kernel[0]):
            for j in range(kernel[1]):
                dxp[:, :, i:i + stride[0] * (oh - 1) + 1:stride[0],
                    j:j + stride[1] * (ow - 1) + 1:stride[1]] += g
        return np.ascontiguousarray(dxp[:, :, padding[0]:padding[0] + h,
                                        padding[1]:padding[1] + w])

    # -- fused ops -------------------------------------------------------------------------
    @staticmethod
    def _channel_layout(x, axes):
        """(n, c, p) when `axes` are all dims but 1 of a float32 array, else None."""
        if x.dtype != np.float32 or x.ndim < 2 or x.size == 0 or \
                tuple(axes) != (0,) + tuple(range(2, x.ndim)):
            return None
        return x.shape[0], x.shape[1], x.size // (x.shape[0] * x.shape[1])

    BN_BLOCK = 1 << 18  # elements in a block of rows: its temporaries stay in the L2 cache

    def _row_blocks(self, n, width):
        step = max(1, self.BN_BLOCK // max(1, width))
        return [(r, min(n, r + step)) for r in range(0, n, step)], step

    # BatchNorm is memory-bound: it is laid out as (n, c*p) with per-channel vectors
    # repeated p times (inner loops c*p long: broadcasting over (n, c, p) loops p at a time,
    # slow on a ResNet's 2x2 maps), and walks blocks of rows whose temporaries (squares,
    # products) never leave the cache: forward reads x twice and writes y and x - mean
    # once; backward reads g and x - mean twice and writes the gradient once. Channels are
    # independent, so threads take ranges of them. Statistics are float32 sums, down the
    # batch and then pairwise over positions, as torch's CPU kernel.

    def batch_norm_train(self, x, weight, bias, axes, eps):
        layout = self._channel_layout(x, axes)
        if layout is None:
            return super().batch_norm_train(x, weight, bias, axes, eps)
        n, c, p = layout
        f32 = np.float32
        inv_n = f32(1.0 / (n * p))
        x2 = x.reshape(n, c * p)
        y, centered = np.empty_like(x2), np.empty_like(x2)
        mean, var, invstd = (np.empty(c, dtype=f32) for _ in range(3))
        w = None if weight is None else weight.reshape(c)
        b = None if bias is None else bias.reshape(c)

        def channels(c0, c1):
            cols, k = slice(c0 * p, c1 * p), c1 - c0
            blocks, step = self._row_blocks(n, k * p)
            scratch = np.empty((min(step, n), k * p), dtype=f32)
            acc = np.zeros(k * p, dtype=f32)
            for r0, r1 in blocks:
                acc += np.add.reduce(x2[r0:r1, cols], axis=0)
            m = np.multiply(acc.reshape(k, p).sum(axis=1), inv_n, out=mean[c0:c1])
            m_p = np.repeat(m, p)
            acc[...] = 0
            for r0, r1 in blocks:
                cen = np.subtract(x2[r0:r1, cols], m_p, out=centered[r0:r1, cols])
                acc += np.add.reduce(np.multiply(cen, cen, out=scratch[:r1 - r0]), axis=0)
            v = np.multiply(acc.reshape(k, p).sum(axis=1), inv_n, out=var[c0:c1])
            inv = np.divide(f32(1), np.sqrt(v + f32(eps)), out=invstd[c0:c1])
            scale_p = np.repeat(inv if w is None else inv * w[c0:c1], p)
            bias_p = None if b is None else np.repeat(b[c0:c1], p)
            for r0, r1 in blocks:
                out = np.multiply(centered[r0:r1, cols], scale_p, out=y[r0:r1, cols])
                if bias_p is not None:
                    out += bias_p
        _in_parts(c, x2.size, channels)
        sshape = (1, c) + (1,) * (x.ndim - 2)
        return (y.reshape(x.shape), centered.reshape(x.shape), mean.reshape(sshape),
                var.reshape(sshape), invstd.reshape(sshape))

    def batch_norm_train_backward(self, g, centered, invstd, weight, axes):
        layout = self._channel_layout(centered, axes)
        if layout is None or g.dtype != np.float32:
            return super().batch_norm_train_backward(g, centered, invstd, weight, axes)
        n, c, p = layout
        f32 = np.float32
        inv_n = f32(1.0 / (n * p))
        g2 = g.reshape(n, c * p)
        xc = centered.reshape(n, c * p)
        inv_all = invstd.reshape(c)
        w = None if weight is None else weight.reshape(c)
        gx = np.empty_like(g2)
        gweight, gbias = np.empty(c, dtype=f32), np.empty(c, dtype=f32)

        def channels(c0, c1):
            cols, k = slice(c0 * p, c1 * p), c1 - c0
            blocks, step = self._row_blocks(n, k * p)
            scratch = np.empty((min(step, n), k * p), dtype=f32)
            sum_g, sum_gx = np.zeros(k * p, dtype=f32), np.zeros(k * p, dtype=f32)
            for r0, r1 in blocks:
                gb = g2[r0:r1, cols]
                sum_g += np.add.reduce(gb, axis=0)
                sum_gx += np.add.reduce(np.multiply(gb, xc[r0:r1, cols], out=scratch[:r1 - r0]),
                                        axis=0)
            inv = inv_all[c0:c1]
            gbias[c0:c1] = sum_g.reshape(k, p).sum(axis=1)
            gw = np.multiply(sum_gx.reshape(k, p).sum(axis=1), inv, out=gweight[c0:c1])
            # gx = w*inv * ((g - mean(g)) - xhat * mean(g*xhat)), the subtractions first,
            # as torch (they cancel on small batches)
            mean_g = np.repeat(gbias[c0:c1] * inv_n, p)
            proj = np.repeat(inv * (gw * inv_n), p)
            scale = np.repeat(inv if w is None else inv * w[c0:c1], p)
            for r0, r1 in blocks:
                out = np.subtract(g2[r0:r1, cols], mean_g, out=gx[r0:r1, cols])
                out -= np.multiply(xc[r0:r1, cols], proj, out=scratch[:r1 - r0])
                out *= scale
        _in_parts(c, g2.size, channels)
        return gx.reshape(g.shape), gweight.reshape(invstd.shape), gbias.reshape(invstd.shape)

    SGD_CHUNK = 1 << 15  # elements per pass: the temporaries stay in the L2 cache

    def sgd_update(self, p, grad, momentum_buffer, lr, momentum, dampening, weight_decay,
                   nesterov, maximize):
        # the composed default's arithmetic, op for op, into fresh arrays (inputs are never
        # written), a cache-sized chunk at a time
        if not self._same_float32(p, grad, momentum_buffer):
            return super().sgd_update(p, grad, momentum_buffer, lr, momentum, dampening,
                                      weight_decay, nesterov, maximize)
        f32 = np.float32
        lr, momentum, dampening, weight_decay = (f32(lr), f32(momentum), f32(1 - dampening),
                                                 f32(weight_decay))
        pf, gf = p.reshape(-1), grad.reshape(-1)
        bf = None if momentum_buffer is None else momentum_buffer.reshape(-1)
        new_p = np.empty(p.shape, dtype=np.float32)
        new_buf = np.empty(p.shape, dtype=np.float32) if momentum else None
        npf = new_p.reshape(-1)
        nbf = new_buf.reshape(-1) if momentum else None
        def elements(e0, e1):  # threads take ranges of elements, a chunk at a time
            for a in range(e0, e1, self.SGD_CHUNK):
                sl = slice(a, min(e1, a + self.SGD_CHUNK))
                pc, g, out = pf[sl], gf[sl], npf[sl]
                if maximize:
                    g = np.negative(g)
                if weight_decay:
                    g = g + pc * weight_decay
                step = g
                if momentum:
                    buf = nbf[sl]
                    if bf is None:
                        buf[...] = g
                    else:
                        np.multiply(bf[sl], momentum, out=buf)
                        buf += g * dampening if dampening != 1 else g
                    step = g + buf * momentum if nesterov else buf
                np.multiply(step, lr, out=out)
                np.subtract(pc, out, out=out)
        _in_parts(pf.size, pf.size, elements, align=16)
        return new_p, new_buf


    def adam_update(self, p, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, lr, beta1, beta2, eps,
                    weight_decay, decoupled, amsgrad, maximize, step):
        # the composed default's arithmetic, op for op, into fresh arrays (inputs are never
        # written), a cache-sized chunk at a time, threads taking ranges of elements
        buffers = (p, grad, exp_avg, exp_avg_sq) + ((max_exp_avg_sq,) if amsgrad else ())
        if not self._same_float32(*buffers):
            return super().adam_update(p, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, lr, beta1,
                                       beta2, eps, weight_decay, decoupled, amsgrad, maximize,
                                       step)
        f32 = np.float32
        decay, wd = f32(1 - lr * weight_decay), f32(weight_decay)
        k1, b2, k2 = f32(1 - beta1), f32(beta2), f32(1 - beta2)
        root_c2, k_eps = f32(math.sqrt(1 - beta2 ** step)), f32(eps)
        k_lr = f32(lr / (1 - beta1 ** step))
        ins = [b.reshape(-1) for b in buffers]
        outs = [np.empty(p.shape, dtype=f32) for _ in range(4 if amsgrad else 3)]
        flat = [o.reshape(-1) for o in outs]

        def elements(e0, e1):
            with np.errstate(all="ignore"):
                for a in range(e0, e1, self.SGD_CHUNK):
                    sl = slice(a, min(e1, a + self.SGD_CHUNK))
                    pc, g, m0, v0 = (x[sl] for x in ins[:4])
                    if maximize:
                        g = np.negative(g)
                    if weight_decay:
                        if decoupled:
                            pc = pc * decay
                        else:
                            g = g + pc * wd
                    m = np.subtract(g, m0, out=flat[1][sl])
                    m *= k1
                    m += m0
                    v = np.multiply(v0, b2, out=flat[2][sl])
                    v += (g * g) * k2
                    if amsgrad:
                        v = np.maximum(ins[4][sl], v, out=flat[3][sl])
                    denom = np.sqrt(v)
                    denom /= root_c2
                    denom += k_eps
                    update = m / denom
                    update *= k_lr
                    np.subtract(pc, update, out=flat[0][sl])
        _in_parts(p.size, p.size * 3, elements, align=16)
        return outs[0], outs[1], outs[2], outs[3] if amsgrad else None

backend = NumpyBackend()
