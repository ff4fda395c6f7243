"""Fused numpy kernels for the composite nn ops and optimizer updates.

The core runs these ops through their decompositions on any backend; on the CPU these
kernels replace a chain of small numpy calls (and their dispatch) by one, which is
what makes a small training step fast.  Same calling convention as ``kernels``.
"""

from __future__ import annotations

import math

import numpy as np

from . import workers
from .registry import registry

KERNELS, kernel = registry()


_ndarray = np.ndarray


def _arr(x):
    return x if x.__class__ is _ndarray else np.asarray(x)


# --- activations and softmax ---------------------------------------------------------------

@kernel("relu")
def relu(a):
    if a.size >= 4096 and a.dtype.kind == "f" and a.itemsize >= 4:
        # np.maximum's NaN-aware loop takes 4x a copy on big arrays; the same numbers
        # (its float16 loop keeps -0.0, so float16 stays with it)
        return _arr(_keep(a, np.less_equal(a, a.dtype.type(0)), drop=True))
    # (False: a weak Python scalar keeps every dtype, bool included, and costs no numpy
    # scalar per call; _arr inline: this runs per call of a small op)
    r = _maximum(a, False)
    return r if r.__class__ is _ndarray else np.asarray(r)


_maximum = np.maximum


def _log_softmax(x, axis):
    m = np.asarray(np.max(x, axis=axis, keepdims=True))
    m[~np.isfinite(m)] = 0  # rows of -inf / inf: let exp() produce the NaN/-inf itself
    s = x - m
    return s - np.log(np.sum(np.exp(s), axis=axis, keepdims=True))


@kernel("log_softmax")
def log_softmax(x, dim, dtype):
    x = x.astype(dtype.np, copy=False)
    if x.size == 0:
        return x.copy()
    return _arr(_log_softmax(x, dim if x.ndim else None))


@kernel("softmax")
def softmax(x, dim, dtype):
    x = x.astype(dtype.np, copy=False)
    if x.size == 0:
        return x.copy()
    axis = dim if x.ndim else None
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    e /= np.sum(e, axis=axis, keepdims=True)
    return _arr(e)


# --- linear ---------------------------------------------------------------------------------

