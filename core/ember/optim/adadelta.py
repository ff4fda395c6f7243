"""Adadelta (Zeiler)."""

from __future__ import annotations

from collections.abc import Iterable

from ..ops.optim_adaptive import _adadelta_update_
from .optimizer import Optimizer, _check

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    """Adadelta with PyTorch's rule: ``square_avg`` and ``acc_delta`` are running
    averages (``rho``) of squared gradients and squared updates; the update is
    ``sqrt(acc_delta + eps) / sqrt(square_avg + eps) * g``, scaled by ``lr``.

    ``foreach`` (PyTorch's flag): ``None`` or ``True`` updates a group in one
    fused op call (one dispatch, the backend's multi-tensor kernel);
    ``False`` runs ember's ops parameter by parameter; the numbers are the same."""

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
        sq, acc = [], []
        for p in params:
            st = self.state.get(p)
            if not st:
                st = self.state[p] = {"step": 0, "square_avg": self._zeros(p),
                                      "acc_delta": self._zeros(p)}
            st["step"] = int(st["step"]) + 1
            sq.append(st["square_avg"])
            acc.append(st["acc_delta"])
        self._foreach(_adadelta_update_, group)(
            params, grads, sq, acc, group["lr"], group["rho"], group["eps"],
            group["weight_decay"], group["maximize"])
