"""Convolution and pooling over (N, C, H, W) or (C, H, W) input."""

from . import conv_functions as _F
from ...autograd import no_grad
from ...backends.base import pool_output_size
from ..._tensor import cat, tensor
from ._utils import _check_tensor, _pair, _type_name
from .padding import pad

__all__ = ["conv2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "adaptive_max_pool2d"]


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation) of input (N, C, H, W) or (C, H, W)."""
    _check_tensor(input)
    _check_tensor(weight, "weight")
    if input.ndim not in (3, 4):
        raise RuntimeError("Expected 3D (unbatched) or 4D (batched) input to conv2d, but got "
                           f"input of size: {list(input.shape)}")
    unbatched = input.ndim == 3
    x = input.unsqueeze(0) if unbatched else input
    if weight.ndim != 4:
        raise RuntimeError(f"Expected 4-dimensional weight for 4-dimensional input "
                           f"{list(x.shape)}, but got {weight.ndim}-dimensional weight of "
                           f"size {list(weight.shape)} instead")
    if x.dtype is not weight.dtype:
        raise RuntimeError(f"expected scalar type {_type_name(weight.dtype)} but found "
                           f"{_type_name(x.dtype)}")
    stride, dilation = _pair(stride, "stride"), _pair(dilation, "dilation")
    groups = int(groups)
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError("dilation should be greater than zero")
    out_ch, in_per_group, kh, kw = weight.shape
    if out_ch % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} "
                           f"at dimension 0, but got weight of size [{list(weight.shape)}] "
                           "instead")
    if x.shape[1] != in_per_group * groups:
        raise RuntimeError(f"Given groups={groups}, weight of size {list(weight.shape)}, "
                           f"expected input{list(x.shape)} to have {in_per_group * groups} "
                           f"channels, but got {x.shape[1]} channels instead")
    if bias is not None and (bias.ndim != 1 or bias.shape[0] != out_ch):
        raise RuntimeError(f"Given weight of size {list(weight.shape)}, expected bias to be "
                           f"1-dimensional with {out_ch} elements, but got bias of size "
                           f"{list(bias.shape)} instead")
    if isinstance(padding, str):
        if padding == "valid":
            pad2 = (0, 0)
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            totals = (dilation[0] * (kh - 1), dilation[1] * (kw - 1))
            pad2 = (totals[0] // 2, totals[1] // 2)
            extra_h, extra_w = totals[0] - 2 * pad2[0], totals[1] - 2 * pad2[1]
            if extra_h or extra_w:
                # odd total padding: torch puts the extra row/column at the bottom/right
                x = pad(x, (0, extra_w, 0, extra_h))
        else:
            raise RuntimeError(f"Invalid padding string: '{padding}'")
    else:
        pad2 = _pair(padding, "padding")
        if any(p < 0 for p in pad2):
            raise RuntimeError("negative padding is not supported")
    eff = (dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1)
    padded = (x.shape[2] + 2 * pad2[0], x.shape[3] + 2 * pad2[1])
    if padded[0] < eff[0] or padded[1] < eff[1]:
        raise RuntimeError(f"Calculated padded input size per channel: ({padded[0]} x "
                           f"{padded[1]}). Kernel size: ({eff[0]} x {eff[1]}). Kernel size "
                           "can't be greater than actual input size")
    out = _F.Conv2d.apply(x, weight, stride=stride, padding=pad2, dilation=dilation,
                          groups=groups)
    if bias is not None:
        out = out + bias.reshape(1, -1, 1, 1)
    return out.squeeze(0) if unbatched else out


def _pool_input(input, name):
    _check_tensor(input)
    if input.ndim not in (3, 4) or input.numel() == 0:
        raise RuntimeError("non-empty 3D or 4D (batch mode) tensor expected for input")
    if input.ndim == 3:
        return input.unsqueeze(0), True
    return input, False


def _pool_args(kernel_size, stride, padding, dilation):
    k = _pair(kernel_size, "kernel_size")
    s = k if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0) \
        else _pair(stride, "stride")
    p = _pair(padding, "padding")
    d = _pair(dilation, "dilation")
    if any(v == 0 for v in s):
        raise RuntimeError("stride should not be zero")
    if any(v <= 0 for v in k):
        raise RuntimeError(f"kernel size should be greater than zero, but got kH: {k[0]} "
                           f"kW: {k[1]}")
    if any(v < 0 for v in s):
        raise RuntimeError(f"stride should be greater than zero, but got dH: {s[0]} "
                           f"dW: {s[1]}")
    if any(v <= 0 for v in d):
        raise RuntimeError(f"dilation should be greater than zero, but got dilationH: {d[0]} "
                           f"dilationW: {d[1]}")
    for kk, pp, dd in zip(k, p, d):
        if pp < 0 or pp > (dd * (kk - 1) + 1) // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got "
                               f"pad={pp}, kernel_size={kk} and dilation={dd}")
    if not (k[1] // 2 >= p[1] and k[0] // 2 >= p[0]):
        raise RuntimeError(f"pad should be smaller than or equal to half of kernel size, but "
                           f"got padW = {p[1]}, padH = {p[0]}, kW = {k[1]}, kH = {k[0]}")
    return k, s, p, d


def _pool_out(x, k, s, p, d, ceil_mode):
    _, c, h, w = x.shape
    oh = pool_output_size(h, k[0], s[0], p[0], d[0], ceil_mode)
    ow = pool_output_size(w, k[1], s[1], p[1], d[1], ceil_mode)
    if oh < 1 or ow < 1:
        raise RuntimeError(f"Given input size: ({c}x{h}x{w}). Calculated output size: "
                           f"({c}x{oh}x{ow}). Output size is too small")
    return oh, ow


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """2-D max pooling; with return_indices, also the flat h*W+w argmax of every window."""
    x, unbatched = _pool_input(input, "max_pool2d")
    k, s, p, d = _pool_args(kernel_size, stride, padding, dilation)
    _pool_out(x, k, s, p, d, ceil_mode)
    pooled, idx = _F.max_pool2d_with_indices(x, k, s, p, d, bool(ceil_mode))
    y = pooled.squeeze(0) if unbatched else pooled
    if not return_indices:
        return y
    return y, (idx.squeeze(0) if unbatched else idx)


def _avg_divisors(h, w, k, s, p, oh, ow, count_include_pad):
    """Per-window element counts (a (oh, ow) nested list), as torch's avg_pool2d."""
    def axis(size, kk, ss, pp, out):
        res = []
        for i in range(out):
            start = i * ss - pp
            end = min(start + kk, size + pp)
            if count_include_pad:
                res.append(end - start)
            else:
                res.append(min(end, size) - max(start, 0))
        return res
    dh, dw = axis(h, k[0], s[0], p[0], oh), axis(w, k[1], s[1], p[1], ow)
    return [[a * b for b in dw] for a in dh]


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """2-D average pooling (torch's window counting, ceil_mode and count_include_pad)."""
    x, unbatched = _pool_input(input, "avg_pool2d")
    k, s, p, _ = _pool_args(kernel_size, stride, padding, 1)
    oh, ow = _pool_out(x, k, s, p, (1, 1), ceil_mode)
    if divisor_override is not None:
        if int(divisor_override) == 0:
            raise RuntimeError("divisor must be not zero")
        y = _F.AvgPool2d.apply(x, kernel=k, stride=s, padding=p, ceil_mode=bool(ceil_mode),
                               count_include_pad=True)
        counts = _avg_divisors(x.shape[2], x.shape[3], k, s, p, oh, ow, True)
        scale = tensor([[c / divisor_override for c in row] for row in counts],
                       device=x.device)
        y = y * scale
    else:
        y = _F.AvgPool2d.apply(x, kernel=k, stride=s, padding=p, ceil_mode=bool(ceil_mode),
                               count_include_pad=bool(count_include_pad))
    return y.squeeze(0) if unbatched else y


