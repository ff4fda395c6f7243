"""RAdam: Adam with a rectified adaptive rate (Liu et al.)."""

from __future__ import annotations

from collections.abc import Iterable

from ..ops.optim_adaptive import _radam_update_
from .optimizer import Optimizer, _check, _check_betas

__all__ = ["RAdam"]


class RAdam(Optimizer):
    """RAdam with PyTorch's rule: while the variance estimate is unreliable
    (``rho_t <= 5``) the step is plain bias-corrected momentum, then Adam's step times
    the rectification term. L2 ``weight_decay``, or decoupled with
    ``decoupled_weight_decay=True``.

    ``foreach`` (PyTorch's flag): ``None`` or ``True`` updates a group in one
    fused op call (one dispatch, the backend's multi-tensor kernel);
    ``False`` runs ember's ops parameter by parameter; the numbers are the same."""

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
        m, v, steps = [], [], []
        for p in params:
            st = self.state.get(p)
            if not st:
                st = self.state[p] = {"step": 0, "exp_avg": self._zeros(p),
                                      "exp_avg_sq": self._zeros(p)}
            st["step"] = step = int(st["step"]) + 1
            steps.append(step)
            m.append(st["exp_avg"])
            v.append(st["exp_avg_sq"])
        beta1, beta2 = group["betas"]
        self._foreach(_radam_update_, group)(
            params, grads, m, v, steps, group["lr"], beta1, beta2, group["eps"],
            group["weight_decay"], group["decoupled_weight_decay"], group["maximize"])
