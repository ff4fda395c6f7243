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

from .registry import registry


KERNELS, kernel = registry()


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
        # The sign of g * prev read by comparisons (a NaN product neither agrees nor
        # flips: factor 1, as the core's sign(nan) = 0 gives).  numpy's masked writes
        # and np.where over scalars are slow on random masks: the factor is a sum with
        # one nonzero term, 1 * keep + eta_plus * agree + eta_minus * flip (exact).
        t = p.dtype.type
        agree = g * prev
        flip = agree < 0
        up = (agree > 0).view(np.int8).astype(p.dtype)
        down = flip.view(np.int8).astype(p.dtype)
        factor = 1 - up
        factor -= down
        up *= t(eta_plus)
        down *= t(eta_minus)
        factor += up
        factor += down
        size *= factor
        np.clip(size, t(step_size_min), t(step_size_max), out=size)  # (NaN stays)
        # After a sign flip: no step, and no flip next: the gradient kept is +0 there,
        # written as g's bits and-ed with 0 (a masked write costs as much as ten plain
        # numpy ops).
        keep = np.logical_not(flip).view(np.int8)
        bits = np.dtype(f"i{p.itemsize}")
        np.bitwise_and(g.view(bits), -keep, out=prev.view(bits))
        sign = (prev > 0).view(np.int8) - (prev < 0).view(np.int8)  # (NaN: 0, as the core's)
        sign = sign.astype(p.dtype)  # (int8 * float is a slow mixed-type loop)
        sign *= size
        p -= sign
