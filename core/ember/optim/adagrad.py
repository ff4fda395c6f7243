"""Adagrad (Duchi et al.)."""

from __future__ import annotations

from collections.abc import Iterable

from .. import ops as _ops
from ..ops.optim_adaptive import _adagrad_update_
from .optimizer import Optimizer, _check

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad with PyTorch's rule: ``sum += g * g``; ``p -= clr * g / (sqrt(sum) +
    eps)`` with ``clr = lr / (1 + (step - 1) * lr_decay)``. As in PyTorch, each
    parameter's state (``step``, ``sum`` filled with ``initial_accumulator_value``)
    exists from construction.

    ``foreach`` (PyTorch's flag): ``None`` or ``True`` updates a group in one
    fused op call (one dispatch, the backend's multi-tensor kernel);
    ``False`` runs ember's ops parameter by parameter; the numbers are the same."""

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
                self._state_of(p, g)

    def _state_of(self, p, group: dict) -> dict:
        """``p``'s state, made at construction or, for a group added later, on its first
        step (as PyTorch's)."""
        st = self.state.get(p)
        if not st:
            st = self.state[p] = {"step": 0, "sum": _ops.full(
                tuple(p.shape), float(group["initial_accumulator_value"]), dtype=p.dtype,
                device=p.device)}
        return st

    def _update(self, group: dict, params: list, grads: list) -> None:
        """Update ``params`` (those of ``group`` with a gradient) in place."""
        sums, steps = [], []
        for p in params:
            st = self._state_of(p, group)
            st["step"] = step = int(st["step"]) + 1
            steps.append(step)
            sums.append(st["sum"])
        self._foreach(_adagrad_update_, group)(
            params, grads, sums, steps, group["lr"], group["lr_decay"],
            group["weight_decay"], group["eps"], group["maximize"])
