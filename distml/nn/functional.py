"""distml.nn.functional: torch.nn.functional's API, composed from distml's tensor ops.

Everything here is built from the differentiable primitives (distml/function.py) and
Tensor methods, so it runs on every backend: numpy, pure Python and WebGL. Input checks
raise torch's exception types with torch's messages. Host read-backs are limited to the
value checks torch also performs (targets in range, BCE inputs in [0, 1]); those run only
on the CPU backends, where the data already lives on the host.
"""
import math
import warnings

from .. import function as _F
from ..autograd import Function, no_grad
from ..backends.base import pool_output_size
from ..dtypes import int64
from ..tensor import Tensor, arange, cat, full, rand, tensor, where

__all__ = [
    "linear", "bilinear", "conv2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d",
    "adaptive_max_pool2d", "relu", "relu6", "leaky_relu", "elu", "selu", "celu", "gelu",
    "sigmoid", "tanh", "silu", "mish", "softplus", "logsigmoid", "hardtanh", "hardsigmoid",
    "hardswish", "softmax", "log_softmax", "softmin", "dropout", "dropout2d", "batch_norm",
    "layer_norm", "group_norm", "cross_entropy", "nll_loss", "mse_loss", "l1_loss",
    "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "kl_div", "one_hot", "pad", "embedding", "normalize",
]

_TYPE_NAMES = {"float32": "Float", "int64": "Long", "bool": "Bool"}


# -- helpers --------------------------------------------------------------------------------

def _pair(v, name="argument"):
    if isinstance(v, Tensor):
        v = v.tolist()
    if isinstance(v, (list, tuple)):
        if len(v) == 1:
            return (int(v[0]), int(v[0]))
        if len(v) != 2:
            raise RuntimeError(f"expected {name} to be a single integer value or a list of 2 "
                               f"values to match the convolution dimensions, but got "
                               f"{name}={list(v)}")
        return (int(v[0]), int(v[1]))
    return (int(v), int(v))


def _check_tensor(x, name="input"):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a distml.Tensor, not {type(x).__name__}")


def _on_host(t):
    return t._backend.host_resident  # the data is on the host: value checks are cheap


def _type_name(dtype):
    return _TYPE_NAMES.get(dtype.name, dtype.name)


def _legacy_reduction(size_average, reduce, reduction):
    """torch's _Reduction.legacy_get_string for the deprecated size_average/reduce flags."""
    if size_average is None and reduce is None:
        return reduction
    warnings.warn("size_average and reduce args will be deprecated, please use "
                  "reduction='mean' (or 'sum', 'none') instead.", stacklevel=3)
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if size_average and reduce:
        return "mean"
    return "sum" if reduce else "none"


def _check_reduction(reduction):
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _reduce(loss, reduction):
    _check_reduction(reduction)
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _weighted_reduce(loss, weight, input, reduction):
    """The `weight=` path of mse_loss / l1_loss / huber_loss (torch 2.6+)."""
    if tuple(weight.shape) != tuple(input.shape):
        raise ValueError("Weights and input must have the same size.")
    loss = loss * weight
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":
        return loss.sum() / weight.sum()
    raise ValueError(f"Invalid reduction mode: {reduction}. Expected one of 'none', 'mean', "
                     "'sum'.")


def _check_same_size_warn(input, target):
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(f"Using a target size ({target.shape}) that is different to the input "
                      f"size ({input.shape}). This will likely lead to incorrect results due "
                      "to broadcasting. Please ensure they have the same size.", stacklevel=3)


def _as_tensor_like(value, like):
    if isinstance(value, Tensor):
        return value
    return tensor(value, dtype=like.dtype, device=like.device)


# -- linear ---------------------------------------------------------------------------------

