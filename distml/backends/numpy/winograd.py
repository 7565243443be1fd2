"""Stride-1 3x3 convolution by Winograd's minimal filtering F(2x2, 3x3) (Lavin and Gray,
"Fast Algorithms for Convolutional Neural Networks", 2015): the kernel and each 4x4 tile
of the padded input are transformed so that a 2x2 tile of output costs 16 multiply-adds
per (input, output) channel pair instead of 36. The products are 16 GEMMs over the tiles,
(tiles, C) @ (C, O), one per point of the transformed 4x4 tile; the transforms are sums
and differences of whole-array views. Its float32 error is ~2x the direct sum's (the
transforms add up to 4 inputs before the products).

Channels last, so every array pass copies runs of C. Threads take ranges of images, each
a few images at a time (their transformed tiles, a few MB, stay in the shared cache), so
the whole conv is one hand-over to the threads.
"""
import numpy as np

from .blas import GEMM_WORK, _in_parts, _sgemm

# kernel transform: U = G g G^T, g the 3x3 kernel
G = np.array([[1, 0, 0], [.5, .5, .5], [.5, -.5, .5], [0, 0, 1]])
CHUNK_BYTES = 3 << 20  # transformed tiles per step of a thread (measured: 1.5 MB slower)


def kernel_transform(w):
    """(O, C, 3, 3) -> the 16 (C, O) matrices of G w G^T, computed in float64."""
    o, c = w.shape[:2]
    u = np.einsum("ai,ocij,bj->abco", G, w.astype(np.float64), G)
    return u.astype(np.float32).reshape(16, c, o)


def _input_transform(xp, th, tw, v):
    """v[4a + b] = (B^T d B)[a, b] for every 4x4 tile d of xp (K, Hp, Wp, C) at stride 2,
    B^T = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]: rows, then columns."""
    r = [xp[:, i::2][:, :th] for i in range(4)]
    rows = (r[0] - r[2], r[1] + r[2], r[2] - r[1], r[1] - r[3])
    for a, t in enumerate(rows):
        q = [t[:, :, j::2][:, :, :tw] for j in range(4)]
        np.subtract(q[0], q[2], out=v[4 * a])
        np.add(q[1], q[2], out=v[4 * a + 1])
        np.subtract(q[2], q[1], out=v[4 * a + 2])
        np.subtract(q[1], q[3], out=v[4 * a + 3])


def _output_transform(m, y):
    """y[:, 2i + r, 2j + s] = (A^T M A)[r, s] for the tiles' products m (4, 4, K, TH, TW, O),
    A^T = [[1, 1, 1, 0], [0, 1, -1, -1]]: rows, then columns."""
    for r, rows in enumerate((m[0] + m[1] + m[2], m[1] - m[2] - m[3])):
        out = y[:, r::2, 0::2]
        np.add(rows[0], rows[1], out=out)
        out += rows[2]
        out = y[:, r::2, 1::2]
        np.subtract(rows[1], rows[2], out=out)
        out -= rows[3]


def conv3x3_winograd(x, w, padding, oh, ow):
    """conv2d of x (N, C, H, W) with w (O, C, 3, 3), stride and dilation 1, float32."""
    n, c, h, wd = x.shape
    o = w.shape[0]
    ph, pw = padding
    th, tw = -(-oh // 2), -(-ow // 2)  # 2x2 output tiles; the last may hang over
    hp, wp = 2 * th + 2, 2 * tw + 2
    u = kernel_transform(w)
    out = np.empty((n, o, oh, ow), dtype=np.float32)
    per_image = 16 * th * tw * max(c, o) * 4
    chunk = max(1, CHUNK_BYTES // per_image)

    def images(n0, n1):
        for s in range(n0, n1, chunk):
            e = min(n1, s + chunk)
            k = e - s
            # zero padded, channels last (hp >= h + 2 ph: the tiles cover the padded input)
            xp = np.empty((k, hp, wp, c), dtype=np.float32)
            xp[:, :ph] = 0
            xp[:, ph + h:] = 0
            xp[:, ph:ph + h, :pw] = 0
            xp[:, ph:ph + h, pw + wd:] = 0
            xp[:, ph:ph + h, pw:pw + wd] = x[s:e].transpose(0, 2, 3, 1)
            v = np.empty((16, k, th, tw, c), dtype=np.float32)
            _input_transform(xp, th, tw, v)
            m = np.empty((16, k * th * tw, o), dtype=np.float32)
            vf = v.reshape(16, -1, c)
            for p in range(16):
                _sgemm(vf[p], u[p], m[p], 0.0)
            y = np.empty((k, 2 * th, 2 * tw, o), dtype=np.float32)
            _output_transform(m.reshape(4, 4, k, th, tw, o), y)
            out[s:e] = y[:, :oh, :ow].transpose(0, 3, 1, 2)
    _in_parts(n, 16 * n * th * tw * c * o // GEMM_WORK, images, oversplit=1)
    return out
