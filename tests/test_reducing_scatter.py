"""``scatter_reduce``/``index_reduce`` (ember.torch_functions.reducing_scatter) and the
other scatter-like front ends (``index_fill_``, ``index_copy_``, ``masked_scatter``,
``select_scatter``, ``diagonal_scatter``) against PyTorch: values, dtypes and gradients on
repeated, empty and non-contiguous indices, negative dims, and their refusals."""

from __future__ import annotations

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.torch,
              pytest.mark.filterwarnings("ignore:index_reduce.. is in beta:UserWarning")]

_DTYPES = [np.float64, np.float32, np.int64, np.int32]


def _pair(a, grad):
    """The same array as a PyTorch and an ember tensor."""
    return (torch.tensor(a, requires_grad=grad), ember.tensor(a, requires_grad=grad))


def _close(e, t):
    t = t.detach().numpy()
    en = e.detach().numpy()
    assert en.shape == t.shape and en.dtype == t.dtype, (en.shape, t.shape, en.dtype, t.dtype)
    np.testing.assert_allclose(en, t, rtol=1e-5, atol=1e-6, equal_nan=True)


def _compare(fn, ember_fn, tensors, *args, **kwargs):
    """Run ``fn`` on PyTorch and ember copies of ``tensors`` (arrays, or None for an
    argument given in ``args``); compare the results and, for floats, the gradients."""
    grad = any(a is not None and a.dtype.kind == "f" for a in tensors)
    pairs = [_pair(a, grad and a.dtype.kind == "f") for a in tensors]
    t_out = fn(*[p[0] for p in pairs], *args, **kwargs)
    e_out = ember_fn(*[p[1] for p in pairs], *args, **kwargs)
    _close(e_out, t_out)
    if grad:
        g = np.random.default_rng(1).standard_normal(tuple(t_out.shape)).astype(
            t_out.detach().numpy().dtype)
        t_out.backward(torch.tensor(g))
        e_out.backward(ember.tensor(g))
        for (tt, et) in pairs:
            if tt.requires_grad:
                _close(et.grad, tt.grad)


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("dtype", _DTYPES)
@pytest.mark.parametrize("shape, ishape, dim", [((4, 5), (6, 5), 0), ((4, 5), (3, 7), -1),
                                                ((4, 5), (0, 5), 0), ((3, 2, 4), (2, 2, 3), 1),
                                                ((), (), 0), ((5,), (9,), 0)])
def test_scatter_reduce_matches_pytorch(reduce, include_self, dtype, shape, ishape, dim):
    rng = np.random.default_rng(abs(hash((reduce, include_self, shape, ishape))) % 2**32)
    # small integers: repeated values exercise the ties that amax/amin's gradient splits,
    # zeros the single/multiple-zero cases of prod's
    x = rng.integers(-3, 4, shape).astype(dtype)
    src = rng.integers(-3, 4, ishape).astype(dtype)
    size = shape[dim] if shape else 1
    index = rng.integers(0, size, ishape)

    def run(lib):
        return lambda x, src: lib.scatter_reduce(x, dim, lib.tensor(index), src, reduce,
                                                 include_self=include_self)
    _compare(run(torch), run(ember), [x, src])


def test_scatter_reduce_non_contiguous_and_methods():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 6))
    src = rng.standard_normal((4, 3))  # PyTorch differentiates only src of index.shape
    index = rng.integers(0, 5, (4, 3))
    for reduce in ("sum", "amax", "prod", "mean"):
        def run(lib, inplace=False, reduce=reduce):
            def f(x, src):
                xt, it, st = x.transpose(0, 1), lib.tensor(index).transpose(0, 1), src.T
                if inplace:
                    y = xt * 1
                    return y.scatter_reduce_(1, it, st, reduce, include_self=False)
                return xt.scatter_reduce(1, it, st, reduce)
            return f
        _compare(run(torch), run(ember), [x, src])
        _compare(run(torch, True), run(ember, True), [x, src])


