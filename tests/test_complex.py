"""complex64/complex128: promotion against torch.promote_types, creation, printing,
pointwise math and the complex-number ops against numpy and PyTorch, gradients with
PyTorch's conjugate Wirtinger convention, serialization and DLPack."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

import ember
from ember import dtypes as _dt

# xpu: dpnp on a SYCL device (Intel's OpenCL CPU runtime in CI); rocm's complex support
# is checked in plugins/rocm/tests/test_rocm_complex.py (it needs EMBER_ROCM_ANY_DEVICE)
_XPU = pytest.param("xpu", marks=pytest.mark.skipif(not ember.is_available("xpu"),
                                                    reason="no SYCL device for ember-xpu"))
_DEVICES = ["cpu", "reference", _XPU]
_rng = np.random.default_rng(16)


def _c(*shape):
    return _rng.standard_normal(shape) + 1j * _rng.standard_normal(shape)


def _torch_name(d) -> str:
    return str(d).split(".")[1]


def _np(t):
    return t.detach().cpu().numpy()


def _tnp(t):
    return t.detach().resolve_conj().numpy()


# --- dtypes -------------------------------------------------------------------------------

def test_promote_types_matches_torch_for_every_pair():
    for a in _dt._ALL:
        for b in _dt._ALL:
            got = ember.promote_types(a, b).name
            want = _torch_name(torch.promote_types(getattr(torch, a.name),
                                                   getattr(torch, b.name)))
            assert got == want, (a, b)


@pytest.mark.parametrize("operands", [
    ("f32", 1j), ("f64", 1j), ("i64", 1j), ("b", 1j), ("f64", "c64_0d"), ("c64", "f64_0d"),
    ("i32", "c128_0d"), ("c64", 2.5), ("c128", 1), ("f32_0d", 1j), ("c64_0d", "f64"),
])
def test_result_type_with_complex_numbers_and_0d_tensors_matches_torch(operands):
    names = {"f32": "float32", "f64": "float64", "i64": "int64", "i32": "int32", "b": "bool",
             "c64": "complex64", "c128": "complex128"}

    def make(lib, x):
        if not isinstance(x, str):
            return x
        zero = x.endswith("_0d")
        d = getattr(lib, names[x.removesuffix("_0d")])
        return lib.ones((), dtype=d) if zero else lib.ones(3, dtype=d)
    got = ember.result_type(*[make(ember, x) for x in operands])
    want = torch.result_type(*[make(torch, x) for x in operands])
    assert got.name == _torch_name(want)


def test_dtype_flags_and_aliases():
    assert ember.complex64.is_complex and not ember.complex64.is_floating_point
    assert ember.complex64.is_signed and not ember.float32.is_complex
    assert ember.cfloat is ember.complex64 and ember.cdouble is ember.complex128
    assert _dt.as_dtype(complex) is ember.complex128
    assert ember.finfo(ember.complex64).eps == ember.finfo(ember.float32).eps
    assert ember.can_cast(ember.float32, ember.complex64)
    assert not ember.can_cast(ember.complex64, ember.float64)


def test_default_complex_dtype_follows_the_default_dtype():
    assert ember.tensor(1j).dtype is ember.complex64
    old = ember.get_default_dtype()
    ember.set_default_dtype(ember.float64)
    try:
        assert ember.tensor([1j, 2]).dtype is ember.complex128
        assert (ember.ones(2, dtype=ember.int64) + 1j).dtype is ember.complex128
    finally:
        ember.set_default_dtype(old)


# --- creation and printing ------------------------------------------------------------------

@pytest.mark.parametrize("device", _DEVICES)
def test_creation(device):
    assert ember.zeros(2, dtype=ember.complex64, device=device).tolist() == [0j, 0j]
    assert ember.ones(2, dtype=ember.complex128, device=device).dtype is ember.complex128
    f = ember.full((2,), 1 + 2j, device=device)
    assert f.dtype is ember.complex64 and f.tolist() == [1 + 2j, 1 + 2j]
    t = ember.tensor([[1 + 2j, 3], [4, -1j]], device=device)
    assert t.dtype is ember.complex64 and t[0, 0].item() == 1 + 2j
    assert ember.arange(3, dtype=ember.complex64, device=device).tolist() == [0j, 1 + 0j, 2 + 0j]


def test_random_complex_parts_as_torch():
    ember.manual_seed(0)
    n = ember.randn(20000, dtype=ember.complex128)
    # each part has variance 1/2 so that E|z|^2 = 1 (torch.randn's complex rule)
    assert abs(float(n.real.var()) - 0.5) < 0.03 and abs(float(n.imag.var()) - 0.5) < 0.03
    u = ember.rand(1000, dtype=ember.complex64)
    assert u.dtype is ember.complex64
    assert 0 <= float(u.real.min()) and float(u.imag.max()) < 1 and float(u.imag.min()) >= 0
    with pytest.raises(ember.OpError, match="floating or complex"):
        ember.randn(2, dtype=ember.int64)


@pytest.mark.parametrize("data", [[1 + 2j, 3], [1.5 + 2j, 3, -1j], [1e-6 + 3j, 2.5],
                                  [[1 + 1j, 2], [3, 4 - 1j]]])
def test_printing_matches_torch(data):
    got = repr(ember.tensor(data)).replace("ember.", "torch.")
    assert got == repr(torch.tensor(data))
    got = repr(ember.tensor(data, dtype=ember.complex128)).replace("ember.", "torch.")
    assert got == repr(torch.tensor(data, dtype=torch.complex128))


# --- math ------------------------------------------------------------------------------------

_UNARY = ["exp", "log", "sqrt", "sin", "cos", "tan", "tanh", "sigmoid", "neg", "abs",
          "reciprocal", "expm1", "log1p", "square", "sgn", "angle", "conj"]


@pytest.mark.parametrize("device", _DEVICES)
@pytest.mark.parametrize("name", _UNARY)
def test_unary_matches_torch(device, name):
    x = _c(7)
    for dt in ("complex64", "complex128"):
        e = getattr(ember, name)(ember.tensor(x, dtype=getattr(ember, dt), device=device))
        t = getattr(torch, name)(torch.tensor(x, dtype=getattr(torch, dt)))
        assert e.dtype.name == _torch_name(t.dtype), name
        tol = 1e-5 if dt == "complex64" else 1e-12
        np.testing.assert_allclose(_np(e), _tnp(t), rtol=tol, atol=tol)


@pytest.mark.parametrize("device", _DEVICES)
@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "pow", "eq", "ne"])
def test_binary_with_real_and_complex_operands_matches_torch(device, name):
    a, b = _c(4), _rng.standard_normal(4)
    for x, y in ((a, a[::-1].copy()), (a, b), (b, a)):
        e = getattr(ember, name)(ember.tensor(x, device=device), ember.tensor(y, device=device))
        t = getattr(torch, name)(torch.tensor(x), torch.tensor(y))
        assert e.dtype.name == _torch_name(t.dtype)
        np.testing.assert_allclose(_np(e), _tnp(t), rtol=1e-12, atol=1e-12)
    e = getattr(ember, name)(ember.tensor(b, dtype=ember.float32, device=device), 2 - 1j)
    t = getattr(torch, name)(torch.tensor(b, dtype=torch.float32), 2 - 1j)
    assert e.dtype.name == _torch_name(t.dtype)
    np.testing.assert_allclose(_np(e), _tnp(t), rtol=1e-5)


@pytest.mark.parametrize("device", _DEVICES)
def test_float_and_complex_alpha(device):
    x, y = _c(3), _c(3)
    a, b = ember.tensor(x, device=device), ember.tensor(y, device=device)
    for alpha in (2.5, 1 - 2j):
        np.testing.assert_allclose(_np(ember.add(a, b, alpha=alpha)),
                                   torch.add(torch.tensor(x), torch.tensor(y),
                                             alpha=alpha).numpy(), rtol=1e-12)
        np.testing.assert_allclose(_np(ember.sub(a, b, alpha=alpha)), x - alpha * y,
                                   rtol=1e-12)


@pytest.mark.parametrize("device", _DEVICES)
def test_reductions_and_matmul(device):
    x, y = _c(3, 4), _c(4, 2)
    e, t = ember.tensor(x, device=device), torch.tensor(x)
    for name in ("sum", "mean", "prod"):
        np.testing.assert_allclose(_np(getattr(e, name)()), _tnp(getattr(t, name)()),
                                   rtol=1e-12)
        np.testing.assert_allclose(_np(getattr(e, name)(1)), _tnp(getattr(t, name)(1)),
                                   rtol=1e-12)
    assert e.sum().dtype is ember.complex128
    np.testing.assert_allclose(_np(e @ ember.tensor(y, device=device)), x @ y, rtol=1e-12)


@pytest.mark.parametrize("device", _DEVICES)
def test_parts_views_and_polar(device):
    x = _c(2, 3)
    e = ember.tensor(x, device=device)
    np.testing.assert_array_equal(_np(e.real), x.real)
    np.testing.assert_array_equal(_np(e.imag), x.imag)
    assert e.real.dtype is ember.float64
    np.testing.assert_array_equal(_np(ember.view_as_real(e)), np.stack([x.real, x.imag], -1))
    np.testing.assert_array_equal(_np(ember.view_as_complex(ember.view_as_real(e))), x)
    np.testing.assert_array_equal(_np(e.conj()), x.conj())
    np.testing.assert_allclose(_np(e.angle()), np.angle(x), rtol=1e-12)
    r, a = np.abs(x.real), x.imag
    p = ember.polar(ember.tensor(r, device=device), ember.tensor(a, device=device))
    np.testing.assert_allclose(_np(p), _tnp(torch.polar(torch.tensor(r), torch.tensor(a))),
                               rtol=1e-12)
    c = ember.complex(ember.tensor(x.real, device=device), ember.tensor(x.imag, device=device))
    np.testing.assert_array_equal(_np(c), x)
    # view_as_complex keeps an infinite imaginary part exact (re + 1j * im would not)
    inf = ember.tensor([[1.0, float("inf")]], device=device)
    assert ember.view_as_complex(inf).tolist() == [complex(1, float("inf"))]


@pytest.mark.parametrize("device", ["cpu", _XPU])
def test_real_and_imag_are_writable_views(device):
    # (the reference backend's arrays have no views across dtypes: its parts are copies)
    t = ember.tensor([1 + 2j, 3 - 1j], device=device)
    t.imag = ember.zeros(2, device=device)
    t.real[0] = 7
    assert t.tolist() == [7 + 0j, 3 + 0j]
    v = ember.view_as_real(t)
    v[1, 1] = 5
    assert t[1].item() == 3 + 5j
    # a strided complex view keeps its offset and strides through both directions
    s = ember.tensor([[1 + 2j, 3 - 1j, 5j], [2, 4 + 1j, -1 - 1j]], device=device)[:, 1:]
    r = ember.view_as_real(s)
    assert r.tolist() == [[[3.0, -1.0], [0.0, 5.0]], [[4.0, 1.0], [-1.0, -1.0]]]
    r[1, 0, 1] = 9
    assert s[1, 0].item() == 4 + 9j
    assert ember.view_as_complex(r).tolist() == s.tolist()
    # parts that are not side by side are copied into a complex tensor
    parts = ember.tensor([[1.0, 0.0, 2.0], [3.0, 0.0, 4.0]], device=device)[:, ::2]
    assert ember.view_as_complex(parts).tolist() == [1 + 2j, 3 + 4j]


def test_real_of_a_real_tensor_is_itself_and_imag_refuses():
    x = ember.tensor([1.0, -2.0, float("nan")])
    assert x.real is x
    assert x.conj() is x
    np.testing.assert_array_equal(_np(x.angle()), _tnp(torch.tensor([1.0, -2.0,
                                                                     float("nan")]).angle()))
    with pytest.raises(ember.OpError, match="imag.*non-complex"):
        x.imag  # noqa: B018


@pytest.mark.parametrize("op", [lambda a: a < a, lambda a: ember.maximum(a, a),
                                lambda a: a.floor(), lambda a: a % 2, lambda a: a.sign(),
                                lambda a: a.clamp(0, 1)])
def test_ops_without_complex_meaning_refuse(op):
    a = ember.tensor([1j, 2])
    with pytest.raises(ember.OpError, match="complex"):
        op(a)


def test_bad_inputs_name_the_op():
    with pytest.raises(ember.OpError, match="view_as_real.*complex"):
        ember.view_as_real(ember.ones(2))
    with pytest.raises(ember.OpError, match="view_as_complex.*size 2"):
        ember.view_as_complex(ember.ones(2, 3))
    with pytest.raises(ember.OpError, match="polar.*same dtype"):
        ember.polar(ember.ones(2), ember.ones(2, dtype=ember.float64))
    with pytest.raises(ember.OpError, match="can't be cast"):
        ember.ones(2).mul_(1j)


# --- autograd ---------------------------------------------------------------------------------

def _r(*shape):
    return _rng.standard_normal(shape)


_WELL = _c(3, 3) + 3 * np.eye(3)  # well conditioned
_HPD = _WELL @ _WELL.conj().T  # Hermitian positive definite

_GRADS = {
    "mul": (lambda m, a, b: (m.abs(a * b) ** 2).sum(), [_c(3), _c(3)]),
    "mul_real": (lambda m, a, b: (m.abs(a * b) ** 2).sum(), [_c(3), _r(3)]),
    "div": (lambda m, a, b: (a / b).real.sum() + (a / b).imag.sum() * 2, [_c(3), _c(3)]),
    "add_sub": (lambda m, a, b: ((a + b) * (a - b)).abs().sum(), [_c(3), _c(3)]),
    "abs": (lambda m, a: a.abs().sum(), [_c(4)]),
    "exp": (lambda m, a: m.exp(a).imag.sum(), [_c(4)]),
    "log": (lambda m, a: m.log(a).real.sum() + m.log(a).imag.sum(), [_c(4)]),
    "sqrt": (lambda m, a: m.sqrt(a).imag.sum(), [_c(4)]),
    "sin_tanh": (lambda m, a: (m.sin(a) + m.tanh(a)).abs().sum(), [_c(4)]),
    "pow": (lambda m, a: (a ** 3).abs().sum(), [_c(4)]),
    "conj": (lambda m, a: (a.conj() * a.conj()).imag.sum(), [_c(4)]),
    "real_imag": (lambda m, a: (a.real * 3 + a.imag ** 2).sum(), [_c(4)]),
    "angle": (lambda m, a: a.angle().sum(), [_c(4)]),
    "matmul": (lambda m, a, b: (a @ b).abs().sum(), [_c(3, 4), _c(4, 2)]),
    "matmul_vec": (lambda m, a, b: (a @ b).abs().sum(), [_c(3, 4), _c(4)]),
    "sum_mean": (lambda m, a: (a.sum(0) * a.mean(0)).abs().sum(), [_c(3, 2)]),
    "view_as_real": (lambda m, a: (m.view_as_real(a) ** 2).sum(), [_c(3)]),
    "view_as_complex": (lambda m, a: m.view_as_complex(a).abs().sum(), [_r(3, 2)]),
    "polar": (lambda m, a, b: m.polar(a, b).imag.sum(), [np.abs(_r(3)), _r(3)]),
    "complex": (lambda m, a, b: (m.complex(a, b) ** 2).real.sum(), [_r(3), _r(3)]),
    "real_times_number": (lambda m, a: (a * (1 + 2j)).real.sum(), [_r(3)]),
    # var/std of complex values are real (the mean of |x - mean|^2)
    "var": (lambda m, a: (m.var(a, 1) * m.var(a)).sum(), [_c(3, 4)]),
    "std": (lambda m, a: m.std(a, 0, correction=0).sum(), [_c(3, 4)]),
    "var_mean": (lambda m, a: m.var_mean(a, 1)[0].sum() + m.var_mean(a, 1)[1].abs().sum(),
                 [_c(3, 4)]),
    "std_mean": (lambda m, a: m.std_mean(a)[0] * 2, [_c(3, 4)]),
    "prod": (lambda m, a: m.prod(a, 1).abs().sum() + m.prod(a).imag, [_c(3, 4)]),
    "cumprod": (lambda m, a: m.cumprod(a, 1).imag.sum(), [_c(3, 4)]),
    # linalg: the factorisations' adjoint formulas (losses that do not depend on the
    # free phases of singular vectors / eigenvectors, as PyTorch requires)
    "inv": (lambda m, a: m.linalg.inv(a).abs().sum(), [_WELL]),
    "det": (lambda m, a: m.linalg.det(a).real + 2 * m.linalg.det(a).imag, [_WELL]),
    "slogdet": (lambda m, a: m.linalg.slogdet(a)[1] + m.linalg.slogdet(a)[0].imag
                + 3 * m.linalg.slogdet(a)[0].real, [_WELL]),
    "solve": (lambda m, a, b: m.linalg.solve(a, b).abs().sum(), [_WELL, _c(3, 2)]),
    "solve_vector": (lambda m, a, b: m.linalg.solve(a, b).abs().sum(), [_WELL, _c(3)]),
    "matrix_power": (lambda m, a: m.linalg.matrix_power(a, -2).abs().sum(), [_WELL]),
    "vector_norm": (lambda m, a: m.linalg.vector_norm(a) + m.linalg.vector_norm(a, 1)
                    + m.linalg.vector_norm(a, 3, dim=0).sum(), [_c(3, 4)]),
    "matrix_norm": (lambda m, a: m.linalg.matrix_norm(a) + m.linalg.matrix_norm(a, "nuc")
                    + m.linalg.matrix_norm(a, 2) + m.linalg.norm(a, 1), [_c(4, 3)]),
    "svdvals": (lambda m, a: (m.linalg.svdvals(a) ** 3).sum(), [_c(3, 4)]),
    "svd": (lambda m, a: (lambda u, s, vh: ((u[:, :2] * s[:2]) @ vh[:2]).abs().sum())(
        *m.linalg.svd(a, full_matrices=False)), [_c(4, 3)]),
    "svd_wide": (lambda m, a: (lambda u, s, vh: ((u[:, :2] * s[:2]) @ vh[:2]).abs().sum())(
        *m.linalg.svd(a, full_matrices=False)), [_c(3, 5)]),
    "pinv": (lambda m, a: m.linalg.pinv(a).abs().sum(), [_c(4, 3)]),
    "eigh": (lambda m, a: (m.linalg.eigvalsh(a) ** 2).sum()
             + (m.linalg.eigh(a)[1].abs() ** 3).sum(), [_HPD]),
    "cholesky": (lambda m, a: m.linalg.cholesky(a).abs().sum(), [_HPD]),
    # real too: V^H gV is projected onto the skew matrices as PyTorch does (ember's
    # gradient differed by an antisymmetric part for losses of a non-symmetrised A)
    "eigh_real": (lambda m, a: (m.linalg.eigh(a)[1].abs() ** 3).sum(), [_HPD.real]),
    "qr": (lambda m, a: sum(t.abs().sum() for t in m.linalg.qr(a)), [_c(4, 3)]),
}


@pytest.mark.parametrize("device", _DEVICES)
@pytest.mark.parametrize("name", sorted(_GRADS))
def test_gradients_match_torch(device, name):
    f, inputs = _GRADS[name]
    te = [ember.tensor(x, device=device, requires_grad=True) for x in inputs]
    tt = [torch.tensor(x, requires_grad=True) for x in inputs]
    le, lt = f(ember, *te), f(torch, *tt)
    np.testing.assert_allclose(le.item(), lt.item(), rtol=1e-10)
    le.backward()
    lt.backward()
    for e, t in zip(te, tt, strict=True):
        assert e.grad.dtype.name == _torch_name(t.grad.dtype)
        np.testing.assert_allclose(_np(e.grad), _tnp(t.grad), rtol=1e-10, atol=1e-12)


def test_complex_tensors_require_grad_but_backward_needs_a_real_output():
    z = ember.tensor([1j], requires_grad=True)
    with pytest.raises(RuntimeError, match="real scalar"):
        (z * 2).sum().backward()
    with pytest.raises(RuntimeError, match="floating point and complex"):
        ember.ones(2, dtype=ember.int64).requires_grad_()


# --- serialization and DLPack ----------------------------------------------------------------

def test_save_load_round_trip():
    x = ember.tensor(_c(2, 3), dtype=ember.complex64)
    buf = io.BytesIO()
    ember.save({"z": x, "r": ember.ones(2)}, buf)
    buf.seek(0)
    back = ember.load(buf)
    assert back["z"].dtype is ember.complex64
    np.testing.assert_array_equal(_np(back["z"]), _np(x))


def test_dlpack_both_ways():
    x = ember.tensor(_c(3))
    t = torch.from_dlpack(x)
    assert t.dtype == torch.complex128
    np.testing.assert_array_equal(t.numpy(), _np(x))
    back = ember.from_dlpack(torch.tensor(_c(2), dtype=torch.complex64))
    assert back.dtype is ember.complex64


@pytest.mark.parametrize("device", _DEVICES)
def test_zero_dim_results(device):
    z = ember.view_as_complex(ember.tensor([1.0, 2.0], device=device))
    assert z.shape == () and z.item() == 1 + 2j
    assert ember.view_as_real(z).shape == (2,)
    assert ember.complex(ember.tensor(1.0, device=device),
                         ember.tensor(2.0, device=device)).shape == ()


@pytest.mark.parametrize("device", _DEVICES)
def test_isfinite_isinf_of_huge_finite_parts(device):
    # |z| overflows float32 but both parts are finite (the decomposition used abs)
    z = ember.tensor([3.4e38 + 3.4e38j, complex(float("inf"), 1)], dtype=ember.complex64,
                     device=device)
    assert ember.isfinite(z).tolist() == [True, False]
    assert ember.isinf(z).tolist() == [False, True]


def test_isfinite_isinf_isnan_of_complex():
    inf, nan = float("inf"), float("nan")
    x = ember.view_as_complex(ember.tensor([[1.0, 2.0], [inf, 0.0], [0.0, nan], [1.0, -inf]]))
    assert x.isfinite().tolist() == [True, False, False, False]
    assert x.isinf().tolist() == [False, True, False, True]
    assert x.isnan().tolist() == [False, False, True, False]


@pytest.mark.parametrize("op", [lambda a: a.amax(), lambda a: a.max(), lambda a: a.argmin(),
                                lambda a: a.sort(), lambda a: ember.max(a, 0)])
def test_orderings_refuse_complex(op):
    with pytest.raises(ember.OpError, match="complex"):
        op(ember.tensor([1j, 2]))


@pytest.mark.parametrize("device", _DEVICES)
def test_inplace_abs_of_complex_refuses_and_leaves_the_tensor(device):
    # PyTorch: "In-place abs is not supported for complex tensors"; ember used to write
    # |z| back into the complex tensor
    z = ember.tensor([1 + 2j, 3 - 4j], device=device)
    with pytest.raises(ember.OpError, match="abs_.*complex"):
        z.abs_()
    assert z.tolist() == [1 + 2j, 3 - 4j]
    x = ember.tensor([-1.5, 2.0], device=device)
    assert x.abs_() is x and x.tolist() == [1.5, 2.0]


_LINALG = {
    "inv": lambda m, a: m.linalg.inv(a), "det": lambda m, a: m.linalg.det(a),
    "slogdet": lambda m, a: m.linalg.slogdet(a), "solve": lambda m, a: m.linalg.solve(a, a),
    "svdvals": lambda m, a: m.linalg.svdvals(a), "eigvalsh": lambda m, a: m.linalg.eigvalsh(a),
    # the eigenvectors rebuild the Hermitian matrix read from the upper triangle
    "eigh_upper": lambda m, a: (lambda w, v: (v * w.unsqueeze(-2)) @ v.mT.conj())(
        *m.linalg.eigh(a, UPLO="U")),
    "cholesky": lambda m, a: m.linalg.cholesky(a), "pinv": lambda m, a: m.linalg.pinv(a),
    "matrix_rank": lambda m, a: m.linalg.matrix_rank(a),
    "vector_norm": lambda m, a: m.linalg.vector_norm(a),
    "matrix_norm": lambda m, a: m.linalg.matrix_norm(a, "nuc"),
}


@pytest.mark.parametrize("device", _DEVICES)
@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
@pytest.mark.parametrize("name", sorted(_LINALG))
def test_linalg_of_complex_matrices_matches_torch(name, dtype, device):
    # they refused complex input ("must have a floating point dtype")
    a = _HPD.astype(dtype)
    got, want = _LINALG[name](ember, ember.tensor(a, device=device)), \
        _LINALG[name](torch, torch.tensor(a))
    got, want = (got, want) if isinstance(got, tuple) else ((got,), (want,))
    tol = 1e-4 if dtype == "complex64" else 1e-10
    for e, t in zip(got, want, strict=True):
        assert e.dtype.name == _torch_name(t.dtype)  # real values/logs, complex sign
        np.testing.assert_allclose(_np(e.cpu()), _tnp(t), rtol=tol, atol=tol)
