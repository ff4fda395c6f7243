"""Type promotion against PyTorch: tensor/tensor, tensor/0-d tensor, tensor/Python
number, and what ops return for each dtype."""

import itertools

import numpy as np
import pytest

import ember
from _oracle import DTYPES, edtype, tdtype, torch

pytestmark = pytest.mark.torch


def _name(d):
    return str(d).rsplit(".", 1)[-1]


def test_promote_types_table_matches_torch():
    bad = [(a, b) for a, b in itertools.product(DTYPES, DTYPES)
           if ember.promote_types(edtype(a), edtype(b)).name !=
           _name(torch.promote_types(tdtype(a), tdtype(b)))]
    assert bad == []


@pytest.mark.parametrize("zero_dim", [False, True])
def test_result_type_with_zero_dim_tensors(zero_dim):
    bad = []
    for a, b in itertools.product(DTYPES, DTYPES):
        ta, tb = torch.ones(2, dtype=tdtype(a)), torch.ones((), dtype=tdtype(b))
        ea = ember.ones(2, dtype=edtype(a))
        eb = ember.ones((), dtype=edtype(b)) if zero_dim else ember.ones(3, dtype=edtype(b))
        if not zero_dim:
            tb = torch.ones(3, dtype=tdtype(b))
        if ember.result_type(ea, eb).name != _name(torch.result_type(ta, tb)):
            bad.append((a, b))
    assert bad == []


@pytest.mark.parametrize("number", [True, 2, 2.5])
def test_result_type_with_python_numbers(number):
    bad = []
    for a in DTYPES:
        t, e = torch.ones(2, dtype=tdtype(a)), ember.ones(2, dtype=edtype(a))
        if ember.result_type(e, number).name != _name(torch.result_type(t, number)):
            bad.append(a)
    assert bad == []
    # numbers alone: the highest category's default dtype
    assert ember.result_type(number, 1.5) is ember.float32
    assert ember.full((1,), number).dtype.name == _name(torch.full((1,), number).dtype)


@pytest.mark.parametrize("op", ["add", "mul", "true_divide", "maximum", "eq", "where"])
def test_ops_return_promoted_dtypes(op):
    bad = []
    for a, b in itertools.product(DTYPES, DTYPES):
        ta, tb = torch.ones(2, dtype=tdtype(a)), torch.ones(2, dtype=tdtype(b))
        ea, eb = ember.ones(2, dtype=edtype(a)), ember.ones(2, dtype=edtype(b))
        if op == "where":
            want = torch.where(ta > 0, ta, tb)
            got = ember.where(ea > 0, ea, eb)
        else:
            want = getattr(torch, op)(ta, tb)
            got = getattr(ember, op)(ea, eb)
        if got.dtype.name != _name(want.dtype):
            bad.append((a, b, got.dtype.name, _name(want.dtype)))
        np.testing.assert_allclose(np.asarray(got.numpy(), np.float64),
                                   want.to(torch.float64).numpy())
    assert bad == []


def test_default_dtype_drives_python_floats():
    assert ember.tensor([1.0]).dtype is ember.float32
    assert (ember.ones(2, dtype=ember.int32) * 1.5).dtype is ember.float32
    ember.set_default_dtype(ember.float64)
    try:
        assert ember.tensor([1.0]).dtype is ember.float64
        assert (ember.ones(2, dtype=ember.int32) * 1.5).dtype is ember.float64
        assert ember.arange(3.0).dtype is ember.float64
    finally:
        ember.set_default_dtype(ember.float32)
    assert (ember.ones(2, dtype=ember.int32) * 1.5).dtype is ember.float32


def test_dtype_names_and_conversions():
    for name in DTYPES:
        d = edtype(name)
        assert ember.zeros(1, dtype=name).dtype is d
        assert ember.ones(2).to(d).dtype is d
    assert ember.ones(1).double().dtype is ember.float64
    assert ember.ones(1).long().dtype is ember.int64
    assert ember.ones(1).half().dtype is ember.float16
    assert ember.ones(1).bool().dtype is ember.bool
    assert ember.tensor([1.7, -1.7]).int().tolist() == [1, -1]  # truncation, as PyTorch
