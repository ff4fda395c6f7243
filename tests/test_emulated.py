"""float16/bfloat16 stored in 16 bits and computed in float32 (ember.emulated) on the
backends whose runtime lacks them, checked against PyTorch on the CPU."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.emulated import bfloat16_bits, float32_from_bfloat16_bits

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

#: the backends that emulate a 16-bit float, and the dtypes they emulate
EMULATING = [("reference", "float16"), ("reference", "bfloat16"), ("rocm", "float16"),
             ("rocm", "bfloat16"), ("xpu", "bfloat16")]


def _usable(device: str) -> bool:
    try:
        return ember.is_available(device)
    except Exception:
        return False


def _cases():
    return [pytest.param(d, t, marks=pytest.mark.skipif(not _usable(d), reason=f"no {d}"),
                         id=f"{d}-{t}") for d, t in EMULATING]


def _hard_floats() -> np.ndarray:
    """float32 values that exercise rounding: exact ties (both parities), values just
    either side of them, subnormals, the largest floats (overflow to inf), +-0, inf."""
    rng = np.random.default_rng(0)
    u = rng.integers(0, 2 ** 32, 4000, dtype=np.uint64).astype(np.uint32)
    ties = (u & np.uint32(0xFFFF0000)) | np.uint32(0x8000)
    near = np.concatenate([ties - np.uint32(1), ties + np.uint32(1)])
    f = np.concatenate([u, ties, near]).view(np.float32)
    extra = np.array([0.0, -0.0, np.inf, -np.inf, 1e-45, -1e-40, 3.4028235e38, 65504.0,
                      65520.0, 65519.99, 6e-8, 2.9e-8, 1.0 + 2 ** -8, 1.0 + 3 * 2 ** -8],
                     np.float32)
    return np.concatenate([f[np.isfinite(f)], extra]).astype(np.float32)


def test_bfloat16_bits_round_as_pytorch():
    f = _hard_floats()
    want = torch.from_numpy(f).to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
    np.testing.assert_array_equal(bfloat16_bits(f), want)
    # widening is exact: bfloat16 is float32's top half
    np.testing.assert_array_equal(float32_from_bfloat16_bits(want),
                                  torch.from_numpy(want.view(np.int16)).view(torch.bfloat16)
                                  .float().numpy())


def test_bfloat16_bits_keep_nan_and_0d():
    nan = np.array([np.nan, -np.nan, np.float32(np.nan) * 0], np.float32)
    nan = np.concatenate([nan, np.array([0x7F800001, 0xFFFFFFFF], np.uint32).view(np.float32)])
    back = float32_from_bfloat16_bits(bfloat16_bits(nan))
    assert np.isnan(back).all()  # (a payload in the low half alone must not become inf)
    assert bfloat16_bits(np.float32(1.0)).shape == ()


@pytest.mark.parametrize("device,dtype", _cases())
def test_conversions_round_as_pytorch(device, dtype):
    f = _hard_floats()
    tdt = getattr(torch, dtype)
    want = torch.from_numpy(f).to(tdt)
    got = ember.tensor(f, device=device).to(getattr(ember, dtype))
    assert got.dtype is getattr(ember, dtype)
    np.testing.assert_array_equal(got.cpu().numpy().view(np.uint16),
                                  want.view(torch.int16).numpy().view(np.uint16))
    # back to float32: exact
    np.testing.assert_array_equal(got.float().cpu().numpy(), want.float().numpy())
    # NaN stays NaN
    n = ember.tensor([np.nan, -np.nan], device=device).to(getattr(ember, dtype))
    assert np.isnan(n.float().cpu().numpy()).all()


def _pair(device, dtype, shape=(5, 7), seed=0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape).astype(np.float32) * 3
    b = rng.standard_normal(shape).astype(np.float32) + 0.5
    tdt = getattr(torch, dtype)
    ta, tb = torch.from_numpy(a).to(tdt), torch.from_numpy(b).to(tdt)
    d = getattr(ember, dtype)
    ea, eb = ember.tensor(a, device=device).to(d), ember.tensor(b, device=device).to(d)
    return ea, eb, ta, tb


def _same(e, t, rtol=0.0):
    assert e.dtype.name == str(t.dtype).replace("torch.", "")
    got = e.float().cpu().numpy()
    want = t.float().numpy()
    if rtol == 0:
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("device,dtype", _cases())
def test_arithmetic_rounds_once_as_pytorch(device, dtype):
    ea, eb, ta, tb = _pair(device, dtype)
    # one float32 operation rounded once: PyTorch's CPU kernels give the same bits
    for f in (lambda x, y: x + y, lambda x, y: x * y, lambda x, y: x - y,
              lambda x, y: x / y, lambda x, y: x * 2.5 + 1, lambda x, y: -x.abs()):
        _same(f(ea, eb), f(ta, tb))
    _same(ea.t().contiguous(), ta.t().contiguous())
    _same(ember.cat([ea, eb]), torch.cat([ta, tb]))
    _same(ea > eb, ta > tb)
    assert (ea.argmax() == eb.argmax()).item() == (ta.argmax() == tb.argmax()).item()


@pytest.mark.parametrize("device,dtype", _cases())
def test_transcendentals_and_reductions_within_one_ulp(device, dtype):
    ea, eb, ta, tb = _pair(device, dtype, seed=1)
    ulp = 2.0 ** -7 if dtype == "bfloat16" else 2.0 ** -10
    _same(ea.exp(), ta.exp(), ulp)
    _same(ea.tanh(), ta.tanh(), ulp)
    _same(ea.softmax(-1), ta.softmax(-1), ulp)
    # accumulations in float32, one rounding at the end
    _same(ea.sum(1), ta.sum(1), ulp)
    _same(ea @ eb.t(), ta @ tb.t(), 4 * ulp)
    s = ea.sum(dtype=ember.float32)  # an explicit float32 result is not rounded
    assert s.dtype is ember.float32
    np.testing.assert_allclose(s.item(), ta.float().sum().item(), rtol=1e-5)


@pytest.mark.parametrize("device,dtype", _cases())
def test_in_place_on_a_view_writes_the_16_bit_base(device, dtype):
    ea, _, ta, _ = _pair(device, dtype, seed=2)
    view, tview = ea[:, 1::2], ta[:, 1::2]
    view.mul_(3.0)
    tview.mul_(3.0)
    _same(ea, ta)
    assert ea._version == view._version == 1
    ea.zero_()
    assert ea.float().abs().sum().item() == 0
    z = ember.zeros(2, 3, dtype=getattr(ember, dtype), device=device)
    z.copy_(ember.ones(2, 3, device=device))  # a float32 source into a 16-bit target
    assert z.dtype is getattr(ember, dtype) and z.sum().item() == 6


@pytest.mark.parametrize("device,dtype", _cases())
def test_autograd_in_low_precision(device, dtype):
    ea, eb, ta, tb = _pair(device, dtype, seed=3)
    ea.requires_grad_(True)
    ta.requires_grad_(True)
    (ea * eb).sum().backward()
    (ta * tb).sum().backward()
    assert ea.grad.dtype is getattr(ember, dtype)
    _same(ea.grad, ta.grad)


def test_float32_kernels_are_not_converted(monkeypatch):
    if not _usable("reference"):
        pytest.skip("no reference")
    from ember.device import get_backend
    em = get_backend("reference").emulation
    calls = []
    monkeypatch.setattr(type(em), "widen", lambda self, n: calls.append(n))
    x = ember.ones(3, device="reference")
    assert (x + x).sum().item() == 6 and calls == []


@pytest.mark.parametrize("device,dtype", _cases())
def test_copy_between_16_bit_tensors_keeps_the_bits(device, dtype):
    d = getattr(ember, dtype)
    f16 = dtype == "float16"  # a signalling NaN, -NaN, the smallest subnormal, -0, inf
    bits = np.array([0x7C01 if f16 else 0x7F81, 0xFFFF, 0x0001, 0x8000,
                     0x7C00 if f16 else 0x7F80], np.uint16)
    src = ember.tensor(bits.view(d.np), device=device)
    dst = ember.zeros(5, dtype=d, device=device)
    dst.copy_(src)  # NaN payloads and signs kept: no float32 round trip
    np.testing.assert_array_equal(dst.cpu().numpy().view(np.uint16), bits)


@pytest.mark.parametrize("device", [pytest.param(d, marks=pytest.mark.skipif(
    not _usable(d), reason=f"no {d}")) for d in ("reference", "rocm")])
def test_upcast_memory_is_linear(device):
    """An op on bfloat16 operands holds one float32 temporary per operand and result:
    the peak grows with the input at a fixed number of bytes per element."""
    import ember.memory as mem
    peaks = []
    for n in (1 << 14, 1 << 16):
        a = ember.ones(n, dtype=ember.bfloat16, device=device)
        b = ember.ones(n, dtype=ember.bfloat16, device=device)
        mem.reset_peak_memory_stats(device)
        base = mem.memory_allocated(device)
        c = a * b
        peaks.append(mem.max_memory_allocated(device) - base)
        assert c.dtype is ember.bfloat16
        del a, b, c
    # widened a and b, the float32 product, the bfloat16 result: 4 + 4 + 4 + 2 bytes
    print("peak bytes per element", [p / n for n, p in zip((1 << 14, 1 << 16), peaks,
                                                           strict=True)])
    for n, p in zip((1 << 14, 1 << 16), peaks, strict=True):
        assert 2 * n <= p <= 14 * n + 4096, (n, p)
    assert peaks[1] <= 4 * peaks[0] + 8192


@pytest.mark.parametrize("device", [pytest.param(d, marks=pytest.mark.skipif(
    not _usable(d), reason=f"no {d}")) for d in ("reference", "rocm")])
def test_a_kernel_set_later_is_emulated_too(device):
    from ember.device import get_backend
    from ember.dispatch import clear_cache
    b = get_backend(device)
    old = b.kernels["neg"]
    seen = []

    def neg(x):  # a float32-only kernel, set the documented way
        seen.append(x.dtype)
        return old(x)
    b.kernels["neg"] = neg
    clear_cache()
    try:
        x = ember.tensor([1.5, -2.0], dtype=ember.bfloat16, device=device)
        assert (-x).tolist() == [-1.5, 2.0] and (-x).dtype is ember.bfloat16
        assert seen and all(str(d).endswith("float32") for d in seen)  # (kit: library dtypes)
    finally:
        b.kernels["neg"] = old
        clear_cache()


@pytest.mark.parametrize("device,dtype", _cases())
def test_mean_and_var_accumulate_in_float32(device, dtype):
    # five float16 maxima: a 16-bit sum overflows, PyTorch's float32 accumulation does
    # not; 300 ones: a bfloat16 running sum would stop at 256
    x = np.full(5, 65504.0, np.float32) if dtype == "float16" else np.ones(300, np.float32)
    d, tdt = getattr(ember, dtype), getattr(torch, dtype)
    e, t = ember.tensor(x, device=device).to(d), torch.from_numpy(x).to(tdt)
    _same(e.mean(), t.mean())
    _same(e.var(unbiased=False), t.var(unbiased=False))
    _same(e.std(), t.std())


@pytest.mark.skipif(not _usable("reference"), reason="no reference")
def test_isfinite_and_isinf_of_huge_finite_complex_numbers():
    # |3e38+3e38j| overflows float32, the number is finite (found by fuzzing reference)
    z = [3.4028235e38 + 3.4028235e38j, complex("inf+1j"), complex("nan+0j"), 1 + 1j]
    t = torch.tensor(z, dtype=torch.complex64)
    e = ember.tensor(z, dtype=ember.complex64, device="reference")
    assert e.isfinite().tolist() == t.isfinite().tolist()
    assert e.isinf().tolist() == t.isinf().tolist()
