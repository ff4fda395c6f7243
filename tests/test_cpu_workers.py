"""The CPU backend's threads (ember_cpu/workers.py): chunks taken by whichever thread is
free, and numpy's BLAS held to one thread where its own threads would compete with
the kernels' (its count given back afterwards)."""

import threading
import time

import numpy as np
import pytest

pytest.importorskip("ember_cpu")
threadpoolctl = pytest.importorskip("threadpoolctl")

import ember  # noqa: E402
import ember.nn.functional as F  # noqa: E402
from ember_cpu import workers  # noqa: E402


class FakeBLAS:
    """A BLAS library controller that records the thread counts it is given."""

    def __init__(self, threads):
        self.threads = threads
        self.history = []

    def get_num_threads(self):
        return self.threads

    def set_num_threads(self, n):
        self.threads = n
        self.history.append(n)


@pytest.fixture
def fake_blas(monkeypatch):
    lib = FakeBLAS(2)
    monkeypatch.setattr(workers, "_LIBS", (lib,))
    return lib


def test_run_chunks_numbers_every_chunk_once():
    seen = []
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        workers.run_chunks(10, 3, 2, lambda a, b, i: seen.append((a, b, i)))
    assert sorted(seen) == [(0, 3, 0), (3, 6, 1), (6, 9, 2), (9, 10, 3)]
    seen.clear()
    workers.run_chunks(0, 3, 2, lambda a, b, i: seen.append((a, b, i)))
    assert seen == []


def test_a_delayed_thread_holds_up_no_other_chunks():
    # Chunks go to whichever thread is free: while one thread is stuck in chunk 0 (as
    # behind a busy core), the other runs every other chunk.  (A fixed share per
    # thread would leave chunks 2, 4, 6 waiting for the stuck one.)
    ran = {}

    def work(a, b, i):
        ran[i] = threading.get_ident()
        if i == 0:
            time.sleep(0.5)

    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        workers.run_chunks(8, 1, 2, work)
    assert sorted(ran) == list(range(8))
    assert [i for i, t in ran.items() if t == ran[0]] == [0]


def test_product_holds_blas_to_one_thread_only_where_a_second_would_not_pay(fake_blas):
    seen = []

    def probe():
        seen.append(fake_blas.threads)
        return "done"

    assert workers.product(probe, 1 << 20) == "done"  # mid-sized: one thread
    assert workers.product(probe, 1 << 26) == "done"  # large: BLAS threads it
    assert workers.product(probe, 1 << 10) == "done"  # tiny: one thread by itself
    assert seen == [1, 2, 2]
    assert fake_blas.threads == 2 and fake_blas.history == [1, 2]


def test_product_gives_blas_its_threads_back_after_an_error(fake_blas):
    def boom():
        raise ValueError("product")

    with pytest.raises(ValueError, match="product"):
        workers.product(boom, 1 << 20)
    assert fake_blas.threads == 2 and fake_blas.history == [1, 2]


def test_product_on_one_blas_thread_leaves_it_alone(fake_blas):
    fake_blas.threads = 1
    assert workers.product(lambda: fake_blas.threads, 1 << 20) == 1
    assert fake_blas.history == []


def test_linear_layer_products_of_a_small_head_run_on_one_blas_thread(fake_blas):
    # issue 15's CNN head (64 x 1568 -> 10): forward and both backward products hold
    # numpy's BLAS to one thread, so its own threads never wake (their idle spin would
    # take a core from the convolutions' threads), and give the count back.
    rng = np.random.default_rng(0)
    x = ember.tensor(rng.standard_normal((64, 1568)).astype(np.float32),
                     requires_grad=True)
    w = ember.tensor(rng.standard_normal((10, 1568)).astype(np.float32),
                     requires_grad=True)
    b = ember.tensor(np.zeros(10, np.float32), requires_grad=True)
    F.linear(x, w, b).sum().backward()
    assert fake_blas.history.count(1) >= 3
    assert fake_blas.threads == 2
    xn, wn = x.detach().numpy(), w.detach().numpy()
    np.testing.assert_allclose(x.grad.numpy(), np.broadcast_to(wn.sum(0), xn.shape),
                               rtol=1e-5)
    np.testing.assert_allclose(w.grad.numpy(), np.broadcast_to(xn.sum(0), wn.shape),
                               rtol=1e-4, atol=1e-4)


def test_mid_sized_matmul_and_einsum_products_run_on_one_blas_thread(fake_blas):
    # a product too small for a second BLAS thread to pay for its idle spin: matmul
    # (2-D, batched, matrix-vector) and an optimized einsum hold BLAS to one thread
    rng = np.random.default_rng(0)
    a = ember.tensor(rng.standard_normal((4, 64, 128)).astype(np.float32))
    b = ember.tensor(rng.standard_normal((128, 96)).astype(np.float32))
    v = ember.tensor(rng.standard_normal((1024,)).astype(np.float32))
    m = ember.tensor(rng.standard_normal((1024, 512)).astype(np.float32))
    # (einsum: every letter's size multiplied, 2 * 32 * 64 * 48 * 8, bounds each product)
    e = [ember.tensor(rng.standard_normal(s).astype(np.float32))
         for s in ((2, 32, 64), (64, 48), (48, 8))]
    for run, want in ((lambda: a[0] @ b, a.numpy()[0] @ b.numpy()),
                      (lambda: a @ b, a.numpy() @ b.numpy()),
                      (lambda: v @ m, v.numpy() @ m.numpy()),
                      (lambda: ember.einsum("bij,jk,kl->bil", *e),
                       e[0].numpy() @ e[1].numpy() @ e[2].numpy())):
        fake_blas.history.clear()
        np.testing.assert_allclose(run().numpy(), want, rtol=1e-4, atol=1e-4)
        assert fake_blas.history == [1, 2]  # held, then given back
    # tiny and large products leave BLAS alone
    fake_blas.history.clear()
    small = ember.ones(8, 8) @ ember.ones(8, 8)
    large = ember.ones(256, 256) @ ember.ones(256, 256)
    assert fake_blas.history == [] and small.numpy()[0, 0] == 8 and large.numpy()[0, 0] == 256


@pytest.mark.parametrize("shapes", [((64, 128), (128, 96)), ((4, 64, 128), (128, 96)),
                                    ((512, 512), (512, 256))])
def test_matmul_and_activations_give_the_same_bits_on_one_and_two_threads(shapes):
    rng = np.random.default_rng(1)
    a, b = (ember.tensor(rng.standard_normal(s).astype(np.float32)) for s in shapes)
    x = ember.tensor(rng.standard_normal((64, 16, 28, 28)).astype(np.float32),
                     requires_grad=True)
    out = {}
    for threads in (1, 2):
        with threadpoolctl.threadpool_limits(threads):
            x.grad = None
            y = F.relu(x)
            (y * y).sum().backward()
            out[threads] = [(a @ b).numpy(), y.detach().numpy(), x.grad.numpy(),
                            ember.einsum("ij,jk,kl->il", a.reshape(-1, a.shape[-1]), b,
                                         b.T).numpy()]
    for one, two in zip(out[1], out[2], strict=True):
        np.testing.assert_array_equal(one.view(np.int32), two.view(np.int32))
