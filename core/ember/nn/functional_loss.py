"""The losses of ``ember.nn.functional`` beyond the fused ops (smooth L1/Huber, KL
divergence, margin and embedding losses, Poisson/Gaussian NLL, multi-label and
multi-class margins, triplet), with PyTorch's signatures, reductions and broadcasting.

Each is a composition of ember ops, so autograd and every backend come for free.
"""

from __future__ import annotations

import math
import warnings

from .. import ops as _ops
from ..errors import OpError
from ..tensor import Tensor
from ..torch_functions.shapes import broadcast_tensors
from .functional_activation import _stable_softplus, logsigmoid
from .functional_distance import pairwise_distance

__all__ = ["smooth_l1_loss", "huber_loss", "kl_div", "margin_ranking_loss",
           "hinge_embedding_loss", "soft_margin_loss", "cosine_embedding_loss",
           "poisson_nll_loss", "gaussian_nll_loss", "multilabel_soft_margin_loss",
           "multi_margin_loss", "triplet_margin_loss"]

_REDUCTIONS = ("mean", "sum", "none")


def _legacy(fn: str, size_average, reduce, reduction: str) -> str:
    from .functional import _legacy_reduction  # one rule for the deprecated pair
    return _legacy_reduction(fn, size_average, reduce, reduction)


def _check_reduction(fn: str, reduction: str, allowed=_REDUCTIONS) -> None:
    if reduction not in allowed:
        choices = ", ".join(repr(r) for r in allowed)
        raise ValueError(f"{fn}(): {reduction!r} is not a valid value for reduction, "
                         f"expected one of {choices}")


