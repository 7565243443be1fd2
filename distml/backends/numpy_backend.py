"""The numpy backend: the server's and CPython's default "cpu" implementation."""
import ctypes
import math
import os
import sys

import numpy as np

from ..random import stream_key
from .base import Backend, conv_output_size, pool_output_size

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

NP_DTYPES = {"float32": np.float32, "int64": np.int64, "bool": np.bool_}
NAMES = {np.dtype(np.float32): "float32", np.dtype(np.int64): "int64", np.dtype(np.bool_): "bool"}

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
                return np.maximum(x, 0).astype(x.dtype) if x.dtype != np.bool_ else x
            if op == "sigmoid":
                # exp(-|x|) never overflows; pick the stable form by sign
                e = np.exp(-np.abs(x))
                return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype)
            if op == "rsqrt":
                return (1 / np.sqrt(x)).astype(x.dtype)
            if op == "erf":
                return _erf(x)
            out = _UNARY[op](x)
            return np.asarray(out)

    def binary(self, op, x, y):
        with np.errstate(all="ignore"):
            if op == "div" and x.dtype != np.float32:
                x = x.astype(np.float32)
            if op == "pow" and x.dtype == np.int64 and y.dtype == np.int64:
                return np.asarray(np.power(x, y))
            return np.asarray(_BINARY[op](x, y))

    def where(self, cond, x, y):
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
        return np.matmul(a, b)

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
        n, c, h, wd = x.shape
        kh, kw = kernel
        hp, wp = h + 2 * padding[0], wd + 2 * padding[1]
        length = n * hp * wp
        tail = (kh - 1) * dilation[0] * wp
        flat = np.zeros((c, length + tail + (kw - 1) * dilation[1]), dtype=np.float32)
        flat[:, :length].reshape(c, n, hp, wp)[
            :, :, padding[0]:padding[0] + h, padding[1]:padding[1] + wd] = x.transpose(1, 0, 2, 3)
        cols = np.empty((c, kw, length + tail), dtype=np.float32)
        for j in range(kw):
            cols[:, j] = flat[:, j * dilation[1]:j * dilation[1] + length + tail]
        return cols.reshape(c * kw, length + tail), length, hp, wp

    @staticmethod
    def _use_rows(stride, groups, oh, ow):
        return stride == (1, 1) and groups == 1 and oh * ow > 256

    def conv2d(self, x, w, stride, padding, dilation, groups):
        n, c, h, wd = x.shape
        o, cg, kh, kw = w.shape
        oh = conv_output_size(h, kh, stride[0], padding[0], dilation[0])
        ow = conv_output_size(wd, kw, stride[1], padding[1], dilation[1])
        if self._use_rows(stride, groups, oh, ow):
            cols, length, hp, wp = self._row_columns(x, (kh, kw), padding, dilation)
            w_rows = np.ascontiguousarray(w.transpose(2, 0, 1, 3)).reshape(kh, o, c * kw)
            y = np.matmul(w_rows[0], cols[:, :length])
            for i in range(1, kh):
                off = i * dilation[0] * wp
                y += np.matmul(w_rows[i], cols[:, off:off + length])
            return np.ascontiguousarray(
                y.reshape(o, n, hp, wp)[:, :, :oh, :ow].transpose(1, 0, 2, 3))
        og, k = o // groups, cg * kh * kw
        # large feature maps: a GEMM per image gives NCHW directly; small ones (deep layers)
        # make per-image GEMMs too thin, so use one GEMM over the batch and transpose
        per_image = oh * ow >= 256
        cols = self._im2col(x, (kh, kw), stride, padding, dilation, oh, ow, per_image)
        wg = w.reshape(groups, og, k)
        if per_image:
            if groups == 1:
                return np.matmul(wg[0], cols).reshape(n, o, oh, ow)
            y = np.empty((n, o, oh * ow), dtype=np.float32)
            for g in range(groups):
                y[:, g * og:(g + 1) * og] = np.matmul(wg[g], cols[:, g * k:(g + 1) * k])
            return y.reshape(n, o, oh, ow)
        y = np.empty((o, n * oh * ow), dtype=np.float32)
        for g in range(groups):
            np.matmul(wg[g], cols[g * k:(g + 1) * k], out=y[g * og:(g + 1) * og])
        return np.ascontiguousarray(y.reshape(o, n, oh, ow).transpose(1, 0, 2, 3))

    def conv2d_grad_input(self, gy, w, x_shape, stride, padding, dilation, groups):
        n, c, h, wd = x_shape
        o, cg, kh, kw = w.shape
        _, _, oh, ow = gy.shape
        og, k = o // groups, cg * kh * kw
        ph, pw = padding
        fph, fpw = dilation[0] * (kh - 1) - ph, dilation[1] * (kw - 1) - pw
        if stride == (1, 1) and fph >= 0 and fpw >= 0:
            # stride 1: the input gradient is a forward conv of gy with the flipped,
            # transposed kernel (cheaper than scattering columns back)
            wt = w.reshape(groups, og, cg, kh, kw)[:, :, :, ::-1, ::-1].transpose(0, 2, 1, 3, 4)
            wt = np.ascontiguousarray(wt).reshape(c, og, kh, kw)
            return self.conv2d(gy, wt, (1, 1), (fph, fpw), dilation, groups)
        g2 = gy.reshape(n, o, oh * ow)
        if groups == 1:
            dcols = np.matmul(w.reshape(o, k).T, g2)
        else:
            dcols = np.empty((n, c * kh * kw, oh * ow), dtype=np.float32)
            for g in range(groups):
                dcols[:, g * k:(g + 1) * k] = np.matmul(
                    w[g * og:(g + 1) * og].reshape(og, k).T, g2[:, g * og:(g + 1) * og])
        dcols = dcols.reshape(n, c, kh, kw, oh, ow)
        # col2im: scatter each tap back, into an input padded enough for every window
        hp = max(h + 2 * ph, (oh - 1) * stride[0] + (kh - 1) * dilation[0] + 1)
        wp = max(wd + 2 * pw, (ow - 1) * stride[1] + (kw - 1) * dilation[1] + 1)
        dxp = np.zeros((n, c, hp, wp), dtype=np.float32)
        for i in range(kh):
            for j in range(kw):
                dxp[:, :, self._tap(i, dilation[0], stride[0], oh),
                    self._tap(j, dilation[1], stride[1], ow)] += dcols[:, :, i, j]
        return np.ascontiguousarray(dxp[:, :, ph:ph + h, pw:pw + wd])

    def conv2d_grad_weight(self, x, gy, w_shape, stride, padding, dilation, groups):
        n = x.shape[0]
        o, cg, kh, kw = w_shape
        _, _, oh, ow = gy.shape
        og, k = o // groups, cg * kh * kw
        if self._use_rows(stride, groups, oh, ow):
            # gy placed on the padded grid (zeros where no output is) against each kernel
            # row's view of the row columns: kh GEMMs, no im2col
            cols, length, hp, wp = self._row_columns(x, (kh, kw), padding, dilation)
            grid = np.zeros((o, n, hp, wp), dtype=np.float32)
            grid[:, :, :oh, :ow] = gy.transpose(1, 0, 2, 3)
            grid = grid.reshape(o, length)
            out = np.empty((kh, o, cg * kw), dtype=np.float32)
            for i in range(kh):
                off = i * dilation[0] * wp
                np.matmul(grid, cols[:, off:off + length].T, out=out[i])
            return np.ascontiguousarray(out.reshape(kh, o, cg, kw).transpose(1, 2, 0, 3))
        # (O, N*P) @ (N*P, K): one GEMM; the columns enter transposed as a view
        cols = self._im2col(x, (kh, kw), stride, padding, dilation, oh, ow, per_image=False)
        g2 = gy.transpose(1, 0, 2, 3).reshape(o, n * oh * ow)
        out = np.empty((o, k), dtype=np.float32)
        for g in range(groups):
            np.matmul(g2[g * og:(g + 1) * og], cols[g * k:(g + 1) * k].T,
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
        kh, kw = kernel
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
        best = taps[0][2].copy()
        for _, _, v in taps[1:]:
            np.maximum(best, v, out=best)  # propagates NaN, as torch
        nan = bool(np.isnan(best).any())
        base_r = (np.arange(oh) * stride[0] - padding[0])[:, None]
        base_c = (np.arange(ow) * stride[1] - padding[1])[None, :]
        arg = None
        for i, j, v in reversed(taps):  # reversed: the first matching tap is written last
            flat = (base_r + i * dilation[0]) * w + (base_c + j * dilation[1])
            hit = v == best
            if nan:
                hit |= np.isnan(v)
            arg = np.broadcast_to(flat, best.shape).copy() if arg is None else \
                np.where(hit, flat, arg)
        return best, arg.astype(np.int64)

    def max_pool2d_grad(self, gy, indices, x_shape):
        n, c, h, w = x_shape
        # bincount with weights is a much faster scatter-add than np.add.at
        plane = np.arange(n * c, dtype=np.int64).reshape(n, c, 1, 1) * (h * w)
        dx = np.bincount((indices + plane).reshape(-1), weights=gy.reshape(-1),
                         minlength=n * c * h * w)
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


backend = NumpyBackend()
