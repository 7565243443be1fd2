"""torch.utils.data.sampler: the orders in which a DataLoader visits a dataset's indices."""
import bisect
import itertools
import math

from ..._tensor import Tensor, rand, randint, randperm, tensor

_BLOCK = 4096  # indices drawn at a time where the sampler is lazy


class Sampler:
    def __iter__(self):
        raise NotImplementedError


class SequentialSampler(Sampler):
    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """Indices in random order from `generator` (or distml's default one): a fresh
    permutation every epoch, or with `replacement` num_samples independent draws. Without
    replacement, num_samples beyond len(data_source) take further permutations."""

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        self.data_source, self.replacement = data_source, replacement
        self._num_samples, self.generator = num_samples, generator
        if not isinstance(replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got "
                            f"replacement={replacement}")
        n = self.num_samples
        if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got "
                             f"num_samples={n}")

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        n, wanted = len(self.data_source), self.num_samples
        if self.replacement:  # drawn in blocks: num_samples may be huge (minGPT: 1e10)
            for start in range(0, wanted, _BLOCK):
                size = min(_BLOCK, wanted - start)
                yield from randint(n, size=(size,), generator=self.generator).tolist()
            return
        for _ in range(wanted // n):
            yield from randperm(n, generator=self.generator).tolist()
        if wanted % n:
            yield from randperm(n, generator=self.generator).tolist()[:wanted % n]

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    def __init__(self, indices, generator=None):
        self.indices, self.generator = list(indices), generator

    def __iter__(self):
        order = randperm(len(self.indices), generator=self.generator).tolist()
        return iter(self.indices[i] for i in order)

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """num_samples indices drawn with probability proportional to `weights` (with
    replacement by default; without it, each index at most once). Drawn on the host from
    uniforms of `generator` (or distml's default one)."""

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        if isinstance(num_samples, bool) or not isinstance(num_samples, int) \
                or num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got "
                             f"num_samples={num_samples}")
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got "
                             f"replacement={replacement}")
        weights = weights if isinstance(weights, Tensor) else tensor(weights)
        if weights.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape "
                             f"{tuple(weights.shape)}")
        self.weights = [float(w) for w in weights.tolist()]
        if any(w < 0 for w in self.weights):
            raise RuntimeError("invalid multinomial distribution (encountering probability "
                               "entry < 0)")
        if not sum(self.weights) > 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        if not replacement and num_samples > len(self.weights):
            raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                               "replacement")
        self.num_samples, self.replacement, self.generator = num_samples, replacement, generator

    def __iter__(self):
        w = self.weights
        if self.replacement:
            cdf = list(itertools.accumulate(w))
            last = max(i for i, x in enumerate(w) if x > 0)
            return self._draw_with_replacement(cdf, last)
        # without replacement: the num_samples largest keys log(u) / w (Efraimidis-Spirakis)
        u = rand(len(w), generator=self.generator).tolist()
        keys = [math.log(x) / wi if wi > 0 and x > 0 else -math.inf for x, wi in zip(u, w)]
        order = sorted((i for i in range(len(w)) if w[i] > 0), key=lambda i: -keys[i])
        order += [i for i in range(len(w)) if w[i] == 0]  # as torch, once the rest are out
        return iter(order[:self.num_samples])

    def _draw_with_replacement(self, cdf, last):
        for start in range(0, self.num_samples, _BLOCK):
            u = rand(min(_BLOCK, self.num_samples - start), generator=self.generator).tolist()
            # bisect_right skips zero-weight indices (their cdf equals their predecessor's)
            yield from (min(bisect.bisect_right(cdf, x * cdf[-1]), last) for x in u)

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    def __init__(self, sampler, batch_size, drop_last):
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size}")
        self.sampler, self.batch_size, self.drop_last = sampler, batch_size, drop_last

    def __iter__(self):
        batch = []
        for i in self.sampler:
            batch.append(i)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
