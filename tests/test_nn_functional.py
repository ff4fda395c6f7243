"""nn.functional and the losses against torch.nn.functional: values and gradients,
reductions, ignore_index, label smoothing, class weights, probability targets,
numerical stability with large logits, and clear errors for bad shapes."""

from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F

from _nn_oracle import close, path, to_np, torch  # noqa: F401

TF = torch.nn.functional
pytestmark = pytest.mark.torch


def rand(*shape, seed=0, scale=1.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)


def both(fn_e, fn_t, float_args, other_args=(), kwargs=None, grad=True):
    """Run fn on ember and torch with the same inputs; compare value and the gradients
    of every float input."""
    kwargs = kwargs or {}
    e_in = [ember.tensor(a, requires_grad=grad) for a in float_args]
    t_in = [torch.tensor(a, requires_grad=grad) for a in float_args]
    e_other = [ember.tensor(a) if isinstance(a, np.ndarray) else a for a in other_args]
    t_other = [torch.tensor(a) if isinstance(a, np.ndarray) else a for a in other_args]
    ekw = {k: ember.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    tkw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    eo = fn_e(*e_in, *e_other, **ekw)
    to = fn_t(*t_in, *t_other, **tkw)
    close(eo, to, what="value")
    if grad:
        r = rand(*tuple(to.shape), seed=7)
        (eo * ember.tensor(r)).sum().backward()
        (to * torch.tensor(r)).sum().backward()
        for a, b in zip(e_in, t_in, strict=True):
            close(a.grad, b.grad, what="grad")
    return eo


TARGETS = np.array([0, 3, 1, 4, 4, 2])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore", [False, True])
def test_cross_entropy_class_indices(reduction, label_smoothing, weighted, ignore, path):  # noqa: F811
    t = TARGETS.copy()
    if ignore:
        t[2] = -100
    kw = {"reduction": reduction, "label_smoothing": label_smoothing}
    if weighted:
        kw["weight"] = np.abs(rand(5, seed=3)) + 0.1
    both(F.cross_entropy, TF.cross_entropy, [rand(6, 5)], [t], kw)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_spatial_and_custom_ignore_index(reduction, path):  # noqa: F811
    t = np.random.default_rng(1).integers(0, 4, (2, 3, 5))
    t[0, 1, 2] = 7
    both(F.cross_entropy, TF.cross_entropy, [rand(2, 4, 3, 5)], [t],
         {"reduction": reduction, "ignore_index": 7, "label_smoothing": 0.1})


@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
def test_cross_entropy_probability_targets(label_smoothing, path):  # noqa: F811
    p = np.random.default_rng(2).dirichlet(np.ones(5), 4).astype(np.float32)
    both(F.cross_entropy, TF.cross_entropy, [rand(4, 5)], [p],
         {"label_smoothing": label_smoothing, "weight": np.arange(1, 6, dtype=np.float32)})


def test_cross_entropy_unbatched(path):  # noqa: F811
    both(F.cross_entropy, TF.cross_entropy, [rand(5)], [np.array(3)])


def test_cross_entropy_is_stable_with_large_logits(path):  # noqa: F811
    x = np.array([[1e4, -1e4, 0.0], [3e4, 3e4, -3e4]], dtype=np.float32)
    out = both(F.cross_entropy, TF.cross_entropy, [x], [np.array([1, 0])])
    assert np.isfinite(out.item())
    ls = F.log_softmax(ember.tensor(x), 1).numpy()
    assert np.isfinite(ls).all()


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_ignore_index_among_the_classes(reduction, path):  # noqa: F811
    # 2-D logits with class indices take the CPU's fast path, which must still honour an
    # ignore_index that is a valid class (here 2, present in the targets).
    both(F.cross_entropy, TF.cross_entropy, [rand(6, 5)], [TARGETS.copy()],
         {"reduction": reduction, "ignore_index": 2})
    both(F.cross_entropy, TF.cross_entropy, [rand(6, 5)], [TARGETS.copy()],
         {"reduction": reduction, "ignore_index": 0})


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan, "row of -inf"])
def test_cross_entropy_non_finite_logits_like_torch(reduction, bad):
    # One row with a non-finite maximum; values and gradients (NaN where torch has NaN)
    # must match torch on every row, through forward and backward.
    x = rand(4, 5)
    if bad == "row of -inf":
        x[1] = -np.inf
    else:
        x[1, 3] = bad
    for t in ([0, 3, 2, 4], [0, 1, 2, 4]):  # the target at, and away from, the bad logit
        t = np.array(t)
        e_in = ember.tensor(x, requires_grad=True)
        t_in = torch.tensor(x, requires_grad=True)
        eo = F.cross_entropy(e_in, ember.tensor(t), reduction=reduction)
        to = TF.cross_entropy(t_in, torch.tensor(t), reduction=reduction)
        np.testing.assert_array_equal(np.isnan(to_np(eo)), np.isnan(to_np(to)))
        close(eo, to, what="value")
        eo.sum().backward()
        to.sum().backward()
        np.testing.assert_array_equal(np.isnan(to_np(e_in.grad)),
                                      np.isnan(to_np(t_in.grad)))
        close(e_in.grad, t_in.grad, what="grad")


