"""The numpy backend's convolutions and pooling: GEMM-based conv paths chosen by shape
(one GEMM per kernel tap on the flattened input, Winograd's F(2x2, 3x3) in winograd.py,
or im2col columns in one of three layouts), and max pooling by whole-array passes over
the taps. avg_pool2d itself is Backend's composed default (measured faster than a window
view's sum)."""
import math

import numpy as np

from ..base import Backend, avg_pool_divisors, conv_output_size, pool_geometry, useful_taps
from .blas import (GEMM_OVERSPLIT, GEMM_WORK, POOL, _contiguous, _in_parts, _long_reduction,
                   _matmul, _sgemm, _summed)
from .winograd import conv3x3_winograd


def float32_paths(method):
    """The GEMM and pooling paths below are written for float32; another dtype (float64)
    takes Backend's composed default, which keeps its precision."""
    composed = getattr(Backend, method.__name__)

    def dispatch(self, first, *args):
        if first.dtype != np.float32:
            return composed(self, first, *args)
        return method(self, first, *args)
    dispatch.__name__, dispatch.__doc__ = method.__name__, method.__doc__
    return dispatch


# The im2col layouts: the memory order of the columns' (N, C, KH, KW, OH, OW) axes and of
# the padded input's (N, C, Hp, Wp) that they are copied from (or added back into).
LAYOUTS = {
    "image": ((0, 1, 2, 3, 4, 5), (0, 1, 2, 3)),  # (N, C*KH*KW, OH*OW): a GEMM per image
    "batch": ((1, 2, 3, 0, 4, 5), (1, 0, 2, 3)),  # (C*KH*KW, N*OH*OW): one over the batch
    "nhwc": ((0, 4, 5, 2, 3, 1), (0, 2, 3, 1)),   # (N*OH*OW, KH*KW*C): copies in runs of C
}


def _in_order(flat, shape, order):
    """`flat`, whose memory holds the axes of `shape` in `order`, viewed as `shape`."""
    return flat.reshape([shape[a] for a in order]).transpose(np.argsort(order))


def _empty(shape, order):
    return _in_order(np.empty(math.prod(shape), dtype=np.float32), shape, order)


def _crop_taps(w, rows, cols):
    """w[:, :, rows, cols] copied C-contiguous one kernel tap at a time, each copy over
    (O, C): numpy's own copy loops over the 2-3 kept taps innermost (4.6x slower on
    ResNet-18's layer4, 2x2 maps). One tap stays a view (numpy's matmul copies it as fast).
    Threads take ranges of O."""
    w = w[:, :, rows, cols]
    if w.shape[2:] == (1, 1):
        return w
    out = np.empty(w.shape, dtype=np.float32)

    def outputs(o0, o1):
        for i in range(w.shape[2]):
            for j in range(w.shape[3]):
                out[o0:o1, :, i, j] = w[o0:o1, :, i, j]
    _in_parts(w.shape[0], w.size, outputs)
    return out


