"""linear and bilinear maps."""

from ._utils import _check_tensor

__all__ = ["linear", "bilinear"]


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
