"""The elementary functions (asin … atanh, hypot, logaddexp, signbit, copysign) as
ember ops: values, dtypes and gradients against PyTorch, at the edges too."""

from __future__ import annotations

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

EDGES = np.array([-2.0, -1.0, -0.5, 0.0, -0.0, 0.5, 1.0, 3.0, np.inf, -np.inf, np.nan,
                  1e30, 1e-30, 1e4], np.float64)
UNARY = ["asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "signbit"]
BINARY = ["hypot", "logaddexp", "copysign"]


def _same(e, t, rtol):
    e, t = e.numpy(), t.numpy()
    assert e.dtype == t.dtype
    if e.dtype == np.bool_:
        assert e.tolist() == t.tolist()
    else:
        np.testing.assert_allclose(e, t, rtol=rtol, atol=0, equal_nan=True)
        assert np.array_equal(np.signbit(e[~np.isnan(e)]), np.signbit(t[~np.isnan(t)]))


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("name", UNARY)
def test_unary_values_match_pytorch(name, dtype):
    with np.errstate(over="ignore"):  # 1e30 is inf in float16, on both sides
        x = EDGES.astype(dtype)
    rtol = {"float16": 2e-3, "float32": 4e-6, "float64": 1e-13}[dtype]
    _same(getattr(ember, name)(ember.tensor(x)), getattr(torch, name)(torch.tensor(x)), rtol)
    _same(getattr(ember.tensor(x), name)(), getattr(torch.tensor(x), name)(), rtol)


@pytest.mark.parametrize("name", BINARY)
def test_binary_values_match_pytorch(name):
    x, y = EDGES.astype(np.float32), np.roll(EDGES, 3).astype(np.float32)
    _same(getattr(ember, name)(ember.tensor(x), ember.tensor(y)),
          getattr(torch, name)(torch.tensor(x), torch.tensor(y)), 4e-6)


@pytest.mark.parametrize("name", UNARY[:-1] + ["copysign"])
def test_integers_promote_to_the_default_float(name):
    x = [1, 2, 3]
    args = (x, [-1, 1, -1]) if name == "copysign" else (x,)
    e = getattr(ember, name)(*[ember.tensor(a) for a in args])
    t = getattr(torch, name)(*[torch.tensor(a) for a in args])
    assert e.dtype == ember.float32 and str(t.dtype) == "torch.float32"
    np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-6, equal_nan=True)


@pytest.mark.parametrize("name", UNARY[:-1] + BINARY)
def test_gradients_match_pytorch(name):
    rng = np.random.default_rng(0)
    lo = 1.5 if name == "acosh" else -0.9
    x = rng.uniform(lo, lo + 1.8, (4, 3))
    y = rng.uniform(-2, 2, (4, 3))
    args = (x, y) if name in BINARY else (x,)
    e = [ember.tensor(a, requires_grad=True) for a in args]
    t = [torch.tensor(a, requires_grad=True) for a in args]
    getattr(ember, name)(*e).sum().backward()
    getattr(torch, name)(*t).sum().backward()
    for a, b in zip(e, t, strict=True):
        if a.grad is None:  # copysign's sign argument: no path (PyTorch gives zeros)
            assert name == "copysign" and not b.grad.any()
            continue
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_python_numbers_keep_the_tensors_dtype():
    x = ember.tensor([1.0, -2.0], dtype=ember.float64)
    assert ember.hypot(x, 2.0).dtype == ember.float64
    assert ember.copysign(x, -1.0).tolist() == [-1.0, -2.0]
    assert ember.logaddexp(ember.tensor([0.0], dtype=ember.float16), 0.0).dtype == ember.float16


@pytest.mark.parametrize("device", ["cpu", "reference", "rocm"])
def test_signbit_reads_the_bit_of_negative_nan(device):
    """The decomposition cannot see -nan's sign (no comparison does); cpu, the kit and
    rocm read the bit natively, as torch.signbit and the Array API standard do."""
    if not ember.is_available(device):
        pytest.skip(f"no {device} device here")
    x = np.array([-np.nan, np.nan, -0.0, 0.0, -1.0, np.inf], np.float32)
    got = ember.signbit(ember.tensor(x, device=device)).tolist()
    assert got == torch.signbit(torch.tensor(x)).tolist() == [True, False, True, False,
                                                             True, False]
    assert ember.signbit(ember.tensor([-3, 0, 2], device=device)).tolist() == [True, False,
                                                                              False]
