"""multinomial and bernoulli from the counter-based generator (distml/random.py), so
distml.manual_seed fixes them on every backend.

With replacement: inverse CDF, composed on the device (count the CDF entries at or below
each uniform draw). Without replacement: the exponential race (draw E_i / p_i per
category, keep the num_samples smallest), whose order is one host-side sort."""
from .._tensor import Tensor, rand, randn
from .._tensor.shapes import broadcast_shapes
from ._util import on_host


def _check_probs(p):
    if on_host(p):
        values = p.detach().reshape(-1).tolist()
        if any(v != v or v in (float("inf"), float("-inf")) or v < 0 for v in values):
            raise RuntimeError("probability tensor contains either `inf`, `nan` or element "
                               "< 0")
        n = p.shape[-1]
        for r in range(len(values) // n if n else 0):
            if sum(values[r * n:(r + 1) * n]) <= 0:
                raise RuntimeError("invalid multinomial distribution (sum of probabilities "
                                   "<= 0)")


class SamplingOps:

    def multinomial(self, num_samples, replacement=False, *, generator=None):
        if self.ndim not in (1, 2):
            raise RuntimeError(f"prob_dist must be 1 or 2 dim, got {self.ndim}")
        if not self.dtype.is_floating_point:
            raise RuntimeError(f"multinomial only supports floating-point dtypes for input, "
                               f"got: {self.dtype}")
        if num_samples <= 0:
            raise RuntimeError("cannot sample n_sample <= 0 samples")
        p = self.detach()
        p2 = p.reshape(-1, p.shape[-1])
        rows, n = p2.shape
        if not replacement and num_samples > n:
            raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                               "replacement")
        _check_probs(p2)
        if replacement:
            cdf = p2.cumsum(-1)
            cdf = cdf / cdf[:, -1:]  # the last entry is exactly 1
            u = rand(rows, num_samples, generator=generator, device=self.device)
            picked = (cdf.unsqueeze(1) <= u.unsqueeze(-1)).long().sum(-1).clamp(max=n - 1)
        else:
            u = rand(rows, n, generator=generator, device=self.device)
            race = -(1.0 - u).log() / p2  # exponential(1) / p; p == 0 gives +inf: last
            picked = race.topk(num_samples, -1, largest=False).indices
        return picked.reshape(num_samples) if self.ndim == 1 else picked

    def bernoulli(self, p=None, *, generator=None):
        """torch.bernoulli(input): 1 with probability input (or p), else 0, as input's dtype."""
        prob = self.detach() if p is None else p
        u = rand(tuple(self.shape), generator=generator, device=self.device)
        return (u < prob).type(self.dtype)


def multinomial(input, num_samples, replacement=False, *, generator=None, out=None):
    if out is not None:
        raise NotImplementedError("multinomial(out=...) is not supported")
    return input.multinomial(num_samples, replacement, generator=generator)


def bernoulli(input, p=None, *, generator=None):
    return input.bernoulli(p, generator=generator)


def normal(mean, std=1.0, size=None, *, generator=None, dtype=None, device=None):
    """torch.normal: tensor mean/std (broadcast) or floats with a size."""
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        ref = mean if isinstance(mean, Tensor) else std
        shape = broadcast_shapes(tuple(getattr(mean, "shape", ())),
                                   tuple(getattr(std, "shape", ())))
        z = randn(shape, generator=generator, device=ref.device)
        return z * std + mean
    if size is None:
        raise TypeError("normal(): with float mean and std, give a size")
    return randn(size, generator=generator, dtype=dtype, device=device) * std + mean
