"""Indexing, assignment, gather/scatter, masks and sorting against PyTorch, with the
views-vs-copies rule, version counters, the meta device and error messages."""

import numpy as np
import pytest

import ember
from _oracle import (assert_meta_agrees, assert_same, assert_same_outcome, outcome, pair,
                     sample, torch)

pytestmark = pytest.mark.torch

X = sample((3, 4, 5), "float32")

ADVANCED = [
    ("int_tensor", lambda m: (m.tensor([2, 0, 2]),)),
    ("negative_ints", lambda m: (m.tensor([-1, 0]),)),
    ("list", lambda m: ([0, 2],)),
    ("two_tensors", lambda m: (m.tensor([0, 1]), m.tensor([3, 2]))),
    ("broadcast_tensors", lambda m: (m.tensor([[0], [2]]), m.tensor([1, 2, 3]))),
    ("slice_then_tensor", lambda m: (slice(None), m.tensor([1, 3]))),
    ("int_then_tensor", lambda m: (0, slice(None), m.tensor([1, 2]))),
    ("separated_tensors", lambda m: (m.tensor([0, 1]), slice(1, 3), m.tensor([2, 4]))),
    ("ellipsis_tensor", lambda m: (Ellipsis, m.tensor([0, 4]))),
    ("none_and_tensor", lambda m: (None, m.tensor([1]), slice(None, 2))),
    ("zero_dim_tensor", lambda m: (m.tensor(1),)),
    ("bool_mask_full", lambda m: (m.tensor(X) > 0,)),
    ("bool_mask_2d", lambda m: (m.tensor(X[:, :, 0]) > 0,)),
    ("bool_mask_after_slice", lambda m: (slice(None), m.tensor([True, False, True, True]))),
    ("bool_list", lambda m: ([True, False, True],)),
    ("empty_index", lambda m: (m.tensor([], dtype=m.int64),)),
]


@pytest.mark.parametrize(("name", "index"), ADVANCED, ids=[a[0] for a in ADVANCED])
def test_advanced_indexing_matches_torch_and_copies(name, index):
    e, t = pair(X.copy())
    got = e[index(ember)]
    assert_same(got, t[index(torch)])
    assert got._base is None  # a copy, not a view
    assert not np.shares_memory(got.numpy(), e.numpy())


@pytest.mark.parametrize(("name", "index"), ADVANCED, ids=[a[0] for a in ADVANCED])
def test_advanced_setitem_matches_torch(name, index):
    e, t = pair(X.copy())
    v0 = e._version
    e[index(ember)] = -7.0
    t[index(torch)] = -7.0
    assert_same(e, t)
    assert e._version == v0 + 1
    shape = tuple(t[index(torch)].shape)
    vals = sample(shape, "float32", seed=4)
    ev, tv = pair(vals)
    e[index(ember)] = ev
    t[index(torch)] = tv
    assert_same(e, t)


BASIC = [1, -1, slice(1, None), (0, 1), (slice(None), 2), (Ellipsis, 1), (None, 1),
         (1, None, slice(None, None, 2)), (slice(0, 0),), (slice(-100, 100),), ()]


@pytest.mark.parametrize("index", BASIC, ids=[repr(b) for b in BASIC])
def test_basic_indexing_gives_views(index):
    e, t = pair(X.copy())
    v = e[index]
    assert_same(v, t[index])
    assert v._base is e
    assert np.shares_memory(v.numpy(), e.numpy()) or v.numel() == 0
    assert_meta_agrees(lambda x: x[index], e)


@pytest.mark.parametrize("index", BASIC, ids=[repr(b) for b in BASIC])
def test_basic_setitem(index):
    e, t = pair(X.copy())
    view = e[1:]  # a view sharing the version counter
    v0 = view._version
    e[index] = 3.5
    t[index] = 3.5
    assert_same(e, t)
    assert view._version == e._version == v0 + 1
    shape = tuple(t[index].shape)
    ev, tv = pair(sample(shape[-1:] if shape else (), "float32", seed=9))
    e[index] = ev  # broadcasting
    t[index] = tv
    assert_same(e, t)