def linear(input, weight, bias=None):
    """y = input @ weight.T + bias, for input (*, in_features) and weight (out, in)."""
    _check_tensor(input)
    _check_tensor(weight, "weight")
    if input.ndim > 2 and weight.ndim == 2:
        # fold the leading dims like torch (its error message shows the folded shape)
        lead = tuple(input.shape[:-1])
        out = input.reshape(-1, input.shape[-1]) @ weight.t()
        out = out.reshape(lead + (weight.shape[0],))
    else:
        out = input @ weight.t()
    if bias is not None:
        out = out + bias
    return out


def bilinear(input1, input2, weight, bias=None):
    """y_k = x1 @ W_k @ x2 + b_k for weight (out, in1, in2)."""
    lead = tuple(input1.shape[:-1])
    x1 = input1.reshape(-1, input1.shape[-1])
    x2 = input2.reshape(-1, input2.shape[-1])
    o, i1, i2 = weight.shape
    # (B, in1) @ (in1, out*in2) -> (B, out, in2), then contract with x2
    t = (x1 @ weight.permute(1, 0, 2).reshape(i1, o * i2)).reshape(-1, o, i2)
    out = (t * x2.unsqueeze(1)).sum(-1)
    if bias is not None:
        out = out + bias
    return out.reshape(lead + (o,))


# -- convolution ----------------------------------------------------------------------------

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


# -- pooling --------------------------------------------------------------------------------

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


# -- activations ----------------------------------------------------------------------------
# inplace=True rebinds the input tensor to the result, as torch (the autograd graph keeps
# the pre-update value for earlier consumers; a leaf that requires grad raises).

def _maybe_inplace(input, result, inplace):
    return input._assign(result) if inplace else result


def relu(input, inplace=False):
    return _maybe_inplace(input, input.relu(), inplace)


def relu6(input, inplace=False):
    return hardtanh(input, 0.0, 6.0, inplace)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    return _maybe_inplace(input, where(input > 0, input, input * negative_slope), inplace)


def elu(input, alpha=1.0, inplace=False):
    neg = (input.clamp(max=0.0).exp() - 1.0) * alpha
    return _maybe_inplace(input, where(input > 0, input, neg), inplace)


def selu(input, inplace=False):
    alpha = 1.6732632423543772848170429916717
    scale = 1.0507009873554804934193349852946
    return _maybe_inplace(input, elu(input, alpha) * scale, inplace)


def celu(input, alpha=1.0, inplace=False):
    neg = ((input.clamp(max=0.0) / alpha).exp() - 1.0) * alpha
    return _maybe_inplace(input, where(input > 0, input, neg), inplace)


def gelu(input, approximate="none"):
    if approximate == "none":
        return input * 0.5 * (1.0 + (input * (1.0 / math.sqrt(2.0))).erf())
    if approximate == "tanh":
        inner = (input + input * input * input * 0.044715) * math.sqrt(2.0 / math.pi)
        return input * 0.5 * (1.0 + inner.tanh())
    raise RuntimeError("approximate argument must be either none or tanh.")


def sigmoid(input):
    return input.sigmoid()


def tanh(input):
    return input.tanh()


def silu(input, inplace=False):
    return _maybe_inplace(input, input * input.sigmoid(), inplace)


def logsigmoid(input):
    # log(sigmoid(x)) without overflow in either branch (and a finite gradient in both)
    pos = input.clamp(min=0.0)
    neg = input.clamp(max=0.0)
    return where(input >= 0, -((-pos).exp() + 1.0).log(), neg - (neg.exp() + 1.0).log())


def softplus(input, beta=1.0, threshold=20.0):
    scaled = input * beta
    safe = scaled.clamp(max=float(threshold))
    soft = (safe.exp() + 1.0).log() / beta
    return where(scaled > threshold, input, soft)


def mish(input, inplace=False):
    return _maybe_inplace(input, input * softplus(input).tanh(), inplace)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    # torch passes the gradient strictly inside (min_val, max_val): zero at the edges
    inside = (input > min_val) & (input < max_val)
    out = where(inside, input, input.detach().clamp(min_val, max_val))
    return _maybe_inplace(input, out, inplace)