def test_scatter_reduce_nan_and_memory_use_is_not_quadratic():
    x = torch.tensor([0.0, 1.0])
    src = torch.tensor([float("nan"), 2.0, 5.0])
    index = torch.tensor([0, 0, 1])
    for reduce in ("amax", "amin", "prod", "sum"):
        want = torch.scatter_reduce(x, 0, index, src, reduce)
        got = ember.scatter_reduce(ember.tensor(x.numpy()), 0, ember.tensor(index.numpy()),
                                   ember.tensor(src.numpy()), reduce)
        _close(got, want)
    # one large group and many singletons: a dense per-group layout would be n * n
    n = 200_000
    idx = np.concatenate([np.zeros(n // 2, np.int64), np.arange(n // 2, dtype=np.int64)])
    out = ember.scatter_reduce(ember.zeros(n // 2), 0, ember.tensor(idx),
                               ember.ones(n), "amax", include_self=False)
    assert out.numpy().sum() == n // 2


@pytest.mark.parametrize("call, error, match", [
    (lambda: ember.scatter_reduce(ember.zeros(3), 0, ember.tensor([0]), ember.ones(1),
                                  "max"), ember.OpError, r"scatter_reduce\(\).*'reduce'"),
    (lambda: ember.scatter_reduce(ember.zeros(3), 0, ember.tensor([3]), ember.ones(1),
                                  "sum"), IndexError, r"scatter_reduce\(\).*index 3"),
    (lambda: ember.scatter_reduce(ember.zeros(3), 0, ember.tensor([-1]), ember.ones(1),
                                  "sum"), IndexError, r"scatter_reduce\(\).*index -1"),
    (lambda: ember.scatter_reduce(ember.zeros(3), 0, ember.tensor([0.0]), ember.ones(1),
                                  "sum"), ember.OpError, r"scatter_reduce\(\).*'index'"),
    (lambda: ember.scatter_reduce(ember.zeros(3), 0, ember.tensor([0]),
                                  ember.ones(1, dtype=ember.int64), "sum"),
     ember.OpError, r"scatter_reduce\(\).*'src'"),
    (lambda: ember.scatter_reduce(ember.zeros(3), 0, ember.tensor([0, 1]), ember.ones(1),
                                  "sum"), ember.OpError, r"scatter_reduce\(\).*'index'"),
    (lambda: ember.scatter_reduce(ember.zeros(3), 1, ember.tensor([0]), ember.ones(1),
                                  "sum"), IndexError, r"scatter_reduce\(\).*Dimension"),
    (lambda: ember.scatter_reduce(ember.zeros(3, 2), 0, ember.tensor([0]), ember.ones(1),
                                  "sum"), ember.OpError, r"scatter_reduce\(\).*dimensions"),
    (lambda: ember.scatter_reduce(ember.zeros(3), 0, [0], ember.ones(1), "sum"),
     TypeError, r"scatter_reduce\(\).*'index'"),
    (lambda: ember.index_reduce(ember.zeros(3), 0, ember.tensor([0]), ember.ones(1),
                                "sum"), ember.OpError, r"index_reduce\(\).*'reduce'"),
    (lambda: ember.index_reduce(ember.zeros(3, 2), 0, ember.tensor([0]), ember.ones(2, 2),
                                "prod"), ember.OpError, r"index_reduce\(\).*'source'"),
    (lambda: ember.index_reduce(ember.zeros(3), 0, ember.tensor([[0]]), ember.ones(1),
                                "prod"), ember.OpError, r"index_reduce\(\).*'index'"),
    (lambda: ember.index_reduce(ember.zeros(3), 0, ember.tensor([5]), ember.ones(1),
                                "amax"), IndexError, r"index_reduce\(\).*index 5"),
])
def test_reducing_scatter_refusals(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("reduce", ["prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("dtype", _DTYPES)
@pytest.mark.parametrize("shape, n, dim", [((4, 5), 6, 0), ((4, 5), 3, -1), ((4, 5), 0, 1),
                                           ((2, 3, 4), 5, 1), ((5,), 7, 0)])
def test_index_reduce_matches_pytorch(reduce, include_self, dtype, shape, n, dim):
    rng = np.random.default_rng(abs(hash((reduce, include_self, shape, n))) % 2**32)
    x = rng.integers(-3, 4, shape).astype(dtype)
    sshape = tuple(n if k == dim % len(shape) else s for k, s in enumerate(shape))
    source = rng.integers(-3, 4, sshape).astype(dtype)
    index = rng.integers(0, shape[dim], n)

    def run(lib):
        return lambda x, source: x.index_reduce(dim, lib.tensor(index), source, reduce,
                                                include_self=include_self)
    _compare(run(torch), run(ember), [x, source])

    def run_(lib):
        return lambda x, source: (x * 1).index_reduce_(dim, lib.tensor(index), source,
                                                       reduce, include_self=include_self)
    _compare(run_(torch), run_(ember), [x, source])


@pytest.mark.parametrize("dtype", _DTYPES)
@pytest.mark.parametrize("shape, dim, index", [((4, 5), 0, [3, 0]), ((4, 5), -1, [4, 1, 2]),
                                               ((4, 5), 1, []), ((2, 3, 4), 1, [2])])
def test_index_fill_and_index_copy_in_place(dtype, shape, dim, index):
    rng = np.random.default_rng(3)
    x = rng.integers(-3, 4, shape).astype(dtype)
    sshape = tuple(len(index) if k == dim % len(shape) else s for k, s in enumerate(shape))
    source = rng.integers(-3, 4, sshape).astype(dtype)

    def fill(lib):
        return lambda x: (x * 1).index_fill_(dim, lib.tensor(index, dtype=lib.int64), -7)

    def copy(lib):
        return lambda x, source: (x * 1).index_copy_(dim, lib.tensor(index, dtype=lib.int64),
                                                     source)

    def copy_t(lib):  # a non-contiguous self
        return lambda x, source: (x.transpose(0, 1) * 1).index_copy_(
            1 - dim % 2 if len(shape) == 2 else 0, lib.tensor(index, dtype=lib.int64),
            source.transpose(0, 1))
    _compare(fill(torch), fill(ember), [x])
    _compare(copy(torch), copy(ember), [x, source])
    if len(shape) == 2:
        _compare(copy_t(torch), copy_t(ember), [x, source])


def test_in_place_front_ends_refuse_leaves_and_broadcasting():
    leaf = ember.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"index_fill_\(\): a leaf Variable"):
        leaf.index_fill_(0, ember.tensor([1]), 5.0)
    with pytest.raises(ember.OpError, match=r"masked_scatter_\(\): the result's shape"):
        ember.zeros(3).masked_scatter_(ember.ones(2, 3, dtype=ember.bool), ember.ones(6))
    with ember.no_grad():
        leaf.index_fill_(0, ember.tensor([1]), 5.0)
    assert leaf.detach().numpy().tolist() == [1.0, 5.0, 1.0]


@pytest.mark.parametrize("dtype", _DTYPES)
@pytest.mark.parametrize("shape, mshape, n", [((3, 4), (4,), 12), ((3, 4), (3, 1), 20),
                                              ((4,), (2, 4), 8), ((3, 4), (3, 4), 0),
                                              ((0, 4), (4,), 1), ((), (), 1)])
def test_masked_scatter_matches_pytorch(dtype, shape, mshape, n):
    rng = np.random.default_rng(4)
    x = rng.integers(-3, 4, shape).astype(dtype)
    mask = rng.random(mshape) < (0.0 if n == 0 else 0.5)
    source = rng.integers(-3, 4, n).astype(dtype)

    def run(lib):
        return lambda x, source: lib.masked_scatter(x, lib.tensor(mask), source)
    _compare(run(torch), run(ember), [x, source])
    if np.broadcast_shapes(shape, mshape) == shape and n:
        def run_(lib):
            return lambda x, source: (x * 1).masked_scatter_(lib.tensor(mask), source)
        _compare(run_(torch), run_(ember), [x, source])


def test_masked_scatter_non_contiguous_and_refusals():
    rng = np.random.default_rng(5)
    x, source = rng.standard_normal((4, 3)), rng.standard_normal(12)
    mask = rng.random((3, 4)) < 0.5

    def run(lib):
        return lambda x, source: x.T.masked_scatter(lib.tensor(mask), source[::2])
    _compare(run(torch), run(ember), [x, source])
    z, b = ember.zeros(3), ember.tensor([True, True, False])
    with pytest.raises(ember.OpError, match=r"masked_scatter\(\): source has 1 elements"):
        ember.masked_scatter(z, b, ember.ones(1))
    with pytest.raises(ember.OpError, match=r"masked_scatter\(\): argument 'mask'"):
        ember.masked_scatter(z, ember.ones(3), ember.ones(3))
    with pytest.raises(ember.OpError, match=r"masked_scatter\(\): expected self and source"):
        ember.masked_scatter(z, b, ember.ones(3, dtype=ember.int64))
    with pytest.raises(ember.OpError, match=r"masked_scatter\(\): the shapes"):
        ember.masked_scatter(z, ember.ones(2, dtype=ember.bool), ember.ones(3))


@pytest.mark.parametrize("dtype", _DTYPES)
@pytest.mark.parametrize("shape, dim, index", [((3, 4), 0, 1), ((3, 4), -1, -1),
                                               ((2, 3, 4), 1, 2), ((0, 4), 1, 3), ((5,), 0, 4)])
def test_select_scatter_matches_pytorch(dtype, shape, dim, index):
    rng = np.random.default_rng(6)
    x = rng.integers(-3, 4, shape).astype(dtype)
    src = rng.integers(-3, 4, tuple(s for k, s in enumerate(shape)
                                    if k != dim % len(shape))).astype(dtype)

    def run(lib):
        return lambda x, src: lib.select_scatter(x, src, dim, index)
    _compare(run(torch), run(ember), [x, src])
    assert hasattr(ember.Tensor, "select_scatter")


@pytest.mark.parametrize("dtype", _DTYPES)
@pytest.mark.parametrize("shape, offset, dim1, dim2", [((3, 4), 0, 0, 1), ((3, 4), 2, 0, 1),
                                                       ((3, 4), -1, 1, 0), ((2, 3, 4), 1, -1, 0),
                                                       ((3, 4), 5, 0, 1), ((0, 3), 0, 0, 1)])
def test_diagonal_scatter_matches_pytorch(dtype, shape, offset, dim1, dim2):
    rng = np.random.default_rng(7)
    x = rng.integers(-3, 4, shape).astype(dtype)
    dshape = tuple(torch.zeros(shape).diagonal(offset, dim1, dim2).shape)
    src = rng.integers(-3, 4, dshape).astype(dtype)

    def run(lib):
        def f(x, src):  # a non-contiguous self
            y = (x.transpose(0, -1) * 1).transpose(0, -1)
            return y.diagonal_scatter(src, offset, dim1, dim2)
        return f
    _compare(run(torch), run(ember), [x, src])


@pytest.mark.parametrize("call, error, match", [
    (lambda: ember.select_scatter(ember.zeros(3, 4), ember.ones(4), 0, 3), IndexError,
     r"select_scatter\(\): index 3 out of range"),
    (lambda: ember.select_scatter(ember.zeros(3, 4), ember.ones(3), 0, 0), ember.OpError,
     r"select_scatter\(\): expected src .* src size = \[3\]"),
    (lambda: ember.select_scatter(ember.zeros(()), ember.ones(()), 0, 0), ember.OpError,
     r"select_scatter\(\): .*0-dim"),
    (lambda: ember.diagonal_scatter(ember.zeros(3, 4), ember.ones(4)), ember.OpError,
     r"diagonal_scatter\(\): expected src .* diagonal size = \[3\]"),
    (lambda: ember.diagonal_scatter(ember.zeros(3, 4), ember.ones(3), 0, 1, -1),
     ember.OpError, r"diagonal_scatter\(\): diagonal dimensions cannot be identical"),
    (lambda: ember.diagonal_scatter(ember.zeros(3), ember.ones(3)), ember.OpError,
     r"diagonal_scatter\(\): diagonal dimensions requires"),
    (lambda: ember.diagonal_scatter(ember.zeros(3, 3), [1.0]), TypeError,
     r"diagonal_scatter\(\): argument 'src'"),
])
def test_scatter_embedding_refusals(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_front_ends_run_on_the_reference_backend():
    # composed of ops only: the Array API reference backend gives the CPU's values and
    # gradients, without a kernel of its own
    def run(dev):
        x = ember.tensor(np.arange(6.0).reshape(2, 3), device=dev, requires_grad=True)
        s = ember.tensor(np.array([[5.0, -1.0, 2.0], [0.0, 7.0, 1.0]]), device=dev,
                         requires_grad=True)
        i = ember.tensor([[1, 0, 1], [1, 1, 0]], device=dev)
        outs = [ember.scatter_reduce(x, 0, i, s, r, include_self=False)
                for r in ("sum", "prod", "mean", "amax", "amin")]
        outs += [ember.masked_scatter(x, x.detach() > 2, s),
                 ember.diagonal_scatter(x, s[0, :2]), ember.select_scatter(x, s[1], 0, 0),
                 x.index_reduce(1, ember.tensor([2, 2], device=dev), s[:, :2], "amin")]
        sum(o.sum() for o in outs).backward()
        return [o.detach().to("cpu").numpy() for o in outs + [x.grad, s.grad]]
    for got, want in zip(run("reference"), run("cpu"), strict=True):
        np.testing.assert_array_equal(got, want)
