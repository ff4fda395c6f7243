"""The Tensor's methods and operators mirror the op functions (attached from the op
registry), plus the front-end methods that are not single ops."""

import numpy as np
import pytest

import ember
from _oracle import assert_same, pair, sample, torch

pytestmark = pytest.mark.torch

METHODS = ["add", "sub", "mul", "div", "pow", "exp", "log", "sqrt", "rsqrt", "abs", "neg",
           "sigmoid", "tanh", "clamp", "sum", "mean", "prod", "amax", "argmax", "var",
           "std", "logsumexp", "all", "any", "cumsum", "reshape", "view", "permute",
           "transpose", "expand", "squeeze", "unsqueeze", "flatten", "narrow", "split",
           "chunk", "unbind", "unfold", "gather", "scatter", "scatter_add", "index_select",
           "masked_fill", "sort", "argsort", "topk", "matmul", "t", "contiguous", "clone",
           "add_", "mul_", "zero_", "fill_", "copy_", "clamp_", "masked_fill_", "scatter_",
           "scatter_add_", "index_add_", "max", "min", "isnan", "eq", "ne", "lt", "le", "gt",
           "ge", "floor", "ceil", "round", "sign", "maximum", "minimum", "tril", "triu",
           "norm", "new_zeros", "new_ones", "new_full", "new_empty", "new_tensor",
           "view_as", "expand_as", "reshape_as", "type_as", "uniform_", "normal_",
           "nonzero", "logical_not", "bitwise_and", "remainder", "floor_divide"]


@pytest.mark.parametrize("name", METHODS)
def test_methods_exist_like_torch(name):
    assert callable(getattr(ember.Tensor, name)), name
    assert hasattr(torch.Tensor, name)


def test_methods_agree_with_functions():
    e = ember.tensor(sample((3, 4), "float32", low=1))
    for name, args in [("exp", ()), ("sum", (1,)), ("clamp", (0, 2)), ("permute", (1, 0)),
                       ("gather", (1, ember.tensor([[0], [1], [2]])))]:
        np.testing.assert_array_equal(getattr(e, name)(*args).numpy(),
                                      getattr(ember, name)(e, *args).numpy())


def test_properties_and_front_end_methods():
    e, t = pair(sample((2, 3, 4), "float32"))
    assert_same(e.mT, t.mT)
    assert_same(e[0].T, t[0].T)
    assert_same(e.new_zeros(2, 2), t.new_zeros(2, 2))
    assert_same(e.new_ones((3,)), t.new_ones((3,)))
    assert_same(e.new_full((2,), 7), t.new_full((2,), 7))
    assert_same(e.new_tensor([1, 2]), t.new_tensor([1, 2]))
    assert e.new_zeros(2, dtype=ember.int8).dtype is ember.int8
    o = ember.ones(4, 6)
    assert e.view_as(o).shape == (4, 6) and e.reshape_as(o).shape == (4, 6)
    assert ember.ones(1, 4).expand_as(e[0]).shape == (3, 4)
    assert e.type_as(ember.ones(1, dtype=ember.int16)).dtype is ember.int16
    with pytest.raises(ember.OpError, match=r"mT\(\): tensor.mT is only supported on"):
        _ = ember.ones(3).mT


def test_python_protocols():
    e = ember.tensor([[1, 2], [3, 4]])
    assert len(e) == 2
    assert [r.tolist() for r in e] == [[1, 2], [3, 4]]
    assert e[1, 0].item() == 3 and int(e[0, 1]) == 2 and float(e[0, 0]) == 1.0
    assert [10, 20, 30][ember.tensor(2)] == 30  # __index__
    assert bool(ember.tensor([True]))
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(e)
    assert 3 in e and 5 not in e and ember.tensor(4) in e
    with pytest.raises(TypeError, match="__contains__ only supports"):
        _ = "a" in e
    assert (e == None) is False  # noqa: E711  (as PyTorch)
    assert (e != None) is True  # noqa: E711


