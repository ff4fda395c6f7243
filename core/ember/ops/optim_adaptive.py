"""Fused updates of the adaptive-rate optimizers: Adagrad, Adamax, NAdam, RAdam,
Adadelta and Rprop.

Like ``ember.ops.optim``'s, each op updates every parameter of a group, and its state,
in place in one call, following PyTorch's formulas.  The decomposition is the
per-parameter path (PyTorch's ``foreach=False``): a loop of ember's in-place ops, which
every backend runs; a backend's kernel under the op's name is the multi-tensor path
(the CPU plugin's computes the same numbers with the same roundings, in one dispatch per
group instead of five to twelve per parameter).  Per-parameter step counts (and NAdam's
momentum products) are Python numbers the optimizer keeps; they arrive as lists.
"""

from __future__ import annotations

from .. import ops as _E  # the ops namespace (complete when these functions run)
from ..schema import defop
from ._rules import fail
from .optim import _check_lists

__all__ = ["_adagrad_update_", "_adamax_update_", "_nadam_update_", "_radam_update_",
           "_adadelta_update_", "_rprop_update_", "direction"]


def direction(p, g, lr: float, weight_decay: float, maximize: bool, decoupled: bool = False):
    """The gradient a plain update follows: negated with ``maximize``, plus
    ``weight_decay * p`` (L2), or, ``decoupled``, ``p`` shrunk by ``lr * weight_decay``
    in place first (AdamW-style), as PyTorch's optimizers."""
    if maximize:
        g = -g
    if weight_decay:
        if decoupled:
            p.mul_(1 - lr * weight_decay)
        else:
            g = g.add(p, alpha=weight_decay)
    return g


def _meta(op: str, tensor_lists: tuple[str, ...], numbers: tuple[str, ...] = ()):
    """The shape rule of an update op: every list holds one entry per parameter, of the
    parameter's shape."""
    def meta(params, grads, *rest, **_):
        lists = dict(zip(("grads", *tensor_lists, *numbers), (grads, *rest), strict=False))
        for name, xs in lists.items():
            if len(xs) != len(params):
                fail(op, f"argument '{name}' must hold {len(params)} entries (one per "
                         f"parameter), got {len(xs)}")
        _check_lists(op, params, **{k: v for k, v in lists.items() if k not in numbers})
    return meta


def _declare(signature: str, decomposition, tensor_lists, numbers=(), doc=""):
    name = signature.partition("(")[0]
    return defop(signature, tags=("composite", "inplace"), meta=_meta(name, tensor_lists,
                                                                      numbers),
                 decomposition=decomposition, method=False, doc=doc)


# --- Adagrad --------------------------------------------------------------------------------

def _adagrad_decomp(params, grads, state_sums, steps, lr, lr_decay, weight_decay, eps,
                    maximize=False):
    for p, g, s, step in zip(params, grads, state_sums, steps, strict=True):
        g = direction(p, g, lr, weight_decay, maximize)
        clr = lr / (1 + (step - 1) * lr_decay)
        s.addcmul_(g, g, value=1)
        p.addcdiv_(g, s.sqrt().add_(eps), value=-clr)
    return params


_adagrad_update_ = _declare(
    "_adagrad_update_(Tensor(a!)[] params, Tensor[] grads, Tensor(a!)[] state_sums, "
    "int[] steps, float lr, float lr_decay, float weight_decay, float eps, "
    "bool maximize=False) -> Tensor(a!)[]", _adagrad_decomp, ("state_sums",), ("steps",),
    doc="One Adagrad step over a group; ``steps`` are the counts after this step.")


# --- Adamax ---------------------------------------------------------------------------------

def _adamax_decomp(params, grads, exp_avgs, exp_infs, steps, lr, beta1, beta2, eps,
                   weight_decay, maximize=False):
    for p, g, m, u, step in zip(params, grads, exp_avgs, exp_infs, steps, strict=True):
        g = direction(p, g, lr, weight_decay, maximize)
        m.lerp_(g, 1 - beta1)
        u.copy_(_E.maximum(u.mul_(beta2), g.abs().add_(eps)))
        p.addcdiv_(m, u, value=-lr / (1 - beta1 ** step))
    return params


_adamax_update_ = _declare(
    "_adamax_update_(Tensor(a!)[] params, Tensor[] grads, Tensor(a!)[] exp_avgs, "
    "Tensor(a!)[] exp_infs, int[] steps, float lr, float beta1, float beta2, float eps, "
    "float weight_decay, bool maximize=False) -> Tensor(a!)[]", _adamax_decomp,
    ("exp_avgs", "exp_infs"), ("steps",),
    doc="One Adamax step over a group; ``steps`` are the counts after this step.")


# --- NAdam ----------------------------------------------------------------------------------

def nadam_momentum(beta1: float, momentum_decay: float, step: int) -> float:
    """NAdam's momentum coefficient ``mu_t`` at ``step`` (PyTorch's schedule)."""
    return beta1 * (1.0 - 0.5 * 0.96 ** (step * momentum_decay))


def _nadam_decomp(params, grads, exp_avgs, exp_avg_sqs, steps, mu_products, lr, beta1, beta2,
                  eps, weight_decay, momentum_decay, decoupled_weight_decay=False,
                  maximize=False):
    for i, (p, g, m, v) in enumerate(zip(params, grads, exp_avgs, exp_avg_sqs, strict=True)):
        step, mu_product = steps[i], mu_products[i]
        g = direction(p, g, lr, weight_decay, maximize, decoupled_weight_decay)
        mu = nadam_momentum(beta1, momentum_decay, step)
        mu_next = nadam_momentum(beta1, momentum_decay, step + 1)
        m.lerp_(g, 1 - beta1)
        v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
        denom = v.div(1 - beta2 ** step).sqrt().add_(eps)
        p.addcdiv_(g, denom, value=-lr * (1.0 - mu) / (1.0 - mu_product))
        p.addcdiv_(m, denom, value=-lr * mu_next / (1.0 - mu_product * mu_next))
    return params


