"""rocm's graph executor: ember.jit graphs replayed with pointwise chains fused into one
OpenCL kernel -- the same results as eager rocm, fewer launches."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from conftest import needs_rocm

import ember
import ember.jit as jit
from ember import nn
from ember.errors import IntegerDivisionByZero

pytestmark = [pytest.mark.rocm, needs_rocm]


@contextlib.contextmanager
def launches():
    """Count the OpenCL kernel launches inside the block (every pyopencl kernel call
    ends in ``pyopencl._cl.enqueue_nd_range_kernel``)."""
    import pyopencl._cl as _cl
    real = _cl.enqueue_nd_range_kernel
    count = [0]

    def counted(*args, **kwargs):
        count[0] += 1
        return real(*args, **kwargs)
    _cl.enqueue_nd_range_kernel = counted
    try:
        yield count
    finally:
        _cl.enqueue_nd_range_kernel = real


def _replay(fn, *args):
    """``fn`` traced, called until it replays, then the replay's result and launches."""
    t = jit.trace(fn, check=False)
    t(*args)
    with launches() as n:
        out = t(*args)
        ember.synchronize("rocm")
    return t, out, n[0]


def _eager(fn, *args):
    with launches() as n:
        out = fn(*args)
        ember.synchronize("rocm")
    return out, n[0]


def _executor(traced):
    (entry,) = traced._entries.values()
    return entry[2]


def _same(a, b):
    a, b = a.cpu().numpy(), b.cpu().numpy()
    assert a.dtype == b.dtype and a.shape == b.shape
    assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), (a, b)


def test_a_chain_runs_as_one_kernel_and_equals_eager():
    x = ember.tensor([[0.5, -1.0, np.nan], [np.inf, -np.inf, 2.0]], device="rocm")
    y = ember.tensor([1.0, 2.0, 3.0], device="rocm")  # broadcast over the rows

    def f(x, y):
        return ((x + y).exp() * 3).relu().sub(1, alpha=0.5)
    with ember.no_grad():
        t, got, fused = _replay(f, x, y)
        want, eager = _eager(f, x, y)
    assert [c.ops for c in _executor(t).chains] == [["add", "exp", "mul", "relu", "sub"]]
    assert eager == 5 and fused == 1
    _same(got, want)
    assert t.code.count("__kernel void") == 1 and "exp(" in t.code  # the generated kernel


def test_fusion_off_replays_every_kernel(monkeypatch):
    monkeypatch.setenv("EMBER_ROCM_FUSE", "0")
    x = ember.randn(4, 5, device="rocm")
    with ember.no_grad():
        t, got, n = _replay(lambda x: (x * 2).tanh() + 1, x)
    assert not hasattr(_executor(t), "chains") and n == 3
    _same(got, (x * 2).tanh() + 1)


def test_promotion_and_each_ops_dtype_rules_inside_a_chain():
    rng = np.random.default_rng(0)
    a = ember.tensor(rng.integers(-5, 5, (3, 4)).astype(np.int32), device="rocm")
    b = ember.tensor(rng.standard_normal((3, 4)), device="rocm")  # float64
    m = ember.tensor(rng.integers(0, 2, (4,)).astype(bool), device="rocm")
    fl = ember.tensor(rng.standard_normal((3, 4)).astype(np.float32), device="rocm")

    def f(a, b, m, fl):
        c = (a * 3 + 7) % 4          # int32 throughout
        d = (c > 1) & m               # bool results, broadcast mask
        e = ember.where(d, fl, -2.5).sigmoid() * a  # float32 from here
        return (e + b).pow(2).clamp(max=1.5)   # float64
    with ember.no_grad():
        t, got, fused = _replay(f, a, b, m, fl)
        want, eager = _eager(f, a, b, m, fl)
    assert [c.ops for c in _executor(t).chains] == [
        ["mul", "add", "remainder", "gt", "bitwise_and", "where", "sigmoid", "mul", "add",
         "pow", "clamp"]]
    # one launch for eleven ops and the casts that promotion adds between them
    assert fused == 1 and eager >= 11
    assert got.dtype == ember.float64
    _same(got, want)


def test_non_contiguous_and_empty_and_0d_operands():
    base = ember.randn(5, 4, device="rocm")
    xt = base.t()  # (4, 5), non-contiguous
    s = ember.tensor(0.25, device="rocm")

    def f(x, s):
        return ((x - s) * x).abs().sqrt()
    with ember.no_grad():
        t, got, n = _replay(f, xt, s)
        _same(got, f(xt, s))
        assert n == 1
        e = ember.zeros(0, 3, device="rocm")
        _, got, _ = _replay(f, e, s)
        assert got.shape == (0, 3)
        _, got, _ = _replay(f, s, s)
        _same(got, f(s, s))


