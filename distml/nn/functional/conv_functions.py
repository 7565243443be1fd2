"""The differentiable primitives conv2d and the pools are built on: Functions over the
backend's conv and pooling ops (the composed defaults are in backends/base.py; numpy and
WebGL override them)."""
from ...autograd import Function


class Conv2d(Function):
    def forward(self, x, w, stride, padding, dilation, groups):
        self.x, self.w = x, w
        self.args = (stride, padding, dilation, groups)
        return self.be.conv2d(x, w, *self.args)

    def backward(self, g):
        be = self.be
        gx = gw = None
        if self.needs_input_grad[0]:
            gx = be.conv2d_grad_input(g, self.w, be.shape(self.x), *self.args)
        if self.needs_input_grad[1]:
            gw = be.conv2d_grad_weight(self.x, g, be.shape(self.w), *self.args)
        return gx, gw


class MaxPool2d(Function):
    """Max pooling; the argmax indices (int64) also go into `indices_out` when given."""

    def forward(self, x, kernel, stride, padding, dilation, ceil_mode, indices_out=None):
        self.in_shape = self.be.shape(x)
        y, self.indices = self.be.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode)
        if indices_out is not None:
            indices_out["indices"] = self.indices
        return y

    def backward(self, g):
        return self.be.max_pool2d_grad(g, self.indices, self.in_shape)


class AvgPool2d(Function):
    def forward(self, x, kernel, stride, padding, ceil_mode, count_include_pad):
        self.in_shape = self.be.shape(x)
        self.args = (kernel, stride, padding, ceil_mode, count_include_pad)
        return self.be.avg_pool2d(x, *self.args)

    def backward(self, g):
        return self.be.avg_pool2d_grad(g, self.in_shape, *self.args)


def max_pool2d_with_indices(x, kernel, stride, padding, dilation, ceil_mode):
    """(y, indices) from one pooling pass: y differentiable, indices the int64 flat h*W+w
    input position of each maximum (torch's max_pool2d_with_indices)."""
    out = {}
    y = MaxPool2d.apply(x, kernel=kernel, stride=stride, padding=padding, dilation=dilation,
                        ceil_mode=ceil_mode, indices_out=out)
    return y, y._new(out["indices"])
