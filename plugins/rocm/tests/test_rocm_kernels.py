"""rocm kernels against numpy and PyTorch (the test oracle)."""

import numpy as np
import pytest

import ember
from ember.ops.view import basic_index

from conftest import needs_rocm

pytestmark = [pytest.mark.rocm, needs_rocm]

R = "rocm"


def on(x, dtype=None):
    return ember.tensor(x, dtype=dtype, device=R)


def host(t):
    return t.cpu().numpy()


def close(t, ref, rtol=1e-5, atol=1e-6):
    got = host(t)
    ref = np.asarray(ref)
    assert got.shape == ref.shape, (got.shape, ref.shape)
    assert got.dtype == ref.dtype, (got.dtype, ref.dtype)
    np.testing.assert_allclose(got, ref, rtol=rtol, atol=atol, equal_nan=True)


rng = np.random.default_rng(0)


def data(shape, dtype):
    if np.dtype(dtype).kind == "f":
        return rng.standard_normal(shape).astype(dtype)
    if np.dtype(dtype) == np.bool_:
        return rng.random(shape) > 0.5
    return rng.integers(-9, 10, shape).astype(dtype)


UNARY = ["neg", "abs", "exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "floor",
         "ceil", "round", "trunc", "sign", "erf", "expm1", "log1p", "log2", "exp2"]


@pytest.mark.parametrize("name", UNARY)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_unary_matches_torch(name, dtype):
    torch = pytest.importorskip("torch")
    x = data((3, 5), dtype)
    x[0, :3] = [np.nan, np.inf, -np.inf]
    fn = getattr(ember, name)
    ref = getattr(torch, name)(torch.from_numpy(x)).numpy()
    close(fn(on(x)), ref, rtol=2e-6 if dtype == np.float32 else 1e-12)


BINARY = ["add", "sub", "mul", "true_divide", "maximum", "minimum", "eq", "ne", "lt",
          "le", "gt", "ge", "remainder", "fmod", "floor_divide", "pow", "atan2"]


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.int32])
def test_binary_broadcast_matches_torch(name, dtype):
    torch = pytest.importorskip("torch")
    if name == "atan2" and np.dtype(dtype).kind == "i":
        return  # promotes integers to float first: covered by the float case
    a = data((4, 1, 3), dtype)
    b = data((5, 3), dtype)
    if np.dtype(dtype).kind == "i" and name in ("remainder", "fmod", "floor_divide"):
        b[b == 0] = 3  # integer division by zero is undefined on devices
    if name == "pow":
        b = np.abs(b) % 4
        a = a if np.dtype(dtype).kind == "f" else a % 5
    fn = getattr(ember, name)
    ref = getattr(torch, name)(torch.from_numpy(a), torch.from_numpy(b)).numpy()
    close(fn(on(a), on(b)), ref, rtol=1e-5)


def test_scalar_operands_and_promotion():
    a = np.arange(6, dtype=np.int64).reshape(2, 3)
    close(on(a) + 2, a + 2)
    close(on(a) * 1.5, (a * 1.5).astype(np.float32))
    close(2.0 - on(a.astype(np.float32)), 2.0 - a.astype(np.float32))
    close(ember.add(on(a), on(a), alpha=3), a + 3 * a)


def test_bool_ops():
    a = data((7,), np.bool_)
    b = data((7,), np.bool_)
    close(ember.logical_and(on(a), on(b)), a & b)
    close(on(a) + on(b), a | b)
    close(ember.bitwise_not(on(a)), ~a)


def test_non_contiguous_and_offsets():
    x = data((6, 8), np.float32)
    t = on(x)
    tt = t.t()  # transposed view
    close(tt + 1, x.T + 1)
    s = basic_index(t, (slice(1, 5, 2), slice(2, None, 3)))  # offset + steps
    close(s * 2, x[1:5:2, 2::3] * 2)
    close(ember.exp(s.t()), np.exp(x[1:5:2, 2::3].T))
    e = on(x[0]).expand(4, 8)
    close(e - basic_index(t, (slice(None, 4),)), np.broadcast_to(x[0], (4, 8)) - x[:4])


