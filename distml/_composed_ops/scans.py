"""cumsum / cumprod as a Hillis-Steele scan: log2(n) steps of "shift by 2**k along the dim
and combine", each a cat + elementwise op, so every backend and autograd have it (also
through zeros in cumprod, which a division-based gradient would get wrong)."""
from .._tensor import cat, full, where
from .._tensor.shapes import _normalize_dim


def _scan(x, dim, combine, identity):
    if x.ndim == 0:
        return x.clone()
    dim = _normalize_dim(dim, x.ndim)
    n = x.shape[dim]
    out = x
    step = 1
    while step < n:
        pad_shape = list(x.shape)
        pad_shape[dim] = step
        pad = full(pad_shape, identity, dtype=x.dtype, device=x.device)
        shifted = cat([pad, out.narrow(dim, 0, n - step)], dim)
        out = combine(out, shifted)
        step *= 2
    return out


def _scan_dtype(x, dtype):
    if dtype is not None:
        return x.type(dtype)
    return x.long() if not x.dtype.is_floating_point else x  # bool/int -> int64, as torch


class ScanOps:

    def cumsum(self, dim, dtype=None):
        return _scan(_scan_dtype(self, dtype), dim, lambda a, b: a + b, 0)

    def cumprod(self, dim, dtype=None):
        return _scan(_scan_dtype(self, dtype), dim, lambda a, b: a * b, 1)

    def logcumsumexp(self, dim):
        m = self.detach().amax(dim, keepdim=True) if self.numel() else self.detach()
        m = where(m.isinf(), m * 0, m)
        return (self - m).exp().cumsum(dim).log() + m

    def cumsum_(self, dim, dtype=None):
        return self._assign(self.cumsum(dim, dtype))


FREE = ("cumsum", "cumprod", "logcumsumexp")
