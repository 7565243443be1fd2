"""Convolution, pooling and cat composed from the primitives: Backend's defaults for them.

A new backend gets conv2d, its two gradients, max/avg pooling (with gradients) and cat from
these; numpy and WebGL override the convs and pools with fused kernels. Every function takes the
backend as `be` and uses only its primitive methods. The idea is im2col by slicing: the
input is padded once, each of the KH*KW kernel taps reads a strided (OH, OW) grid of it,
and the taps are stacked on a new axis; a matmul (conv) or a reduction (pooling) then
consumes that axis. Gradients go the other way: each tap's share is added back into its
grid of a zero-filled padded input, which is cropped at the end.
"""
import functools
import math

from .geometry import as_pair, avg_pool_divisors, conv_output_size, pool_geometry, promote_names


def _pad(be, x, before, after, fill):
    """x (..., H, W) with before = (top, left) and after = (bottom, right) lines of fill."""
    if not any(before) and not any(after):
        return x
    shape = be.shape(x)
    lead, (h, w) = shape[:-2], shape[-2:]
    padded = lead + (h + before[0] + after[0], w + before[1] + after[1])
    starts = (0,) * len(lead) + tuple(before)
    stops = lead + (before[0] + h, before[1] + w)
    return be.slice_assign(be.full(padded, fill, be.dtype(x)), starts, stops,
                           (1,) * len(shape), x)


def _crop(be, xp, before, hw):
    """The (H, W) window of a padded xp that starts at before = (top, left)."""
    shape = be.shape(xp)
    lead = shape[:-2]
    if shape[-2:] == tuple(hw):
        return xp
    return be.slice(xp, (0,) * len(lead) + tuple(before),
                    lead + (before[0] + hw[0], before[1] + hw[1]), (1,) * len(shape))


def _taps(kernel, dilation):
    """Offsets (row, col) of the kernel taps in the padded input, row-major."""
    return [(a * dilation[0], b * dilation[1])
            for a in range(kernel[0]) for b in range(kernel[1])]


def _grid(lead, tap, out_hw, stride):
    """(starts, stops, steps) of the (OH, OW) grid that a tap at `tap` reads."""
    (i, j), (oh, ow) = tap, out_hw
    return ((0,) * len(lead) + (i, j),
            lead + (i + stride[0] * (oh - 1) + 1, j + stride[1] * (ow - 1) + 1),
            (1,) * len(lead) + tuple(stride))


def _stack_taps(be, xp, taps, out_hw, stride):
    """(..., T, OH, OW): what each of the T taps reads at every output position."""
    lead = be.shape(xp)[:-2]
    cols = [be.reshape(be.slice(xp, *_grid(lead, t, out_hw, stride)), lead + (1,) + out_hw)
            for t in taps]
    return cols[0] if len(cols) == 1 else be.cat(cols, len(lead))


def _add_taps(be, padded_shape, dtype, taps, out_hw, stride, share):
    """Zeros of padded_shape with share(t) (an (..., OH, OW) buffer) added into tap t's
    grid, for every tap: the transpose of _stack_taps."""
    lead = tuple(padded_shape[:-2])
    gxp = be.full(tuple(padded_shape), 0.0, dtype)
    for n, t in enumerate(taps):
        grid = _grid(lead, t, out_hw, stride)
        gxp = be.slice_assign(gxp, *grid, be.binary("add", be.slice(gxp, *grid), share(n)))
    return gxp


def cat(be, xs, axis):
    """Zeros of the joined shape (the promoted dtype) with each piece slice_assigned in."""
    xs = list(xs)
    dt = functools.reduce(promote_names, [be.dtype(b) for b in xs])
    shape = list(be.shape(xs[0]))
    shape[axis] = sum(be.shape(b)[axis] for b in xs)
    live = [b for b in xs if math.prod(be.shape(b))]
    if len(live) == 1:  # the others are empty: it is the whole result
        return be.cast(live[0], dt)
    out = be.full(tuple(shape), 0, dt)
    starts, stops = [0] * len(shape), list(shape)
    for b in live:
        stops[axis] = starts[axis] + be.shape(b)[axis]
        out = be.slice_assign(out, tuple(starts), tuple(stops), (1,) * len(shape), b)
        starts[axis] = stops[axis]
    return out


