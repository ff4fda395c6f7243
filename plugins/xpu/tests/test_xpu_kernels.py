"""XPU kernels against numpy: the hot paths (outputs from the allocator, Python
numbers), what the standard lacks (erf, linalg), views, dtypes, random numbers.
The conformance suite (``ember conformance --device xpu``) covers every op."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

import ember

from xpu_support import requires_xpu

pytestmark = requires_xpu
RNG = np.random.default_rng(0)


def _on(a, **kw):
    return ember.tensor(a, device="xpu", **kw)


@pytest.mark.parametrize("op,ref", [
    ("add", np.add), ("sub", np.subtract), ("mul", np.multiply), ("div", np.divide),
    ("maximum", np.maximum), ("eq", np.equal), ("lt", np.less), ("ge", np.greater_equal),
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
def test_binary_broadcast_and_scalars(op, ref, dtype):
    if op == "div" and dtype == np.int32:
        dtype = np.float32
    a = (RNG.standard_normal((3, 1, 4)) * 5).astype(dtype)
    b = (RNG.standard_normal((2, 4)) * 5).astype(dtype)
    b[b == 0] = 1
    f = getattr(ember, op)
    got = f(_on(a), _on(b)).cpu().numpy()
    np.testing.assert_allclose(got, ref(a, b), rtol=1e-6)
    assert got.dtype == ref(a, b).dtype
    s = 3 if dtype == np.int32 else 2.5
    np.testing.assert_allclose(f(_on(a), s).cpu().numpy(), ref(a, np.asarray(s, dtype)),
                               rtol=1e-6)


def test_add_alpha_and_type_promotion():
    a = RNG.standard_normal(5).astype(np.float32)
    i = np.arange(5, dtype=np.int64)
    got = ember.add(_on(a), _on(i), alpha=2)
    # promotion is the core's job: whatever it chose, xpu must agree with the CPU
    assert got.dtype == ember.add(ember.tensor(a), ember.tensor(i), alpha=2).dtype
    np.testing.assert_allclose(got.cpu().numpy(), a + 2 * i, rtol=1e-6)
    assert (_on(i) / 2).dtype == ember.float32  # int / int -> default float


def test_non_contiguous_inputs_and_views_share_memory():
    a = RNG.standard_normal((4, 6)).astype(np.float32)
    x = _on(a)
    t = x.permute(1, 0)
    assert t._data.usm_data.reference_obj is x._data.usm_data.reference_obj
    np.testing.assert_allclose((t * 2 + t.exp()).cpu().numpy(), a.T * 2 + np.exp(a.T),
                               rtol=1e-5)
    x.add_(1)  # visible through the view
    np.testing.assert_allclose(t.cpu().numpy(), (a + 1).T, rtol=1e-6)
    c = t.contiguous()
    np.testing.assert_array_equal(c.cpu().numpy(), (a + 1).T)


def test_zero_d_empty_nan_inf():
    z = _on(3.5)
    assert (z * 2).item() == 7.0 and (z * 2).shape == ()
    e = ember.zeros(0, 4, device="xpu")
    assert (e + 1).shape == (0, 4) and e.sum().item() == 0
    v = _on([np.nan, np.inf, -np.inf, 0.0])
    np.testing.assert_array_equal((v * 0).cpu().numpy(), [np.nan, np.nan, np.nan, 0.0])
    np.testing.assert_array_equal(ember.maximum(v, _on(1.0)).cpu().numpy(),
                                  [np.nan, np.inf, 1.0, 1.0])


@pytest.mark.parametrize("shape_a,shape_b", [((5, 3), (3, 4)), ((2, 5, 3), (3, 4)),
                                             ((3,), (3, 2)), ((0, 3), (3, 2))])
def test_matmul(shape_a, shape_b):
    a = RNG.standard_normal(shape_a).astype(np.float32)
    b = RNG.standard_normal(shape_b).astype(np.float32)
    np.testing.assert_allclose((_on(a) @ _on(b)).cpu().numpy(), a @ b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("src,full,other", [
    ((1, 1), (5, 4), (4, 3)),        # a scalar broadcast to a matrix
    ((1, 4), (5, 4), (4, 3)),        # a row broadcast down
    ((5, 1), (5, 4), (4, 3)),        # a column broadcast across
    ((1, 1, 1), (1, 5, 4), (4, 3)),  # batch of one: dpnp squeezes it to one gemm
    ((1, 5, 1), (3, 5, 4), (3, 4, 2)),
])
def test_matmul_of_broadcast_operands(src, full, other):
    # dpnp takes a zero stride for contiguous and hands it to oneMKL, which refuses it
    # ("not c-contiguous nor f-contiguous"); the kernel copies such matrices first.
    rng = np.random.default_rng(13)  # own generator: RNG's later draws stay the same
    a0 = rng.standard_normal(src).astype(np.float32)
    b = rng.standard_normal(other).astype(np.float32)
    a = np.broadcast_to(a0, full)
    x = _on(a0).expand(*full)
    np.testing.assert_allclose(ember.matmul(x, _on(b)).cpu().numpy(), a @ b, rtol=1e-5,
                               atol=1e-6)
    bt = np.swapaxes(b, -1, -2)
    np.testing.assert_allclose(ember.matmul(_on(bt), x.transpose(-1, -2)).cpu().numpy(),
                               bt @ np.swapaxes(a, -1, -2), rtol=1e-5, atol=1e-6)


def test_conv2d_backward_of_a_plain_input():
    # The gradient of sum() is a broadcast scalar: the weight gradient's matmul got it.
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(14)
    x0 = rng.standard_normal((1, 8, 16, 16)).astype(np.float32)
    w0 = rng.standard_normal((8, 8, 3, 3)).astype(np.float32)
    x, w = _on(x0, requires_grad=True), _on(w0, requires_grad=True)
    ember.nn.functional.conv2d(x, w).sum().backward()
    tx, tw = torch.tensor(x0, requires_grad=True), torch.tensor(w0, requires_grad=True)
    torch.nn.functional.conv2d(tx, tw).sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(w.grad.cpu().numpy(), tw.grad.numpy(), rtol=1e-4, atol=1e-3)


def test_index_put_accumulate_keeps_inf_and_nan_to_their_own_positions():
    # Sums of repeated positions used to be differences of one cumulative sum: an inf
    # at position 0 made every later position nan.
    t = _on(np.zeros(5, np.float32))
    t.index_put_((_on(np.array([0, 0, 1, 2, 2, 3, 4])),),
                 _on(np.array([np.inf, 1, 2, np.nan, 1, -0.0, 3], np.float32)),
                 accumulate=True)
    np.testing.assert_array_equal(t.cpu().numpy(), [np.inf, 2, np.nan, 0, 3])


LINALG_AFTER_MANY_SMALL_OPS = """
import numpy as np, ember
m = ember.tensor(np.eye(3) * 2, device="xpu")
for i in range(300):
    x = ember.randn(64, device="xpu", dtype=ember.float64)
    for _ in range(5):
        x = (x * 2 + 1).exp().sum() * m[0, 0]
    ember.linalg.det(m + x * 0)
    ember.linalg.inv(m)
    ember.linalg.solve(m, m)
