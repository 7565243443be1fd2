"""The differentiable primitives: each maps its forward and backward onto backend ops.

Everything else in distml (softmax, losses, BatchNorm, clamp, ...) is composed from
these in distml/_tensor/ and distml/nn/functional/, so a new backend gets all of it for free.
"""
import math

from .autograd import Function


def unbroadcast(be, grad, shape):
    """Sum a broadcast gradient back down to `shape`."""
    gshape = be.shape(grad)
    if tuple(gshape) == tuple(shape):
        return grad
    lead = len(gshape) - len(shape)
    axes = tuple(i for i in range(len(gshape))
                 if i < lead or (shape[i - lead] == 1 and gshape[i] != 1))
    if axes:
        grad = be.reduce("sum", grad, axes, False)
    return be.reshape(grad, tuple(shape))


def _scalar(be, value, like):
    return be.full((), value, be.dtype(like))


# -- elementwise unary ---------------------------------------------------------------------

class Unary(Function):
    op = None

    def forward(self, x):
        self.x = x
        self.y = self.be.unary(self.op, x)
        return self.y


class Neg(Unary):
    op = "neg"

    def backward(self, g):
        return self.be.unary("neg", g)


class Exp(Unary):
    op = "exp"

    def backward(self, g):
        return self.be.binary("mul", g, self.y)


class Log(Unary):
    op = "log"

    def backward(self, g):
        return self.be.binary("div", g, self.x)


class Sqrt(Unary):
    op = "sqrt"

    def backward(self, g):
        be = self.be
        return be.binary("div", g, be.binary("mul", self.y, _scalar(be, 2.0, self.y)))


class Abs(Unary):
    op = "abs"

    def backward(self, g):
        return self.be.binary("mul", g, self.be.unary("sign", self.x))


class Relu(Unary):
    op = "relu"

    def backward(self, g):
        be = self.be
        return be.where(be.binary("gt", self.x, _scalar(be, 0.0, self.x)), g,
                        _scalar(be, 0.0, g))


class Sigmoid(Unary):
    op = "sigmoid"

    def backward(self, g):
        be = self.be
        one_minus = be.binary("sub", _scalar(be, 1.0, self.y), self.y)
        return be.binary("mul", g, be.binary("mul", self.y, one_minus))


class Tanh(Unary):
    op = "tanh"

    def backward(self, g):
        be = self.be
        return be.binary("mul", g, be.binary("sub", _scalar(be, 1.0, self.y),
                                             be.binary("mul", self.y, self.y)))


class Erf(Unary):
    op = "erf"

    def backward(self, g):
        be = self.be
        x2 = be.unary("neg", be.binary("mul", self.x, self.x))
        d = be.binary("mul", be.unary("exp", x2), _scalar(be, 2.0 / math.sqrt(math.pi), g))
        return be.binary("mul", g, d)


class Piecewise(Unary):
    """Piecewise-constant ops (sign, floor, ceil, round): zero gradient, as in torch."""

    def backward(self, g):
        return self.be.full(self.be.shape(self.x), 0.0, self.be.dtype(g))


class Sign(Piecewise):
    op = "sign"


class Floor(Piecewise):
    op = "floor"


class Ceil(Piecewise):
    op = "ceil"


class Round(Piecewise):
    op = "round"


class Sin(Unary):
    op = "sin"

    def backward(self, g):
        return self.be.binary("mul", g, self.be.unary("cos", self.x))


class Cos(Unary):
    op = "cos"

    def backward(self, g):
        return self.be.unary("neg", self.be.binary("mul", g, self.be.unary("sin", self.x)))


# -- elementwise binary --------------------------------------------------------------------

class Binary(Function):
    op = None

    def forward(self, a, b):
        self.a, self.b = a, b
        self.a_shape, self.b_shape = self.be.shape(a), self.be.shape(b)
        return self.be.binary(self.op, a, b)

    def grads(self, g):
        raise NotImplementedError

    def backward(self, g):
        ga, gb = self.grads(g)
        return (unbroadcast(self.be, ga, self.a_shape) if ga is not None else None,
                unbroadcast(self.be, gb, self.b_shape) if gb is not None else None)


class Add(Binary):
    op = "add"

    def grads(self, g):
        return g, g