# -- convolution ---------------------------------------------------------------------------

def _conv_setup(x_shape, w_shape, stride, padding, dilation):
    stride, padding, dilation = as_pair(stride), as_pair(padding), as_pair(dilation)
    (h, w), (kh, kw) = x_shape[2:], w_shape[2:]
    out_hw = (conv_output_size(h, kh, stride[0], padding[0], dilation[0]),
              conv_output_size(w, kw, stride[1], padding[1], dilation[1]))
    return stride, padding, _taps((kh, kw), dilation), out_hw


def _columns(be, x, taps, out_hw, stride, padding, groups):
    """im2col of x (N, C, H, W): (N, groups, C/groups * T, OH * OW)."""
    n, c = be.shape(x)[:2]
    cols = _stack_taps(be, _pad(be, x, padding, padding, 0.0), taps, out_hw, stride)
    return be.reshape(cols, (n, groups, c // groups * len(taps), out_hw[0] * out_hw[1]))


def conv2d(be, x, w, stride, padding, dilation, groups):
    stride, padding, taps, out_hw = _conv_setup(be.shape(x), be.shape(w), stride, padding,
                                                dilation)
    n = be.shape(x)[0]
    o = be.shape(w)[0]
    cols = _columns(be, x, taps, out_hw, stride, padding, groups)
    k = be.shape(cols)[2]
    wm = be.expand(be.reshape(w, (1, groups, o // groups, k)), (n, groups, o // groups, k))
    return be.reshape(be.matmul(wm, cols), (n, o) + out_hw)


def conv2d_grad_weight(be, x, gy, w_shape, stride, padding, dilation, groups):
    stride, padding, taps, out_hw = _conv_setup(be.shape(x), w_shape, stride, padding,
                                                dilation)
    n, o = be.shape(x)[0], w_shape[0]
    cols = _columns(be, x, taps, out_hw, stride, padding, groups)
    gym = be.reshape(gy, (n, groups, o // groups, out_hw[0] * out_hw[1]))
    gw = be.matmul(gym, be.permute(cols, (0, 1, 3, 2)))  # (N, groups, O/groups, C/g * T)
    return be.reshape(be.reduce("sum", gw, (0,), False), tuple(w_shape))


def conv2d_grad_input(be, gy, w, x_shape, stride, padding, dilation, groups):
    stride, padding, taps, out_hw = _conv_setup(x_shape, be.shape(w), stride, padding,
                                                dilation)
    n, c, h, wd = x_shape
    o = be.shape(w)[0]
    og, k = o // groups, c // groups * len(taps)
    wt = be.permute(be.reshape(w, (groups, og, k)), (0, 2, 1))
    wt = be.expand(be.reshape(wt, (1, groups, k, og)), (n, groups, k, og))
    gcols = be.matmul(wt, be.reshape(gy, (n, groups, og, out_hw[0] * out_hw[1])))
    gcols = be.reshape(gcols, (n, c, len(taps)) + out_hw)

    def share(t):
        return be.reshape(be.slice(gcols, (0, 0, t, 0, 0), (n, c, t + 1) + out_hw,
                                   (1,) * 5), (n, c) + out_hw)
    padded = (n, c, h + 2 * padding[0], wd + 2 * padding[1])
    gxp = _add_taps(be, padded, be.dtype(gy), taps, out_hw, stride, share)
    return _crop(be, gxp, padding, (h, wd))


# -- pooling -------------------------------------------------------------------------------

def _pool_setup(x_shape, kernel, stride, padding, dilation, ceil_mode):
    kernel, stride = as_pair(kernel), as_pair(stride)
    padding, dilation = as_pair(padding), as_pair(dilation)
    oh, ow, extra = pool_geometry(x_shape, kernel, stride, padding, dilation, ceil_mode)
    after = (padding[0] + extra[0], padding[1] + extra[1])
    return kernel, stride, padding, after, _taps(kernel, dilation), (oh, ow)


def max_pool2d(be, x, kernel, stride, padding, dilation, ceil_mode):
    """(y, indices) with indices the flat h*W+w input positions (first maximum wins)."""
    shape = be.shape(x)
    lead, w = shape[:-2], shape[-1]
    kernel, stride, padding, after, taps, out_hw = _pool_setup(
        shape, kernel, stride, padding, dilation, ceil_mode)
    stacked = _stack_taps(be, _pad(be, x, padding, after, -math.inf), taps, out_hw, stride)
    y = be.reduce("max", stacked, (len(lead),), False)
    tap = be.argreduce("argmax", stacked, len(lead), False)

    def const(v):
        return be.full((), v, "int64")
    # tap t = a * KW + b sits at (a * dh, b * dw) from its window's top-left corner
    dh, dw = as_pair(dilation)
    row = be.binary("floordiv", tap, const(kernel[1]))
    col = be.binary("mod", tap, const(kernel[1]))
    offset = be.binary("add", be.binary("mul", row, const(dh * w)),
                       be.binary("mul", col, const(dw)))
    rows = [r * stride[0] - padding[0] for r in range(out_hw[0])]
    cols = [q * stride[1] - padding[1] for q in range(out_hw[1])]
    index = be.binary("add", offset, be.from_list([r * w + q for r in rows for q in cols],
                                                  out_hw, "int64"))
    # a window of only -inf points at its first position inside the input, as torch's
    def inside(start, step):
        return start + -(-max(0, -start) // step) * step
    first = [inside(r, dh) * w + inside(q, dw) for r in rows for q in cols]
    all_inf = be.binary("eq", y, be.full((), -math.inf, be.dtype(y)))
    return y, be.where(all_inf, be.from_list(first, out_hw, "int64"), index)


def max_pool2d_grad(be, gy, indices, x_shape):
    lead, (h, w) = tuple(x_shape[:-2]), x_shape[-2:]
    planes, per_plane = math.prod(lead), math.prod(be.shape(gy)[-2:])
    gx = be.scatter_add(be.full((planes, h * w), 0.0, be.dtype(gy)), 1,
                        be.reshape(indices, (planes, per_plane)),
                        be.reshape(gy, (planes, per_plane)))
    return be.reshape(gx, tuple(x_shape))


def _avg_divisors(be, x_shape, kernel, stride, padding, out_hw, count_include_pad, dtype):
    h, w = x_shape[-2:]
    divisors = avg_pool_divisors(h, w, kernel, stride, padding, *out_hw, count_include_pad)
    return be.from_list([float(d) for d in divisors], out_hw, dtype)


def avg_pool2d(be, x, kernel, stride, padding, ceil_mode, count_include_pad):
    shape = be.shape(x)
    kernel, stride, padding, after, taps, out_hw = _pool_setup(
        shape, kernel, stride, padding, 1, ceil_mode)
    stacked = _stack_taps(be, _pad(be, x, padding, after, 0.0), taps, out_hw, stride)
    total = be.reduce("sum", stacked, (len(shape) - 2,), False)
    return be.binary("div", total, _avg_divisors(be, shape, kernel, stride, padding, out_hw,
                                                 count_include_pad, be.dtype(x)))


def avg_pool2d_grad(be, gy, x_shape, kernel, stride, padding, ceil_mode, count_include_pad):
    x_shape = tuple(x_shape)
    kernel, stride, padding, after, taps, out_hw = _pool_setup(
        x_shape, kernel, stride, padding, 1, ceil_mode)
    g = be.binary("div", gy, _avg_divisors(be, x_shape, kernel, stride, padding, out_hw,
                                           count_include_pad, be.dtype(gy)))
    h, w = x_shape[-2:]
    padded = x_shape[:-2] + (padding[0] + h + after[0], padding[1] + w + after[1])
    gxp = _add_taps(be, padded, be.dtype(gy), taps, out_hw, stride, lambda t: g)
    return _crop(be, gxp, padding, (h, w))