def test_index_types_accepted():
    e, t = pair(X.copy())
    assert_same(e[np.int64(1)], t[1])
    assert_same(e[np.array([0, 2])], t[np.array([0, 2])])
    assert_same(e[1:ember.tensor(3)], t[1:3])
    assert_same(e[e > 1], t[t > 1])
    assert_same(e[ember.tensor([0, 1], dtype=ember.int32)], t[torch.tensor([0, 1],
                                                                 dtype=torch.int32)])


def test_setitem_casts_values_and_keeps_dtype():
    e, t = pair(np.zeros((2, 3), np.int32))
    e[0] = 2.7
    t[0] = 2.7
    e[1, [0, 2]] = ember.tensor([1.9, -3.2])
    t[1, [0, 2]] = torch.tensor([1.9, -3.2]).to(torch.int32)  # PyTorch does not cast here
    e[:, 1] = [5, 6]
    t[:, 1] = torch.tensor([5, 6])
    assert_same(e, t)


def test_iteration_and_len():
    e, t = pair(X.copy())
    assert len(e) == 3
    for a, b in zip(e, t, strict=True):
        assert_same(a, b)


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda e: e[ember.tensor([3])], IndexError, r"index 3 is out of bounds for axis 0"),
    (lambda e: e[ember.tensor([0.5])], ember.OpError, r"index\(\): argument 'indices\[0\]' "
                                                      r"must be an integer tensor"),
    (lambda e: e[[1.5]], IndexError, r"tensors used as indices must be long, int or bool"),
    (lambda e: e[ember.ones(2, 2, dtype=ember.bool)], IndexError,
     r"the shape of the mask \[2, 2\] at index 0 does not match the shape of the indexed "
     r"tensor \[3, 4\]"),
    (lambda e: e["a"], IndexError, r"only integers, slices"),
    (lambda e: e[..., ...], IndexError, r"an index can only have a single ellipsis"),
    (lambda e: e[3], IndexError, r"index 3 is out of bounds for dimension 0 with size 3"),
    (lambda e: e[0, -5], IndexError, r"index -5 is out of bounds for dimension 1 with size 4"),
    (lambda e: e[0, 0, 0, 0], IndexError, r"too many indices for tensor of dimension 3"),
    (lambda e: e[::0], ember.OpError, r"slice step must be greater than zero"),
    (lambda e: e[ember.tensor([0, 1]), ember.tensor([0, 1, 2])], IndexError,  # as PyTorch
     r"index\(\): the shape \[3\] of argument 'indices\[1\]' can't be broadcast"),
])
def test_bad_indices_raise_clear_errors(call, error, message):
    e = ember.tensor(X)
    for _ in range(2):  # and again: a failed validation must not be remembered as valid
        with pytest.raises(error, match=message):
            call(e)


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda e: e.__setitem__(0, ember.ones(3)), ember.OpError,
     r"copy_\(\): the shape \[3\] of argument 'src' can't be broadcast"),
    (lambda e: e.__setitem__(ember.tensor([0, 1]), ember.ones(3, 5)), ember.OpError,
     r"index_put_\(\): shape mismatch: value tensor of shape \[3, 5\]"),
    (lambda e: e.__setitem__(5, 1.0), IndexError, r"index 5 is out of bounds"),
    (lambda e: e.__setitem__(ember.tensor([7]), 1.0), IndexError, r"index_put_\(\)"),
    (lambda e: e.__setitem__(0, "x"), TypeError, r"__setitem__\(\): can't assign a str"),
])
def test_failing_setitem_leaves_target_unchanged(call, error, message):
    e = ember.tensor(X)
    before = e.numpy().copy()
    v0 = e._version
    with pytest.raises(error, match=message):
        call(e)
    np.testing.assert_array_equal(e.numpy(), before)
    assert e._version == v0


