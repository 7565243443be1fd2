"""The pure-Python backend's matmul, conv2d (im2col rows times kernel rows, as dot
products) and pooling: a mixin of PythonBackend (backend.py)."""
import operator
from array import array

from distml.backends.base import as_pair as _pair
from distml.backends.base import avg_pool_ranges, conv_geometry, pool_output_size, useful_taps
from distml.backends.base import promote_names as _promote

from .buffer import _NAN, _NINF, PyBuffer, _has_nan, _make, _mm_rows, _numel

_add = operator.add


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


class ConvPool:
    """matmul, conv2d and its gradients, max/avg pooling of the PythonBackend."""

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
        (N, C, H, W, CO, Cg, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW) = conv_geometry(
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
        return PyBuffer(_make(out, x.dtype), (N, CO, max(OH, 0), max(OW, 0)), x.dtype)

    def conv2d_grad_input(self, gy, w, x_shape, stride, padding, dilation, groups):
        crop = useful_taps(tuple(x_shape), w.shape[2:], stride, padding, dilation)
        if crop is not None:  # the taps that only see padding contribute nothing
            return self.conv2d_grad_input(gy, self._cropped_kernel(w, crop), x_shape, stride,
                                          crop[2], dilation, groups)
        (N, C, H, W, CO, Cg, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW) = conv_geometry(
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
        return PyBuffer(_make(gx, gy.dtype), (N, C, H, W), gy.dtype)

    def conv2d_grad_weight(self, x, gy, w_shape, stride, padding, dilation, groups):
        crop = useful_taps(x.shape, tuple(w_shape)[2:], stride, padding, dilation)
        if crop is not None:  # taps that only see padding get zero gradient
            (i0, i1), (j0, j1), pad = crop
            o, cg = w_shape[0], w_shape[1]
            inner = self.conv2d_grad_weight(x, gy, (o, cg, i1 - i0, j1 - j0), stride, pad,
                                            dilation, groups)
            return self.slice_assign(self.full(tuple(w_shape), 0.0, x.dtype),
                                     (0, 0, i0, j0), (o, cg, i1, j1), (1, 1, 1, 1), inner)
        (N, C, H, W, CO, Cg, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW) = conv_geometry(
            x.shape, tuple(w_shape), stride, padding, dilation, groups)
        Og = CO // groups
        R = Cg * KH * KW
        P = OH * OW
        Hp, Wp = H + 2 * ph, W + 2 * pw
        if P <= 0 or N == 0:
            return PyBuffer(_make([0.0] * (CO * R), x.dtype), (CO, Cg, KH, KW), x.dtype)
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
        return PyBuffer(_make(out, x.dtype), (CO, Cg, KH, KW), x.dtype)

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
        return PyBuffer(_make(vals, x.dtype), shape, x.dtype), PyBuffer(array("q", idxs), shape,
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
        return PyBuffer(_make(gx, gy.dtype), tuple(x_shape), gy.dtype)

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
        return PyBuffer(_make(out, x.dtype), tuple(lead) + (OH, OW), x.dtype)

    # avg_pool2d_grad: the composed default (backends/composed.py) measured faster here