print("done")
"""


def test_linalg_after_many_small_ops_does_not_deadlock():
    # A LAPACK call waited (holding the GIL) behind dpnp's host tasks, which need the
    # GIL: the process hung within a few iterations.  Run apart, so a hang fails.
    try:
        proc = subprocess.run([sys.executable, "-c", LINALG_AFTER_MANY_SMALL_OPS],
                              capture_output=True, text=True, timeout=240)
    except subprocess.TimeoutExpired:
        pytest.fail("linalg on xpu hung (a LAPACK wait holding the GIL)")
    assert proc.returncode == 0 and "done" in proc.stdout, proc.stderr[-2000:]


def test_reductions_unary_and_where():
    a = RNG.standard_normal((3, 4, 5)).astype(np.float32)
    x = _on(a)
    np.testing.assert_allclose(x.sum(dim=(0, 2)).cpu().numpy(), a.sum((0, 2)), rtol=1e-5)
    np.testing.assert_allclose(x.sum(dim=1, keepdim=True).cpu().numpy(),
                               a.sum(1, keepdims=True), rtol=1e-5)
    np.testing.assert_allclose(x.abs().sqrt().log().cpu().numpy(),
                               np.log(np.sqrt(np.abs(a))), rtol=1e-5)
    np.testing.assert_array_equal(ember.where(x > 0, x, 0.0).cpu().numpy(),
                                  np.where(a > 0, a, 0))


@pytest.mark.parametrize("dtype,tol", [(ember.float64, 1e-14), (ember.float32, 2e-7)])
def test_erf_matches_math_erf(dtype, tol):
    vals = [-7.0, -2.5, -2.0, -1.0, -1e-8, 0.0, 1e-3, 0.5, 1.5, 1.999, 2.0, 3.3, 5.9, 30.0]
    got = ember.erf(_on(vals, dtype=dtype)).cpu().numpy()
    np.testing.assert_allclose(got, [math.erf(v) for v in vals], rtol=tol, atol=tol)
    assert math.isnan(ember.erf(_on([math.nan], dtype=dtype)).item())


def test_linalg_through_dpnp():
    import ember.linalg as la
    a = RNG.standard_normal((4, 4)) + 4 * np.eye(4)
    b = RNG.standard_normal((4, 2))
    x, y = _on(a), _on(b)
    np.testing.assert_allclose(la.inv(x).cpu().numpy(), np.linalg.inv(a), rtol=1e-10)
    np.testing.assert_allclose(la.solve(x, y).cpu().numpy(), np.linalg.solve(a, b),
                               rtol=1e-10)
    np.testing.assert_allclose(la.det(x).item(), np.linalg.det(a), rtol=1e-10)
    spd = a @ a.T
    np.testing.assert_allclose(la.cholesky(_on(spd)).cpu().numpy(), np.linalg.cholesky(spd),
                               rtol=1e-10)


def test_random_numbers_match_the_cpu_for_a_seed():
    ember.manual_seed(123)
    a = ember.randn(3, 4, device="xpu").cpu().numpy()
    ember.manual_seed(123)
    b = ember.randn(3, 4).numpy()
    np.testing.assert_array_equal(a, b)
    r = ember.rand(1000, device="xpu").cpu().numpy()
    assert 0 <= r.min() and r.max() < 1 and abs(r.mean() - 0.5) < 0.05


def test_bfloat16_is_int16_storage(xpu):
    from ember_xpu.half_storage import BF16Array
    assert ember.bfloat16 in xpu.supported_dtypes  # (dpnp has none: int16 storage)
    t = ember.tensor([1.0, 3.0], dtype=ember.bfloat16, device="xpu")
    assert t._data.__class__ is BF16Array and t._data.bits.dtype == np.int16
    u = ember.ones(2, device="xpu").to(ember.bfloat16) + t
    assert u.dtype is ember.bfloat16 and u.tolist() == [2.0, 4.0]
    dev = xpu.sycl_device(0)
    assert (ember.float64 in xpu.supported_dtypes) == dev.has_aspect_fp64


def test_cross_device_copies_and_synchronize():
    a = RNG.standard_normal((2, 3)).astype(np.float32)
    x = _on(a)
    ember.synchronize("xpu")
    back = x.to("cpu")
    assert back.device == ember.device("cpu")
    np.testing.assert_array_equal(back.numpy(), a)
    y = ember.zeros(2, 3, device="xpu")
    y.copy_(ember.tensor(a))  # a CPU source copied into an xpu tensor
    np.testing.assert_array_equal(y.cpu().numpy(), a)
    with pytest.raises(ember.DeviceError):
        x + ember.tensor(a)


def test_dlpack_import_shares_memory_and_joins_the_queue():
    import dpnp.tensor as dpt
    other = dpt.asarray(np.arange(3, dtype=np.float32))  # dpnp's own default queue
    t = ember.from_dlpack(other)
    assert t.device == ember.device("xpu:0")
    np.testing.assert_array_equal((t + ember.ones(3, device="xpu")).cpu().numpy(),
                                  [1, 2, 3])
    t.add_(10)  # no copy was made: the producer sees the write
    np.testing.assert_array_equal(dpt.asnumpy(other), [10, 11, 12])
    back = dpt.from_dlpack(t.detach())
    np.testing.assert_array_equal(dpt.asnumpy(back), [10, 11, 12])


def test_python_number_constants_keep_sign_and_nan():
    # Python numbers become cached device constants: -0.0 must not reuse 0.0's.
    a = np.array([1.0, -2.0], dtype=np.float32)
    x = _on(a)
    for s in (0.0, -0.0, 0.0, math.nan, -0.0):
        got = (x * s).cpu().numpy()
        want = a * np.float32(s)
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
        np.testing.assert_array_equal(got, want)


def test_sign_of_bool_is_bool():
    # dpnp's sign answers int8 for bool; PyTorch (and ember's cpu) keep bool. Found by
    # `ember conformance --device xpu --fuzz 50`.
    t = ember.tensor([True, False], device="xpu")
    r = ember.sign(t)
    assert r.dtype is ember.bool and r.cpu().tolist() == [True, False]


@pytest.mark.parametrize("op", ["cumprod", "cumsum"])
def test_float16_scans_accumulate_in_float32(op):
    # in float16 300 * 300 is inf and inf * -0.0 NaN; the cpu (and PyTorch) accumulate in
    # float32 and round once: -0.0 (found by the conformance fuzzer)
    x = np.array([[300, 1], [300, 2], [-0.0, 3], [70000 / 300, 4]], np.float16)
    got = getattr(ember, op)(_on(x), 0).cpu().numpy()
    want = getattr(np, op)(x.astype(np.float32), axis=0).astype(np.float16)
    np.testing.assert_array_equal(got, want)
    assert np.signbit(got[2:, 0]).tolist() == np.signbit(want[2:, 0]).tolist()