def hardsigmoid(input, inplace=False):
    return _maybe_inplace(input, hardtanh(input + 3.0, 0.0, 6.0) / 6.0, inplace)


def hardswish(input, inplace=False):
    return _maybe_inplace(input, input * hardsigmoid(input), inplace)


def _softmax_dim(name, ndim, stacklevel):
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call "
                  "to include dim=X as an argument.", stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    if dtype is not None:
        input = input.type(dtype)
    if dim is None:
        dim = _softmax_dim("softmax", input.ndim, _stacklevel)
    return input.softmax(dim)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    if dtype is not None:
        input = input.type(dtype)
    if dim is None:
        dim = _softmax_dim("softmin", input.ndim, _stacklevel)
    return (-input).softmax(dim)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    if dtype is not None:
        input = input.type(dtype)
    if dim is None:
        dim = _softmax_dim("log_softmax", input.ndim, _stacklevel)
    return input.log_softmax(dim)


# -- dropout --------------------------------------------------------------------------------

def _check_p(p):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _dropout_mask(shape, p, device):
    # the mask comes from distml.rand, i.e. the shared (seeded) default generator
    keep = rand(shape, device=device) >= p
    return keep.float() * (1.0 / (1.0 - p))


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability p and scale the rest by 1/(1-p) (training only)."""
    _check_p(p)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return _maybe_inplace(input, input * 0.0, inplace)
    return _maybe_inplace(input, input * _dropout_mask(tuple(input.shape), p, input.device),
                          inplace)


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, H, W) or (C, H, W) input."""
    _check_p(p)
    if input.ndim not in (3, 4):
        warnings.warn(f"dropout2d: Received a {input.ndim}-D input to dropout2d, which is "
                      "deprecated and will result in an error in a future release.",
                      stacklevel=2)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return _maybe_inplace(input, input * 0.0, inplace)
    shape = tuple(input.shape[:-2]) + (1, 1)
    return _maybe_inplace(input, input * _dropout_mask(shape, p, input.device), inplace)


# -- normalization --------------------------------------------------------------------------

class _Standardize(Function):
    """xhat = (x - mean(x)) * invstd(x) over `axes`, one graph node.

    forward gets x, its centered values and invstd (computed without grad); backward is
    the closed-form gradient through the statistics, as torch's fused kernels:
    invstd * (g - mean(g) - xhat * mean(g * xhat)).
    """

    def forward(self, x, centered, invstd, axes):
        be = self.be
        shape = be.shape(x)
        self.axes = axes
        self.count = math.prod(shape[a] for a in axes)
        self.invstd = invstd
        self.xhat = be.binary("mul", centered, invstd)
        return self.xhat

    def backward(self, g):
        be = self.be
        inv_n = be.full((), 1.0 / self.count, "float32")
        g_mean = be.binary("mul", be.reduce("sum", g, self.axes, True), inv_n)
        gx_mean = be.binary("mul", be.reduce("sum", be.binary("mul", g, self.xhat),
                                             self.axes, True), inv_n)
        dx = be.binary("sub", be.binary("sub", g, g_mean), be.binary("mul", self.xhat,
                                                                      gx_mean))
        return be.binary("mul", dx, self.invstd), None, None


class _BatchNormTrain(Function):
    """Training-mode batch norm with affine weight and bias as one graph node, on the
    backend's batch_norm_train / batch_norm_train_backward (fused on numpy). The batch
    statistics are written into `stats` (no grad)."""

    def forward(self, x, weight, bias, axes, eps, stats):
        be = self.be
        sshape = tuple(1 if i in axes else n for i, n in enumerate(be.shape(x)))
        self.axes, self.c_shape = axes, be.shape(weight)
        self.weight = be.reshape(weight, sshape)
        y, self.centered, stats["mean"], stats["var"], self.invstd = be.batch_norm_train(
            x, self.weight, be.reshape(bias, sshape), axes, eps)
        return y

    def backward(self, g):
        be = self.be
        gx, gw, gb = be.batch_norm_train_backward(g, self.centered, self.invstd, self.weight,
                                                  self.axes)
        return (gx, be.reshape(gw, self.c_shape) if self.needs_input_grad[1] else None,
                be.reshape(gb, self.c_shape) if self.needs_input_grad[2] else None)


