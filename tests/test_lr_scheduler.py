"""Learning-rate schedulers against torch.optim.lr_scheduler: the same optimizer
(two parameter groups) gives the same rates (and cycled momenta) step after step,
state dicts resume a schedule exactly, and bad arguments raise PyTorch's errors."""

from __future__ import annotations

import math
import warnings

import pytest

import ember
import ember.nn as nn
import ember.optim as optim

from _nn_oracle import torch

pytestmark = pytest.mark.torch
S = optim.lr_scheduler


def _pair(opt_name="SGD", **kw):
    """Twin ember and torch optimizers with two parameter groups."""
    ep = [nn.Parameter(ember.ones(1)), nn.Parameter(ember.ones(1))]
    tp = [torch.nn.Parameter(torch.ones(1)), torch.nn.Parameter(torch.ones(1))]
    kw = {"lr": 0.1, **kw}
    eo = getattr(optim, opt_name)([{"params": [ep[0]]}, {"params": [ep[1]], "lr": 0.05}], **kw)
    to = getattr(torch.optim, opt_name)([{"params": [tp[0]]}, {"params": [tp[1]], "lr": 0.05}],
                                        **kw)
    return eo, to


def _momenta(o):
    return [g["betas"][0] if "betas" in g else g.get("momentum") for g in o.param_groups]


def _assert_same(eo, to, es, ts, what):
    e, t = es.get_last_lr(), ts.get_last_lr()
    assert len(e) == len(t) == 2
    for a, b in zip(e, t, strict=True):
        assert math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15), (what, e, t)
    assert [g["lr"] for g in eo.param_groups] == e
    for a, b in zip(_momenta(eo), _momenta(to), strict=True):
        assert a == b or math.isclose(a, b, rel_tol=1e-12), (what, "momentum", a, b)


def _simple(name, **kw):
    return lambda o, mod: getattr(mod.optim.lr_scheduler, name)(o, **kw)


CASES = {
    "StepLR": _simple("StepLR", step_size=3, gamma=0.5),
    "MultiStepLR-repeated": _simple("MultiStepLR", milestones=[2, 5, 5, 9], gamma=0.3),
    "ExponentialLR": _simple("ExponentialLR", gamma=0.9),
    "CosineAnnealingLR": _simple("CosineAnnealingLR", T_max=7, eta_min=0.001),
    "LambdaLR": _simple("LambdaLR", lr_lambda=lambda e: 1 / (e + 1)),
    "MultiplicativeLR": _simple("MultiplicativeLR", lr_lambda=lambda e: 0.95),
    "ConstantLR": _simple("ConstantLR", factor=0.5, total_iters=4),
    "LinearLR": _simple("LinearLR", start_factor=0.25, end_factor=0.9, total_iters=6),
    "LinearLR-default": _simple("LinearLR"),
    "PolynomialLR": _simple("PolynomialLR", total_iters=8, power=2.0),
    "WarmRestarts": _simple("CosineAnnealingWarmRestarts", T_0=3, T_mult=2, eta_min=1e-3),
    "WarmRestarts-1": _simple("CosineAnnealingWarmRestarts", T_0=4),
    "OneCycle-cos": _simple("OneCycleLR", max_lr=[1.0, 0.5], total_steps=30),
    "OneCycle-linear-3": _simple("OneCycleLR", max_lr=0.8, epochs=3, steps_per_epoch=10,
                                 anneal_strategy="linear", three_phase=True, pct_start=0.25),
    "OneCycle-nomomentum": _simple("OneCycleLR", max_lr=0.8, total_steps=30,
                                   cycle_momentum=False, div_factor=10.0),
    "Cyclic-triangular": _simple("CyclicLR", base_lr=0.01, max_lr=0.1, step_size_up=4),
    "Cyclic-triangular2": _simple("CyclicLR", base_lr=[0.01, 0.02], max_lr=0.1,
                                  step_size_up=3, step_size_down=5, mode="triangular2"),
    "Cyclic-exp_range": _simple("CyclicLR", base_lr=0.01, max_lr=0.1, step_size_up=5,
                                mode="exp_range", gamma=0.97),
    "Sequential": lambda o, mod: mod.optim.lr_scheduler.SequentialLR(
        o, [mod.optim.lr_scheduler.LinearLR(o, start_factor=0.1, total_iters=4),
            mod.optim.lr_scheduler.ExponentialLR(o, gamma=0.9),
            mod.optim.lr_scheduler.StepLR(o, step_size=2)], milestones=[5, 12]),
    "Chained": lambda o, mod: mod.optim.lr_scheduler.ChainedScheduler(
        [mod.optim.lr_scheduler.ConstantLR(o, factor=0.5, total_iters=3),
         mod.optim.lr_scheduler.ExponentialLR(o, gamma=0.9)]),
}
MOMENTUM = {"OneCycle-cos", "OneCycle-linear-3", "Cyclic-triangular", "Cyclic-triangular2",
            "Cyclic-exp_range"}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("opt_name", ["SGD", "Adam"])
