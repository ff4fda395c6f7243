"""``Optimizer``: parameter groups, per-parameter state, ``zero_grad``, state dicts.

Subclasses implement ``step`` by collecting each group's parameters, gradients and
state into lists and calling one fused update op (``ember.ops.optim``,
``ember.ops.optim_adaptive``): one dispatch per group and step, fused into a few numpy
calls on the CPU.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any

from .. import ops as _ops
from ..dispatch import state as _state
from ..nn.module import no_grad
from ..tensor import Tensor

__all__ = ["Optimizer", "required"]


class _Required:
    def __repr__(self) -> str:
        return "<required parameter>"


#: Marks a hyper-parameter without default (``lr`` of ``SGD`` in old PyTorch).
required = _Required()


class Optimizer:
    """Base class: holds ``param_groups`` (dicts with ``params`` and hyper-parameters)
    and ``state`` (per-parameter dicts of buffers and step counts)."""

    def __init__(self, params: Iterable, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self.state: dict = {}
        self.param_groups: list[dict] = []
        if isinstance(params, Tensor):
            raise TypeError(f"params argument given to the optimizer should be an iterable "
                            f"of Tensors or dicts, but got {type(params).__name__}")
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with its own hyper-parameters."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, got {type(param_group).__name__}")
        params = param_group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params "
                                f"is {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        group = dict(param_group, params=params)
        for k, v in self.defaults.items():
            if v is required and k not in group:
                raise ValueError(f"parameter group didn't specify a value of required "
                                 f"optimization parameter {k}")
            group.setdefault(k, v)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params) or len({id(p) for p in params}) != len(params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimized parameters (to ``None`` by default)."""
        for g in self.param_groups:
            for p in g["params"]:
                if p.grad is not None:
                    if set_to_none:
                        p.grad = None
                    else:
                        gr = p.grad.detach()
                        with no_grad():
                            gr.copy_(_ops.zeros((), dtype=gr.dtype, device=gr.device))
                        p.grad = gr

    def step(self, closure: Callable | None = None):
        """One update of every parameter that has a gradient (after re-evaluating the
        loss with ``closure`` if given, as PyTorch does); returns that loss."""
        loss = self._closure(closure) if closure is not None else None
        # no_grad, without the context manager's objects (this runs every step)
        prev = _state.grad_enabled
        _state.grad_enabled = False
        try:
            for group in self.param_groups:
                params, grads = self._grouped(group)
                if params:
                    self._update(group, params, grads)
        finally:
            _state.grad_enabled = prev
        return loss

    def _update(self, group: dict, params: list, grads: list) -> None:
        """Update ``params`` of ``group`` from ``grads`` in place (the algorithm)."""
        raise NotImplementedError

    def _closure(self, closure):
        if closure is None:
            return None
        from ..autograd import enable_grad
        with enable_grad():
            return closure()

    @staticmethod
    def _zeros(p: Tensor) -> Tensor:
        return _ops.zeros(tuple(p.shape), dtype=p.dtype, device=p.device)

    @staticmethod
    def _foreach(op, group: dict):
        """``op``, a fused update: one dispatch per group (the backend's multi-tensor kernel
        where it has one); with ``foreach=False``, PyTorch's for-loop: its decomposition,
        ember's ops parameter by parameter.  The same numbers either way."""
        return op.op.decomposition if group.get("foreach") is False else op

    # -- state dicts -----------------------------------------------------------------------
    def state_dict(self) -> dict:
        """``{'state': {index: {...}}, 'param_groups': [{..., 'params': [index, ...]}]}``
        with parameters numbered in group order (PyTorch's layout)."""
        index: dict[int, int] = {}
        groups = []
        for g in self.param_groups:
            packed = {k: v for k, v in g.items() if k != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in g["params"]]
            groups.append(packed)
        state = {}
        for g in self.param_groups:
            for p in g["params"]:
                if p in self.state:
                    state[index[id(p)]] = dict(self.state[p])
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore hyper-parameters and state saved by ``state_dict`` (state tensors
        are moved to their parameter's device, floating ones cast to its dtype)."""
        if not isinstance(state_dict, dict) or "state" not in state_dict \
                or "param_groups" not in state_dict:
            raise ValueError("optimizer state dict must be a dict with 'state' and "
                             "'param_groups'")
        saved = state_dict["param_groups"]
        if len(saved) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        for mine, theirs in zip(self.param_groups, saved, strict=True):
            if len(mine["params"]) != len(theirs["params"]):
                raise ValueError("loaded state dict contains a parameter group that doesn't "
                                 "match the size of optimizer's group")
        by_index = {}
        for mine, theirs in zip(self.param_groups, saved, strict=True):
            for p, i in zip(mine["params"], theirs["params"], strict=True):
                by_index[int(i)] = p
        state: dict = {}
        for key, st in state_dict["state"].items():
            p = by_index.get(int(key))
            if p is None:
                continue
            state[p] = {k: self._cast_state(p, k, v) for k, v in st.items()}
        self.state = state
        for mine, theirs in zip(self.param_groups, saved, strict=True):
            for k, v in theirs.items():
                if k != "params":
                    mine[k] = copy.deepcopy(v)

    @staticmethod
    def _cast_state(p: Tensor, key: str, v):
        if not isinstance(v, Tensor):
            return v
        if key == "step":
            return v
        out = v.to(p.device)
        if out.dtype.is_floating_point and p.dtype.is_floating_point and out.dtype is not p.dtype:
            out = out.to(p.dtype)
        return out.clone() if out is v else out

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k in sorted(g):
                if k != "params":
                    lines.append(f"    {k}: {g[k]}")
        lines.append(")")
        return "\n".join(lines)

    def _grouped(self, group: dict):
        """Parameters of ``group`` that have a gradient, and those gradients."""
        params, grads = [], []
        for p in group["params"]:
            g = p.grad
            if g is not None:
                params.append(p)
                grads.append(g)
        return params, grads


def _check(name: str, value, low=0.0, *, inclusive=True) -> None:
    ok = value >= low if inclusive else value > low
    if not ok:
        raise ValueError(f"Invalid {name}: {value}")


def _check_betas(betas) -> tuple[float, float]:
    """Adam-style ``betas``: two coefficients in [0, 1) (PyTorch's messages)."""
    for i in (0, 1):
        if not 0.0 <= betas[i] < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {betas[i]}")
    return tuple(betas)
