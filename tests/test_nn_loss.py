"""The composed losses, distances and pixel (un)shuffle of nn.functional and their
modules against torch: values and gradients of every input for each reduction,
broadcasting, empty batches, NaN propagation, double backward, and clear errors (a bad
reduction is a ValueError naming it)."""

from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F

from _nn_oracle import check_module, close, to_np, torch

TF = torch.nn.functional
pytestmark = pytest.mark.torch
REDUCTIONS = ["mean", "sum", "none"]


def rand(*shape, seed=0, scale=1.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)


def signs(*shape, seed=5):
    return np.where(np.random.default_rng(seed).random(shape) < 0.5, -1.0,
                    1.0).astype(np.float32)


def both(name, floats, others=(), kw=None, grad=True):
    """``F.name`` on ember and torch with the same inputs: compare the value and the
    gradient of every float input (``floats``); ``others`` get no gradient."""
    kw = kw or {}
    e_in = [ember.tensor(a, requires_grad=grad) for a in floats]
    t_in = [torch.tensor(a, requires_grad=grad) for a in floats]
    e_oth = [ember.tensor(a) if isinstance(a, np.ndarray) else a for a in others]
    t_oth = [torch.tensor(a) if isinstance(a, np.ndarray) else a for a in others]
    ekw = {k: ember.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    tkw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    eo = getattr(F, name)(*e_in, *e_oth, **ekw)
    to = getattr(TF, name)(*t_in, *t_oth, **tkw)
    close(eo, to, what=f"{name} value")
    assert tuple(eo.shape) == tuple(to.shape)
    if grad and to.numel():
        r = rand(*tuple(to.shape), seed=7)
        (eo * ember.tensor(r)).sum().backward()
        (to * torch.tensor(r)).sum().backward()
        for i, (a, b) in enumerate(zip(e_in, t_in, strict=True)):
            close(a.grad, b.grad, what=f"{name} grad of input {i}")
    return eo


# (name, float inputs, other inputs, kwargs) for one batch; every case runs per reduction
def _cases(n=6):
    x, y = rand(n, 4), rand(n, 4, seed=1) * 2
    probs = np.abs(rand(n, 4, seed=2)) + 0.01
    probs /= probs.sum(1, keepdims=True)
    logp = np.log(np.abs(rand(n, 4, seed=3)) + 0.1).astype(np.float32)
    return [
        ("smooth_l1_loss", [x, y], [], {}),
        ("smooth_l1_loss", [x, y], [], {"beta": 0.5}),
        ("smooth_l1_loss", [x, y], [], {"beta": 0.0}),
        ("huber_loss", [x, y], [], {}),
        ("huber_loss", [x, y], [], {"delta": 0.3}),
        ("huber_loss", [x, y], [], {"weight": np.abs(rand(n, 4, seed=4))}),
        ("kl_div", [logp, probs], [], {}),
        ("kl_div", [logp, np.log(probs)], [], {"log_target": True}),
        ("margin_ranking_loss", [rand(n), rand(n, seed=1)], [signs(n)], {"margin": 0.2}),
        ("hinge_embedding_loss", [rand(n, 3)], [signs(n, 3)], {"margin": 0.5}),
        ("soft_margin_loss", [x], [signs(n, 4)], {}),
        ("cosine_embedding_loss", [x, y], [signs(n)], {"margin": 0.1}),
        ("poisson_nll_loss", [x], [np.abs(y).round()], {}),
        ("poisson_nll_loss", [np.abs(x) + 0.1], [np.abs(y).round() * 2],
         {"log_input": False, "full": True}),
        ("poisson_nll_loss", [x], [np.abs(y).round() * 3], {"full": True, "eps": 1e-4}),
        ("gaussian_nll_loss", [x, y, np.abs(rand(n, 4, seed=6)) + 0.1], [], {}),
        ("gaussian_nll_loss", [x, y, np.abs(rand(n, seed=6)) + 0.1], [], {"full": True}),
        ("gaussian_nll_loss", [x, y, np.abs(rand(n, 1, seed=6)) + 0.1], [],
         {"eps": 0.5}),
        ("multilabel_soft_margin_loss", [x], [(y > 0).astype(np.float32)], {}),
        ("multilabel_soft_margin_loss", [x], [(y > 0).astype(np.float32)],
         {"weight": np.abs(rand(4, seed=8))}),
        ("multi_margin_loss", [x], [np.arange(n) % 4], {}),
        ("multi_margin_loss", [x], [np.arange(n) % 4],
         {"p": 2, "margin": 0.7, "weight": np.abs(rand(4, seed=8))}),
        ("triplet_margin_loss", [x, y, rand(n, 4, seed=9)], [], {}),
        ("triplet_margin_loss", [x, y, rand(n, 4, seed=9)], [],
         {"margin": 2.0, "p": 1, "swap": True}),
        ("triplet_margin_loss", [x, y, x + 0.01], [], {"swap": True, "eps": 1e-3}),
    ]


CASES = _cases()
IDS = [f"{c[0]}{i}" for i, c in enumerate(CASES)]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_value_and_grads(case, reduction):
    name, floats, others, kw = case
    both(name, floats, others, {**kw, "reduction": reduction})


@pytest.mark.parametrize("reduction", ["sum", "none", "mean"])
@pytest.mark.parametrize("case", _cases(0), ids=[f"{c[0]}{i}" for i, c in
                                                 enumerate(_cases(0))])
def test_empty_batch(case, reduction):
    name, floats, others, kw = case
    kw = {**kw, "reduction": reduction}
    if name == "multi_margin_loss" and reduction != "none":
        # torch 2.13 returns uninitialised memory here (1753.08, NaN, 4.7e-28 seen), so
        # check the empty sum is 0 and the empty mean NaN, as every other loss gives
        kw = {k: ember.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
        out = F.multi_margin_loss(*(ember.tensor(a) for a in floats + others), **kw)
        assert (to_np(out) == 0) if reduction == "sum" else np.isnan(to_np(out))
        return
    both(name, floats, others, kw)


def test_kl_div_batchmean_and_mean_warning():
    logp = np.log(np.full((3, 4), 0.25, np.float32))
    tgt = np.abs(rand(3, 4)) + 0.1
    tgt[0, 0] = 0.0  # a zero target contributes 0 (xlogy), not NaN
    both("kl_div", [logp, tgt], [], {"reduction": "batchmean"})
    both("kl_div", [logp, np.log(tgt + 1e-3)], [],
         {"reduction": "batchmean", "log_target": True})
    with pytest.warns(UserWarning, match="batchmean"):
        F.kl_div(ember.tensor(logp), ember.tensor(tgt))
    m = nn.KLDivLoss(reduction="batchmean", log_target=False)
    close(m(ember.tensor(logp), ember.tensor(tgt)),
          torch.nn.KLDivLoss(reduction="batchmean")(torch.tensor(logp), torch.tensor(tgt)))


@pytest.mark.parametrize("name,args", [
    ("smooth_l1_loss", 2), ("huber_loss", 2), ("kl_div", 2), ("soft_margin_loss", 2),
    ("margin_ranking_loss", 3), ("hinge_embedding_loss", 2), ("poisson_nll_loss", 2),
    ("multilabel_soft_margin_loss", 2), ("triplet_margin_loss", 3),
    ("gaussian_nll_loss", 3)])
def test_bad_reduction_is_a_value_error_naming_it(name, args):
    ts = [ember.ones(2, 3) for _ in range(args)]
    with pytest.raises(ValueError, match="'avg'"):
        getattr(F, name)(*ts, reduction="avg")


def test_bad_reduction_names_the_op():
    with pytest.raises(ValueError, match=r"cosine_embedding_loss\(\).*'avg'"):
        F.cosine_embedding_loss(ember.ones(2, 3), ember.ones(2, 3), ember.ones(2),
                                reduction="avg")
    with pytest.raises(ValueError, match=r"multi_margin_loss\(\).*'avg'"):
        F.multi_margin_loss(ember.ones(2, 3), ember.tensor([0, 1]), reduction="avg")
    with pytest.raises(ValueError, match="'avg'"):
        nn.SmoothL1Loss(reduction="avg")(ember.ones(2), ember.ones(2))


def test_broadcast_target_warns_like_torch():
    x, y = rand(4, 3), rand(1, 3, seed=1)
    with pytest.warns(UserWarning, match="target size"):
        e = both("smooth_l1_loss", [x, y], [], {"reduction": "none"})
    assert tuple(e.shape) == (4, 3)
    with pytest.warns(UserWarning, match="target size"):
        both("huber_loss", [x, y], [], {"reduction": "sum"})


def test_zero_d_inputs():
    a, b = np.float32(0.3), np.float32(-1.4)
    for name in ["smooth_l1_loss", "huber_loss", "kl_div"]:
        both(name, [np.array(a), np.array(b)], [], {"reduction": "sum"})
    both("soft_margin_loss", [np.array(a)], [np.array(-1.0, np.float32)])
    both("margin_ranking_loss", [np.array(a), np.array(b)], [np.array(-1.0, np.float32)])
    both("multi_margin_loss", [rand(5)], [np.array(2)])
    both("cosine_embedding_loss", [rand(5), rand(5, seed=1)], [np.array(-1.0, np.float32)])


def test_nan_propagates():
    x = rand(3, 4)
    x[1, 2] = np.nan
    y = rand(3, 4, seed=1)
    for name in ["smooth_l1_loss", "huber_loss", "soft_margin_loss", "poisson_nll_loss"]:
        out = getattr(F, name)(ember.tensor(x), ember.tensor(y), reduction="none")
        ref = getattr(TF, name)(torch.tensor(x), torch.tensor(y), reduction="none")
        close(out, ref, what=name)
        assert np.isnan(to_np(getattr(F, name)(ember.tensor(x), ember.tensor(y)))), name


def test_stable_for_large_margins():
    """soft_margin_loss and multilabel_soft_margin_loss at logits of +-200, where
    exp overflows float32: finite values and gradients."""
    x = np.array([[-200.0, 200.0, 50.0]], np.float32)
    y = np.array([[1.0, -1.0, 1.0]], np.float32)
    e = ember.tensor(x, requires_grad=True)
    out = F.soft_margin_loss(e, ember.tensor(y))
    out.backward()
    np.testing.assert_allclose(to_np(out), (200 + 200 + 0) / 3, rtol=1e-5)
    assert np.all(np.isfinite(to_np(e.grad)))
    both("multilabel_soft_margin_loss", [x], [(y > 0).astype(np.float32)])


@pytest.mark.parametrize("name", ["smooth_l1_loss", "huber_loss", "soft_margin_loss",
                                  "gaussian_nll_loss"])
def test_double_backward(name):
    x, y = rand(5, 3), rand(5, 3, seed=1)
    extra = [np.abs(rand(5, 3, seed=2)) + 0.5] if name == "gaussian_nll_loss" else []
    if name == "soft_margin_loss":
        y = signs(5, 3)
    e = ember.tensor(x, requires_grad=True)
    t = torch.tensor(x, requires_grad=True)
    (ge,) = ember.autograd.grad(
        getattr(F, name)(e, ember.tensor(y), *map(ember.tensor, extra)), e,
        create_graph=True)
    (gt,) = torch.autograd.grad(
        getattr(TF, name)(t, torch.tensor(y), *map(torch.tensor, extra)), t,
        create_graph=True)
    close(ge, gt, what="first derivative")
    r = rand(5, 3, seed=3)
    (gge,) = ember.autograd.grad((ge * ember.tensor(r)).sum(), e)
    (ggt,) = torch.autograd.grad((gt * torch.tensor(r)).sum(), t)
    close(gge, ggt, what="second derivative")


def test_gaussian_nll_var_forms_and_errors():
    x, y = rand(4, 3), rand(4, 3, seed=1)
    out = F.gaussian_nll_loss(ember.tensor(x), ember.tensor(y), 0.5)
    close(out, TF.gaussian_nll_loss(torch.tensor(x), torch.tensor(y), 0.5))
    with pytest.raises(ValueError, match="incorrect size"):
        F.gaussian_nll_loss(ember.tensor(x), ember.tensor(y), ember.ones(3, 3))
    with pytest.raises(ValueError, match="negative"):
        F.gaussian_nll_loss(ember.tensor(x), ember.tensor(y), -ember.ones(4, 3))
    with pytest.raises(ValueError, match="negative"):
        F.gaussian_nll_loss(ember.tensor(x), ember.tensor(y), -1.0)
    # a clamped var still passes its gradient through, as PyTorch's in-place clamp
    both("gaussian_nll_loss", [x, y, np.full((4, 3), 1e-9, np.float32)], [], {"eps": 1e-3})


def test_argument_errors():
    x = ember.ones(3, 4)
    with pytest.raises(ValueError, match=r"smooth_l1_loss\(\).*beta"):
        F.smooth_l1_loss(x, x, beta=-1.0)
    with pytest.raises(ValueError, match=r"huber_loss\(\).*delta"):
        F.huber_loss(x, x, delta=0.0)
    with pytest.raises(ValueError, match=r"huber_loss\(\).*weight"):
        F.huber_loss(x, x, weight=ember.ones(4))
    with pytest.raises(ValueError, match=r"multi_margin_loss\(\).*p == 1"):
        F.multi_margin_loss(x, ember.tensor([0, 1, 2]), p=3)
    with pytest.raises(IndexError, match=r"multi_margin_loss\(\).*out of range"):
        F.multi_margin_loss(x, ember.tensor([0, 1, 4]))
    with pytest.raises(ember.OpError, match=r"multi_margin_loss\(\).*weight"):
        F.multi_margin_loss(x, ember.tensor([0, 1, 2]), weight=ember.ones(3))
    with pytest.raises(ember.OpError, match=r"cosine_embedding_loss\(\).*1-d target"):
        F.cosine_embedding_loss(x, x, ember.ones(3, 1))
    with pytest.raises(ember.OpError, match=r"margin_ranking_loss\(\).*same number"):
        F.margin_ranking_loss(ember.ones(3), ember.ones(3), ember.ones(1, 3))
    with pytest.raises(ember.OpError, match=r"triplet_margin_loss\(\).*same number"):
        F.triplet_margin_loss(x, x, ember.ones(4))
    with pytest.raises(ValueError, match=r"triplet_margin_loss\(\).*margin"):
        F.triplet_margin_loss(x, x, x, margin=0.0)
    with pytest.raises(ValueError, match="MultiMarginLoss.*p == 1"):
        nn.MultiMarginLoss(p=3)


LOSS_MODULES = [
    ("SmoothL1Loss", {"beta": 0.5}, 2), ("HuberLoss", {"delta": 0.4}, 2),
    ("KLDivLoss", {"reduction": "sum"}, 2), ("SoftMarginLoss", {}, 2),
    ("HingeEmbeddingLoss", {"margin": 0.3}, 2), ("PoissonNLLLoss", {"full": True}, 2),
    ("GaussianNLLLoss", {"full": True}, 3), ("MultiLabelSoftMarginLoss", {}, 2),
    ("TripletMarginLoss", {"swap": True, "p": 3}, 3),
    ("MarginRankingLoss", {"margin": 0.1}, 3), ("CosineEmbeddingLoss", {"margin": 0.2}, 3),
    ("MultiMarginLoss", {"p": 2, "reduction": "none"}, 2),
]


@pytest.mark.parametrize("name,kw,nargs", LOSS_MODULES, ids=[m[0] for m in LOSS_MODULES])
def test_loss_modules_match_torch(name, kw, nargs):
    x, y, z = rand(5, 4), rand(5, 4, seed=1), rand(5, 4, seed=2)
    # (inputs with gradients, targets without): torch refuses a gradient for some targets
    inputs = {
        "KLDivLoss": ([x, np.abs(y)], []), "SoftMarginLoss": ([x], [signs(5, 4)]),
        "HingeEmbeddingLoss": ([x], [signs(5, 4)]),
        "PoissonNLLLoss": ([x], [np.abs(y).round()]),
        "GaussianNLLLoss": ([x, y, np.abs(z) + 0.1], []),
        "MultiLabelSoftMarginLoss": ([x], [(y > 0).astype(np.float32)]),
        "MarginRankingLoss": ([x[:, 0], y[:, 0]], [signs(5)]),
        "CosineEmbeddingLoss": ([x, y], [signs(5)]),
        "MultiMarginLoss": ([x], [np.arange(5) % 4]),
    }.get(name, ([x, y, z][:nargs], []))
    em, tm = getattr(nn, name)(**kw), getattr(torch.nn, name)(**kw)
    both_module(em, tm, *inputs)
    # the class name as PyTorch's (ember's losses also print a non-default reduction)
    assert repr(em).split("(")[0] == repr(tm).split("(")[0]


def test_weighted_loss_modules_hold_weight_buffer():
    w = np.abs(rand(4)) + 0.1
    x, t = rand(5, 4), np.arange(5) % 4
    em = nn.MultiMarginLoss(weight=ember.tensor(w))
    tm = torch.nn.MultiMarginLoss(weight=torch.tensor(w))
    check_module(em, tm, x, t)
    assert "weight" in dict(em.named_buffers())
    em = nn.MultiLabelSoftMarginLoss(weight=ember.tensor(w))
    tm = torch.nn.MultiLabelSoftMarginLoss(weight=torch.tensor(w))
    check_module(em, tm, x, (rand(5, 4, seed=3) > 0).astype(np.float32))


def both_module(em, tm, floats, others):
    e_in = [ember.tensor(a, requires_grad=True) for a in floats]
    t_in = [torch.tensor(a, requires_grad=True) for a in floats]
    eo = em(*e_in, *(ember.tensor(a) for a in others))
    to = tm(*t_in, *(torch.tensor(a) for a in others))
    close(eo, to, what="value")
    r = rand(*tuple(to.shape), seed=7)
    (eo * ember.tensor(r)).sum().backward()
    (to * torch.tensor(r)).sum().backward()
    for a, b in zip(e_in, t_in, strict=True):
        close(a.grad, b.grad, what="grad")


# --- distances ---------------------------------------------------------------------------

@pytest.mark.parametrize("kw", [{}, {"p": 1.0, "dim": 0}, {"p": 3.0, "dim": -1},
                                {"eps": 10.0}])
def test_normalize(kw):
    both("normalize", [rand(4, 5)], [], kw)


def test_normalize_zero_row_and_out():
    x = rand(3, 4)
    x[1] = 0
    both("normalize", [x], [])
    out = ember.empty(3, 4)
    res = F.normalize(ember.tensor(x), out=out)
    assert res is out
    close(out, TF.normalize(torch.tensor(x)))


@pytest.mark.parametrize("shapes,dim", [(((4, 5), (4, 5)), 1), (((4, 5), (1, 5)), 1),
                                        (((3, 4, 5), (3, 4, 5)), -1), (((5,), (5,)), 0)])
def test_cosine_similarity(shapes, dim):
    a, b = rand(*shapes[0]), rand(*shapes[1], seed=1)
    both("cosine_similarity", [a, b], [], {"dim": dim})
    check_module(nn.CosineSimilarity(dim), torch.nn.CosineSimilarity(dim), a, b)


@pytest.mark.parametrize("kw", [{}, {"p": 1.0}, {"p": 3.0, "keepdim": True},
                                {"eps": 0.1}, {"p": float("inf")}])
@pytest.mark.parametrize("shapes", [((4, 5), (4, 5)), ((4, 5), (1, 5)), ((5,), (5,)),
                                    ((2, 3, 5), (3, 5))])
def test_pairwise_distance(kw, shapes):
    a, b = rand(*shapes[0]), rand(*shapes[1], seed=1)
    both("pairwise_distance", [a, b], [], kw)
    mkw = {"p": kw.get("p", 2.0), "eps": kw.get("eps", 1e-6),
           "keepdim": kw.get("keepdim", False)}
    m = nn.PairwiseDistance(**mkw)
    check_module(m, torch.nn.PairwiseDistance(**mkw), a, b)
    assert repr(m) == repr(torch.nn.PairwiseDistance(**mkw))


def test_pairwise_distance_equal_vectors_have_finite_grad():
    x = rand(3, 4)
    both("pairwise_distance", [x, x.copy()], [])


# --- pixel shuffle -----------------------------------------------------------------------

@pytest.mark.parametrize("shape,r", [((2, 8, 3, 5), 2), ((18, 2, 2), 3), ((2, 2, 4, 1, 1), 2),
                                     ((0, 4, 2, 2), 2)])
def test_pixel_shuffle_round_trip(shape, r):
    x = rand(*shape)
    # torch 2.13's PixelShuffleBackward fails on an empty batch: values only there
    grad = x.size > 0
    out = both("pixel_shuffle", [x], [r], grad=grad)
    check_module(nn.PixelShuffle(r), torch.nn.PixelShuffle(r), x, grad=grad)
    if grad:
        back = both("pixel_unshuffle", [to_np(out).copy()], [r])
        check_module(nn.PixelUnshuffle(r), torch.nn.PixelUnshuffle(r), to_np(out).copy())
    else:  # torch 2.13 returns an empty input unchanged in shape: check the round trip
        back = F.pixel_unshuffle(out, r)
    np.testing.assert_array_equal(to_np(back), x)
    if not grad:
        e = ember.tensor(x, requires_grad=True)
        F.pixel_shuffle(e, r).sum().backward()
        assert tuple(e.grad.shape) == shape
    assert repr(nn.PixelShuffle(r)) == repr(torch.nn.PixelShuffle(r))


def test_pixel_shuffle_errors():
    with pytest.raises(ember.OpError, match=r"pixel_shuffle\(\).*at least 3"):
        F.pixel_shuffle(ember.ones(4, 4), 2)
    with pytest.raises(ember.OpError, match=r"pixel_shuffle\(\).*size\(-3\)=6.*by 4"):
        F.pixel_shuffle(ember.ones(6, 2, 2), 2)
    with pytest.raises(ember.OpError, match=r"pixel_unshuffle\(\).*divisible"):
        F.pixel_unshuffle(ember.ones(1, 3, 2), 2)
    with pytest.raises(ValueError, match="upscale_factor"):
        F.pixel_shuffle(ember.ones(4, 2, 2), 0)


def test_reference_backend_matches_cpu():
    """Compositions need no backend code: the array-api reference backend agrees."""
    x, y = rand(5, 4), rand(5, 4, seed=1)
    for name in ["smooth_l1_loss", "huber_loss", "soft_margin_loss", "kl_div",
                 "pairwise_distance", "multilabel_soft_margin_loss"]:
        if name in ("soft_margin_loss",):
            args = (x, signs(5, 4))
        elif name == "multilabel_soft_margin_loss":
            args = (x, (y > 0).astype(np.float32))
        else:
            args = (x, y)
        cpu = getattr(F, name)(*(ember.tensor(a) for a in args))
        ref = getattr(F, name)(*(ember.tensor(a, device="reference") for a in args))
        close(ref, cpu, what=name)
    t = np.arange(5) % 4
    close(F.multi_margin_loss(ember.tensor(x, device="reference"),
                              ember.tensor(t, device="reference")),
          F.multi_margin_loss(ember.tensor(x), ember.tensor(t)))
    close(F.pixel_shuffle(ember.tensor(rand(1, 4, 2, 2), device="reference"), 2),
          TF.pixel_shuffle(torch.tensor(rand(1, 4, 2, 2)), 2))


# --- found by fuzzing against torch ------------------------------------------------------

@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_logit_losses_gradient_at_zero_logit(reduction):
    """log(1 + exp(-x)) at x = 0 has the derivative -0.5; the form ``max(-x, 0) +
    log1p(exp(-|x|))`` gave -1 there (neither max nor |x| is differentiable at 0)."""
    x = np.array([[0.0, 0.0, 1.5], [-0.0, 2.0, 0.0]], np.float32)
    t01 = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]], np.float32)
    both("binary_cross_entropy_with_logits", [x], [t01], {"reduction": reduction})
    both("binary_cross_entropy_with_logits", [x], [t01],
         {"reduction": reduction, "pos_weight": np.array([2.0, 0.5, 1.0], np.float32)})
    both("soft_margin_loss", [x], [t01 * 2 - 1], {"reduction": reduction})
    both("multilabel_soft_margin_loss", [x], [t01], {"reduction": reduction})


