"""Reductions and scans against PyTorch: dim / keepdim variants, dtypes, empty and 0-d
inputs, NaN, named (values, indices) results, the meta device and errors."""

import numpy as np
import pytest

import ember
from _oracle import assert_meta_agrees, assert_same, pair, sample, torch

pytestmark = pytest.mark.torch

DIMS = [None, 0, -1, (0, 2), (-1, 1)]


@pytest.mark.parametrize("op", ["sum", "mean", "amax", "amin", "logsumexp", "var", "std",
                                "all", "any", "count_nonzero"])
@pytest.mark.parametrize("dim", DIMS)
@pytest.mark.parametrize("keepdim", [False, True])
def test_multi_dim_reductions(op, dim, keepdim):
    e, t = pair(sample((2, 3, 4), "float32"))
    if op in ("all", "any"):
        e, t = e > 0, t > 0
    kw = {} if op == "count_nonzero" else {"keepdim": keepdim}
    if op == "logsumexp" and dim is None:
        dim = (0, 1, 2)  # PyTorch requires dim for logsumexp
    if dim is None and op in ("amax", "amin", "count_nonzero", "all", "any"):
        got, want = getattr(ember, op)(e, **kw), getattr(torch, op)(t, **kw)
    else:
        got, want = getattr(ember, op)(e, dim, **kw), getattr(torch, op)(t, dim, **kw)
    assert_same(got, want)


@pytest.mark.parametrize("op", ["prod", "argmax", "argmin", "cumsum", "cumprod"])
@pytest.mark.parametrize("dim", [None, 0, 1, -1])
@pytest.mark.parametrize("dtype", ["float32", "int32", "bool"])
def test_single_dim_reductions(op, dim, dtype):
    e, t = pair(sample((3, 4), dtype, low=-2, high=3))
    if op in ("cumsum", "cumprod"):
        if dim is None:
            return
        assert_same(getattr(ember, op)(e, dim), getattr(torch, op)(t, dim))
        return
    if op.startswith("arg") and dtype == "bool":
        e, t = e.int(), t.int()
    if dim is None:
        assert_same(getattr(ember, op)(e), getattr(torch, op)(t))
    else:
        assert_same(getattr(ember, op)(e, dim, keepdim=True),
                    getattr(torch, op)(t, dim, keepdim=True))
        assert_same(getattr(ember, op)(e, dim), getattr(torch, op)(t, dim))


@pytest.mark.parametrize("dtype", ["int8", "int32", "bool", "uint8", "float16"])
def test_sum_and_prod_dtypes(dtype):
    e, t = pair(sample((4, 5), dtype, low=-3, high=3))
    assert_same(ember.sum(e), torch.sum(t))
    assert_same(e.sum(1), t.sum(1))
    assert_same(ember.prod(e, 0), torch.prod(t, 0))
    assert_same(ember.sum(e, dtype=ember.float64), torch.sum(t, dtype=torch.float64))
    assert_same(ember.cumsum(e, 0), torch.cumsum(t, 0))
    assert_same(ember.cumsum(e, 1, dtype=ember.int32), torch.cumsum(t, 1, dtype=torch.int32))


def test_argmax_keepdim_without_dim():
    e, t = pair(sample((2, 3), "float32"))
    assert_same(e.argmax(keepdim=True), t.argmax(keepdim=True))
    assert_same(e.argmin(), t.argmin())


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_overloads(name):
    e, t = pair(sample((3, 4), "float32"))
    assert_same(getattr(ember, name)(e), getattr(torch, name)(t))
    got, want = getattr(e, name)(1), getattr(t, name)(1)
    assert_same(got.values, want.values)
    assert_same(got.indices, want.indices)
    values, indices = getattr(ember, name)(e, dim=0, keepdim=True)
    assert_same(values, getattr(torch, name)(t, dim=0, keepdim=True).values)
    assert_same(indices, getattr(torch, name)(t, dim=0, keepdim=True).indices)
    o, to = pair(sample((4,), "float32", seed=5))
    assert_same(getattr(ember, name)(e, o), getattr(torch, name)(t, to))
    assert_same(getattr(e, name)(o), getattr(t, name)(to))