def test_zero_dim_and_empty():
    z = on(np.float32(3.5))
    close(z * 2, np.float32(7.0))
    close(ember.exp(z), np.exp(np.float32(3.5)))
    e = on(np.zeros((0, 3), np.float32))
    close(e + 1, np.zeros((0, 3), np.float32))
    close(e.sum(0), np.zeros(3, np.float32))
    close(e.sum(), np.float32(0))


def test_where_and_clamp():
    c = data((3, 4), np.bool_)
    a = data((3, 4), np.float32)
    b = data((4,), np.float32)
    close(ember.where(on(c), on(a), on(b)), np.where(c, a, b))
    a[0, 0] = np.nan
    lo, hi = on(np.float32(-0.5)), on(np.float32(0.5))
    close(ember.clamp(on(a), lo, hi), np.clip(a, -0.5, 0.5))


def test_casts():
    x = np.array([-1.7, -0.2, 0.0, 0.4, 2.9, np.nan], np.float32)
    close(on(x).astype(ember.bool), x.astype(bool))
    close(on(x[:5]).astype(ember.int32), x[:5].astype(np.int32))
    close(on(x).astype(ember.float64), x.astype(np.float64))
    i = np.array([0, 3, -2], np.int64)
    close(on(i).astype(ember.float32), i.astype(np.float32))
    close(on(i).astype(ember.bool), i.astype(bool))


