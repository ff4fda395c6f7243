"""Optimizers and schedulers against torch.optim: the same parameters and gradients
give the same updates step after step (fused CPU kernels and decompositions), state
dicts resume training exactly, and bad hyper-parameters raise."""

from __future__ import annotations

import math

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.optim as optim

from _nn_oracle import close, path, torch  # noqa: F401

pytestmark = pytest.mark.torch

CONFIGS = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.1, "momentum": 0.8, "nesterov": True, "maximize": True}),
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.01, "betas": (0.8, 0.9), "weight_decay": 0.1, "amsgrad": True}),
    ("Adam", {"lr": 0.01, "maximize": True, "eps": 1e-6}),
    ("AdamW", {"lr": 0.01}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.5, "amsgrad": True}),
    ("RMSprop", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9, "centered": True, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "maximize": True}),
]


def grads_for(step, shapes):
    rng = np.random.default_rng(100 + step)
    return [rng.standard_normal(s).astype(np.float32) for s in shapes]


@pytest.mark.parametrize("name,kw", CONFIGS, ids=[f"{n}-{i}" for i, (n, _) in
                                                  enumerate(CONFIGS)])
def test_updates_match_torch(name, kw, path):  # noqa: F811
    rng = np.random.default_rng(0)
    shapes = [(3, 4), (4,), ()]
    init = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    ep = [nn.Parameter(ember.tensor(a)) for a in init]
    tp = [torch.nn.Parameter(torch.tensor(a)) for a in init]
    eo = getattr(optim, name)(ep, **kw)
    to = getattr(torch.optim, name)(tp, **kw)
    for step in range(5):
        for p, q, g in zip(ep, tp, grads_for(step, shapes), strict=True):
            p.grad = ember.tensor(g)
            q.grad = torch.tensor(g)
        eo.step()
        to.step()
        for p, q in zip(ep, tp, strict=True):
            close(p, q, rtol=1e-5, atol=1e-6, what=f"step {step}")


@pytest.mark.parametrize("name,kw", [
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.01, "betas": (0.8, 0.9), "weight_decay": 0.1, "amsgrad": True,
              "maximize": True}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.5, "amsgrad": True})])
def test_capturable_adam_keeps_tensor_steps_and_matches_torch(name, kw):
    # PyTorch refuses capturable=True on the CPU: its non-capturable update is the
    # oracle (the float32 bias corrections differ in the last bits only)
    rng = np.random.default_rng(0)
    shapes = [(3, 4), (4,), ()]
    init = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    ep = [nn.Parameter(ember.tensor(a)) for a in init]
    tp = [torch.nn.Parameter(torch.tensor(a)) for a in init]
    eo = getattr(optim, name)(ep, capturable=True, **kw)
    to = getattr(torch.optim, name)(tp, **kw)
    for step in range(20):
        for p, q, g in zip(ep, tp, grads_for(step, shapes), strict=True):
            p.grad = ember.tensor(g)
            q.grad = torch.tensor(g)
        eo.step()
        to.step()
    for p, q in zip(ep, tp, strict=True):
        close(p, q, rtol=1e-5, atol=1e-6, what=f"{name} capturable")
        st = eo.state[p]["step"]
        assert isinstance(st, ember.Tensor) and st.dtype == ember.float32 and st.item() == 20
    # a capturable optimizer resumes from a state dict with its counts as tensors
    eo2 = getattr(optim, name)(ep, capturable=True, **kw)
    eo2.load_state_dict(eo.state_dict())
    assert all(isinstance(eo2.state[p]["step"], ember.Tensor) for p in ep)
    assert eo2.state[ep[0]]["step"] is not eo.state[ep[0]]["step"]


def test_params_without_grad_are_skipped_and_groups_have_own_lr():
    a, b = nn.Parameter(ember.ones(2)), nn.Parameter(ember.ones(2))
    o = optim.SGD([{"params": [a]}, {"params": [b], "lr": 1.0}], lr=0.1)
    a.grad = ember.ones(2)
    o.step()
    np.testing.assert_allclose(a.detach().numpy(), 0.9)
    np.testing.assert_allclose(b.detach().numpy(), 1.0)
    b.grad = ember.ones(2)
    a.grad = None
    o.step()
    np.testing.assert_allclose(b.detach().numpy(), 0.0)
    np.testing.assert_allclose(a.detach().numpy(), 0.9)