def _standardize(x, axes, eps):
    """(xhat, mean, biased var) of x over axes (statistics without grad)."""
    with no_grad():
        xd = x.detach()
        mean = xd.mean(axes, keepdim=True)
        centered = xd - mean
        var = (centered * centered).mean(axes, keepdim=True)
        invstd = (var + eps).rsqrt()
    return _Standardize.apply(x, centered, invstd, axes=tuple(axes)), mean, var


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-05):
    """Batch normalization over every dim but 1.

    training=True normalizes with the batch's biased variance and, when running stats are
    given, updates them in place (running_var with the unbiased variance, as torch).
    training=False normalizes with the running stats.
    """
    _check_tensor(input)
    if input.ndim < 2:
        raise ValueError(f"batch_norm expected at least 2D input (got {input.ndim}D input)")
    c = input.shape[1]
    axes = (0,) + tuple(range(2, input.ndim))
    shape = (1, c) + (1,) * (input.ndim - 2)
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and t.numel() != c:
            raise RuntimeError(f"{name} should contain {c} elements not {t.numel()}")
    if training:
        n = input.numel() // c if c else 0
        if n <= 1:
            raise ValueError("Expected more than 1 value per channel when training, got "
                             f"input size {input.shape}")
        if weight is not None and bias is not None and input.dtype.is_floating_point \
                and weight.dtype is input.dtype and bias.dtype is input.dtype:
            stats = {}
            out = _BatchNormTrain.apply(input, weight, bias, axes=axes, eps=eps, stats=stats)
            mean, var = out._new(stats["mean"]), out._new(stats["var"])
            affine_done = True
        else:
            out, mean, var = _standardize(input, axes, eps)
            affine_done = False
        with no_grad():
            if running_mean is not None:
                running_mean.copy_(running_mean * (1.0 - momentum) +
                                   mean.detach().reshape(c) * momentum)
            if running_var is not None:
                running_var.copy_(running_var * (1.0 - momentum) +
                                  var.detach().reshape(c) * (momentum * n / (n - 1)))
    else:
        if running_mean is None or running_var is None:
            raise RuntimeError("running_mean and running_var must be defined in evaluation "
                               "mode")
        scale = (running_var.reshape(shape) + eps).rsqrt()
        if weight is not None:
            scale = scale * weight.reshape(shape)
        out = (input - running_mean.reshape(shape)) * scale
        if bias is not None:
            out = out + bias.reshape(shape)
        return out
    if affine_done:
        return out
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-05):
    """Normalize over the trailing normalized_shape dims (biased variance)."""
    _check_tensor(input)
    ns = (int(normalized_shape),) if isinstance(normalized_shape, int) else \
        tuple(int(s) for s in normalized_shape)
    k = len(ns)
    if k == 0 or input.ndim < k or tuple(input.shape[input.ndim - k:]) != ns:
        dims = ", ".join(str(s) for s in ns)
        raise RuntimeError(f"Given normalized_shape={list(ns)}, expected input with shape "
                           f"[*, {dims}], but got input of size{list(input.shape)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != ns:
            raise RuntimeError(f"Expected {name} to be of same shape as normalized_shape, but "
                               f"got {name} of shape {list(t.shape)} and normalized_shape = "
                               f"{list(ns)}")
    axes = tuple(range(input.ndim - k, input.ndim))
    out = _standardize(input, axes, eps)[0]
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-05):
    """Normalize (N, C, *) input over groups of C // num_groups channels."""
    _check_tensor(input)
    if input.ndim < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received "
                           f"{input.ndim}")
    n, c = input.shape[0], input.shape[1]
    if c % num_groups:
        raise RuntimeError("Expected number of channels in input to be divisible by "
                           f"num_groups, but got input of shape {list(input.shape)} and "
                           f"num_groups={num_groups}")
    x = input.reshape(n, num_groups, -1)
    out = _standardize(x, (2,), eps)[0].reshape(input.shape)
    shape = (1, c) + (1,) * (input.ndim - 2)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """input / max(||input||_p along dim, eps)."""
    denom = input.norm(p, dim, keepdim=True).clamp(min=eps)
    return input / denom


