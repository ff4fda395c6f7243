"""``cdist`` (ember.ops.distance): values and gradients against PyTorch for every kind
of ``p`` and both compute modes, and memory linear in the inputs and output."""

import math
import tracemalloc

import numpy as np
import pytest

import ember
from _oracle import torch

pytestmark = pytest.mark.torch

PS = [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, math.inf]
SHAPES = [((4, 3), (5, 3)), ((30, 4), (27, 4)), ((2, 30, 3), (1, 6, 3)), ((0, 3), (4, 3)),
          ((3, 0), (2, 0))]


def _inputs(sa, sb, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(sa)
    b = rng.standard_normal(sb)
    if a.size and b.size and a.shape[-2] > 1 and b.shape[-2] > 1:
        a[..., 0, :] = b[..., 0, :]  # one zero distance (its gradient is 0 in PyTorch)
        a[..., 1, 0] = b[..., 1, 0]  # one zero difference (p < 1 masks it)
    return a, b


@pytest.mark.parametrize("device", ["cpu", "reference"])
@pytest.mark.parametrize("p", PS)
@pytest.mark.parametrize(("sa", "sb"), SHAPES)
def test_cdist_against_pytorch(device, p, sa, sb):
    a, b = _inputs(sa, sb)
    for mode in ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
                 "donot_use_mm_for_euclid_dist"):
        ea = ember.tensor(a, device=device).requires_grad_()
        eb = ember.tensor(b, device=device).requires_grad_()
        ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
        got = ember.cdist(ea, eb, p, compute_mode=mode)
        want = torch.cdist(ta, tb, p, compute_mode=mode)
        assert tuple(got.shape) == tuple(want.shape)
        tol = 1e-6 if p == 2 and mode != "donot_use_mm_for_euclid_dist" else 1e-10
        np.testing.assert_allclose(got.detach().cpu().numpy(), want.detach().numpy(),
                                   rtol=tol, atol=tol)
        g = np.random.default_rng(1).standard_normal(tuple(want.shape))
        got.backward(ember.tensor(g, device=device))
        want.backward(torch.tensor(g))
        np.testing.assert_allclose(ea.grad.cpu().numpy(), ta.grad.numpy(), rtol=1e-5,
                                   atol=1e-5, err_msg=f"grad x1, p={p}, mode={mode}")
        np.testing.assert_allclose(eb.grad.cpu().numpy(), tb.grad.numpy(), rtol=1e-5,
                                   atol=1e-5, err_msg=f"grad x2, p={p}, mode={mode}")


def test_cdist_float32_and_mixed_batches():
    a, b = _inputs((3, 40, 5), (40, 5))
    got = ember.cdist(ember.tensor(a, dtype=ember.float32), ember.tensor(b, dtype=ember.float32),
                      1.0)
    assert got.dtype is ember.float32
    np.testing.assert_allclose(got.numpy(), torch.cdist(torch.tensor(a).float(),
                                                        torch.tensor(b).float(), 1.0).numpy(),
                               rtol=1e-5, atol=1e-5)


def _peak(fn) -> int:
    fn()  # warm up
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        fn()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("device", ["cpu", "reference"])
@pytest.mark.parametrize("p", [1.0, 1.5, math.inf])
def test_cdist_memory_is_linear(device, p):
    """200 x 200 rows of 64 columns: the difference tensor would be 10 MiB (float32), the
    inputs, output and gradients take 0.5 MiB; forward and backward stay within a few
    blocks of twice that (measured 2.5-3.5 MiB; the old direct form peaked at 30-60 MiB)."""
    a = ember.randn(200, 64, device=device).requires_grad_()
    b = ember.randn(200, 64, device=device).requires_grad_()

    def run():
        ember.cdist(a, b, p).sum().backward()

    io = (2 * 2 * 200 * 64 + 2 * 200 * 200) * 4
    peak = _peak(run)
    assert peak < 12 * io, f"cdist(p={p}) forward+backward on {device} peaked at " \
                          f"{peak / 2**20:.1f} MiB for {io / 2**20:.2f} MiB of inputs, " \
                          f"outputs and gradients"