def test_step_does_not_record_autograd_and_bumps_versions():
    p = nn.Parameter(ember.ones(3))
    p.grad = ember.ones(3)
    v = p._version
    optim.Adam([p]).step()
    assert p.grad_fn is None and p.is_leaf and p._version > v


def test_zero_grad():
    p = nn.Parameter(ember.ones(2))
    o = optim.SGD([p], lr=0.1)
    p.grad = ember.ones(2)
    o.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(p.grad.numpy(), 0)
    o.zero_grad()
    assert p.grad is None


def test_closure_is_called_with_grad_enabled():
    p = nn.Parameter(ember.tensor([2.0]))
    o = optim.SGD([p], lr=0.25)

    def closure():
        o.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss
    with ember.no_grad():
        loss = o.step(closure)
    assert loss.item() == 4.0
    np.testing.assert_allclose(p.detach().numpy(), [1.0])


@pytest.mark.parametrize("name,kw", [("SGD", {"lr": 0.1, "momentum": 0.9}),
                                     ("Adam", {"lr": 0.01, "amsgrad": True}),
                                     ("RMSprop", {"lr": 0.01, "centered": True})])
def test_state_dict_resumes_exactly(name, kw):
    def make():
        ember.manual_seed(0)
        m = nn.Linear(3, 2)
        return m, getattr(optim, name)(m.parameters(), **kw)
    x, y = ember.randn(8, 3), ember.randn(8, 2)

    def train(m, o, n):
        for _ in range(n):
            o.zero_grad()
            nn.functional.mse_loss(m(x), y).backward()
            o.step()
    m1, o1 = make()
    train(m1, o1, 6)
    m2, o2 = make()
    train(m2, o2, 3)
    import io
    buf = io.BytesIO()
    ember.save({"model": m2.state_dict(), "opt": o2.state_dict()}, buf)
    m3, o3 = make()
    state = ember.load(io.BytesIO(buf.getvalue()))
    m3.load_state_dict(state["model"])
    o3.load_state_dict(state["opt"])
    train(m3, o3, 3)
    for a, b in zip(m1.parameters(), m3.parameters(), strict=True):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_state_dict_layout_matches_torch():
    p = [nn.Parameter(ember.ones(2)), nn.Parameter(ember.ones(1))]
    o = optim.Adam(p, lr=0.1)
    for q in p:
        q.grad = ember.ones(q.shape)
    o.step()
    sd = o.state_dict()
    assert set(sd) == {"state", "param_groups"}
    assert sd["param_groups"][0]["params"] == [0, 1]
    assert sd["param_groups"][0]["lr"] == 0.1
    assert set(sd["state"][0]) == {"step", "exp_avg", "exp_avg_sq"} and sd["state"][0]["step"] == 1


def test_load_state_dict_errors():
    o = optim.SGD([nn.Parameter(ember.ones(1))], lr=0.1)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        o.load_state_dict({"state": {}, "param_groups": []})
    with pytest.raises(ValueError, match="doesn't match the size"):
        o.load_state_dict({"state": {}, "param_groups": [{"lr": 0.1, "params": [0, 1]}]})


@pytest.mark.parametrize("make,pattern", [
    (lambda p: optim.SGD(p, lr=-1), "Invalid learning rate: -1"),
    (lambda p: optim.SGD(p, lr=0.1, nesterov=True), "Nesterov momentum requires"),
    (lambda p: optim.Adam(p, betas=(1.0, 0.9)), "Invalid beta parameter at index 0"),
    (lambda p: optim.RMSprop(p, eps=-1), "Invalid epsilon value"),
    (lambda p: optim.SGD([], lr=0.1), "empty parameter list"),
])
def test_hyperparameter_validation(make, pattern):
    with pytest.raises(ValueError, match=pattern):
        make([nn.Parameter(ember.ones(1))])


def test_parameter_in_two_groups_rejected():
    p = nn.Parameter(ember.ones(1))
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)


