"""RAdam: Adam with a rectified adaptive rate (Liu et al.)."""

from __future__ import annotations

from collections.abc import Iterable

from .optimizer import Optimizer, _check, _check_betas

__all__ = ["RAdam"]


class RAdam(Optimizer):
    """RAdam with PyTorch's rule: while the variance estimate is unreliable
    (``rho_t <= 5``) the step is plain bias-corrected momentum, then Adam's step times
    the rectification term. L2 ``weight_decay``, or decoupled with
    ``decoupled_weight_decay=True``."""

    def __init__(self, params: Iterable, lr: float = 1e-3, betas=(0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False) -> None:
        _check("learning rate", lr)
        _check("epsilon value", eps)
        betas = _check_betas(betas)
        _check("weight_decay value", weight_decay)
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps,
                                  "weight_decay": weight_decay,
                                  "decoupled_weight_decay": decoupled_weight_decay,
                                  "foreach": foreach, "maximize": maximize})

    def _update(self, group: dict, params: list, grads: list) -> None:
        """Update ``params`` (those of ``group`` with a gradient) in place."""
        beta1, beta2 = group["betas"]
        lr, eps = group["lr"], group["eps"]
        rho_inf = 2 / (1 - beta2) - 1
        for p, g in zip(params, grads, strict=True):
            st = self.state.get(p)
            if not st:
                st = self.state[p] = {"step": 0, "exp_avg": self._zeros(p),
                                      "exp_avg_sq": self._zeros(p)}
            st["step"] = step = int(st["step"]) + 1
            g = self._direction(p, g, group)
            m, v = st["exp_avg"], st["exp_avg_sq"]
            m.lerp_(g, 1 - beta1)
            v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
            bc1, bc2 = 1 - beta1 ** step, 1 - beta2 ** step
            m_hat = m / bc1
            rho_t = rho_inf - 2 * step * beta2 ** step / bc2
            if rho_t > 5.0:
                rect = ((rho_t - 4) * (rho_t - 2) * rho_inf
                        / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
                adaptive = bc2 ** 0.5 / v.sqrt().add_(eps)
                p.add_(m_hat * lr * adaptive * rect, alpha=-1.0)
            else:
                p.add_(m_hat * lr, alpha=-1.0)
