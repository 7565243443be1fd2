"""Losses over class-index targets: nll_loss and cross_entropy."""
import math

from ... import function as _F
from ...dtypes import int64
from ..._tensor import where
from ._utils import _check_tensor, _on_host, _type_name
from .loss import _check_reduction, _legacy_reduction

__all__ = ["nll_loss", "cross_entropy"]


def _check_class_target(input, target, weight, ignore_index, n_classes):
    """torch's nll_loss shape/dtype/range checks; input is (N, C, *) after unsqueezing."""
    if target.dtype is not int64:
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got "
                           f"{_type_name(target.dtype)}")
    if weight is not None and (weight.ndim != 1 or weight.numel() != n_classes):
        raise RuntimeError(f"weight tensor should be defined either for all {n_classes} "
                           f"classes or no classes but got weight tensor of shape: "
                           f"{list(weight.shape)}")
    if _on_host(target) and target.numel():
        safe = where(target == ignore_index, 0, target)
        lo, hi = safe.amin().item(), safe.amax().item()
        if lo < 0 or hi >= n_classes:
            bad = lo if lo < 0 else hi
            raise IndexError(f"Target {bad} is out of bounds.")


def _batch_checks(input, target):
    if input.ndim == 0:
        raise ValueError("Expected 1 or more dimensions (got 0)")
    if input.ndim != 1:
        tb = target.shape[0] if target.ndim else 0
        if input.shape[0] != tb:
            raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target "
                             f"batch_size ({tb}).")
    if input.ndim <= 2:
        if target.ndim > 1 or (input.ndim == 1 and target.ndim != 0):
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    else:
        want = (input.shape[0],) + tuple(input.shape[2:])
        if tuple(target.shape) != want:
            raise RuntimeError(f"Expected target size {list(want)}, got {list(target.shape)}")


def _nll_parts(logp, target, weight, ignore_index):
    """Per-element -w[t] * logp[t] (0 where ignored) and the per-element weights."""
    valid = target != ignore_index
    safe = where(valid, target, 0)
    picked = logp.gather(1, safe.unsqueeze(1)).squeeze(1)
    mask = valid.float()
    if weight is not None:
        w = weight.index_select(0, safe.reshape(-1)).reshape(safe.shape) * mask
    else:
        w = mask
    return -(picked * w), w, valid


def _nll(logp, target, weight, ignore_index, reduction, unbatched):
    _check_reduction(reduction)
    losses, w, _ = _nll_parts(logp, target, weight, ignore_index)
    if reduction == "none":
        return losses.squeeze(0) if unbatched else losses
    if reduction == "sum":
        return losses.sum()
    return losses.sum() / w.sum()


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """Negative log likelihood of class-index targets given log-probabilities (N, C, *)."""
    _check_tensor(input)
    _check_tensor(target, "target")
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    _batch_checks(input, target)
    if target.dtype is not int64:
        raise RuntimeError(f"expected scalar type Long but found {_type_name(target.dtype)}")
    unbatched = input.ndim == 1
    if unbatched:
        input, target = input.unsqueeze(0), target.unsqueeze(0)
    _check_class_target(input, target, weight, ignore_index, input.shape[1])
    return _nll(input, target, weight, ignore_index, reduction, unbatched)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100,
                  reduce=None, reduction="mean", label_smoothing=0.0):
    """log_softmax over dim 1 + NLL, with class-index or class-probability targets.

    Label smoothing, class weights, ignore_index and the reductions follow
    torch's cross_entropy_loss (aten/src/ATen/native/LossNLL.cpp) term by term.
    """
    _check_tensor(input)
    _check_tensor(target, "target")
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: "
                           f"{label_smoothing}")
    if input.ndim == 0:
        raise ValueError("Expected 1 or more dimensions (got 0)")
    unbatched = input.ndim == 1
    if tuple(input.shape) == tuple(target.shape):
        return _cross_entropy_probs(input, target, weight, ignore_index, reduction,
                                    label_smoothing)
    _batch_checks(input, target)
    if unbatched:
        input, target = input.unsqueeze(0), target.unsqueeze(0)
    n_classes = input.shape[1]
    _check_class_target(input, target, weight, ignore_index, n_classes)
    if weight is None and label_smoothing <= 0.0 and input.ndim == 2:
        fused = _F.fused_cross_entropy(input, target, ignore_index, reduction)
        if fused is not None:
            return fused
    logp = input.log_softmax(1)
    if label_smoothing <= 0.0:
        return _nll(logp, target, weight, ignore_index, reduction, unbatched)
    losses, w, valid = _nll_parts(logp, target, weight, ignore_index)
    if weight is not None:
        wshape = (1, n_classes) + (1,) * (logp.ndim - 2)
        smooth = -(logp * weight.reshape(wshape)).sum(1)
    else:
        smooth = -logp.sum(1)
    smooth = smooth * valid.float()
    if reduction == "none":
        nll, ret = losses, smooth
        out = nll * (1.0 - label_smoothing) + ret * (label_smoothing / n_classes)
        return out.squeeze(0) if unbatched else out
    if reduction == "sum":
        nll, ret = losses.sum(), smooth.sum()
    else:
        denom = w.sum()
        nll = losses.sum() / denom
        ret = smooth.sum() / (denom if weight is not None else valid.float().sum())
    return nll * (1.0 - label_smoothing) + ret * (label_smoothing / n_classes)


def _cross_entropy_probs(input, target, weight, ignore_index, reduction, label_smoothing):
    if not target.dtype.is_floating_point:
        raise RuntimeError(f"Expected floating point type for target with class "
                           f"probabilities, got {_type_name(target.dtype)}")
    if ignore_index >= 0:
        raise RuntimeError("ignore_index is not supported for floating point target")
    class_dim = 0 if input.ndim == 1 else 1
    n_classes = input.shape[class_dim]
    logp = input.log_softmax(class_dim)
    t = target
    if label_smoothing > 0.0:
        t = target * (1.0 - label_smoothing) + label_smoothing / n_classes
    prod = logp * t
    if weight is not None:
        if weight.ndim != 1 or weight.numel() != n_classes:
            raise RuntimeError(f"weight tensor should be defined either for all {n_classes} "
                               f"classes or no classes but got weight tensor of shape: "
                               f"{list(weight.shape)}")
        wshape = [1] * input.ndim
        wshape[class_dim] = n_classes
        prod = prod * weight.reshape(wshape)
    if reduction == "none":
        return -prod.sum(class_dim)
    if reduction == "sum":
        return -prod.sum()
    count = input.numel() // n_classes if n_classes else 0
    if count == 0:
        return -prod.sum() * math.nan
    return -prod.sum() / count