SCHEDULERS = [
    ("StepLR", {"step_size": 3, "gamma": 0.5}),
    ("MultiStepLR", {"milestones": [2, 5, 6], "gamma": 0.3}),
    ("ExponentialLR", {"gamma": 0.9}),
    ("CosineAnnealingLR", {"T_max": 7, "eta_min": 0.001}),
    ("LambdaLR", {"lr_lambda": lambda e: 1 / (e + 1)}),
]


@pytest.mark.parametrize("name,kw", SCHEDULERS, ids=[s[0] for s in SCHEDULERS])
def test_schedulers_match_torch(name, kw):
    ep, tp = nn.Parameter(ember.ones(1)), torch.nn.Parameter(torch.ones(1))
    eo, to = optim.SGD([ep], lr=0.1), torch.optim.SGD([tp], lr=0.1)
    es = getattr(optim.lr_scheduler, name)(eo, **kw)
    ts = getattr(torch.optim.lr_scheduler, name)(to, **kw)
    for _ in range(12):
        assert math.isclose(es.get_last_lr()[0], ts.get_last_lr()[0], rel_tol=1e-9,
                            abs_tol=1e-12)
        assert eo.param_groups[0]["lr"] == es.get_last_lr()[0]
        eo.step()
        to.step()
        es.step()
        ts.step()


def test_scheduler_state_dict_roundtrip():
    # a checkpoint holds both state dicts: the chainable schedulers (PyTorch's) step from
    # the optimizer's current rate, so it is restored too
    o = optim.SGD([nn.Parameter(ember.ones(1))], lr=1.0)
    s = optim.lr_scheduler.StepLR(o, 2, 0.5)
    for _ in range(5):
        s.step()
    o2 = optim.SGD([nn.Parameter(ember.ones(1))], lr=1.0)
    s2 = optim.lr_scheduler.StepLR(o2, 2, 0.5)
    o2.load_state_dict(o.state_dict())
    s2.load_state_dict(s.state_dict())
    s.step()
    s2.step()
    assert s.get_last_lr() == s2.get_last_lr() == [0.125]


# -- the optimizers built from tensor ops (Adagrad, Adamax, NAdam, RAdam, Adadelta, Rprop)
COMPOSED = [
    ("Adagrad", {"lr": 0.1}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.05, "weight_decay": 0.1,
                 "initial_accumulator_value": 0.3, "eps": 1e-6, "maximize": True}),
    ("Adamax", {}),
    ("Adamax", {"lr": 0.05, "betas": (0.8, 0.95), "weight_decay": 0.1, "maximize": True}),
    ("NAdam", {}),
    ("NAdam", {"lr": 0.01, "weight_decay": 0.1, "momentum_decay": 0.01}),
    ("NAdam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True,
               "maximize": True}),
    ("RAdam", {}),
    ("RAdam", {"lr": 0.01, "betas": (0.8, 0.9), "weight_decay": 0.1}),
    ("RAdam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True,
               "maximize": True}),
    ("Adadelta", {}),
    ("Adadelta", {"lr": 0.5, "rho": 0.8, "eps": 1e-4, "weight_decay": 0.1, "maximize": True}),
    ("Rprop", {}),
    ("Rprop", {"lr": 0.05, "etas": (0.3, 1.5), "step_sizes": (1e-3, 0.2), "maximize": True}),
]


def _model_pair(seed=0):
    torch.manual_seed(seed)
    tm = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    em = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    em.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in
                        tm.state_dict().items()})
    return em, tm


def _train_both(em, tm, eo, to, steps, start=0):
    for step in range(start, start + steps):
        rng = np.random.default_rng(step)
        x = rng.standard_normal((6, 3)).astype(np.float32)
        y = rng.standard_normal((6, 2)).astype(np.float32)
        eo.zero_grad()
        to.zero_grad()
        ((em(ember.tensor(x)) - ember.tensor(y)) ** 2).mean().backward()
        ((tm(torch.tensor(x)) - torch.tensor(y)) ** 2).mean().backward()
        eo.step()
        to.step()


@pytest.mark.parametrize("foreach", [None, False])
@pytest.mark.parametrize("name,kw", COMPOSED, ids=[f"{n}-{i}" for i, (n, _) in
                                                   enumerate(COMPOSED)])
