"""``ember.utils.data``: datasets, samplers and the ``DataLoader``."""

from __future__ import annotations

from .dataloader import DataLoader, default_collate
from .dataset import (ConcatDataset, Dataset, IterableDataset, Subset, TensorDataset,
                      random_split)
from .distributed import DistributedSampler
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler
from .worker import WorkerInfo, get_worker_info

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset",
           "random_split", "Sampler", "SequentialSampler", "RandomSampler", "BatchSampler",
           "DistributedSampler", "DataLoader", "default_collate", "get_worker_info",
           "WorkerInfo"]