def test_setitem_integer_overflow_is_rejected_before_writing():
    e = ember.zeros(3, dtype=ember.int8)
    with pytest.raises(ember.OpError, match=r"cannot be converted to type int8"):
        e[0] = 1000
    with pytest.raises(ember.OpError, match=r"cannot be converted to type int8"):
        e[[0, 1]] = 1000
    assert e.tolist() == [0, 0, 0]


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_gather(dim):
    e, t = pair(sample((3, 4), "float32"))
    idx = np.random.default_rng(1).integers(0, 3, size=(2, 3))
    ei, ti = pair(idx)
    assert_same(ember.gather(e, dim, ei), torch.gather(t, dim, ti))
    assert_same(e.T.gather(dim, ei), t.T.gather(dim, ti))
    assert_meta_agrees(lambda x, i: x.gather(dim, i), e, ei)


@pytest.mark.parametrize("dim", [0, 1])
def test_scatter_and_scatter_add(dim):
    e, t = pair(np.zeros((3, 4), np.float32))
    idx = np.array([[0, 1, 2, 0], [2, 0, 1, 1]])[:, :3]
    ei, ti = pair(idx)
    src, tsrc = pair(sample((2, 4), "float32", low=1))
    assert_same(ember.scatter(e, dim, ei, src), torch.scatter(t, dim, ti, tsrc))
    assert_same(e.scatter(dim, ei, 2.5), t.scatter(dim, ti, 2.5))
    assert_same(ember.scatter_add(e, dim, ei, src), torch.scatter_add(t, dim, ti, tsrc))
    assert_same(e.scatter(dim, ei, src, reduce="add"), t.scatter(dim, ti, tsrc, reduce="add"))
    v0 = e._version
    e.scatter_add_(dim, ei, src)
    t.scatter_add_(dim, ti, tsrc)
    assert_same(e, t)
    assert e._version == v0 + 1
    e.scatter_(dim, ei, src)
    t.scatter_(dim, ti, tsrc)
    assert_same(e, t)
    assert_meta_agrees(lambda x, i, s: x.scatter_add(dim, i, s), e, ei, src)


def test_scatter_add_accumulates_repeated_indices():
    e, t = pair(np.zeros(3, np.float64))
    ei, ti = pair(np.array([0, 0, 2, 0]))
    s, ts = pair(np.array([1.0, 2.0, 3.0, 4.0]))
    assert_same(e.scatter_add(0, ei, s), t.scatter_add(0, ti, ts))


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_index_select_and_index_add(dim):
    e, t = pair(sample((3, 4), "float32"))
    ei, ti = pair(np.array([2, 0, 2]))
    assert_same(ember.index_select(e, dim, ei), torch.index_select(t, dim, ti))
    src_shape = list(e.shape)
    src_shape[dim] = 3
    s, ts = pair(sample(tuple(src_shape), "float32", seed=3))
    assert_same(e.index_add(dim, ei, s, alpha=2), t.index_add(dim, ti, ts, alpha=2))
    e.index_add_(dim, ei, s)
    t.index_add_(dim, ti, ts)
    assert_same(e, t)


def test_index_put_accumulate():
    e, t = pair(np.zeros(4, np.float32))
    ei, ti = pair(np.array([1, 1, 3]))
    v, tv = pair(np.array([1.0, 2.0, 3.0], np.float32))
    e.index_put_((ei,), v, accumulate=True)
    t.index_put_((ti,), tv, accumulate=True)
    assert_same(e, t)
    assert_same(ember.index_put(e, (ei,), v), torch.index_put(t, (ti,), tv))


@pytest.mark.parametrize("dtype", ["float32", "int32", "bool"])
def test_masked_fill(dtype):
    e, t = pair(sample((3, 4), dtype))
    m, tm = pair(sample((4,), "bool", seed=2))
    value = True if dtype == "bool" else 2
    assert_same(e.masked_fill(m, value), t.masked_fill(tm, value))
    assert_same(e.masked_fill(m, ember.tensor(value)), t.masked_fill(tm, torch.tensor(value)))
    assert_same(e.masked_fill(m[None, None], value), t.masked_fill(tm[None, None], value))
    v0 = e._version
    e.masked_fill_(m, value)
    t.masked_fill_(tm, value)
    assert_same(e, t)
    assert e._version == v0 + 1
    assert_same(ember.masked_select(e, m), torch.masked_select(t, tm))