def test_composed_optimizers_match_torch_on_a_model(name, kw, foreach, path):  # noqa: F811
    em, tm = _model_pair()
    eo = getattr(optim, name)(em.parameters(), foreach=foreach, **kw)
    to = getattr(torch.optim, name)(tm.parameters(), foreach=foreach, **kw)
    _train_both(em, tm, eo, to, 15)  # RAdam's rectified phase starts at step 6
    for (n, p), q in zip(em.named_parameters(), tm.parameters(), strict=True):
        close(p, q, rtol=2e-5, atol=2e-6, what=f"{name} {n}")
    # torch's parameters moved from the start (the comparison is not of constants)
    em0, _ = _model_pair()
    moved = any(not np.allclose(p.detach().numpy(), q.detach().numpy())
                for p, q in zip(em.parameters(), em0.parameters(), strict=True))
    assert moved
    # the same state keys and hyper-parameters as PyTorch's
    es, ts = eo.state_dict(), to.state_dict()
    assert set(es["state"][0]) == set(ts["state"][0])
    tgroup = {k: v for k, v in ts["param_groups"][0].items()
              if k not in ("differentiable", "capturable", "fused")}
    assert set(tgroup) == set(es["param_groups"][0])
    for k, v in tgroup.items():
        assert es["param_groups"][0][k] == v, k


def _run_composed(name, kw, dtype, foreach, steps=12):
    """Parameters and state after ``steps`` steps over odd shapes (2-d, 1-d, 0-d, empty)
    with gradients that change sign, and one parameter whose gradient turns NaN/inf."""
    rng = np.random.default_rng(0)
    shapes = [(3, 4), (5,), (), (0, 2), (4,)]
    ps = [nn.Parameter(ember.tensor(rng.standard_normal(s), dtype=dtype)) for s in shapes]
    o = getattr(optim, name)(ps, foreach=foreach, **kw)
    for step in range(steps):
        for i, p in enumerate(ps):
            g = np.sin(np.arange(p.numel()) * (step + 1 + i) + i).reshape(tuple(p.shape))
            if i == len(ps) - 1 and step >= 8:
                g[step % 4] = [np.nan, np.inf, -np.inf, np.nan][step % 4]
            p.grad = ember.tensor(g, dtype=dtype)
        o.step()
    state = [{k: v.numpy().copy() if isinstance(v, ember.Tensor) else v
              for k, v in o.state[p].items()} for p in ps]
    return [p.detach().numpy().copy() for p in ps], state


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,kw", COMPOSED, ids=[f"{n}-{i}" for i, (n, _) in
                                                   enumerate(COMPOSED)])
def test_composed_foreach_path_gives_the_per_parameter_numbers(name, kw, dtype):
    # foreach=None/True: one fused op per group (the CPU's multi-tensor kernel);
    # foreach=False: ember's ops parameter by parameter.  Bit for bit the same.
    dtype = getattr(ember, dtype)
    loop_p, loop_s = _run_composed(name, kw, dtype, False)
    for foreach in (None, True):
        ps, st = _run_composed(name, kw, dtype, foreach)
        for i, (a, b) in enumerate(zip(ps, loop_p, strict=True)):
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b, err_msg=f"{name} foreach={foreach} param {i}")
        for a, b in zip(st, loop_s, strict=True):
            assert a.keys() == b.keys()
            for k in a:
                np.testing.assert_array_equal(a[k], b[k], err_msg=f"{name} state {k}")
    assert not np.isfinite(loop_p[-1]).all() or name == "Rprop"  # the NaN reached it
    assert np.isfinite(loop_p[0]).all() and np.isfinite(loop_p[1]).all()


@pytest.mark.parametrize("name", ["Adagrad", "Adamax", "NAdam", "RAdam", "Adadelta", "Rprop"])
def test_composed_foreach_step_is_one_kernel_call_per_group(name):
    # the multi-tensor path: one CPU kernel call updates the whole group (the
    # per-parameter path makes five to twelve per parameter)
    from ember.device import get_backend
    from ember.dispatch import clear_cache
    ps = [nn.Parameter(ember.ones(3, 2)), nn.Parameter(ember.ones(2)),
          nn.Parameter(ember.ones(4))]
    o = getattr(optim, name)(ps[:2])
    o.add_param_group({"params": ps[2:]})
    for p in ps:
        p.grad = ember.full(tuple(p.shape), 0.5)
    o.step()  # (the state is created on the first step)
    b = get_backend("cpu")
    saved, calls = dict(b.kernels), []

    def counted(k, fn):
        def run(*args, **kwargs):
            calls.append(k)
            return fn(*args, **kwargs)
        return run
    b.kernels.update({k: counted(k, fn) for k, fn in saved.items()})
    clear_cache()
    try:
        o.step()
    finally:
        b.kernels.clear()
        b.kernels.update(saved)
        clear_cache()
    op = f"_{name.lower()}_update_"
    assert calls == [op, op], calls


