"""ember-xpu's fused kernels (``ember_xpu.fused``) against PyTorch: cross-entropy forward
and backward, the SGD and Adam steps; that they run instead of the decompositions; and
the cases that go to the decompositions (probability targets, logits of more dims)."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.schema import registry

from xpu_support import requires_xpu

pytestmark = requires_xpu
torch = pytest.importorskip("torch")
F = ember.nn.functional
RNG = np.random.default_rng(0)


def _on(a, **kw):
    return ember.tensor(a, device="xpu", **kw)


def _close(t, ref, rtol=1e-5, atol=1e-6):
    got = t.detach().cpu().numpy() if isinstance(t, ember.Tensor) else t
    np.testing.assert_allclose(got, np.asarray(ref), rtol=rtol, atol=atol, equal_nan=True)


@pytest.fixture
def no_decomposition(monkeypatch):
    """Make the decompositions of the fused ops fail: the fused kernels must run."""
    def refuse(*args):
        raise AssertionError("the decomposition ran instead of the fused kernel")
    for name in ("cross_entropy", "_cross_entropy_backward", "_sgd_update_",
                 "_adam_update_"):
        monkeypatch.setattr(registry[name], "decomposition", refuse)


def _ce_pair(x, t, w=None, **kw):
    xe = _on(x, requires_grad=True)
    loss = F.cross_entropy(xe, _on(t), weight=_on(w) if w is not None else None, **kw)
    (loss.sum() if loss.ndim else loss).backward()
    xt = torch.from_numpy(x).requires_grad_()
    ref = torch.nn.functional.cross_entropy(
        xt, torch.from_numpy(t), weight=torch.from_numpy(w) if w is not None else None, **kw)
    (ref.sum() if ref.ndim else ref).backward()
    return (loss, xe.grad), (ref.detach().numpy(), xt.grad.numpy())


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_fused_matches_torch(reduction, weighted, smoothing, dtype,
                                           no_decomposition, xpu):
    if dtype == np.float64 and ember.float64 not in xpu.supported_dtypes:
        pytest.skip("no fp64 on this device")
    x = RNG.standard_normal((9, 7)).astype(dtype)
    t = RNG.integers(0, 7, 9)
    t[3] = -100  # ignored
    w = RNG.random(7).astype(dtype) if weighted else None
    (loss, grad), (ref, ref_grad) = _ce_pair(x, t, w, reduction=reduction,
                                             label_smoothing=smoothing)
    _close(loss, ref)
    _close(grad, ref_grad)
    assert (grad.cpu().numpy()[3] == 0).all()


def test_cross_entropy_fused_layouts(no_decomposition):
    # one sample (1-d logits, 0-d target), transposed logits, an int32 target, a custom
    # ignore_index
    x = RNG.standard_normal((5,)).astype(np.float32)
    for reduction in ("mean", "sum", "none"):
        (loss, grad), (ref, ref_grad) = _ce_pair(x, np.array(2), reduction=reduction)
        assert tuple(loss.shape) == ref.shape
        _close(loss, ref)
        _close(grad, ref_grad)
    # a strided weight
    w = np.arange(1.0, 13.0, dtype=np.float32)
    xs = RNG.standard_normal((4, 6)).astype(np.float32)
    t = np.array([0, 5, 2, 3])
    got = F.cross_entropy(_on(xs), _on(t), weight=_on(w)[::2])
    ref = torch.nn.functional.cross_entropy(torch.from_numpy(xs), torch.from_numpy(t),
                                            weight=torch.from_numpy(w[::2].copy()))
    _close(got, ref.numpy())
    xs = RNG.standard_normal((6, 8)).astype(np.float32)
    xe = _on(xs).t().requires_grad_()  # (8, 6), strides (1, 8)
    t = RNG.integers(0, 6, 8)
    loss = F.cross_entropy(xe, _on(t.astype(np.int32)), ignore_index=4)
    loss.backward()
    xt = torch.from_numpy(xs).t().requires_grad_()
    ref = torch.nn.functional.cross_entropy(xt, torch.from_numpy(t), ignore_index=4)
    ref.backward()
    _close(loss, ref.detach().numpy())
    _close(xe.grad, xt.grad.numpy())


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_cross_entropy_fused_non_finite_logits(reduction, no_decomposition):
    # rows holding NaN, +inf or only -inf give NaN as in PyTorch; an ignored row of
    # -inf padding stays out of the loss and gets gradient 0 (as on ember's cpu; PyTorch
    # gives NaN there)
    x = RNG.standard_normal((6, 4)).astype(np.float32)
    x[0, 1] = np.nan
    x[1, 2] = np.inf
    x[2] = -np.inf
    x[4] = -np.inf
    t = np.array([0, 1, 3, 2, -100, 1])
    (loss, grad), (ref, ref_grad) = _ce_pair(x, t, reduction=reduction)
    _close(loss, ref)
    g = grad.cpu().numpy()
    assert (g[4] == 0).all()
    keep = [0, 1, 2, 3, 5]
    _close(g[keep], ref_grad[keep])


def test_cross_entropy_empty_batch_mean_is_nan():
    # (no rows: the decomposition's answer)
    loss = F.cross_entropy(_on(np.zeros((0, 3), np.float32)), _on(np.zeros(0, np.int64)))
    ref = torch.nn.functional.cross_entropy(torch.zeros(0, 3), torch.zeros(0, dtype=torch.long))
    assert np.isnan(loss.item()) and np.isnan(ref.item())


@pytest.mark.parametrize("case", ["probabilities", "spatial"])
def test_cross_entropy_uncovered_cases_decompose(case):
    x = RNG.standard_normal((4, 3, 2)).astype(np.float32)
    if case == "probabilities":
        x = x[:, :, 0].copy()
        t = RNG.random((4, 3)).astype(np.float32)
        t /= t.sum(1, keepdims=True)
    else:
        t = RNG.integers(0, 3, (4, 2))
    (loss, grad), (ref, ref_grad) = _ce_pair(x, t)
    _close(loss, ref)
    _close(grad, ref_grad)


_OPTIMIZERS = {
    "sgd": (lambda ps: ember.optim.SGD(ps, lr=0.1), lambda ps: torch.optim.SGD(ps, lr=0.1)),
    "sgd_momentum": (
        lambda ps: ember.optim.SGD(ps, lr=0.1, momentum=0.9, dampening=0.1,
                                   weight_decay=0.01),
        lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, dampening=0.1,
                                   weight_decay=0.01)),
    "sgd_nesterov_maximize": (
        lambda ps: ember.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, maximize=True),
        lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, maximize=True)),
    "adam": (lambda ps: ember.optim.Adam(ps, lr=0.01, weight_decay=0.1),
             lambda ps: torch.optim.Adam(ps, lr=0.01, weight_decay=0.1)),
    "adamw_amsgrad": (lambda ps: ember.optim.AdamW(ps, lr=0.01, amsgrad=True),
                      lambda ps: torch.optim.AdamW(ps, lr=0.01, amsgrad=True)),
}


@pytest.mark.parametrize("opt", sorted(_OPTIMIZERS))
def test_fused_optimizer_steps_match_torch(opt, no_decomposition):
    shapes = [(7, 3), (5,), (0, 2)]  # (an empty parameter is skipped)
    w0 = [RNG.standard_normal(s).astype(np.float32) for s in shapes]
    ps = [_on(w, requires_grad=True) for w in w0]
    tps = [torch.from_numpy(w.copy()).requires_grad_() for w in w0]
    make, make_ref = _OPTIMIZERS[opt]
    o, to = make(ps), make_ref(tps)
    for _ in range(3):
        for p, tp in zip(ps, tps, strict=True):
            g = RNG.standard_normal(tuple(p.shape)).astype(np.float32)
            p.grad = _on(g)
            tp.grad = torch.from_numpy(g)
        o.step()
        to.step()
    for p, tp in zip(ps, tps, strict=True):
        _close(p, tp.detach().numpy())


def test_optimizer_on_non_contiguous_state_decomposes():
    # a parameter that is a transposed view: the fused kernel needs contiguous memory,
    # so the decomposition updates it (through the view)
    base = RNG.standard_normal((4, 3)).astype(np.float32)
    p = _on(base).t().requires_grad_()
    tp = torch.from_numpy(base.copy()).t().requires_grad_()
    o = ember.optim.SGD([p], lr=0.1, momentum=0.9)
    to = torch.optim.SGD([tp], lr=0.1, momentum=0.9)
    for _ in range(2):
        g = RNG.standard_normal((3, 4)).astype(np.float32)
        p.grad, tp.grad = _on(g), torch.from_numpy(g)
        o.step()
        to.step()
    _close(p, tp.detach().numpy())
