"""Declaring derivatives: ``derivative(op, save=..., <input>=formula, ...)``.

A derivative is declared beside its op's schema, in the ``# --- derivatives ---``
section at the bottom of the op's module::

    derivative(mul, save=("self", "other"),
               self=lambda g, self, other: g * other,
               other=lambda g, self, other: g * self)

* One formula per differentiable tensor input, named like the schema's argument.  It
  receives the output gradient ``g`` (a tuple of them, ``None`` where no gradient
  arrived, for ops with several outputs) and the call's arguments in schema order,
  and returns the gradient of that input (a list for ``Tensor[]`` inputs).  Only the
  formulas of inputs that need a gradient run.
* ``save`` names the tensor arguments whose *values* the formulas read, and
  ``"result"`` for the op's output (passed as keyword ``result=``).  Saved tensors are
  checked against in-place modification at backward time.  Other tensor arguments
  reach the formulas as :class:`~ember.autograd.graph.TensorMeta` (shape, dtype,
  device only), so the graph keeps no more memory alive than it needs.
* Formulas are written in ember ops: they run on every backend and are recorded
  themselves under ``create_graph=True`` (higher-order gradients).
* The engine sums each returned gradient down to its input's shape (undoing
  broadcasting and ``expand``) and casts it to the input's dtype, so formulas need not.
* In-place variants (``add_``) use their out-of-place op's derivative.  Composite ops
  without a derivative are differentiated through their decomposition.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ..schema import OpDef, get_op
from .graph import OpNode

__all__ = ["derivative", "Derivative", "nondifferentiable", "NONDIFFERENTIABLE_TAGS",
           "zeros_like", "unreduce"]

#: Ops with these tags produce no gradient (their outputs never require grad).
NONDIFFERENTIABLE_TAGS = frozenset({"creation", "random", "no_autograd"})


class Derivative:
    """The derivative of one op: a formula per tensor input and what to save."""

    __slots__ = ("op", "formulas", "tensor_pos", "is_list", "has_list", "save_idx",
                 "save_result", "node_cls", "saves_self", "plan", "cond", "joint")

    def __init__(self, od: OpDef, save, formulas: dict, uses: dict | None = None) -> None:
        self.op = od
        #: optional ``fn(g, *args, needs=...)`` computing every input's gradient in one
        #: call (a fused backward op); ``needs[k]`` says whether input k wants one
        self.joint = None
        names = [a.name for a in od.args]
        self.tensor_pos = od.tensor_args
        tensor_names = [od.args[i].name for i in od.tensor_args]
        unknown = set(formulas) - set(tensor_names)
        if unknown:
            raise ValueError(f"derivative({od.name}): {sorted(unknown)} are not tensor "
                             f"arguments of {od.signature}")
        self.formulas = tuple(formulas.get(n) for n in tensor_names)
        self.is_list = tuple(od.args[i].is_list for i in od.tensor_args)
        self.has_list = any(self.is_list)
        save = (save,) if isinstance(save, str) else tuple(save)
        bad = [s for s in save if s != "result" and s not in tensor_names]
        if bad:
            raise ValueError(f"derivative({od.name}): save={bad} names no tensor argument")
        self.save_idx = tuple(names.index(s) for s in save if s != "result")
        self.save_result = "result" in save
        self.saves_self = 0 in self.save_idx
        #: per tensor argument: (position, has a formula, saved, is a list) for recording
        self.plan = tuple((i, f is not None, i in self.save_idx, lst) for i, f, lst in
                          zip(self.tensor_pos, self.formulas, self.is_list, strict=True))
        self.node_cls = type(node_name(od.name), (OpNode,), {"__slots__": (), "_deriv": self})
        #: ((saved position, indices of the formulas that read it), ...) or None: all
        #: of ``save`` is kept whenever the op is recorded
        self.cond = None
        if uses is not None:
            if self.has_list:
                raise ValueError(f"derivative({od.name}): uses= is not supported for ops "
                                 f"with Tensor[] arguments")
            bad = set(uses) - set(formulas)
            if bad:
                raise ValueError(f"derivative({od.name}): uses= names {sorted(bad)}, which "
                                 f"have no formula")
            cond = []
            for i in self.save_idx:
                name = od.args[i].name
                users = tuple(k for k, n in enumerate(tensor_names)
                              if self.formulas[k] is not None and name in uses.get(n, ()))
                cond.append((i, users))
            unknown = {x for v in uses.values() for x in v} - set(save) - {"result"}
            if unknown:
                raise ValueError(f"derivative({od.name}): uses= reads {sorted(unknown)}, "
                                 f"which are not saved")
            self.cond = tuple(cond)

    def __repr__(self) -> str:
        return f"<derivative of {self.op.name}>"


def node_name(op: str) -> str:
    """PyTorch-style node class name: ``add`` -> ``AddBackward0``."""
    camel = "".join(p[:1].upper() + p[1:] for p in re.split(r"_+", op) if p)
    return f"{camel or 'Op'}Backward0"


def _opdef(op) -> OpDef:
    if isinstance(op, OpDef):
        return op
    if isinstance(op, str):
        return get_op(op)
    od = getattr(op, "op", None)
    if isinstance(od, OpDef):
        return od
    raise TypeError(f"derivative(): expected an op (its entry point, OpDef or name), "
                    f"got {op!r}")


def derivative(op, *, save=(), uses: dict | None = None, **formulas: Callable):
    """Declare the derivative of ``op`` (see the module docstring).

    ``uses`` (optional) maps an input's name to the saved tensors its formula reads
    (``uses={"self": ("other",), "other": ("self",)}`` for ``mul``): a tensor is then
    saved only when a formula that reads it will run, as PyTorch does.  Without it,
    everything in ``save`` is kept whenever the op is recorded.

    Without formulas it returns a decorator for the formula of the op's first tensor
    argument: ``@derivative(exp, save="result")``.
    """
    od = _opdef(op)
    if not formulas:
        def deco(fn: Callable) -> Callable:
            first = od.args[od.tensor_args[0]].name
            derivative(od, save=save, uses=uses, **{first: fn})
            return fn
        return deco
    if od.inplace_of is not None:
        raise ValueError(f"derivative({od.name}): in-place ops use the derivative of "
                         f"their out-of-place op ({od.inplace_of})")
    od.derivative = Derivative(od, save, formulas, uses)
    return od.derivative


def joint_derivative(op, fn: Callable) -> None:
    """Give ``op``'s derivative a joint formula ``fn(g, *args, needs)`` returning one
    gradient per tensor input (``None`` where ``needs`` is false), for ops whose
    backward is one fused kernel (``linear``).  The per-input formulas stay: they say
    what each gradient reads (``save``/``uses``) and serve where ``fn`` returns
    ``NotImplemented``."""
    od = _opdef(op)
    if od.derivative is None or od.derivative.has_list:
        raise ValueError(f"joint_derivative({od.name}): declare derivative() first "
                         f"(no Tensor[] arguments)")
    od.derivative.joint = fn


def nondifferentiable(od: OpDef) -> bool:
    """Whether ``od`` never produces gradients (by its tags)."""
    return bool(od.tags & NONDIFFERENTIABLE_TAGS) or od.promotion == "always_bool"


# --- helpers for formulas ------------------------------------------------------------

def zeros_like(g):
    """Zeros shaped like ``g`` (for ops whose derivative is zero almost everywhere)."""
    from ..ops import zeros
    return zeros(g._data.shape, dtype=g.dtype, device=g._device)


def unreduce(g, shape: tuple, dim, keepdim: bool):
    """``g`` of a reduction over ``dim`` of a tensor of ``shape``, with the reduced
    dimensions put back as size 1 (so it broadcasts against the input)."""
    from ..ops._rules import reduce_dims
    if keepdim or not shape:
        return g
    dims = reduce_dims(dim, len(shape), "backward")
    kept = tuple(1 if i in dims else s for i, s in enumerate(shape))
    return g.reshape(kept)