def test_max_with_nan_and_ties():
    e, t = pair(np.array([[1.0, np.nan, 3.0], [2.0, 2.0, 1.0]], np.float32))
    assert_same(ember.amax(e, 1), torch.amax(t, 1))
    assert_same(e.max(1).values, t.max(1).values)
    assert_same(e.max(1).indices, t.max(1).indices)
    assert_same(ember.argmax(e, 1), torch.argmax(t, 1))


@pytest.mark.parametrize("correction", [0, 1, 2])
def test_var_std_correction_and_unbiased(correction):
    e, t = pair(sample((4, 5), "float64"))
    assert_same(ember.var(e, 1, correction=correction), torch.var(t, 1, correction=correction))
    assert_same(ember.std(e, correction=correction), torch.std(t, correction=correction))
    assert_same(e.var(0, False), t.var(0, False))
    assert_same(e.std(0, True, True), t.std(0, True, True))
    got, want = ember.var_mean(e, 1), torch.var_mean(t, 1)
    assert_same(got, want)
    assert_same(ember.std_mean(e, 0, correction=0), torch.std_mean(t, 0, correction=0))


def test_var_with_too_few_elements_is_nan_or_inf_like_torch():
    e, t = pair(np.ones(3, np.float32))
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch warns about the degrees of freedom
        assert_same(ember.var(e, correction=3), torch.var(t, correction=3))
        assert_same(ember.var(e[:1]), torch.var(t[:1]))


def test_logsumexp_is_stable_and_handles_infinities():
    e, t = pair(np.array([[1000.0, 1000.0], [-np.inf, -np.inf], [np.inf, 1.0]], np.float32))
    assert_same(ember.logsumexp(e, 1), torch.logsumexp(t, 1))
    i, ti = pair(np.array([[1, 2], [3, 4]]))
    assert_same(ember.logsumexp(i, 0), torch.logsumexp(ti, 0))


def test_empty_reductions():
    e, t = pair(np.zeros((2, 0), np.float32))
    assert_same(e.sum(1), t.sum(1))
    assert_same(e.sum(), t.sum())
    assert_same(e.prod(1), t.prod(1))
    assert_same(e.all(1), t.all(1))
    assert_same(e.any(), t.any())
    assert_same(e.mean(1), t.mean(1))
    assert_same(e.amax(0), t.amax(0))  # reduces the non-empty dim: fine


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda e: e.amax(1), IndexError, r"amax\(\): expected reduction dim 1 to have non-zero"),
    (lambda e: e.max(), ember.OpError, r"max\(\): expected reduction dim to be specified"),
    (lambda e: e.argmax(), ember.OpError, r"argmax\(\): expected reduction dim"),
    (lambda e: e.max(1), IndexError, r"max\(\): expected reduction dim 1"),
])
def test_empty_reductions_without_identity_raise(call, error, message):
    with pytest.raises(error, match=message):
        call(ember.zeros(2, 0))


def test_zero_dim_reductions():
    e, t = pair(np.array(2.5, np.float32))
    for name in ("sum", "mean", "amax", "prod", "argmax"):
        assert_same(getattr(e, name)(), getattr(t, name)())
        assert_same(getattr(e, name)(0), getattr(t, name)(0))
    assert_same(e.max(0).values, t.max(0).values)
    assert_same(e.cumsum(0), t.cumsum(0))
    assert_same(e.logsumexp(0), t.logsumexp(0))