@pytest.mark.parametrize("op,args,pattern", [
    ("_adagrad_update_", lambda p: ([p], [p], [], [1], 0.1, 0.0, 0.0, 1e-10),
     r"_adagrad_update_\(\): argument 'state_sums' must hold 1 entries"),
    ("_adagrad_update_", lambda p: ([p], [p], [p], [], 0.1, 0.0, 0.0, 1e-10),
     r"argument 'steps' must hold 1 entries"),
    ("_rprop_update_", lambda p: ([p], [p], [p], [ember.ones(3)], 0.5, 1.2, 1e-6, 50.0),
     r"_rprop_update_\(\): step_sizes\[0\] has shape \[3\] but params\[0\] has shape "
     r"\[2\]"),
])
def test_composed_update_ops_check_their_lists(op, args, pattern):
    from ember.ops import optim_adaptive
    with pytest.raises(ember.OpError, match=pattern):
        getattr(optim_adaptive, op)(*args(ember.ones(2)))


@pytest.mark.parametrize("name,kw", COMPOSED[::2], ids=[n for n, _ in COMPOSED[::2]])
def test_composed_optimizers_resume_from_state_dict(name, kw):
    import io

    em, tm = _model_pair()
    eo = getattr(optim, name)(em.parameters(), **kw)
    to = getattr(torch.optim, name)(tm.parameters(), **kw)
    _train_both(em, tm, eo, to, 4)
    buf = io.BytesIO()
    ember.save({"model": em.state_dict(), "opt": eo.state_dict()}, buf)
    saved = ember.load(io.BytesIO(buf.getvalue()))
    em2 = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    em2.load_state_dict(saved["model"])
    eo2 = getattr(optim, name)(em2.parameters(), **kw)
    eo2.load_state_dict(saved["opt"])
    _train_both(em2, tm, eo2, to, 6, start=4)
    for p, q in zip(em2.parameters(), tm.parameters(), strict=True):
        close(p, q, rtol=2e-5, atol=2e-6, what=f"{name} resumed")


def test_adagrad_state_exists_from_construction_as_torch():
    p = nn.Parameter(ember.ones(2))
    o = optim.Adagrad([p], initial_accumulator_value=0.5)
    st = o.state_dict()["state"][0]
    assert st["step"] == 0
    np.testing.assert_array_equal(st["sum"].numpy(), [0.5, 0.5])


def test_adagrad_group_added_later_gets_its_state_on_its_first_step():
    # (a KeyError before: the state was made only for the groups given at construction)
    a, b = nn.Parameter(ember.ones(2)), nn.Parameter(ember.ones(2))
    ta, tb = torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(2))
    for o, x, y, t in ((optim.Adagrad([a], initial_accumulator_value=0.5), a, b, ember),
                       (torch.optim.Adagrad([ta], initial_accumulator_value=0.5), ta, tb,
                        torch)):
        o.add_param_group({"params": [y]})
        x.grad, y.grad = t.ones(2), t.full((2,), 2.0)
        o.step()
    np.testing.assert_allclose(b.detach().numpy(), tb.detach().numpy(), rtol=1e-6)
    assert not np.allclose(b.detach().numpy(), 1.0)


