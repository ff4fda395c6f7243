"""Helpers for checking ember ops against PyTorch (the test oracle) and numpy."""

from __future__ import annotations

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16",
          "float32", "float64"]
FLOATS = ["float16", "bfloat16", "float32", "float64"]


def tdtype(name: str):
    return getattr(torch, name)


def edtype(name: str):
    return getattr(ember, name)


def sample(shape, dtype="float32", low=-4, high=4, seed=0):
    """A numpy array of ``dtype`` (by name) with small, exactly representable values."""
    rng = np.random.default_rng(seed)
    if dtype == "bool":
        return rng.random(shape) > 0.5
    if dtype in ("float16", "bfloat16", "float32", "float64"):
        v = rng.integers(low * 4, high * 4, size=shape) / 4.0
        return v.astype(np.float32 if dtype == "bfloat16" else dtype)
    lo = 0 if dtype == "uint8" else low
    return rng.integers(lo, high, size=shape).astype(dtype)


def pair(arr, dtype=None):
    """``(ember tensor, torch tensor)`` holding the same values."""
    name = dtype or str(arr.dtype)
    e = ember.tensor(arr, dtype=edtype(name))
    t = torch.tensor(np.asarray(arr), dtype=tdtype(name))
    return e, t


def to_numpy(x):
    if isinstance(x, ember.Tensor):
        if x.dtype is ember.bfloat16:
            return x.float().numpy()
        return x.numpy()
    if x.dtype == torch.bfloat16:
        x = x.float()
    return x.detach().numpy()


def assert_same(got, want, *, rtol=None, atol=None, check_dtype=True):
    """``got`` (ember) equals ``want`` (torch): dtype, shape and values (NaN == NaN)."""
    if isinstance(want, (tuple, list)):
        assert isinstance(got, (tuple, list)), f"expected a sequence, got {type(got)}"
        assert len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            assert_same(g, w, rtol=rtol, atol=atol, check_dtype=check_dtype)
        return
    assert isinstance(got, ember.Tensor), f"expected a Tensor, got {type(got).__name__}"
    if check_dtype:
        assert got.dtype.name == str(want.dtype).rsplit(".", 1)[-1], (got.dtype, want.dtype)
    assert tuple(got.shape) == tuple(want.shape), (tuple(got.shape), tuple(want.shape))
    g, w = to_numpy(got), to_numpy(want)
    if g.dtype.kind in "fc" or w.dtype.kind in "fc":
        if rtol is None:
            # Low-precision floats round differently inside numpy's and PyTorch's loops.
            rtol = {2: 1e-2, 4: 1e-5, 8: 1e-12}[got.element_size()]
        np.testing.assert_allclose(g.astype(np.float64), w.astype(np.float64), rtol=rtol,
                                   atol=atol or 0, equal_nan=True)
    else:
        np.testing.assert_array_equal(g, w)


def assert_meta_agrees(fn, *args, **kwargs):
    """``fn`` on meta copies of the tensor arguments gives the CPU result's shape/dtype."""
    def meta(x):
        if isinstance(x, ember.Tensor):
            return x.to("meta")
        if isinstance(x, (list, tuple)):
            return type(x)(meta(v) for v in x)
        return x
    cpu = fn(*args, **kwargs)
    m = fn(*[meta(a) for a in args], **{k: meta(v) for k, v in kwargs.items()})
    cpu = cpu if isinstance(cpu, (tuple, list)) else (cpu,)
    m = m if isinstance(m, (tuple, list)) else (m,)
    assert len(cpu) == len(m)
    for c, x in zip(cpu, m, strict=True):
        assert x.device.type == "meta"
        assert (tuple(x.shape), x.dtype) == (tuple(c.shape), c.dtype)


def outcome(fn, *args, **kwargs):
    """``fn(*args, **kwargs)``'s result, or the exception it raised (as a value)."""
    try:
        return fn(*args, **kwargs)
    except Exception as e:  # (the error is the outcome being compared)
        return e


def assert_same_outcome(got, want, **kw):
    """Outcomes of ember and PyTorch agree: both raise an error of the same kind (ember's
    is an instance of PyTorch's class: ``OpError`` is both a RuntimeError and a
    ValueError), or both return equal values of one dtype (``assert_same``)."""
    if isinstance(want, Exception):
        assert isinstance(got, Exception), (
            f"PyTorch raises {type(want).__name__}: {want}; ember returned {got!r}")
        # A dtype the op does not take: PyTorch's kernels say "not implemented for 'Bool'"
        # (NotImplementedError or RuntimeError), ember's schema raises a TypeError.
        unsupported = "not implemented for '" in str(want) and isinstance(got, TypeError)
        assert isinstance(got, type(want)) or unsupported, (
            f"PyTorch raises {type(want).__name__}: {want}; ember {type(got).__name__}: {got}")
        return
    if isinstance(got, Exception):
        raise AssertionError(f"ember raises {type(got).__name__}: {got}; PyTorch returns "
                             f"{want!r}") from got
    assert_same(got, want, **kw)
