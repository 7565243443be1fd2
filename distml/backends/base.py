"""The primitive interface every backend implements.

Everything in distml (autograd functions, losses, BatchNorm, optimizers) is composed
from these methods; a backend implements only this class. A *buffer* is the backend's
own opaque array object (a numpy array, a flat pure-Python array, a WebGL texture).
Buffers are never mutated after they are returned: every method returns a new buffer
(or a view that shares memory but is itself never written). That makes saved tensors
in the autograd graph safe without version counters, and maps onto GPUs, where a
shader cannot read and write the same texture.

No method may assume it can read values back on the host except `to_list`/`to_bytes`,
which are the explicit read-back points.

Conventions
- dtype is one of the strings "float32", "int64", "bool".
- shape is a tuple of ints; () is a scalar (0-d) buffer.
- Elementwise methods broadcast their inputs numpy-style.
- axes for reductions are non-negative ints, sorted, unique.
"""
import math

UNARY_OPS = (
    "neg", "exp", "log", "sqrt", "rsqrt", "abs", "sign", "relu", "sigmoid", "tanh",
    "erf", "sin", "cos", "reciprocal", "floor", "ceil", "round", "logical_not",
)
# pow: x ** y (float). maximum/minimum: elementwise. Comparisons return "bool".
# div on int64 inputs is true division (returns float32), as in torch.
# floordiv/mod follow Python/torch floor semantics.
BINARY_OPS = (
    "add", "sub", "mul", "div", "pow", "maximum", "minimum", "floordiv", "mod",
    "lt", "le", "gt", "ge", "eq", "ne", "logical_and", "logical_or",
)
COMPARISON_OPS = ("lt", "le", "gt", "ge", "eq", "ne", "logical_and", "logical_or")
REDUCE_OPS = ("sum", "max", "min", "prod")
# fused ops: Backend composes each from the primitives above, so a backend may leave them
FUSED_OPS = ("batch_norm_train", "batch_norm_train_backward", "sgd_update", "adam_update")


