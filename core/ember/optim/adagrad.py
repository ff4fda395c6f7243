"""Adagrad (Duchi et al.)."""

from __future__ import annotations

from collections.abc import Iterable

from .. import ops as _ops
from .optimizer import Optimizer, _check

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad with PyTorch's rule: ``sum += g * g``; ``p -= clr * g / (sqrt(sum) +
    eps)`` with ``clr = lr / (1 + (step - 1) * lr_decay)``. As in PyTorch, each
    parameter's state (``step``, ``sum`` filled with ``initial_accumulator_value``)
    exists from construction. ``foreach`` is accepted for PyTorch's signature; ember
    has one path."""

    def __init__(self, params: Iterable, lr: float = 1e-2, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10, foreach: bool | None = None, *,
                 maximize: bool = False) -> None:
        _check("learning rate", lr)
        _check("lr_decay value", lr_decay)
        _check("weight_decay value", weight_decay)
        _check("initial_accumulator_value value", initial_accumulator_value)
        _check("epsilon value", eps)
        super().__init__(params, {"lr": lr, "lr_decay": lr_decay, "eps": eps,
                                  "weight_decay": weight_decay,
                                  "initial_accumulator_value": initial_accumulator_value,
                                  "foreach": foreach, "maximize": maximize})
        for g in self.param_groups:
            for p in g["params"]:
                self.state[p] = {"step": 0, "sum": _ops.full(
                    tuple(p.shape), float(g["initial_accumulator_value"]), dtype=p.dtype,
                    device=p.device)}

    def _update(self, group: dict, params: list, grads: list) -> None:
        """Update ``params`` (those of ``group`` with a gradient) in place."""
        lr, eps = group["lr"], group["eps"]
        for p, g in zip(params, grads, strict=True):
            st = self.state[p]
            st["step"] = step = int(st["step"]) + 1
            g = self._direction(p, g, group)
            clr = lr / (1 + (step - 1) * group["lr_decay"])
            st["sum"].addcmul_(g, g, value=1)
            p.addcdiv_(g, st["sum"].sqrt().add_(eps), value=-clr)
