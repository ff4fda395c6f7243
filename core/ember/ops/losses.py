"""Loss ops: regression losses, negative log-likelihood, cross-entropy (with a
backward op for its fused kernels) and binary cross-entropy.  See ``ember.ops.nn``."""

from __future__ import annotations

import math

from .. import ops as _E  # the ops namespace (complete when these functions run)

from .. import dtypes as _dt
from ..schema import Spec, defop
from ._rules import broadcast_shapes, fail
from ._nn_rules import _need_float, _reduce, _reduction, _shape
from .nn import log_softmax, softmax, stable_softplus

__all__ = ["mse_loss", "l1_loss", "nll_loss", "cross_entropy", "binary_cross_entropy",
           "binary_cross_entropy_with_logits"]


# --- losses -------------------------------------------------------------------------------

def _pair_loss_meta(op):
    def meta(input, target, reduction="mean"):
        _reduction(op, reduction)
        _need_float(op, "input", input)
        if tuple(input.shape) != tuple(target.shape):
            fail(op, f"input of shape {_shape(input)} and target of shape {_shape(target)} "
                     f"must have the same shape")
        return Spec(() if reduction != "none" else tuple(input.shape),
                    _dt.promote_types(input.dtype, target.dtype))
    return meta


def _mse_decomp(input, target, reduction="mean"):
    d = input - target
    return _reduce(d * d, reduction)


def _l1_decomp(input, target, reduction="mean"):
    return _reduce((input - target).abs(), reduction)


mse_loss = defop("mse_loss(Tensor input, Tensor target, str reduction='mean') -> Tensor",
                 tags=("composite",), meta=_pair_loss_meta("mse_loss"),
                 decomposition=_mse_decomp, doc="Mean squared error.")
l1_loss = defop("l1_loss(Tensor input, Tensor target, str reduction='mean') -> Tensor",
                tags=("composite",), meta=_pair_loss_meta("l1_loss"),
                decomposition=_l1_decomp, doc="Mean absolute error.")


def _class_target_meta(op, input, target, weight, reduction):
    _reduction(op, reduction)
    _need_float(op, "input", input)
    if input.ndim == 0:
        fail(op, "argument 'input' must have at least 1 dimension (C) or 2 (N, C, ...)")
    c = input.shape[1] if input.ndim >= 2 else input.shape[0]
    if weight is not None and tuple(weight.shape) != (c,):
        fail(op, f"argument 'weight' must have shape [{c}] (one per class), got "
                 f"{_shape(weight)}")
    if target.dtype.is_floating_point:
        return c, True
    if target.dtype is _dt.bool:
        fail(op, "argument 'target' must hold class indices (int64) or class "
                 "probabilities (float), got bool")
    expected = (input.shape[:1] + input.shape[2:]) if input.ndim >= 2 else ()
    if tuple(target.shape) != tuple(expected):
        fail(op, f"expected target of shape {list(expected)} for input of shape "
                 f"{_shape(input)} (N, C, ...), got target of shape {_shape(target)}")
    return c, False


def _classes(input) -> int:
    return input.shape[1] if input.ndim >= 2 else input.shape[0]


def _targets_in_range(op):
    """Value rule of the class-index losses: every target is a class of ``input`` or
    ``ignore_index`` (PyTorch raises IndexError, checking as its CPU kernels gather).
    The common case costs two small reductions and their reads; a batch with ignored
    (padding) targets, two more."""
    def rule(spec, input, target, weight=None, reduction="mean", ignore_index=-100,
             *rest):
        if target.dtype.is_floating_point or target.numel() == 0:
            return  # class probabilities: the shape rule checked them
        c = _classes(input)
        if _within(target, c):
            return
        if not 0 <= ignore_index < c:  # ignored targets may lie outside the classes
            kept = _E.where(target == ignore_index, 0, target)
            if c and _within(kept, c):
                return
        bad = ((target < 0) | (target >= c)) & (target != ignore_index)
        if bad.any().item():
            value = int(target.detach().cpu().numpy()[bad.cpu().numpy()][0])
            raise target_out_of_range(op, value, c, ignore_index)
    return rule


