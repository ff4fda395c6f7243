"""RMSprop."""

from __future__ import annotations

from collections.abc import Iterable

from ..ops.optim import _rmsprop_update_
from .optimizer import Optimizer, _check

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop with PyTorch's formula (``centered`` and ``momentum`` variants)."""

    def __init__(self, params: Iterable, lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False, *, maximize: bool = False) -> None:
        _check("learning rate", lr)
        _check("epsilon value", eps)
        _check("momentum value", momentum)
        _check("weight_decay value", weight_decay)
        _check("alpha value", alpha)
        super().__init__(params, {"lr": lr, "alpha": alpha, "eps": eps,
                                  "weight_decay": weight_decay, "momentum": momentum,
                                  "centered": centered, "maximize": maximize})

    def _update(self, group: dict, params: list, grads: list) -> None:
        """Update ``params`` (those of ``group`` with a gradient) in place."""
        centered, momentum = group["centered"], group["momentum"]
        sq, ga, bufs = [], [], []
        for p in params:
            st = self.state.get(p)
            if st is None:
                st = self.state[p] = {"step": 0, "square_avg": self._zeros(p)}
            if centered and "grad_avg" not in st:
                st["grad_avg"] = self._zeros(p)
            if momentum and "momentum_buffer" not in st:
                st["momentum_buffer"] = self._zeros(p)
            st["step"] = int(st["step"]) + 1
            sq.append(st["square_avg"])
            if centered:
                ga.append(st["grad_avg"])
            if momentum:
                bufs.append(st["momentum_buffer"])
        _rmsprop_update_(params, grads, sq, ga, bufs, group["lr"], group["alpha"],
                         group["eps"], group["weight_decay"], momentum, centered,
                         group["maximize"])