def test_masked_fill_errors():
    e = ember.zeros(2, 3, dtype=ember.int8)
    with pytest.raises(ember.OpError, match=r"masked_fill\(\): argument 'mask' must be a bool"):
        e.masked_fill(ember.ones(3), 1)
    with pytest.raises(ember.OpError, match=r"masked_fill\(\): value 1000 cannot be converted"):
        e.masked_fill(ember.ones(3, dtype=ember.bool), 1000)
    with pytest.raises(ember.OpError, match=r"masked_fill_\(\): output with shape \[2, 3\]"):
        e.masked_fill_(ember.ones(4, 2, 3, dtype=ember.bool), 1)
    assert e.tolist() == [[0, 0, 0], [0, 0, 0]]


def test_one_hot():
    e, t = pair(np.array([[0, 2], [1, 1]]))
    assert_same(ember.one_hot(e, 4), torch.nn.functional.one_hot(t, 4))
    assert_same(ember.one_hot(e), torch.nn.functional.one_hot(t))
    assert_meta_agrees(lambda x: ember.one_hot(x, 3), e)
    with pytest.raises(ember.OpError, match=r"one_hot\(\): class values must be smaller"):
        ember.one_hot(e, 2)
    with pytest.raises(ember.OpError, match=r"one_hot\(\): class values must be non-negative"):
        ember.one_hot(ember.tensor([-1]), 2)
    with pytest.raises(ember.OpError, match=r"one_hot\(\): argument 'self' must be an integer"):
        ember.one_hot(ember.ones(2), 2)


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("dim", [0, -1])
def test_sort_and_argsort(descending, dim):
    arr = np.array([[3.0, 1.0, np.nan, 1.0], [2.0, -np.inf, 2.0, 0.0]], np.float32)
    e, t = pair(arr)
    got = ember.sort(e, dim, descending, stable=True)
    want = torch.sort(t, dim=dim, descending=descending, stable=True)
    assert_same(got.values, want.values)
    assert_same(got.indices, want.indices)
    assert_same(e.argsort(dim, descending, stable=True),
                t.argsort(dim=dim, descending=descending, stable=True))
    assert_meta_agrees(lambda x: ember.sort(x, dim), e)


@pytest.mark.parametrize("largest", [True, False])
def test_topk(largest):
    e, t = pair(np.array([[5.0, 1.0, 4.0, 2.0], [0.0, 3.0, -1.0, 7.0]], np.float32))
    got = e.topk(2, largest=largest)
    want = t.topk(2, largest=largest)
    assert_same(got.values, want.values)
    assert_same(got.indices, want.indices)
    assert_same(list(ember.topk(e, 1, dim=0)), list(torch.topk(t, 1, dim=0)))
    with pytest.raises(ember.OpError, match=r"topk\(\): argument 'k' \(5\) is out of range"):
        e.topk(5)


@pytest.mark.parametrize("diagonal", [-1, 0, 2])
def test_tril_triu(diagonal):
    e, t = pair(sample((2, 3, 4), "float32"))
    assert_same(ember.tril(e, diagonal), torch.tril(t, diagonal))
    assert_same(e.triu(diagonal), t.triu(diagonal))
    b, tb = pair(sample((3, 3), "bool"))
    assert_same(b.tril(diagonal), tb.tril(diagonal))
    for op in ("tril", "triu"):
        od = ember.schema.get_op(op)
        np.testing.assert_array_equal(od.decomposition(e, diagonal).numpy(),
                                      getattr(ember, op)(e, diagonal).numpy())
    with pytest.raises(ember.OpError, match=r"tril\(\): argument 'self' must have at least 2"):
        ember.tril(ember.ones(3))


