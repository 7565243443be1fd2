"""distml.nn.utils: gradient clipping and parameter <-> vector conversion (torch.nn.utils)."""
import math

from ..autograd import no_grad
from .._tensor import Tensor, cat, stack, tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm", "clip_grads_with_norm_",
           "parameters_to_vector", "vector_to_parameters"]


def _params(parameters):
    if isinstance(parameters, Tensor):
        return [parameters]
    return list(parameters)


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The norm of the norms of the given tensors (as if concatenated)."""
    tensors = _params(tensors)
    norm_type = float(norm_type)
    if not tensors:
        return tensor(0.0)
    with no_grad():
        norms = [t.detach().norm(norm_type) for t in tensors]
        first = norms[0].device
        stacked = stack([n.to(first) for n in norms])
        total = stacked.norm(norm_type)
    if error_if_nonfinite and not math.isfinite(total.item()):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from "
                           "`parameters` is non-finite, so it cannot be clipped. To disable "
                           "this error and scale the gradients by the non-finite norm anyway, "
                           "set `error_if_nonfinite=False`")
    return total


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Scale every .grad by min(1, max_norm / (total_norm + 1e-6)) in place."""
    params = [p for p in _params(parameters) if p.grad is not None]
    if not params:
        return
    with no_grad():
        coef = (total_norm + 1e-6).reciprocal() * float(max_norm)
        coef = coef.clamp(max=1.0)
        for p in params:
            p.grad.mul_(coef.to(p.grad.device))


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False,
                    foreach=None):
    """Clip the gradients' total norm to max_norm in place; returns the total norm (a
    0-d tensor, computed before clipping)."""
    params = _params(parameters)
    grads = [p.grad for p in params if p.grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(params, max_norm, total, foreach)
    return total


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every .grad to [-clip_value, clip_value] in place."""
    clip_value = float(clip_value)
    with no_grad():
        for p in _params(parameters):
            if p.grad is not None:
                p.grad.clamp_(min=-clip_value, max=clip_value)


def parameters_to_vector(parameters):
    """Flatten and concatenate the parameters into one 1-D tensor."""
    vec = []
    for param in parameters:
        vec.append(param.view(-1))
    return cat(vec)


def vector_to_parameters(vec, parameters):
    """Copy consecutive slices of vec into the parameters (their .data is rebound)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected distml.Tensor, but got: {type(vec).__name__}")
    pointer = 0
    for param in parameters:
        num_param = param.numel()
        param.data = vec[pointer:pointer + num_param].view_as(param).data
        pointer += num_param
