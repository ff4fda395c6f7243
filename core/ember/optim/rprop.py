"""Rprop: resilient backpropagation (Riedmiller & Braun)."""

from __future__ import annotations

from collections.abc import Iterable

from .. import ops as _ops
from .optimizer import Optimizer, _check

__all__ = ["Rprop"]


class Rprop(Optimizer):
    """Rprop with PyTorch's rule: each element's step size grows by ``etas[1]`` while
    its gradient keeps its sign and shrinks by ``etas[0]`` when it flips (that step
    is then skipped), clamped to ``step_sizes``; parameters move by ``-sign(g) *
    step_size``."""

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
        eta_minus, eta_plus = group["etas"]
        lo, hi = group["step_sizes"]
        for p, g in zip(params, grads, strict=True):
            st = self.state.get(p)
            if not st:
                st = self.state[p] = {"step": 0, "prev": self._zeros(p),
                                      "step_size": _ops.full(tuple(p.shape), float(group["lr"]),
                                                             dtype=p.dtype, device=p.device)}
            st["step"] = int(st["step"]) + 1
            if group["maximize"]:
                g = -g
            prev, size = st["prev"], st["step_size"]
            agree = g.mul(prev).sign()
            flipped = agree < 0
            # the factors in the parameter's dtype (a where over Python scalars would
            # round eta to the default float32)
            factor = agree.masked_fill(agree > 0, eta_plus).masked_fill_(flipped, eta_minus) \
                .masked_fill_(agree == 0, 1.0)
            size.mul_(factor).clamp_(lo, hi)
            g = _ops.where(flipped, 0.0, g)  # after a sign flip: no step, and no flip next
            p.addcmul_(g.sign(), size, value=-1)
            prev.copy_(g)
