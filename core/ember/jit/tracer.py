"""Recording: the ``Tracer`` dispatch key's kernel and one tracing session.

While a session records, ``"Tracer"`` is among the dispatcher's thread-local keys, so
every op the traced function calls -- its forward, the backward formulas that
``loss.backward()`` runs, the optimizer's fused update -- reaches :func:`trace_kernel`
first.  The kernel runs the op for real below itself (with tracing off, so the ops a
decomposition or a fallback calls are not recorded twice) and appends one node.  Tensors
are told apart by identity through weak references (the session keeps nothing alive:
the autograd engine's "steal the gradient if nobody holds it" decisions come out as in
eager mode, so the trace computes exactly what eager mode computes).
"""

from __future__ import annotations

import threading
import weakref

from .. import dispatch as _dispatch
from .. import schema as _schema
from ..tensor import Tensor, _tracing
from .graph import DETACH, Graph, Node

__all__ = ["TracingError", "Session", "trace_kernel"]


class TracingError(RuntimeError):
    """The traced function cannot be replayed as a graph (the message says why)."""


class Session:
    """One traced call being recorded into ``graph``."""

    def __init__(self) -> None:
        self.graph = Graph()
        self.thread = threading.get_ident()
        self.depth = 0  # > 0 while an op runs below the Tracer key
        self._vid: dict[int, int] = {}  # id(tensor) -> value id, while the tensor lives
        self._refs: dict[int, weakref.ref] = {}
        # id(native buffer) -> (the last value on it, the buffer): autograd keeps saved
        # outputs as bare buffers and wraps them again in backward.  Holding the buffers
        # (not the tensors) until the trace ends keeps ids unique and changes nothing
        # the engine decides by reference counts.
        self._by_data: dict[int, tuple] = {}
        self._next = 0
        self.captured_order: list[int] = []

    # -- values ------------------------------------------------------------------------------
    def _new(self, t: Tensor) -> int:
        v = self._next
        self._next += 1
        key = id(t)
        self._vid[key] = v
        vid = self._vid

        def forget(_, key=key, v=v):
            if vid.get(key) == v:
                del vid[key]
        self._refs[v] = weakref.ref(t, forget)
        self._by_data[id(t._data)] = (v, t._data)
        self.graph.meta[v] = (tuple(t.shape), t.dtype.name)
        return v

    def value(self, t: Tensor) -> int:
        """The value id of ``t``.  A tensor not seen before is either another wrapper of
        a known value's buffer (autograd saves outputs that way): an alias node; or a
        tensor from outside: captured."""
        v = self._vid.get(id(t))
        if v is None:
            known = self._by_data.get(id(t._data))
            if known is not None and known[1] is t._data:
                src = known[0]
                v = self._new(t)
                self.graph.nodes.append(Node(DETACH, (("v", src),), (v,), "one", t.device,
                                             _dispatch.state.grad_enabled))
                return v
            v = self._new(t)
            self.graph.captured[v] = t
            self.captured_order.append(v)
        return v

    def add_input(self, t: Tensor) -> int:
        v = self._vid.get(id(t))
        if v is None:
            v = self._new(t)
        self.graph.inputs.append(v)
        return v

    # -- what the hooks report ----------------------------------------------------------------
    def record(self, od, dev, args, out) -> None:
        enc = []
        for a in args:
            if isinstance(a, Tensor):
                enc.append(("v", self.value(a)))
            elif a.__class__ is list and a and all(isinstance(x, Tensor) for x in a):
                enc.append(("l", tuple(self.value(x) for x in a)))
            else:
                enc.append(("c", a))
        if isinstance(out, Tensor):
            outs, kind = (self._out(out),), "one"
        elif isinstance(out, (tuple, list)) and all(isinstance(x, Tensor) for x in out):
            outs, kind = tuple(self._out(x) for x in out), "tuple"
        elif out is None:
            outs, kind = (), "none"
        else:
            raise TracingError(f"ember.jit: {od.name}() returned a {type(out).__name__}, "
                               f"not tensors; it can't be part of a traced graph")
        self.graph.nodes.append(Node(od.name, tuple(enc), outs, kind, dev,
                                     _dispatch.state.grad_enabled))

    def _out(self, t: Tensor) -> int:
        v = self._vid.get(id(t))
        return v if v is not None else self._new(t)  # an in-place op returns its input

    def alias(self, src: Tensor, out: Tensor) -> None:
        if self.depth or threading.get_ident() != self.thread:
            return
        v = self.value(src)
        self.graph.nodes.append(Node(DETACH, (("v", v),), (self._new(out),), "one",
                                     src.device, _dispatch.state.grad_enabled))

    def read(self, t: Tensor) -> None:
        if self.depth or threading.get_ident() != self.thread:
            return
        raise TracingError(
            "ember.jit.trace: the traced function reads a tensor's data in Python "
            "(.item(), .tolist(), .numpy(), bool(tensor), print ...): the graph would "
            "bake in this call's value and replay it for every call. Move the read out of "
            "the traced function (return the tensor instead), or do not trace it.")


_active = threading.local()


def current() -> Session | None:
    return getattr(_active, "session", None)


def _autograd_decomposes(od, args) -> bool:
    """Whether Autograd, below, will run ``od`` as its decomposition with recording on
    (a composite without a derivative of its own): its inner ops then hold what backward
    reads, so the tracer records them instead of the composite."""
    if od.derivative is not None:
        return False
    st = _dispatch.state
    if not st.grad_enabled or not _dispatch._any_requires_grad(od, args):
        return False
    if od.is_inplace:
        base = _schema.registry.get(od.inplace_of) if od.inplace_of else None
        if base is not None and base.derivative is not None:
            return False
        if base is not None and base.decomposition is not None:
            return True
    return not od.is_primitive and od.decomposition is not None


def trace_kernel(od, dev, args):
    """The ``Tracer`` key's boxed kernel: run the op below the key, then record it."""
    if _autograd_decomposes(od, args):
        return _dispatch.redispatch(od, dev, args, "Tracer")
    s = current()
    st = _dispatch.state
    keys = st.keys
    st.keys = tuple(k for k in keys if k != "Tracer")
    if s is not None:
        s.depth += 1
    try:
        out = _dispatch.redispatch(od, dev, args, "Tracer")
    finally:
        st.keys = keys
        if s is not None:
            s.depth -= 1
    if s is not None:
        s.record(od, dev, args, out)
    return out


class recording:
    """``with recording(session):`` -- the Tracer key is on and ``session`` records."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def __enter__(self) -> Session:
        if current() is not None:
            raise TracingError("ember.jit.trace: already tracing (nested traces are not "
                               "supported)")
        _dispatch.register_fallback("Tracer", trace_kernel)
        _active.session = self.session
        _tracing[0] = self.session
        st = _dispatch.state
        self._keys = st.keys
        st.keys = ("Tracer", *st.keys)
        return self.session

    def __exit__(self, *exc) -> None:
        _dispatch.state.keys = self._keys
        _tracing[0] = None
        _active.session = None