def test_a_chain_is_cut_where_broadcasting_grows_the_shape():
    a = ember.randn(5, device="rocm")
    b = ember.randn(4, 5, device="rocm")

    def f(a, b):
        return ((a.exp() * 2) + b).relu().sqrt()
    with ember.no_grad():
        t, got, n = _replay(f, a, b)
    # exp and mul stay at 5 elements (not recomputed for each of the 20 outputs)
    assert [c.ops for c in _executor(t).chains] == [["exp", "mul"], ["add", "relu", "sqrt"]]
    assert n == 2
    _same(got, f(a, b))


def test_an_unfusable_op_splits_the_chain_and_still_runs():
    a = ember.tensor([[7, -3, 8], [1, 0, -9]], device="rocm")
    b = ember.tensor([2, -2, 3], device="rocm")

    def f(a, b):
        # integer floor division keeps its own kernel (its zero check reads the data);
        # silu's rocm kernel is not an expression: both cut the chain
        q = ((a + 1) * 2) // b
        return ember.nn.functional.silu(((q - 1) * 3).float().exp()).neg().mul(2)
    with ember.no_grad():
        t, got, fused = _replay(f, a, b)
        want, eager = _eager(f, a, b)
        assert [c.ops for c in _executor(t).chains] == [["add", "mul"], ["sub", "mul"],
                                                        ["neg", "mul"]]
        assert fused == eager - 3
        _same(got, want)
        with pytest.raises(IntegerDivisionByZero, match="division by zero"):
            t(a, ember.tensor([2, 0, 3], device="rocm"))


def _mlp():
    return nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 16), nn.Tanh(),
                         nn.Linear(16, 3))


def _cnn():
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 2 * 2, 3))


def _step(make):
    ember.manual_seed(0)
    model = make().to("rocm")
    opt = ember.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()

    def step(x, y):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.detach()
    return model, step


@pytest.mark.parametrize("make,shape,chains", [(_mlp, (8, 6), [["mul", "sub", "mul"]]),
                                               (_cnn, (4, 1, 8, 8), None)],
                         ids=["mlp", "cnn"])
def test_traced_training_on_rocm_equals_eager(make, shape, chains):
    eager_model, eager = _step(make)
    traced_model, step = _step(make)
    traced = jit.trace(step, strict=True)
    rng = np.random.default_rng(1)
    for i in range(20):
        x = ember.tensor(rng.standard_normal(shape).astype(np.float32), device="rocm")
        y = ember.tensor(rng.integers(0, 3, shape[0]), device="rocm")
        if i == 10:
            with launches() as n_eager:
                want = eager(x, y).item()
            with launches() as n_traced:
                got = traced(x, y).item()
        else:
            want, got = eager(x, y).item(), traced(x, y).item()
        assert np.isclose(got, want, rtol=1e-5, atol=1e-6)  # the conformance tolerance
    ex = _executor(traced)
    # the MLP's tanh backward (1 - y*y) * grad is one kernel; the CNN has no chain
    # (its pointwise ops sit between convolutions) and keeps the default executor
    assert getattr(ex, "chains", None) is None if chains is None else \
        [c.ops for c in ex.chains] == chains
    saved = 0 if chains is None else sum(len(c) - 1 for c in chains)
    assert n_traced[0] == n_eager[0] - saved
    for p, q in zip(eager_model.parameters(), traced_model.parameters(), strict=True):
        np.testing.assert_allclose(q.detach().cpu().numpy(), p.detach().cpu().numpy(),
                                   rtol=1e-5, atol=1e-6)


def test_a_graph_saved_on_cpu_runs_fused_on_rocm(tmp_path):
    ember.manual_seed(0)
    model = _mlp()
    opt = ember.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

    def step(x, y):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.detach()
    traced = jit.trace(step)
    rng = np.random.default_rng(2)
    data = [(ember.tensor(rng.standard_normal((8, 6)).astype(np.float32)),
             ember.tensor(rng.integers(0, 3, 8))) for _ in range(6)]
    for x, y in data[:3]:
        traced(x, y)
    jit.save(traced, tmp_path / "step.ejit")
    loaded = jit.load(tmp_path / "step.ejit", map_location="rocm")
    assert [c.ops for c in loaded._run.chains] == [["mul", "sub", "mul"]]
    want = [traced(x, y).item() for x, y in data[3:]]
    got = [loaded(x.to("rocm"), y.to("rocm")).item() for x, y in data[3:]]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
