"""torch.utils.data: datasets, samplers and DataLoader (single process), in torch's module
layout (dataset, sampler, dataloader, distributed)."""
from ...random import Generator
from .collate import default_collate
from .dataloader import DataLoader, get_worker_info
from .dataset import ConcatDataset, Dataset, Subset, TensorDataset, random_split
from .distributed import DistributedSampler
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler, \
    SubsetRandomSampler, WeightedRandomSampler

__all__ = ["Dataset", "TensorDataset", "Subset", "ConcatDataset", "random_split", "Sampler",
           "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler",
           "BatchSampler", "DistributedSampler", "DataLoader", "default_collate",
           "get_worker_info", "Generator"]