def _macs(x, w) -> int:
    """The multiply-adds of one BLAS call of ``x @ w^T`` (rows of ``x`` times ``w``)."""
    return (x.size // max(1, x.shape[-1])) * w.size if x.ndim else w.size


@kernel("linear")
def linear(x, w, b):
    out = workers.product(np.matmul, _macs(x, w), x, w.T if w.ndim == 2 else w)
    if out.__class__ is not _ndarray:  # 1-D by 1-D: a numpy scalar
        out = np.asarray(out if b is None else out + b)
    elif b is not None:
        np.add(out, b, out=out)
    # (numpy computes bfloat16 in float32; no astype call when the dtype is right)
    return out if out.dtype == x.dtype else out.astype(x.dtype)


# --- cross-entropy ---------------------------------------------------------------------------

def _is_index(target) -> bool:
    """Class indices (integers), not class probabilities (floats; bfloat16 is kind 'V')."""
    return target.dtype.kind in "iu"


def _rows(x, target):
    """(M, C) logits and (M,) / (M, C) targets with the class dim last."""
    if x.ndim == 1:
        return x[None], target.reshape(1, -1) if target.ndim == 1 else target.reshape(1)
    c = x.shape[1]
    xr = np.moveaxis(x, 1, -1).reshape(-1, c)
    if not _is_index(target):
        return xr, np.moveaxis(target, 1, -1).reshape(-1, c)
    return xr, target.reshape(-1)


def _ce_coefficients(x2, t2, weight, ignore_index, ls):
    """``d`` (M, C) with loss_i = -sum_j d_ij logp_ij, the mean's denominator, and the
    rows whose target is not ignored (``None`` for probability targets).  The targets
    are in range: the op's value rule checked them before this kernel ran."""
    m, c = x2.shape
    wc = weight if weight is not None else None
    if not _is_index(t2):
        d = t2 * (1.0 - ls) + ls / c if ls else t2
        if wc is not None:
            d = d * wc
        return d, float(m), None
    valid = t2 != ignore_index
    safe = np.where(valid, t2, 0)
    wt = valid.astype(x2.dtype)
    if wc is not None:
        wt *= wc[safe]
    d = np.zeros_like(x2)
    d[np.arange(m), safe] = wt * (1.0 - ls)
    if ls:
        d += (valid[:, None] * (wc if wc is not None else 1.0)) * (ls / c)
    return d, wt.sum(), valid


def _masked(x2, valid):
    """Logit rows of ignored targets as zeros, before any arithmetic reads them (a
    padded position's logits may be -inf or NaN; its loss and gradient are 0)."""
    if valid is None or valid.all():
        return x2
    return np.where(valid[:, None], x2, x2.dtype.type(0))


_ARANGE: dict = {}
# The ufuncs' reduce directly: ndarray.max()/min()/sum() go through numpy's Python
# wrappers, which cost more than the reduction of a small batch's logits.
_max, _min, _sum = np.maximum.reduce, np.minimum.reduce, np.add.reduce


def _rows_index(n: int) -> np.ndarray:
    r = _ARANGE.get(n)
    if r is None:
        r = _ARANGE[n] = np.arange(n)
    return r


def _simple_ce(x, target, weight, ignore_index, label_smoothing) -> bool:
    """The common case: 2-D float logits, class indices, no class weights, no smoothing,
    at least one class, an ``ignore_index`` outside the classes and no negative target
    (so no target is ignored: the general path masks ignored rows).  The op's value rule
    has checked that every target is a class.

    Few numpy calls matter more than vectorised work here: a small batch's logits are
    a few hundred elements, and each call costs microseconds."""
    return (x.ndim == 2 and weight is None and not label_smoothing
            and target.dtype.kind in "iu" and x.shape[0] != 0 and x.shape[1] != 0
            and x.dtype.kind == "f"
            and not 0 <= ignore_index < x.shape[1] and _min(target) >= 0
            # an ignore_index past the classes may be a target (the value rule let it)
            and (ignore_index < 0 or _max(target) < x.shape[1]))


def _shifted_exp(x):
    """``exp(x - rowmax)`` of 2-D logits (a new array)."""
    e = x - _max(x, 1, keepdims=True)
    return np.exp(e, out=e)


def simple_ce_loss(x, target, reduction):
    """The loss on the common path (``_simple_ce``), and ``exp(x - rowmax)``, which
    its gradient reuses (``simple_ce_grad``; the CPU graph executor hands it from the
    forward to the backward).  ``(None, e)`` when some row's maximum is not finite:
    the general path decides then."""
    s = x - _max(x, 1, keepdims=True)
    picked = s[_rows_index(x.shape[0]), target]
    e = np.exp(s, out=s)
    loss = np.log(_sum(e, 1))
    loss -= picked
    if reduction == "none":
        # A row with a non-finite maximum has NaN here; the general path treats
        # +-inf logits exactly.
        return (None if np.isnan(loss).any() else loss), e
    total = _sum(loss)
    # NaN if and only if some row's maximum was not finite (the loss is otherwise >= 0
    # or +inf): then the general path decides.
    if total != total:
        return None, e
    return np.asarray(total / x.shape[0] if reduction == "mean" else total, x.dtype), e


def simple_ce_grad(grad, e, target, reduction):
    """The gradient on the common path from ``e = exp(x - rowmax)`` (overwritten):
    softmax(x) * scale - onehot(target) * scale; rows with a non-finite maximum come
    out NaN, as on the general path."""
    if reduction == "none":
        scale, hot = grad[:, None], grad
    else:
        scale = hot = grad / e.shape[0] if reduction == "mean" else grad
    e *= scale / _sum(e, 1, keepdims=True)
    e[_rows_index(e.shape[0]), target] -= hot
    return e


@kernel("cross_entropy")
def cross_entropy(x, target, weight, reduction, ignore_index, label_smoothing):
    if _simple_ce(x, target, weight, ignore_index, label_smoothing):
        loss, _ = simple_ce_loss(x, target, reduction)
        if loss is not None:
            return loss
    batch = x.shape[:1] + x.shape[2:] if x.ndim >= 2 else ()
    if x.size == 0:  # no rows, or no classes (then every target is ignored)
        if reduction == "none":
            return np.zeros(batch, dtype=x.dtype)
        return np.asarray(np.nan if reduction == "mean" else 0.0, dtype=x.dtype)
    x2, t2 = _rows(x, target)
    d, denom, valid = _ce_coefficients(x2, t2, weight, ignore_index, label_smoothing)
    logp = _log_softmax(_masked(x2, valid), 1)
    prod = d * logp
    if valid is not None:
        # A class index picks its log-probability: a -inf logit (a masked class) of
        # another class must not turn 0 * -inf into NaN.
        prod[(d == 0) & np.isneginf(logp)] = 0
    loss = -prod.sum(1)
    if reduction == "none":
        return _arr(loss.reshape(batch).astype(x.dtype, copy=False))
    total = loss.sum(dtype=x.dtype)
    if reduction == "mean":
        # no weight at all (every target ignored or of weight 0): NaN, as PyTorch's
        # 0 / 0 of the picked part, whatever the smoothing part adds
        total = total / x.dtype.type(denom) if denom else x.dtype.type(np.nan)
    return np.asarray(total, dtype=x.dtype)


@kernel("_cross_entropy_backward")
def cross_entropy_backward(grad, x, target, weight, reduction, ignore_index, label_smoothing):
    if _simple_ce(x, target, weight, ignore_index, label_smoothing):
        return simple_ce_grad(grad, _shifted_exp(x), target, reduction)
    if x.size == 0:
        return np.zeros_like(x)
    x2, t2 = _rows(x, target)
    d, denom, valid = _ce_coefficients(x2, t2, weight, ignore_index, label_smoothing)
    x2 = _masked(x2, valid)
    e = np.exp(x2 - x2.max(1, keepdims=True))
    p = e / e.sum(1, keepdims=True)
    g = p * d.sum(1, keepdims=True) - d
    if reduction == "none":
        g *= grad.reshape(-1, 1)
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            scale = grad / denom if reduction == "mean" else grad
            g *= scale
    if valid is not None and not valid.all():
        # ignored targets' rows get no gradient, even when no target is left (denom
        # 0: PyTorch's gradient is 0 there, not 0 * inf)
        g[~valid] = 0
    if x.ndim == 1:
        return _arr(g.reshape(x.shape).astype(x.dtype, copy=False))
    shape = (x.shape[0],) + x.shape[2:] + (x.shape[1],)
    return _arr(np.moveaxis(g.reshape(shape), -1, 1).astype(x.dtype, copy=False))


# --- fused optimizer updates -------------------------------------------------------------------

@kernel("_sgd_update_")
def sgd_update_(params, grads, bufs, lr, momentum, dampening, weight_decay, nesterov,
                maximize, init_buffers):
    if momentum and not (init_buffers or dampening or weight_decay or nesterov or maximize):
        # The common step with momentum, without the per-parameter option tests below.
        for p, d, buf in zip(params, grads, bufs, strict=True):
            buf *= momentum
            buf += d
            p -= lr * buf
        return
    for i, p in enumerate(params):
        d = grads[i]
        if maximize:
            d = -d
        if weight_decay:
            d = d + weight_decay * p
        if momentum:
            buf = bufs[i]
            if init_buffers:
                np.copyto(buf, d)
            else:
                buf *= momentum
                buf += d if dampening == 0 else (1.0 - dampening) * d
            d = d + momentum * buf if nesterov else buf
        if d is grads[i] or (momentum and d is buf):
            p -= lr * d
        else:  # d is a temporary of ours: scale it in place
            d *= lr
            p -= d


@kernel("_adam_update_")
def adam_update_(params, grads, exp_avgs, exp_avg_sqs, max_sqs, steps, lr, beta1, beta2,
                 eps, weight_decay, amsgrad, decoupled, maximize):
    for i, p in enumerate(params):
        g = grads[i]
        if maximize:
            g = -g
        if weight_decay:
            if decoupled:
                p *= 1.0 - lr * weight_decay
            else:
                g = g + weight_decay * p
        m, v = exp_avgs[i], exp_avg_sqs[i]
        m *= beta1
        m += (1.0 - beta1) * g
        v *= beta2
        v += (1.0 - beta2) * (g * g)
        step = steps[i]
        step_size = lr / (1.0 - beta1 ** step)
        bc2_sqrt = math.sqrt(1.0 - beta2 ** step)
        if amsgrad:
            np.maximum(max_sqs[i], v, out=max_sqs[i])
            v = max_sqs[i]
        denom = np.sqrt(v, out=np.empty_like(v))  # (out=: 0-d stays an array)
        denom /= bc2_sqrt
        denom += eps
        np.divide(m, denom, out=denom)
        denom *= step_size
        p -= denom


@kernel("_amp_foreach_non_finite_check_and_unscale_")
def amp_non_finite_check_and_unscale_(grads, found_inf, inv_scale):
    inv = inv_scale.reshape(())
    for g in grads:
        if not np.isfinite(g).all():
            found_inf[...] = 1.0
        if g.dtype.itemsize < 4:  # float16/bfloat16: multiply in float32, round once
            g[...] = g.astype(np.float32) * inv
        else:
            g *= inv


@kernel("_rmsprop_update_")
def rmsprop_update_(params, grads, square_avgs, grad_avgs, bufs, lr, alpha, eps,
                    weight_decay, momentum, centered, maximize):
    for i, p in enumerate(params):
        g = grads[i]
        if maximize:
            g = -g
        if weight_decay:
            g = g + weight_decay * p
        sq = square_avgs[i]
        sq *= alpha
        sq += (1.0 - alpha) * (g * g)
        if centered:
            ga = grad_avgs[i]
            ga *= alpha
            ga += (1.0 - alpha) * g
            avg = np.sqrt(sq - ga * ga)
        else:
            avg = np.sqrt(sq)
        avg += eps
        if momentum:
            buf = bufs[i]
            buf *= momentum
            buf += g / avg
            p -= lr * buf
        else:
            p -= lr * (g / avg)


# --- backward helpers -----------------------------------------------------------------------

@kernel("_linear_weight_grad")
def linear_weight_grad(grad, x):
    g2, x2 = grad.reshape(-1, grad.shape[-1]), x.reshape(-1, x.shape[-1])
    return _arr(workers.product(np.matmul, g2.size * x2.shape[-1], g2.T, x2)).astype(
        x.dtype, copy=False)


_EMPTY = {}


@kernel("_linear_backward")
def linear_backward(grad, x, w, need_input, need_weight, need_bias):
    dt = grad.dtype
    none = _EMPTY.get(dt)
    if none is None:
        none = _EMPTY[dt] = np.empty(0, dt)
    # (2-D operands, the common case, skip the reshapes; astype only where numpy's
    # result dtype differs, as for bfloat16)
    g2 = grad if grad.ndim == 2 else grad.reshape(-1, grad.shape[-1])
    if need_input:
        gi = workers.product(np.matmul, grad.size * w.shape[-1], grad, w)
        gi = gi if gi.dtype == dt else _arr(gi).astype(dt)
    else:
        gi = none.copy()
    if need_weight:
        x2 = x if x.ndim == 2 else x.reshape(-1, x.shape[-1])
        gw = workers.product(np.matmul, g2.size * x2.shape[-1], g2.T, x2)
        gw = gw if gw.dtype == dt else gw.astype(dt)
    else:
        gw = none.copy()
    if need_bias:
        gb = np.add.reduce(g2, 0)
        gb = gb if gb.dtype == dt else gb.astype(dt)
    else:
        gb = none.copy()
    return gi, gw, gb


_BITS = {2: np.dtype(np.int16), 4: np.dtype(np.int32), 8: np.dtype(np.int64)}


def _keep(values, mask, drop=False):
    """``values`` where ``mask`` (where not ``mask`` with ``drop``), else 0 (NaN
    included), without branches: ``np.where`` with an irregular mask mispredicts per
    element and was 20x slower here than this bitwise AND of the values' bits with an
    all-ones/all-zeros mask."""
    bits = _BITS.get(values.dtype.itemsize)
    if bits is None or values.dtype.kind == "b":
        zero = values.dtype.type(0)
        return np.where(mask, zero, values) if drop else np.where(mask, values, zero)
    # True -> -1 (all ones) to keep; with drop, True -> 0 and False -> -1 (a bool -> int
    # cast, then in place: 2x faster than one ufunc call with dtype=, which buffers)
    m = np.asarray(mask).view(np.int8).astype(bits)
    if drop:
        m -= 1
    else:
        np.negative(m, out=m)
    if m.shape == values.shape and m.ndim:  # the AND can write into the mask's array
        np.bitwise_and(values.view(bits), m, out=m)
        return m.view(values.dtype)
    return (values.view(bits) & m).view(values.dtype)


@kernel("threshold_backward")
def threshold_backward(grad, x, threshold):
    # (a view to same-sized integers works for any strides: no contiguous copy needed)
    # zero where x <= threshold, as PyTorch: a NaN input passes its gradient through
    return _arr(_keep(grad, np.less_equal(x, threshold), drop=True))
