"""Stochastic gradient descent (momentum, dampening, Nesterov, weight decay)."""

from __future__ import annotations

from collections.abc import Iterable

from ..ops.optim import _sgd_update_
from .optimizer import Optimizer, _check

__all__ = ["SGD"]


class SGD(Optimizer):
    """SGD with PyTorch's update rule: ``buf = momentum * buf + (1 - dampening) * g``
    (the first step starts ``buf`` at ``g``), Nesterov ``g + momentum * buf``."""

    def __init__(self, params: Iterable, lr: float = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False,
                 *, maximize: bool = False) -> None:
        _check("learning rate", lr)
        _check("momentum value", momentum)
        _check("weight_decay value", weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, {"lr": lr, "momentum": momentum, "dampening": dampening,
                                  "weight_decay": weight_decay, "nesterov": nesterov,
                                  "maximize": maximize})

    def _update(self, group: dict, params: list, grads: list) -> None:
        """Update ``params`` (those of ``group`` with a gradient) in place."""
        momentum = group["momentum"]
        hyper = (group["lr"], momentum, group["dampening"], group["weight_decay"],
                 group["nesterov"], group["maximize"])
        if not momentum:
            _sgd_update_(params, grads, [], *hyper, False)
            return
        old, new = ([], [], []), ([], [], [])
        for p, g in zip(params, grads, strict=True):
            st = self.state.get(p)
            if st is None or st.get("momentum_buffer") is None:
                st = self.state[p] = {"momentum_buffer": self._zeros(p)}
                bucket = new
            else:
                bucket = old
            bucket[0].append(p)
            bucket[1].append(g)
            bucket[2].append(st["momentum_buffer"])
        if old[0]:
            _sgd_update_(*old, *hyper, False)
        if new[0]:
            _sgd_update_(*new, *hyper, True)