def _reduce(fn: str, loss: Tensor, reduction: str) -> Tensor:
    _check_reduction(fn, reduction)
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _broadcast_target(fn: str, input: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    """PyTorch's rule for pointwise regression losses: a target of another size is
    broadcast against the input, with a warning (it is usually a bug)."""
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(f"{fn}(): using a target size ({list(target.shape)}) that is "
                      f"different to the input size ({list(input.shape)}). This will "
                      f"likely lead to incorrect results due to broadcasting. Please "
                      f"ensure they have the same size.", UserWarning, stacklevel=3)
        try:
            input, target = broadcast_tensors(input, target)
        except OpError:
            raise OpError(f"{fn}(): the size of input {list(input.shape)} and target "
                          f"{list(target.shape)} do not broadcast") from None
    return input, target


def _smooth_l1(input: Tensor, target: Tensor, beta: float) -> Tensor:
    diff = input - target
    ad = diff.abs()
    if beta == 0:  # the quadratic zone vanishes: plain L1 (and no division by zero)
        return ad
    return _ops.where(ad < beta, diff * diff * (0.5 / beta), ad - 0.5 * beta)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """``0.5 * d**2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 * beta``
    (``d = input - target``)."""
    reduction = _legacy("smooth_l1_loss", size_average, reduce, reduction)
    _check_reduction("smooth_l1_loss", reduction)
    if beta < 0:
        raise ValueError(f"smooth_l1_loss(): argument 'beta' must be non-negative, got "
                         f"{beta}")
    input, target = _broadcast_target("smooth_l1_loss", input, target)
    return _reduce("smooth_l1_loss", _smooth_l1(input, target, beta), reduction)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    """``0.5 * d**2`` where ``|d| < delta``, else ``delta * (|d| - 0.5 * delta)``;
    optionally times an element-wise ``weight`` of the input's size."""
    _check_reduction("huber_loss", reduction)
    if delta <= 0:
        raise ValueError(f"huber_loss(): argument 'delta' must be positive, got {delta}")
    input, target = _broadcast_target("huber_loss", input, target)
    loss = _smooth_l1(input, target, delta) * delta
    if weight is not None:
        if tuple(weight.shape) != tuple(input.shape):
            raise ValueError(f"huber_loss(): weight of size {list(weight.shape)} and input "
                             f"of size {list(input.shape)} must have the same size")
        loss = loss * weight
    return _reduce("huber_loss", loss, reduction)


def kl_div(input: Tensor, target: Tensor, size_average=None, reduce=None,
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    """Pointwise KL divergence ``target * (log(target) - input)`` of log-probabilities
    ``input`` (``target`` as log-probabilities with ``log_target``); ``'batchmean'``
    divides the sum by the batch size (the mathematically correct KL)."""
    reduction = _legacy("kl_div", size_average, reduce, reduction)
    _check_reduction("kl_div", reduction, _REDUCTIONS + ("batchmean",))
    if reduction == "mean":
        warnings.warn("kl_div(): reduction 'mean' divides the total loss by both the batch "
                      "size and the support size; 'batchmean' divides only by the batch "
                      "size and aligns with the KL math definition. 'mean' will be changed "
                      "to behave the same as 'batchmean' in the next major release.",
                      UserWarning, stacklevel=2)
    if log_target:
        loss = _ops.exp(target) * (target - input)
    else:  # xlogy: a zero target contributes 0, not 0 * log(0) = NaN
        loss = _ops.xlogy(target, target) - target * input
    if reduction == "batchmean":
        total = loss.sum()
        return total / input.shape[0] if input.ndim else total
    return _reduce("kl_div", loss, reduction)


def _same_ndim(fn: str, **tensors: Tensor) -> None:
    if len({t.ndim for t in tensors.values()}) > 1:
        dims = ", ".join(f"{k} {list(t.shape)}" for k, t in tensors.items())
        raise OpError(f"{fn}(): all input tensors should have the same number of "
                      f"dimensions, got {dims}")


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                        size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """``max(0, -target * (input1 - input2) + margin)``."""
    reduction = _legacy("margin_ranking_loss", size_average, reduce, reduction)
    _check_reduction("margin_ranking_loss", reduction)
    _same_ndim("margin_ranking_loss", input1=input1, input2=input2, target=target)
    loss = _ops.clamp_min(-target * (input1 - input2) + margin, 0.0)
    return _reduce("margin_ranking_loss", loss, reduction)


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0,
                         size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """``input`` where ``target == 1``, ``max(0, margin - input)`` where ``target ==
    -1``."""
    reduction = _legacy("hinge_embedding_loss", size_average, reduce, reduction)
    _check_reduction("hinge_embedding_loss", reduction)
    zero = _ops.zeros_like(input)
    below = _ops.where(target != 1, _ops.clamp_min(margin - input, 0.0), zero)
    own = _ops.where(target != -1, input, zero)
    return _reduce("hinge_embedding_loss", below + own, reduction)


def soft_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                     reduction: str = "mean") -> Tensor:
    """``log(1 + exp(-target * input))``, computed without overflow."""
    reduction = _legacy("soft_margin_loss", size_average, reduce, reduction)
    _check_reduction("soft_margin_loss", reduction)
    return _reduce("soft_margin_loss", _stable_softplus(-target * input), reduction)


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                          size_average=None, reduce=None,
                          reduction: str = "mean") -> Tensor:
    """``1 - cos(x1, x2)`` where ``target == 1``, ``max(0, cos(x1, x2) - margin)`` where
    ``target == -1`` (cosine along the last dim of 1-d or 2-d inputs)."""
    reduction = _legacy("cosine_embedding_loss", size_average, reduce, reduction)
    _check_reduction("cosine_embedding_loss", reduction)
    if target.ndim not in (0, 1) or target.ndim + 1 != input1.ndim or \
            input1.ndim != input2.ndim:
        raise OpError(f"cosine_embedding_loss(): a {target.ndim}-d target expects "
                      f"{target.ndim + 1}-d inputs (a 0-d target 1-d inputs, a 1-d target "
                      f"2-d inputs), got input1 {list(input1.shape)}, input2 "
                      f"{list(input2.shape)}, target {list(target.shape)}")
    eps = 1e-12  # PyTorch's: keeps a zero vector's cosine finite
    dot = (input1 * input2).sum(-1)
    mag = ((input1 * input1).sum(-1) + eps) * ((input2 * input2).sum(-1) + eps)
    cos = dot / _ops.sqrt(mag)
    zero = _ops.zeros_like(cos)
    loss = (_ops.where(target == 1, 1 - cos, zero)
            + _ops.where(target == -1, _ops.clamp_min(cos - margin, 0.0), zero))
    return _reduce("cosine_embedding_loss", loss, reduction)


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True,
                     full: bool = False, size_average=None, eps: float = 1e-8, reduce=None,
                     reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of ``target ~ Poisson(rate)``: ``exp(input) - target *
    input`` with ``log_input``, else ``input - target * log(input + eps)``; ``full`` adds
    Stirling's approximation of ``log(target!)`` (for targets above 1)."""
    reduction = _legacy("poisson_nll_loss", size_average, reduce, reduction)
    _check_reduction("poisson_nll_loss", reduction)
    if log_input:
        loss = _ops.exp(input) - target * input
    else:
        loss = input - target * _ops.log(input + eps)
    if full:
        # log(0) in the masked entries is never used: where selects the zero there
        safe = _ops.where(target > 1, target, _ops.ones_like(target))
        stirling = safe * _ops.log(safe) - safe + 0.5 * _ops.log(2 * math.pi * safe)
        loss = loss + _ops.where(target > 1, stirling, _ops.zeros_like(stirling))
    return _reduce("poisson_nll_loss", loss, reduction)