def test_non_contiguous_reductions():
    e, t = pair(sample((4, 6), "float32"))
    assert_same(e.T.sum(0), t.T.sum(0))
    assert_same(e[:, ::2].amax(1), t[:, ::2].amax(1))
    assert_same(e.T.cumsum(1), t.T.cumsum(1))


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda e: e.sum(2), ember.OpError, r"sum\(\): argument 'dim' is out of range"),
    (lambda e: e.sum((0, 0)), ember.OpError, r"sum\(\): dim \[0, 0\] appears multiple"),
    (lambda e: e.int().mean(), ember.OpError, r"mean\(\): could not infer output dtype"),
    (lambda e: e.int().var(), ember.OpError, r"var\(\): expected a floating point"),
    (lambda e: e.var(unbiased=True, correction=1), ember.OpError,
     r"var\(\): pass only one of 'unbiased' and 'correction'"),
    (lambda e: e.cumsum(3), ember.OpError, r"cumsum\(\): argument 'dim' is out of range"),
    (lambda e: e.sum(dim="0"), TypeError, r"sum\(\): argument 'dim'"),
    (lambda e: e.max(keepdim=True), ember.OpError, r"max\(\): argument 'keepdim' needs"),
])
def test_bad_arguments_raise_clear_errors(call, error, message):
    with pytest.raises(error, match=message):
        call(ember.ones(2, 3))


def test_array_api_keyword_aliases():
    e, t = pair(sample((2, 3), "float32"))
    assert_same(ember.sum(e, axis=1, keepdims=True), torch.sum(t, 1, keepdim=True))


@pytest.mark.parametrize("op", ["sum", "mean", "amax", "argmax", "var", "logsumexp",
                                "all", "cumsum", "prod"])
def test_meta_device_agrees_with_cpu(op):
    e = ember.tensor(sample((2, 3, 4), "float32"))
    assert_meta_agrees(lambda x: getattr(ember, op)(x, 1), e)
    if op not in ("cumsum", "logsumexp"):
        assert_meta_agrees(lambda x: getattr(ember, op)(x), e)
    assert_meta_agrees(lambda x: ember.max(x, 1), e)


@pytest.mark.parametrize(("op", "args"), [("mean", (1,)), ("all", (1,)), ("any", (None,)),
                                          ("var", (0,)), ("std", (None,))])
def test_decompositions_agree_with_native_kernels(op, args):
    e = ember.tensor(sample((3, 4), "float32"))
    od = ember.schema.get_op(op)
    x = e > 0 if op in ("all", "any") else e
    native, decomposed = getattr(ember, op)(x, *args), od.decomposition(x, *args)
    assert decomposed.dtype is native.dtype
    np.testing.assert_allclose(decomposed.numpy(), native.numpy(), rtol=1e-6)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_low_precision_sums_accumulate_in_float32(dtype):
    """A bfloat16 accumulator would stop at 256 when adding numbers below 1."""
    e, t = pair(np.linspace(0, 1, 10000, dtype=np.float32), dtype)
    assert_same(e.sum(), t.sum())
    assert_same(e.mean(), t.mean())
    assert_same(e.cumsum(0)[-1], t.cumsum(0)[-1])
    m, tm = pair(sample((32, 32), "float32"), dtype)
    assert_same(m @ m, tm @ tm)


# --- logcumsumexp ---------------------------------------------------------------------------

@pytest.mark.parametrize("dim", [0, 1, -1, -3])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_logcumsumexp_matches_pytorch(dim, dtype):
    e, t = pair(sample((3, 17, 5), dtype, low=-30, high=30))
    assert_same(ember.logcumsumexp(e, dim), torch.logcumsumexp(t, dim))
    assert_same(e.mT.logcumsumexp(dim), t.mT.logcumsumexp(dim))  # non-contiguous