class Sub(Binary):
    op = "sub"

    def grads(self, g):
        return g, (self.be.unary("neg", g) if self.needs_input_grad[1] else None)


class Mul(Binary):
    op = "mul"

    def grads(self, g):
        be = self.be
        return (be.binary("mul", g, self.b) if self.needs_input_grad[0] else None,
                be.binary("mul", g, self.a) if self.needs_input_grad[1] else None)


class Div(Binary):
    op = "div"

    def grads(self, g):
        be = self.be
        ga = be.binary("div", g, self.b) if self.needs_input_grad[0] else None
        gb = None
        if self.needs_input_grad[1]:
            gb = be.unary("neg", be.binary("div", be.binary("mul", g, self.a),
                                           be.binary("mul", self.b, self.b)))
        return ga, gb


class Pow(Binary):
    op = "pow"

    def forward(self, a, b):
        self.y = super().forward(a, b)
        return self.y

    def grads(self, g):
        be = self.be
        zero = _scalar(be, 0.0, g)
        ga = gb = None
        if self.needs_input_grad[0]:
            # d/da a**b = b * a**(b-1); zero where b == 0 (torch avoids 0 * inf there)
            d = be.binary("mul", self.b, be.binary("pow", self.a, be.binary(
                "sub", self.b, _scalar(be, 1.0, self.b))))
            ga = be.where(be.binary("eq", self.b, _scalar(be, 0.0, self.b)), zero,
                          be.binary("mul", g, d))
        if self.needs_input_grad[1]:
            # d/db a**b = a**b * log(a); zero where a == 0 and b >= 0, as torch
            d = be.binary("mul", self.y, be.unary("log", self.a))
            mask = be.binary("logical_and", be.binary("eq", self.a, _scalar(be, 0.0, self.a)),
                             be.binary("ge", self.b, _scalar(be, 0.0, self.b)))
            gb = be.where(mask, zero, be.binary("mul", g, d))
        return ga, gb


class Mod(Binary):
    """Floor-semantics remainder a - floor(a / b) * b (torch.remainder)."""
    op = "mod"

    def grads(self, g):
        be = self.be
        gb = None
        if self.needs_input_grad[1]:
            gb = be.unary("neg", be.binary("mul", g, be.binary("floordiv", self.a, self.b)))
        return g, gb


class Maximum(Binary):
    op = "maximum"
    wins = "gt"

    def grads(self, g):
        # the larger input takes the gradient; ties split it evenly (torch's rule)
        be = self.be
        half = be.binary("mul", g, _scalar(be, 0.5, g))
        zero = _scalar(be, 0.0, g)
        tie = be.binary("eq", self.a, self.b)
        a_wins = be.binary(self.wins, self.a, self.b)
        ga = be.where(a_wins, g, be.where(tie, half, zero))
        gb = be.where(a_wins, zero, be.where(tie, half, g))
        return ga, gb


class Minimum(Maximum):
    op = "minimum"
    wins = "lt"


class Where(Function):
    def forward(self, cond, a, b):
        self.cond = cond
        self.a_shape, self.b_shape = self.be.shape(a), self.be.shape(b)
        return self.be.where(cond, a, b)

    def backward(self, g):
        be = self.be
        zero = _scalar(be, 0.0, g)
        ga = gb = None
        if self.needs_input_grad[1]:
            ga = unbroadcast(be, be.where(self.cond, g, zero), self.a_shape)
        if self.needs_input_grad[2]:
            gb = unbroadcast(be, be.where(self.cond, zero, g), self.b_shape)
        return None, ga, gb


class Cast(Function):
    def forward(self, x, dtype):
        self.in_dtype = self.be.dtype(x)
        return self.be.cast(x, dtype)

    def backward(self, g):
        return self.be.cast(g, self.in_dtype)


class To(Function):
    """Copy to another device; the gradient is copied back."""

    def forward(self, x, device):
        self.src_device = self.parents[0].device
        self.out_device = device
        return transfer(self.be, device.backend, x)

    def backward(self, g):
        return transfer(self.out_device.backend, self.be, g)


