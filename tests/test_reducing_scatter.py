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
