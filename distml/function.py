"""The differentiable primitives: each maps its forward and backward onto backend ops.

Everything else in distml (softmax, losses, BatchNorm, clamp, ...) is composed from
these in distml/_tensor/, distml/_composed_ops/ and distml/nn/functional/, so a new backend
gets all of it for free. (nn's conv and pooling Functions are in
nn/functional/conv_functions.py, the optimizer steps in optim/step_functions.py.)
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


def _unary(op, backward):
    """The Function (named Exp for "exp", ...) of the backend's unary `op`;
    backward(be, g, x, y) maps the output's gradient g to the input's."""
    return type(op.capitalize(), (Unary,), {
        "op": op, "__module__": __name__, "__doc__": f"y = {op}(x) and its gradient.",
        "backward": lambda self, g: backward(self.be, g, self.x, self.y)})


def _times(derivative):
    """backward for g * derivative(be, x, y)."""
    return lambda be, g, x, y: be.binary("mul", g, derivative(be, x, y))


def _zero_grad(be, g, x, y):
    """Piecewise-constant ops (sign, floor, ceil, round): zero gradient, as in torch."""
    return be.full(be.shape(x), 0.0, be.dtype(g))


Neg = _unary("neg", lambda be, g, x, y: be.unary("neg", g))
Exp = _unary("exp", lambda be, g, x, y: be.binary("mul", g, y))
Log = _unary("log", lambda be, g, x, y: be.binary("div", g, x))
Sqrt = _unary("sqrt", lambda be, g, x, y: be.binary(
    "div", g, be.binary("mul", y, _scalar(be, 2.0, y))))
Abs = _unary("abs", _times(lambda be, x, y: be.unary("sign", x)))
Relu = _unary("relu", lambda be, g, x, y: be.where(
    be.binary("gt", x, _scalar(be, 0.0, x)), g, _scalar(be, 0.0, g)))
Sigmoid = _unary("sigmoid", _times(lambda be, x, y: be.binary(
    "mul", y, be.binary("sub", _scalar(be, 1.0, y), y))))
Tanh = _unary("tanh", _times(lambda be, x, y: be.binary(
    "sub", _scalar(be, 1.0, y), be.binary("mul", y, y))))
Erf = _unary("erf", lambda be, g, x, y: be.binary("mul", g, be.binary(  # 2/sqrt(pi) e^-x^2
    "mul", be.unary("exp", be.unary("neg", be.binary("mul", x, x))),
    _scalar(be, 2.0 / math.sqrt(math.pi), g))))
Sin = _unary("sin", _times(lambda be, x, y: be.unary("cos", x)))
Cos = _unary("cos", lambda be, g, x, y: be.unary("neg", be.binary("mul", g, be.unary("sin", x))))
Sign, Floor, Ceil, Round = (_unary(op, _zero_grad) for op in ("sign", "floor", "ceil", "round"))


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
        self.out_device, self.out_backend = device, device.backend
        return transfer(self.be, self.out_backend, x)

    def backward(self, g):
        return transfer(self.out_backend, self.be, g)


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


# -- linear algebra ------------------------------------------------------------------------

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
            if be.grad_in_operand_layout and _transposed(self.b):
                # b = w.t() (Linear): (g^T a)^T, the same sums, makes w's gradient contiguous
                gb = _swap_last(be, be.matmul(_swap_last(be, g), self.a))
            else:
                gb = be.matmul(_swap_last(be, self.a), g)
        return ga, gb


# -- for nn.functional: what depends on the backend ----------------------------------------

def host_resident(t):
    """Whether t's values are in host memory (value checks on them are cheap)."""
    return t._backend.host_resident


class FusedCrossEntropy(Function):
    """cross_entropy over class indices as one op, on a backend with a fused kernel for it
    (webgl: three draws instead of ~35 small ones)."""

    def forward(self, x, target, ignore_index, mean):
        loss, self.saved = self.be.cross_entropy(x, target, ignore_index, mean)
        return loss

    def backward(self, g):
        return self.be.cross_entropy_backward(g, self.saved), None


def fused_cross_entropy(input, target, ignore_index, reduction):
    """The fused loss of 2-D logits, or None where the backend has none for them."""
    if reduction == "none" or not input._backend.cross_entropy_fits(input._buf):
        return None
    return FusedCrossEntropy.apply(input, target, ignore_index=ignore_index,
                                   mean=reduction == "mean")
