"""Normalisation ops (layer, group and batch norm) and the variance they share, on
inputs where a naive two-pass mean is inexact."""

import numpy as np
import pytest

import ember
from _oracle import torch

pytestmark = pytest.mark.torch

F = ember.nn.functional

#: a constant row of large magnitude: the float32 sum of seven (or a hundred) 2e20 is
#: rounded, so ``x - mean`` used to be a nonzero constant normalised to -1 or 1
LENGTHS = [2, 5, 7, 33, 100]


def _constant(n, value=2e20):
    return np.full((3, 2, n), value, np.float32)


@pytest.mark.parametrize("device", ["cpu", "reference"])
@pytest.mark.parametrize("n", LENGTHS)
def test_constant_rows_normalise_to_zero(device, n):
    x = ember.tensor(_constant(n), device=device)
    for name, y in (("layer_norm", F.layer_norm(x, (n,))),
                    ("group_norm", F.group_norm(x, 1)),
                    ("batch_norm", F.batch_norm(x, None, None, training=True))):
        got = y.cpu().numpy()
        assert (got == 0).all(), f"{name} on {device}, rows of {n} x 2e20: {got.ravel()[:4]}"


@pytest.mark.parametrize("device", ["cpu", "reference"])
@pytest.mark.parametrize("n", LENGTHS)
def test_variance_of_a_constant_row_is_zero(device, n):
    x = ember.tensor(_constant(n), device=device)
    import ember.array_api as xp
    for y in (ember.var(x, 2), ember.var_mean(x, 2)[0], ember.std(x, 2), xp.var(x, axis=2),
              xp.std(x, axis=2)):
        assert (y.cpu().numpy() == 0).all()
    want = torch.var(torch.tensor(_constant(n)), 2).numpy()  # (Welford: exactly 0)
    np.testing.assert_array_equal(ember.var(x, 2).cpu().numpy(), want)


@pytest.mark.parametrize("device", ["cpu", "reference"])
def test_normalisation_values_and_gradients_against_pytorch(device):
    """Shifting by each row's first element changes neither the values nor the
    gradients (the shift is detached: the result does not depend on it)."""
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((4, 6, 5)) * 3 + 1000).astype(np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)
    cases = [
        (lambda m, t: m.nn.functional.layer_norm(t, (5,)), 2e-3),
        (lambda m, t: m.nn.functional.layer_norm(t, (6, 5)), 2e-3),
        (lambda m, t: m.nn.functional.group_norm(t, 2), 2e-3),
        (lambda m, t: m.nn.functional.batch_norm(t, None, None, training=True), 2e-3),
        (lambda m, t: m.var(t, (0, 2)), 2e-3),
    ]
    for fn, tol in cases:
        e = ember.tensor(x, device=device).requires_grad_()
        t = torch.tensor(x, requires_grad=True)
        ye, yt = fn(ember, e), fn(torch, t)
        ge = ember.tensor(g.ravel()[:ye.numel()].reshape(tuple(ye.shape)), device=device)
        ye.backward(ge)
        yt.backward(torch.tensor(ge.cpu().numpy()))
        np.testing.assert_allclose(ye.detach().cpu().numpy(), yt.detach().numpy(),
                                   rtol=tol, atol=tol)
        np.testing.assert_allclose(e.grad.cpu().numpy(), t.grad.numpy(), rtol=tol, atol=tol)


def test_empty_normalised_dims_and_zero_d_var():
    assert ember.var(ember.zeros(0), correction=0).isnan().item()
    assert ember.var(ember.tensor(3.0), correction=0).item() == 0.0
    y = F.layer_norm(ember.zeros(0, 4), (4,))
    assert tuple(y.shape) == (0, 4)
