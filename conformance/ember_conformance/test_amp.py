"""Mixed-precision contracts: GradScaler's fused "found inf and unscale" sets its flag
on the device, and a few training steps under ``ember.autocast(device)`` with a
``GradScaler`` run in the policy's dtypes, skip the step whose gradients overflowed and
follow the same run on the CPU in float32."""

from __future__ import annotations

import numpy as np
import pytest

import ember

from ._context import begin

_LOW = ("float16", "bfloat16")


def _supports(device: str, dtype: str) -> bool:
    from .harness import unsupported_reason
    return unsupported_reason(device, "matmul", dtype) is None


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_found_inf_flag(ember_device, dtype, request):
    begin(request, ember_device, None, None, f"amp found inf {dtype}")
    if not _supports(ember_device, dtype):
        pytest.skip(f"unsupported: {dtype} on {ember_device}")
    from ember.ops.amp import _amp_foreach_non_finite_check_and_unscale_ as op
    dt = getattr(ember, dtype)
    for bad, expected in ((None, 0.0), (np.inf, 1.0), (-np.inf, 1.0), (np.nan, 1.0)):
        a = np.array([1.0, -2.0, 4.0], np.float32)
        if bad is not None:
            a[1] = bad
        grads = [ember.tensor(np.ones((2, 2), np.float32), device=ember_device).astype(dt),
                 ember.tensor(a, device=ember_device).astype(dt)]
        flag = ember.zeros((), device=ember_device)
        op(grads, flag, ember.tensor(0.5, device=ember_device))
        assert flag.item() == expected, f"{dtype} grads with {bad}: flag {flag.item()}"
        got = grads[1].astype(ember.float32).cpu().numpy()
        np.testing.assert_array_equal(got, a * 0.5)


def _steps(device, amp: bool, poison_at: int | None = 2, steps: int = 6):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 8)).astype(np.float32)
    y = rng.integers(0, 4, 16)
    w1 = (rng.standard_normal((16, 8)) * 0.3).astype(np.float32)
    w2 = (rng.standard_normal((4, 16)) * 0.3).astype(np.float32)
    params = [ember.nn.Parameter(ember.tensor(w, device=device)) for w in (w1, w2)]
    opt = ember.optim.SGD(params, lr=0.1)
    scaler = ember.amp.GradScaler(device, init_scale=2.0 ** 8, enabled=amp)
    xt, yt = ember.tensor(x, device=device), ember.tensor(y, device=device)
    losses, dtypes, scales, skipped = [], set(), [], []
    for step in range(steps):
        opt.zero_grad()
        with ember.autocast(device, enabled=amp):
            h = ember.nn.functional.linear(xt, params[0]).relu()
            logits = ember.nn.functional.linear(h, params[1])
            loss = ember.nn.functional.cross_entropy(logits, yt)
        dtypes.add(logits.dtype)
        if step == poison_at:
            loss = loss * float("inf")
        before = params[1].detach().cpu().numpy().copy()
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        skipped.append(bool(np.array_equal(before, params[1].detach().cpu().numpy())))
        scales.append(scaler.get_scale())
        if step != poison_at:
            losses.append(loss.item())
    return losses, dtypes, scales, skipped


def test_autocast_training_steps(ember_device, request):
    begin(request, ember_device, None, None, "amp autocast and GradScaler training steps")
    low = ember.amp.get_autocast_dtype(ember.device(ember_device).type)
    if not _supports(ember_device, low.name):
        pytest.skip(f"unsupported: {low.name} on {ember_device}")
    losses, dtypes, scales, skipped = _steps(ember_device, True)
    assert dtypes == {low}, f"logits in {dtypes}, the policy says {low}"
    assert skipped == [False, False, True, False, False, False], skipped
    assert scales == [256.0, 256.0, 128.0, 128.0, 128.0, 128.0], scales
    # the float32 run without the poisoned step: the skipped step must change nothing
    ref, _, _, _ = _steps("cpu", False, poison_at=None, steps=5)
    assert losses[-1] < losses[0], f"the loss did not decrease: {losses}"
    # float16/bfloat16 products (8 to 11 significant bits) against float32 on the CPU
    rtol = 3e-2 if low.name == "bfloat16" else 5e-3
    np.testing.assert_allclose(losses, ref, rtol=rtol, atol=rtol,
                               err_msg=f"losses under autocast on {ember_device}")
