"""Reductions composed from sum and amax: mean, var, std, logsumexp, softmax, log_softmax,
norm."""
import math

from .._tensor import where
from .._tensor.shapes import _normalize_dims


class ReductionOps:
    def mean(self, dim=None, keepdim=False):
        if not self.dtype.is_floating_point:
            raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be "
                               f"floating point, but got {self.dtype}. Use .float() first.")
        axes = _normalize_dims(dim, self.ndim)
        count = math.prod(self.shape[a] for a in axes)
        return self.sum(dim=axes, keepdim=keepdim) / max(count, 1) if count else \
            self.sum(dim=axes, keepdim=keepdim) * math.nan

    def var(self, dim=None, unbiased=None, keepdim=False, correction=None):
        if correction is None:
            correction = 1 if unbiased is None or unbiased else 0
        axes = _normalize_dims(dim, self.ndim)
        count = math.prod(self.shape[a] for a in axes)
        centered = self - self.mean(dim=axes, keepdim=True)
        return (centered * centered).sum(dim=axes, keepdim=keepdim) / max(count - correction, 0)

    def std(self, dim=None, unbiased=None, keepdim=False, correction=None):
        v = self.var(dim, unbiased, keepdim, correction)
        # torch's std backward is 0 where std == 0; sqrt's would give 0 * inf = nan there
        zero = v == 0
        return where(zero, v._const(0.0), where(zero, v._const(1.0), v).sqrt())

    def logsumexp(self, dim, keepdim=False):
        axes = _normalize_dims(dim, self.ndim)
        m = self.detach().amax(axes, keepdim=True)
        m = where(m.isinf(), m._const(0.0), m)  # all -inf rows: avoid inf - inf
        out = (self - m).exp().sum(axes, keepdim=True).log() + m
        return out if keepdim else out.squeeze(axes)

    def softmax(self, dim):
        if self.numel() == 0:  # nothing to normalise (torch returns the empty shape)
            return self * 1
        e = (self - self.detach().amax(dim, keepdim=True)).exp()
        return e / e.sum(dim, keepdim=True)

    def log_softmax(self, dim):
        if self.numel() == 0:
            return self * 1
        return self - self.logsumexp(dim, keepdim=True)

    def norm(self, p=2, dim=None, keepdim=False):
        if p in ("fro", 2):
            return (self * self).sum(dim, keepdim).sqrt()
        if p == 1:
            return self.abs().sum(dim, keepdim)
        if p == math.inf:
            return self.abs().amax(dim, keepdim)
        return (self.abs() ** p).sum(dim, keepdim) ** (1.0 / p)