def target_out_of_range(op: str, value: int, c: int, ignore_index: int) -> IndexError:
    """The error of a class-index target ``value`` outside ``c`` classes (the value rule's,
    and that of backends that check targets on the device)."""
    if not c:
        return IndexError(f"{op}(): argument 'target' holds {value}, which is out of "
                          f"bounds: 'input' has no classes (C = 0)")
    return IndexError(f"{op}(): argument 'target' holds {value}, which is out of bounds "
                      f"for {c} classes (expected values in [0, {c - 1}] or "
                      f"ignore_index={ignore_index})")


def _within(t, c: int) -> bool:
    """Whether every element of integer tensor ``t`` lies in [0, c)."""
    return int(t.amin().item()) >= 0 and int(t.amax().item()) < c


def _masked(x, valid, cdim: int):
    """``x`` with the rows (along ``cdim``) of ignored targets replaced by zeros: a
    NaN or -inf at an ignored position must not reach any arithmetic."""
    return _E.where(valid.unsqueeze(cdim), x, 0.0)


def _nll_meta(input, target, weight=None, reduction="mean", ignore_index=-100):
    _, probs = _class_target_meta("nll_loss", input, target, weight, reduction)
    if probs:
        fail("nll_loss", f"argument 'target' must hold class indices (an integer tensor), "
                         f"got {target.dtype}")
    shape = () if reduction != "none" else tuple(target.shape)
    return Spec(shape, input.dtype)


def _class_mask(target, c: int, cdim: int):
    """Boolean (…, C, …) mask of each element's target class along ``cdim``."""
    shape = [1] * (target.ndim + 1)
    shape[cdim] = c
    classes = _E.arange(c, device=target.device).reshape(shape)
    return target.unsqueeze(cdim) == classes


def _picked(logp, target, weight, ignore_index):
    """(-logp[target] * w, w) per element; ignored elements weigh 0."""
    cdim = 1 if logp.ndim >= 2 else 0
    c = logp.shape[cdim]
    valid = target != ignore_index
    logp = _masked(logp, valid, cdim)
    mask = _class_mask(_E.where(valid, target, 0), c, cdim)
    # where(), not a product with the mask: log-probabilities may be -inf.
    picked = _E.where(mask, logp, 0.0).sum(cdim)
    w = valid.astype(logp.dtype)
    if weight is not None:
        wshape = [1] * logp.ndim
        wshape[cdim] = c
        w = w * _E.where(mask, weight.reshape(wshape), 0.0).sum(cdim)
    return -picked * w, w


def _nll_decomp(input, target, weight=None, reduction="mean", ignore_index=-100):
    loss, w = _picked(input, target, weight, ignore_index)
    if reduction == "mean":
        return loss.sum() / w.sum()
    return _reduce(loss, reduction)


nll_loss = defop("nll_loss(Tensor input, Tensor target, Tensor? weight=None, "
                 "str reduction='mean', int ignore_index=-100) -> Tensor",
                 tags=("composite",), meta=_nll_meta, decomposition=_nll_decomp,
                 values=_targets_in_range("nll_loss"),
                 doc="Negative log-likelihood of log-probabilities ``input`` (N, C, ...) "
                     "at class indices ``target``; ``mean`` divides by the total weight.")


