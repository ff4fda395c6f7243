"""The CPU backend's convolution and max-pooling kernels (ember_cpu.conv_kernels),
forward and backward, against PyTorch: strides, padding, dilation, groups,
non-contiguous and unbatched inputs, empty batches, max-pool ties and NaN."""

from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn.functional as F

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)


def _close(got, want, tol=1e-4):
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=tol,
                               atol=tol)


def _pair(x0):
    return ember.tensor(x0, requires_grad=True), torch.tensor(x0, requires_grad=True)


def _layout(x0, how):
    """The same values as a contiguous, channels-last or strided-slice array."""
    if how == "channels_last":
        return np.ascontiguousarray(x0.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    if how == "sliced":
        big = np.zeros(x0.shape[:-1] + (2 * x0.shape[-1],), x0.dtype)
        big[..., ::2] = x0
        return big[..., ::2]
    return x0


CONVS = [  # (N, C, H, W), O, kernel, stride, padding, dilation, groups
    ((2, 3, 7, 6), 4, 3, 1, 1, 1, 1),
    ((64, 1, 28, 28), 16, 3, 1, 1, 1, 1),  # issue 15's first layer
    ((2, 4, 9, 8), 6, (3, 2), 2, (1, 0), 1, 2),
    ((1, 2, 10, 9), 4, 3, (2, 3), 2, (2, 1), 1),
    ((2, 3, 8, 8), 3, 3, 1, 0, 2, 1),
    ((3, 4, 6, 6), 4, 1, 1, 0, 1, 4),  # depthwise 1x1
    ((2, 2, 5, 7), 3, (2, 3), 1, (1, 2), (2, 1), 1),  # stride 1, dilation: wide columns
    ((0, 3, 5, 5), 2, 3, 1, 1, 1, 1),
    ((64, 16, 14, 14), 32, 3, 1, 1, 1, 1),  # issue 15's second layer
    ((2, 4, 6, 5), 6, 3, 1, 1, 1, 2),  # stride 1, groups: the transposed conv per group
    ((2, 3, 5, 4), 2, 1, 1, 1, 1, 1),  # padding past the kernel's reach: col2im
    ((3, 2, 5, 30), 4, 3, 1, 1, 1, 1),  # rows of 30: plain columns, product in place
]


@pytest.mark.parametrize("layout", ["contiguous", "channels_last", "sliced"])
@pytest.mark.parametrize("case", CONVS, ids=lambda c: "x".join(map(str, c[0])))
def test_conv2d_forward_and_backward_match_torch(case, layout):
    shape, o, k, s, p, d, groups = case
    kk = (k, k) if isinstance(k, int) else k
    x0 = _layout(RNG.standard_normal(shape).astype(np.float32), layout)
    w0 = RNG.standard_normal((o, shape[1] // groups) + kk).astype(np.float32)
    b0 = RNG.standard_normal(o).astype(np.float32)
    (x, tx), (w, tw), (b, tb) = _pair(x0), _pair(w0), _pair(b0)
    y = F.conv2d(x, w, b, s, p, d, groups)
    ty = torch.nn.functional.conv2d(tx, tw, tb, s, p, d, groups)
    _close(y, ty)
    g0 = _layout(RNG.standard_normal(tuple(ty.shape)).astype(np.float32), layout)
    y.backward(ember.tensor(g0))
    ty.backward(torch.tensor(g0))
    _close(x.grad, tx.grad)
    _close(w.grad, tw.grad, 1e-3)
    _close(b.grad, tb.grad, 1e-3)


def test_conv2d_unbatched_and_float64():
    x0 = RNG.standard_normal((3, 6, 5))
    w0 = RNG.standard_normal((2, 3, 3, 3))
    (x, tx), (w, tw) = _pair(x0), _pair(w0)
    y = F.conv2d(x, w, None, 1, 1)
    ty = torch.nn.functional.conv2d(tx, tw, None, 1, 1)
    assert y.dtype == ember.float64 and tuple(y.shape) == (2, 6, 5)
    _close(y, ty, 1e-10)
    y.sum().backward()
    ty.sum().backward()
    _close(x.grad, tx.grad, 1e-10)
    _close(w.grad, tw.grad, 1e-10)


@pytest.mark.parametrize("bad", ["input", "weight"])
def test_conv2d_backward_with_infinities_matches_torch(bad):
    # Stride-1 kernels compute wide rows (the padded width) and drop the extra
    # positions; an infinite value read there must not turn a gradient into NaN.
    x0 = RNG.standard_normal((2, 2, 5, 5)).astype(np.float32)
    w0 = RNG.standard_normal((3, 2, 3, 3)).astype(np.float32)
    if bad == "input":
        x0[0, 1, 2, 0] = np.inf
    else:
        w0[1, 0, 0, 2] = np.inf
    (x, tx), (w, tw) = _pair(x0), _pair(w0)
    g0 = np.zeros((2, 3, 5, 5), np.float32)
    g0[1] = RNG.standard_normal((3, 5, 5))  # the sample with the inf gets no gradient
    F.conv2d(x, w, None, 1, 1).backward(ember.tensor(g0))
    torch.nn.functional.conv2d(tx, tw, None, 1, 1).backward(torch.tensor(g0))
    np.testing.assert_array_equal(np.isnan(w.grad.numpy()), np.isnan(tw.grad.numpy()))
    np.testing.assert_array_equal(np.isnan(x.grad.numpy()), np.isnan(tx.grad.numpy()))


@pytest.mark.parametrize("threads", [1, 2])
def test_conv2d_and_max_pool2d_on_one_and_two_threads_match_torch(threads):
    # The batch is split into chunks over as many threads as numpy's BLAS may use; BLAS
    # is held to one thread while they run and gets its count back afterwards.
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from ember_cpu import workers
    x0 = RNG.standard_normal((64, 16, 14, 14)).astype(np.float32)
    w0 = RNG.standard_normal((32, 16, 3, 3)).astype(np.float32) / 12
    b0 = RNG.standard_normal(32).astype(np.float32)
    (x, tx), (w, tw), (b, tb) = _pair(x0), _pair(w0), _pair(b0)
    with threadpoolctl.threadpool_limits(threads, user_api="blas"):
        assert workers.threads() == threads
        y = F.max_pool2d(F.conv2d(x, w, b, 1, 1), 2)
        y.backward(ember.tensor(np.ones(tuple(y.shape), np.float32)))
        assert workers.threads() == threads
    ty = torch.nn.functional.max_pool2d(torch.nn.functional.conv2d(tx, tw, tb, 1, 1), 2)
    ty.backward(torch.ones(ty.shape))
    _close(y, ty)
    for got, want in ((x, tx), (w, tw), (b, tb)):
        _close(got.grad, want.grad, 1e-3)


def test_conv2d_gradients_are_identical_on_one_and_two_threads(monkeypatch):
    # The weight gradient sums the batch's chunks in chunk order, and the chunks do not
    # depend on the thread count: the same bits on any number of threads (PyTorch's
    # may differ in the last bits; this is stronger).
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from ember_cpu import conv_kernels, workers
    monkeypatch.setattr(workers, "MIN_PARALLEL_ELEMENTS", 0)  # small cases thread too
    rng = np.random.default_rng(5)
    cases = [((64, 16, 14, 14), (32, 16, 3, 3), 1),  # plain columns, per sample
             ((64, 1, 28, 28), (16, 1, 3, 3), 1),  # wide columns, per chunk
             ((24, 4, 9, 9), (6, 4, 3, 3), 2)]  # stride 2: col2im for the input's
    for xs, ws, stride in cases:
        x = rng.standard_normal(xs).astype(np.float32)
        w = rng.standard_normal(ws).astype(np.float32)
        y = conv_kernels.conv2d(x, w, None, (stride,), (1,), (1,), 1)
        g = rng.standard_normal(y.shape).astype(np.float32)
        got = {}
        for threads in (1, 2, 2):
            with threadpoolctl.threadpool_limits(threads, user_api="blas"):
                fwd = conv_kernels.conv2d(x, w, None, (stride,), (1,), (1,), 1)
                grads = conv_kernels.conv2d_backward(g, x, w, (stride,), (1,), (1,), 1,
                                                     True, True, True)
            got.setdefault(threads, []).append((fwd, *grads))
        for a, b in zip(got[1][0], got[2][0], strict=True):
            np.testing.assert_array_equal(a, b)
        for a, b in zip(got[2][0], got[2][1], strict=True):
            np.testing.assert_array_equal(a, b)


def test_small_kernels_run_on_one_thread_and_large_ones_on_several(monkeypatch):
    # Handing chunks to the pool costs more than a second core saves on small inputs
    # (benchmarks/train_step.py's cnn-small was slower on 2 threads than on 1).
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from ember_cpu import conv_kernels, workers
    seen = []
    run = workers.run_chunks
    monkeypatch.setattr(workers, "run_chunks",
                        lambda n, chunk, threads, fn: seen.append(threads) or
                        run(n, chunk, threads, fn))
    small = RNG.standard_normal((8, 4, 8, 8)).astype(np.float32)
    large = RNG.standard_normal((64, 16, 28, 28)).astype(np.float32)
    w = RNG.standard_normal((8, 4, 3, 3)).astype(np.float32)
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        conv_kernels.conv2d(small, w, None, (1,), (1,), (1,), 1)
        conv_kernels.max_pool2d(small, (2, 2), (2, 2), (0, 0), (1, 1), False)
        assert seen == [1, 1]
        conv_kernels.conv2d(large, RNG.standard_normal((8, 16, 3, 3)).astype(np.float32),
                            None, (1,), (1,), (1,), 1)
        conv_kernels.max_pool2d(large, (2, 2), (2, 2), (0, 0), (1, 1), False)
        assert seen[2:] == [2, 2]


def test_workers_give_blas_its_threads_back_after_an_error():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from ember_cpu import workers
    seen = []

    def work(n0, n1, index):
        seen.append((n0, n1, index, workers.threads()))
        if n0 == 2:
            raise ValueError("chunk 2")

    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        with pytest.raises(ValueError, match="chunk 2"):
            workers.run_chunks(5, 2, 2, work)
        assert workers.threads() == 2
    # (the last chunk may have started before the error: no chunk starts after it)
    assert sorted(c[:3] for c in seen)[:2] == [(0, 2, 0), (2, 4, 1)]
    assert {c[3] for c in seen} == {1}  # BLAS on one thread while the chunks ran


POOLS = [  # shape, kernel, stride, padding, dilation, ceil_mode
    ((2, 3, 8, 8), 2, None, 0, 1, False),
    ((64, 16, 28, 28), 2, None, 0, 1, False),  # issue 15's first pooling
    ((2, 3, 7, 9), 3, 2, 1, 1, True),
    ((1, 2, 10, 10), (3, 2), (2, 1), 1, (2, 1), False),
    ((2, 5, 5), 3, 1, 1, 1, False),
    ((1, 1, 5, 5), 3, 2, 1, 1, True),
    ((2, 2, 7, 7), 3, 3, 0, 1, True),  # the last window hangs over the edge
    ((0, 2, 4, 4), 2, None, 0, 1, False),
]


@pytest.mark.parametrize("layout", ["contiguous", "channels_last", "sliced"])
@pytest.mark.parametrize("case", POOLS, ids=lambda c: "x".join(map(str, c[0])))
def test_max_pool2d_values_indices_and_gradient_match_torch(case, layout):
    shape, k, s, p, d, ceil = case
    x0 = RNG.standard_normal(shape).astype(np.float32)
    x0[..., 1, :] = x0[..., 0, :]  # ties between rows: the first maximum counts
    x0[..., :, 3] = x0[..., :, 2]  # and between columns
    x0 = _layout(x0, layout) if len(shape) == 4 else x0
    x, tx = _pair(x0)
    y, i = F.max_pool2d(x, k, s, p, d, ceil, return_indices=True)
    ty, ti = torch.nn.functional.max_pool2d(tx, k, s, p, d, ceil, return_indices=True)
    _close(y, ty, 0)
    assert i.dtype == ember.int64
    np.testing.assert_array_equal(i.numpy(), ti.numpy())
    g0 = RNG.standard_normal(tuple(ty.shape)).astype(np.float32)
    y.backward(ember.tensor(g0))
    ty.backward(torch.tensor(g0))
    _close(x.grad, tx.grad, 1e-6)
    with ember.no_grad():  # the kernel without indices
        _close(F.max_pool2d(x, k, s, p, d, ceil), ty, 0)


def test_max_pool2d_all_infinite_windows_index_real_cells():
    # Windows of -inf next to the padding: the index is the first cell of the input,
    # never a padding cell (whose index would fall outside the plane).
    x0 = np.full((1, 1, 4, 4), -np.inf, np.float32)
    x, tx = _pair(x0)
    y, i = F.max_pool2d(x, 3, 2, 1, return_indices=True)
    ty, ti = torch.nn.functional.max_pool2d(tx, 3, 2, 1, return_indices=True)
    np.testing.assert_array_equal(i.numpy(), ti.numpy())
    _close(y, ty, 0)


def test_max_pool2d_nan_wins_at_its_last_occurrence_like_torch():
    x0 = RNG.standard_normal((1, 2, 4, 4)).astype(np.float32)
    x0[0, 0, 0, 1] = x0[0, 0, 1, 0] = np.nan  # two NaNs in one window
    x0[0, 1, 3, 3] = np.nan
    x, tx = _pair(x0)
    y, i = F.max_pool2d(x, 2, return_indices=True)
    ty, ti = torch.nn.functional.max_pool2d(tx, 2, return_indices=True)
    np.testing.assert_array_equal(i.numpy(), ti.numpy())
    np.testing.assert_array_equal(np.isnan(y.detach().numpy()), np.isnan(ty.detach().numpy()))


def test_max_pool2d_layer_returns_indices():
    x0 = RNG.standard_normal((2, 3, 6, 6)).astype(np.float32)
    y, i = ember.nn.MaxPool2d(2, return_indices=True)(ember.tensor(x0))
    ty, ti = torch.nn.MaxPool2d(2, return_indices=True)(torch.tensor(x0))
    np.testing.assert_array_equal(i.numpy(), ti.numpy())
    np.testing.assert_array_equal(y.numpy(), ty.numpy())


def test_max_pool2d_double_backward_gathers_through_the_indices():
    x0 = RNG.standard_normal((2, 2, 6, 6))
    x, tx = _pair(x0)
    (g,) = ember.autograd.grad(F.max_pool2d(x, 3, 2, 1).pow(2).sum(), x, create_graph=True)
    (tg,) = torch.autograd.grad(torch.nn.functional.max_pool2d(tx, 3, 2, 1).pow(2).sum(), tx,
                                create_graph=True)
    _close(g, tg, 1e-10)
    w0 = RNG.standard_normal(x0.shape)
    (gg,) = ember.autograd.grad((g * ember.tensor(w0)).sum(), x)
    (tgg,) = torch.autograd.grad((tg * torch.tensor(w0)).sum(), tx)
    _close(gg, tgg, 1e-10)


def test_max_pool2d_backward_does_not_recompute_the_pooling(monkeypatch):
    # The backward scatters through the saved indices: it never calls a pooling kernel.
    from ember_cpu import conv_kernels
    x = ember.tensor(RNG.standard_normal((2, 3, 8, 8)).astype(np.float32),
                     requires_grad=True)
    y = F.max_pool2d(x, 2)
    calls = []
    scan = conv_kernels._max_scan
    monkeypatch.setattr(conv_kernels, "_max_scan", lambda *a, **k: calls.append(1) or
                        scan(*a, **k))
    y.sum().backward()
    assert calls == [] and float(x.grad.sum()) == 2 * 3 * 4 * 4


def test_workers_run_nested_chunks_on_the_calling_thread():
    # A kernel called from inside a chunk (a pool thread) must not wait on the pool it
    # occupies: its chunks run where it was called.
    pytest.importorskip("threadpoolctl")
    import threading

    from ember_cpu import workers
    inner = []

    def outer(n0, n1, slot):
        me = threading.get_ident()
        workers.run_chunks(3, 1, 2, lambda a, b, s: inner.append((me, threading.get_ident(),
                                                                   s)))

    workers.run_chunks(4, 1, 2, outer)
    assert len(inner) == 12
    assert all(caller == ran for caller, ran, _ in inner)
    assert sorted(index for _, _, index in inner) == sorted([0, 1, 2] * 4)


@pytest.mark.parametrize("needs", ["x", "w", "b", "xb", "wb"])
def test_conv2d_backward_computes_only_the_gradients_asked_for(needs):
    # The fused backward gets need_input/need_weight/need_bias: each alone and in pairs
    # (the bias's gradient comes with the weight's product, or from the sum alone).
    x0 = RNG.standard_normal((3, 4, 6, 6)).astype(np.float32)
    w0 = RNG.standard_normal((5, 4, 3, 3)).astype(np.float32)
    b0 = RNG.standard_normal(5).astype(np.float32)
    mine = [ember.tensor(a, requires_grad=k in needs) for a, k in ((x0, "x"), (w0, "w"),
                                                                   (b0, "b"))]
    theirs = [torch.tensor(a, requires_grad=k in needs) for a, k in ((x0, "x"), (w0, "w"),
                                                                     (b0, "b"))]
    g0 = RNG.standard_normal((3, 5, 6, 6)).astype(np.float32)
    F.conv2d(*mine, 1, 1).backward(ember.tensor(g0))
    torch.nn.functional.conv2d(*theirs, 1, 1).backward(torch.tensor(g0))
    for m, t in zip(mine, theirs, strict=True):
        assert (m.grad is None) == (t.grad is None)
        if t.grad is not None:
            _close(m.grad, t.grad, 1e-3)


@pytest.mark.parametrize("padding", [0, 1])
def test_conv2d_with_an_infinite_bias_matches_pytorch(padding):
    """A bias holding inf/NaN rides in the product (a ones row) and gives PyTorch's
    values (coverage of the folded bias at the edges)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 3, 5, 5)).astype(np.float32)
    w = rng.normal(size=(8, 3, 3, 3)).astype(np.float32)
    b = np.array([np.nan] * 5 + [-np.inf, np.inf, 1.0], np.float32)
    got = ember.nn.functional.conv2d(ember.tensor(x), ember.tensor(w), ember.tensor(b),
                                     1, padding).numpy()
    want = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), torch.tensor(b),
                                      1, padding).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)  # NaN and inf where torch's
