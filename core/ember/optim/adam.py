"""Adam and AdamW."""

from __future__ import annotations

from collections.abc import Iterable

from ..ops.optim import _adam_update_
from .optimizer import Optimizer, _check

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam (Kingma & Ba) with PyTorch's bias correction, L2 ``weight_decay`` and
    ``amsgrad``."""

    _decoupled = False

    def __init__(self, params: Iterable, lr: float = 1e-3, betas=(0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        _check("learning rate", lr)
        _check("epsilon value", eps)
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        _check("weight_decay value", weight_decay)
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps,
                                  "weight_decay": weight_decay, "amsgrad": amsgrad,
                                  "maximize": maximize})

    def _update(self, group: dict, params: list, grads: list) -> None:
        """Update ``params`` (those of ``group`` with a gradient) in place."""
        amsgrad = group["amsgrad"]
        m, v, mx, steps = [], [], [], []
        for p in params:
            st = self.state.get(p)
            if st is None or "exp_avg" not in st:
                st = self.state[p] = {"step": 0, "exp_avg": self._zeros(p),
                                      "exp_avg_sq": self._zeros(p)}
            if amsgrad and "max_exp_avg_sq" not in st:
                st["max_exp_avg_sq"] = self._zeros(p)
            st["step"] = step = int(st["step"]) + 1
            steps.append(step)
            m.append(st["exp_avg"])
            v.append(st["exp_avg_sq"])
            if amsgrad:
                mx.append(st["max_exp_avg_sq"])
        beta1, beta2 = group["betas"]
        _adam_update_(params, grads, m, v, mx, steps, group["lr"], beta1, beta2,
                      group["eps"], group["weight_decay"], amsgrad, self._decoupled,
                      group["maximize"])


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): parameters shrink by
    ``lr * weight_decay`` each step, apart from the gradient."""

    _decoupled = True

    def __init__(self, params: Iterable, lr: float = 1e-3, betas=(0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)
