"""ember.utils.data: datasets, samplers, DataLoader batching, seeded shuffling,
drop_last and custom collate functions."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.utils.data import (BatchSampler, ConcatDataset, DataLoader, Dataset,
                              RandomSampler, SequentialSampler, Subset, TensorDataset,
                              default_collate, random_split)


def make_ds(n=10):
    x = ember.arange(n * 2, dtype=ember.float32).reshape(n, 2)
    y = ember.arange(n)
    return TensorDataset(x, y)


def test_tensor_dataset():
    ds = make_ds()
    assert len(ds) == 10
    x, y = ds[3]
    np.testing.assert_array_equal(x.numpy(), [6.0, 7.0])
    assert y.item() == 3
    with pytest.raises(ValueError, match="Size mismatch"):
        TensorDataset(ember.zeros(3, 2), ember.zeros(4))


@pytest.mark.parametrize("drop_last,sizes", [(False, [4, 4, 2]), (True, [4, 4])])
def test_batches_in_order(drop_last, sizes):
    dl = DataLoader(make_ds(), batch_size=4, drop_last=drop_last)
    batches = list(dl)
    assert [len(b[1]) for b in batches] == sizes and len(dl) == len(sizes)
    got = np.concatenate([b[1].numpy() for b in batches])
    np.testing.assert_array_equal(got, np.arange(sum(sizes)))
    assert batches[0][0].shape == (4, 2) and batches[0][1].dtype is ember.int64


def test_shuffle_is_a_permutation_reproducible_with_a_seeded_generator():
    def order(seed):
        g = ember.Generator().manual_seed(seed)
        dl = DataLoader(make_ds(), batch_size=3, shuffle=True, generator=g)
        return np.concatenate([b[1].numpy() for b in dl])
    a, b, c = order(1), order(1), order(2)
    np.testing.assert_array_equal(a, b)
    assert sorted(a.tolist()) == list(range(10))
    assert not np.array_equal(a, c)
    assert not np.array_equal(a, np.arange(10))


def test_shuffle_changes_every_epoch_and_follows_manual_seed():
    dl = DataLoader(make_ds(), batch_size=10, shuffle=True)
    ember.manual_seed(7)
    e1, e2 = (next(iter(dl))[1].numpy() for _ in range(2))
    assert not np.array_equal(e1, e2)
    ember.manual_seed(7)
    np.testing.assert_array_equal(next(iter(dl))[1].numpy(), e1)


class Squares(Dataset):
    def __len__(self):
        return 5

    def __getitem__(self, i):
        return {"x": np.array([i, i * i], dtype=np.float32), "i": i, "name": f"s{i}"}


def test_default_collate_nested_and_custom_collate():
    batch = next(iter(DataLoader(Squares(), batch_size=3)))
    assert batch["x"].shape == (3, 2) and batch["i"].tolist() == [0, 1, 2]
    assert batch["name"] == ["s0", "s1", "s2"]
    dl = DataLoader(Squares(), batch_size=2, collate_fn=lambda items: [d["i"] for d in items])
    assert list(dl) == [[0, 1], [2, 3], [4]]
    stacked = default_collate([ember.ones(2), ember.zeros(2)])
    np.testing.assert_array_equal(stacked.numpy(), [[1, 1], [0, 0]])
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([ember.ones(2), ember.ones(3)])


def test_batch_size_none_yields_samples():
    items = list(DataLoader(make_ds(3), batch_size=None))
    assert len(items) == 3 and items[1][1].item() == 1


def test_samplers():
    assert list(SequentialSampler(range(4))) == [0, 1, 2, 3]
    g = ember.Generator().manual_seed(0)
    perm = list(RandomSampler(range(6), generator=g))
    assert sorted(perm) == list(range(6))
    draws = list(RandomSampler(range(3), replacement=True, num_samples=50, generator=g))
    assert len(draws) == 50 and set(draws) <= {0, 1, 2}
    assert list(BatchSampler(range(5), 2, False)) == [[0, 1], [2, 3], [4]]
    assert len(BatchSampler(range(5), 2, True)) == 2
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        BatchSampler(range(5), 0, False)


def test_subset_concat_random_split():
    ds = make_ds()
    assert Subset(ds, [2, 5])[1][1].item() == 5
    cat = ConcatDataset([ds, make_ds(3)])
    assert len(cat) == 13 and cat[11][1].item() == 1 and cat[-1][1].item() == 2
    a, b = random_split(ds, [7, 3], generator=ember.Generator().manual_seed(0))
    idx = sorted(a.indices + b.indices)
    assert idx == list(range(10)) and len(a) == 7
    c, d = random_split(ds, [0.5, 0.5])
    assert len(c) == len(d) == 5
    with pytest.raises(ValueError, match="Sum of input lengths"):
        random_split(ds, [3, 3])


def test_loader_argument_errors():
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        DataLoader(make_ds(), sampler=SequentialSampler(range(10)), shuffle=True)
    with pytest.raises(ValueError, match="num_workers option should be non-negative"):
        DataLoader(make_ds(), num_workers=-1)
