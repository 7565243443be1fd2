"""Transposed 2-D convolution, composed from the backend's three conv2d primitives.

conv_transpose2d is the adjoint of conv2d: its forward is conv2d's input gradient, its
input gradient is conv2d's forward and its weight gradient is conv2d's weight gradient
with the roles of input and output swapped. Every backend has it at once.
"""
from ...autograd import Function
from ._utils import _check_tensor, _pair, _type_name
from .padding import pad

__all__ = ["conv_transpose2d"]


class ConvTranspose2d(Function):
    """y = conv2d^T(x; w) for x (N, Cin, H, W) and w (Cin, Cout/groups, kh, kw)."""

    def forward(self, x, w, out_shape, stride, padding, dilation, groups):
        self.x, self.w = x, w
        self.args = (stride, padding, dilation, groups)
        return self.be.conv2d_grad_input(x, w, out_shape, *self.args)

    def backward(self, g):
        be = self.be
        gx = gw = None
        if self.needs_input_grad[0]:
            gx = be.conv2d(g, self.w, *self.args)
        if self.needs_input_grad[1]:
            gw = be.conv2d_grad_weight(g, self.x, be.shape(self.w), *self.args)
        return gx, gw


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups=1, dilation=1):
    """torch.nn.functional.conv_transpose2d for (N, Cin, H, W) or (Cin, H, W) input."""
    _check_tensor(input)
    _check_tensor(weight, "weight")
    if input.ndim not in (3, 4):
        raise RuntimeError("Expected 3D (unbatched) or 4D (batched) input to "
                           f"conv_transpose2d, but got input of size: {list(input.shape)}")
    if weight.ndim != 4:
        raise RuntimeError(f"conv_transpose2d: expected a 4-dimensional weight (in_channels, "
                           f"out_channels/groups, kH, kW), but got weight of size "
                           f"{list(weight.shape)}")
    unbatched = input.ndim == 3
    x = input.unsqueeze(0) if unbatched else input
    if x.dtype is not weight.dtype:
        raise RuntimeError(f"expected scalar type {_type_name(weight.dtype)} but found "
                           f"{_type_name(x.dtype)}")
    stride, padding = _pair(stride, "stride"), _pair(padding, "padding")
    dilation, output_padding = _pair(dilation, "dilation"), _pair(output_padding,
                                                                  "output_padding")
    groups = int(groups)
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError("dilation should be greater than zero")
    if any(p < 0 for p in padding):
        raise RuntimeError("negative padding is not supported")
    for op, s, d in zip(output_padding, stride, dilation):
        if op < 0 or op >= max(s, d):
            raise RuntimeError(f"output padding must be smaller than either stride or "
                               f"dilation, but got output_padding: {op}, stride: {s}, "
                               f"dilation: {d}")
    in_ch, out_per_group, kh, kw = weight.shape
    if x.shape[1] != in_ch:
        raise RuntimeError(f"Given transposed=1, weight of size {list(weight.shape)}, expected "
                           f"input{list(x.shape)} to have {in_ch} channels, but got "
                           f"{x.shape[1]} channels instead")
    if in_ch % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} "
                           f"at dimension 0, but got weight of size {list(weight.shape)} "
                           "instead")
    out_ch = out_per_group * groups
    if bias is not None and (bias.ndim != 1 or bias.shape[0] != out_ch):
        raise RuntimeError(f"Given transposed=1, weight of size {list(weight.shape)}, expected "
                           f"bias to be 1-dimensional with {out_ch} elements, but got bias "
                           f"of size {list(bias.shape)} instead")
    out_hw = tuple((size - 1) * s - 2 * p + d * (k - 1) + op + 1 for size, s, p, d, k, op in
                   zip(x.shape[2:], stride, padding, dilation, (kh, kw), output_padding))
    if any(o <= 0 for o in out_hw):
        raise RuntimeError(f"Given input size per channel: ({x.shape[2]} x {x.shape[3]}). "
                           f"Calculated output size per channel: ({out_hw[0]} x {out_hw[1]}). "
                           "Output size is too small")
    # output_padding >= stride (allowed below the dilation): extra zero rows/columns of
    # input keep conv2d's geometry consistent (conv2d of the output gives back x's shape)
    extra = tuple(op // s for op, s in zip(output_padding, stride))
    if any(extra):
        x = pad(x, (0, extra[1], 0, extra[0]))
    out = ConvTranspose2d.apply(x, weight, out_shape=(x.shape[0], out_ch) + out_hw,
                                stride=stride, padding=padding, dilation=dilation,
                                groups=groups)
    if bias is not None:
        out = out + bias.reshape(1, -1, 1, 1)
    return out.squeeze(0) if unbatched else out