def test_nonzero_and_argwhere():
    e, t = pair(sample((3, 4), "int32"))
    assert_same(ember.nonzero(e), torch.nonzero(t))
    assert_same(ember.argwhere(e), torch.argwhere(t))
    assert_same(list(e.nonzero(as_tuple=True)), list(t.nonzero(as_tuple=True)))
    s, ts = pair(np.array(3))
    assert_same(list(s.nonzero(as_tuple=True)), list(ts.nonzero(as_tuple=True)))
    assert_same(s.nonzero(), ts.nonzero())
    with pytest.raises(ember.OpError, match=r"nonzero\(\): the output shape depends on the "
                                            r"data"):
        ember.nonzero(e.to("meta"))


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda e, i: e.gather(1, i.float()), ember.OpError, r"gather\(\): argument 'index' must be "
                                                         r"an integer tensor"),
    (lambda e, i: e.gather(1, i[0]), ember.OpError, r"gather\(\): argument 'index' must have "
                                                    r"the same number of dimensions"),
    (lambda e, i: e.gather(1, i + 10), IndexError, r"gather\(\): index 1[0-9] is out of bounds "
                                                   r"for dimension 1 with size 4"),
    (lambda e, i: e.gather(1, i - 5), IndexError, r"gather\(\): index -[0-9] is out of bounds"),
    (lambda e, i: e.gather(2, i), ember.OpError, r"gather\(\): argument 'dim' is out of range"),
    (lambda e, i: e.scatter(1, i, e.double()), ember.OpError, r"scatter\(\): expected 'self' "
                                                              r"and 'src' to have the same"),
    (lambda e, i: e.scatter(1, i, e, reduce="max"), ember.OpError, r"scatter\(\): argument "
                                                                   r"'reduce' must be"),
    (lambda e, i: e.scatter_add(1, i + 9, e), IndexError, r"scatter_add\(\): index"),
    (lambda e, i: e.index_select(0, i), ember.OpError, r"index_select\(\): argument 'index' "
                                                       r"must be a vector"),
    (lambda e, i: e.index_select(0, i[0] + 7), IndexError, r"index_select\(\): index"),
    (lambda e, i: e.index_add(0, i[0], e), ember.OpError, r"index_add\(\): argument 'source' "
                                                          r"must have shape"),
    (lambda e, i: e.sort(3), ember.OpError, r"sort\(\): argument 'dim' is out of range"),
])
def test_bad_arguments_raise_clear_errors(call, error, message):
    e = ember.tensor(sample((3, 4), "float32"))
    i = ember.tensor([[0, 1], [2, 3]])
    with pytest.raises(error, match=message):
        call(e, i)


def test_failing_scatter_inplace_leaves_target_unchanged():
    e = ember.zeros(2, 3)
    v0 = e._version
    with pytest.raises(IndexError):
        e.scatter_(1, ember.tensor([[0, 5]]), ember.ones(1, 2))
    with pytest.raises(IndexError):
        e.index_add_(0, ember.tensor([9]), ember.ones(1, 3))
    assert e.tolist() == [[0, 0, 0], [0, 0, 0]] and e._version == v0


_I = [[0, 2, 1], [1, 0, 0]]
DECOMPOSED = [
    ("gather", lambda e: (e, 1, ember.tensor(_I))),
    ("gather", lambda e: (e.T, 0, ember.tensor(_I).T)),
    ("gather", lambda e: (ember.tensor(2.0), 0, ember.tensor(0))),
    ("scatter", lambda e: (e, 1, ember.tensor(_I), e + 10)),
    ("scatter", lambda e: (e, 0, ember.tensor([[1, 0, 2, 0]]), e[:1] * 3)),
    ("scatter", lambda e: (e, 1, ember.tensor(_I), e + 1, {"reduce": "add"})),
    ("scatter_add", lambda e: (e, 1, ember.tensor([[0, 0, 3]]), e)),
    ("index_select", lambda e: (e, 1, ember.tensor([3, 0, 3]))),
    ("index_select", lambda e: (e, 0, ember.tensor(1))),
    ("index_add", lambda e: (e, 0, ember.tensor([2, 2]), e[:2], {"alpha": 0.5})),
    ("masked_fill", lambda e: (e, e > 0, -1.5)),
    ("masked_fill", lambda e: (e.int(), ember.tensor([True, False, True, False]), 7)),
    ("topk", lambda e: (e, 2, 1)),
    ("topk", lambda e: (e, 3, 0, False)),
    ("exp2", lambda e: (e,)),
    ("exp2", lambda e: (e.int(),)),
]


