"""The recorded graph: nodes (``grad_fn``), edges, saved tensors and hooks.

A node is created per recorded op call.  It holds the edges to the nodes of its
differentiable inputs (``(node, output_nr)`` pairs; ``None`` for inputs that need no
gradient), the call's arguments (tensors the derivative saves are kept with their
version; other tensors are replaced by a data-less :class:`TensorMeta`, so the graph
does not keep every intermediate alive), and the rule to apply.  Leaves that require
grad get one :class:`AccumulateGrad` node each, shared by every op that reads them.
"""

from __future__ import annotations

import weakref

from .. import dtypes as _dt
from ..tensor import Size, Tensor

__all__ = ["Node", "OpNode", "AccumulateGrad", "TensorMeta", "RemovableHandle",
           "gradient_edge", "leaf_edge", "alias", "FREED_MESSAGE"]

FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or directly access saved "
    "tensors after they have already been freed). Saved intermediate values of the "
    "graph are freed when you call .backward() or autograd.grad(). Specify "
    "retain_graph=True if you need to backward through the graph a second time or if "
    "you need to access saved tensors after calling backward.")

_FROM_NP = _dt.FROM_NP


class TensorMeta:
    """What a derivative may know about an input it did not save: shape, dtype, device."""

    __slots__ = ("_shape", "_np", "device")

    def __init__(self, shape: tuple, np_dtype, device) -> None:
        self._shape = shape
        self._np = np_dtype
        self.device = device

    @classmethod
    def of(cls, t: Tensor) -> TensorMeta:
        return cls(t._data.shape, t._data.dtype, t._device)

    @property
    def shape(self) -> Size:
        return Size(self._shape)

    def size(self, dim: int | None = None):
        return Size(self._shape) if dim is None else self._shape[dim]

    @property
    def dtype(self) -> _dt.dtype:
        return _FROM_NP[self._np]

    @property
    def ndim(self) -> int:
        return len(self._shape)

    def dim(self) -> int:
        return len(self._shape)

    def numel(self) -> int:
        n = 1
        for s in self._shape:
            n *= s
        return n

    def __repr__(self) -> str:
        return f"TensorMeta(shape={list(self._shape)}, dtype={self.dtype}, device={self.device})"


