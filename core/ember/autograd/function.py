"""Custom differentiable operations: subclass ``Function`` with static ``forward`` and
``backward`` and call ``MyFn.apply(...)``::

    class Exp(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, grad):
            (y,) = ctx.saved_tensors
            return grad * y

``forward`` runs without recording; ``backward`` returns one gradient per ``forward``
input (``None`` for inputs without one).  A ``backward`` written in ember ops is itself
differentiable (``create_graph=True``).
"""

from __future__ import annotations

import weakref
from typing import Any

from ..dispatch import state
from ..tensor import Tensor
from .graph import FREED_MESSAGE, Node, alias, fit, gradient_edge, version_error

__all__ = ["Function", "FunctionCtx", "once_differentiable"]


class FunctionCtx:
    """The ``ctx`` of a custom Function: what ``forward`` leaves for ``backward``."""

    def save_for_backward(self, *tensors: Tensor | None) -> None:
        """Keep tensors for ``backward`` (checked against later in-place changes)."""
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward can only save tensors, but argument {i} "
                                f"is of type {type(t).__name__}")
        self._to_save = tensors

    def mark_non_differentiable(self, *tensors: Tensor) -> None:
        """Outputs that get no gradient (they will not require grad)."""
        self._non_differentiable = {id(t) for t in tensors}

    def mark_dirty(self, *tensors: Tensor) -> None:
        """Inputs that ``forward`` modified in place (with ember ops, which bump their
        version counters); they are returned as outputs with this node as history."""
        self._dirty = tensors

    def set_materialize_grads(self, value: bool) -> None:
        """Whether ``backward`` gets zeros (default) or ``None`` for missing gradients."""
        self.materialize_grads = value

    materialize_grads = True
    needs_input_grad: tuple = ()

    @property
    def saved_tensors(self) -> tuple:
        node = self._node()
        if node is None:
            raise RuntimeError(FREED_MESSAGE)
        if node._freed:
            raise RuntimeError(FREED_MESSAGE)
        out = []
        for item in node._saved:
            if item is None:
                out.append(None)
            elif item.__class__ is Tensor:
                t, v = item, node._versions[len(out)]
                if t._version != v:
                    raise RuntimeError(version_error(t, v))
                out.append(t)
            else:
                # A saved output is kept as its data (see OpNode._result); rebuilt here.
                data, dev, vc, v, nr = item
                t = alias(data, dev)
                t._vc = vc
                if vc.value != v:
                    raise RuntimeError(version_error(t, v, node, nr))
                if state.grad_enabled:
                    t._requires_grad = True
                    t.grad_fn = node
                    t._output_nr = nr
                out.append(t)
        return tuple(out)


class BackwardCFunction(Node):
    """The node of one ``Function.apply`` call (named ``<Function>Backward``)."""

    __slots__ = ("ctx", "_fn", "_inputs_meta", "_saved", "_versions", "_freed", "_n_out",
                 "_out_meta", "_edge_inputs")

    @property
    def n_outputs(self) -> int:
        return self._n_out

    def name(self) -> str:
        return f"{self._fn.__name__}Backward"

    def apply(self, grads: list, create_graph: bool) -> list:
        ctx = self.ctx
        if self._freed:
            raise RuntimeError(FREED_MESSAGE)
        if ctx.materialize_grads:
            from ..ops import zeros
            grads = [g if g is not None else zeros(shape, dtype=dt, device=dev)
                     for g, (shape, dt, dev) in zip(grads, self._out_meta, strict=False)]
        res = self._fn.backward(ctx, *grads)
        if not isinstance(res, tuple):
            res = (res,)
        n = len(self._inputs_meta)
        if len(res) != n:
            if len(res) > n and all(r is None for r in res[n:]):
                res = res[:n]
            else:
                raise RuntimeError(f"function {self.name()} returned an incorrect number of "
                                   f"gradients (expected {n}, got {len(res)})")
        out = []
        for i, (g, meta) in enumerate(zip(res, self._inputs_meta, strict=False)):
            if meta is None or g is None:
                out.append(None)
                continue
            if not isinstance(g, Tensor):
                raise TypeError(f"function {self.name()} returned a gradient of type "
                                f"{type(g).__name__} at index {i}, expected a Tensor or None")
            if g._data.shape != meta._shape:
                try:
                    g = fit(g, meta)
                except RuntimeError:
                    raise RuntimeError(
                        f"Function {self.name()} returned an invalid gradient at index {i} "
                        f"- got {list(g._data.shape)} but expected shape compatible with "
                        f"{list(meta._shape)}") from None
            out.append(fit(g, meta))
        return [out[k] for k in self._edge_inputs]

    def release(self) -> None:
        if self._saved:
            self._freed = True
            self._saved = ()