def gaussian_nll_loss(input: Tensor, target: Tensor, var: Tensor | float, full: bool = False,
                      eps: float = 1e-6, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of ``target ~ N(input, var)``: ``0.5 * (log(var) +
    (input - target)**2 / var)``.  ``var`` may be a float, the input's shape, that shape
    without its last dim, or one with a single dim of size 1 (shared variance)."""
    if isinstance(var, (int, float)):
        if var < 0:
            raise ValueError("gaussian_nll_loss(): var has negative entry/entries")
        var = _ops.full_like(input, float(var))
    elif bool((var < 0).any()):
        raise ValueError("gaussian_nll_loss(): var has negative entry/entries")
    vs, xs = tuple(var.shape), tuple(input.shape)
    if vs != xs:
        if xs[:-1] == vs:
            var = var.unsqueeze(-1)
        elif not (len(xs) == len(vs)
                  and sum(v for x, v in zip(xs, vs, strict=True) if x != v) == 1):
            raise ValueError(f"gaussian_nll_loss(): var is of incorrect size "
                             f"{list(vs)} for input of size {list(xs)}")
    _check_reduction("gaussian_nll_loss", reduction)
    # Clamped for stability, with the gradient of the unclamped var (as PyTorch, which
    # clamps a clone in place under no_grad).
    var = var + (_ops.clamp_min(var, eps) - var).detach()
    diff = input - target
    loss = 0.5 * (_ops.log(var) + diff * diff / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce("gaussian_nll_loss", loss, reduction)


def multilabel_soft_margin_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                size_average=None, reduce=None,
                                reduction: str = "mean") -> Tensor:
    """Per-class binary cross-entropy of logits ``input`` against 0/1 ``target``,
    averaged over the classes (the last dim)."""
    reduction = _legacy("multilabel_soft_margin_loss", size_average, reduce, reduction)
    _check_reduction("multilabel_soft_margin_loss", reduction)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    classes = input.shape[-1] if input.ndim else 1
    loss = loss.sum(-1) / classes if input.ndim else loss
    return _reduce("multilabel_soft_margin_loss", loss, reduction)


def multi_margin_loss(input: Tensor, target: Tensor, p: int = 1, margin: float = 1.0,
                      weight: Tensor | None = None, size_average=None, reduce=None,
                      reduction: str = "mean") -> Tensor:
    """Multi-class hinge loss: ``sum_{j != y} max(0, margin - x[y] + x[j])**p / C`` for
    each row ``x`` of ``input`` (N, C) or (C,) and class ``y``, times ``weight[y]``."""
    reduction = _legacy("multi_margin_loss", size_average, reduce, reduction)
    _check_reduction("multi_margin_loss", reduction)
    if p not in (1, 2):
        raise ValueError(f"multi_margin_loss(): only p == 1 and p == 2 are supported, got "
                         f"{p}")
    if input.ndim not in (1, 2) or input.ndim - 1 != target.ndim:
        raise OpError(f"multi_margin_loss(): expected input (N, C) with target (N,) or "
                      f"input (C,) with a 0-d target, got input {list(input.shape)} and "
                      f"target {list(target.shape)}")
    x = input if input.ndim == 2 else input.unsqueeze(0)
    y = target.reshape(-1).long()
    n, classes = x.shape
    if y.shape[0] != n:
        raise OpError(f"multi_margin_loss(): input batch size {n} and target size "
                      f"{y.shape[0]} differ")
    if n and (bool((y < 0).any()) or bool((y >= classes).any())):
        raise IndexError(f"multi_margin_loss(): target out of range for {classes} classes")
    if weight is not None and (weight.ndim != 1 or weight.shape[0] != classes):
        raise OpError(f"multi_margin_loss(): weight must be 1-d of size {classes}, got "
                      f"{list(weight.shape)}")
    col = y.unsqueeze(1)
    z = _ops.clamp_min(x - _ops.gather(x, 1, col) + margin, 0.0)
    if p == 2:
        z = z * z
    if weight is not None:
        z = z * _ops.gather(weight, 0, y).unsqueeze(1)
    own = _ops.arange(classes, device=x.device).unsqueeze(0) == col
    loss = _ops.where(own, _ops.zeros_like(z), z).sum(1) / classes
    if input.ndim == 1:
        loss = loss.reshape(())
    return _reduce("multi_margin_loss", loss, reduction)


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor,
                        margin: float = 1.0, p: float = 2, eps: float = 1e-6,
                        swap: bool = False, size_average=None, reduce=None,
                        reduction: str = "mean") -> Tensor:
    """``max(0, d(a, p) - d(a, n) + margin)`` with ``d`` the ``p``-norm pairwise
    distance; ``swap`` uses ``min(d(a, n), d(p, n))`` as the negative distance."""
    reduction = _legacy("triplet_margin_loss", size_average, reduce, reduction)
    _check_reduction("triplet_margin_loss", reduction)
    _same_ndim("triplet_margin_loss", anchor=anchor, positive=positive, negative=negative)
    if margin <= 0:
        raise ValueError(f"triplet_margin_loss(): margin must be greater than 0, got "
                         f"{margin}")
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = _ops.minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    loss = _ops.clamp_min(d_pos - d_neg + margin, 0.0)
    return _reduce("triplet_margin_loss", loss, reduction)
