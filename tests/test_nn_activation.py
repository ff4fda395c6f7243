"""The composed activations of nn.functional and their modules against torch: values and
gradients (large inputs included, where a naive formula overflows), NaN propagation,
0-d and empty inputs, in-place variants, double backward, PReLU's parameters, RReLU's
modes, and clear errors."""

from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F

from _nn_oracle import check_module, close, to_np, torch

TF = torch.nn.functional
pytestmark = pytest.mark.torch

# (name, kwargs): every composed elementwise activation, with non-default arguments too
CASES = [
    ("elu", {}), ("elu", {"alpha": 0.5}), ("selu", {}), ("celu", {}), ("celu", {"alpha": 2.0}),
    ("softplus", {}), ("softplus", {"beta": 2.0, "threshold": 5.0}),
    ("hardtanh", {}), ("hardtanh", {"min_val": -0.5, "max_val": 2.0}),
    ("hardswish", {}), ("hardsigmoid", {}), ("mish", {}), ("logsigmoid", {}),
    ("softsign", {}), ("tanhshrink", {}), ("softshrink", {}), ("softshrink", {"lambd": 1.0}),
    ("hardshrink", {}), ("hardshrink", {"lambd": 1.2}),
    ("threshold", {"threshold": 0.3, "value": -2.0}), ("relu6", {}),
    ("rrelu", {}), ("leaky_relu", {"negative_slope": 0.2}),
]
IDS = [f"{n}-{'-'.join(f'{k}={v}' for k, v in kw.items())}" for n, kw in CASES]


def _input(seed=0, shape=(4, 5), scale=3.0):
    x = np.random.default_rng(seed).standard_normal(shape) * scale
    # keep away from the kinks (0, +-lambd, +-3, thresholds), where one-sided
    # derivatives may legitimately differ
    x = np.where(np.abs(np.abs(x) - np.round(np.abs(x) * 10) / 10) < 0.02, x + 0.05, x)
    return x.astype(np.float32)


def _grad_check(name, kw, x):
    e = ember.tensor(x, requires_grad=True)
    t = torch.tensor(x, requires_grad=True)
    eo, to = getattr(F, name)(e, **kw), getattr(TF, name)(t, **kw)
    close(eo, to, what=f"{name} value")
    r = np.random.default_rng(9).standard_normal(tuple(to.shape)).astype(np.float32)
    (eo * ember.tensor(r)).sum().backward()
    (to * torch.tensor(r)).sum().backward()
    close(e.grad, t.grad, what=f"{name} grad")


@pytest.mark.parametrize("name,kw", CASES, ids=IDS)
def test_value_and_grad(name, kw):
    _grad_check(name, kw, _input())


@pytest.mark.parametrize("name,kw", CASES, ids=IDS)
def test_large_inputs_stay_finite(name, kw):
    """Inputs of +-30 and +-100: exp overflows float32 at 89, so a naive softplus,
    mish, logsigmoid or elu gives inf or a NaN gradient."""
    x = np.array([-100.0, -30.0, -15.5, 15.5, 30.0, 100.0], np.float32)
    _grad_check(name, kw, x)
    e = ember.tensor(x, requires_grad=True)
    getattr(F, name)(e, **kw).sum().backward()
    assert np.all(np.isfinite(to_np(e.grad))), name


@pytest.mark.parametrize("name,kw", CASES, ids=IDS)
def test_nan_inf_propagate_as_torch(name, kw):
    x = np.array([np.nan, np.inf, -np.inf, 0.7, -0.7], np.float32)
    close(getattr(F, name)(ember.tensor(x), **kw), getattr(TF, name)(torch.tensor(x), **kw),
          what=name)


@pytest.mark.parametrize("name,kw", CASES, ids=IDS)
@pytest.mark.parametrize("shape", [(), (0, 3)])
def test_zero_d_and_empty(name, kw, shape):
    x = _input(shape=shape) if shape == () else np.zeros(shape, np.float32)
    eo = getattr(F, name)(ember.tensor(x), **kw)
    assert tuple(eo.shape) == shape
    close(eo, getattr(TF, name)(torch.tensor(x), **kw), what=name)


