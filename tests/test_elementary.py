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


@pytest.mark.parametrize("device", ["cpu", "reference", "xpu", "rocm"])
def test_signbit_reads_the_bit_of_negative_nan(device):
    """The decomposition cannot see -nan's sign (no comparison does); cpu, the kit's
    backends (reference, xpu) and rocm read the bit natively, as torch.signbit and the
    Array API standard do."""
    if not ember.is_available(device):
        pytest.skip(f"no {device} device here")
    x = np.array([-np.nan, np.nan, -0.0, 0.0, -1.0, np.inf], np.float32)
    got = ember.signbit(ember.tensor(x, device=device)).tolist()
    assert got == torch.signbit(torch.tensor(x)).tolist() == [True, False, True, False,
                                                             True, False]
    assert ember.signbit(ember.tensor([-3, 0, 2], device=device)).tolist() == [True, False,
                                                                              False]


# --- complex arguments: C99 annex G's special values, as numpy's and PyTorch's ------------

COMPLEX_UNARY = UNARY[:-1]


def _complex_grid(dtype):
    big = 1e300 if dtype == "complex128" else 1e30
    parts = [0.0, -0.0, 1.5, -1.5, big, np.inf, -np.inf, np.nan]
    return np.array([complex(a, b) for a in parts for b in parts], dtype)


def _same_complex(got, want, rtol):
    """Equal NaN positions and infinities, finite parts within ``rtol`` (or below the
    smallest normal number), and the sign of every zero both sides have."""
    for g, w in ((got.real, want.real), (got.imag, want.imag)):
        np.testing.assert_array_equal(np.isnan(g), np.isnan(w))
        tiny = np.finfo(g.dtype).tiny * 1e10
        np.testing.assert_allclose(g, w, rtol=rtol, atol=tiny, equal_nan=True)
        zeros = (g == 0) & (w == 0)
        np.testing.assert_array_equal(np.signbit(g[zeros]), np.signbit(w[zeros]))


@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
@pytest.mark.parametrize("name", COMPLEX_UNARY)
def test_complex_special_values_match_pytorch(name, dtype):
    # infinities, NaNs, signed zeros and |z| whose square overflows: the compositions
    # gave NaN, the wrong side of a branch cut or inf where C99 (annex G) has a value
    z = _complex_grid(dtype)
    got = getattr(ember, name)(ember.tensor(z)).numpy()
    want = getattr(torch, name)(torch.tensor(z)).numpy()
    if name == "acos":  # at ±0 + 0j PyTorch has pi/2 + 0j; C99, numpy and the standard -0j
        at_zero = z == 0
        assert (np.signbit(got.imag) != np.signbit(z.imag))[at_zero].all()
        want = np.where(at_zero, got, want)
    _same_complex(got, want, 2e-6 if dtype == "complex64" else 1e-13)


@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
@pytest.mark.parametrize("name", COMPLEX_UNARY)
def test_complex_values_match_pytorch_over_magnitudes(name, dtype):
    # from 1e-12 (log(1 + t) lost t's digits) to beyond sqrt(max) (z * z overflowed)
    rng = np.random.default_rng(5)
    top = 30 if dtype == "complex64" else 200
    z = (10.0 ** rng.uniform(-12, top, 600) * np.exp(2j * np.pi * rng.uniform(size=600)))
    z = z.astype(dtype)
    got = getattr(ember, name)(ember.tensor(z)).numpy()
    want = getattr(torch, name)(torch.tensor(z)).numpy()
    finite = np.isfinite(want)
    np.testing.assert_array_equal(np.isfinite(got), finite)
    rel = np.abs(got[finite] - want[finite]) / np.abs(want[finite])
    assert rel.max() < (1e-6 if dtype == "complex64" else 1e-14)


@pytest.mark.parametrize("name", COMPLEX_UNARY)
def test_complex_gradients_match_pytorch(name):
    # on the axes too (|x| has no slope at 0: the parts' signs must not come from abs)
    rng = np.random.default_rng(2)
    z = rng.standard_normal(12) * 2 + 1j * rng.standard_normal(12) * 2
    z = np.concatenate([z, [0.5 + 0j, -3 + 0j, 0.5j, -0.3j, 1e-9 + 1e-9j, 1e9 - 3e8j]])
    if name in ("sinh", "cosh"):
        z = z[np.abs(z.real) < 100]
    w = 0.3 - 0.7j
    e, t = ember.tensor(z, requires_grad=True), torch.tensor(z, requires_grad=True)
    (getattr(ember, name)(e) * w).real.sum().backward()
    (getattr(torch, name)(t) * w).real.sum().backward()
    # (atol: cosh's real decomposition, (e^x + e^-x) / 2, differentiates with cancellation)
    np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-15)