def test_rates_match_torch(case, opt_name):
    kw = {"momentum": 0.9} if opt_name == "SGD" else {}
    eo, to = _pair(opt_name, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's "optimizer.step() before" advice
        es, ts = CASES[case](eo, ember), CASES[case](to, torch)
        seen = set()
        for step in range(30):
            _assert_same(eo, to, es, ts, f"{case} step {step}")
            seen.add(tuple(_momenta(eo)))
            es.step()
            ts.step()
    # the momentum-cycling schedules did move the momentum (so the check above bit)
    assert (len(seen) > 3) == (case in MOMENTUM), seen


@pytest.mark.parametrize("case", list(CASES))
def test_state_dict_resumes_schedule(case, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        eo, _ = _pair("SGD", momentum=0.9)
        es = CASES[case](eo, ember)
        for _ in range(7):
            es.step()
        # through a checkpoint file, as training scripts resume
        ember.save({"opt": eo.state_dict(), "sched": es.state_dict()}, tmp_path / "ck.pt")
        saved = ember.load(tmp_path / "ck.pt")
        osd, ssd = saved["opt"], saved["sched"]
        ref = []
        for _ in range(10):
            es.step()
            ref.append((es.get_last_lr(), _momenta(eo)))
        eo2, _ = _pair("SGD", momentum=0.9)
        es2 = CASES[case](eo2, ember)
        eo2.load_state_dict(osd)
        es2.load_state_dict(ssd)
        got = []
        for _ in range(10):
            es2.step()
            got.append((es2.get_last_lr(), _momenta(eo2)))
        if hasattr(es2, "_get_closed_form_lr"):  # jumping works after a load, too
            es2.step(3)
            es.step(3)
            assert es2.get_last_lr() == es.get_last_lr()
    assert got == ref


def test_state_dict_keys_match_torch():
    for case in ["OneCycle-cos", "Cyclic-triangular", "WarmRestarts", "Sequential",
                 "LambdaLR"]:
        eo, to = _pair("SGD", momentum=0.9)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            es, ts = CASES[case](eo, ember), CASES[case](to, torch)
        tkeys = set(ts.state_dict()) - {"_get_lr_called_within_step", "_is_initial",
                                        "_scale_fn_ref"}
        assert tkeys <= set(es.state_dict()), (case, tkeys - set(es.state_dict()))


@pytest.mark.parametrize("mode,threshold_mode", [("min", "rel"), ("min", "abs"),
                                                  ("max", "rel"), ("max", "abs")])
def test_reduce_on_plateau_matches_torch(mode, threshold_mode):
    eo, to = _pair("SGD")
    kw = dict(mode=mode, factor=0.5, patience=2, threshold=0.05,
              threshold_mode=threshold_mode, cooldown=1, min_lr=[0.01, 0.004])
    es = S.ReduceLROnPlateau(eo, **kw)
    ts = torch.optim.lr_scheduler.ReduceLROnPlateau(to, **kw)
    metrics = [1.0, 0.99, 0.98, 0.97, 0.9, 0.96, 0.97, 0.5, 0.5, 0.5, 0.5, 0.5, 0.52,
               0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3]
    if mode == "max":
        metrics = [2 - m for m in metrics]
    lrs = set()
    for m in metrics:
        es.step(ember.tensor(m))
        ts.step(torch.tensor(m))
        assert es.get_last_lr() == ts.get_last_lr()
        assert (es.best, es.num_bad_epochs, es.cooldown_counter) == \
            (ts.best, ts.num_bad_epochs, ts.cooldown_counter)
        lrs.add(tuple(es.get_last_lr()))
    assert len(lrs) > 2  # the schedule did reduce, down to min_lr
    assert es.get_last_lr()[1] == 0.004
    es2 = S.ReduceLROnPlateau(optim.SGD([nn.Parameter(ember.ones(1))] * 1, lr=1.0))
    es2.load_state_dict(es.state_dict())
    assert es2.best == es.best and es2.mode == mode


def test_sequential_and_chained_reject_plateau_and_foreign_optimizers():
    eo, _ = _pair()
    other, _ = _pair()
    with pytest.raises(ValueError, match="does not support `ReduceLROnPlateau`"):
        S.ChainedScheduler([S.ReduceLROnPlateau(eo)])
    with pytest.raises(ValueError, match="same optimizer"):
        S.SequentialLR(eo, [S.StepLR(eo, 2), S.StepLR(other, 2)], milestones=[3])
    with pytest.raises(ValueError, match="one more than the number of milestone"):
        S.SequentialLR(eo, [S.StepLR(eo, 2)], milestones=[3])


@pytest.mark.parametrize("make,exc,pattern", [
    (lambda o: S.OneCycleLR(o, 1.0), ValueError, "either total_steps OR"),
    (lambda o: S.OneCycleLR(o, 1.0, total_steps=0), ValueError, "positive integer total_steps"),
    (lambda o: S.OneCycleLR(o, 1.0, total_steps=5, pct_start=1), ValueError, "pct_start"),
    (lambda o: S.OneCycleLR(o, 1.0, total_steps=5, anneal_strategy="x"), ValueError,
     "anneal_strategy"),
    (lambda o: S.OneCycleLR(o, [1.0], total_steps=5), ValueError, "same length"),
    (lambda o: S.CyclicLR(o, 0.1, 1.0, mode="x"), ValueError, "mode is invalid"),
    (lambda o: S.CosineAnnealingWarmRestarts(o, T_0=0), ValueError, "positive integer T_0"),
    (lambda o: S.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=0), ValueError, "T_mult"),
    (lambda o: S.LinearLR(o, start_factor=0), ValueError, "Starting multiplicative"),
    (lambda o: S.ConstantLR(o, factor=2), ValueError, "between 0 and 1"),
    (lambda o: S.ReduceLROnPlateau(o, factor=1.0), ValueError, "Factor should be < 1.0"),
    (lambda o: S.ReduceLROnPlateau(o, mode="up"), ValueError, "mode up is unknown"),
    (lambda o: S.ReduceLROnPlateau(o, min_lr=[0.1]), ValueError, "expected 2 min_lrs"),
    (lambda o: S.MultiplicativeLR(o, 0.5), TypeError, "should be a function"),
    (lambda o: S.StepLR(o, 2, last_epoch=3), KeyError, "initial_lr"),
])
def test_bad_arguments_raise(make, exc, pattern):
    eo, _ = _pair()
    with pytest.raises(exc, match=pattern):
        make(eo)


def test_one_cycle_refuses_to_step_past_total_and_needs_momentum():
    eo, _ = _pair()
    s = S.OneCycleLR(eo, 1.0, total_steps=3)
    for _ in range(2):
        s.step()
    s.step()  # PyTorch allows total_steps (the last phase's end + 1) ...
    with pytest.raises(ValueError, match="Tried to step 4 times"):
        s.step()  # ... and refuses the next
    o = optim.SGD([nn.Parameter(ember.ones(1))], lr=0.1)
    o.defaults.pop("momentum")
    with pytest.raises(ValueError, match="must support momentum or beta1"):
        S.OneCycleLR(o, 1.0, total_steps=3)


def test_step_with_epoch_uses_closed_form_and_warns():
    eo, to = _pair()
    es, ts = S.StepLR(eo, 2, 0.5), torch.optim.lr_scheduler.StepLR(to, 2, 0.5)
    with pytest.warns(UserWarning, match="epoch parameter"):
        es.step(5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ts.step(5)
    assert es.get_last_lr() == ts.get_last_lr() == [0.1 * 0.25, 0.05 * 0.25]


def test_fuzz_schedules_against_torch():
    """hypothesis draws a scheduler and its arguments (including edge ones: T_max=1,
    total_iters=0, factor 0..1, T_mult, three_phase, scale_fn, momentum cycling), an
    optimizer, a manual change of the learning rate mid-run, a state_dict round trip
    (optimizer and scheduler, as a resumed run), and compares rates and momenta for
    up to 40 steps; an error must be torch's too."""
    pytest.importorskip("hypothesis")
    from hypothesis import given, settings, strategies as st

    def kwargs(draw, name):
        pick = lambda *v: draw(st.sampled_from(v))
        return {
            "StepLR": lambda: {"step_size": pick(1, 2, 5), "gamma": pick(0.1, 0.5, 1.5)},
            "MultiStepLR": lambda: {"milestones": sorted(draw(st.lists(
                st.integers(0, 15), min_size=1, max_size=4))), "gamma": pick(0.1, 0.5)},
            "ExponentialLR": lambda: {"gamma": pick(0.5, 0.9, 1.0, 1.1)},
            "CosineAnnealingLR": lambda: {"T_max": pick(1, 2, 7), "eta_min": pick(0, 0.2)},
            "ConstantLR": lambda: {"factor": pick(0.0, 0.3, 1.0),
                                   "total_iters": pick(0, 1, 4)},
            "LinearLR": lambda: {"start_factor": pick(0.1, 1.0), "end_factor":
                                 pick(0.0, 0.5, 1.0), "total_iters": pick(0, 1, 6)},
            "PolynomialLR": lambda: {"total_iters": pick(0, 1, 8), "power": pick(0.5, 2.0)},
            "CosineAnnealingWarmRestarts": lambda: {"T_0": pick(1, 3), "T_mult": pick(1, 2),
                                                    "eta_min": pick(0, 1e-3)},
            "OneCycleLR": lambda: {"max_lr": pick(1.0, [1.0, 0.3]), "total_steps":
                                   pick(5, 41), "pct_start": pick(0.1, 0.5, 0.9),
                                   "anneal_strategy": pick("cos", "linear"),
                                   "three_phase": pick(False, True),
                                   "cycle_momentum": pick(False, True)},
            "CyclicLR": lambda: {"base_lr": pick(0.01, [0.01, 0.02]), "max_lr": 0.1,
                                 "step_size_up": pick(1, 4), "step_size_down":
                                 pick(None, 1, 7), "mode": pick("triangular",
                                                                "triangular2", "exp_range"),
                                 "gamma": pick(1.0, 0.9), "cycle_momentum":
                                 pick(False, True), "base_momentum": 0.8,
                                 "max_momentum": 0.9},
        }[name]()

    @settings(derandomize=True, database=None, deadline=None, max_examples=30)
    @given(name=st.sampled_from(["StepLR", "MultiStepLR", "ExponentialLR",
                                 "CosineAnnealingLR", "ConstantLR", "LinearLR",
                                 "PolynomialLR", "CosineAnnealingWarmRestarts",
                                 "OneCycleLR", "CyclicLR"]),
           opt_name=st.sampled_from(["SGD", "Adam"]), poke=st.sampled_from([None, 3, 9]),
           resume=st.sampled_from([None, 5, 12]), data=st.data())
    def check(name, opt_name, poke, resume, data):
        kw = kwargs(data.draw, name)
        eo, to = _pair(opt_name, **({"momentum": 0.9} if opt_name == "SGD" else {}))
        make = lambda o, mod: getattr(mod.optim.lr_scheduler, name)(o, **kw)

        def resumed(opt, sched, mod):
            """A fresh scheduler on the optimizer, both loaded from their state dicts."""
            osd, ssd = opt.state_dict(), sched.state_dict()
            fresh = make(opt, mod)  # (its first step changes the rates: reloaded next)
            opt.load_state_dict(osd)
            fresh.load_state_dict(ssd)
            return fresh
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                ts = make(to, torch)
            except (ValueError, ZeroDivisionError):
                with pytest.raises((ValueError, ZeroDivisionError)):
                    make(eo, ember)
                return
            es = make(eo, ember)
            for step in range(min(40, kw.get("total_steps", 41) - 1)):
                _assert_same(eo, to, es, ts, f"{name} {kw} step {step}")
                if step == poke:
                    for o in (eo, to):
                        for g in o.param_groups:
                            g["lr"] *= 0.5
                if step == resume:
                    es, ts = resumed(eo, es, ember), resumed(to, ts, torch)
                try:
                    ts.step()
                except ZeroDivisionError:  # ConstantLR(factor=0) ending: torch divides
                    with pytest.raises(ZeroDivisionError):
                        es.step()
                    return
                es.step()

    check()