def _ce_meta(input, target, weight=None, reduction="mean", ignore_index=-100,
             label_smoothing=0.0):
    _, probs = _class_target_meta("cross_entropy", input, target, weight, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        fail("cross_entropy", f"label_smoothing must be between 0.0 and 1.0, got "
                              f"{label_smoothing}")
    if probs:
        if tuple(target.shape) != tuple(input.shape):
            fail("cross_entropy", f"class-probability target must have the input's shape "
                                  f"{_shape(input)}, got {_shape(target)}")
        if target.dtype is not input.dtype:
            fail("cross_entropy", f"expected a probability target of dtype {input.dtype}, "
                                  f"got {target.dtype}")
    batch = (tuple(input.shape[:1]) + tuple(input.shape[2:])) if input.ndim >= 2 else ()
    return Spec(() if reduction != "none" else batch, input.dtype)


def _ce_decomp(input, target, weight=None, reduction="mean", ignore_index=-100,
               label_smoothing=0.0):
    cdim = 1 if input.ndim >= 2 else 0
    c = input.shape[cdim]
    if not target.dtype.is_floating_point:
        input = _masked(input, target != ignore_index, cdim)
    logp = log_softmax(input, cdim)
    wshape = [1] * input.ndim
    wshape[cdim] = c
    if target.dtype.is_floating_point:
        if label_smoothing > 0:
            target = target * (1.0 - label_smoothing) + label_smoothing / c
        prod = logp * target
        if weight is not None:
            prod = prod * weight.reshape(wshape)
        loss = -prod.sum(cdim)
        if reduction == "mean":
            return loss.sum() / (input.numel() // c) if input.numel() else loss.sum() * math.nan
        return _reduce(loss, reduction)
    nll, w = _picked(logp, target, weight, ignore_index)
    if reduction == "mean":
        total = w.sum()
        out = nll.sum() / total
    else:
        out = _reduce(nll, reduction)
    if label_smoothing > 0:
        lp = logp * weight.reshape(wshape) if weight is not None else logp
        smooth = -lp.sum(cdim) * (target != ignore_index).astype(input.dtype)
        smooth = smooth.sum() / total if reduction == "mean" else _reduce(smooth, reduction)
        out = out * (1.0 - label_smoothing) + smooth * (label_smoothing / c)
    return out


cross_entropy = defop(
    "cross_entropy(Tensor input, Tensor target, Tensor? weight=None, str reduction='mean', "
    "int ignore_index=-100, float label_smoothing=0.0) -> Tensor",
    tags=("composite",), meta=_ce_meta, decomposition=_ce_decomp,
    values=_targets_in_range("cross_entropy"),
    doc="Cross-entropy of logits ``input`` (N, C, ...) against class indices or class "
        "probabilities, with class ``weight``, ``ignore_index`` and ``label_smoothing``; "
        "computed through a stable log-softmax.")


def _ce_backward_meta(grad, input, target, weight=None, reduction="mean",
                      ignore_index=-100, label_smoothing=0.0):
    return Spec(tuple(input.shape), input.dtype)


def _ce_backward_decomp(grad, input, target, weight=None, reduction="mean",
                        ignore_index=-100, label_smoothing=0.0):
    # With loss_i = -sum_j d_ij logp_ij, d loss_i / d x_ik = p_ik * sum_j d_ij - d_ik.
    cdim = 1 if input.ndim >= 2 else 0
    c = input.shape[cdim]
    if not target.dtype.is_floating_point:
        input = _masked(input, target != ignore_index, cdim)
    p = softmax(input, cdim)
    wshape = [1] * input.ndim
    wshape[cdim] = c
    wc = weight.reshape(wshape) if weight is not None else None
    ls = label_smoothing
    if target.dtype.is_floating_point:
        d = target * (1.0 - ls) + ls / c if ls else target
        if wc is not None:
            d = d * wc
        denom = input.numel() // c
    else:
        valid = target != ignore_index
        mask = _class_mask(_E.where(valid, target, 0), c, cdim).astype(input.dtype)
        wt = valid.astype(input.dtype)
        if wc is not None:
            wt = wt * (mask * wc).sum(cdim)
        d = mask * wt.unsqueeze(cdim) * (1.0 - ls)
        if ls:
            d = d + valid.unsqueeze(cdim).astype(input.dtype) * (
                wc if wc is not None else 1.0) * (ls / c)
        denom = wt.sum()
    g = p * d.sum(cdim, keepdim=True) - d
    if reduction == "none":
        return g * grad.unsqueeze(cdim)
    if reduction == "mean":
        g = g / denom
        if not target.dtype.is_floating_point:
            # ignored targets' rows get no gradient, even when no target is left
            # (denom 0: PyTorch's gradient is 0 there, not 0 / 0)
            g = _E.where(valid.unsqueeze(cdim), g, 0.0)
    return g * grad


_cross_entropy_backward = defop(
    "_cross_entropy_backward(Tensor grad, Tensor input, Tensor target, Tensor? weight=None, "
    "str reduction='mean', int ignore_index=-100, float label_smoothing=0.0) -> Tensor",
    tags=("composite",), meta=_ce_backward_meta, decomposition=_ce_backward_decomp,
    method=False, doc="Gradient of ``cross_entropy`` w.r.t. its logits ``input``.")


def _bce_meta(op):
    def meta(input, target, weight=None, *rest):
        reduction = rest[-1] if rest else "mean"
        _reduction(op, reduction)
        _need_float(op, "input", input)
        if tuple(input.shape) != tuple(target.shape):
            fail(op, f"using a target size ({_shape(target)}) that is different to the "
                     f"input size ({_shape(input)}) is not supported; please make sure "
                     f"they have the same size")
        if weight is not None:
            broadcast_shapes(tuple(weight.shape), tuple(input.shape), op=op,
                             names=("weight", "input"))
        return Spec(() if reduction != "none" else tuple(input.shape), input.dtype)
    return meta


def _probabilities(op: str, *named) -> None:
    """Value rule: every element of each ``(name, tensor)`` in [0, 1] (NaN is not), as
    PyTorch checks; one read of a bool for all of them."""
    oks = [((t >= 0) & (t <= 1)).all() for _, t in named]
    ok = oks[0]
    for o in oks[1:]:
        ok = ok & o
    if not ok.item():
        name = next(n for (n, _), o in zip(named, oks, strict=True) if not o.item())
        fail(op, f"all elements of argument '{name}' should be between 0 and 1")


def _bce_values(spec, input, target, weight=None, reduction="mean"):
    _probabilities("binary_cross_entropy", ("input", input), ("target", target))


def _bce_decomp(input, target, weight=None, reduction="mean"):
    # PyTorch clamps the logs at -100 so that 0 * log(0) stays finite.
    lx = input.log().clamp_min(-100.0)
    l1x = (1.0 - input).log().clamp_min(-100.0)
    loss = -(target * lx + (1.0 - target) * l1x)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


binary_cross_entropy = defop(
    "binary_cross_entropy(Tensor input, Tensor target, Tensor? weight=None, "
    "str reduction='mean') -> Tensor",
    tags=("composite",), meta=_bce_meta("binary_cross_entropy"), decomposition=_bce_decomp,
    values=_bce_values,
    doc="Binary cross-entropy of probabilities ``input`` in [0, 1].")


def _bce_logits_decomp(input, target, weight=None, pos_weight=None, reduction="mean"):
    softplus_neg = stable_softplus(-input)  # log(1 + exp(-x))
    if pos_weight is not None:
        loss = (1.0 - target) * input + (1.0 + (pos_weight - 1.0) * target) * softplus_neg
    else:
        loss = (1.0 - target) * input + softplus_neg
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


binary_cross_entropy_with_logits = defop(
    "binary_cross_entropy_with_logits(Tensor input, Tensor target, Tensor? weight=None, "
    "Tensor? pos_weight=None, str reduction='mean') -> Tensor",
    tags=("composite",), meta=_bce_meta("binary_cross_entropy_with_logits"),
    decomposition=_bce_logits_decomp,
    doc="``binary_cross_entropy(sigmoid(input), target)`` computed stably from logits.")


# --- derivatives ---
from ..autograd.rules import derivative  # noqa: E402


def _ce_target_grad(g, input, target, weight=None, reduction="mean", ignore_index=-100,
                    label_smoothing=0.0):
    # Only probability targets are differentiable: loss = -sum_c t'_c w_c logp_c.
    cdim = 1 if input.ndim >= 2 else 0
    c = input.shape[cdim]
    d = log_softmax(input, cdim) * -(1.0 - label_smoothing)
    if weight is not None:
        wshape = [1] * input.ndim
        wshape[cdim] = c
        d = d * weight.reshape(wshape)
    if reduction == "none":
        return d * g.unsqueeze(cdim)
    if reduction == "mean":
        d = d / (input.numel() // c)
    return d * g


derivative(cross_entropy, save=("input", "target", "weight"),
           input=lambda g, input, target, weight=None, reduction="mean", ignore_index=-100,
           label_smoothing=0.0: _cross_entropy_backward(
               g, input, target, weight, reduction, ignore_index, label_smoothing),
           target=_ce_target_grad)