# -- losses ---------------------------------------------------------------------------------

def _check_class_target(input, target, weight, ignore_index, n_classes):
    """torch's nll_loss shape/dtype/range checks; input is (N, C, *) after unsqueezing."""
    if target.dtype is not int64:
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got "
                           f"{_type_name(target.dtype)}")
    if weight is not None and (weight.ndim != 1 or weight.numel() != n_classes):
        raise RuntimeError(f"weight tensor should be defined either for all {n_classes} "
                           f"classes or no classes but got weight tensor of shape: "
                           f"{list(weight.shape)}")
    if _on_host(target) and target.numel():
        safe = where(target == ignore_index, 0, target)
        lo, hi = safe.amin().item(), safe.amax().item()
        if lo < 0 or hi >= n_classes:
            bad = lo if lo < 0 else hi
            raise IndexError(f"Target {bad} is out of bounds.")


def _batch_checks(input, target):
    if input.ndim == 0:
        raise ValueError("Expected 1 or more dimensions (got 0)")
    if input.ndim != 1:
        tb = target.shape[0] if target.ndim else 0
        if input.shape[0] != tb:
            raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target "
                             f"batch_size ({tb}).")
    if input.ndim <= 2:
        if target.ndim > 1 or (input.ndim == 1 and target.ndim != 0):
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    else:
        want = (input.shape[0],) + tuple(input.shape[2:])
        if tuple(target.shape) != want:
            raise RuntimeError(f"Expected target size {list(want)}, got {list(target.shape)}")


def _nll_parts(logp, target, weight, ignore_index):
    """Per-element -w[t] * logp[t] (0 where ignored) and the per-element weights."""
    valid = target != ignore_index
    safe = where(valid, target, 0)
    picked = logp.gather(1, safe.unsqueeze(1)).squeeze(1)
    mask = valid.float()
    if weight is not None:
        w = weight.index_select(0, safe.reshape(-1)).reshape(safe.shape) * mask
    else:
        w = mask
    return -(picked * w), w, valid


