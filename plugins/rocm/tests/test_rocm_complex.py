"""complex64/complex128 on rocm against numpy and PyTorch: creation, host copies, the
parts as views, the float2/double2 arithmetic kernels, the host DFTs, and the clear
error of every other op."""

import numpy as np
import pytest
import torch

import ember

from conftest import needs_rocm

pytestmark = [pytest.mark.rocm, needs_rocm]

R = "rocm"
_rng = np.random.default_rng(16)
_CDTYPES = ["complex64", "complex128"]


def _c(shape, dtype="complex128"):
    return (_rng.standard_normal(shape) + 1j * _rng.standard_normal(shape)).astype(dtype)


def _tol(dtype):
    return dict(rtol=2e-6, atol=2e-6) if str(dtype).endswith("64") else dict(rtol=1e-13)


def _host(t):
    return t.cpu().numpy()


@pytest.mark.parametrize("dtype", _CDTYPES)
def test_creation_and_host_copies(dtype):
    d = getattr(ember, dtype)
    assert ember.zeros(2, 3, dtype=d, device=R).tolist() == [[0j] * 3] * 2
    assert ember.ones(2, dtype=d, device=R).tolist() == [1 + 0j, 1 + 0j]
    f = ember.full((2,), 1.5 - 2j, dtype=d, device=R)
    assert f.dtype is d and f.tolist() == [1.5 - 2j, 1.5 - 2j]
    assert ember.arange(3, dtype=d, device=R).tolist() == [0j, 1 + 0j, 2 + 0j]
    assert ember.empty(4, dtype=d, device=R).shape == (4,)
    x = _c((3, 4), dtype)
    t = ember.tensor(x, device=R)
    assert t.dtype is d and t.device.type == "rocm"
    np.testing.assert_array_equal(_host(t), x)
    # non-contiguous views come back through a complex copy kernel
    np.testing.assert_array_equal(_host(t.t()), x.T)
    np.testing.assert_array_equal(_host(t[1:, ::2]), x[1:, ::2])
    np.testing.assert_array_equal(_host(t.t().contiguous()), x.T)
    assert ember.tensor(1 + 2j, dtype=d, device=R).item() == 1 + 2j
    assert ember.zeros(0, 3, dtype=d, device=R).cpu().shape == (0, 3)
    # to and from the cpu and between dtypes (PyTorch keeps the real part going real)
    np.testing.assert_array_equal(_host(t.to("cpu").to(R)), x)
    back = t.to(ember.complex128 if dtype == "complex64" else ember.complex64)
    np.testing.assert_allclose(_host(back), x, **_tol("complex64"))
    r = ember.tensor(x.real.astype(np.float32), device=R)
    np.testing.assert_array_equal(_host(r.to(d)), x.real.astype(np.float32).astype(dtype))
    np.testing.assert_array_equal(_host(t.real.clone()), x.real)
    y = ember.zeros(3, 4, dtype=d, device=R)
    y.t().copy_(t.t())  # a strided copy_ between complex views
    np.testing.assert_array_equal(_host(y), x)
    y.fill_(2 - 1j)
    assert y[0, 0].item() == 2 - 1j


@pytest.mark.parametrize("dtype", _CDTYPES)
def test_parts_are_views(dtype):
    x = _c((2, 3), dtype)
    t = ember.tensor(x, device=R)
    v = ember.view_as_real(t)
    np.testing.assert_array_equal(_host(v), np.stack([x.real, x.imag], -1))
    v[1, 2, 1] = 5  # a write through the view reaches the complex tensor
    x[1, 2] = x[1, 2].real + 5j
    np.testing.assert_array_equal(_host(t), x)
    t.imag[0] = ember.tensor([1.0, 2.0, 3.0], device=R)
    x.imag[0] = [1.0, 2.0, 3.0]
    np.testing.assert_array_equal(_host(t), x)
    s = t[:, 1:]  # an offset, strided complex view both ways
    np.testing.assert_array_equal(_host(ember.view_as_real(s)),
                                  np.stack([x[:, 1:].real, x[:, 1:].imag], -1))
    np.testing.assert_array_equal(_host(ember.view_as_complex(ember.view_as_real(s))),
                                  x[:, 1:])
    parts = ember.tensor([[1.0, 0.0, 2.0], [3.0, 0.0, 4.0]], device=R)[:, ::2]
    assert ember.view_as_complex(parts).tolist() == [1 + 2j, 3 + 4j]  # (a copy first)
    np.testing.assert_array_equal(_host(t.conj()), np.conj(x))
    z = ember.view_as_complex(ember.tensor([1.0, float("inf")], device=R))
    assert z.shape == () and z.item() == complex(1, float("inf"))


