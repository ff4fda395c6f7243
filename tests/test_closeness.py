"""isclose, allclose and equal against PyTorch's, on the values where they differ from
a naive |a - b| <= tol: infinities, NaN, integers, broadcasting, empty tensors."""

from __future__ import annotations

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

SPECIAL = [1.0, float("nan"), float("inf"), -float("inf"), 2.0, 0.0, -0.0, 1e-9, 1e30]
OTHER = [1.0 + 1e-9, float("nan"), float("inf"), float("inf"), 2.1, 1e-9, 0.0, 0.0, 1.00001e30]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kw", [{}, {"equal_nan": True}, {"rtol": 0.1}, {"atol": 0.5},
                                {"rtol": 0.0, "atol": 0.0}])
def test_isclose_matches_pytorch_on_special_values(dtype, kw):
    a, b = np.array(SPECIAL, dtype), np.array(OTHER, dtype)
    got = ember.isclose(ember.tensor(a), ember.tensor(b), **kw)
    want = torch.isclose(torch.tensor(a), torch.tensor(b), **kw)
    assert got.dtype == ember.bool
    assert got.tolist() == want.tolist()
    assert ember.allclose(ember.tensor(a), ember.tensor(b), **kw) == \
        torch.allclose(torch.tensor(a), torch.tensor(b), **kw)


def test_isclose_on_integers_bools_broadcasting_and_empty():
    i, j = [1, 2, 10], [1, 3, 12]
    for kw in ({}, {"atol": 1}, {"rtol": 0.2}):
        assert ember.isclose(ember.tensor(i), ember.tensor(j), **kw).tolist() == \
            torch.isclose(torch.tensor(i), torch.tensor(j), **kw).tolist()
    assert ember.isclose(ember.tensor([True, False]), ember.tensor([True, True])).tolist() \
        == [True, False]
    assert tuple(ember.isclose(ember.ones(2, 1), ember.ones(3)).shape) == (2, 3)
    assert tuple(ember.isclose(ember.ones(0, 3), ember.ones(3)).shape) == (0, 3)
    assert ember.allclose(ember.ones(0), ember.ones(0))
    assert ember.ones(2).allclose(ember.ones(2) + 1e-9)


def test_isclose_refuses_what_pytorch_refuses():
    with pytest.raises(ember.OpError, match="isclose.*same dtype.*float32.*float64"):
        ember.isclose(ember.ones(2), ember.ones(2, dtype=ember.float64))
    with pytest.raises(ember.OpError, match="isclose.*rtol must be greater"):
        ember.isclose(ember.ones(2), ember.ones(2), rtol=-1)
    with pytest.raises(ember.OpError, match="isclose.*atol must be greater"):
        ember.isclose(ember.ones(2), ember.ones(2), atol=float("nan"))


def test_equal_matches_pytorch():
    cases = [([1.0, 2.0], [1.0, 2.0]), ([1.0, float("nan")], [1.0, float("nan")]),
             ([1, 2], [1.0, 2.0]), ([1.0], [1.0, 1.0]), ([], [])]
    for a, b in cases:
        assert ember.equal(ember.tensor(a), ember.tensor(b)) == \
            torch.equal(torch.tensor(a), torch.tensor(b)), (a, b)
    x = ember.arange(6.0).reshape(2, 3)
    assert x.t().equal(x.t().contiguous()) and not x.equal(x.t())
    with pytest.raises(TypeError, match="equal.*'other' must be Tensor"):
        ember.equal(x, 1.0)


def test_isclose_wants_tensors_as_pytorch():
    with pytest.raises(ember.OpError, match="isclose.*must be tensors.*float"):
        ember.isclose(ember.ones(2), 1.0)
