"""Shape arithmetic shared by every backend and by the composed defaults: output sizes of
convolutions and pooling windows, padding crops, broadcasting, strides and dtype promotion.
Pure functions of Python ints and tuples (no buffers)."""
import functools


def pool_output_size(size, kernel, stride, padding, dilation, ceil_mode):
    """Output length of a pooling window along one dim, torch's formula (incl. ceil_mode)."""
    eff = dilation * (kernel - 1) + 1
    num = size + 2 * padding - eff
    if ceil_mode:
        out = -(-num // stride) + 1
        # the last window must start inside the input or the left padding
        if (out - 1) * stride >= size + padding:
            out -= 1
    else:
        out = num // stride + 1
    return out


def conv_output_size(size, kernel, stride, padding, dilation):
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def conv_geometry(x_shape, w_shape, stride, padding, dilation, groups):
    """(N, C, H, W, O, C/groups, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW) of a conv2d of x
    (N, C, H, W) with w (O, C/groups, KH, KW); ValueError when the channels do not fit."""
    N, C, H, W = x_shape
    CO, Cg, KH, KW = w_shape
    (sh, sw), (ph, pw), (dh, dw) = as_pair(stride), as_pair(padding), as_pair(dilation)
    if Cg * groups != C or CO % groups != 0:
        raise ValueError(f"conv2d: bad channels/groups: x {x_shape}, w {w_shape}, g={groups}")
    return (N, C, H, W, CO, Cg, KH, KW, sh, sw, ph, pw, dh, dw,
            conv_output_size(H, KH, sh, ph, dh), conv_output_size(W, KW, sw, pw, dw))


def useful_taps(x_shape, kernel, stride, padding, dilation):
    """When some kernel rows/columns only ever meet padding (a 3x3 kernel on 1x1 maps):
    ((i0, i1), (j0, j1), new padding) such that the conv with the kernel cropped to
    [i0:i1, j0:j1] and the new padding gives the same output; else None. Backends crop
    convs with it: skipped taps are work saved (9x on 1x1 maps)."""
    return _useful_taps(tuple(x_shape[2:]), *(as_pair(v) for v in (kernel, stride, padding,
                                                                   dilation)))


@functools.lru_cache(maxsize=1024)  # every conv and its two gradients ask, every step
def _useful_taps(spatial, kernel, stride, padding, dilation):
    ranges, pads = [], []
    for size, k, s, p, d in zip(spatial, kernel, stride, padding, dilation):
        o = conv_output_size(size, k, s, p, d)
        useful = [i for i in range(k) if any(0 <= r * s - p + i * d < size for r in range(o))]
        if not useful or useful != list(range(useful[0], useful[-1] + 1)):
            return None
        a, b = useful[0], useful[-1] + 1
        q = p - a * d
        if q < 0 or conv_output_size(size, b - a, s, q, d) != o:
            return None
        ranges.append((a, b))
        pads.append(q)
    if ranges[0] == (0, kernel[0]) and ranges[1] == (0, kernel[1]):
        return None
    return ranges[0], ranges[1], tuple(pads)


def contiguous_strides(shape):
    """Row-major strides, in elements."""
    strides, acc = [], 1
    for n in reversed(shape):
        strides.append(acc)
        acc *= n
    return tuple(reversed(strides))


def broadcast_strides(shape, strides, out_shape):
    """The strides that read a (shape, strides) view broadcast to out_shape: leading dims
    added and size-1 dims stretched read with stride 0."""
    pad = len(out_shape) - len(shape)
    return (0,) * pad + tuple(0 if n == 1 and m != 1 else s
                              for n, m, s in zip(shape, out_shape[pad:], strides))


def reduced_shapes(shape, axes, keepdim):
    """(kept dims' shape, output shape) of a reduction of `shape` over `axes`."""
    kept = tuple(n for d, n in enumerate(shape) if d not in axes)
    return kept, tuple(1 if d in axes else n for d, n in enumerate(shape)) if keepdim else kept


def as_pair(v):
    """An int or a pair as an (h, w) pair."""
    return (v, v) if isinstance(v, int) else tuple(v)


def promote_names(a, b):
    """Result dtype name of a binary op on dtype names (torch's rule for our 4 dtypes)."""
    if "float64" in (a, b):
        return "float64"
    if "float32" in (a, b):
        return "float32"
    if "int64" in (a, b):
        return "int64"
    return "bool"


def broadcast_shape(*shapes):
    """numpy's broadcast result shape; ValueError when the shapes do not broadcast."""
    nd = max(len(s) for s in shapes)
    out = []
    for d in range(nd):
        size = 1
        for s in shapes:
            i = d - (nd - len(s))
            if i >= 0 and s[i] != 1:
                if size != 1 and size != s[i]:
                    raise ValueError(f"shapes {shapes} are not broadcastable")
                size = s[i]
        out.append(size)
    return tuple(out)


def pool_geometry(x_shape, kernel, stride, padding, dilation, ceil_mode):
    """(oh, ow, (extra_h, extra_w)) of a pooling window over (..., H, W): the output size
    and how far past the right/bottom padding the ceil_mode windows reach (pad that much
    more so every window lies inside the padded input)."""
    h, w = x_shape[-2:]
    oh = pool_output_size(h, kernel[0], stride[0], padding[0], dilation[0], ceil_mode)
    ow = pool_output_size(w, kernel[1], stride[1], padding[1], dilation[1], ceil_mode)
    need_h = (oh - 1) * stride[0] + dilation[0] * (kernel[0] - 1) + 1
    need_w = (ow - 1) * stride[1] + dilation[1] * (kernel[1] - 1) + 1
    extra = (max(0, need_h - h - padding[0]), max(0, need_w - w - padding[1]))
    return oh, ow, extra


def avg_pool_ranges(size, kernel, stride, pad, out):
    """Per output index along one dim: (start, end) clipped to the input and torch's
    window length counting padding (avg_pool2d's count_include_pad divisor)."""
    res = []
    for o in range(out):
        start = o * stride - pad
        end = min(start + kernel, size + pad)
        res.append((max(start, 0), min(end, size), end - start))
    return res


def avg_pool_divisors(h, w, kernel, stride, padding, oh, ow, count_include_pad):
    """Row-major list of the oh * ow divisors of avg_pool2d (torch's window counting)."""
    hr = avg_pool_ranges(h, kernel[0], stride[0], padding[0], oh)
    wr = avg_pool_ranges(w, kernel[1], stride[1], padding[1], ow)
    if count_include_pad:
        return [hp * wp for _, _, hp in hr for _, _, wp in wr]
    return [max(he - hs, 0) * max(we - ws, 0) for hs, he, _ in hr for ws, we, _ in wr]


def collapse(shape, strides_list):
    """Drop size-1 dims and merge neighbours contiguous in every strides list: (shape,
    [strides per list]) of the fewest dims that walk the same elements."""
    shp = []
    sts = [[] for _ in strides_list]
    for d, n in enumerate(shape):
        if n == 1:
            continue
        if shp and all(st[-1] == s[d] * n for st, s in zip(sts, strides_list)):
            shp[-1] *= n
            for st, s in zip(sts, strides_list):
                st[-1] = s[d]
        else:
            shp.append(n)
            for st, s in zip(sts, strides_list):
                st.append(s[d])
    return shp, sts