@pytest.mark.parametrize("name", ["elu_", "selu_", "celu_", "hardtanh_", "relu_",
                                  "leaky_relu_", "rrelu_"])
def test_inplace_underscore(name):
    x = _input()
    e, t = ember.tensor(x), torch.tensor(x)
    out = getattr(F, name)(e)
    getattr(TF, name)(t)
    assert out is e
    close(e, t, what=name)


@pytest.mark.parametrize("name", ["elu", "selu", "celu", "hardtanh", "hardswish",
                                  "hardsigmoid", "mish", "relu6"])
def test_inplace_flag(name):
    x = _input()
    e = ember.tensor(x)
    out = getattr(F, name)(e, inplace=True)
    assert out is e
    close(e, getattr(TF, name)(torch.tensor(x)), what=name)
    t = ember.tensor(x)
    threshold = F.threshold(t, 0.1, 20.0, inplace=True)
    assert threshold is t
    close(t, TF.threshold(torch.tensor(x), 0.1, 20.0))


@pytest.mark.parametrize("name", ["softplus", "elu", "mish", "logsigmoid", "selu"])
def test_double_backward(name):
    x = _input(shape=(7,))
    e = ember.tensor(x, requires_grad=True)
    t = torch.tensor(x, requires_grad=True, dtype=torch.float32)
    (ge,) = ember.autograd.grad(getattr(F, name)(e).sum(), e, create_graph=True)
    (gt,) = torch.autograd.grad(getattr(TF, name)(t).sum(), t, create_graph=True)
    close(ge, gt, what="first derivative")
    (gge,) = ember.autograd.grad((ge * ge).sum(), e)
    (ggt,) = torch.autograd.grad((gt * gt).sum(), t)
    close(gge, ggt, what="second derivative")


@pytest.mark.parametrize("dim", [-1, 0, 1])
def test_glu(dim):
    _grad_check("glu", {"dim": dim}, _input(shape=(4, 6)))


def test_glu_errors():
    with pytest.raises(ember.OpError, match=r"glu\(\).*dimension 1 is size 5"):
        F.glu(ember.zeros(2, 5))
    with pytest.raises(ember.OpError, match="scalars"):
        F.glu(ember.tensor(1.0))


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmin(dim):
    _grad_check("softmin", {"dim": dim}, _input(shape=(3, 4)))
    check_module(nn.Softmin(dim), torch.nn.Softmin(dim), _input(shape=(3, 4)))


def test_softmin_implicit_dim_warns():
    with pytest.warns(UserWarning, match="softmin"):
        out = F.softmin(ember.tensor(_input()))
    close(out, TF.softmin(torch.tensor(_input()), 1))


@pytest.mark.parametrize("num,shape", [(1, (4, 3, 5)), (3, (4, 3, 5)), (3, (4, 3)),
                                       (1, ()), (1, (5,)), (3, (2, 3, 2, 2))])
def test_prelu(num, shape):
    m = torch.nn.PReLU(num)
    with torch.no_grad():
        m.weight.copy_(torch.linspace(0.1, 0.6, num))
    e = nn.PReLU(num)
    e.weight.data.copy_(ember.tensor(m.weight.detach().numpy()))
    check_module(e, m, _input(shape=shape))


def test_prelu_module_defaults_and_errors():
    m = nn.PReLU(4)
    assert isinstance(m.weight, nn.Parameter) and tuple(m.weight.shape) == (4,)
    np.testing.assert_allclose(to_np(m.weight), 0.25)
    assert [n for n, _ in m.named_parameters()] == ["weight"]
    with pytest.raises(ember.OpError, match=r"prelu\(\).*4 slopes for 3 channels"):
        m(ember.zeros(2, 3))
    with pytest.raises(ember.OpError, match="4 slopes for 1 channels"):
        m(ember.zeros(4))  # as PyTorch: a 1-d input has one channel