@pytest.mark.parametrize(("op", "make"), DECOMPOSED, ids=[d[0] for d in DECOMPOSED])
def test_decompositions_agree_with_native_kernels(op, make):
    """What backends without native kernels run gives what the CPU's kernels give."""
    e = ember.tensor(sample((3, 4), "float32"))
    od = ember.schema.get_op(op)
    assert "composite" in od.tags
    args = make(e)
    kw = args[-1] if isinstance(args[-1], dict) else {}
    args = args[:-1] if kw else args
    native = getattr(ember, op)(*args, **kw)
    decomposed = od.decomposition(*args, *kw.values())
    native = native if isinstance(native, tuple) else (native,)
    decomposed = decomposed if isinstance(decomposed, tuple) else (decomposed,)
    for n, d in zip(native, decomposed, strict=True):
        assert (d.dtype, d.shape) == (n.dtype, n.shape)
        np.testing.assert_allclose(d.numpy(), n.numpy(), rtol=1e-6)


@pytest.mark.parametrize(("op", "args"), [
    ("gather", (1, ember.tensor([[0, -1]]))), ("index_select", (0, ember.tensor([3]))),
    ("scatter_add", (1, ember.tensor([[4]]), ember.ones(1, 1))),
    ("index_add", (0, ember.tensor([-1]), ember.ones(1, 4))),
])
def test_decompositions_reject_out_of_range_indices(op, args):
    e = ember.zeros(3, 4)
    with pytest.raises(IndexError, match=rf"{op}\(\): index -?\d+ is out of bounds"):
        ember.schema.get_op(op).decomposition(e, *args)


def test_randperm_decomposition_is_a_permutation():
    p = ember.schema.get_op("randperm").decomposition(20)
    assert sorted(p.tolist()) == list(range(20)) and p.dtype is ember.int64


