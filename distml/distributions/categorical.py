from .._tensor import Size, Tensor, rand, tensor
from . import constraints
from .distribution import Distribution
from .utils import FLOAT32_MIN, broadcast_shape, lazy_property, logits_to_probs, \
    probs_to_logits


class Categorical(Distribution):
    """One of K categories, from `probs` (non-negative, normalised here) or `logits`
    (unnormalised log-probabilities) along the last dimension; the others are batch."""
    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            probs = probs if isinstance(probs, Tensor) else tensor(probs)
            if probs.dim() < 1:
                raise ValueError("`probs` parameter must be at least one-dimensional.")
            self.probs = probs / probs.sum(-1, keepdim=True)
        else:
            logits = logits if isinstance(logits, Tensor) else tensor(logits)
            if logits.dim() < 1:
                raise ValueError("`logits` parameter must be at least one-dimensional.")
            self.logits = logits - logits.logsumexp(dim=-1, keepdim=True)
        self._param = self.probs if probs is not None else self.logits
        self._num_events = self._param.shape[-1]
        super().__init__(self._param.shape[:-1], validate_args=validate_args)

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs)

    @lazy_property
    def probs(self):
        return logits_to_probs(self.logits)

    @property
    def param_shape(self):
        return self._param.shape

    @property
    def support(self):
        return constraints.integer_interval(0, self._num_events - 1)

    @property
    def mode(self):
        return self.probs.argmax(-1)

    def sample(self, sample_shape=()):
        # Gumbel-max: argmax(log p + Gumbel noise) is distributed as p, from uniforms of
        # distml's seeded generator; log p is -inf where p is 0, so those never come out
        shape = tuple(self._extended_shape(sample_shape)) + (self._num_events,)
        log_p = self.probs.detach().log().expand(shape)
        u = rand(shape, device=log_p.device)
        return (log_p - (-u.log()).log()).argmax(-1)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        value = value.long().unsqueeze(-1)
        shape = broadcast_shape(value.shape[:-1], self.logits.shape[:-1])
        index = value.expand(shape + (1,))
        return self.logits.expand(shape + (self._num_events,)).gather(-1, index).squeeze(-1)

    def entropy(self):
        # clamped so that 0 * log(0) is 0, not nan
        p_log_p = self.logits.clamp(min=FLOAT32_MIN) * self.probs
        return -p_log_p.sum(-1)

    def enumerate_support(self, expand=True):
        from .._tensor import arange
        values = arange(self._num_events).reshape((-1,) + (1,) * len(self._batch_shape))
        return values.expand(Size((self._num_events,) + tuple(self._batch_shape))) \
            if expand else values
