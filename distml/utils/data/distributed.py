"""torch.utils.data.distributed.DistributedSampler: each of num_replicas processes
(rank 0 .. num_replicas - 1) takes every num_replicas-th index of one shared order.

distml has no torch.distributed process group to ask for the world size and rank, so both
must be given. The order is the same in every process for a given seed and epoch."""
import math

from ...random import Generator
from ..._tensor import randperm
from .sampler import Sampler


class DistributedSampler(Sampler):
    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0,
                 drop_last=False):
        if num_replicas is None or rank is None:
            raise ValueError("DistributedSampler: pass num_replicas and rank explicitly "
                             "(distml has no torch.distributed process group to read them "
                             "from)")
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset, self.num_replicas, self.rank = dataset, num_replicas, rank
        self.shuffle, self.seed, self.drop_last, self.epoch = shuffle, seed, drop_last, 0
        n = len(dataset)
        if drop_last and n % num_replicas:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def __iter__(self):
        n = len(self.dataset)
        if self.shuffle:
            order = randperm(n, generator=Generator(self.seed + self.epoch)).tolist()
        else:
            order = list(range(n))
        if self.drop_last:
            order = order[:self.total_size]
        else:  # pad by repeating from the start so every replica gets as many
            pad = self.total_size - n
            order += (order * math.ceil(pad / n))[:pad] if pad else []
        return iter(order[self.rank:self.total_size:self.num_replicas])

    def __len__(self):
        return self.num_samples

    def set_epoch(self, epoch):
        """A new shared order each epoch (call before iterating, as with torch)."""
        self.epoch = epoch
