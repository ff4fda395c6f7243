"""Adamax: Adam with the infinity norm (Kingma & Ba, section 7)."""

from __future__ import annotations

from collections.abc import Iterable

from .. import ops as _ops
from .optimizer import Optimizer, _check, _check_betas

__all__ = ["Adamax"]


class Adamax(Optimizer):
    """Adamax with PyTorch's rule: ``exp_avg`` lerps to ``g``, ``exp_inf =
    max(beta2 * exp_inf, |g| + eps)``, ``p -= lr / (1 - beta1**step) * exp_avg /
    exp_inf``; L2 ``weight_decay``."""

    def __init__(self, params: Iterable, lr: float = 2e-3, betas=(0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0,
                 foreach: bool | None = None, *, maximize: bool = False) -> None:
        _check("learning rate", lr)
        _check("epsilon value", eps)
        betas = _check_betas(betas)
        _check("weight_decay value", weight_decay)
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps,
                                  "weight_decay": weight_decay, "foreach": foreach,
                                  "maximize": maximize})

    def _update(self, group: dict, params: list, grads: list) -> None:
        """Update ``params`` (those of ``group`` with a gradient) in place."""
        beta1, beta2 = group["betas"]
        lr, eps = group["lr"], group["eps"]
        for p, g in zip(params, grads, strict=True):
            st = self.state.get(p)
            if not st:
                st = self.state[p] = {"step": 0, "exp_avg": self._zeros(p),
                                      "exp_inf": self._zeros(p)}
            st["step"] = step = int(st["step"]) + 1
            g = self._direction(p, g, group)
            m, u = st["exp_avg"], st["exp_inf"]
            m.lerp_(g, 1 - beta1)
            u.copy_(_ops.maximum(u.mul_(beta2), g.abs().add_(eps)))
            p.addcdiv_(m, u, value=-lr / (1 - beta1 ** step))