def _nll(logp, target, weight, ignore_index, reduction, unbatched):
    _check_reduction(reduction)
    losses, w, _ = _nll_parts(logp, target, weight, ignore_index)
    if reduction == "none":
        return losses.squeeze(0) if unbatched else losses
    if reduction == "sum":
        return losses.sum()
    return losses.sum() / w.sum()


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """Negative log likelihood of class-index targets given log-probabilities (N, C, *)."""
    _check_tensor(input)
    _check_tensor(target, "target")
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    _batch_checks(input, target)
    if target.dtype is not int64:
        raise RuntimeError(f"expected scalar type Long but found {_type_name(target.dtype)}")
    unbatched = input.ndim == 1
    if unbatched:
        input, target = input.unsqueeze(0), target.unsqueeze(0)
    _check_class_target(input, target, weight, ignore_index, input.shape[1])
    return _nll(input, target, weight, ignore_index, reduction, unbatched)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100,
                  reduce=None, reduction="mean", label_smoothing=0.0):
    """log_softmax over dim 1 + NLL, with class-index or class-probability targets.

    Label smoothing, class weights, ignore_index and the reductions follow
    torch's cross_entropy_loss (aten/src/ATen/native/LossNLL.cpp) term by term.
    """
    _check_tensor(input)
    _check_tensor(target, "target")
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: "
                           f"{label_smoothing}")
    if input.ndim == 0:
        raise ValueError("Expected 1 or more dimensions (got 0)")
    unbatched = input.ndim == 1
    if tuple(input.shape) == tuple(target.shape):
        return _cross_entropy_probs(input, target, weight, ignore_index, reduction,
                                    label_smoothing)
    _batch_checks(input, target)
    if unbatched:
        input, target = input.unsqueeze(0), target.unsqueeze(0)
    n_classes = input.shape[1]
    _check_class_target(input, target, weight, ignore_index, n_classes)
    logp = input.log_softmax(1)
    if label_smoothing <= 0.0:
        return _nll(logp, target, weight, ignore_index, reduction, unbatched)
    losses, w, valid = _nll_parts(logp, target, weight, ignore_index)
    if weight is not None:
        wshape = (1, n_classes) + (1,) * (logp.ndim - 2)
        smooth = -(logp * weight.reshape(wshape)).sum(1)
    else:
        smooth = -logp.sum(1)
    smooth = smooth * valid.float()
    if reduction == "none":
        nll, ret = losses, smooth
        out = nll * (1.0 - label_smoothing) + ret * (label_smoothing / n_classes)
        return out.squeeze(0) if unbatched else out
    if reduction == "sum":
        nll, ret = losses.sum(), smooth.sum()
    else:
        denom = w.sum()
        nll = losses.sum() / denom
        ret = smooth.sum() / (denom if weight is not None else valid.float().sum())
    return nll * (1.0 - label_smoothing) + ret * (label_smoothing / n_classes)