@pytest.mark.parametrize(("expr", "op"), [
    (lambda a, b: a + b, "add"), (lambda a, b: a - b, "sub"), (lambda a, b: a * b, "mul"),
    (lambda a, b: a / b, "true_divide"), (lambda a, b: a // b, "floor_divide"),
    (lambda a, b: a % b, "remainder"), (lambda a, b: a ** b, "pow"),
    (lambda a, b: a @ b, "matmul"), (lambda a, b: a < b, "lt"), (lambda a, b: a >= b, "ge"),
])
def test_operators_dispatch_to_their_ops(expr, op):
    a = ember.tensor(sample((2, 2), "float32", low=1))
    b = ember.tensor(sample((2, 2), "float32", low=1, seed=1))
    np.testing.assert_array_equal(expr(a, b).numpy(), getattr(ember, op)(a, b).numpy())
    np.testing.assert_array_equal(expr(a.numpy(), b.numpy()), expr(a, b).numpy())


def test_reflected_operators_with_numpy_and_numbers():
    e, t = pair(sample((3,), "float32", low=1))
    assert_same(2 - e, 2 - t)
    assert_same(2 / e, 2 / t)
    assert_same(2 ** e, 2 ** t)
    assert_same(7 % e, 7 % t)
    assert_same(7 // e, 7 // t)


_NAN, _INF = float("nan"), float("inf")
REPR_CASES = {
    "fixed": [[1.123456, 2.5], [3e-5, 1000.25]], "decimals": [1.5, 2.25, 3.0],
    "ints": [1, 20, -300], "scalar": 3.14159, "tiny_scalar": 1e-5, "bools": [True, False],
    "empty": [], "huge": [[1e10, 1.0]], "whole_with_nonfinite": [_NAN, 1.0, _INF],
    "nan_and_decimal": [_NAN, 1.5, -_INF], "zeros": [0.0, 0.0], "negative": [-1.0, 2.0],
    "small": [1e-5, 2e-5], "wide_range": [123456.0, 1.5],
}


@pytest.mark.parametrize("data", REPR_CASES.values(), ids=REPR_CASES.keys())
def test_repr_matches_torch(data):
    e, t = pair(np.asarray(data)) if isinstance(data, list) and data and \
        isinstance(data[0], bool) else (ember.tensor(data), torch.tensor(data))
    assert repr(e) == repr(t).replace("torch.", "ember.")


@pytest.mark.parametrize("shape", [(5, 7), (40, 40), (3, 4, 5), (2000,), (10, 300), (0, 3)])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool"])
def test_repr_of_larger_and_summarised_tensors_matches_torch(shape, dtype):
    e, t = pair(sample(shape, dtype))
    assert repr(e) == repr(t).replace("torch.", "ember.")


def test_set_printoptions_matches_torch():
    e, t = pair(sample((3, 4), "float32"))
    try:
        ember.set_printoptions(precision=2)
        torch.set_printoptions(precision=2)
        assert repr(e) == repr(t)
        ember.set_printoptions(sci_mode=True)
        torch.set_printoptions(sci_mode=True)
        assert repr(e) == repr(t)
        with pytest.raises(ValueError, match="precision must be a non-negative int"):
            ember.set_printoptions(precision=-1)
    finally:
        ember.set_printoptions(profile="default")
        torch.set_printoptions(profile="default")
    assert repr(e) == repr(t)


@pytest.mark.torch
def test_is_contiguous_matches_pytorch_on_cpu_views():
    torch = pytest.importorskip("torch")
    x, tx = ember.ones(3, 4), torch.ones(3, 4)
    views = [lambda a: a, lambda a: a.t(), lambda a: a.t().contiguous(),
             lambda a: a[:, 1:3], lambda a: a[1:3], lambda a: a[:, :1],
             lambda a: a.expand(2, 3, 4), lambda a: a.reshape(12)[::2],
             lambda a: a.unsqueeze(0), lambda a: a[0]]
    for i, v in enumerate(views):
        assert v(x).is_contiguous() == v(tx).is_contiguous(), f"view {i}"
    assert ember.ones(()).is_contiguous() and ember.ones(0, 3).t().is_contiguous() \
        == torch.ones(0, 3).t().is_contiguous()
    with pytest.raises(ValueError, match="memory_format"):
        x.is_contiguous(memory_format="channels_last")


@pytest.mark.torch
def test_stride_matches_pytorch_on_cpu_views():
    torch = pytest.importorskip("torch")
    x, tx = ember.arange(24.0).reshape(2, 3, 4), torch.arange(24.0).reshape(2, 3, 4)
    views = [lambda a: a, lambda a: a.transpose(0, 2), lambda a: a[:, 1:, ::2],
             lambda a: a[1], lambda a: a.unsqueeze(1), lambda a: a.expand(5, 2, 3, 4),
             lambda a: a.permute(1, 2, 0).contiguous(), lambda a: a[:0]]
    for i, v in enumerate(views):
        assert v(x).stride() == v(tx).stride(), f"view {i}"
        assert v(x).stride(-1) == v(tx).stride(-1), f"view {i}"
    assert ember.ones(()).stride() == () == torch.ones(()).stride()
    assert ember.ones(0, 3).stride() == torch.ones(0, 3).stride()
    with pytest.raises(IndexError, match="stride.*no dimensions"):
        ember.ones(()).stride(0)
    with pytest.raises(IndexError, match=r"stride.*\[-3, 2\].*got 3"):
        x.stride(3)
    with pytest.raises(TypeError, match="stride.*'dim' must be int"):
        x.stride(1.0)


def test_stride_of_layout_less_arrays_is_row_major():
    from ember.backend import row_major_strides
    assert row_major_strides((2, 3, 4)) == (12, 4, 1)
    assert row_major_strides((3, 0)) == (1, 1) and row_major_strides(()) == ()
    x = ember.arange(6.0, device="reference").reshape(2, 3)
    assert x.stride() == (3, 1) and x.t().stride() == (2, 1)