@pytest.mark.parametrize("dim", [None, 0, 1, 2, (0, 2), (1, 2), -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_sum_dims(dim, keepdim):
    x = data((3, 70, 5), np.float32)
    np_dim = dim if dim is not None else None
    close(on(x).sum(dim, keepdim=keepdim), x.sum(np_dim, keepdims=keepdim), rtol=1e-5,
          atol=1e-5)


def test_reductions_large_and_int():
    x = data((5000,), np.float32)
    close(on(x).sum(), x.sum(dtype=np.float64).astype(np.float32), rtol=1e-5, atol=1e-4)
    i = data((4, 300), np.int32)
    close(on(i).sum(1), i.sum(1, dtype=np.int64))
    b = data((4, 6), np.bool_)
    close(on(b).sum(), np.int64(b.sum()))
    close(ember.prod(on(i[:, :5].astype(np.int64)), 1), i[:, :5].astype(np.int64).prod(1))


def test_amax_amin_nan_and_transposed():
    x = data((6, 40), np.float32)
    close(ember.amax(on(x).t(), 0), x.T.max(0))
    close(ember.amin(on(x), 1, keepdim=True), x.min(1, keepdims=True))
    x[2, 7] = np.nan
    close(ember.amax(on(x), 1), x.max(1))  # NaN propagates


def test_argmax_argmin():
    x = data((5, 300), np.float32)
    x[1, 17] = x[1, 18] = 100.0  # ties: the first index wins
    x[3, 250] = np.nan  # NaN wins
    close(ember.argmax(on(x), 1), np.argmax(x, 1))
    close(ember.argmin(on(x), 0), np.argmin(x, 0))
    close(ember.argmax(on(x)), np.int64(np.argmax(x)))
    i = data((4, 9), np.int64)
    close(ember.argmax(on(i), 1, keepdim=True), np.argmax(i, 1)[:, None])


@pytest.mark.parametrize("sa,sb", [((5, 7), (7, 3)), ((7,), (7, 3)), ((5, 7), (7,)),
                                   ((7,), (7,)), ((2, 5, 7), (7, 3)), ((2, 1, 5, 7), (3, 7, 4)),
                                   ((33, 40), (40, 17)), ((0, 4), (4, 3)), ((3, 0), (0, 2))])
def test_matmul_shapes(sa, sb):
    a = data(sa, np.float32)
    b = data(sb, np.float32)
    close(on(a) @ on(b), np.matmul(a, b), rtol=1e-4, atol=1e-4)


def test_matmul_transposed_int_double():
    a = data((20, 30), np.float64)
    b = data((20, 10), np.float64)
    close(on(a).t() @ on(b), a.T @ b, rtol=1e-12)
    ia = data((4, 6), np.int64)
    ib = data((6, 3), np.int64)
    close(on(ia) @ on(ib), ia @ ib)


def test_views_share_memory():
    t = on(np.zeros((4, 6), np.float32))
    s = basic_index(t, (slice(1, 3), slice(None, None, 2)))
    s.copy_(on(np.ones((2, 3), np.float32)))
    ref = np.zeros((4, 6), np.float32)
    ref[1:3, ::2] = 1
    close(t, ref)
    r = t.reshape(6, 4)
    r.add_(1)
    close(t, ref + 1)
    p = t.permute(1, 0)
    close(p.reshape(-1), (ref + 1).T.reshape(-1))  # a copy: not viewable


def test_inplace_ops_write_through_views():
    x = data((3, 4), np.float32)
    t = on(x)
    col = basic_index(t, (slice(None), 1))
    col.mul_(2.0)
    ref = x.copy()
    ref[:, 1] *= 2
    close(t, ref)
    t.sub_(on(x[0]))
    close(t, ref - x[0])


def test_cumsum_cumprod_cat_unfold():
    x = data((3, 5), np.float32)
    close(ember.cumsum(on(x), 1), np.cumsum(x, 1), rtol=1e-5)
    close(ember.cumsum(on(x).t(), 0), np.cumsum(x.T, 0), rtol=1e-5)
    i = data((4,), np.int32)
    close(ember.cumprod(on(i), 0), np.cumprod(i.astype(np.int64)))
    y = data((2, 5), np.float32)
    close(ember.cat([on(x), on(y)], 0), np.concatenate([x, y], 0))
    close(ember.cat([on(x).t(), on(y).t()], 1), np.concatenate([x.T, y.T], 1))
    u = on(np.arange(10, dtype=np.float32)).unfold(0, 3, 2)
    close(u, np.lib.stride_tricks.sliding_window_view(np.arange(10, dtype=np.float32), 3)[::2])


def test_creation():
    close(ember.zeros(2, 3, device=R), np.zeros((2, 3), np.float32))
    close(ember.ones(4, dtype=ember.int8, device=R), np.ones(4, np.int8))
    close(ember.full((2, 2), 7, device=R), np.full((2, 2), 7, np.int64))
    close(ember.arange(2, 11, 3, device=R), np.arange(2, 11, 3))
    close(ember.arange(0.0, 1.0, 0.1, dtype=ember.float32, device=R),
          np.arange(0, 1, 0.1, dtype=np.float64).astype(np.float32))
    t = ember.empty(3, 0, device=R)
    assert tuple(t.shape) == (3, 0)


def test_random_same_stream_as_cpu():
    ember.manual_seed(5)
    a = ember.randn(4, 3, device=R)
    ember.manual_seed(5)
    b = ember.randn(4, 3)
    close(a, host(b))
    u = ember.rand(1000, device=R)
    h = host(u)
    assert 0.0 <= h.min() and h.max() < 1.0 and abs(h.mean() - 0.5) < 0.05


def test_float64_follows_device():
    from ember.device import get_backend
    st = get_backend(R).state(0)
    x = np.array([1e-300, 2.0], np.float64)
    if st.fp64:
        close(on(x) * 2, x * 2, rtol=0)
    else:
        with pytest.raises(TypeError, match="float64"):
            on(x)


def test_float16_without_cl_khr_fp16_is_stored_in_16_bits():
    x = np.array([1.0, 2.5, -3.3, 65504.0, np.inf, np.nan], np.float16)
    t = on(x)
    assert t.dtype is ember.float16 and t._data.dtype == np.float16
    np.testing.assert_array_equal(t.cpu().numpy().view(np.uint16), x.view(np.uint16))
    # computed in float32 and rounded once: 65504 * 2 overflows to inf, as in PyTorch
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal((t * 2).cpu().numpy(), x * np.float16(2))


def test_cross_device_copy():
    x = data((3, 4), np.float32)
    t = on(np.zeros((3, 4), np.float32))
    t.copy_(ember.tensor(x))  # source on the CPU
    close(t, x)
    assert ember.tensor(x).to(R).to("cpu").numpy().tolist() == x.tolist()


# -- fused kernels -------------------------------------------------------------------------


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_log_softmax_fused(dim):
    torch = pytest.importorskip("torch")
    x = data((4, 300, 3), np.float32)
    x[0, :, 0] = -np.inf  # a row of -inf: NaN, as PyTorch
    x[1, 7, 1] = x[2, 0, 2] = np.inf  # rows holding +inf: NaN everywhere, as PyTorch
    tx = torch.from_numpy(x)
    close(ember.softmax(on(x), dim), torch.softmax(tx, dim).numpy(), rtol=1e-5, atol=1e-6)
    close(ember.log_softmax(on(x), dim), torch.log_softmax(tx, dim).numpy(), rtol=1e-5,
          atol=1e-5)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_fused_forward_backward(reduction, weighted, smoothing):
    torch = pytest.importorskip("torch")
    F = ember.nn.functional
    x = data((6, 5, 2), np.float32)  # class dim 1, an extra spatial dim
    t = rng.integers(0, 5, (6, 2))
    t[0, 1] = -100  # ignored
    w = rng.random(5).astype(np.float32) if weighted else None
    xt = on(x).requires_grad_()
    loss = F.cross_entropy(xt, on(t), weight=on(w) if weighted else None,
                           reduction=reduction, label_smoothing=smoothing)
    tx = torch.from_numpy(x).requires_grad_()
    ref = torch.nn.functional.cross_entropy(
        tx, torch.from_numpy(t), weight=torch.from_numpy(w) if weighted else None,
        reduction=reduction, label_smoothing=smoothing)
    close(loss.detach(), ref.detach().numpy(), rtol=1e-5, atol=1e-6)
    loss.sum().backward() if reduction == "none" else loss.backward()
    (ref.sum() if reduction == "none" else ref).backward()
    close(xt.grad, tx.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("rows", [64, 3000])  # one work group (ce_small) / one per row
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("weighted,smoothing,transposed", [
    (False, 0.0, False), (True, 0.0, False), (True, 0.3, False), (False, 0.1, True)])
def test_cross_entropy_small_and_large_batches(rows, reduction, weighted, smoothing,
                                               transposed):
    torch = pytest.importorskip("torch")
    F = ember.nn.functional
    x = data((10, rows) if transposed else (rows, 10), np.float32)
    t = rng.integers(0, 10, rows)
    t[::7] = -100  # ignored
    t[3] = 9
    w = rng.random(10).astype(np.float32) if weighted else None
    xe = on(x).t() if transposed else on(x)
    xe.requires_grad_()
    tx = torch.from_numpy(x.T.copy() if transposed else x).requires_grad_()
    loss = F.cross_entropy(xe, on(t), weight=on(w) if weighted else None,
                           reduction=reduction, label_smoothing=smoothing)
    ref = torch.nn.functional.cross_entropy(
        tx, torch.from_numpy(t), weight=torch.from_numpy(w) if weighted else None,
        reduction=reduction, label_smoothing=smoothing)
    close(loss.detach(), ref.detach().numpy(), rtol=1e-5, atol=1e-5)
    loss.backward()
    ref.backward()
    close(xe.grad, tx.grad.numpy(), rtol=1e-4, atol=1e-7)


def test_cross_entropy_all_ignored_mean_is_nan_as_torch():
    torch = pytest.importorskip("torch")
    x = data((5, 3), np.float32)
    t = np.full(5, -100)
    xt = on(x).requires_grad_()
    loss = ember.nn.functional.cross_entropy(xt, on(t))
    tx = torch.from_numpy(x).requires_grad_()
    ref = torch.nn.functional.cross_entropy(tx, torch.from_numpy(t))
    assert np.isnan(loss.item()) and np.isnan(ref.item())
    loss.backward()
    ref.backward()
    close(xt.grad, tx.grad.numpy())


def test_cross_entropy_small_batch_is_one_launch_each_way():
    from test_rocm_linear import counting
    x = on(data((64, 10), np.float32)).requires_grad_()
    t = on(np.arange(64) % 10)
    ember.nn.functional.cross_entropy(x, t).backward()
    x.grad = None
    one = on(np.float32(1))
    with counting() as fwd:
        loss = ember.nn.functional.cross_entropy(x, t)
    with counting() as bwd:
        loss.backward(one)
    assert len(fwd) == 1, fwd  # (the total inside)
    assert len(bwd) == 1, bwd  # (the mean's denominator inside)
    assert x.grad is not None


@pytest.mark.parametrize("fill", [-np.inf, np.nan])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_fused_ignores_non_finite_padding(fill, reduction):
    # Masked logits at ignored (padding) positions must not reach the loss or the
    # gradient: the kernels skip those rows (PyTorch's loss; gradient 0 there).
    torch = pytest.importorskip("torch")
    F = ember.nn.functional
    x = data((4, 3), np.float32)
    x[1] = fill
    t = np.array([0, -100, 2, 1])
    xt = on(x).requires_grad_()
    loss = F.cross_entropy(xt, on(t), reduction=reduction, label_smoothing=0.1)
    tx = torch.from_numpy(x).requires_grad_()
    ref = torch.nn.functional.cross_entropy(tx, torch.from_numpy(t), reduction=reduction,
                                            label_smoothing=0.1)
    close(loss.detach(), ref.detach().numpy())
    loss.sum().backward()
    ref.sum().backward()
    g = host(xt.grad)
    assert (g[1] == 0).all()
    np.testing.assert_allclose(g[[0, 2, 3]], tx.grad.numpy()[[0, 2, 3]], rtol=1e-5, atol=1e-6)


def test_cross_entropy_fused_inf_logit_is_nan_as_torch():
    torch = pytest.importorskip("torch")
    x = data((3, 4), np.float32)
    x[1, 2] = np.inf
    t = np.array([0, 1, 3])
    xt = on(x).requires_grad_()
    loss = ember.nn.functional.cross_entropy(xt, on(t), reduction="none")
    loss.sum().backward()
    tx = torch.from_numpy(x).requires_grad_()
    ref = torch.nn.functional.cross_entropy(tx, torch.from_numpy(t), reduction="none")
    ref.sum().backward()
    close(loss.detach(), ref.detach().numpy())
    close(xt.grad, tx.grad.numpy())


def test_threshold_backward_is_one_kernel_and_passes_nan():
    torch = pytest.importorskip("torch")
    from ember.device import get_backend
    from ember.ops.nn import threshold_backward
    assert "threshold_backward" in get_backend(R).kernels  # not le + where
    g = data((3, 4), np.float32)
    x = np.array([[1, -1, 0, np.nan], [2, 3, -4, 0.5], [0, 0, 1, 1]], np.float32)
    ref = torch.ops.aten.threshold_backward(torch.from_numpy(g), torch.from_numpy(x), 0)
    close(threshold_backward(on(g), on(x), 0), ref.numpy())
    # a bool gradient compares against the threshold as it is, not cast to bool (True
    # <= 0.5 is false); PyTorch has no bool kernel, ember's cpu is the reference
    gb, xb = np.array([True, True, False]), np.array([True, False, True])
    close(threshold_backward(on(gb), on(xb), 0.5), np.array([True, False, False]))
    close(threshold_backward(on(gb), on(xb), 0.5),
          threshold_backward(ember.tensor(gb), ember.tensor(xb), 0.5).numpy())


def test_cross_entropy_bad_target_raises_at_the_next_read():
    # checked on the device as the kernel reads the targets (a device-side assert), so
    # the call does not wait for the device; the next host read raises the CPU's error
    F = ember.nn.functional
    x = on(data((3, 4), np.float32))
    for bad, ignore in [(4, -100), (-1, -100), (-100, 2), (7, 0)]:
        loss = F.cross_entropy(x, on(np.array([0, bad, 1])), ignore_index=ignore)
        with pytest.raises(IndexError, match=rf"cross_entropy\(\): argument 'target' holds "
                                             rf"{bad}, which is out of bounds for 4 classes "
                                             rf"\(expected values in \[0, 3\] or "
                                             rf"ignore_index={ignore}\)"):
            loss.item()
        # reported once: the flags are clear again, a good call after it works
        good = F.cross_entropy(x, on(np.array([0, 3, 1])), ignore_index=ignore)
        ref = F.cross_entropy(x.cpu(), ember.tensor(np.array([0, 3, 1])),
                              ignore_index=ignore)
        np.testing.assert_allclose(good.item(), ref.item(), rtol=1e-6)
    # ember.synchronize raises it too, and so does a read of any other tensor
    F.cross_entropy(x, on(np.array([0, 9, 1])), reduction="none")
    with pytest.raises(IndexError, match="holds 9"):
        ember.synchronize("rocm")
    F.cross_entropy(x, on(np.array([9, 0, 1])), reduction="sum")
    with pytest.raises(IndexError, match="holds 9"):
        x.cpu()
    # an ignore_index inside the classes, and ignored targets outside them, are fine
    assert np.isfinite(F.cross_entropy(x, on(np.array([0, -100, 3]))).item())
    assert np.isfinite(F.cross_entropy(x, on(np.array([0, 2, 3])), ignore_index=2).item())


def test_cross_entropy_target_check_does_not_wait_for_the_device(monkeypatch):
    # the old value rule read two reductions back mid-call (amin, amax)
    import pyopencl as cl
    x = on(data((64, 10), np.float32)).requires_grad_()
    t = on(np.arange(64) % 10)
    ember.nn.functional.cross_entropy(x, t).backward()
    ember.synchronize("rocm")
    reads = []
    real = cl.enqueue_copy
    def copy(queue, dest, *a, **k):  # reads into host memory (not device copies)
        if isinstance(dest, np.ndarray):
            reads.append(k.get("is_blocking"))
        return real(queue, dest, *a, **k)
    monkeypatch.setattr(cl, "enqueue_copy", copy)
    loss = ember.nn.functional.cross_entropy(x, t)
    loss.backward()
    assert reads == []
    loss.item()
    assert reads.count(True) == 1, reads  # the loss (the flags' read rides along)


@pytest.mark.parametrize("opt", ["sgd", "sgd_momentum", "adam", "adamw_amsgrad"])
def test_fused_optimizer_steps_match_torch(opt):
    torch = pytest.importorskip("torch")
    w0 = data((7, 3), np.float32)
    grads = [data((7, 3), np.float32) for _ in range(3)]
    p = on(w0).requires_grad_()
    tp = torch.from_numpy(w0.copy()).requires_grad_()
    make = {
        "sgd": (lambda ps: ember.optim.SGD(ps, lr=0.1),
                lambda ps: torch.optim.SGD(ps, lr=0.1)),
        "sgd_momentum": (lambda ps: ember.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True,
                                                    weight_decay=0.01),
                         lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True,
                                                    weight_decay=0.01)),
        "adam": (lambda ps: ember.optim.Adam(ps, lr=0.01),
                 lambda ps: torch.optim.Adam(ps, lr=0.01)),
        "adamw_amsgrad": (lambda ps: ember.optim.AdamW(ps, lr=0.01, amsgrad=True),
                          lambda ps: torch.optim.AdamW(ps, lr=0.01, amsgrad=True)),
    }[opt]
    o, to = make[0]([p]), make[1]([tp])
    for g in grads:
        p.grad = on(g)
        tp.grad = torch.from_numpy(g.copy())
        o.step()
        to.step()
    close(p.detach(), tp.detach().numpy(), rtol=1e-5, atol=1e-6)


# -- indexing ------------------------------------------------------------------------------


def test_gather_scatter_index_ops_match_torch():
    torch = pytest.importorskip("torch")
    x = data((4, 5), np.float32)
    i = rng.integers(0, 5, (4, 3))
    src = data((4, 3), np.float32)
    T = torch.from_numpy
    close(ember.gather(on(x), 1, on(i)), torch.gather(T(x), 1, T(i)).numpy())
    close(ember.scatter_add(on(x), 1, on(i), on(src)),
          torch.scatter_add(T(x), 1, T(i), T(src)).numpy(), rtol=1e-6)
    close(ember.scatter(on(x), 1, on(i[:, :1]), on(src[:, :1])),
          torch.scatter(T(x), 1, T(i[:, :1]), T(src[:, :1])).numpy())
    sel = np.array([4, 0, 0])
    close(ember.index_select(on(x), 1, on(sel)), torch.index_select(T(x), 1, T(sel)).numpy())
    rows = np.array([1, 1, 3])
    close(ember.index_add(on(x), 0, on(rows), on(x[:3]), alpha=2),
          torch.index_add(T(x), 0, T(rows), T(x[:3]), alpha=2).numpy(), rtol=1e-6)
    close(ember.masked_fill(on(x), on(x > 0), 0.5), T(x).masked_fill(T(x > 0), 0.5).numpy())


def test_advanced_indexing_and_index_put():
    torch = pytest.importorskip("torch")
    x = data((4, 5, 2), np.float32)
    T = torch.from_numpy
    r, c = np.array([3, -1, 0]), np.array([1, 4, 4])
    close(on(x)[on(r)], T(x)[T(r)].numpy())
    close(on(x)[:, on(c)], T(x)[:, T(c)].numpy())
    close(on(x)[on(r), :, on(np.array([0, 1, 1]))], T(x)[T(r), :, T(np.array([0, 1, 1]))].numpy())
    close(on(x)[on(x > 0)], T(x)[T(x > 0)].numpy())
    t, tt = on(x), T(x.copy())
    v = data((5, 2), np.float32)
    t.index_put_((on(np.array([0, 0, 2])),), on(v), accumulate=True)
    tt.index_put_((T(np.array([0, 0, 2])),), T(v), accumulate=True)
    close(t, tt.numpy(), rtol=1e-6)


def test_accumulate_small_ints_and_bounds():
    x = np.zeros((3, 4), np.int8)
    i = np.array([[0, 1, 1, 0]])
    ref = x.copy()
    np.add.at(ref, (i[0], np.arange(4)), 1)
    close(ember.scatter_add(on(x), 0, on(i), on(np.ones((1, 4), np.int8))), ref)
    with pytest.raises(IndexError, match="out of bounds"):
        ember.gather(on(data((2, 3), np.float32)), 1, on(np.array([[0, 3]])))


def test_round_decimals_and_integer_true_division():
    torch = pytest.importorskip("torch")
    x = data((3, 4), np.float32) * 10
    for d in (0, 1, -1):
        close(ember.round(on(x), decimals=d), torch.round(torch.from_numpy(x), decimals=d).numpy(),
              rtol=1e-6)
    a, b = np.array([7, -7, 3]), np.array([2, 2, 4])
    close(ember.div(on(a), on(b)), (a / b).astype(np.float32))
    close(ember.div(on(a), on(b), rounding_mode="floor"), np.floor_divide(a, b))
    close(ember.div(on(a), on(b), rounding_mode="trunc"), np.trunc(a / b).astype(np.int64))


def test_contiguous_fills_and_copies_use_the_runtime_commands(monkeypatch):
    # contiguous fills and same-dtype copies need no program (clEnqueueFillBuffer /
    # clEnqueueCopyBuffer); strided, broadcast, casting or same-storage ones still run
    # the elementwise kernel, and every one computes what numpy does
    from ember_rocm.kernels import pointwise
    kernels = []
    real = pointwise.elementwise
    monkeypatch.setattr(pointwise, "elementwise",
                        lambda name, *a, **k: (kernels.append(name), real(name, *a, **k))[1])
    dts = [np.bool_, np.int8, np.int16, np.int32, np.int64, np.float32]
    from ember.device import get_backend
    if get_backend(R).state(0).fp64:
        dts.append(np.float64)
    for dt in dts:
        close(ember.full((3, 5), 3, dtype=getattr(ember, np.dtype(dt).name), device=R),
              np.full((3, 5), 3, dt))
    close(ember.full((4,), float("nan"), device=R), np.full(4, np.nan, np.float32))
    close(ember.zeros(0, device=R), np.zeros(0, np.float32))
    close(ember.ones((), dtype=ember.int64, device=R), np.ones((), np.int64))
    x = data((4, 6), np.float32)
    t = on(x)
    t[1:3].fill_(-2.5)  # a contiguous slice at an offset: only its elements change
    x[1:3] = -2.5
    close(t, x)
    c = t[2:].clone()  # a copy from an offset
    close(c, x[2:])
    t[:2].copy_(on(x[2:] * 3))  # into an offset, from another storage
    x[:2] = x[2:] * 3
    close(t, x)
    assert kernels == []
    t[:, 1].fill_(7.0)  # strided: the kernel
    x[:, 1] = 7.0
    close(t, x)
    close(t.t().clone(), x.T.copy())  # a strided source
    t[0].copy_(on(np.arange(6, dtype=np.int32)))  # a cast
    x[0] = np.arange(6)
    t[1].copy_(on(np.float32(4)))  # a broadcast
    x[1] = 4
    t[3].copy_(t[2])  # the same storage
    x[3] = x[2]
    close(t, x)
    assert kernels == ["fill", "clone", "copy_", "copy_", "copy_"]