@pytest.mark.parametrize("fn", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("target", [[0, 3], [0, -1], [0, -2], [5, 0]])
@pytest.mark.parametrize("grad", [False, True])
def test_class_targets_out_of_range_raise_index_error_like_torch(fn, target, grad, path):  # noqa: F811
    # One value rule in the schema, so every path raises: the CPU's fused kernels, the
    # decomposition, and the Autograd key's composite path (nll_loss with grad).
    x = rand(2, 3)
    with pytest.raises(IndexError):
        getattr(TF, fn)(torch.tensor(x), torch.tensor(target))
    with pytest.raises(IndexError, match=rf"{fn}\(\): argument 'target' holds "
                                         rf"{[v for v in target if not 0 <= v < 3][0]}, "
                                         rf"which is out of bounds for 3 classes"):
        getattr(F, fn)(ember.tensor(x, requires_grad=grad), ember.tensor(target))


def test_targets_out_of_range_raise_in_every_layout(path):  # noqa: F811
    # Spatial targets, unbatched input, an ignore_index among the classes (then -100
    # is an ordinary out-of-range value).
    with pytest.raises(IndexError, match="holds 4"):
        F.cross_entropy(ember.tensor(rand(2, 4, 3)), ember.tensor([[0, 1, 2], [3, 4, 0]]))
    with pytest.raises(IndexError, match="holds 7"):
        F.nll_loss(ember.tensor(rand(5)), ember.tensor(7))
    with pytest.raises(IndexError, match="holds -100"):
        F.cross_entropy(ember.tensor(rand(2, 3)), ember.tensor([-100, 1]), ignore_index=1)
    # in range, and ignore_index outside the classes: no error
    F.cross_entropy(ember.tensor(rand(2, 3)), ember.tensor([-7, 1]), ignore_index=-7)


@pytest.mark.parametrize("fn", ["cross_entropy", "nll_loss"])
def test_zero_classes_clear_error_or_nan_like_torch(fn, path):  # noqa: F811
    x = np.zeros((2, 0), np.float32)
    with pytest.raises(IndexError, match=r"'input' has no classes \(C = 0\)"):
        getattr(F, fn)(ember.tensor(x), ember.tensor([0, 0]))
    for reduction in ("mean", "sum", "none"):
        both(getattr(F, fn), getattr(TF, fn), [x], [np.array([-100, -100])],
             {"reduction": reduction})
        if fn == "cross_entropy":  # class probabilities over no classes
            both(F.cross_entropy, TF.cross_entropy, [x], [x.copy()], {"reduction": reduction},
                 grad=False)


MASKED = [np.nan, -np.inf, np.inf]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("fill", MASKED, ids=["nan", "-inf", "inf"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_ignores_non_finite_logits_at_ignored_positions(
        reduction, fill, label_smoothing, weighted, path):  # noqa: F811
    # Padded positions often hold masked (-inf) logits: they must not reach the loss.
    x = rand(4, 3)
    x[1] = fill
    x[3, 0] = fill
    t = np.array([0, -100, 2, -100])
    w = np.abs(rand(3, seed=5)) + 0.5 if weighted else None
    kw = {"reduction": reduction, "label_smoothing": label_smoothing, "weight": w}
    e_in = ember.tensor(x, requires_grad=True)
    t_in = torch.tensor(x, requires_grad=True)
    eo = F.cross_entropy(e_in, ember.tensor(t), **{k: ember.tensor(v) if isinstance(
        v, np.ndarray) else v for k, v in kw.items()})
    to = TF.cross_entropy(t_in, torch.tensor(t), **{k: torch.tensor(v) if isinstance(
        v, np.ndarray) else v for k, v in kw.items()})
    assert np.isfinite(to_np(to)).all()
    close(eo, to, what="value")
    r = rand(*tuple(to.shape), seed=7)
    (eo * ember.tensor(r)).sum().backward()
    (to * torch.tensor(r)).sum().backward()
    # PyTorch's gradient at an ignored row of non-finite logits is NaN (its
    # log-softmax backward multiplies 0 by NaN); the loss does not depend on those
    # logits, so ember's is 0 there, and equal to PyTorch's on the other rows.
    g = to_np(e_in.grad)
    assert (g[[1, 3]] == 0).all()
    np.testing.assert_allclose(g[[0, 2]], to_np(t_in.grad)[[0, 2]], rtol=1e-4, atol=1e-5)
    assert np.isfinite(to_np(F.cross_entropy(ember.tensor(np.array([[1, 2, 3], [
        -np.inf] * 3], np.float32)), ember.tensor([0, -100])))).all()


def test_cross_entropy_issue_21_reproducer(path):  # noqa: F811
    x = [[1.0, 2.0, 3.0], [-np.inf, -np.inf, -np.inf]]
    e = F.cross_entropy(ember.tensor(x), ember.tensor([0, -100])).item()
    assert e == pytest.approx(TF.cross_entropy(torch.tensor(x), torch.tensor([0, -100])).item())
    assert e == pytest.approx(2.4076, abs=1e-4)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("fill", MASKED, ids=["nan", "-inf", "inf"])
def test_nll_loss_ignores_non_finite_inputs_at_ignored_positions(reduction, fill, path):  # noqa: F811
    x = TF.log_softmax(torch.tensor(rand(4, 3)), 1).numpy()
    x[1] = fill
    # (nll_loss's gradient is 0 at ignored positions in PyTorch too: compared exactly)
    both(F.nll_loss, TF.nll_loss, [x], [np.array([0, -100, 2, -100])],
         {"reduction": reduction, "weight": np.abs(rand(3, seed=4)) + 0.5})


def test_cross_entropy_all_ignored_is_nan_like_torch():
    x, t = rand(3, 4), np.full(3, -100)
    e = F.cross_entropy(ember.tensor(x), ember.tensor(t)).item()
    assert np.isnan(e) and np.isnan(TF.cross_entropy(torch.tensor(x), torch.tensor(t)).item())


def test_cross_entropy_target_out_of_range_raises():
    with pytest.raises(IndexError, match="out of bounds"):
        F.cross_entropy(ember.tensor(rand(2, 3)), ember.tensor([0, 3]))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss(reduction, path):  # noqa: F811
    logp = TF.log_softmax(torch.tensor(rand(6, 5)), 1).numpy()
    t = TARGETS.copy()
    t[0] = -100
    both(F.nll_loss, TF.nll_loss, [logp], [t],
         {"reduction": reduction, "weight": np.abs(rand(5, seed=4)) + 0.5})


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_regression_losses(name, reduction, path):  # noqa: F811
    both(getattr(F, name), getattr(TF, name), [rand(3, 4), rand(3, 4, seed=1)],
         kwargs={"reduction": reduction})


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropy(reduction, path):  # noqa: F811
    p = 1 / (1 + np.exp(-rand(4, 3)))
    y = (rand(4, 3, seed=1) > 0).astype(np.float32)
    both(F.binary_cross_entropy, TF.binary_cross_entropy, [p.astype(np.float32)], [y],
         {"reduction": reduction, "weight": np.abs(rand(4, 3, seed=2))})


@pytest.mark.parametrize("bad_input,bad_target", [
    (1.5, 1.0), (-0.1, 0.0), (np.nan, 1.0), (0.5, 1.5), (0.5, -1.0), (0.5, np.nan)])
@pytest.mark.parametrize("grad", [False, True])
def test_binary_cross_entropy_refuses_values_outside_0_1_like_torch(bad_input, bad_target,
                                                                     grad, path):  # noqa: F811
    x, t = np.array([0.3, bad_input], np.float32), np.array([1.0, bad_target], np.float32)
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        TF.binary_cross_entropy(torch.tensor(x), torch.tensor(t))
    name = "input" if not 0 <= bad_input <= 1 else "target"
    with pytest.raises(RuntimeError, match=rf"binary_cross_entropy\(\): all elements of "
                                           rf"argument '{name}' should be between 0 and 1"):
        F.binary_cross_entropy(ember.tensor(x, requires_grad=grad), ember.tensor(t))


def test_binary_cross_entropy_accepts_the_bounds(path):  # noqa: F811
    both(F.binary_cross_entropy, TF.binary_cross_entropy,
         [np.array([0.0, 1.0, 0.5], np.float32)], [np.array([0.0, 1.0, 1.0], np.float32)],
         grad=False)


def test_binary_cross_entropy_clamps_log_at_minus_100():
    p = np.array([0.0, 1.0, 0.5], dtype=np.float32)
    y = np.array([1.0, 0.0, 1.0], dtype=np.float32)
    e = F.binary_cross_entropy(ember.tensor(p), ember.tensor(y), reduction="none")
    close(e, TF.binary_cross_entropy(torch.tensor(p), torch.tensor(y), reduction="none"))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bce_with_logits_large_logits_and_pos_weight(reduction, path):  # noqa: F811
    x = rand(4, 3, scale=50)
    y = (rand(4, 3, seed=1) > 0).astype(np.float32)
    out = both(F.binary_cross_entropy_with_logits, TF.binary_cross_entropy_with_logits,
               [x], [y], {"reduction": reduction, "pos_weight": np.array([1.0, 2.0, 0.5],
                                                                         dtype=np.float32)})
    assert np.isfinite(out.detach().numpy()).all()


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_and_log_softmax(dim, path):  # noqa: F811
    x = rand(3, 4, 5)
    both(lambda a: F.softmax(a, dim), lambda a: TF.softmax(a, dim), [x])
    both(lambda a: F.log_softmax(a, dim), lambda a: TF.log_softmax(a, dim), [x])


def test_softmax_edge_cases():
    assert F.softmax(ember.zeros(0, 3), 1).shape == (0, 3)
    close(F.softmax(ember.tensor(2.0), 0), TF.softmax(torch.tensor(2.0), 0))
    x = np.array([[-np.inf, 0.0, 1.0]], dtype=np.float32)
    close(F.log_softmax(ember.tensor(x), 1), TF.log_softmax(torch.tensor(x), 1))
    with pytest.warns(UserWarning, match="Implicit dimension"):
        F.softmax(ember.randn(2, 3))


def test_relu_keeps_nan_and_handles_inf():
    x = np.array([np.nan, -np.inf, np.inf, -1.0, 2.0], dtype=np.float32)
    close(F.relu(ember.tensor(x)), TF.relu(torch.tensor(x)))


def test_functional_inplace_relu():
    x = ember.tensor([-1.0, 2.0])
    assert F.relu(x, inplace=True) is x
    np.testing.assert_array_equal(x.numpy(), [0.0, 2.0])


def test_pad_matches_torch(path):  # noqa: F811
    both(lambda a: F.pad(a, (1, 2, 0, 1), value=3.0),
         lambda a: TF.pad(a, (1, 2, 0, 1), value=3.0), [rand(2, 3, 4)])
    both(lambda a: F.pad(a, (-1, 1)), lambda a: TF.pad(a, (-1, 1)), [rand(2, 4)])


PAD_CASES = [((2, 5), (2, 3)), ((2, 3, 5), (4, 0)), ((2, 3, 5), (-1, 2)),
             ((2, 3, 5), (2, -3)), ((3, 4, 5), (1, 2, 3, 3)), ((2, 3, 4, 5), (0, 4, 2, -1)),
             ((1, 2, 3, 4, 5), (1, 1, 2, 2, 2, 2)), ((2, 3, 4, 5), (1, 2, 3, 1, 2, 2)),
             ((0, 3, 5), (2, 2)), ((2, 3, 5), (-2, -1)), ((2, 3, 5), (-3, 3))]


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("shape,pad", PAD_CASES, ids=str)
def test_pad_modes_match_torch(path, mode, shape, pad):  # noqa: F811
    # one index_select per padded dim: the value and its scatter-add gradient; the cases
    # torch refuses (a pad past what the mode can reach) ember refuses too
    for dtype in [np.float32, np.float64]:
        x = rand(*shape).astype(dtype)
        try:
            TF.pad(torch.tensor(x), pad, mode=mode)
        except RuntimeError:
            with pytest.raises(ValueError, match=f"pad\\(\\): mode '{mode}'"):
                F.pad(ember.tensor(x), pad, mode=mode)
            continue
        if (mode, pad) == ("circular", (-3, 3)):
            _check_pad_against_torch_forward(x, pad, mode)
            continue
        both(lambda a: F.pad(a, pad, mode=mode), lambda a: TF.pad(a, pad, mode=mode), [x])
        if dtype == np.float64:  # exact: a gather picks the same elements
            np.testing.assert_array_equal(
                F.pad(ember.tensor(x), pad, mode=mode).numpy(),
                TF.pad(torch.tensor(x), pad, mode=mode).numpy())


def _check_pad_against_torch_forward(x, pad, mode):
    """A circular pad that wraps the cropped dim more than once: torch 2.13's forward
    repeats it, but its backward is not that forward's adjoint (it folds each padded
    element back once).  ember's gradient is checked against the adjoint of torch's
    forward, built one basis input at a time."""
    e = ember.tensor(x, requires_grad=True)
    eo = F.pad(e, pad, mode=mode)
    close(eo, TF.pad(torch.tensor(x), pad, mode=mode), what="value")
    r = rand(*eo.shape, seed=3).astype(x.dtype)
    (eo * ember.tensor(r)).sum().backward()
    want = np.zeros(x.size, dtype=x.dtype)
    for i in range(x.size):
        basis = np.zeros(x.size, dtype=x.dtype)
        basis[i] = 1
        want[i] = (TF.pad(torch.tensor(basis.reshape(x.shape)), pad, mode=mode).numpy()
                   * r).sum()
    close(e.grad, torch.tensor(want.reshape(x.shape)), what="grad")
    t = torch.tensor(x, requires_grad=True)
    (TF.pad(t, pad, mode=mode) * torch.tensor(r)).sum().backward()
    assert not np.allclose(t.grad.numpy(), want.reshape(x.shape))  # (fixed in torch?)


def test_pad_modes_non_contiguous_and_integer():
    x = np.arange(24).reshape(2, 3, 4)
    for mode in ["reflect", "replicate", "circular"]:
        got = F.pad(ember.tensor(x).transpose(1, 2), (2, 1, 1, 2), mode=mode)
        want = TF.pad(torch.tensor(x).transpose(1, 2), (2, 1, 1, 2), mode=mode)
        assert got.dtype == ember.int64
        np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_pad_mode_errors():
    x = ember.randn(2, 3, 4)
    with pytest.raises(ValueError, match="pad\\(\\): unrecognised padding mode 'wrap'"):
        F.pad(x, (1, 1), mode="wrap")
    with pytest.raises(ValueError, match="mode 'reflect' doesn't take a value"):
        F.pad(x, (1, 1), mode="reflect", value=1.0)
    with pytest.raises(ValueError, match="mode 'replicate' pads the last 1, 2 or 3 dim.*"
                                         "length 6 for input shape \\[2, 3, 4\\]"):
        F.pad(x, (1, 1, 1, 1, 1, 1), mode="replicate")
    with pytest.raises(ValueError, match="pad of length 2 for input shape \\[4\\]"):
        F.pad(ember.randn(4), (1, 1), mode="circular")
    with pytest.raises(ValueError, match="mode 'reflect': padding \\(4, 1\\) of "
                                         "dimension 2 .* at most 3"):
        F.pad(x, (4, 1), mode="reflect")
    with pytest.raises(ValueError, match="mode 'circular': .* wraps around once"):
        F.pad(x, (5, 0), mode="circular")
    with pytest.raises(ValueError, match="cannot pad dimension 2 .*empty"):
        F.pad(ember.randn(2, 3, 0), (1, 1), mode="replicate")
    with pytest.raises(ValueError, match="gives a zero size for dimension 2"):
        F.pad(x, (-2, -2), mode="reflect")
    assert F.pad(x, (1, 1), mode="reflect", value=0.0).shape == (2, 3, 6)  # as torch


def test_linear_bias_of_two_dims_gets_its_gradient():
    # the joint backward gives a 1-D bias gradient: a (1, out) or (batch, out) bias
    # takes its own formula (was: "gradient of shape [3] can't be reduced to [1, 3]")
    torch = pytest.importorskip("torch")
    for sb in [(1, 3), (5, 3)]:
        x, w, b = (np.random.default_rng(0).standard_normal(s).astype(np.float32)
                   for s in [(5, 7), (3, 7), sb])
        es = [ember.tensor(a, requires_grad=True) for a in (x, w, b)]
        ts = [torch.from_numpy(a).requires_grad_() for a in (x, w, b)]
        (F.linear(*es) ** 2).sum().backward()
        (torch.nn.functional.linear(*ts) ** 2).sum().backward()
        for e, t in zip(es, ts, strict=True):
            np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-5, atol=1e-5)


def test_linear_functional_bad_shapes():
    with pytest.raises(ember.OpError, match=r"linear\(\): input's last dimension is 5"):
        F.linear(ember.randn(2, 5), ember.randn(3, 4))


@pytest.mark.parametrize("fn,args,pattern", [
    (F.mse_loss, ((2, 3), (3, 2)), r"mse_loss\(\): input of shape \[2, 3\] and target of "
                                   r"shape \[3, 2\] must have the same shape"),
    (F.l1_loss, ((2, 3), (2,)), r"l1_loss\(\).*same shape"),
    (F.binary_cross_entropy, ((2, 3), (2, 4)), r"binary_cross_entropy\(\).*target size"),
])
def test_loss_shape_errors(fn, args, pattern):
    a, b = (ember.rand(*s) for s in args)
    with pytest.raises(ember.OpError, match=pattern):
        fn(a, b)


def test_cross_entropy_shape_errors_name_the_loss_layer():
    with pytest.raises(ember.OpError, match=r"CrossEntropyLoss\(\): got shapes \[4, 3\], "
                                            r"\[5\].*expected target of shape \[4\]"):
        nn.CrossEntropyLoss()(ember.randn(4, 3), ember.tensor([0, 1, 2, 0, 1]))
    with pytest.raises(ember.OpError, match="reduction"):
        F.cross_entropy(ember.randn(2, 3), ember.tensor([0, 1]), reduction="avg")
    with pytest.raises(ember.OpError, match="integer dtype"):
        F.embedding(ember.tensor([0.0]), ember.randn(3, 2))


def test_loss_modules_match_functional():
    x, t = ember.randn(4, 3), ember.tensor([0, 2, 1, 1])
    close(nn.CrossEntropyLoss(label_smoothing=0.1)(x, t),
          F.cross_entropy(x, t, label_smoothing=0.1))
    close(nn.NLLLoss(reduction="sum")(F.log_softmax(x, 1), t),
          F.nll_loss(F.log_softmax(x, 1), t, reduction="sum"))
    y = ember.rand(4, 3)
    close(nn.MSELoss()(x, y), F.mse_loss(x, y))
    close(nn.L1Loss(reduction="none")(x, y), F.l1_loss(x, y, reduction="none"))
    close(nn.BCEWithLogitsLoss()(x, y), F.binary_cross_entropy_with_logits(x, y))
    p = ember.rand(4, 3)
    close(nn.BCELoss()(p, y), F.binary_cross_entropy(p, y))


def test_legacy_size_average_reduce():
    x, y = ember.randn(3), ember.randn(3)
    with pytest.warns(DeprecationWarning):
        out = F.mse_loss(x, y, reduce=False)
    assert out.shape == (3,)


def _f64(*shape, seed=0):
    return ember.tensor(np.random.default_rng(seed).standard_normal(shape),
                        dtype=ember.float64, requires_grad=True)


GRADCHECKS = [
    ("linear", lambda x, w, b: F.linear(x, w, b), [(3, 4), (2, 4), (2,)]),
    ("conv2d", lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1, groups=2),
     [(1, 2, 5, 5), (4, 1, 3, 3), (4,)]),
    ("max_pool2d", lambda x: F.max_pool2d(x, 3, 2, 1), [(1, 2, 6, 5)]),
    ("cross_entropy", lambda x: F.cross_entropy(x, ember.tensor([1, 0, 2]),
                                                label_smoothing=0.2), [(3, 4)]),
    ("log_softmax", lambda x: F.log_softmax(x, 0), [(3, 4)]),
    ("layer_norm", lambda x, w, b: F.layer_norm(x, (4,), w, b), [(3, 4), (4,), (4,)]),
    ("group_norm", lambda x: F.group_norm(x, 2), [(2, 4, 3)]),
    ("batch_norm", lambda x: F.batch_norm(x, None, None, training=True), [(4, 3)]),
    ("gelu", lambda x: F.gelu(x), [(5,)]),
    ("sdpa", lambda q, k, v: F.scaled_dot_product_attention(q, k, v), [(2, 3, 4)] * 3),
]


@pytest.mark.parametrize("name,fn,shapes", GRADCHECKS, ids=[g[0] for g in GRADCHECKS])
def test_gradients_match_finite_differences(name, fn, shapes, path):  # noqa: F811
    """float64 gradients of the fused derivatives and of the decompositions against
    finite differences (independent of PyTorch)."""
    inputs = [_f64(*s, seed=i) for i, s in enumerate(shapes)]
    assert ember.autograd.gradcheck(fn, inputs)


@pytest.mark.parametrize("fn", ["relu", "threshold_backward"])
def test_relu_backward_passes_nan_gradients_like_torch(fn):
    x = np.array([np.nan, -1.0, 0.0, 2.0, -np.inf, np.inf], np.float32)
    g = np.array([1.0, 2.0, 3.0, 4.0, 5.0, np.nan], np.float32)
    if fn == "relu":
        e = ember.tensor(x, requires_grad=True)
        t = torch.tensor(x, requires_grad=True)
        ember.relu(e).backward(ember.tensor(g))
        torch.relu(t).backward(torch.tensor(g))
        got, want = e.grad.numpy(), t.grad.numpy()
    else:
        got = ember.ops.nn.threshold_backward(ember.tensor(g), ember.tensor(x), 0).numpy()
        want = torch.ops.aten.threshold_backward(torch.tensor(g), torch.tensor(x), 0).numpy()
    np.testing.assert_array_equal(got, want)