_BINARY = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide,
           "eq": np.equal, "ne": np.not_equal}


@pytest.mark.parametrize("dtype", _CDTYPES)
@pytest.mark.parametrize("name", sorted(_BINARY))
def test_binary_matches_numpy_and_torch(name, dtype):
    x, y = _c((3, 4), dtype), _c((4,), dtype)
    y[1] = x[0, 1]  # (an equal pair for eq/ne)
    a, b = ember.tensor(x, device=R), ember.tensor(y, device=R)
    f = getattr(ember, name)
    want = _BINARY[name](x, y)
    got = f(a, b)  # broadcasting
    assert got.dtype is ember.tensor(want).dtype
    np.testing.assert_allclose(_host(got), want, **_tol(dtype))
    tt = getattr(torch, name)(torch.tensor(x), torch.tensor(y)).numpy()
    np.testing.assert_allclose(_host(got), tt, **_tol(dtype))
    # strided operands, a Python complex number, a real tensor meeting a complex one
    np.testing.assert_allclose(_host(f(a.t(), b[:3])), _BINARY[name](x.T, y[:3]),
                               **_tol(dtype))
    np.testing.assert_allclose(_host(f(a, 2 - 0.5j)), _BINARY[name](x, 2 - 0.5j),
                               **_tol(dtype))
    rdt = np.float32 if dtype == "complex64" else np.float64
    re = ember.tensor(x.real.astype(rdt), device=R)
    np.testing.assert_allclose(_host(f(re, b)), _BINARY[name](x.real.astype(rdt), y),
                               **_tol(dtype))
    np.testing.assert_allclose(_host(f(re, 1j)), _BINARY[name](x.real.astype(rdt), 1j),
                               **_tol(dtype))
    # 0-d and empty operands
    np.testing.assert_allclose(_host(f(a[0, 0], b[1])), _BINARY[name](x[0, 0], y[1]),
                               **_tol(dtype))
    assert f(ember.tensor(x[:0], device=R), b).shape == (0, 4)


def test_arithmetic_edges_match_numpy():
    x = np.array([1 + 1j, complex(float("inf"), 0), complex(float("nan"), 1), 1e30 + 1e30j,
                  0j, -0.0 + 3j], np.complex128)
    y = np.array([0j, 2 + 1j, 1 + 0j, 1e30 - 1e30j, 0j, 1e-300 + 0j], np.complex128)
    a, b = ember.tensor(x, device=R), ember.tensor(y, device=R)
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(_host(a / b), x / y)  # Smith's algorithm, as numpy
        np.testing.assert_array_equal(_host(a * b), x * y)
    # (OpenCL's hypot may be 1 ulp off the correctly rounded one numpy calls)
    np.testing.assert_allclose(_host(ember.abs(a)), np.abs(x), rtol=4e-16)
    assert ember.abs(a).dtype is ember.float64
    np.testing.assert_array_equal(_host(ember.isnan(a)), np.isnan(x))
    np.testing.assert_array_equal(_host(ember.isinf(a)), np.isinf(x))
    np.testing.assert_array_equal(_host(ember.isfinite(a)), np.isfinite(x))
    np.testing.assert_array_equal(_host(-a), -x)