def _ce_both(x, target, second=False, **kw):
    e = ember.tensor(x, requires_grad=True)
    t = torch.tensor(x, requires_grad=True)
    ekw = {k: ember.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    tkw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    eo = F.cross_entropy(e, ember.tensor(target), **ekw)
    to = TF.cross_entropy(t, torch.tensor(target), **tkw)
    close(eo, to, what="cross_entropy value")
    eo.sum().backward()
    to.sum().backward()
    close(e.grad, t.grad, what="cross_entropy grad")


@pytest.mark.parametrize("path_", ["fused", "decomposed"])
@pytest.mark.parametrize("kw", [{}, {"label_smoothing": 0.2},
                                {"weight": np.array([1.0, 0.5, 2.0, 1.0], np.float32)}])
def test_cross_entropy_every_target_ignored_has_zero_gradient(path_, kw):
    """A batch of padding only: the mean is 0 / 0 = NaN, but PyTorch's gradient is 0
    (no target contributes), so one padded batch does not poison the parameters; the
    gradient was NaN."""
    from _nn_oracle import decomposed_only
    import contextlib
    x = rand(3, 4)
    with decomposed_only() if path_ == "decomposed" else contextlib.nullcontext():
        _ce_both(x, np.array([1, 1, 1]), ignore_index=1, **kw)
        _ce_both(rand(3, 2, 4).transpose(0, 2, 1), np.full((3, 2), 2), ignore_index=2,
                 reduction="mean", **kw)


@pytest.mark.parametrize("kw", [{}, {"weight": np.array([1.0, 0.5, 2.0, 1.0], np.float32)},
                                {"ignore_index": 3}, {"label_smoothing": 0.1}])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_masked_logits(kw, reduction):
    """-inf logits (masked classes, as in action masking) of non-target classes leave the
    loss finite, unbatched (C,) inputs and class weights included: the kernel's
    ``d * logp`` had 0 * -inf = NaN there.  A +inf logit is NaN as in torch."""
    x = rand(3, 4)
    x[:, 0] = -np.inf
    _ce_both(x, np.array([1, 2, 3]), reduction=reduction, **kw)
    _ce_both(x[1], np.array(2), reduction=reduction, **kw)
    y = rand(3, 4)
    y[0, 2] = np.inf
    e = F.cross_entropy(ember.tensor(y), ember.tensor(np.array([1, 2, 3])),
                        reduction=reduction, **{k: ember.tensor(v) if isinstance(
                            v, np.ndarray) else v for k, v in kw.items()})
    t = TF.cross_entropy(torch.tensor(y), torch.tensor(np.array([1, 2, 3])),
                         reduction=reduction, **{k: torch.tensor(v) if isinstance(
                             v, np.ndarray) else v for k, v in kw.items()})
    close(e, t, what="+inf logit")


def test_cross_entropy_ignore_index_past_the_classes():
    """Targets equal to an ignore_index >= C are ignored, not out of range (the fast
    path indexed with them: numpy's IndexError)."""
    x = rand(3, 2)
    for target in ([5, 5, 5], [0, 5, 1]):
        for reduction in REDUCTIONS:
            _ce_both(x, np.array(target), ignore_index=5, reduction=reduction)


def test_cross_entropy_zero_total_weight_is_nan_with_smoothing():
    """Every target of weight 0: the mean is NaN, as torch's 0 / 0 (the smoothing part
    made it inf)."""
    w = np.array([1.0, 0.0, 1.0], np.float32)
    out = F.cross_entropy(ember.tensor(rand(4, 3)), ember.tensor(np.array([1, 1, 1, 1])),
                          weight=ember.tensor(w), label_smoothing=0.3)
    ref = TF.cross_entropy(torch.tensor(rand(4, 3)), torch.tensor([1, 1, 1, 1]),
                           weight=torch.tensor(w), label_smoothing=0.3)
    assert np.isnan(to_np(out)) and np.isnan(to_np(ref))


def test_fuzz_losses_against_torch():
    """hypothesis draws a loss, a shape (0-d and empty included), a reduction, values
    with exact ties of input and target (the kinks of the piecewise losses) and zero
    logits, and checks value, gradient and (where torch has one) second derivative."""
    pytest.importorskip("hypothesis")
    from hypothesis import given, settings, strategies as st

    @settings(derandomize=True, database=None, deadline=None, max_examples=80)
    @given(shape=st.sampled_from([(), (0,), (5,), (3, 4), (2, 3, 2)]),
           reduction=st.sampled_from(REDUCTIONS), seed=st.integers(0, 2 ** 16),
           name=st.sampled_from(["smooth_l1_loss", "huber_loss", "l1_loss", "mse_loss",
                                 "soft_margin_loss", "binary_cross_entropy_with_logits",
                                 "kl_div", "poisson_nll_loss", "gaussian_nll_loss",
                                 "margin_ranking_loss", "hinge_embedding_loss"]),
           data=st.data())
    def check(shape, reduction, seed, name, data):
        rng = np.random.default_rng(seed)
        x = np.asarray(rng.standard_normal(shape), np.float32)
        y = np.asarray(rng.standard_normal(shape), np.float32)
        if x.size:  # a tie, a tie at the boundary of the quadratic zone, a zero logit
            x.flat[0] = y.flat[0]
            x.flat[-1] = 0.0 if x.size > 1 else x.flat[-1]
            if x.size > 2:
                x.flat[1] = y.flat[1] + 1.0
        sign = np.asarray(np.where(rng.random(shape) < 0.5, -1.0, 1.0), np.float32)
        kw, floats, others = {"reduction": reduction}, [x], []
        if name in ("smooth_l1_loss", "huber_loss", "l1_loss", "mse_loss"):
            floats.append(y)
            if name == "smooth_l1_loss":
                kw["beta"] = data.draw(st.sampled_from([1.0, 0.5, 0.0]))
            if name == "huber_loss":
                kw["delta"] = data.draw(st.sampled_from([1.0, 0.3]))
        elif name == "soft_margin_loss":
            others.append(sign)
        elif name == "binary_cross_entropy_with_logits":
            others.append((sign > 0).astype(np.float32))
        elif name == "kl_div":
            kw["log_target"] = data.draw(st.booleans())
            floats.append(y if kw["log_target"] else np.abs(y))
        elif name == "poisson_nll_loss":
            kw["log_input"] = data.draw(st.booleans())
            kw["full"] = data.draw(st.booleans())
            floats[0] = x if kw["log_input"] else np.abs(x) + 0.1
            others.append(np.asarray(np.abs(y * 3).round(), np.float32))
        elif name == "gaussian_nll_loss":
            floats += [y, np.asarray(np.abs(rng.standard_normal(shape)) + 0.01, np.float32)]
            kw["full"] = data.draw(st.booleans())
        elif name == "margin_ranking_loss":
            floats.append(y)
            others.append(sign)
            kw["margin"] = data.draw(st.sampled_from([0.0, 0.5]))
        else:
            others.append(sign)
            kw["margin"] = data.draw(st.sampled_from([1.0, 0.5]))
        if name in ("margin_ranking_loss", "hinge_embedding_loss") and shape == ():
            return  # torch's own check calls .dim() on the margin arithmetic's result
        e_in = [ember.tensor(a, requires_grad=True) for a in floats]
        t_in = [torch.tensor(a, requires_grad=True) for a in floats]
        if name == "gaussian_nll_loss":
            eo = F.gaussian_nll_loss(*e_in, **kw)
            to = TF.gaussian_nll_loss(*t_in, **kw)
        else:
            eo = getattr(F, name)(*e_in, *(ember.tensor(a) for a in others), **kw)
            to = getattr(TF, name)(*t_in, *(torch.tensor(a) for a in others), **kw)
        close(eo, to, what=f"{name} value")
        if not to.numel() or not x.size:
            return
        r = rand(*tuple(to.shape), seed=seed)
        ge = ember.autograd.grad((eo * ember.tensor(r)).sum(), e_in, create_graph=True)
        gt = torch.autograd.grad((to * torch.tensor(r)).sum(), t_in, create_graph=True)
        for i, (a, b) in enumerate(zip(ge, gt, strict=True)):
            close(a, b, what=f"{name} grad of input {i}")
        pairs = [(a, b) for a, b in zip(ge, gt, strict=True)
                 if a.requires_grad and b.requires_grad]
        if pairs:
            gge = ember.autograd.grad(sum((a * a).sum() for a, _ in pairs), e_in,
                                      allow_unused=True)
            ggt = torch.autograd.grad(sum((b * b).sum() for _, b in pairs), t_in,
                                      allow_unused=True)
            for i, (a, b) in enumerate(zip(gge, ggt, strict=True)):
                if a is not None and b is not None:
                    if b._is_zerotensor():  # torch's symbolic zero (no numpy())
                        b = torch.zeros(tuple(b.shape))
                    close(a, b, rtol=1e-3, atol=1e-4, what=f"{name} second derivative {i}")

    check()
