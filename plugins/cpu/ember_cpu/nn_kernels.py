"""Fused numpy kernels for the composite nn ops and optimizer updates.

The core runs these ops through their decompositions on any backend; on the CPU these
kernels replace a chain of small numpy calls (and their dispatch) by one, which is
what makes a small training step fast.  Same calling convention as ``kernels``.
"""

from __future__ import annotations

import math

import numpy as np

KERNELS: dict = {}


def kernel(name):
    def deco(fn):
        KERNELS[name] = fn
        return fn
    return deco


_ndarray = np.ndarray


def _arr(x):
    return x if x.__class__ is _ndarray else np.asarray(x)


# --- activations and softmax ---------------------------------------------------------------

@kernel("relu")
def relu(a):
    return _arr(np.maximum(a, 0))


def _log_softmax(x, axis):
    m = np.max(x, axis=axis, keepdims=True)
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

@kernel("linear")
def linear(x, w, b):
    out = np.matmul(x, w.T) if w.ndim == 2 else np.matmul(x, w)
    if b is not None:
        out = out + b if out.ndim == 0 else np.add(out, b, out=out)
    return _arr(out)


@kernel("_linear_backward")
def linear_backward(grad, x, w):
    if w.ndim == 1:
        g = grad[..., None]
        return _arr(g * w), (g * x).reshape(-1, w.shape[0]).sum(0), _arr(grad.sum())
    g2 = grad.reshape(-1, w.shape[0])
    return (_arr(np.matmul(grad, w)), np.matmul(g2.T, x.reshape(-1, w.shape[1])),
            g2.sum(0))


# --- cross-entropy ---------------------------------------------------------------------------

def _rows(x, target):
    """(M, C) logits and (M,) / (M, C) targets with the class dim last."""
    if x.ndim == 1:
        return x[None], target.reshape(1, -1) if target.ndim == 1 else target.reshape(1)
    c = x.shape[1]
    xr = np.moveaxis(x, 1, -1).reshape(-1, c)
    if target.dtype.kind == "f":
        return xr, np.moveaxis(target, 1, -1).reshape(-1, c)
    return xr, target.reshape(-1)


def _check_targets(t, c, ignore_index):
    bad = (t != ignore_index) & ((t < 0) | (t >= c))
    if bad.any():
        raise IndexError(f"cross_entropy(): target {int(t[bad][0])} is out of bounds for "
                         f"{c} classes")


def _ce_coefficients(x2, t2, weight, ignore_index, ls):
    """``d`` (M, C) with loss_i = -sum_j d_ij logp_ij, and the mean's denominator."""
    m, c = x2.shape
    wc = weight if weight is not None else None
    if t2.dtype.kind == "f":
        d = t2 * (1.0 - ls) + ls / c if ls else t2
        if wc is not None:
            d = d * wc
        return d, float(m), None
    _check_targets(t2, c, ignore_index)
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


@kernel("cross_entropy")
def cross_entropy(x, target, weight, reduction, ignore_index, label_smoothing):
    batch = x.shape[:1] + x.shape[2:] if x.ndim >= 2 else ()
    x2, t2 = _rows(x, target)
    if x2.size == 0 and reduction != "none":
        return np.asarray(np.nan if reduction == "mean" else 0.0, dtype=x.dtype)
    logp = _log_softmax(x2, 1)
    d, denom, _ = _ce_coefficients(x2, t2, weight, ignore_index, label_smoothing)
    loss = -np.einsum("ij,ij->i", d, logp) if d.shape[0] > 1 else -(d * logp).sum(1)
    if reduction == "none":
        return _arr(loss.reshape(batch).astype(x.dtype, copy=False))
    total = loss.sum(dtype=x.dtype)
    if reduction == "mean":
        with np.errstate(invalid="ignore", divide="ignore"):
            total = total / x.dtype.type(denom)
    return np.asarray(total, dtype=x.dtype)


@kernel("_cross_entropy_backward")
def cross_entropy_backward(grad, x, target, weight, reduction, ignore_index, label_smoothing):
    x2, t2 = _rows(x, target)
    e = np.exp(x2 - x2.max(1, keepdims=True))
    p = e / e.sum(1, keepdims=True)
    d, denom, _ = _ce_coefficients(x2, t2, weight, ignore_index, label_smoothing)
    g = p * d.sum(1, keepdims=True) - d
    if reduction == "none":
        g *= grad.reshape(-1, 1)
    else:
        scale = grad / denom if reduction == "mean" else grad
        g *= scale
    if x.ndim == 1:
        return _arr(g.reshape(x.shape).astype(x.dtype, copy=False))
    shape = (x.shape[0],) + x.shape[2:] + (x.shape[1],)
    return _arr(np.moveaxis(g.reshape(shape), -1, 1).astype(x.dtype, copy=False))


# --- fused optimizer updates -------------------------------------------------------------------

@kernel("_sgd_update_")
def sgd_update_(params, grads, bufs, lr, momentum, dampening, weight_decay, nesterov,
                maximize, init_buffers):
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
        denom = np.sqrt(v)
        denom /= bc2_sqrt
        denom += eps
        np.divide(m, denom, out=denom)
        denom *= step_size
        p -= denom


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
