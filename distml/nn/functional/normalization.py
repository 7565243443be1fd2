"""Batch, layer and group normalization, and normalize."""
import math

from ...autograd import Function, no_grad
from ._utils import _check_tensor

__all__ = ["batch_norm", "instance_norm", "layer_norm", "group_norm", "normalize"]


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


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-05):
    """Normalize every (sample, channel) plane of (N, C, *) input over its spatial dims.

    As torch: a batch norm of the input seen as (1, N*C, *), whose per-instance running
    statistics are then averaged over the batch into running_mean / running_var.
    """
    _check_tensor(input)
    if input.ndim < 3:
        raise ValueError(f"instance_norm expected at least 3D input (got {input.ndim}D input)")
    n, c = input.shape[0], input.shape[1]
    if use_input_stats and input.numel() // (n * c) <= 1:
        raise ValueError("Expected more than 1 spatial element when training, got input size "
                         f"{list(input.shape)}")

    def per_instance(t):
        return None if t is None else t.repeat(n)

    rm, rv = per_instance(running_mean), per_instance(running_var)
    out = batch_norm(input.reshape((1, n * c) + tuple(input.shape[2:])), rm, rv,
                     per_instance(weight), per_instance(bias), use_input_stats, momentum, eps)
    if use_input_stats:
        with no_grad():
            if running_mean is not None:
                running_mean.copy_(rm.reshape(n, c).mean(0))
            if running_var is not None:
                running_var.copy_(rv.reshape(n, c).mean(0))
    return out.reshape(input.shape)


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
