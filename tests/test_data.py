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


# -- WeightedRandomSampler, SubsetRandomSampler, ChainDataset, StackDataset -------------
from ember.utils.data import (ChainDataset, IterableDataset, StackDataset,  # noqa: E402
                              SubsetRandomSampler, WeightedRandomSampler)


def _gen(seed):
    g = ember.Generator()
    g.manual_seed(seed)
    return g


def test_weighted_sampler_with_replacement_follows_the_weights():
    w = [1.0, 2.0, 3.0, 0.0, 4.0]
    n = 20000
    s = WeightedRandomSampler(w, n, generator=_gen(0))
    assert len(s) == n
    got = list(s)
    counts = np.bincount(got, minlength=5) / n
    # 5 standard deviations of a frequency from 20000 draws is below 0.018
    np.testing.assert_allclose(counts, np.array(w) / sum(w), atol=0.02)
    assert counts[3] == 0
    assert got == list(WeightedRandomSampler(w, n, generator=_gen(0)))
    assert got != list(WeightedRandomSampler(w, n, generator=_gen(1)))
    assert all(isinstance(i, int) for i in got[:5])


def test_weighted_sampler_without_replacement():
    w = ember.tensor([0.5, 0.0, 4.0, 1.0])  # a tensor of weights works too
    s = WeightedRandomSampler(w, 3, replacement=False, generator=_gen(3))
    draws = [list(s) for _ in range(300)]  # a new draw each epoch
    assert all(sorted(d) == [0, 2, 3] for d in draws)
    first = np.bincount([d[0] for d in draws], minlength=4) / len(draws)
    assert first[2] > 0.6 and first[0] < 0.2  # 4/5.5 and 0.5/5.5 expected
    assert len({tuple(d) for d in draws}) > 1
    # past the non-zero weights, zero-weight indices come last (as torch.multinomial)
    assert list(WeightedRandomSampler(w, 4, replacement=False))[-1] == 1
    with pytest.raises(Exception, match="without replacement"):
        list(WeightedRandomSampler(w, 5, replacement=False))


@pytest.mark.parametrize("kw,pattern", [
    ({"num_samples": 0}, "num_samples should be a positive integer value"),
    ({"num_samples": True}, "num_samples should be a positive integer value"),
    ({"num_samples": 3, "replacement": 1}, "replacement should be a boolean value"),
    ({"num_samples": 3, "weights": [[1.0, 2.0]]}, "weights should be a 1d sequence"),
])
def test_weighted_sampler_rejects_bad_arguments(kw, pattern):
    kw = {"weights": [1.0, 2.0], **kw}
    with pytest.raises(ValueError, match=pattern):
        WeightedRandomSampler(**kw)


def test_weighted_sampler_draws_on_the_generators_device():
    g = ember.Generator(device="reference")
    g.manual_seed(0)
    got = list(WeightedRandomSampler([0.0, 1.0, 1.0], 50, generator=g))
    assert set(got) == {1, 2}


def test_subset_random_sampler():
    idx = [10, 11, 12, 13, 14, 15]
    s = SubsetRandomSampler(idx, generator=_gen(0))
    orders = [list(s) for _ in range(20)]
    assert all(sorted(o) == idx for o in orders) and len(s) == 6
    assert len({tuple(o) for o in orders}) > 1
    again = SubsetRandomSampler(idx, generator=_gen(0))
    assert [list(again) for _ in range(20)] == orders
    dl = DataLoader(make_ds(20), batch_size=4, sampler=SubsetRandomSampler(idx))
    assert sorted(np.concatenate([b[1].numpy() for b in dl]).tolist()) == idx


class _Stream(IterableDataset):
    def __init__(self, start, n):
        self.start, self.n = start, n

    def __iter__(self):
        return iter(range(self.start, self.start + self.n))

    def __len__(self):
        return self.n


def test_chain_dataset():
    ds = ChainDataset([_Stream(0, 3), _Stream(10, 2)])
    assert list(ds) == [0, 1, 2, 10, 11] and len(ds) == 5
    assert list(ds) == [0, 1, 2, 10, 11]  # iterable again
    batches = list(DataLoader(ds, batch_size=2))
    assert [b.tolist() for b in batches] == [[0, 1], [2, 10], [11]]
    with pytest.raises(TypeError, match="only supports IterableDataset"):
        list(ChainDataset([_Stream(0, 1), make_ds(2)]))


def test_stack_dataset_matches_torch():
    torch = pytest.importorskip("torch")
    a, b = list(range(5)), [f"s{i}" for i in range(5)]
    ds = StackDataset(a, b)
    tds = torch.utils.data.StackDataset(a, b)
    assert len(ds) == len(tds) == 5
    assert [ds[i] for i in range(5)] == [tds[i] for i in range(5)]
    named = StackDataset(x=a, y=b)
    tnamed = torch.utils.data.StackDataset(x=a, y=b)
    assert named[3] == tnamed[3] == {"x": 3, "y": "s3"}
    assert named.__getitems__([4, 0]) == tnamed.__getitems__([4, 0])
    assert ds.__getitems__([1, 2]) == tds.__getitems__([1, 2])
    batch = next(iter(DataLoader(StackDataset(x=make_ds(4), i=list(range(4))),
                                 batch_size=4)))
    assert batch["i"].tolist() == [0, 1, 2, 3] and batch["x"][1].tolist() == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="Size mismatch between datasets"):
        StackDataset(a, b[:3])
    with pytest.raises(ValueError, match="but both types are given"):
        StackDataset(a, y=b)
    with pytest.raises(ValueError, match="At least one dataset"):
        StackDataset()


def test_random_sampler_with_replacement_reaches_every_index():
    """Indices drawn as integers: ``float32 u * n`` has 2**24 values, so over 2**26
    items every draw was a multiple of 4 (a quarter of the data never sampled)."""
    g = ember.Generator().manual_seed(0)
    drawn = np.array(list(RandomSampler(range(2 ** 26), replacement=True,
                                        num_samples=2000, generator=g)))
    assert drawn.min() >= 0 and drawn.max() < 2 ** 26
    assert (drawn % 4 != 0).mean() > 0.6  # 0.75 expected


def test_permutation_is_unbiased_for_many_items():
    """float32 sort keys collide among thousands of items and a stable sort kept the
    colliding ones in order; randperm's float64 keys do not."""
    g = ember.Generator().manual_seed(1)
    n = 1_000_000
    perm = np.array(list(RandomSampler(range(n), generator=g)))
    assert np.array_equal(np.sort(perm), np.arange(n))
    # neighbours in increasing order: half of them in a fair shuffle (standard
    # deviation 0.0005 here); the float32 keys' collisions made it 0.5045
    assert abs((perm[1:] > perm[:-1]).mean() - 0.5) < 0.002
    sub = list(SubsetRandomSampler(list(range(10, 20)), generator=g))
    assert sorted(sub) == list(range(10, 20))