class ConvPoolOps:
    """Mixin of NumpyBackend: conv2d, its gradients, max pooling and avg_pool2d_grad."""

    @staticmethod
    def _tap(kernel_pos, dilation, stride, out):
        start = kernel_pos * dilation
        return slice(start, start + stride * (out - 1) + 1, stride)

    # output maps (OH*OW) at least this large use the tap GEMMs (measured: from 12x12 on
    # they beat im2col; for weight gradients on one thread, above 16x16)
    TAP_MIN_MAP = 144
    TAP_GW_MIN_MAP = 257
    GW_BLOCK = 1 << 17  # elements of a weight-gradient GEMM's operands: L2-sized
    # channels-last weight gradients whose reduction (N*OH*OW) is at least this many times
    # O and KH*KW*C split it by images, fused with the copy (measured: ResNet-18's 8x8 maps
    # 1.38 -> 1.24 ms; not on 4x4 and 2x2, where the partial products are as large)
    GW_FUSE = 2
    MIN_C = 16  # fewer input channels: im2col (per image on large maps) is cheap, the GEMM fatter

    # Winograd's F(2x2, 3x3) (winograd.py) for 3x3 stride-1 convs with this many input and
    # output channels, on maps from 8x8 (measured on two threads against the taps and
    # channels-last columns: 1.3x on MNIST CNN's 64 channels at 14x14, 1.6-2x on
    # ResNet-18's 64 to 256 at 32x32 to 8x8; slower on 32 channels, where the transforms
    # weigh more, and on 512, whose GEMMs reduce over more than OpenBLAS's block of 256)
    WINOGRAD_CHANNELS = (64, 256)
    WINOGRAD_MIN_MAP = 64

    def _winograd(self, x_shape, w_shape, stride, dilation, groups, oh, ow):
        low, high = self.WINOGRAD_CHANNELS
        return (w_shape[2:] == (3, 3) and stride == (1, 1) and dilation == (1, 1)
                and groups == 1 and low <= x_shape[1] <= high and low <= w_shape[0] <= high
                and oh * ow >= self.WINOGRAD_MIN_MAP)

    def _layout(self, x_shape, w_shape, stride, padding, groups, oh, ow, tap_min_map):
        """How a float32 conv (or a gradient) runs: "taps" (stride 1 on large maps) or the
        im2col layout of its columns. Channels-last columns copy runs of C (NCHW ones, runs
        of OW) at the price of transposing the weights: only where the columns outweigh the
        weights (N*OH*OW against O) and C is not tiny. Else NCHW columns, per image on large
        maps, else one GEMM over the batch. 1x1 convs take those: their columns are the
        (subsampled) input itself."""
        n, c = x_shape[:2]
        pointwise = w_shape[2:] == (1, 1) and padding == (0, 0)
        if groups == 1 and c >= self.MIN_C and not pointwise:
            if stride == (1, 1) and oh * ow >= tap_min_map:
                return "taps"
            if 2 * n * oh * ow >= w_shape[0]:
                return "nhwc"
        return "image" if oh * ow >= 256 else "batch"

    def _im2col(self, x, kernel, stride, padding, dilation, oh, ow, layout, gemm=None,
                gemm_work=0):
        """Columns for a conv as a GEMM in `layout`: one copy of the window view of the
        input, padded in the matching order; threads take ranges of images. With `gemm`
        (nhwc only), each part goes on to call gemm(columns, n0, n1) for its images' rows
        of columns, still in its cache, and the list of what the parts return is
        returned: one hand-over to the threads instead of two."""
        n, c, h, wd = x.shape
        (kh, kw), (ph, pw) = kernel, padding
        order, grid_order = LAYOUTS[layout]
        flat = {"image": (n, c * kh * kw, oh * ow), "batch": (c * kh * kw, n * oh * ow),
                "nhwc": (n * oh * ow, kh * kw * c)}[layout]
        if (kh, kw) == (1, 1) and stride == (1, 1) and padding == (0, 0) and layout == "image":
            return _contiguous(x).reshape(flat)  # the input itself
        cols = _empty((n, c, kh, kw, oh, ow), order)
        padded = ph or pw or layout == "nhwc"
        grid = _empty((n, c, h + 2 * ph, wd + 2 * pw), grid_order) if padded else x
        sn, sc, sh, sw = grid.strides
        window = np.lib.stride_tricks.as_strided(grid, cols.shape, (
            sn, sc, sh * dilation[0], sw * dilation[1], sh * stride[0], sw * stride[1]))
        flat_cols = cols.transpose(order).reshape(flat)

        def images(n0, n1):
            if padded:
                g = grid[n0:n1]
                if ph or pw:
                    g[...] = 0
                g[:, :, ph:ph + h, pw:pw + wd] = x[n0:n1]
            cols[n0:n1] = window[n0:n1]
            if gemm is not None:
                return gemm(flat_cols, n0, n1)
        if gemm is None:
            _in_parts(n, cols.size, images)
            return flat_cols
        return _in_parts(n, max(cols.size, gemm_work), images, oversplit=GEMM_OVERSPLIT)

    def _col2im(self, dcols, x_shape, kernel, stride, padding, dilation, layout):
        """The transpose of _im2col: dcols (N, C, KH, KW, OH, OW) (a view in `layout`), each
        tap added back into a zero-padded input laid out alike, cropped to NCHW."""
        n, c, h, wd = x_shape
        (kh, kw), (ph, pw), (oh, ow) = kernel, padding, dcols.shape[4:]
        hp = max(h + 2 * ph, (oh - 1) * stride[0] + (kh - 1) * dilation[0] + 1)
        wp = max(wd + 2 * pw, (ow - 1) * stride[1] + (kw - 1) * dilation[1] + 1)
        grid = _empty((n, c, hp, wp), LAYOUTS[layout][1])

        def images(n0, n1):
            g = grid[n0:n1]
            g[...] = 0
            for i in range(kh):
                for j in range(kw):
                    g[:, :, self._tap(i, dilation[0], stride[0], oh),
                      self._tap(j, dilation[1], stride[1], ow)] += dcols[n0:n1, :, i, j]
        _in_parts(n, dcols.size, images)
        return _contiguous(grid[:, :, ph:ph + h, pw:pw + wd])

    def _flat_padded(self, x, kernel, padding, dilation, channels_last=False):
        """The input flattened with zero padding for a stride-1 conv, (C, F + N*Hp*Wp +
        tail), or with `channels_last` its transpose (F + N*Hp*Wp + tail, C): kernel tap
        (i, j) is then the constant offset i*dh*Wp + j*dw from every output position of
        the (Hp, Wp) grid at once. Neighbouring rows and images share their padding (a
        row's right pad is the next row's left one; the zeros in front, F = ph*Wp + pw,
        are the first image's top-left pad): Hp = H + ph and Wp = W + pw rather than
        H + 2ph and W + 2pw, so fewer wasted positions (14x14 maps: 225 instead of 256).
        Returns (flat, length = N*Hp*Wp, Hp, Wp); output (n, r, q) is position
        n*Hp*Wp + r*Wp + q."""
        n, c, h, wd = x.shape
        (kh, kw), (ph, pw), (dh, dw) = kernel, padding, dilation
        oh, ow = h + 2 * ph - dh * (kh - 1), wd + 2 * pw - dw * (kw - 1)
        hp, wp = max(h + ph, oh), max(wd + pw, ow)
        length = n * hp * wp
        front = ph * wp + pw
        reach = (kh - 1) * dh * wp + (kw - 1) * dw  # the largest tap offset
        positions = max(front + length, length + reach)
        flat = np.empty((positions, c) if channels_last else (c, positions), dtype=np.float32)
        rows = flat if channels_last else flat.T  # (positions, C) either way
        rows[:front] = 0
        rows[front + length:] = 0
        grid = rows[front:front + length].reshape(n, hp, wp, c)

        def images(n0, n1):
            g = grid[n0:n1]
            g[:, h:] = 0
            g[:, :h, wd:] = 0
            g[:, :h, :wd] = x[n0:n1].transpose(0, 2, 3, 1)
        _in_parts(n, flat.size, images)
        return flat, length, hp, wp

    def _conv_taps(self, x, w, padding, dilation, oh, ow):
        """Stride-1 conv as one GEMM per kernel tap, an offset view of the flattened padded
        input, channels last, (positions, C) @ W[:, :, i, j].T (C, O), accumulated in
        place (beta = 1); outputs at every padded position, the valid ones cropped. No
        im2col. Threads take ranges of positions. (Channels last measured 1.2-1.4x faster
        than (O, C) @ (C, positions) on a 2-core EPYC; blocking the positions to keep the
        output in cache measured no faster.)"""
        n = x.shape[0]
        o, c, kh, kw = w.shape
        flat, length, hp, wp = self._flat_padded(x, (kh, kw), padding, dilation, True)
        w_taps = _contiguous(w.transpose(2, 3, 1, 0))  # (KH, KW, C, O)
        offsets = [(i, j, i * dilation[0] * wp + j * dilation[1])
                   for i in range(kh) for j in range(kw)]
        y = np.empty((length, o), dtype=np.float32)

        def positions(a, b):
            for t, (i, j, off) in enumerate(offsets):
                _sgemm(flat[off + a:off + b], w_taps[i, j], y[a:b], 1.0 if t else 0.0)
        _in_parts(length, o * c * length * kh * kw // GEMM_WORK, positions, align=16)
        grid, out = y.reshape(n, hp, wp, o), np.empty((n, o, oh, ow), dtype=np.float32)

        def crop(n0, n1):  # the valid outputs, NCHW
            out[n0:n1] = grid[n0:n1, :oh, :ow].transpose(0, 3, 1, 2)
        _in_parts(n, out.size, crop)
        return out

    def _conv_taps_grad_weight(self, x, gy, w_shape, padding, dilation):
        """dW[:, :, i, j] = sum over padded-grid positions p of gy[:, p] x[:, p + off_ij],
        off_ij = i*dh*Wp + j*dw. With q = p + i*dh*Wp: gy's grid shifted by each kernel
        row and stacked, (KH*O, Lq), and x shifted by each kernel column and stacked,
        (KW*C, Lq), give one fat GEMM for every tap at once, (KH*O, Lq) @ (Lq, KW*C)
        (small GEMMs with a long reduction are bound by OpenBLAS's packing). The stacks
        are copied a cache-sized block of q at a time and the GEMMs accumulate. Threads
        take ranges of q and their partial sums are added."""
        (n, _, oh, ow), (o, c, kh, kw) = gy.shape, w_shape
        flat, length, hp, wp = self._flat_padded(x, (kh, kw), padding, dilation)
        row, dw = dilation[0] * wp, dilation[1]
        front = (kh - 1) * row  # zeros around gy's grid, read by the shifted rows
        gpad = np.empty((o, length + 2 * front), dtype=np.float32)
        grid = gpad[:, front:front + length].reshape(o, n, hp, wp)

        def place(o0, o1):  # gy on the padded grid, zeros where no output is
            g = grid[o0:o1]
            g[:, :, oh:] = 0
            g[:, :, :oh, ow:] = 0
            g[:, :, :oh, :ow] = gy[:, o0:o1].transpose(1, 0, 2, 3)
            gpad[o0:o1, :front] = 0
            gpad[o0:o1, front + length:] = 0
        _in_parts(o, gpad.size, place)
        step = max(256, self.GW_BLOCK // (kh * o + kw * c) // 16 * 16)

        def positions(a, b):
            part, rows, cols = (np.empty(s, dtype=np.float32) for s in (
                (kh * o, kw * c), (kh * o, min(step, b - a)), (kw * c, min(step, b - a))))
            for s in range(a, b, step):
                m = min(b, s + step) - s
                for i in range(kh):
                    rows[i * o:(i + 1) * o, :m] = gpad[:, front + s - i * row:][:, :m]
                for j in range(kw):
                    cols[j * c:(j + 1) * c, :m] = flat[:, s + j * dw:s + j * dw + m]
                _sgemm(rows[:, :m], cols[:, :m].T, part, float(s > a))
            return part
        span = length + front
        out = _summed(_in_parts(span, o * c * span * kh * kw // GEMM_WORK, positions,
                                align=16))
        return _contiguous(out.reshape(kh, o, kw, c).transpose(1, 3, 0, 2))

    @float32_paths
    def conv2d(self, x, w, stride, padding, dilation, groups):
        crop = useful_taps(x.shape, w.shape[2:], stride, padding, dilation)
        if crop is not None:  # skip the taps that only see padding
            (i0, i1), (j0, j1), pad = crop
            return self.conv2d(x, _crop_taps(w, slice(i0, i1), slice(j0, j1)), stride, pad,
                               dilation, groups)
        n, c, h, wd = x.shape
        o, cg, kh, kw = w.shape
        oh = conv_output_size(h, kh, stride[0], padding[0], dilation[0])
        ow = conv_output_size(wd, kw, stride[1], padding[1], dilation[1])
        if self._winograd(x.shape, w.shape, stride, dilation, groups, oh, ow):
            return conv3x3_winograd(x, w, padding, oh, ow)
        layout = self._layout(x.shape, w.shape, stride, padding, groups, oh, ow,
                              self.TAP_MIN_MAP)
        if layout == "taps":
            return self._conv_taps(x, w, padding, dilation, oh, ow)
        args = (x, (kh, kw), stride, padding, dilation, oh, ow, layout)
        if layout == "nhwc":  # (N*OH*OW, KH*KW*C) @ (KH*KW*C, O)
            if w.strides[0] < w.strides[1]:
                # the input gradient's transposed kernel: copied in runs of O, as it is
                # laid out (in runs of C, 2.2x slower on 256 channels)
                w_cols = _contiguous(w.transpose(2, 3, 1, 0)).reshape(kh * kw * c, o)
            else:
                w_cols = _contiguous(w.transpose(0, 2, 3, 1)).reshape(o, kh * kw * c).T
            rows = n * oh * ow
            if rows >= o and not _long_reduction(rows, o, kh * kw * c):  # _matmul: by rows
                out, p = np.empty((n, o, oh * ow), dtype=np.float32), oh * ow

                def gemm(cols, n0, n1):  # by images, fused, their output put in NCHW
                    y = np.matmul(cols[n0 * p:n1 * p], w_cols)
                    out[n0:n1] = y.reshape(n1 - n0, p, o).transpose(0, 2, 1)
                self._im2col(*args, gemm=gemm, gemm_work=out.size * w_cols.shape[0] // GEMM_WORK)
                return out.reshape(n, o, oh, ow)
            y = _matmul(self._im2col(*args), w_cols)
            return _contiguous(
                y.reshape(n, oh * ow, o).transpose(0, 2, 1)).reshape(n, o, oh, ow)
        cols = self._im2col(*args)
        wg = w.reshape(groups, o // groups, cg * kh * kw)  # a GEMM per group, batched
        if layout == "image":  # NCHW out directly
            return _matmul(wg, cols.reshape(n, groups, -1, oh * ow)).reshape(n, o, oh, ow)
        y = _matmul(wg, cols.reshape(groups, -1, n * oh * ow))
        return _contiguous(y.reshape(o, n, oh, ow).transpose(1, 0, 2, 3))

    @float32_paths
    def conv2d_grad_input(self, gy, w, x_shape, stride, padding, dilation, groups):
        n, c, h, wd = x_shape
        crop = useful_taps(x_shape, w.shape[2:], stride, padding, dilation)
        if crop is not None:  # the taps that only see padding contribute nothing
            (i0, i1), (j0, j1), pad = crop
            return self.conv2d_grad_input(gy, _crop_taps(w, slice(i0, i1), slice(j0, j1)),
                                          x_shape, stride, pad, dilation, groups)
        o, cg, kh, kw = w.shape
        _, _, oh, ow = gy.shape
        og = o // groups
        fph, fpw = dilation[0] * (kh - 1) - padding[0], dilation[1] * (kw - 1) - padding[1]
        if stride == (1, 1) and fph >= 0 and fpw >= 0:
            # stride 1: the input gradient is a forward conv of gy with the flipped,
            # transposed kernel (cheaper than scattering columns back)
            # (a view: conv2d copies it once into the layout its GEMMs want)
            wt = w.reshape(groups, og, cg, kh, kw)[:, :, :, ::-1, ::-1].transpose(0, 2, 1, 3, 4)
            return self.conv2d(gy, wt.reshape(c, og, kh, kw), (1, 1), (fph, fpw), dilation,
                               groups)
        # col2im: the columns' gradient, each tap scattered back
        layout = self._layout(x_shape, w.shape, stride, padding, groups, oh, ow, math.inf)
        if layout == "nhwc":  # (N*OH*OW, O) @ (O, KH*KW*C)
            g_rows = gy.transpose(0, 2, 3, 1).reshape(n * oh * ow, o)
            dcols = _matmul(g_rows, _contiguous(w.transpose(0, 2, 3, 1)).reshape(o, -1))
        else:
            wt = w.reshape(groups, og, cg * kh * kw).transpose(0, 2, 1)
            if layout == "image":
                dcols = _matmul(wt, gy.reshape(n, groups, og, oh * ow))
            else:
                dcols = _matmul(wt, gy.transpose(1, 0, 2, 3).reshape(groups, og, n * oh * ow))
        dcols = _in_order(dcols, (n, c, kh, kw, oh, ow), LAYOUTS[layout][0])
        return self._col2im(dcols, x_shape, (kh, kw), stride, padding, dilation, layout)

    @float32_paths
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
        # with threads, the taps (no columns to copy) win from 12x12 maps on, as forward
        tap_min_map = self.TAP_GW_MIN_MAP if POOL.threads == 1 else self.TAP_MIN_MAP
        layout = self._layout(x.shape, w_shape, stride, padding, groups, oh, ow, tap_min_map)
        if layout == "taps":
            return self._conv_taps_grad_weight(x, gy, w_shape, padding, dilation)
        args = (x, (kh, kw), stride, padding, dilation, oh, ow, layout)
        rows, k = n * oh * ow, kh * kw * cg
        if layout == "nhwc" and rows >= self.GW_FUSE * max(o, k):
            # a long reduction: each part multiplies its images' gradient (O, rows) by their
            # columns as it copies them, and the partial products are added
            def gemm(cols, n0, n1):
                g = gy[n0:n1].transpose(1, 0, 2, 3).reshape(o, -1)
                return np.matmul(g, cols[n0 * oh * ow:n1 * oh * ow])
            out = _summed(self._im2col(*args, gemm=gemm, gemm_work=o * k * rows // GEMM_WORK))
            return _contiguous(out.reshape(o, kh, kw, cg).transpose(0, 3, 1, 2))
        cols = self._im2col(*args)
        og = o // groups
        if layout == "image":
            # a GEMM per image, gy (O, P) @ its columns (P, K), summed over the batch (no
            # transposed copy of gy; ~4x faster for a 1-channel input)
            per_image = _matmul(gy.reshape(n, groups, og, oh * ow),
                                cols.reshape(n, groups, -1, oh * ow).transpose(0, 1, 3, 2))
            return np.add.reduce(per_image, axis=0).reshape(w_shape)
        g2 = gy.transpose(1, 0, 2, 3).reshape(groups, og, n * oh * ow)
        if layout == "nhwc":  # (O, N*P) @ (N*P, KH*KW*C)
            out = _matmul(g2[0], cols).reshape(o, kh, kw, cg)
            return _contiguous(out.transpose(0, 3, 1, 2))
        # (O, N*P) @ (N*P, K) per group: one GEMM; the columns enter transposed as a view
        return _matmul(g2, cols.reshape(groups, -1, n * oh * ow).transpose(0, 2, 1)).reshape(
            w_shape)

    @float32_paths
    def max_pool2d(self, x, kernel, stride, padding, dilation, ceil_mode):
        n, c, h, w = x.shape
        (kh, kw), (ph, pw) = kernel, padding
        oh, ow, extra = pool_geometry(x.shape, kernel, stride, padding, dilation, ceil_mode)
        y = np.empty((n, c, oh, ow), dtype=x.dtype)
        arg = np.empty((n, c, oh, ow), dtype=np.int64)
        # flat input index = window origin + the tap's offset
        offsets = np.array([i * dilation[0] * w + j * dilation[1]
                            for i in range(kh) for j in range(kw)], dtype=np.int64)
        origin = ((np.arange(oh) * stride[0] - ph)[:, None] * w +
                  (np.arange(ow) * stride[1] - pw)[None, :])

        def images(n0, n1):  # threads take ranges of images
            xp, best = x[n0:n1], y[n0:n1]
            if padding != (0, 0) or extra != (0, 0):
                xp = np.full((n1 - n0, c, h + ph + extra[0], w + pw + extra[1]), -np.inf,
                             dtype=x.dtype)
                xp[:, :, ph:ph + h, pw:pw + w] = x[n0:n1]
            # the max over kernel taps (strided views), then each output's flat input
            # index from the first tap that equals it: a few whole-array passes, no
            # tiny-axis argmax
            taps = [xp[:, :, self._tap(i, dilation[0], stride[0], oh),
                       self._tap(j, dilation[1], stride[1], ow)]
                    for i in range(kh) for j in range(kw)]
            best[...] = taps[0]
            for v in taps[1:]:
                np.maximum(best, v, out=best)  # propagates NaN, as torch
            nan = bool(np.isnan(best).any())
            # k = how many taps come before the first one equal to the max (or NaN): count
            # the taps while nothing matched yet, in branch-free uint8 passes (np.where
            # branches)
            k = np.zeros(best.shape, dtype=np.uint8 if len(taps) < 256 else np.int64)
            found = None
            for v in taps[:-1]:
                hit = v == best
                if nan:
                    hit |= np.isnan(v)
                found = hit if found is None else np.logical_or(found, hit, out=found)
                k += ~found
            np.take(offsets, k, out=arg[n0:n1])  # the tap's offset, by k
            arg[n0:n1] += origin
        _in_parts(n, x.size, images)
        return y, arg

    @float32_paths
    def max_pool2d_grad(self, gy, indices, x_shape):
        n, c, h, w = x_shape
        dx = np.empty((n, c * h * w), dtype=np.float32)

        def images(n0, n1):  # threads take ranges of images
            planes = np.arange((n1 - n0) * c, dtype=np.int64).reshape(n1 - n0, c, 1, 1)
            flat = (indices[n0:n1] + planes * (h * w)).reshape(-1)
            out, g = dx[n0:n1].reshape(-1), gy[n0:n1].reshape(-1)
            if flat.size <= out.size:
                # windows that do not overlap (the usual 2x2/2) pick distinct inputs: a
                # plain scatter is then exact; a hit count tells whether any index repeated
                hits = np.zeros(out.size, dtype=np.bool_)
                hits[flat] = True
                if np.count_nonzero(hits) == flat.size:
                    out[...] = 0
                    out[flat] = g
                    return
            # bincount with weights is a much faster scatter-add than np.add.at
            out[...] = np.bincount(flat, weights=g, minlength=out.size)
        _in_parts(n, dx.size, images)
        return dx.reshape(x_shape)

    @float32_paths
    def avg_pool2d_grad(self, gy, x_shape, kernel, stride, padding, ceil_mode, count_include_pad):
        n, c, h, w = x_shape
        oh, ow, _ = pool_geometry(x_shape, kernel, stride, padding, (1, 1), ceil_mode)
        div = avg_pool_divisors(h, w, kernel, stride, padding, oh, ow, count_include_pad)
        g = gy / np.array(div, dtype=np.float32).reshape(oh, ow)
        taps = np.broadcast_to(g[:, :, None, None], (n, c) + tuple(kernel) + (oh, ow))
        return self._col2im(taps, x_shape, kernel, stride, padding, (1, 1), "image")
