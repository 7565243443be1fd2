"""Pointwise activations and the softmax family."""
import math
import warnings

from ..._tensor import where
from ._utils import _maybe_inplace

__all__ = [
    "relu", "relu6", "leaky_relu", "elu", "selu", "celu", "gelu", "sigmoid", "tanh", "silu",
    "mish", "softplus", "logsigmoid", "hardtanh", "hardsigmoid", "hardswish", "softmax",
    "log_softmax", "softmin",
]


# -- activations ----------------------------------------------------------------------------
# inplace=True rebinds the input tensor to the result, as torch (the autograd graph keeps
# the pre-update value for earlier consumers; a leaf that requires grad raises).


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