def test_rrelu_eval_is_deterministic_mean_slope():
    x = _input()
    m = nn.RReLU(0.1, 0.3).eval()
    close(m(ember.tensor(x)), TF.leaky_relu(torch.tensor(x), 0.2))
    close(F.rrelu(ember.tensor(x)), TF.rrelu(torch.tensor(x)))


def test_rrelu_training_draws_slopes_in_range():
    x = -np.abs(_input(shape=(200, 50))) - 0.1
    e = ember.tensor(x, requires_grad=True)
    ember.manual_seed(0)
    out = F.rrelu(e, 0.1, 0.3, training=True)
    slopes = to_np(out) / x
    assert slopes.min() >= 0.1 - 1e-6 and slopes.max() <= 0.3 + 1e-6
    assert slopes.std() > 0.03  # random per element, not one slope
    out.sum().backward()
    np.testing.assert_allclose(to_np(e.grad), slopes, rtol=1e-5)  # d(a*x)/dx = a
    ember.manual_seed(0)
    np.testing.assert_array_equal(to_np(F.rrelu(ember.tensor(x), 0.1, 0.3, True)),
                                  to_np(out))  # seeded
    pos = np.abs(x)
    np.testing.assert_array_equal(to_np(F.rrelu(ember.tensor(pos), training=True)), pos)
    m = nn.RReLU()
    assert m.training
    assert not np.allclose(to_np(m(ember.tensor(x))), to_np(m.eval()(ember.tensor(x))))


MODULES = [
    ("ELU", (), {"alpha": 0.7}), ("SELU", (), {}), ("CELU", (), {"alpha": 1.5}),
    ("Softplus", (), {"beta": 2.0, "threshold": 4.0}), ("Hardtanh", (-2.0, 0.5), {}),
    ("ReLU6", (), {}), ("Hardswish", (), {}), ("Hardsigmoid", (), {}), ("Mish", (), {}),
    ("LogSigmoid", (), {}), ("Softsign", (), {}), ("Tanhshrink", (), {}),
    ("Softshrink", (0.8,), {}), ("Hardshrink", (0.8,), {}), ("Threshold", (0.2, -1.0), {}),
    ("GLU", (0,), {}),
]


@pytest.mark.parametrize("name,args,kw", MODULES, ids=[m[0] for m in MODULES])
def test_modules_match_torch(name, args, kw):
    em, tm = getattr(nn, name)(*args, **kw), getattr(torch.nn, name)(*args, **kw)
    check_module(em, tm, _input(shape=(4, 6)))
    assert repr(em) == repr(tm)


def test_inplace_modules_reprs():
    for name in ["ELU", "SELU", "CELU", "Hardtanh", "ReLU6", "Hardswish", "Hardsigmoid",
                 "Mish", "RReLU"]:
        assert repr(getattr(nn, name)(inplace=True)) == repr(
            getattr(torch.nn, name)(inplace=True)), name
    assert repr(nn.Threshold(0.1, 2.0, True)) == repr(torch.nn.Threshold(0.1, 2.0, True))


def test_bad_arguments_are_named():
    x = ember.zeros(3)
    with pytest.raises(ValueError, match=r"hardtanh\(\).*min_val"):
        F.hardtanh(x, 2.0, 1.0)
    with pytest.raises(ValueError, match="Hardtanh.*min_val"):
        nn.Hardtanh(2.0, 1.0)
    with pytest.raises(ValueError, match=r"softshrink\(\).*lambd"):
        F.softshrink(x, -1.0)
    with pytest.raises(ValueError, match=r"hardshrink\(\).*lambd"):
        F.hardshrink(x, -1.0)
    with pytest.raises(ValueError, match=r"rrelu\(\).*lower"):
        F.rrelu(x, 0.5, 0.1)
    with pytest.raises(TypeError, match=r"elu\(\).*'input'.*ndarray"):
        F.elu(np.zeros(3))


