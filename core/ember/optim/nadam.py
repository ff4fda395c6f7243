"""NAdam: Adam with Nesterov momentum (Dozat), with PyTorch's momentum schedule."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..ops.optim_adaptive import _nadam_update_, nadam_momentum
from .optimizer import Optimizer, _check, _check_betas

__all__ = ["NAdam"]


class NAdam(Optimizer):
    """NAdam with PyTorch's rule: momentum ``mu_t = beta1 * (1 - 0.5 * 0.96 ** (t *
    momentum_decay))`` and its running product ``mu_product``; L2 ``weight_decay``,
    or decoupled (AdamW-style) with ``decoupled_weight_decay=True``.

    ``mu_product`` is a float32 product (of float32-rounded ``mu``) as in PyTorch, which
    keeps it in a float32 tensor: long runs agree to the last bits.

    ``foreach`` (PyTorch's flag): ``None`` or ``True`` updates a group in one
    fused op call (one dispatch, the backend's multi-tensor kernel);
    ``False`` runs ember's ops parameter by parameter; the numbers are the same."""

    def __init__(self, params: Iterable, lr: float = 2e-3, betas=(0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0,
                 momentum_decay: float = 4e-3, decoupled_weight_decay: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False) -> None:
        _check("learning rate", lr)
        _check("epsilon value", eps)
        betas = _check_betas(betas)
        _check("weight_decay value", weight_decay)
        _check("momentum_decay value", momentum_decay)
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps,
                                  "weight_decay": weight_decay,
                                  "momentum_decay": momentum_decay,
                                  "decoupled_weight_decay": decoupled_weight_decay,
                                  "foreach": foreach, "maximize": maximize})

    def _update(self, group: dict, params: list, grads: list) -> None:
        """Update ``params`` (those of ``group`` with a gradient) in place."""
        beta1, beta2 = group["betas"]
        m, v, steps, mu_products = [], [], [], []
        for p in params:
            st = self.state.get(p)
            if not st:
                st = self.state[p] = {"step": 0, "mu_product": 1.0,
                                      "exp_avg": self._zeros(p), "exp_avg_sq": self._zeros(p)}
            st["step"] = step = int(st["step"]) + 1
            mu = nadam_momentum(beta1, group["momentum_decay"], step)
            st["mu_product"] = mu_product = float(np.float32(float(st["mu_product"]))
                                                  * np.float32(mu))
            steps.append(step)
            mu_products.append(mu_product)
            m.append(st["exp_avg"])
            v.append(st["exp_avg_sq"])
        self._foreach(_nadam_update_, group)(
            params, grads, m, v, steps, mu_products, group["lr"], beta1, beta2, group["eps"],
            group["weight_decay"], group["momentum_decay"], group["decoupled_weight_decay"],
            group["maximize"])