class _FunctionMeta(type):
    def __init__(cls, name, bases, ns):
        super().__init__(name, bases, ns)
        cls._node_cls = type(f"{name}Backward", (BackwardCFunction,), {"__slots__": ()})


class Function(metaclass=_FunctionMeta):
    """Base class of custom differentiable operations (see the module docstring)."""

    @staticmethod
    def forward(ctx: FunctionCtx, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("You must implement the forward function for custom "
                                  "autograd.Function.")

    @staticmethod
    def backward(ctx: FunctionCtx, *grad_outputs: Any) -> Any:
        raise NotImplementedError("You must implement the backward function for custom "
                                  "autograd.Function.")

    @staticmethod
    def setup_context(ctx: FunctionCtx, inputs: tuple, output: Any) -> None:
        raise NotImplementedError  # only used when a subclass defines it

    def __init__(self, *args, **kwargs) -> None:
        raise RuntimeError(f"{type(self).__name__}: custom Functions are used through "
                           f"their class, as {type(self).__name__}.apply(...)")

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        """Run ``forward`` without recording and, if an input requires grad, record
        one node whose backward is ``cls.backward``."""
        from .graph import TensorMeta
        ctx = FunctionCtx()
        tensors = [a if isinstance(a, Tensor) else None for a in args]
        record = state.grad_enabled and any(t is not None and t._requires_grad
                                            for t in tensors)
        ctx.needs_input_grad = tuple(t is not None and t._requires_grad and record
                                     for t in tensors)
        custom_setup = cls.setup_context is not Function.setup_context
        prev = state.grad_enabled
        state.grad_enabled = False
        try:
            if custom_setup:
                out = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, out)
            else:
                out = cls.forward(ctx, *args, **kwargs)
        finally:
            state.grad_enabled = prev
        if not record:
            return out
        for t in getattr(ctx, "_dirty", ()):
            if t.grad_fn is None and t._requires_grad:
                raise RuntimeError(f"{cls.__name__}: a leaf Variable that requires grad is "
                                   f"being used in an in-place operation.")
        outs = out if isinstance(out, tuple) else (out,)
        node = cls._node_cls.__new__(cls._node_cls)
        node.ctx = ctx
        node._fn = cls
        node._freed = False
        node._n_out = len(outs)
        node._inputs_meta = tuple(TensorMeta.of(t) if t is not None else None for t in tensors)
        edges, edge_inputs = [], []
        for i, t in enumerate(tensors):
            if t is not None:
                e = gradient_edge(t)
                if e is not None:
                    edges.append(e)
                    edge_inputs.append(i)
        node.next_edges = edges
        node._edge_inputs = tuple(edge_inputs)
        ctx._node = weakref.ref(node)  # the node holds ctx: no reference cycle
        nondiff = getattr(ctx, "_non_differentiable", ())
        input_ids = {id(t) for t in tensors if t is not None}
        wrapped = []
        for nr, o in enumerate(outs):
            if isinstance(o, Tensor):
                dirty = getattr(ctx, "_dirty", ())
                if id(o) in input_ids and not any(o is t for t in dirty):
                    o = o.detach()  # returning an input unchanged: a new tensor, as PyTorch
                if id(o) not in nondiff and o.dtype.is_floating_point:
                    o._requires_grad = True
                    o.grad_fn = node
                    o._output_nr = nr
            wrapped.append(o)
        node._out_meta = tuple((tuple(o.shape), o.dtype, o.device) if isinstance(o, Tensor)
                               else ((), None, None) for o in wrapped)
        saved, versions = [], []
        for t in getattr(ctx, "_to_save", ()):
            nr = next((k for k, o in enumerate(wrapped) if o is t), None)
            if t is None:
                saved.append(None)
            elif nr is None:
                saved.append(t)
            else:
                # Not the output itself: it holds this node, and a reference back would
                # be a cycle only the GC frees.
                vc = t._version_counter()
                saved.append((t._data, t._device, vc, vc.value, nr))
            versions.append(t._version if t is not None else 0)
        node._saved = tuple(saved)
        node._versions = tuple(versions)
        # ctx must not keep the outputs (they hold the node, which holds ctx).
        ctx.__dict__.pop("_to_save", None)
        ctx.__dict__.pop("_non_differentiable", None)
        return tuple(wrapped) if isinstance(out, tuple) else wrapped[0]


def once_differentiable(fn):
    """Mark a ``backward`` as not differentiable further: it runs without recording."""
    import functools

    @functools.wraps(fn)
    def wrapper(ctx, *grads):
        prev = state.grad_enabled
        state.grad_enabled = False
        try:
            return fn(ctx, *grads)
        finally:
            state.grad_enabled = prev
    return wrapper
