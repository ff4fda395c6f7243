"""Fused optimizer updates: one op call updates every parameter of a group.

Each op takes lists of tensors (parameters, gradients, optimizer state) and updates
the parameters and state in place, following PyTorch's formulas exactly.  The
decompositions loop over the lists with ember's in-place ops, so every backend can
run them; a backend registers a kernel under the same name to fuse the whole group
into a few device launches (the CPU plugin does, and ROCm can).  ``ember.optim``
calls them under ``no_grad``.
"""

from __future__ import annotations

import math

from .. import ops as _E  # the ops namespace (complete when these functions run)

from ._rules import fail
from ..schema import defop

__all__ = ["_sgd_update_", "_adam_update_", "_rmsprop_update_"]


def _check_lists(op: str, params, **lists) -> None:
    n = len(params)
    for name, xs in lists.items():
        if len(xs) not in (0, n):
            fail(op, f"argument '{name}' must hold {n} tensors (one per parameter) or none, "
                     f"got {len(xs)}")
        for i, (p, x) in enumerate(zip(params, xs, strict=False)):
            if x._data.shape != p._data.shape:  # native shapes: this runs every step
                fail(op, f"{name}[{i}] has shape {list(x.shape)} but params[{i}] has shape "
                         f"{list(p.shape)}")


def _sgd_meta(params, grads, momentum_buffers, lr, momentum=0.0, dampening=0.0,
              weight_decay=0.0, nesterov=False, maximize=False, init_buffers=False):
    _check_lists("_sgd_update_", params, grads=grads, momentum_buffers=momentum_buffers)
    if len(grads) != len(params):
        fail("_sgd_update_", f"expected {len(params)} gradients, got {len(grads)}")
    if momentum and len(momentum_buffers) != len(params):
        fail("_sgd_update_", "momentum needs one momentum buffer per parameter")


def _sgd_decomp(params, grads, momentum_buffers, lr, momentum=0.0, dampening=0.0,
                weight_decay=0.0, nesterov=False, maximize=False, init_buffers=False):
    for i, p in enumerate(params):
        d = -grads[i] if maximize else grads[i]
        if weight_decay:
            d = d + p * weight_decay
        if momentum:
            buf = momentum_buffers[i]
            if init_buffers:
                buf.copy_(d)
            else:
                buf.mul_(momentum).add_(d, alpha=1.0 - dampening)
            d = d + buf * momentum if nesterov else buf
        p.add_(d, alpha=-lr)
    return params


_sgd_update_ = defop(
    "_sgd_update_(Tensor(a!)[] params, Tensor[] grads, Tensor(a!)[] momentum_buffers, "
    "float lr, float momentum=0.0, float dampening=0.0, float weight_decay=0.0, "
    "bool nesterov=False, bool maximize=False, bool init_buffers=False) -> Tensor(a!)[]",
    tags=("composite", "inplace"), meta=_sgd_meta, decomposition=_sgd_decomp, method=False,
    doc="One SGD step over a group (PyTorch's formula; ``init_buffers`` starts the "
        "momentum buffers at the first gradient).")


def _adam_meta(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, lr, beta1,
               beta2, eps, weight_decay=0.0, amsgrad=False, decoupled_weight_decay=False,
               maximize=False):
    op = "_adam_update_"
    _check_lists(op, params, grads=grads, exp_avgs=exp_avgs, exp_avg_sqs=exp_avg_sqs,
                 max_exp_avg_sqs=max_exp_avg_sqs)
    if not (len(grads) == len(exp_avgs) == len(exp_avg_sqs) == len(steps) == len(params)):
        fail(op, "grads, exp_avgs, exp_avg_sqs and steps need one entry per parameter")
    if amsgrad and len(max_exp_avg_sqs) != len(params):
        fail(op, "amsgrad needs one max_exp_avg_sqs tensor per parameter")


