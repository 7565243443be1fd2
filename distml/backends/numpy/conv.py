"""The numpy backend's convolutions and pooling: GEMM-based conv paths chosen by shape
(1x1, taps on the flattened input, row columns, channels-last and plain im2col), and max
pooling by whole-array passes over the taps. avg_pool2d itself is Backend's composed
default (measured faster than a window view's sum)."""
import numpy as np

from ..base import Backend, avg_pool_divisors, conv_output_size, pool_geometry, useful_taps
from . import blas
from .blas import GEMM_WORK, POOL, _contiguous, _in_parts, _matmul, _sgemm


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


class ConvPoolOps:
    """Mixin of NumpyBackend: conv2d, its gradients, max pooling and avg_pool2d_grad."""

    def _padded(self, x, padding):
        ph, pw = padding
        if ph == 0 and pw == 0:
            return x
        n, c, h, w = x.shape
        xp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=x.dtype)  # faster than np.pad
        xp[:, :, ph:ph + h, pw:pw + w] = x
        return xp

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

    @float32_paths
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
        if blas._SGEMM is not None and oh * ow >= self.TAP_MIN_MAP and c >= self.TAP_MIN_C and \
                self._use_taps(stride, groups, x.dtype, w.dtype):
            return self._conv_taps(x, w, padding, dilation, oh, ow)
        if self._use_rows(stride, groups, oh, ow) and (blas._SGEMM is None or c >= self.TAP_MIN_C):
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

    @float32_paths
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
        if self._pointwise(w_shape, padding, groups, x.dtype):
            xs = x[:, :, ::stride[0], ::stride[1]][:, :, :oh, :ow]
            x2 = xs.transpose(1, 0, 2, 3).reshape(cg, n * oh * ow)
            g2 = gy.transpose(1, 0, 2, 3).reshape(o, n * oh * ow)
            return _matmul(g2, x2.T).reshape(w_shape)
        og, k = o // groups, cg * kh * kw
        # with threads, the taps (no columns to copy) win from 12x12 maps on, as forward
        tap_min_map = self.TAP_GW_MIN_MAP if POOL.threads == 1 else self.TAP_MIN_MAP
        if blas._SGEMM is not None and oh * ow >= tap_min_map and cg >= self.TAP_MIN_C and \
                self._use_taps(stride, groups, x.dtype, gy.dtype):
            return self._conv_taps_grad_weight(x, gy, w_shape, padding, dilation)
        if self._use_rows(stride, groups, oh, ow) and (blas._SGEMM is None or cg >= self.TAP_MIN_C):
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

    @float32_paths
    def max_pool2d(self, x, kernel, stride, padding, dilation, ceil_mode):
        n, c, h, w = x.shape
        oh, ow, extra = pool_geometry(x.shape, kernel, stride, padding, dilation, ceil_mode)
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

    @float32_paths
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

    @float32_paths
    def avg_pool2d_grad(self, gy, x_shape, kernel, stride, padding, ceil_mode, count_include_pad):
        n, c, h, w = x_shape
        oh, ow, extra = pool_geometry(x_shape, kernel, stride, padding, (1, 1), ceil_mode)
        div = avg_pool_divisors(h, w, kernel, stride, padding, oh, ow, count_include_pad)
        g = gy / np.array(div, dtype=np.float32).reshape(oh, ow)
        dxp = np.zeros((n, c, h + padding[0] + extra[0], w + padding[1] + extra[1]), np.float32)
        for i in range(kernel[0]):
            for j in range(kernel[1]):
                dxp[:, :, i:i + stride[0] * (oh - 1) + 1:stride[0],
                    j:j + stride[1] * (ow - 1) + 1:stride[1]] += g
        return np.ascontiguousarray(dxp[:, :, padding[0]:padding[0] + h,
                                        padding[1]:padding[1] + w])

    # -- fused ops -------------------------------------------------------------------------
