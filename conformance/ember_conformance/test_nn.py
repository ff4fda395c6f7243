"""The nn smoke test: a tiny model trained for a few steps on the device matches the
same run on the CPU (losses and final weights)."""

from __future__ import annotations

import numpy as np
import pytest

import ember

from ._context import begin

try:
    from ember import nn, optim
    HAVE_NN = hasattr(nn, "Linear") and hasattr(optim, "SGD")
except ImportError:  # pragma: no cover - depends on the installed ember
    HAVE_NN = False


def _train(device, steps=8):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 4)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5], [3.0]], np.float32)).astype(np.float32)
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
    for p in model.parameters():  # identical start on every device
        p.data = ember.tensor(rng.uniform(-0.5, 0.5, tuple(p.shape)).astype(np.float32))
    model = model.to(device)
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    xt, yt = ember.tensor(x, device=device), ember.tensor(y, device=device)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = ((model(xt) - yt) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(float(loss.item()))
    return losses, [p.detach().cpu().numpy() for p in model.parameters()]


@pytest.mark.skipif(not HAVE_NN, reason="ember.nn / ember.optim are not available")
def test_tiny_model_trains_like_on_cpu(ember_device, request):
    begin(request, ember_device, None, None, "nn training smoke test")
    if not ember.is_available("cpu"):
        pytest.skip("unsupported: the CPU device (the reference run) is not installed")
    losses, params = _train(ember_device)
    ref_losses, ref_params = _train("cpu")
    assert losses[-1] < losses[0], f"the loss did not decrease on {ember_device}: {losses}"
    # float32 training on two backends: per-step results may differ in the last bits,
    # and 8 steps of SGD amplify that only slightly.
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-4, atol=1e-5,
                               err_msg=f"losses on {ember_device} differ from the CPU's")
    for p, r in zip(params, ref_params, strict=False):
        np.testing.assert_allclose(p, r, rtol=1e-4, atol=1e-5)
