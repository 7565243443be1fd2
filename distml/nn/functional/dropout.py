"""Dropout (elementwise and per channel)."""
import warnings

from ..._tensor import rand
from ._utils import _maybe_inplace

__all__ = ["dropout", "dropout2d"]


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