def _adam_decomp(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, lr, beta1,
                 beta2, eps, weight_decay=0.0, amsgrad=False, decoupled_weight_decay=False,
                 maximize=False):
    for i, p in enumerate(params):
        g = -grads[i] if maximize else grads[i]
        if weight_decay:
            if decoupled_weight_decay:
                p.mul_(1.0 - lr * weight_decay)
            else:
                g = g + p * weight_decay
        m, v = exp_avgs[i], exp_avg_sqs[i]
        m.mul_(beta1).add_(g, alpha=1.0 - beta1)
        v.mul_(beta2).add_(g * g, alpha=1.0 - beta2)
        step = steps[i]
        step_size = lr / (1.0 - beta1 ** step)
        bc2_sqrt = math.sqrt(1.0 - beta2 ** step)
        if amsgrad:
            mx = max_exp_avg_sqs[i]
            mx.copy_(_E.maximum(mx, v))
            v = mx
        denom = v.sqrt() / bc2_sqrt + eps
        p.add_(m / denom, alpha=-step_size)
    return params


_adam_update_ = defop(
    "_adam_update_(Tensor(a!)[] params, Tensor[] grads, Tensor(a!)[] exp_avgs, "
    "Tensor(a!)[] exp_avg_sqs, Tensor(a!)[] max_exp_avg_sqs, int[] steps, float lr, "
    "float beta1, float beta2, float eps, float weight_decay=0.0, bool amsgrad=False, "
    "bool decoupled_weight_decay=False, bool maximize=False) -> Tensor(a!)[]",
    tags=("composite", "inplace"), meta=_adam_meta, decomposition=_adam_decomp,
    method=False,
    doc="One Adam (or, with ``decoupled_weight_decay``, AdamW) step over a group; "
        "``steps`` are the per-parameter step counts after this step.")


def _rmsprop_meta(params, grads, square_avgs, grad_avgs, momentum_buffers, lr, alpha, eps,
                  weight_decay=0.0, momentum=0.0, centered=False, maximize=False):
    op = "_rmsprop_update_"
    _check_lists(op, params, grads=grads, square_avgs=square_avgs, grad_avgs=grad_avgs,
                 momentum_buffers=momentum_buffers)
    if len(grads) != len(params) or len(square_avgs) != len(params):
        fail(op, "grads and square_avgs need one tensor per parameter")
    if centered and len(grad_avgs) != len(params):
        fail(op, "centered needs one grad_avgs tensor per parameter")
    if momentum and len(momentum_buffers) != len(params):
        fail(op, "momentum needs one momentum buffer per parameter")


def _rmsprop_decomp(params, grads, square_avgs, grad_avgs, momentum_buffers, lr, alpha, eps,
                    weight_decay=0.0, momentum=0.0, centered=False, maximize=False):
    for i, p in enumerate(params):
        g = -grads[i] if maximize else grads[i]
        if weight_decay:
            g = g + p * weight_decay
        sq = square_avgs[i]
        sq.mul_(alpha).add_(g * g, alpha=1.0 - alpha)
        if centered:
            ga = grad_avgs[i]
            ga.mul_(alpha).add_(g, alpha=1.0 - alpha)
            avg = (sq - ga * ga).sqrt() + eps
        else:
            avg = sq.sqrt() + eps
        if momentum:
            buf = momentum_buffers[i]
            buf.mul_(momentum).add_(g / avg)
            p.add_(buf, alpha=-lr)
        else:
            p.add_(g / avg, alpha=-lr)
    return params


_rmsprop_update_ = defop(
    "_rmsprop_update_(Tensor(a!)[] params, Tensor[] grads, Tensor(a!)[] square_avgs, "
    "Tensor(a!)[] grad_avgs, Tensor(a!)[] momentum_buffers, float lr, float alpha, "
    "float eps, float weight_decay=0.0, float momentum=0.0, bool centered=False, "
    "bool maximize=False) -> Tensor(a!)[]",
    tags=("composite", "inplace"), meta=_rmsprop_meta, decomposition=_rmsprop_decomp,
    method=False, doc="One RMSprop step over a group (PyTorch's formula).")
