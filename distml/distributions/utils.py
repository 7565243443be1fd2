"""Parameter helpers shared by the distributions: broadcasting and the probs <-> logits
conversions, with torch's clamping so that log(0) never appears."""
import numbers

from .._tensor import Tensor, stack, tensor, zeros_like

FLOAT32_EPS = 1.1920928955078125e-07
FLOAT32_MIN = -3.4028234663852886e38


def broadcast_shape(*shapes):
    out = []
    for dims in zip(*(((1,) * (max(map(len, shapes)) - len(s)) + tuple(s)) for s in shapes)):
        sizes = {d for d in dims if d != 1}
        if len(sizes) > 1:
            raise ValueError(f"shapes {[tuple(s) for s in shapes]} cannot be broadcast together")
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


def broadcast_all(*values):
    """Tensors of one broadcast shape from tensors and Python numbers (numbers become
    float32 tensors on the tensors' device)."""
    tensors = [v for v in values if isinstance(v, Tensor)]
    for v in values:
        if not isinstance(v, (Tensor, numbers.Number)):
            raise ValueError(f"Input arguments must all be instances of numbers.Number or "
                             f"distml.Tensor, got {type(v).__name__}")
    device = tensors[0].device if tensors else None
    values = [v if isinstance(v, Tensor) else tensor(float(v), device=device) for v in values]
    shape = broadcast_shape(*(v.shape for v in values))
    return [v if tuple(v.shape) == shape else v.expand(shape) for v in values]


def clamp_probs(probs):
    return probs.clamp(min=FLOAT32_EPS, max=1 - FLOAT32_EPS)


def probs_to_logits(probs, is_binary=False):
    p = clamp_probs(probs)
    return p.log() - (-p).log1p() if is_binary else p.log()


def logits_to_probs(logits, is_binary=False):
    return logits.sigmoid() if is_binary else logits.softmax(-1)


def softplus(x):
    """log(1 + exp(x)) = logsumexp(0, x): no overflow, and its gradient is sigmoid(x)
    everywhere (a max/abs form gets the kink at 0 wrong)."""
    return stack([zeros_like(x), x], -1).logsumexp(-1)


class lazy_property:
    """Computed on first access, then stored on the instance (whose __dict__ wins over
    this non-data descriptor): probs from logits or logits from probs, whichever was not
    given."""

    def __init__(self, fn):
        self.fn = fn
        self.__doc__ = fn.__doc__

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        value = self.fn(instance)
        instance.__dict__[self.fn.__name__] = value
        return value
