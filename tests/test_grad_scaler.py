"""ember.amp.GradScaler against torch.amp.GradScaler("cpu"), step for step: scaling,
unscaling, skipped steps on inf/NaN, growth and backoff, state_dict; and the fused
``_amp_foreach_non_finite_check_and_unscale_`` op (its decomposition and the CPU
kernel agree)."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.amp import GradScaler
from ember.ops.amp import _amp_foreach_non_finite_check_and_unscale_ as unscale_op

torch = pytest.importorskip("torch")


def _pair_model(seed=0):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((3, 4)).astype(np.float32)
    b = rng.standard_normal(3).astype(np.float32)
    ep = [ember.nn.Parameter(ember.tensor(w)), ember.nn.Parameter(ember.tensor(b))]
    tp = [torch.nn.Parameter(torch.from_numpy(w.copy())),
          torch.nn.Parameter(torch.from_numpy(b.copy()))]
    return ep, tp


# per step: what poisons the gradient (None: a clean step)
_SCHEDULE = [None, None, "inf", None, None, None, "nan", None, None, None, None, "-inf",
             None, None, None]


def _loss(m, params, x, poison):
    w, b = params
    out = x @ w.t() + b
    loss = (out * out).mean()
    if poison is not None:
        loss = loss * float(poison)
    return loss


@pytest.mark.parametrize("growth_interval", [1, 3])
def test_steps_skips_growth_and_backoff_match_torch(growth_interval):
    ep, tp = _pair_model()
    eopt, topt = ember.optim.SGD(ep, lr=0.05), torch.optim.SGD(tp, lr=0.05)
    kw = dict(init_scale=2.0 ** 10, growth_factor=2.0, backoff_factor=0.25,
              growth_interval=growth_interval)
    es, ts = GradScaler("cpu", **kw), torch.amp.GradScaler("cpu", **kw)
    rng = np.random.default_rng(1)
    for step, poison in enumerate(_SCHEDULE):
        xa = rng.standard_normal((5, 4)).astype(np.float32)
        eopt.zero_grad()
        topt.zero_grad()
        es.scale(_loss(ember, ep, ember.tensor(xa), poison)).backward()
        ts.scale(_loss(torch, tp, torch.from_numpy(xa), poison)).backward()
        er, tr = es.step(eopt), ts.step(topt)
        assert (er is None) == (tr is None)
        es.update()
        ts.update()
        assert es.get_scale() == ts.get_scale(), step
        assert es._get_growth_tracker() == ts._get_growth_tracker(), step
        for p, q in zip(ep, tp, strict=True):
            np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-5,
                                       atol=1e-6, err_msg=f"step {step}")
    assert es.state_dict() == ts.state_dict()


def test_unscale_then_step_and_the_stage_errors():
    ep, _ = _pair_model()
    opt = ember.optim.SGD(ep, lr=0.1)
    s = GradScaler("cpu", init_scale=8.0)
    with pytest.raises(AssertionError, match="scale"):
        s.unscale_(opt)  # no scale() yet
    x = ember.ones(2, 4)
    s.scale(_loss(ember, ep, x, None)).backward()
    scaled = [p.grad.numpy().copy() for p in ep]
    s.unscale_(opt)
    for p, g in zip(ep, scaled, strict=True):
        np.testing.assert_allclose(p.grad.numpy(), g / 8.0, rtol=1e-6)
    with pytest.raises(RuntimeError, match="already been called"):
        s.unscale_(opt)
    s.step(opt)
    with pytest.raises(RuntimeError, match="after step"):
        s.unscale_(opt)
    with pytest.raises(RuntimeError, match="Closure"):
        s.step(opt, closure=lambda: None)
    s.update()
    assert s.get_scale() == 8.0  # growth_interval 2000: no growth yet


def test_disabled_scaler_is_a_pass_through():
    ep, _ = _pair_model()
    opt = ember.optim.SGD(ep, lr=0.1)
    s = GradScaler("cpu", enabled=False)
    loss = _loss(ember, ep, ember.ones(2, 4), None)
    assert s.scale(loss) is loss and not s.is_enabled() and s.get_scale() == 1.0
    loss.backward()
    before = ep[0].detach().numpy().copy()
    s.step(opt)
    s.update()
    assert not np.array_equal(before, ep[0].detach().numpy())
    assert s.state_dict() == {}
    with pytest.raises(RuntimeError, match="disabled"):
        s.load_state_dict({"scale": 1.0})


def test_state_dict_round_trip_and_torch_compatibility():
    ts = torch.amp.GradScaler("cpu", init_scale=64.0, growth_interval=7)
    s = GradScaler("cpu")
    s.load_state_dict(ts.state_dict())
    assert s.get_scale() == 64.0 and s.get_growth_interval() == 7
    s.scale(ember.ones(()))
    assert s.state_dict() == ts.state_dict()
    with pytest.raises(RuntimeError, match="empty"):
        s.load_state_dict({})


def test_update_with_an_explicit_scale_and_bad_arguments():
    s = GradScaler("cpu")
    s.scale(ember.ones(()))
    s.update(new_scale=3.0)
    assert s.get_scale() == 3.0
    s.update(new_scale=ember.tensor(5.0))
    assert s.get_scale() == 5.0
    for kw, msg in (({"growth_factor": 1.0}, "growth_factor"),
                    ({"backoff_factor": 1.5}, "backoff_factor"),
                    ({"growth_interval": 0}, "growth_interval")):
        with pytest.raises(ValueError, match=msg):
            GradScaler("cpu", **kw)


def test_scale_of_lists_and_float16_grads_refused():
    s = GradScaler("cpu", init_scale=4.0)
    a, b = s.scale([ember.ones(2), (ember.ones(()),)[0]])
    assert a.tolist() == [4.0, 4.0] and b.item() == 4.0
    p = ember.nn.Parameter(ember.ones(2).astype(ember.float16))
    (s.scale(p.sum())).backward()
    with pytest.raises(ValueError, match="float16"):
        s.unscale_(ember.optim.SGD([p], lr=0.1))


# --- the fused op ------------------------------------------------------------------------

def _grads(dtype, bad):
    gs = [ember.tensor([[1.0, 2.0], [3.0, 4.0]]).astype(dtype),
          ember.tensor([8.0, -16.0, 0.5]).astype(dtype)]
    if bad is not None:
        gs[1] = ember.tensor([8.0, bad, 0.5]).astype(dtype)
    return gs


@pytest.mark.parametrize("how", ["native", "decomposition"])
@pytest.mark.parametrize("bad", [None, float("inf"), float("-inf"), float("nan")])
@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_found_inf_and_unscale(how, bad, dtype, monkeypatch):
    dt = getattr(ember, dtype)
    od = ember.schema.registry["_amp_foreach_non_finite_check_and_unscale_"]
    if how == "decomposition":
        from ember.device import get_backend
        monkeypatch.delitem(get_backend("cpu").kernels, od.name, raising=False)
        ember.dispatch.clear_cache(od)
    try:
        gs = _grads(dt, bad)
        tg = [torch.from_numpy(g.astype(ember.float32).numpy()).to(getattr(torch, dtype))
              for g in gs]
        found, inv = ember.zeros(()), ember.tensor(0.25)
        tfound, tinv = torch.zeros(()), torch.tensor(0.25)
        unscale_op(gs, found, inv)
        torch._amp_foreach_non_finite_check_and_unscale_(tg, tfound, tinv)
        assert dispatch_how(od) == how
        assert found.item() == tfound.item() == (0.0 if bad is None else 1.0)
        for g, t in zip(gs, tg, strict=True):
            assert g.dtype is dt
            np.testing.assert_array_equal(g.astype(ember.float32).numpy(), t.float().numpy())
        # the flag accumulates: a clean list does not reset it
        unscale_op(_grads(dt, None), found, inv)
        assert found.item() == (0.0 if bad is None else 1.0)
    finally:
        ember.dispatch.clear_cache(od)


def dispatch_how(od):
    return ember.dispatch.how_implemented(od, "cpu")


def test_found_inf_op_checks_its_arguments():
    with pytest.raises(ember.OpError, match="found_inf.*float32"):
        unscale_op([ember.ones(2)], ember.zeros((), dtype=ember.float64), ember.ones(()))
    with pytest.raises(ember.OpError, match="inv_scale.*one-element"):
        unscale_op([ember.ones(2)], ember.zeros(()), ember.ones(2))
    with pytest.raises(ember.OpError, match=r"grads\[0\].*floating"):
        unscale_op([ember.ones(2, dtype=ember.int64)], ember.zeros(()), ember.ones(()))
