"""Rprop: resilient backpropagation (Riedmiller & Braun)."""

from __future__ import annotations

from collections.abc import Iterable

from .. import ops as _ops
from ..ops.optim_adaptive import _rprop_update_
from .optimizer import Optimizer, _check

__all__ = ["Rprop"]


class Rprop(Optimizer):
    """Rprop with PyTorch's rule: each element's step size grows by ``etas[1]`` while
    its gradient keeps its sign and shrinks by ``etas[0]`` when it flips (that step
    is then skipped), clamped to ``step_sizes``; parameters move by ``-sign(g) *
    step_size``.

    ``foreach`` (PyTorch's flag): ``None`` or ``True`` updates a group in one
    fused op call (one dispatch, the backend's multi-tensor kernel);
    ``False`` runs ember's ops parameter by parameter; the numbers are the same."""

    def __init__(self, params: Iterable, lr: float = 1e-2, etas=(0.5, 1.2),
                 step_sizes=(1e-6, 50), *, foreach: bool | None = None,
                 maximize: bool = False) -> None:
        _check("learning rate", lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        super().__init__(params, {"lr": lr, "etas": tuple(etas),
                                  "step_sizes": tuple(step_sizes), "foreach": foreach,
                                  "maximize": maximize})

    def _update(self, group: dict, params: list, grads: list) -> None:
        """Update ``params`` (those of ``group`` with a gradient) in place."""
        prevs, sizes = [], []
        for p in params:
            st = self.state.get(p)
            if not st:
                st = self.state[p] = {"step": 0, "prev": self._zeros(p),
                                      "step_size": _ops.full(tuple(p.shape), float(group["lr"]),
                                                             dtype=p.dtype, device=p.device)}
            st["step"] = int(st["step"]) + 1
            prevs.append(st["prev"])
            sizes.append(st["step_size"])
        eta_minus, eta_plus = group["etas"]
        lo, hi = group["step_sizes"]
        self._foreach(_rprop_update_, group)(
            params, grads, prevs, sizes, eta_minus, eta_plus, lo, hi, group["maximize"])