def transfer(src, dst, buf):
    if src is dst:
        return buf
    if src.host_arrays and dst.host_arrays:
        return dst.from_numpy(src.to_numpy(buf), src.dtype(buf))
    return dst.from_bytes(src.to_bytes(buf), tuple(src.shape(buf)), src.dtype(buf))


# -- reductions ----------------------------------------------------------------------------

def _keepdim_shape(shape, axes):
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class Sum(Function):
    def forward(self, x, axes, keepdim):
        self.in_shape, self.axes = self.be.shape(x), axes
        return self.be.reduce("sum", x, axes, keepdim)

    def backward(self, g):
        be = self.be
        g = be.reshape(g, _keepdim_shape(self.in_shape, self.axes))
        return be.expand(g, self.in_shape)


class Amax(Function):
    """max/min over axes; the gradient is shared evenly among tied maxima (torch.amax)."""
    op = "max"

    def forward(self, x, axes, keepdim):
        self.x, self.axes = x, axes
        self.y = self.be.reduce(self.op, x, axes, keepdim)
        return self.y

    def backward(self, g):
        be = self.be
        shape = be.shape(self.x)
        kshape = _keepdim_shape(shape, self.axes)
        y = be.reshape(self.y, kshape)
        mask = be.cast(be.binary("eq", self.x, y), "float32")
        count = be.reduce("sum", mask, self.axes, True)
        share = be.binary("div", be.reshape(g, kshape), count)
        return be.binary("mul", mask, share)


class Amin(Amax):
    op = "min"


class Prod(Function):
    """Product over axes. The gradient is the product of the other elements, computed
    without dividing by zero: y / x where a slice has no zero, the product of the non-zero
    elements at a slice's only zero, and 0 elsewhere."""

    def forward(self, x, axes, keepdim):
        self.x, self.axes = x, axes
        return self.be.reduce("prod", x, axes, keepdim)

    def backward(self, g):
        be = self.be
        x, axes = self.x, self.axes
        zero, one = _scalar(be, 0.0, x), _scalar(be, 1.0, x)
        is_zero = be.binary("eq", x, zero)
        nonzero = be.where(is_zero, one, x)
        prod_nz = be.reduce("prod", nonzero, axes, True)
        n_zeros = be.reduce("sum", be.cast(is_zero, "float32"), axes, True)
        d = be.where(be.binary("eq", n_zeros, zero), be.binary("div", prod_nz, nonzero),
                     be.where(be.binary("eq", n_zeros, one),
                              be.where(is_zero, prod_nz, zero), zero))
        g = be.reshape(g, _keepdim_shape(be.shape(x), axes))
        return be.binary("mul", g, d)


# -- movement ------------------------------------------------------------------------------

class Reshape(Function):
    def forward(self, x, shape):
        self.in_shape = self.be.shape(x)
        return self.be.reshape(x, shape)

    def backward(self, g):
        return self.be.reshape(g, self.in_shape)


class Permute(Function):
    def forward(self, x, order):
        self.inverse = tuple(sorted(range(len(order)), key=lambda i: order[i]))
        return self.be.permute(x, order)

    def backward(self, g):
        return self.be.permute(g, self.inverse)


class Expand(Function):
    def forward(self, x, shape):
        self.in_shape = self.be.shape(x)
        return self.be.expand(x, shape)

    def backward(self, g):
        return unbroadcast(self.be, g, self.in_shape)


class Slice(Function):
    def forward(self, x, starts, stops, steps):
        self.in_shape, self.in_dtype = self.be.shape(x), self.be.dtype(x)
        self.ranges = (starts, stops, steps)
        return self.be.slice(x, starts, stops, steps)

    def backward(self, g):
        zeros = self.be.full(self.in_shape, 0.0, self.be.dtype(g))
        return self.be.slice_assign(zeros, *self.ranges, g)


class SliceAssign(Function):
    """x with x[slices] = src (functional __setitem__)."""

    def forward(self, x, src, starts, stops, steps):
        self.ranges = (starts, stops, steps)
        self.src_shape = self.be.shape(src)
        return self.be.slice_assign(x, starts, stops, steps, src)

    def backward(self, g):
        be = self.be
        gx = gs = None
        if self.needs_input_grad[0]:
            gx = be.slice_assign(g, *self.ranges, be.full(self.src_shape, 0.0, be.dtype(g)))
        if self.needs_input_grad[1]:
            gs = be.slice(g, *self.ranges)
        return gx, gs


