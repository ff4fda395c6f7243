"""ember.fft against torch.fft (values, dtypes and gradients) and numpy.fft, on cpu
(numpy.fft), reference (array-api-strict's fft extension) and xpu (dpnp.fft, oneMKL);
the Array API fft extension; the argument errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember

_rng = np.random.default_rng(1612)
# xpu: dpnp on a SYCL device (Intel's OpenCL CPU runtime in CI); rocm's complex support
# is checked in plugins/rocm/tests/test_rocm_complex.py (it needs EMBER_ROCM_ANY_DEVICE)
_XPU = pytest.param("xpu", marks=pytest.mark.skipif(not ember.is_available("xpu"),
                                                    reason="no SYCL device for ember-xpu"))
_DEVICES = ["cpu", "reference", _XPU]


def _c(*shape):
    return _rng.standard_normal(shape) + 1j * _rng.standard_normal(shape)


def _r(*shape):
    return _rng.standard_normal(shape)


# (function, input, keywords): complex and real inputs, n/s cut and padded, every norm
_CASES = [
    ("fft", _c(5, 6), {}), ("fft", _r(5, 6), {}),
    ("fft", _c(5, 6), dict(n=8, dim=0, norm="ortho")), ("fft", _c(7), dict(n=4, norm="forward")),
    ("ifft", _c(5, 6), {}), ("ifft", _r(5, 6), dict(norm="forward")),
    ("ifft", _r(6), dict(norm="ortho")),
    ("fft2", _c(3, 4, 5), {}), ("ifft2", _r(3, 4, 5), dict(s=(3, 7))),
    ("fftn", _c(3, 4, 5), {}), ("fftn", _r(3, 4, 5), dict(s=(2, 6), norm="ortho")),
    ("ifftn", _c(3, 4, 5), dict(dim=(0, 2))),
    ("rfft", _r(5, 6), {}), ("rfft", _r(7), dict(n=9, norm="ortho")),
    ("rfft2", _r(4, 6), {}), ("rfftn", _r(3, 4, 5), dict(norm="forward")),
    ("irfft", _c(5, 4), {}), ("irfft", _c(5, 4), dict(n=7, dim=0)),
    ("irfft2", _c(4, 6), {}), ("irfftn", _c(3, 4, 5), dict(s=(4, 4, 9))),
    ("irfftn", _c(3, 4, 5), {}),
    ("hfft", _c(5), {}), ("hfft", _c(5), dict(n=9, norm="ortho")),
    ("ihfft", _r(8), {}), ("ihfft", _r(7), dict(norm="forward")),
    ("hfft2", _c(3, 4), {}), ("hfft2", _c(2, 3, 4), dict(s=(5, 7), norm="ortho")),
    ("hfftn", _c(3, 4, 5), {}), ("hfftn", _c(3, 4, 5), dict(dim=(0, 2), norm="forward")),
    ("hfftn", _c(4, 5), dict(s=(3, 6))),
    ("ihfft2", _r(4, 6), {}), ("ihfft2", _r(3, 4, 5), dict(s=(4, 7), norm="ortho")),
    ("ihfftn", _r(3, 4, 5), {}), ("ihfftn", _r(3, 4, 5), dict(dim=(1, 0), norm="forward")),
]


def _ids():
    return [f"{n}-{'c' if np.iscomplexobj(x) else 'r'}{list(x.shape)}-{kw}"
            for n, x, kw in _CASES]


@pytest.mark.parametrize("device", _DEVICES)
@pytest.mark.parametrize("double", [True, False], ids=["64", "32"])
@pytest.mark.parametrize("case", _CASES, ids=_ids())
def test_values_and_gradients_match_torch(case, double, device):
    name, x, kw = case
    if np.iscomplexobj(x):
        tdt = torch.complex128 if double else torch.complex64
    else:
        tdt = torch.float64 if double else torch.float32
    xt = torch.tensor(x, dtype=tdt, requires_grad=True)
    xe = ember.tensor(x, dtype=getattr(ember, str(tdt)[6:]), device=device,
                      requires_grad=True)
    ye, yt = getattr(ember.fft, name)(xe, **kw), getattr(torch.fft, name)(xt, **kw)
    assert str(ye.dtype)[6:] == str(yt.dtype)[6:]
    tol = 1e-10 if double else 2e-4
    np.testing.assert_allclose(ye.detach().cpu().numpy(), yt.detach().resolve_conj().numpy(),
                               rtol=tol, atol=tol)
    # a real loss that weighs every output differently reaches every input's gradient
    w = _r(*yt.shape)
    if yt.is_complex():
        le = (ye.abs() * ember.tensor(w, dtype=ye.abs().dtype, device=device)).sum()
        lt = (yt.abs() * torch.tensor(w, dtype=yt.abs().dtype)).sum()
    else:
        le = (ye * ember.tensor(w, dtype=ye.dtype, device=device)).sum()
        lt = (yt * torch.tensor(w, dtype=yt.dtype)).sum()
    le.backward()
    lt.backward()
    np.testing.assert_allclose(xe.grad.cpu().numpy(), xt.grad.resolve_conj().numpy(),
                               rtol=tol * 10, atol=tol * 10)


@pytest.mark.parametrize("norm", [None, "backward", "forward", "ortho"])
def test_round_trips_and_numpy(norm):
    x = _c(4, 6)
    e = ember.tensor(x)
    np.testing.assert_allclose(ember.fft.fftn(e, norm=norm).numpy(), np.fft.fftn(x, norm=norm),
                               rtol=1e-12)
    np.testing.assert_allclose(ember.fft.ifft(ember.fft.fft(e, norm=norm), norm=norm).numpy(),
                               x, rtol=1e-12)
    r = _r(4, 7)
    back = ember.fft.irfft(ember.fft.rfft(ember.tensor(r), norm=norm), n=7, norm=norm)
    np.testing.assert_allclose(back.numpy(), r, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("device", _DEVICES)
def test_broadcast_and_strided_inputs(device):
    # expanded (stride 0) and transposed operands reach the DFT primitives as they are
    # (dpnp.fft read an expanded input as other values, or refused it)
    c, r = _c(5), _r(4, 6)
    e = ember.tensor(c, device=device).expand(3, 5)
    np.testing.assert_allclose(ember.fft.fft(e).cpu().numpy(),
                               np.fft.fft(np.broadcast_to(c, (3, 5))), rtol=1e-10)
    h = ember.tensor(c[:3], device=device).expand(4, 3)
    np.testing.assert_allclose(ember.fft.irfft2(h, s=(4, 5)).cpu().numpy(),
                               np.fft.irfft2(np.broadcast_to(c[:3], (4, 3)), s=(4, 5)),
                               rtol=1e-10, atol=1e-12)
    t = ember.tensor(r, device=device).t()
    np.testing.assert_allclose(ember.fft.rfft(t).cpu().numpy(), np.fft.rfft(r.T), rtol=1e-10)
    np.testing.assert_allclose(ember.fft.rfft(t[:, ::2]).cpu().numpy(),
                               np.fft.rfft(r.T[:, ::2]), rtol=1e-10)


def test_integer_input_is_transformed_as_the_default_dtype():
    out = ember.fft.fft(ember.tensor([1, 2, 3]))
    assert out.dtype is ember.complex64
    np.testing.assert_allclose(out.numpy(), np.fft.fft([1, 2, 3]), rtol=1e-6)


def test_frequencies_and_shifts_match_torch():
    np.testing.assert_allclose(ember.fft.fftfreq(7, 0.3).numpy(),
                               torch.fft.fftfreq(7, 0.3).numpy(), rtol=1e-6)
    np.testing.assert_allclose(ember.fft.fftfreq(8).numpy(), torch.fft.fftfreq(8).numpy())
    np.testing.assert_allclose(ember.fft.rfftfreq(8, 2).numpy(), torch.fft.rfftfreq(8, 2).numpy())
    assert ember.fft.fftfreq(4, dtype=ember.float64).dtype is ember.float64
    x = _r(4, 5)
    np.testing.assert_array_equal(ember.fft.fftshift(ember.tensor(x)).numpy(), np.fft.fftshift(x))
    np.testing.assert_array_equal(ember.fft.ifftshift(ember.tensor(x), dim=1).numpy(),
                                  np.fft.ifftshift(x, axes=1))


def test_bad_arguments_name_the_function():
    with pytest.raises(ember.OpError, match=r"fft\.fft\(\): argument 'norm'"):
        ember.fft.fft(ember.ones(4), norm="bogus")
    with pytest.raises(ember.OpError, match=r"fft\.rfft\(\): expects a real input"):
        ember.fft.rfft(ember.ones(4, dtype=ember.complex64))
    with pytest.raises(ember.OpError, match=r"fft\.fft\(\): invalid number of data points"):
        ember.fft.fft(ember.ones(4), n=0)
    with pytest.raises(ember.OpError, match=r"fft\.fftn\(\): dimension 3 is out of range"):
        ember.fft.fftn(ember.ones(4, 4), dim=(0, 3))
    with pytest.raises(ember.OpError, match=r"fft\.irfft\(\): invalid number of data points"):
        ember.fft.irfft(ember.ones(1, dtype=ember.complex64))


def test_array_api_fft_extension():
    xp = ember.array_api
    x = xp.asarray(_c(3, 4))
    np.testing.assert_allclose(xp.fft.fft(x, axis=0).numpy(), np.fft.fft(x.numpy(), axis=0),
                               rtol=1e-12)
    np.testing.assert_allclose(xp.fft.fftn(x, axes=(1,), norm="ortho").numpy(),
                               np.fft.fftn(x.numpy(), axes=(1,), norm="ortho"), rtol=1e-12)
    r = xp.asarray(_r(6))
    np.testing.assert_allclose(xp.fft.irfft(xp.fft.rfft(r), n=6).numpy(), r.numpy(), atol=1e-12)
    assert xp.fft.fftfreq(5, d=0.5, dtype=xp.float64).dtype is xp.float64
    np.testing.assert_array_equal(xp.fft.fftshift(r, axes=0).numpy(), np.fft.fftshift(r.numpy()))
