"""``ember.utils.data``: datasets, samplers and the ``DataLoader``."""

from __future__ import annotations

from .dataloader import DataLoader, default_collate
from .dataset import ConcatDataset, Dataset, Subset, TensorDataset, random_split
from .distributed import DistributedSampler
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = ["Dataset", "TensorDataset", "Subset", "ConcatDataset", "random_split",
           "Sampler", "SequentialSampler", "RandomSampler", "BatchSampler",
           "DistributedSampler", "DataLoader", "default_collate"]
