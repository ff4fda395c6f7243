"""The traced program: a straight line of ember ops over numbered values.

A value is an input of the call, a tensor *captured* from outside (a parameter, an
optimizer buffer: used by reference, so in-place updates reach it), a *constant* (a
tensor made outside ember's ops that was equal on two traced calls: baked), or the
output of a node.  Node arguments are ``("v", id)`` for a tensor, ``("l", ids)`` for a
tensor list, and ``("c", value)`` for anything else (numbers, shapes, dtypes, devices).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Node", "Graph", "DETACH", "flatten", "unflatten"]

#: The one node that is not a schema op: ``Tensor.detach`` (an alias, not a kernel).
DETACH = "detach"


@dataclass
class Node:
    """One op call: ``outs = op(*args)``; ``out_kind`` is ``"one"``, ``"tuple"`` or
    ``"none"``; ``grad_enabled`` is the grad mode it ran under (replay through the
    dispatcher restores it)."""

    op: str
    args: tuple
    outs: tuple[int, ...]
    out_kind: str
    device: Any
    grad_enabled: bool = False

    def key(self, captures: dict[int, int]) -> tuple:
        """What two traces must agree on (captured values by their position)."""
        def enc(a):
            kind, x = a
            if kind == "v":
                return ("v", captures.get(x, x) if x in captures else x)
            if kind == "l":
                return ("l", tuple(captures.get(v, v) for v in x))
            return ("c", _const_key(x))
        return (self.op, tuple(enc(a) for a in self.args), self.outs, self.out_kind,
                str(self.device), self.grad_enabled)


def _const_key(x):
    if isinstance(x, float) and x != x:
        return ("nan",)
    if isinstance(x, (list, tuple)):
        return (type(x).__name__, tuple(_const_key(v) for v in x))
    if isinstance(x, (int, float, str, bool, type(None))):
        return x
    return (type(x).__name__, id(x) if type(x).__name__ == "Generator" else repr(x))


@dataclass
class Graph:
    """``inputs`` (value ids, in the flattened order of the call's tensor arguments),
    ``captured`` (value id -> tensor, by reference), ``constants`` (value id -> tensor),
    ``nodes``, ``outputs`` (``(spec, value ids)``: the returned nest, see ``flatten``), and
    ``grads`` (captured leaf value id -> value id its ``.grad`` holds after the call)."""

    inputs: list[int] = field(default_factory=list)
    captured: dict[int, Any] = field(default_factory=dict)
    constants: dict[int, Any] = field(default_factory=dict)
    nodes: list[Node] = field(default_factory=list)
    outputs: Any = field(default_factory=lambda: (("const", None), []))
    grads: dict[int, int] = field(default_factory=dict)
    meta: dict[int, tuple] = field(default_factory=dict)  # value id -> (shape, dtype)
    names: dict[int, str] = field(default_factory=dict)  # captured id -> a readable name
    grad_enabled: bool = True

    def __str__(self) -> str:
        def val(v: int) -> str:
            if v in self.captured:
                return f"%{self.names.get(v, f'c{v}')}"
            return f"%{v}"

        def arg(a) -> str:
            kind, x = a
            if kind == "v":
                return val(x)
            if kind == "l":
                return "[" + ", ".join(val(v) for v in x) + "]"
            return repr(x)

        def typ(v: int) -> str:
            shape, dtype = self.meta.get(v, ("?", "?"))
            return f"{dtype}{list(shape) if shape != '?' else ''}"

        head = ", ".join(f"%{v}: {typ(v)}" for v in self.inputs)
        lines = [f"graph({head}):"]
        for n in self.nodes:
            outs = ", ".join(f"%{v}: {typ(v)}" for v in n.outs) or "_"
            lines.append(f"  {outs} = {n.op}({', '.join(arg(a) for a in n.args)})"
                         f"{'' if n.grad_enabled else '  # no_grad'}")
        spec, vids = self.outputs
        lines.append(f"  return {unflatten(spec, [val(v) for v in vids])}".replace("'", ""))
        return "\n".join(lines)


def flatten(obj, is_leaf) -> tuple[Any, list]:
    """``(spec, leaves)`` of a nest of tuples, lists and dicts (PyTorch's pytrees, for
    the call's inputs and outputs)."""
    leaves: list = []

    def go(x):
        if is_leaf(x):
            leaves.append(x)
            return "T"
        if isinstance(x, (tuple, list)):
            return (type(x).__name__, [go(v) for v in x])
        if isinstance(x, dict):
            return ("dict", list(x), [go(v) for v in x.values()])
        return ("const", x)
    return go(obj), leaves


def unflatten(spec, leaves: list):
    """The nest ``spec`` describes, with ``leaves`` in its ``"T"`` places."""
    it = iter(leaves)

    def go(s):
        if s == "T":
            return next(it)
        kind = s[0]
        if kind == "tuple":
            return tuple(go(v) for v in s[1])
        if kind == "list":
            return [go(v) for v in s[1]]
        if kind == "dict":
            return {k: go(v) for k, v in zip(s[1], s[2], strict=True)}
        return s[1]
    return go(spec)