class Backend:
    name = "abstract"

    # -- buffers and transfer ------------------------------------------------------------
    def shape(self, buf):
        """Shape tuple of a buffer."""
        raise NotImplementedError

    def dtype(self, buf):
        """dtype string of a buffer."""
        raise NotImplementedError

    def from_list(self, flat, shape, dtype):
        """Buffer from a flat sequence of Python numbers (row-major) or an `array.array`."""
        raise NotImplementedError

    def from_bytes(self, data, shape, dtype):
        """Buffer from little-endian raw bytes (float32: 4 bytes, int64: 8, bool: 1)."""
        raise NotImplementedError

    def to_list(self, buf):
        """Flat row-major list of Python numbers (the read-back point)."""
        raise NotImplementedError

    def to_bytes(self, buf):
        """Little-endian raw bytes, row-major (the read-back point for files and sockets)."""
        raise NotImplementedError

    # -- creation --------------------------------------------------------------------------
    def full(self, shape, value, dtype):
        raise NotImplementedError

    def arange(self, start, stop, step, dtype):
        raise NotImplementedError

    def random(self, shape, kind, seed, offset):
        """float32 buffer of counter-based random numbers (see distml/random.py).

        kind is "uniform" ([0, 1)) or "normal" (mean 0, std 1). Element i (row-major) is
        distml.random.uniform_at(seed, offset + i) or normal_at(seed, offset + i), so all
        backends produce the same numbers for the same seed.
        """
        raise NotImplementedError

    def cast(self, x, dtype):
        raise NotImplementedError

    # -- elementwise -----------------------------------------------------------------------
    def unary(self, op, x):
        raise NotImplementedError

    def binary(self, op, x, y):
        """x and y are buffers of this backend (same dtype unless op is a comparison)."""
        raise NotImplementedError

    def where(self, cond, x, y):
        """cond is a bool buffer; broadcasts all three."""
        raise NotImplementedError

    # -- reductions ------------------------------------------------------------------------
    def reduce(self, op, x, axes, keepdim):
        """op in REDUCE_OPS over the given axes (empty tuple: identity copy)."""
        raise NotImplementedError

    def argreduce(self, op, x, axis, keepdim):
        """op "argmax" or "argmin" along one axis; int64; first index among ties."""
        raise NotImplementedError

    # -- movement --------------------------------------------------------------------------
    def reshape(self, x, shape):
        raise NotImplementedError

    def permute(self, x, order):
        raise NotImplementedError

    def expand(self, x, shape):
        """Broadcast x (same ndim, size-1 dims only) to shape."""
        raise NotImplementedError

    def slice(self, x, starts, stops, steps):
        """Basic strided slice, one (start, stop, step) per dim, step > 0, already clamped."""
        raise NotImplementedError

    def slice_assign(self, x, starts, stops, steps, src):
        """Copy of x with x[slices] replaced by src (src has the slice's shape)."""
        raise NotImplementedError

    def cat(self, xs, axis):
        raise NotImplementedError

    # -- indexing --------------------------------------------------------------------------
    def gather(self, x, axis, index):
        """torch.gather: out[i][j] = x[index[i][j]][j] (axis 0); index int64, same ndim."""
        raise NotImplementedError

    def scatter_add(self, x, axis, index, src):
        """Copy of x with src added at index along axis (torch.Tensor.scatter_add)."""
        raise NotImplementedError

    # -- linear algebra and nn -------------------------------------------------------------
    def matmul(self, a, b):
        """(..., M, K) @ (..., K, N) -> (..., M, N); batch dims already equal (no broadcast)."""
        raise NotImplementedError

    def conv2d(self, x, w, stride, padding, dilation, groups):
        """x (N, C, H, W), w (O, C/groups, KH, KW); stride/padding/dilation are (h, w) pairs."""
        raise NotImplementedError

    def _cropped_kernel(self, w, crop):
        """w[:, :, i0:i1, j0:j1] for a `useful_taps` crop (a helper, not a primitive)."""
        (i0, i1), (j0, j1), _ = crop
        o, cg = self.shape(w)[:2]
        return self.slice(w, (0, 0, i0, j0), (o, cg, i1, j1), (1, 1, 1, 1))

    def conv2d_grad_input(self, gy, w, x_shape, stride, padding, dilation, groups):
        raise NotImplementedError

    def conv2d_grad_weight(self, x, gy, w_shape, stride, padding, dilation, groups):
        raise NotImplementedError

    def max_pool2d(self, x, kernel, stride, padding, dilation, ceil_mode):
        """Returns (y, indices); indices (int64) are flat h*W+w positions in each input plane,
        as torch's max_pool2d_with_indices. Padding counts as -inf."""
        raise NotImplementedError

    def max_pool2d_grad(self, gy, indices, x_shape):
        raise NotImplementedError

    def avg_pool2d(self, x, kernel, stride, padding, ceil_mode, count_include_pad):
        raise NotImplementedError

    def avg_pool2d_grad(self, gy, x_shape, kernel, stride, padding, ceil_mode, count_include_pad):
        raise NotImplementedError

    # -- fused ops -------------------------------------------------------------------------
    # Each has a default composed from the primitives above, so every backend gets it;
    # a backend overrides it with a fused kernel where that is faster (numpy does).

    def _same_float32(self, first, *others):
        """Whether `first` and every other buffer given (None skipped) are float32 of
        first's shape: what a fused optimizer kernel handles; else the composed default."""
        shape = self.shape(first)
        return all(self.dtype(b) == "float32" and self.shape(b) == shape
                   for b in (first,) + others if b is not None)

    def batch_norm_train(self, x, weight, bias, axes, eps):
        """Training-mode batch normalization of float32 x over `axes` (all but the channel
        dim): y = (x - mean) * rsqrt(var + eps) * weight + bias, var biased.

        weight and bias are None or buffers in the statistics' keepdim shape (size 1 on
        `axes`). Returns (y, centered, mean, var, invstd): centered = x - mean (what the
        backward needs), and mean, var, invstd = rsqrt(var + eps) in the keepdim shape."""
        count = 1
        for a in axes:
            count *= self.shape(x)[a]
        inv_n = self.full((), 1.0 / count, "float32")
        mean = self.binary("mul", self.reduce("sum", x, axes, True), inv_n)
        centered = self.binary("sub", x, mean)
        var = self.binary("mul", self.reduce("sum", self.binary("mul", centered, centered),
                                             axes, True), inv_n)
        invstd = self.unary("rsqrt", self.binary("add", var, self.full((), eps, "float32")))
        scale = invstd if weight is None else self.binary("mul", invstd, weight)
        y = self.binary("mul", centered, scale)
        if bias is not None:
            y = self.binary("add", y, bias)
        return y, centered, mean, var, invstd

    def batch_norm_train_backward(self, g, centered, invstd, weight, axes):
        """Gradients of batch_norm_train through its batch statistics.

        Returns (gx, gweight, gbias); gweight and gbias in the statistics' keepdim shape
        (the backward of torch's fused kernel: with xhat = centered * invstd,
        gx = weight * invstd * (g - mean(g) - xhat * mean(g * xhat)))."""
        count = 1
        for a in axes:
            count *= self.shape(g)[a]
        inv_n = self.full((), 1.0 / count, "float32")
        xhat = self.binary("mul", centered, invstd)
        gbias = self.reduce("sum", g, axes, True)
        gweight = self.reduce("sum", self.binary("mul", g, xhat), axes, True)
        dx = self.binary("sub", self.binary("sub", g, self.binary("mul", gbias, inv_n)),
                         self.binary("mul", xhat, self.binary("mul", gweight, inv_n)))
        scale = invstd if weight is None else self.binary("mul", invstd, weight)
        return self.binary("mul", dx, scale), gweight, gbias

    def sgd_update(self, p, grad, momentum_buffer, lr, momentum, dampening, weight_decay,
                   nesterov, maximize):
        """One torch.optim.SGD step for one float32 parameter: returns (new p, new momentum
        buffer), the buffer None when momentum is 0. momentum_buffer is None on the first
        step (it starts as the gradient). Hyper-parameters are Python floats/bools."""
        def scalar(v):
            return self.full((), v, "float32")
        if maximize:
            grad = self.unary("neg", grad)
        if weight_decay:
            grad = self.binary("add", grad, self.binary("mul", p, scalar(weight_decay)))
        buf = None
        if momentum:
            if momentum_buffer is None:
                buf = grad
            else:
                buf = self.binary("add", self.binary("mul", momentum_buffer, scalar(momentum)),
                                  self.binary("mul", grad, scalar(1 - dampening)))
            grad = self.binary("add", grad, self.binary("mul", buf, scalar(momentum))) \
                if nesterov else buf
        return self.binary("sub", p, self.binary("mul", grad, scalar(lr))), buf

    def adam_update(self, p, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, lr, beta1, beta2, eps,
                    weight_decay, decoupled, amsgrad, maximize, step):
        """One torch.optim.Adam step (AdamW's when `decoupled`) for one float32 parameter.
        The state buffers start as zeros (max_exp_avg_sq is None without amsgrad); `step`
        counts this step. Returns (new p, new exp_avg, new exp_avg_sq, new max_exp_avg_sq
        or None). Hyper-parameters are Python floats/bools."""
        def scalar(v):
            return self.full((), v, "float32")
        if maximize:
            grad = self.unary("neg", grad)
        if weight_decay:
            if decoupled:
                p = self.binary("mul", p, scalar(1 - lr * weight_decay))
            else:
                grad = self.binary("add", grad, self.binary("mul", p, scalar(weight_decay)))
        exp_avg = self.binary("add", exp_avg, self.binary(
            "mul", self.binary("sub", grad, exp_avg), scalar(1 - beta1)))
        exp_avg_sq = self.binary("add", self.binary("mul", exp_avg_sq, scalar(beta2)),
                                 self.binary("mul", self.binary("mul", grad, grad),
                                             scalar(1 - beta2)))
        v = exp_avg_sq
        if amsgrad:
            v = max_exp_avg_sq = self.binary("maximum", max_exp_avg_sq, exp_avg_sq)
        denom = self.binary("add", self.binary("div", self.unary("sqrt", v),
                                               scalar(math.sqrt(1 - beta2 ** step))),
                            scalar(eps))
        update = self.binary("mul", self.binary("div", exp_avg, denom),
                             scalar(lr / (1 - beta1 ** step)))
        return (self.binary("sub", p, update), exp_avg, exp_avg_sq,
                max_exp_avg_sq if amsgrad else None)


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


def useful_taps(x_shape, kernel, stride, padding, dilation):
    """When some kernel rows/columns only ever meet padding (a 3x3 kernel on 1x1 maps):
    ((i0, i1), (j0, j1), new padding) such that the conv with the kernel cropped to
    [i0:i1, j0:j1] and the new padding gives the same output; else None. Backends crop
    convs with it: skipped taps are work saved (9x on 1x1 maps)."""
    kernel, stride, padding, dilation = (as_pair(v) for v in (kernel, stride, padding, dilation))
    ranges, pads = [], []
    for size, k, s, p, d in zip(x_shape[2:], kernel, stride, padding, dilation):
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