def test_reference_backend_matches_cpu():
    """The compositions need no backend code: the array-api reference backend agrees."""
    x = _input()
    for name, kw in CASES:
        if name == "rrelu":
            continue
        cpu = getattr(F, name)(ember.tensor(x), **kw)
        ref = getattr(F, name)(ember.tensor(x, device="reference"), **kw)
        close(ref, cpu, what=name)


# --- kinks: the gradient PyTorch defines where the function is not differentiable ------

KINKS = np.array([0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 1.2, -1.2, 3.0, -3.0, 6.0, 0.3, -2.0,
                  2.0, 20.0, -20.0], np.float32)


@pytest.mark.parametrize("name,kw", CASES + [("relu6", {}), ("leaky_relu", {}),
                                             ("hardtanh", {"min_val": 0.3, "max_val": 1.2})],
                         ids=IDS + ["relu6-kinks", "leaky_relu-default", "hardtanh-0.3-1.2"])
def test_gradient_at_kinks_is_torchs(name, kw):
    """At 0, the bounds of hardtanh/relu6 and +-3 of hardswish/hardsigmoid PyTorch picks
    a one-sided derivative (0 on hardtanh's bounds, leaky_relu's slope at 0); at 0 the
    stable softplus of logsigmoid has the true derivative 0.5, which ``max(x, 0) +
    log1p(exp(-|x|))`` missed (it gave 1)."""
    if name == "rrelu":
        kw = {**kw, "training": False}
    _grad_check(name, kw, KINKS)


@pytest.mark.parametrize("name", ["logsigmoid", "mish", "hardswish", "softplus", "silu"])
def test_second_derivative_at_kinks(name):
    e = ember.tensor(KINKS, requires_grad=True)
    t = torch.tensor(KINKS, requires_grad=True)
    (ge,) = ember.autograd.grad(getattr(F, name)(e).sum(), e, create_graph=True)
    (gt,) = torch.autograd.grad(getattr(TF, name)(t).sum(), t, create_graph=True)
    (gge,) = ember.autograd.grad(ge.sum(), e)
    (ggt,) = torch.autograd.grad(gt.sum(), t)
    close(gge, ggt, what=f"{name} second derivative")


def test_fuzz_values_and_gradients_against_torch():
    """hypothesis draws shapes (0-d, empty), float32/float64, transposed (non-contiguous)
    inputs and values from a pool of kinks, extremes and normal numbers; value and
    gradient of every composed activation must be torch's (NaN where torch's is)."""
    hypothesis = pytest.importorskip("hypothesis")
    from hypothesis import given, settings, strategies as st
    from hypothesis.extra import numpy as hnp

    pool = st.sampled_from([0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 3.0, -3.0, 6.0, 2.5, -2.5,
                            30.0, -30.0, 100.0, -100.0, 1e-30, -1e-30, 1e-6])
    values = st.one_of(pool, st.floats(-10, 10, width=32))

    @settings(derandomize=True, database=None, deadline=None, max_examples=40)
    @given(case=st.sampled_from(CASES), dtype=st.sampled_from([np.float32, np.float64]),
           x=hnp.arrays(np.float64, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0,
                                                    max_side=4), elements=values),
           transpose=st.booleans())
    def check(case, dtype, x, transpose):
        name, kw = case
        if name == "rrelu":
            kw = {**kw, "training": False}
        x = x.astype(dtype)
        e = ember.tensor(x, requires_grad=True)
        t = torch.tensor(x, requires_grad=True)
        ei, ti = (e.mT, t.mT) if transpose and x.ndim >= 2 else (e, t)
        eo, to = getattr(F, name)(ei, **kw), getattr(TF, name)(ti, **kw)
        assert str(eo.dtype).split(".")[-1] == str(to.dtype).split(".")[-1]
        close(eo, to, what=f"{name} value")
        if not to.numel():
            return
        r = np.random.default_rng(3).standard_normal(tuple(to.shape)).astype(dtype)
        (eo * ember.tensor(r)).sum().backward()
        (to * torch.tensor(r)).sum().backward()
        close(e.grad, t.grad, what=f"{name} grad")
        hypothesis.note(f"{name} {kw} {x!r}")

    check()
