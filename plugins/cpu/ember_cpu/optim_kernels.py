"""Multi-tensor numpy kernels for the adaptive-rate optimizers' updates
(``ember.ops.optim_adaptive``): Adagrad, Adamax, NAdam, RAdam, Adadelta and Rprop.

One dispatch per parameter group instead of five to twelve ops per parameter.  Each
kernel runs the numpy operations of its op's decomposition in the same order, with the
same Python-number operands (so the same float32 roundings): ``foreach=False`` (the
decomposition) and these give identical parameters.  Same calling convention as
``kernels``.
"""

from __future__ import annotations

import numpy as np

from ember.ops.optim_adaptive import nadam_momentum, radam_terms

from .kernels import sign as _sign  # (sign(nan) is 0, as PyTorch's)

KERNELS: dict = {}


def kernel(name):
    def deco(fn):
        KERNELS[name] = fn
        return fn
    return deco


def _1d(*arrays):
    """0-d arrays as 1-element views (numpy turns 0-d results into scalars, which
    ``out=`` and in-place updates refuse)."""
    return tuple(a[None] for a in arrays)


def _direction(p, g, lr, weight_decay, maximize, decoupled=False):
    """``ember.ops.optim_adaptive.direction`` on arrays."""
    if maximize:
        g = -g
    if weight_decay:
        if decoupled:
            p *= 1 - lr * weight_decay
        else:
            g = g + p * weight_decay
    return g


def _lerp_(a, end, weight):
    """``a.lerp_(end, weight)`` as the core's decomposition: ``a + weight * (end - a)``."""
    d = end - a
    d *= weight
    a += d


def _addcdiv_(a, t1, t2, value):
    """``a.addcdiv_(t1, t2, value=value)``: ``a + (t1 / t2) * value``."""
    d = t1 / t2
    d *= value
    a += d


@kernel("_adagrad_update_")
def adagrad_update_(params, grads, sums, steps, lr, lr_decay, weight_decay, eps, maximize):
    for p, g, s, step in zip(params, grads, sums, steps, strict=True):
        if p.ndim == 0:
            p, g, s = _1d(p, g, s)
        g = _direction(p, g, lr, weight_decay, maximize)
        s += g * g
        std = np.sqrt(s)
        std += eps
        _addcdiv_(p, g, std, -lr / (1 + (step - 1) * lr_decay))


@kernel("_adamax_update_")
def adamax_update_(params, grads, exp_avgs, exp_infs, steps, lr, beta1, beta2, eps,
                   weight_decay, maximize):
    for p, g, m, u, step in zip(params, grads, exp_avgs, exp_infs, steps, strict=True):
        if p.ndim == 0:
            p, g, m, u = _1d(p, g, m, u)
        g = _direction(p, g, lr, weight_decay, maximize)
        _lerp_(m, g, 1 - beta1)
        u *= beta2
        a = np.abs(g)
        a += eps
        np.maximum(u, a, out=u)
        _addcdiv_(p, m, u, -lr / (1 - beta1 ** step))


@kernel("_nadam_update_")
def nadam_update_(params, grads, exp_avgs, exp_avg_sqs, steps, mu_products, lr, beta1, beta2,
                  eps, weight_decay, momentum_decay, decoupled, maximize):
    for i, (p, g, m, v) in enumerate(zip(params, grads, exp_avgs, exp_avg_sqs, strict=True)):
        if p.ndim == 0:
            p, g, m, v = _1d(p, g, m, v)
        step, mu_product = steps[i], mu_products[i]
        g = _direction(p, g, lr, weight_decay, maximize, decoupled)
        mu = nadam_momentum(beta1, momentum_decay, step)
        mu_next = nadam_momentum(beta1, momentum_decay, step + 1)
        _lerp_(m, g, 1 - beta1)
        v *= beta2
        v += (g * g) * (1 - beta2)
        denom = v / (1 - beta2 ** step)
        np.sqrt(denom, out=denom)
        denom += eps
        _addcdiv_(p, g, denom, -lr * (1.0 - mu) / (1.0 - mu_product))
        _addcdiv_(p, m, denom, -lr * mu_next / (1.0 - mu_product * mu_next))


@kernel("_radam_update_")
def radam_update_(params, grads, exp_avgs, exp_avg_sqs, steps, lr, beta1, beta2, eps,
                  weight_decay, decoupled, maximize):
    for p, g, m, v, step in zip(params, grads, exp_avgs, exp_avg_sqs, steps, strict=True):
        if p.ndim == 0:
            p, g, m, v = _1d(p, g, m, v)
        g = _direction(p, g, lr, weight_decay, maximize, decoupled)
        _lerp_(m, g, 1 - beta1)
        v *= beta2
        v += (g * g) * (1 - beta2)
        bc1, bc2, rect = radam_terms(beta1, beta2, step)
        d = m / bc1
        d *= lr
        if rect is not None:
            adaptive = np.sqrt(v)
            adaptive += eps
            np.divide(bc2 ** 0.5, adaptive, out=adaptive)
            d *= adaptive
            d *= rect
        p -= d


@kernel("_adadelta_update_")
def adadelta_update_(params, grads, square_avgs, acc_deltas, lr, rho, eps, weight_decay,
                     maximize):
    for p, g, sq, acc in zip(params, grads, square_avgs, acc_deltas, strict=True):
        if p.ndim == 0:
            p, g, sq, acc = _1d(p, g, sq, acc)
        g = _direction(p, g, lr, weight_decay, maximize)
        sq *= rho
        sq += (g * g) * (1 - rho)
        delta = acc + eps
        np.sqrt(delta, out=delta)
        std = sq + eps
        np.sqrt(std, out=std)
        delta /= std
        delta *= g
        acc *= rho
        acc += (delta * delta) * (1 - rho)
        delta *= -lr
        p += delta


@kernel("_rprop_update_")
def rprop_update_(params, grads, prevs, step_sizes, eta_minus, eta_plus, step_size_min,
                  step_size_max, maximize):
    for p, g, prev, size in zip(params, grads, prevs, step_sizes, strict=True):
        if p.ndim == 0:
            p, g, prev, size = _1d(p, g, prev, size)
        if maximize:
            g = -g
        agree = _sign(g * prev)
        flipped = agree < 0
        t = p.dtype.type
        # agree + 1: 1 where the gradient or the previous one is 0
        factor = np.where(agree > 0, t(eta_plus), np.where(flipped, t(eta_minus), agree + 1))
        size *= factor
        np.maximum(size, step_size_min, out=size)
        np.minimum(size, step_size_max, out=size)
        g = np.where(flipped, t(0), g)  # after a sign flip: no step, no flip next
        p -= _sign(g) * size
        np.copyto(prev, g)