class Cat(Function):
    def forward(self, *xs, axis):
        self.axis = axis
        self.sizes = [self.be.shape(x)[axis] for x in xs]
        return self.be.cat(list(xs), axis)

    def backward(self, g):
        be = self.be
        shape = be.shape(g)
        out, start = [], 0
        for size, needed in zip(self.sizes, self.needs_input_grad):
            if needed:
                starts = [0] * len(shape)
                stops = list(shape)
                starts[self.axis], stops[self.axis] = start, start + size
                out.append(be.slice(g, tuple(starts), tuple(stops), (1,) * len(shape)))
            else:
                out.append(None)
            start += size
        return tuple(out)


# -- indexing ------------------------------------------------------------------------------

class Gather(Function):
    def forward(self, x, index, axis):
        self.in_shape, self.index, self.axis = self.be.shape(x), index, axis
        return self.be.gather(x, axis, index)

    def backward(self, g):
        zeros = self.be.full(self.in_shape, 0.0, self.be.dtype(g))
        return self.be.scatter_add(zeros, self.axis, self.index, g), None


class ScatterAdd(Function):
    def forward(self, x, index, src, axis):
        self.index, self.axis = index, axis
        return self.be.scatter_add(x, axis, index, src)

    def backward(self, g):
        gs = self.be.gather(g, self.axis, self.index) if self.needs_input_grad[2] else None
        return g, None, gs


# -- linear algebra and nn -----------------------------------------------------------------

def _swap_last(be, x):
    n = len(be.shape(x))
    return be.permute(x, tuple(range(n - 2)) + (n - 1, n - 2))


def _transposed(x):
    """Whether a 2-D view is a transposed contiguous matrix (strides (1, rows))."""
    st = getattr(x, "strides", None)
    return st is not None and len(st) == 2 and st[0] == 1 and st[1] > 1


class Matmul(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return self.be.matmul(a, b)

    def backward(self, g):
        be = self.be
        ga = be.matmul(g, _swap_last(be, self.b)) if self.needs_input_grad[0] else None
        gb = None
        if self.needs_input_grad[1]:
            if getattr(be, "grad_in_operand_layout", False) and _transposed(self.b):
                # b = w.t() (Linear): (g^T a)^T, the same sums, makes w's gradient contiguous
                gb = _swap_last(be, be.matmul(_swap_last(be, g), self.a))
            else:
                gb = be.matmul(_swap_last(be, self.a), g)
        return ga, gb


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


# -- optimizer steps -------------------------------------------------------------------------
# Each runs the backend's update for one parameter (the one written rule is the composed
# default in backends/base.py; numpy and WebGL fuse it). Not differentiable.

class _OptimizerStep(Function):
    def backward(self, g):
        raise RuntimeError(f"{type(self).__name__} is an optimizer step: it has no gradient")


class SgdStep(_OptimizerStep):
    def forward(self, p, grad, *momentum_buffer, hyper, state_out):
        new_p, state_out["momentum_buffer"] = self.be.sgd_update(
            p, grad, momentum_buffer[0] if momentum_buffer else None, **hyper)
        return new_p


class AdamStep(_OptimizerStep):
    def forward(self, p, grad, exp_avg, exp_avg_sq, *max_exp_avg_sq, hyper, state_out):
        new_p, *state = self.be.adam_update(
            p, grad, exp_avg, exp_avg_sq, max_exp_avg_sq[0] if max_exp_avg_sq else None,
            **hyper)
        state_out.update(zip(("exp_avg", "exp_avg_sq", "max_exp_avg_sq"), state))
        return new_p


def optimizer_step(kind, p, grad, *state, **hyper):
    """Run an optimizer step Function `kind` (SgdStep, AdamStep) on parameter p: returns the new
    parameter value and {state name: new Tensor, or None} (state entries given as None
    are left out of the inputs)."""
    out = {}
    new_p = kind.apply(p, grad, *[s for s in state if s is not None], hyper=hyper,
                       state_out=out)
    return new_p, {k: None if b is None else new_p._new(b) for k, b in out.items()}