def test_setitem_records_gradients_like_torch():
    y, ty = ember.ones(3, requires_grad=True), torch.ones(3, requires_grad=True)
    z, tz = y * 2, ty * 2
    z[1] = 0.0
    tz[1] = 0.0
    z[ember.tensor([2])] = ember.tensor([4.0])
    tz[torch.tensor([2])] = torch.tensor([4.0])
    (z * ember.tensor([1.0, 2.0, 3.0])).sum().backward()
    (tz * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert_same(y.grad, ty.grad)


# --- issue 21: cases where ember raised (or answered differently) and PyTorch works ------

def _set(key, value, shape=(2, 3)):
    def run(m):
        x = m.zeros(*shape)
        x[key] = value(m) if callable(value) else value
        return x
    return run


_ISSUE21 = {
    "x[[]]": lambda m: m.arange(6.0).reshape(2, 3)[[]],
    "x[[], 0]": lambda m: m.arange(6.0).reshape(2, 3)[[], 0],
    "x[:, []]": lambda m: m.arange(6.0).reshape(2, 3)[:, []],
    "x[()][[]] on 1-d int": lambda m: m.tensor([1, 2])[[]],
    "0-d x[[]] raises": lambda m: m.tensor(5.0)[[]],
    "x[[]] = number": _set([], 1.0),
    "x[[]] = row": _set([], lambda m: m.tensor([1.0, 2.0, 3.0])),
    "x[[]] = wrong shape raises": _set([], lambda m: m.tensor([1.0, 2.0]), shape=(3,)),
    "x[0] = size-1 tensor into 0-d": _set(0, lambda m: m.tensor([5.0]), shape=(3,)),
    "x[0] = size-2 tensor into 0-d raises": _set(0, lambda m: m.tensor([5.0, 6.0]),
                                                 shape=(3,)),
    "x[0] = [[[5.]]] into a row": _set(0, lambda m: m.tensor([[[5.0]]])),
    "x[:, 0] = (1, 2) tensor": _set((slice(None), 0), lambda m: m.tensor([[1.0, 2.0]])),
    "x[tensor([0])] = (1, 1, 3)": lambda m: _set(m.tensor([0]), lambda m2: m2.tensor(
        [[[1.0, 2.0, 3.0]]]))(m),
    "index_select on 0-d": lambda m: m.tensor(3.0).index_select(0, m.tensor([0])),
    "index_select on 0-d with a 0-d index": lambda m: m.tensor(3.0).index_select(
        0, m.tensor(0)),
    "index_select on 0-d with 2 indices raises": lambda m: m.tensor(3.0).index_select(
        0, m.tensor([0, 0])),
    "index_select on 0-d out of range raises": lambda m: m.tensor(3.0).index_select(
        0, m.tensor([1])),
    "flip(dims=)": lambda m: m.arange(6.0).reshape(2, 3).flip(dims=(0,)),
    "flip(x, dims=)": lambda m: m.flip(m.arange(6.0).reshape(2, 3), dims=(1,)),
    "reshape(shape=)": lambda m: m.arange(6.0).reshape(shape=(3, 2)),
    "reshape(x, shape=)": lambda m: m.reshape(m.arange(6.0), shape=(2, 3)),
    "permute(dims=)": lambda m: m.arange(6.0).reshape(2, 3).permute(dims=(1, 0)),
    "zeros(size=)": lambda m: m.zeros(size=(2, 3)),
}


@pytest.mark.parametrize("call", list(_ISSUE21.values()), ids=list(_ISSUE21))
def test_issue21_indexing_cases_match_torch(call):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # PyTorch's non-tuple sequence notice
        want = outcome(call, torch)
    assert_same_outcome(outcome(call, ember), want)


def test_varargs_and_keyword_together_is_a_clear_error():
    with pytest.raises(TypeError, match=r"reshape\(\): got values for 'shape' both"):
        ember.ones(6).reshape(3, shape=(2, 3))


@pytest.mark.parametrize("key", ["True", "False", "(0, True)", "(T(True),)", "(T(False), 1)",
                                 "(Ellipsis, True)", "(slice(None), True, slice(0, 2))"])
def test_zero_dim_bool_indices_add_an_axis_as_torch(key):
    # (issue 16: a 0-d bool index raised; PyTorch, NumPy and the Array API take it as a
    # new axis of size one, kept or emptied)
    import torch
    e, t = ember.tensor(X), torch.tensor(X)
    got = eval(key, {"T": ember.tensor}, {})
    want = eval(key, {"T": torch.tensor}, {})
    assert_same(e[got], t[want])
    e2, t2 = e.clone(), t.clone()
    e2[got] = 7
    t2[want] = 7
    assert_same(e2, t2)


@pytest.mark.parametrize("key", ["::-1", "::-2", "1::-1", ":0:-1", "-1:-4:-2", "0, ::-1",
                                 "..., ::-3", ":, None, ::-1, 2", "5:2:-1",
                                 "::-1, ::-1, ::-1", "2:0:-1, 1:3"])
def test_negative_step_slices_read_as_numpy(key):
    # (issue 16: PyTorch refuses them, but the Array API standard, which ember's tensors
    # also serve, requires them)
    a = np.arange(60).reshape(3, 4, 5)
    got = eval(f"t[{key}]", {}, {"t": ember.tensor(a)})
    want = eval(f"a[{key}]", {}, {"a": a})
    assert got.shape == want.shape
    np.testing.assert_array_equal(got.numpy(), want)


def test_negative_step_slices_are_differentiable():
    y = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (y[::-1] * ember.tensor([1.0, 10.0, 100.0])).sum().backward()
    assert y.grad.tolist() == [100.0, 10.0, 1.0]



@pytest.mark.parametrize("key", ["::-1", "0, ::-1", "..., ::-2", "[2, 0]", "1, [0, 2]",
                                 "t > 2", "None, 1:, :2"])
def test_recorded_indexing_after_the_prebuilt_kernel_handles_every_key(key):
    # Once basic_index's Autograd kernel is prebuilt, t[...] with grad goes to it first;
    # what its shape rule refuses (negative steps, advanced indices) must still take the
    # general path, with the same values and gradients.
    a = np.arange(1.0, 13.0).reshape(3, 4)
    x = ember.tensor(a, requires_grad=True)
    x[:, 1:3].sum().backward()  # builds the prebuilt kernel
    x.grad = None
    got = eval(f"x[{key}]", {}, {"x": x, "t": ember.tensor(a)})
    want = eval(f"a[{key}]", {}, {"a": a, "t": a})
    np.testing.assert_array_equal(got.detach().numpy(), want)
    assert got.grad_fn is not None
    w = np.arange(want.size, dtype=np.float64).reshape(want.shape) + 1
    (got * ember.tensor(w)).sum().backward()
    expected = np.zeros_like(a)
    np.add.at(expected, eval(f"np.s_[{key}]", {"np": np}, {}) if "t" not in key
              else a > 2, w)
    np.testing.assert_array_equal(x.grad.numpy(), expected)


def test_recorded_basic_index_errors_as_unrecorded():
    x = ember.tensor(np.ones((2, 3)), requires_grad=True)
    x[0:1].sum().backward()  # builds the prebuilt kernel
    with pytest.raises(IndexError, match="index 5 is out of bounds for dimension 0"):
        x[5]
    with pytest.raises(ember.errors.OpError, match="slice step must be greater than zero"):
        x[:, ::0]
    with ember.no_grad():
        assert x[1, 1:].grad_fn is None


# --- as_strided (a gather, not a view: docs/ops.md) ------------------------------------------

@pytest.mark.parametrize(("shape", "size", "stride", "offset"), [
    ((12,), (3, 3), (1, 1), None),  # overlapping sliding windows
    ((3, 4), (2, 2), (1, 2), 1),
    ((2, 6), (2, 3, 2), (4, 1, 2), 2),
    ((4,), (3,), (0,), 1),  # a zero stride repeats an element
    ((), (), (), None),
    ((5,), (0, 4), (3, 1), 4),  # an empty result reads nothing
])
@pytest.mark.parametrize("dtype", ["float32", "int64"])
def test_as_strided_matches_pytorch_on_contiguous_inputs(shape, size, stride, offset, dtype):
    e, t = pair(sample(shape, dtype))
    args = (size, stride) if offset is None else (size, stride, offset)
    assert_same(ember.as_strided(e, *args), torch.as_strided(t, *args))
    assert_same(e.as_strided(*args), t.as_strided(*args))


def test_as_strided_gradient_accumulates_overlaps():
    a, g = sample((10,), "float64"), sample((4, 3), "float64", seed=1)
    e, t = ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    ember.as_strided(e, (4, 3), (2, 1), 1).backward(ember.tensor(g))
    torch.as_strided(t, (4, 3), (2, 1), 1).backward(torch.tensor(g))
    assert_same(e.grad, t.grad)


def test_as_strided_reads_a_non_contiguous_input_in_row_major_order():
    # ember's documented difference: the logical (row-major) order, not a storage
    a = sample((3, 4), "float32")
    e = ember.tensor(np.ascontiguousarray(a.T)).T
    assert not e.is_contiguous()
    np.testing.assert_array_equal(e.as_strided((2, 3), (3, 1), 1).numpy(),
                                  a.reshape(-1)[[[1, 2, 3], [4, 5, 6]]])


@pytest.mark.parametrize(("args", "message"), [
    (((2, 2), (1,)), r"as_strided\(\): mismatch in length of strides and shape"),
    (((3, 3), (1, -1)), r"as_strided\(\): negative strides are not supported"),
    (((-1,), (1,)), r"as_strided\(\): argument 'size' must not hold negative sizes"),
    (((3,), (1,), -1), r"as_strided\(\): argument 'storage_offset' must be non-negative"),
    (((20,), (1,)), r"as_strided\(\): size \[20\], stride \[1\] and storage offset 0 read "
                    r"element 19, out of bounds for an input of 12 elements"),
    (((2, 2), (6, 6), 1), r"read element 13, out of bounds"),
])
def test_as_strided_refusals(args, message):
    with pytest.raises(ember.OpError, match=message):
        ember.arange(12.0).as_strided(*args)