@pytest.mark.parametrize("name,kw,pattern", [
    ("Adagrad", {"lr": -1}, "Invalid learning rate: -1"),
    ("Adagrad", {"lr_decay": -0.1}, "Invalid lr_decay value: -0.1"),
    ("Adagrad", {"initial_accumulator_value": -1}, "Invalid initial_accumulator_value value"),
    ("Adamax", {"betas": (0.9, 1.0)}, "Invalid beta parameter at index 1: 1.0"),
    ("Adamax", {"eps": -1e-8}, "Invalid epsilon value: -1e-08"),
    ("NAdam", {"momentum_decay": -1}, "Invalid momentum_decay value: -1"),
    ("NAdam", {"weight_decay": -1}, "Invalid weight_decay value: -1"),
    ("RAdam", {"betas": (-0.1, 0.9)}, "Invalid beta parameter at index 0: -0.1"),
    ("Adadelta", {"rho": 1.5}, "Invalid rho value: 1.5"),
    ("Rprop", {"etas": (1.2, 0.5)}, "Invalid eta values: 1.2, 0.5"),
    ("Rprop", {"lr": -0.5}, "Invalid learning rate: -0.5"),
])
def test_composed_hyperparameter_validation(name, kw, pattern):
    # the same message as torch.optim's (checked on the oracle too)
    for mod, p in ((optim, nn.Parameter(ember.ones(1))),
                   (torch.optim, torch.nn.Parameter(torch.ones(1)))):
        with pytest.raises(ValueError) as err:
            getattr(mod, name)([p], **kw)
        assert str(err.value) == pattern or str(err.value).startswith(pattern), \
            (mod.__name__, str(err.value))


@pytest.mark.parametrize("name,kw", COMPOSED, ids=[f"{n}-{i}" for i, (n, _) in
                                                   enumerate(COMPOSED)])
def test_composed_optimizers_run_on_the_reference_device(name, kw):
    # tensor-op compositions only: the array-api-strict backend gives the CPU's numbers
    out = {}
    for dev in ("cpu", "reference"):
        p = nn.Parameter(ember.tensor([1.0, -2.0, 0.5, 3.0], device=dev))
        o = getattr(optim, name)([p], **kw)
        for step in range(8):
            g = np.sin(np.arange(4, dtype=np.float32) * (step + 1))
            p.grad = ember.tensor(g, device=dev)
            o.step()
        assert p.device.type == dev and all(
            v.device.type == dev for v in o.state[p].values() if isinstance(v, ember.Tensor))
        out[dev] = p.detach().cpu().numpy()
    np.testing.assert_allclose(out["reference"], out["cpu"], rtol=1e-6, atol=1e-7)
    assert not np.allclose(out["cpu"], [1.0, -2.0, 0.5, 3.0])


def _to_ember(obj):
    if isinstance(obj, torch.Tensor):
        return ember.tensor(obj.detach().numpy())
    if isinstance(obj, dict):
        return {k: _to_ember(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_to_ember(v) for v in obj]
    return obj


@pytest.mark.parametrize("name,kw", COMPOSED[1::2], ids=[n for n, _ in COMPOSED[1::2]])
def test_composed_optimizers_continue_from_a_torch_state_dict(name, kw):
    # PyTorch's layout (tensor step counts, NAdam's tensor mu_product) loads as is
    em, tm = _model_pair()
    to = getattr(torch.optim, name)(tm.parameters(), **kw)
    scratch = getattr(optim, name)(em.parameters(), **kw)
    _train_both(em, tm, scratch, to, 4)
    em.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in
                        tm.state_dict().items()})
    eo = getattr(optim, name)(em.parameters(), **kw)
    eo.load_state_dict(_to_ember(to.state_dict()))
    _train_both(em, tm, eo, to, 5, start=4)
    for p, q in zip(em.parameters(), tm.parameters(), strict=True):
        close(p, q, rtol=2e-5, atol=2e-6, what=f"{name} from torch's state")


@pytest.mark.parametrize("name", ["Adagrad", "Adamax", "NAdam", "RAdam", "Adadelta", "Rprop"])
def test_composed_optimizers_keep_float64_precision(name):
    # no float32 constant sneaks into a float64 update (Rprop's eta factors did)
    p = nn.Parameter(ember.tensor([1.0, -2.0, 3.0], dtype=ember.float64))
    q = torch.nn.Parameter(torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64))
    eo, to = getattr(optim, name)([p], lr=0.1), getattr(torch.optim, name)([q], lr=0.1)
    for step in range(30):
        g = np.array([1.0, -2.0, 3.0 * (-1) ** (step // 3)])
        p.grad, q.grad = ember.tensor(g), torch.tensor(g)
        eo.step()
        to.step()
    assert p.dtype is ember.float64
    np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-12, atol=1e-14)