@pytest.mark.parametrize("values", [
    [-1000.0, 0.0, -np.inf, 3.0],  # a prefix far below the later maximum stays finite
    [-np.inf, -np.inf, 1.0],  # leading -inf: -inf, not NaN
    [np.inf, 1.0, -np.inf, np.nan, 2.0],
    [1e30, 1e30, -1e30],  # no overflow
])
def test_logcumsumexp_is_stable(values):
    e, t = pair(np.array(values, dtype=np.float32))
    assert_same(ember.logcumsumexp(e, 0), torch.logcumsumexp(t, 0))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_logcumsumexp_low_precision(dtype):
    e, t = pair(sample((4, 40), "float32"), dtype)
    assert_same(ember.logcumsumexp(e, 1), torch.logcumsumexp(t, 1))


def test_logcumsumexp_edges():
    e, t = pair(np.float32(2.5))
    assert_same(ember.logcumsumexp(e, 0), torch.logcumsumexp(t, 0))
    assert_same(ember.logcumsumexp(e, -1), torch.logcumsumexp(t, -1))
    e, t = pair(np.zeros((0, 3), dtype=np.float32))
    assert_same(ember.logcumsumexp(e, 0), torch.logcumsumexp(t, 0))
    assert_same(ember.logcumsumexp(e, 1), torch.logcumsumexp(t, 1))
    with pytest.raises(ember.OpError, match=r"logcumsumexp\(\): expected a floating-point"):
        ember.logcumsumexp(ember.tensor([1, 2]), 0)
    with pytest.raises(ember.OpError, match=r"logcumsumexp\(\): argument 'dim' is out of"):
        ember.logcumsumexp(ember.ones(2, 3), 2)


@pytest.mark.parametrize("dim", [0, -1])
def test_logcumsumexp_gradient_matches_pytorch(dim):
    a = sample((6, 9), "float64", low=-5, high=5)
    g = sample((6, 9), "float64", seed=1)
    e, t = ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    ember.logcumsumexp(e, dim).backward(ember.tensor(g))
    torch.logcumsumexp(t, dim).backward(torch.tensor(g))
    assert_same(e.grad, t.grad)
    assert ember.autograd.gradcheck(lambda x: ember.logcumsumexp(x, dim), (
        ember.tensor(a[:3, :4], requires_grad=True),))


def test_logcumsumexp_gradient_at_minus_inf_is_zero():
    # PyTorch's formula gives NaN where the input and its prefix result are -inf; the
    # derivative is 0 there (exp(-inf) weighs nothing), and the rest agrees with PyTorch
    x = np.array([-np.inf, -np.inf, 0.0, 1.0])
    e, t = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ember.logcumsumexp(e, 0).sum().backward()
    torch.logcumsumexp(t, 0).sum().backward()
    np.testing.assert_array_equal(e.grad.numpy()[:2], [0.0, 0.0])
    np.testing.assert_allclose(e.grad.numpy()[2:], t.grad.numpy()[2:], rtol=1e-12)


def test_logcumsumexp_memory_is_linear():
    # the parallel scan frees each step: peak stays a few copies of the input, not
    # log2(n) of them
    import tracemalloc
    x = ember.tensor(sample((1 << 16,), "float64"))
    ember.logcumsumexp(x, 0)  # warm caches
    tracemalloc.start()
    ember.logcumsumexp(x, 0)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 8 * x.nbytes, f"peak {peak} bytes for a {x.nbytes}-byte input"


@pytest.mark.parametrize("fn", ["max", "min"])
def test_max_min_over_everything_with_nan_split_the_gradient_among_the_nans(fn):
    """max()/min() of a tensor holding NaN is NaN; PyTorch gives the gradient to the
    NaNs (split evenly), ember gave NaN to every element (NaN == NaN found no tie)."""
    x = np.array([[1.0, np.nan, 3.0, np.nan], [1.0, 2.0, 3.0, 3.0]], np.float32)
    for a in (x, x[1:], np.array(2.0, np.float32)):
        e = ember.tensor(a, requires_grad=True)
        t = torch.tensor(a, requires_grad=True)
        getattr(ember, fn)(e).backward()
        getattr(torch, fn)(t).backward()
        np.testing.assert_array_equal(e.grad.numpy(), t.grad.numpy())