class RemovableHandle:
    """Returned by ``register_hook``: ``handle.remove()`` unregisters the hook."""

    __slots__ = ("_hooks", "_key")

    def __init__(self, hooks: dict, key) -> None:
        self._hooks = hooks
        self._key = key

    def remove(self) -> None:
        self._hooks.pop(self._key, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


class _HookDict(dict):
    """Ordered hooks keyed by a counter (so handles can remove them)."""

    __slots__ = ("_next",)

    def add(self, fn) -> RemovableHandle:
        key = getattr(self, "_next", 0)
        self._next = key + 1
        self[key] = fn
        return RemovableHandle(self, key)


class Node:
    """A ``grad_fn``: receives the gradients of its outputs and returns those of its
    inputs, in the order of ``next_functions``."""

    # Rarely set attributes (hooks, several outputs, freed) are class defaults and go to
    # the instance __dict__ when set, so recording a node assigns only the slots.
    __slots__ = ("next_edges", "__dict__", "__weakref__")
    _pre_hooks = None
    _post_hooks = None

    def __init__(self) -> None:
        self.next_edges: list = []

    n_outputs = 1

    def name(self) -> str:
        return type(self).__name__

    @property
    def next_functions(self) -> tuple:
        """``((node, output_nr) | (None, 0), ...)`` for each input, as PyTorch."""
        return tuple(e if e is not None else (None, 0) for e in self.next_edges)

    def apply(self, grads: list, create_graph: bool) -> list:
        raise NotImplementedError

    def release(self) -> None:
        """Free saved tensors after a backward pass without ``retain_graph``."""

    def register_hook(self, fn) -> RemovableHandle:
        """``fn(grad_inputs, grad_outputs)``, called after the node runs."""
        if self._post_hooks is None:
            self._post_hooks = _HookDict()
        return self._post_hooks.add(fn)

    def register_prehook(self, fn) -> RemovableHandle:
        """``fn(grad_outputs) -> new grad_outputs | None``, called before it runs."""
        return self._tensor_hooks(None).add(fn)

    def _tensor_hooks(self, nr) -> _HookDict:
        """Hooks for output ``nr`` (``None``: hooks on all outputs)."""
        if self._pre_hooks is None:
            self._pre_hooks = {}
        h = self._pre_hooks.get(nr)
        if h is None:
            h = self._pre_hooks[nr] = _HookDict()
        return h

    def __repr__(self) -> str:
        return f"<{self.name()} object at {id(self):#x}>"


class AccumulateGrad(Node):
    """The node of a leaf that requires grad: adds the incoming gradient to ``.grad``.

    The leaf holds its node (made once, reused by every graph that reads the leaf); the
    node holds the leaf weakly, so there is no reference cycle.
    """

    __slots__ = ("_ref",)

    def __init__(self, variable: Tensor) -> None:
        self.next_edges = []
        self._ref = weakref.ref(variable)

    @property
    def variable(self) -> Tensor | None:
        return self._ref()


def alias(data, dev) -> Tensor:
    """A tensor over a saved output's buffer.  The output owns the buffer: the alias
    must not count it again in the allocator statistics."""
    t = Tensor._make(data, dev)
    if t._owned:
        from ..tensor import OBSERVED_ALLOCATORS
        OBSERVED_ALLOCATORS[dev.type].record_free(t._owned)
        t._owned = 0
    return t


def gradient_edge(t: Tensor):
    """The edge a gradient for ``t`` flows into, or ``None`` if it needs none."""
    fn = t.grad_fn
    if fn is not None:
        return (fn, t._output_nr)
    if not t._requires_grad:
        return None
    return leaf_edge(t)


def leaf_edge(t: Tensor) -> tuple:
    """``(node, 0)`` for the leaf's unique ``AccumulateGrad`` node.  Made once and kept
    on the leaf (edges are read-only), so recording an op that reads a parameter
    allocates no edge."""
    e = t.__dict__.get("_grad_edge")
    if e is None:
        e = t.__dict__["_grad_edge"] = (AccumulateGrad(t), 0)
    return e


class OpNode(Node):
    """The node of one recorded op call (subclassed per op as ``<Op>Backward0``)."""

    # n_outputs: Node's class default (1), set on the instance for several outputs.
    # Freed (by ``release``) is ``_args is None``: record always sets a list.
    __slots__ = ("_args", "_versions", "_result")
    #: the op's :class:`~ember.autograd.rules.Derivative` (a class attribute of each
    #: op's node class: one store less per recorded call)
    _deriv = None

    def _unpack_result(self, create_graph):
        out = []
        for nr, item in enumerate(self._result):
            if item is None:
                out.append(None)
                continue
            data, dev, owner, version = item
            t = alias(data, dev)
            if owner.__class__ is weakref.ref:
                o = owner()
                if o is not None:  # alive: it (or an alias of it) may have changed
                    t._vc = vc = o._version_counter()
                    if vc.value != version:
                        raise RuntimeError(version_error(t, version, self, nr))
            else:  # the shared counter of a view
                t._vc = owner
                if owner.value != version:
                    raise RuntimeError(version_error(t, version, self, nr))
            if create_graph and t.dtype._kind in "fc":
                # The saved output stands for the output itself in a higher-order graph.
                t._requires_grad = True
                t.grad_fn = self
                t._output_nr = nr
            out.append(t)
        return out[0] if self.n_outputs == 1 else tuple(out)

    def apply(self, grads: list, create_graph: bool) -> list:
        # The saved arguments (unsaved tensors are already TensorMeta: record made them),
        # their versions checked, and the saved result.
        d = self._deriv
        args = self._args
        if args is None:
            raise RuntimeError(FREED_MESSAGE)
        vs = self._versions
        if vs:
            for i, v in zip(d.save_idx, vs, strict=True):
                t = args[i]
                if t.__class__ is Tensor:
                    vc = t._vc
                    if (0 if vc is None else vc.value) != v:
                        raise RuntimeError(version_error(t, v))
        res = self._result
        if res is not None:
            res = self._unpack_result(create_graph)
        g = grads[0] if self.n_outputs == 1 else tuple(grads)
        if d.joint is not None:
            needs = [f is not None and e is not None
                     for f, e in zip(d.formulas, self.next_edges, strict=True)]
            gs = (d.joint(g, *args, needs=needs, result=res) if d.save_result
                  else d.joint(g, *args, needs=needs))
            if gs is not NotImplemented:
                return [fit(gi, args[i], d) if nd and gi is not None else None
                        for gi, nd, i in zip(gs, needs, d.tensor_pos, strict=True)]
        if not d.has_list:  # one edge per tensor input, fitted inline when it fits
            out = []
            for e, f, i in zip(self.next_edges, d.formulas, d.tensor_pos, strict=True):
                if f is None or e is None:
                    out.append(None)
                    continue
                gi = f(g, *args, result=res) if d.save_result else f(g, *args)
                if gi is not None:
                    x = args[i]
                    gd = gi._data
                    if x.__class__ is Tensor:
                        xd = x._data
                        if gd.shape != xd.shape or gd.dtype != xd.dtype:
                            gi = fit(gi, x, d)
                    elif gd.shape != x._shape or gd.dtype != x._np:
                        gi = fit(gi, x, d)
                out.append(gi)
            return out
        out = []
        for k, i in enumerate(d.tensor_pos):
            f = d.formulas[k]
            x = args[i]
            if d.is_list[k]:
                edges = self.next_edges[len(out):len(out) + len(x)]
                if f is None or all(e is None for e in edges):
                    out.extend([None] * len(x))
                    continue
                gs = f(g, *args, result=res) if d.save_result else f(g, *args)
                out.extend(None if e is None or gi is None else fit(gi, xi, d)
                           for e, gi, xi in zip(edges, gs, x, strict=False))
                continue
            if f is None or self.next_edges[len(out)] is None:
                out.append(None)
                continue
            gi = f(g, *args, result=res) if d.save_result else f(g, *args)
            out.append(None if gi is None else fit(gi, x, d))
        return out

    def release(self) -> None:
        if self._versions or self._result is not None:
            self._args = None
            self._result = None


def fit(g: Tensor, x, deriv=None) -> Tensor:
    """``g`` summed down to ``x``'s shape (undoing broadcasting) and cast to its dtype."""
    if x.__class__ is Tensor:
        shape, np_dtype = x._data.shape, x._data.dtype
    else:
        shape, np_dtype = x._shape, x._np
    gs = g._data.shape
    if gs != shape:
        g = sum_to(g, shape, deriv)
    if g._data.dtype != np_dtype:
        if g._data.dtype.kind == "c" and np_dtype.kind != "c":
            # A real input of a complex computation: its gradient is the real part
            # (PyTorch's handle_r_to_c).
            from ..ops import real
            g = real(g)
        g = g.astype(_FROM_NP[np_dtype])
    return g


def sum_to(g: Tensor, shape: tuple, deriv=None) -> Tensor:
    """Sum ``g`` over the dimensions broadcasting added or expanded to reach ``shape``."""
    gs = g._data.shape
    lead = len(gs) - len(shape)
    if lead < 0 or any(s != 1 and s != gs[lead + i] for i, s in enumerate(shape)):
        name = deriv.op.name if deriv is not None else "?"
        raise RuntimeError(f"{name} backward: gradient of shape {list(gs)} can't be "
                           f"reduced to the input's shape {list(shape)}")
    kept = tuple(lead + i for i, s in enumerate(shape) if s == 1 and gs[lead + i] != 1)
    if not kept:  # only broadcast's new leading dims (a bias): one sum does it
        return g.sum(tuple(range(lead)))
    g = g.sum(tuple(range(lead)) + kept, True)
    return g.reshape(shape) if g._data.shape != shape else g


def version_error(t, expected: int, node=None, nr: int | None = None) -> str:
    fn = node if node is not None else t.grad_fn
    desc = f"[{t.dtype.name} {list(t.shape)}]"
    if fn is not None:
        desc += f", which is output {nr if nr is not None else t._output_nr} of {fn.name()},"
    return (f"one of the variables needed for gradient computation has been modified by "
            f"an inplace operation: {desc} is at version {t._version}; expected version "
            f"{expected} instead. Hint: the operation that saved it is in the graph's "
            f"history; avoid modifying it in place (use an out-of-place op or clone() it "
            f"first).")
