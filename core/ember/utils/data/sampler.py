"""Samplers: which indices a ``DataLoader`` visits, in which order."""

from __future__ import annotations

from collections.abc import Iterator, Sequence, Sized

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler"]


def _permutation(n: int, generator=None) -> list[int]:
    """A random permutation of ``range(n)`` from an ember generator (the CPU default
    generator when none is given), so ``ember.manual_seed`` makes shuffling
    reproducible."""
    from ...ops import randperm
    from ...random import default_generator
    if n == 0:
        return []
    gen = generator if generator is not None else default_generator("cpu")
    # randperm's float64 keys: float32 ones collide among ~2**12 items, and a stable
    # sort then keeps the colliding items in order (a biased permutation)
    return randperm(n, generator=gen, device=gen.device).cpu().tolist()


class Sampler:
    """Base class: an iterable of dataset indices."""

    def __init__(self, data_source: Sized | None = None) -> None:
        pass

    def __iter__(self) -> Iterator[int]:
        raise NotImplementedError


class SequentialSampler(Sampler):
    """``0, 1, …, len(data_source) - 1``."""

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """A fresh random permutation each epoch (from ``generator``, or ember's default
    CPU generator), or ``num_samples`` draws with replacement."""

    def __init__(self, data_source: Sized, replacement: bool = False,
                 num_samples: int | None = None, generator=None) -> None:
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got "
                            f"replacement={replacement}")
        if num_samples is not None and (not isinstance(num_samples, int) or num_samples <= 0):
            raise ValueError(f"num_samples should be a positive integer value, but got "
                             f"num_samples={num_samples}")

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        n = len(self.data_source)
        if self.replacement:
            from ...ops import randint
            from ...random import default_generator
            gen = self.generator if self.generator is not None else default_generator("cpu")
            # integers drawn as such: float32 u * n reaches only 2**24 of the indices
            # (every 4th of 2**26 items)
            drawn = randint(0, n, (self.num_samples,), generator=gen, device=gen.device)
            return iter(drawn.cpu().tolist())
        perm = []
        while len(perm) < self.num_samples:
            perm += _permutation(n, self.generator)
        return iter(perm[:self.num_samples])

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in a fresh random order each epoch (from ``generator``,
    or ember's default CPU generator)."""

    def __init__(self, indices: Sequence[int], generator=None) -> None:
        self.indices = indices
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        for i in _permutation(len(self.indices), self.generator):
            yield self.indices[i]

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices of ``range(len(weights))`` drawn with probabilities
    proportional to ``weights`` (which need not sum to one), with or without
    ``replacement``, from ``generator`` (or ember's default CPU generator): PyTorch's
    ``multinomial`` draw. Without replacement ``num_samples`` cannot exceed the number
    of non-zero weights."""

    def __init__(self, weights: Sequence[float], num_samples: int,
                 replacement: bool = True, generator=None) -> None:
        from ... import dtypes
        from ...tensor import Tensor, tensor
        if isinstance(num_samples, bool) or not isinstance(num_samples, int) \
                or num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got "
                             f"num_samples={num_samples}")
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got "
                             f"replacement={replacement}")
        w = weights.detach().to(dtypes.float64) if isinstance(weights, Tensor) \
            else tensor(weights, dtype=dtypes.float64)
        if w.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have "
                             f"shape {tuple(w.shape)}")
        self.weights = w
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        from ...torch_functions.sampling import multinomial
        w = self.weights
        if self.generator is not None and w.device != self.generator.device:
            w = w.to(self.generator.device)
        drawn = multinomial(w, self.num_samples, self.replacement, generator=self.generator)
        return iter(drawn.cpu().tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Groups another sampler's indices into lists of ``batch_size``."""

    def __init__(self, sampler, batch_size: int, drop_last: bool) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got "
                             f"drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list[int]]:
        batch = []
        for i in self.sampler:
            batch.append(i)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