def _cross_entropy_probs(input, target, weight, ignore_index, reduction, label_smoothing):
    if not target.dtype.is_floating_point:
        raise RuntimeError(f"Expected floating point type for target with class "
                           f"probabilities, got {_type_name(target.dtype)}")
    if ignore_index >= 0:
        raise RuntimeError("ignore_index is not supported for floating point target")
    class_dim = 0 if input.ndim == 1 else 1
    n_classes = input.shape[class_dim]
    logp = input.log_softmax(class_dim)
    t = target
    if label_smoothing > 0.0:
        t = target * (1.0 - label_smoothing) + label_smoothing / n_classes
    prod = logp * t
    if weight is not None:
        if weight.ndim != 1 or weight.numel() != n_classes:
            raise RuntimeError(f"weight tensor should be defined either for all {n_classes} "
                               f"classes or no classes but got weight tensor of shape: "
                               f"{list(weight.shape)}")
        wshape = [1] * input.ndim
        wshape[class_dim] = n_classes
        prod = prod * weight.reshape(wshape)
    if reduction == "none":
        return -prod.sum(class_dim)
    if reduction == "sum":
        return -prod.sum()
    count = input.numel() // n_classes if n_classes else 0
    if count == 0:
        return -prod.sum() * math.nan
    return -prod.sum() / count


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    _check_same_size_warn(input, target)
    reduction = _legacy_reduction(size_average, reduce, reduction)
    target = _as_tensor_like(target, input)
    diff = input - target
    loss = diff * diff
    if weight is not None:
        return _weighted_reduce(loss, weight, input, reduction)
    return _reduce(loss, reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    _check_same_size_warn(input, target)
    reduction = _legacy_reduction(size_average, reduce, reduction)
    target = _as_tensor_like(target, input)
    loss = (input - target).abs()
    if weight is not None:
        return _weighted_reduce(loss, weight, input, reduction)
    return _reduce(loss, reduction)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean",
                   beta=1.0):
    _check_same_size_warn(input, target)
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    diff = (input - target).abs()
    if beta == 0.0:
        return _reduce(diff, reduction)
    loss = where(diff < beta, diff * diff * (0.5 / beta), diff - 0.5 * beta)
    return _reduce(loss, reduction)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    _check_same_size_warn(input, target)
    diff = (input - target).abs()
    loss = where(diff < delta, diff * diff * 0.5, (diff - 0.5 * delta) * delta)
    if weight is not None:
        return _weighted_reduce(loss, weight, input, reduction)
    return _reduce(loss, reduction)


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    """-(t log x + (1-t) log(1-x)), logs clamped at -100 like torch."""
    _check_tensor(input)
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    target = _as_tensor_like(target, input)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Using a target size ({target.shape}) that is different to the "
                         f"input size ({input.shape}) is deprecated. Please ensure they have "
                         "the same size.")
    if _on_host(input) and input.numel():
        lo, hi = input.detach().amin().item(), input.detach().amax().item()
        if not (lo >= 0.0 and hi <= 1.0):
            raise RuntimeError("all elements of input should be between 0 and 1")
    log_x = input.log().clamp(min=-100.0)
    log_1mx = (1.0 - input).log().clamp(min=-100.0)
    loss = -(target * log_x + (1.0 - target) * log_1mx)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None,
                                     reduce=None, reduction="mean", pos_weight=None):
    """Sigmoid + BCE in one numerically stable expression (and optional pos_weight)."""
    _check_tensor(input)
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    target = _as_tensor_like(target, input)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Target size ({target.shape}) must be the same as input size "
                         f"({input.shape})")
    sp_neg = -logsigmoid(input)  # softplus(-x)
    if pos_weight is not None:
        log_weight = (pos_weight - 1.0) * target + 1.0
        loss = (1.0 - target) * input + log_weight * sp_neg
    else:
        loss = (1.0 - target) * input + sp_neg
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """KL(target || exp(input)) pointwise; reduction 'batchmean' divides the sum by N."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce, reduction)
    if log_target:
        loss = target.exp() * (target - input)
    else:
        safe = where(target > 0, target, 1.0)
        loss = where(target > 0, target * (safe.log() - input), 0.0 * input)
    if reduction == "batchmean":
        return loss.sum() / input.shape[0] if input.ndim else loss.sum()
    if reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and "
                      "the support size.'batchmean' divides only by the batch size, and "
                      "aligns with the KL div math definition.'mean' will be changed to "
                      "behave the same as 'batchmean' in the next major release.",
                      stacklevel=2)
    return _reduce(loss, reduction)


# -- misc -----------------------------------------------------------------------------------

def one_hot(tensor, num_classes=-1):
    """int64 one-hot encoding with a new trailing dim of size num_classes."""
    _check_tensor(tensor, "tensor")
    if tensor.dtype is not int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if num_classes == -1:
        if tensor.numel() == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(tensor.amax().item()) + 1
    if _on_host(tensor) and tensor.numel():
        if tensor.amin().item() < 0:
            raise RuntimeError("Class values must be non-negative.")
        if tensor.amax().item() >= num_classes:
            raise RuntimeError("Class values must be smaller than num_classes.")
    classes = arange(num_classes, device=tensor.device)
    return (tensor.unsqueeze(-1) == classes).long()


def _pad_index(size, before, after, mode):
    idx = []
    for j in range(-before, size + after):
        if mode == "reflect":
            period = 2 * (size - 1)
            k = j % period if period else 0
            idx.append(k if k < size else period - k)
        elif mode == "replicate":
            idx.append(min(max(j, 0), size - 1))
        else:  # circular
            idx.append(j % size)
    return idx


def pad(input, pad, mode="constant", value=None):
    """torch.nn.functional.pad: pad = (last_left, last_right, prev_left, prev_right, ...).

    Modes: "constant" (negative pads crop), "reflect", "replicate", "circular".
    """
    _check_tensor(input)
    pad = [int(p) for p in pad]
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) // 2 > input.ndim:
        raise RuntimeError(f"Padding length should be less than or equal to two times the "
                           f"input dimension but got padding length {len(pad)} and input of "
                           f"dimension {input.ndim}")
    pairs = {input.ndim - 1 - i: (pad[2 * i], pad[2 * i + 1]) for i in range(len(pad) // 2)}
    if mode == "constant":
        return _pad_constant(input, pairs, 0.0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if value not in (None, 0, 0.0):
        raise RuntimeError(f"Padding mode \"{mode}\" doesn't take in value argument")
    out = input
    for dim, (before, after) in sorted(pairs.items()):
        if before == 0 and after == 0:
            continue
        size = out.shape[dim]
        if mode == "reflect" and (before >= size or after >= size):
            raise RuntimeError(f"Argument #4: Padding size should be less than the "
                               f"corresponding input dimension, but got: padding ({before}, "
                               f"{after}) at dimension {dim} of input {list(input.shape)}")
        if mode == "circular" and (before > size or after > size):
            raise RuntimeError("Padding value causes wrapping around more than once.")
        if min(before, after) < 0:
            raise RuntimeError(f"negative padding is not supported for mode {mode}")
        idx = tensor(_pad_index(size, before, after, mode), dtype=int64, device=input.device)
        out = out.index_select(dim, idx)
    return out


def _pad_constant(input, pairs, value):
    x = input
    # negative padding crops first
    if any(b < 0 or a < 0 for b, a in pairs.values()):
        key = [slice(None)] * x.ndim
        for dim, (before, after) in pairs.items():
            size = x.shape[dim]
            key[dim] = slice(max(-before, 0), size - max(-after, 0))
        x = x[tuple(key)]
    new_shape = list(x.shape)
    starts = [0] * x.ndim
    for dim, (before, after) in pairs.items():
        new_shape[dim] = x.shape[dim] + max(before, 0) + max(after, 0)
        starts[dim] = max(before, 0)
    if any(s < 0 for s in new_shape):
        raise RuntimeError(f"The input size {list(input.shape)}, plus negative padding "
                           f"resulted in a negative output size")
    if tuple(new_shape) == tuple(x.shape):
        return x if x is not input else input.clone()
    base = full(tuple(new_shape), value, dtype=x.dtype, device=x.device)
    stops = tuple(s + n for s, n in zip(starts, x.shape))
    if x.numel() == 0:
        return base
    return _F.SliceAssign.apply(base, x, starts=tuple(starts), stops=stops,
                                steps=(1,) * x.ndim)


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """Rows of weight picked by the int64 indices in input (shape input.shape + (dim,))."""
    _check_tensor(input)
    if input.dtype is not int64:
        raise RuntimeError("Expected tensor for argument #1 'indices' to have one of the "
                           "following scalar types: Long, Int; but got "
                           f"distml.{_type_name(input.dtype)}Tensor instead (while checking "
                           "arguments for embedding)")
    if scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding: scale_grad_by_freq and sparse gradients are not "
                                  "supported in distml")
    num = weight.shape[0]
    if padding_idx is not None:
        if padding_idx > 0 and padding_idx >= num:
            raise AssertionError("Padding_idx must be within num_embeddings")
        if padding_idx < 0:
            if padding_idx < -num:
                raise AssertionError("Padding_idx must be within num_embeddings")
            padding_idx += num
    if _on_host(input) and input.numel():
        lo, hi = input.amin().item(), input.amax().item()
        if lo < 0 or hi >= num:
            raise IndexError("index out of range in self")
    flat = input.reshape(-1)
    if max_norm is not None:
        _embedding_renorm_(weight, flat, max_norm, norm_type)
    out = weight.index_select(0, flat).reshape(tuple(input.shape) + (weight.shape[1],))
    if padding_idx is not None:
        # the padding row gets no gradient
        out = where((input == padding_idx).unsqueeze(-1), out.detach(), out)
    return out


def _embedding_renorm_(weight, flat_idx, max_norm, norm_type):
    with no_grad():
        num = weight.shape[0]
        hits = (flat_idx.unsqueeze(1) == arange(num, device=weight.device)).any(0)
        norms = weight.detach().norm(norm_type, 1)
        scale = where(hits & (norms > max_norm), max_norm / (norms + 1e-7), 1.0)
        weight.copy_(weight.detach() * scale.unsqueeze(1))