def _adaptive_size(output_size, h, w, name):
    if isinstance(output_size, (list, tuple)):
        if len(output_size) != 2:
            raise RuntimeError(f"{name}: output_size must be 2")
        oh, ow = output_size
    else:
        oh = ow = output_size
    oh = h if oh is None else int(oh)
    ow = w if ow is None else int(ow)
    if oh < 0 or ow < 0:
        raise RuntimeError(f"{name}: elements of output_size must be greater than or equal "
                           "to 0")
    return oh, ow


def _adaptive_ranges(size, out):
    return [((i * size) // out, -((-(i + 1) * size) // out)) for i in range(out)]


def _averaging_matrix(size, out, device):
    """(out, size) matrix whose row i averages torch's adaptive window i."""
    rows = []
    for start, end in _adaptive_ranges(size, out):
        inv = 1.0 / (end - start)
        rows.append([inv if start <= j < end else 0.0 for j in range(size)])
    return tensor(rows, device=device)


def adaptive_avg_pool2d(input, output_size):
    """torch's adaptive average pooling: window i spans [floor(i*H/out), ceil((i+1)*H/out))."""
    _check_tensor(input)
    if input.ndim not in (3, 4):
        raise RuntimeError(f"adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got "
                           f"{list(input.shape)}")
    h, w = input.shape[-2], input.shape[-1]
    oh, ow = _adaptive_size(output_size, h, w, "adaptive_avg_pool2d")
    if (oh, ow) == (h, w):
        return input + 0.0  # a copy with an identity gradient, as torch
    if oh == 1 and ow == 1:
        return input.mean((-2, -1), keepdim=True)
    if oh and ow and h % oh == 0 and w % ow == 0:
        return avg_pool2d(input, (h // oh, w // ow))
    # general case: two small averaging matmuls, (X @ Aw^T) then (.^T @ Ah^T)^T
    aw = _averaging_matrix(w, ow, input.device)
    ah = _averaging_matrix(h, oh, input.device)
    t = input @ aw.t()                                   # (..., H, ow)
    t = t.transpose(-2, -1) @ ah.t()                     # (..., ow, oh)
    return t.transpose(-2, -1)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Adaptive max pooling, torch's windows; separable max over rows then columns."""
    _check_tensor(input)
    if input.ndim not in (3, 4):
        raise RuntimeError(f"adaptive_max_pool2d(): Expected 3D or 4D tensor, but got "
                           f"{list(input.shape)}")
    h, w = input.shape[-2], input.shape[-1]
    oh, ow = _adaptive_size(output_size, h, w, "adaptive_max_pool2d")
    if oh and ow and h % oh == 0 and w % ow == 0:
        return max_pool2d(input, (h // oh, w // ow), return_indices=return_indices)
    cols = [input[..., a:b].amax(-1, keepdim=True) for a, b in _adaptive_ranges(w, ow)]
    t = cat(cols, -1)                                    # (..., H, ow)
    rows = [t[..., a:b, :].amax(-2, keepdim=True) for a, b in _adaptive_ranges(h, oh)]
    out = cat(rows, -2)
    if not return_indices:
        return out
    with no_grad():
        x = input.detach()
        col_idx = cat([x[..., a:b].argmax(-1, keepdim=True) + a
                       for a, b in _adaptive_ranges(w, ow)], -1)          # (..., H, ow)
        tv = t.detach()
        row_idx = cat([tv[..., a:b, :].argmax(-2, keepdim=True) + a
                       for a, b in _adaptive_ranges(h, oh)], -2)          # (..., oh, ow)
        col_at = col_idx.gather(-2, row_idx)
        idx = row_idx * w + col_at
    return out, idx