@pytest.mark.parametrize("dtype", _CDTYPES)
def test_unary_alpha_and_in_place(dtype):
    x, y = _c((3, 4), dtype), _c((3, 4), dtype)
    a, b = ember.tensor(x, device=R), ember.tensor(y, device=R)
    np.testing.assert_allclose(_host(ember.add(a, b, alpha=2)), x + 2 * y, **_tol(dtype))
    np.testing.assert_allclose(_host(ember.sub(a, b, alpha=-1.5)), x + 1.5 * y, **_tol(dtype))
    np.testing.assert_allclose(_host(ember.abs(a)), np.abs(x), **_tol(dtype))
    np.testing.assert_allclose(_host(ember.conj_physical(a)), np.conj(x))
    w = a.clone()
    w += b
    w *= 2j
    w -= a
    w /= b
    np.testing.assert_allclose(_host(w), ((x + y) * 2j - x) / y, **_tol(dtype))
    v = a.clone()
    v.t().mul_(b.t())  # in place through a strided view
    np.testing.assert_allclose(_host(v), x * y, **_tol(dtype))
    v.neg_()
    np.testing.assert_allclose(_host(v), -(x * y), **_tol(dtype))
    # an operand overlapping the target in another layout is read before the writes
    sq = ember.tensor(_c((3, 3), dtype), device=R)
    want = _host(sq) + _host(sq).T
    sq.add_(sq.t())
    np.testing.assert_allclose(_host(sq), want, **_tol(dtype))
    re = ember.tensor(x.real.astype(np.float32 if dtype == "complex64" else np.float64),
                      device=R)
    w = a.clone()
    w.mul_(re)  # a real operand
    np.testing.assert_allclose(_host(w), x * re.cpu().numpy(), **_tol(dtype))


_FFT = [("fft", {}), ("ifft", dict(norm="ortho")), ("fft2", {}), ("ifftn", dict(dim=(0,))),
        ("rfft", {}), ("irfft", dict(n=7)), ("rfftn", dict(norm="forward")), ("irfft2", {}),
        ("hfft", {}), ("ihfft", {})]


@pytest.mark.parametrize("dtype", _CDTYPES)
@pytest.mark.parametrize("name,kw", _FFT)
def test_dfts_match_torch(name, kw, dtype):
    x = _c((4, 6), dtype)
    if name in ("rfft", "rfftn", "ihfft"):
        x = x.real.copy()
    e = getattr(ember.fft, name)(ember.tensor(x, device=R).t(), **kw)
    t = getattr(torch.fft, name)(torch.tensor(x).t(), **kw)
    assert e.device.type == "rocm" and str(e.dtype) == "ember." + str(t.dtype)[6:]
    np.testing.assert_allclose(_host(e), t.resolve_conj().numpy(), **_tol(dtype))


def test_gradient_of_a_dft_runs_on_rocm():
    x = _c((5,))
    xe = ember.tensor(x, device=R, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    (ember.fft.fft(xe) * ember.tensor(_c((5,)) * 0 + 1j, device=R)).real.sum().backward()
    (torch.fft.fft(xt) * torch.tensor(_c((5,)) * 0 + 1j)).real.sum().backward()
    np.testing.assert_allclose(_host(xe.grad), xt.grad.resolve_conj().numpy(), rtol=1e-12,
                               atol=1e-12)


@pytest.mark.parametrize("op", [lambda a: a.sum(), lambda a: a.exp(), lambda a: a @ a,
                                lambda a: ember.sqrt(a)])
def test_other_ops_name_the_op_and_dtype(op):
    from ember.errors import NotImplementedForDevice
    a = ember.tensor(_c((2, 2), "complex64"), device=R)
    with pytest.raises(TypeError, match=r"\(\): dtype complex64 is not supported on rocm") \
            as info:
        op(a)
    assert isinstance(info.value, NotImplementedForDevice)
