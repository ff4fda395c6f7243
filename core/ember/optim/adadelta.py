"""Adadelta (Zeiler)."""

from __future__ import annotations

from collections.abc import Iterable

from .optimizer import Optimizer, _check

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    """Adadelta with PyTorch's rule: ``square_avg`` and ``acc_delta`` are running
    averages (``rho``) of squared gradients and squared updates; the update is
    ``sqrt(acc_delta + eps) / sqrt(square_avg + eps) * g``, scaled by ``lr``."""

    def __init__(self, params: Iterable, lr: float = 1.0, rho: float = 0.9,
                 eps: float = 1e-6, weight_decay: float = 0.0,
                 foreach: bool | None = None, *, maximize: bool = False) -> None:
        _check("learning rate", lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        _check("epsilon value", eps)
        _check("weight_decay value", weight_decay)
        super().__init__(params, {"lr": lr, "rho": rho, "eps": eps,
                                  "weight_decay": weight_decay, "foreach": foreach,
                                  "maximize": maximize})

    def _update(self, group: dict, params: list, grads: list) -> None:
        """Update ``params`` (those of ``group`` with a gradient) in place."""
        lr, rho, eps = group["lr"], group["rho"], group["eps"]
        for p, g in zip(params, grads, strict=True):
            st = self.state.get(p)
            if not st:
                st = self.state[p] = {"step": 0, "square_avg": self._zeros(p),
                                      "acc_delta": self._zeros(p)}
            st["step"] = int(st["step"]) + 1
            g = self._direction(p, g, group)
            sq, acc = st["square_avg"], st["acc_delta"]
            sq.mul_(rho).addcmul_(g, g, value=1 - rho)
            delta = acc.add(eps).sqrt_().div_(sq.add(eps).sqrt_()).mul_(g)
            acc.mul_(rho).addcmul_(delta, delta, value=1 - rho)
            p.add_(delta, alpha=-lr)
