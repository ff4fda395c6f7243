"""Adam and AdamW."""

from __future__ import annotations

from collections.abc import Iterable

from .. import dtypes as _dt
from .. import ops as _ops
from ..ops.optim import _adam_update_
from ..tensor import Tensor
from .optimizer import Optimizer, _check, _check_betas

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam (Kingma & Ba) with PyTorch's bias correction, L2 ``weight_decay`` and
    ``amsgrad``.

    ``capturable=True`` (PyTorch's name) keeps each parameter's step count as a float32
    tensor on the parameter's device and computes the bias corrections with tensor ops,
    so a step is the same ops with the same arguments on every call: ``ember.jit`` can
    trace and replay it (a Python step count would be a constant that changes every
    call).  Its bias corrections are rounded in float32, as PyTorch's capturable Adam
    rounds them, not in Python floats: results differ from ``capturable=False`` in the
    last bits."""

    _decoupled = False

    def __init__(self, params: Iterable, lr: float = 1e-3, betas=(0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False, *,
                 maximize: bool = False, capturable: bool = False) -> None:
        _check("learning rate", lr)
        _check("epsilon value", eps)
        _check("weight_decay value", weight_decay)
        super().__init__(params, {"lr": lr, "betas": _check_betas(betas), "eps": eps,
                                  "weight_decay": weight_decay, "amsgrad": amsgrad,
                                  "maximize": maximize, "capturable": capturable})

    def _update(self, group: dict, params: list, grads: list) -> None:
        """Update ``params`` (those of ``group`` with a gradient) in place."""
        if group.get("capturable"):
            self._update_capturable(group, params, grads)
            return
        amsgrad = group["amsgrad"]
        m, v, mx, steps = [], [], [], []
        for p in params:
            st = self._state_of(p, amsgrad)
            st["step"] = step = int(st["step"]) + 1  # (int(): a capturable count, loaded)
            steps.append(step)
            m.append(st["exp_avg"])
            v.append(st["exp_avg_sq"])
            if amsgrad:
                mx.append(st["max_exp_avg_sq"])
        beta1, beta2 = group["betas"]
        _adam_update_(params, grads, m, v, mx, steps, group["lr"], beta1, beta2,
                      group["eps"], group["weight_decay"], amsgrad, self._decoupled,
                      group["maximize"])


    def _state_of(self, p, amsgrad: bool) -> dict:
        """``p``'s state, its moment buffers created on the first step."""
        st = self.state.get(p)
        if st is None or "exp_avg" not in st:
            st = self.state[p] = {"step": 0, "exp_avg": self._zeros(p),
                                  "exp_avg_sq": self._zeros(p)}
        if amsgrad and "max_exp_avg_sq" not in st:
            st["max_exp_avg_sq"] = self._zeros(p)
        return st

    def _update_capturable(self, group: dict, params: list, grads: list) -> None:
        """The step with tensor step counts: the formula of ``_adam_update_``'s
        decomposition, with ``step_size = lr / (1 - beta1**step)`` and
        ``sqrt(1 - beta2**step)`` as 0-d tensors (PyTorch's capturable Adam)."""
        beta1, beta2 = group["betas"]
        lr, eps, wd = group["lr"], group["eps"], group["weight_decay"]
        amsgrad = group["amsgrad"]
        for p, g in zip(params, grads, strict=True):
            st = self._state_of(p, amsgrad)
            step = st["step"]
            if not isinstance(step, Tensor) or step.device != p.device \
                    or step.dtype is not _dt.float32:
                step = st["step"] = _step_tensor(step, p)
            step.add_(1)
            if group["maximize"]:
                g = -g
            if wd:
                if self._decoupled:
                    p.mul_(1.0 - lr * wd)
                else:
                    g = g + p * wd
            m, v = st["exp_avg"], st["exp_avg_sq"]
            m.mul_(beta1).add_(g, alpha=1.0 - beta1)
            v.mul_(beta2).add_(g * g, alpha=1.0 - beta2)
            step_size = lr / (1.0 - beta1 ** step)
            bc2_sqrt = (1.0 - beta2 ** step).sqrt()
            if amsgrad:
                mx = st["max_exp_avg_sq"]
                mx.copy_(_ops.maximum(mx, v))
                v = mx
            denom = (v.sqrt() / bc2_sqrt).add_(eps)
            p.sub_((m / denom).mul_(step_size))

    def _cast_state(self, p: Tensor, key: str, v):
        # a capturable optimizer keeps its step counts on the parameters' devices
        if key == "step" and isinstance(v, Tensor) and any(
                g.get("capturable") for g in self.param_groups):
            return _step_tensor(v, p)
        return super()._cast_state(p, key, v)


def _step_tensor(step, p: Tensor) -> Tensor:
    """A step count (int or tensor) as a new float32 0-d tensor on ``p``'s device."""
    if isinstance(step, Tensor):
        return step.detach().to(device=p.device, dtype=_dt.float32).reshape(()).clone()
    return _ops.full((), float(step), dtype=_dt.float32, device=p.device)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): parameters shrink by
    ``lr * weight_decay`` each step, apart from the gradient."""

    _decoupled = True

    def __init__(self, params: Iterable, lr: float = 1e-3, betas=(0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False, capturable: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         capturable=capturable)