_nadam_update_ = _declare(
    "_nadam_update_(Tensor(a!)[] params, Tensor[] grads, Tensor(a!)[] exp_avgs, "
    "Tensor(a!)[] exp_avg_sqs, int[] steps, Any mu_products, float lr, float beta1, "
    "float beta2, float eps, float weight_decay, float momentum_decay, "
    "bool decoupled_weight_decay=False, bool maximize=False) -> Tensor(a!)[]",
    _nadam_decomp, ("exp_avgs", "exp_avg_sqs"), ("steps", "mu_products"),
    doc="One NAdam step over a group; ``steps`` and ``mu_products`` (floats) are the "
        "values after this step.")


# --- RAdam ----------------------------------------------------------------------------------

def radam_terms(beta1: float, beta2: float, step: int):
    """RAdam's bias corrections and rectification at ``step``: ``(bc1, bc2, rect)``, with
    ``rect`` None while the variance estimate is unreliable (``rho_t <= 5``)."""
    rho_inf = 2 / (1 - beta2) - 1
    bc1, bc2 = 1 - beta1 ** step, 1 - beta2 ** step
    rho_t = rho_inf - 2 * step * beta2 ** step / bc2
    if rho_t <= 5.0:
        return bc1, bc2, None
    return bc1, bc2, ((rho_t - 4) * (rho_t - 2) * rho_inf
                      / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5


def _radam_decomp(params, grads, exp_avgs, exp_avg_sqs, steps, lr, beta1, beta2, eps,
                  weight_decay, decoupled_weight_decay=False, maximize=False):
    for p, g, m, v, step in zip(params, grads, exp_avgs, exp_avg_sqs, steps, strict=True):
        g = direction(p, g, lr, weight_decay, maximize, decoupled_weight_decay)
        m.lerp_(g, 1 - beta1)
        v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
        bc1, bc2, rect = radam_terms(beta1, beta2, step)
        m_hat = m / bc1
        if rect is not None:
            adaptive = bc2 ** 0.5 / v.sqrt().add_(eps)
            p.add_(m_hat * lr * adaptive * rect, alpha=-1.0)
        else:
            p.add_(m_hat * lr, alpha=-1.0)
    return params


_radam_update_ = _declare(
    "_radam_update_(Tensor(a!)[] params, Tensor[] grads, Tensor(a!)[] exp_avgs, "
    "Tensor(a!)[] exp_avg_sqs, int[] steps, float lr, float beta1, float beta2, float eps, "
    "float weight_decay, bool decoupled_weight_decay=False, bool maximize=False) "
    "-> Tensor(a!)[]", _radam_decomp, ("exp_avgs", "exp_avg_sqs"), ("steps",),
    doc="One RAdam step over a group; ``steps`` are the counts after this step.")


# --- Adadelta -------------------------------------------------------------------------------

def _adadelta_decomp(params, grads, square_avgs, acc_deltas, lr, rho, eps, weight_decay,
                     maximize=False):
    for p, g, sq, acc in zip(params, grads, square_avgs, acc_deltas, strict=True):
        g = direction(p, g, lr, weight_decay, maximize)
        sq.mul_(rho).addcmul_(g, g, value=1 - rho)
        delta = acc.add(eps).sqrt_().div_(sq.add(eps).sqrt_()).mul_(g)
        acc.mul_(rho).addcmul_(delta, delta, value=1 - rho)
        p.add_(delta, alpha=-lr)
    return params


_adadelta_update_ = _declare(
    "_adadelta_update_(Tensor(a!)[] params, Tensor[] grads, Tensor(a!)[] square_avgs, "
    "Tensor(a!)[] acc_deltas, float lr, float rho, float eps, float weight_decay, "
    "bool maximize=False) -> Tensor(a!)[]", _adadelta_decomp, ("square_avgs", "acc_deltas"),
    doc="One Adadelta step over a group.")


# --- Rprop ----------------------------------------------------------------------------------

def _rprop_decomp(params, grads, prevs, step_sizes, eta_minus, eta_plus, step_size_min,
                  step_size_max, maximize=False):
    for p, g, prev, size in zip(params, grads, prevs, step_sizes, strict=True):
        if maximize:
            g = -g
        agree = g.mul(prev).sign()
        flipped = agree < 0
        # the factors in the parameter's dtype (a where over Python scalars would round
        # eta to the default float32)
        factor = agree.masked_fill(agree > 0, eta_plus).masked_fill_(flipped, eta_minus) \
            .masked_fill_(agree == 0, 1.0)
        size.mul_(factor).clamp_(step_size_min, step_size_max)
        g = _E.where(flipped, 0.0, g)  # after a sign flip: no step, and no flip next
        p.addcmul_(g.sign(), size, value=-1)
        prev.copy_(g)
    return params


_rprop_update_ = _declare(
    "_rprop_update_(Tensor(a!)[] params, Tensor[] grads, Tensor(a!)[] prevs, "
    "Tensor(a!)[] step_sizes, float eta_minus, float eta_plus, float step_size_min, "
    "float step_size_max, bool maximize=False) -> Tensor(a!)[]", _rprop_decomp,
    ("prevs", "step_sizes"),
    doc="One Rprop step over a group: each element's step size grows by ``eta_plus`` "
        "while its gradient keeps its sign, shrinks by ``eta_minus`` when it flips.")
