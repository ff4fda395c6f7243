"""``ember.jit.trace``: the callable that traces, checks its guards and replays."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

from .. import dispatch as _dispatch
from ..amp.autocast_mode import autocast_state
from ..tensor import Tensor
from .graph import Graph, flatten, unflatten
from .passes import eliminate_dead_code, mutated_values
from .tracer import Session, TracingError, recording

__all__ = ["TracedFunction", "trace"]


def _is_tensor(x) -> bool:
    return isinstance(x, Tensor)


def _hashable(spec):
    if isinstance(spec, list):
        return tuple(_hashable(s) for s in spec)
    if isinstance(spec, tuple):
        return tuple(_hashable(s) for s in spec)
    if isinstance(spec, dict):
        return tuple((k, _hashable(v)) for k, v in spec.items())
    try:
        hash(spec)
        return spec
    except TypeError:
        return ("unhashable", id(spec))


def _same_values(a: Tensor, b: Tensor) -> bool:
    if a.shape != b.shape or a.dtype != b.dtype or a.device != b.device:
        return False
    x, y = a.detach().cpu()._data, b.detach().cpu()._data
    return bool(np.array_equal(x, y, equal_nan=x.dtype.kind in "fc"))


def _compare(old: Graph, new: Graph) -> str | None:
    """Why two traces of one call differ (``None`` if they agree); baked constants are
    moved from ``new.captured`` to ``new.constants``."""
    if len(old.nodes) != len(new.nodes):
        return (f"the calls ran {len(old.nodes)} and {len(new.nodes)} ops: the function "
                f"takes different paths on consecutive calls")
    for j, (a, b) in enumerate(zip(old.nodes, new.nodes, strict=True)):
        if a.key({}) != b.key({}):
            if a.op != b.op:
                return f"op {j} was {a.op}() in one call and {b.op}() in the next"
            for i, (x, y) in enumerate(zip(a.args, b.args, strict=True)):
                if x != y and not (x[0] == "c" and a.key({})[1][i] == b.key({})[1][i]):
                    return (f"argument {i} of {a.op}() (op {j}) was {_show(x)} in one call "
                            f"and {_show(y)} in the next: Python state that changes every "
                            f"call (a step counter, a schedule) can't be replayed from a "
                            f"graph; pass it in as a tensor (Adam/AdamW: capturable=True "
                            f"keeps their step counts as tensors)")
            return f"op {j}, {a.op}(), differs between calls ({a.key({})} vs {b.key({})})"
    if set(old.captured) != set(new.captured):
        return "the calls captured different tensors"
    for v, t in list(new.captured.items()):
        if old.captured[v] is t:
            continue
        if _same_values(old.captured[v], t) and v not in mutated_values(new):
            new.constants[v] = new.captured.pop(v)
            continue
        return (f"a tensor used by the call (value %{v}, {tuple(t.shape)} {t.dtype}) is a "
                f"new object with new values on every call, made outside ember's ops (from "
                f"numpy or Python data?): create it with ember ops inside the function, or "
                f"pass it in as an argument")
    return None


def _show(arg) -> str:
    kind, x = arg
    return f"%{x}" if kind == "v" else repr(x)


class TracedFunction:
    """A function (or module) traced into graphs, one per guard (the tensors' shapes,
    dtypes, devices and ``requires_grad``, the other arguments, the grad mode).

    A call with a new guard runs the function for real while recording it; the graph
    is accepted when two consecutive calls record the same one (``check=True``; the
    first call of a training step often differs: it creates the optimizer's state), and
    later calls replay it.  A function whose recordings keep differing runs eagerly with
    a warning, or raises ``TracingError`` in strict mode.
    """

    def __init__(self, fn: Callable, *, strict: bool = False, check: bool = True,
                 max_traces: int = 4) -> None:
        self.fn = fn
        self.strict = strict
        self.check = check
        self.max_traces = max_traces
        # guard -> [state, graph | None, replay | None, tries (while tracing) or the
        # output spec (once replaying; None for a single tensor)]
        self._entries: dict = {}
        self.last_graph: Graph | None = None

    # -- the call ------------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        if not kwargs and all(a.__class__ is Tensor for a in args):
            leaves, spec = args, len(args)  # the common case, without the pytree walk
        else:
            spec, leaves = flatten((args, kwargs), _is_tensor)
            spec = _hashable(spec)
        # Autocast's casts are recorded in the graph (its key sits above the tracer's),
        # so the active regions are part of the guard.
        guard = (spec, _dispatch.state.grad_enabled, autocast_state(),
                 tuple((t._data.shape, t._data.dtype, t._device, t._requires_grad)
                       for t in leaves))
        e = self._entries.get(guard)
        if e is not None and e[0] == "replay":
            out = e[2](*leaves)
            return out[0] if e[3] is None else unflatten(e[3], list(out))
        if e is not None and e[0] == "eager":
            return self.fn(*args, **kwargs)
        if e is None:
            if self.strict and self._entries:
                raise TracingError(f"ember.jit: a call whose guards differ from the traced "
                                   f"ones (strict mode): {_describe(leaves)}")
            e = self._entries[guard] = ["tracing", None, None, 0]
        return self._trace(e, list(leaves), args, kwargs)

    def _trace(self, e, leaves, args, kwargs):
        session = Session()
        for t in leaves:
            session.add_input(t)
        with recording(session):
            out = self.fn(*args, **kwargs)
            out_spec, out_leaves = flatten(out, _is_tensor)
            session.graph.outputs = (out_spec, [session.value(t) for t in out_leaves])
            g = session.graph
            for t in [*g.captured.values(), *leaves]:
                if t._requires_grad and t.grad is not None:
                    g.grads[session.value(t)] = session.value(t.grad)
        g.grad_enabled = _dispatch.state.grad_enabled
        e[3] += 1
        old = e[1]
        why = "first trace" if old is None else _compare(old, g) if self.check else None
        if why is None or not self.check:
            self._accept(e, g, out_leaves)
        elif e[3] >= self.max_traces:
            msg = f"ember.jit.trace: {e[3]} traced calls never agreed: {why}"
            if self.strict:
                raise TracingError(msg)
            warnings.warn(msg + "; running the function eagerly", RuntimeWarning,
                          stacklevel=3)
            e[0], e[1] = "eager", None
        else:
            e[1] = g
        return out

    def _accept(self, e, g: Graph, out_leaves) -> None:
        eliminate_dead_code(g)
        differentiable = g.grad_enabled and any(t._requires_grad for t in out_leaves)
        e[0], e[1], e[2] = "replay", g, _executor(g, differentiable)
        e[3] = None if g.outputs[0] == "T" else g.outputs[0]  # one tensor: no unflatten
        self.last_graph = g

    # -- what users look at ---------------------------------------------------------------------
    @property
    def graph(self) -> Graph:
        """The most recently accepted graph (printable)."""
        if self.last_graph is None:
            raise RuntimeError("ember.jit: nothing traced yet (call the traced function "
                               "twice with the same kinds of arguments)")
        return self.last_graph

    @property
    def code(self) -> str:
        """The source of the default executor's function for :attr:`graph`."""
        for e in self._entries.values():
            if e[1] is self.last_graph and e[2] is not None:
                return e[2].source
        return ""


def _executor(g: Graph, differentiable: bool):
    from .. import plugins
    from .executor import compile_graph
    devices = {n.device.type for n in g.nodes}
    if len(devices) == 1 and not differentiable:
        plugins.load_for(next(iter(devices)))
        fn = plugins.manager.hook.ember_graph_executor(graph=g,
                                                       device_type=next(iter(devices)))
        if fn is not None:
            return fn
    return compile_graph(g, through_dispatch=differentiable)


def _describe(leaves) -> str:
    return ", ".join(f"{t.dtype}{list(t.shape)} on {t.device}" for t in leaves)


def trace(fn: Callable, example_inputs: tuple | None = None, *, strict: bool = False,
          check: bool = True) -> TracedFunction:
    """Trace ``fn`` (a function or a module) into a replayable graph.

    With ``example_inputs``, ``fn(*example_inputs)`` runs once now (for real: a training
    step takes a step) and starts the trace; otherwise tracing starts at the first call.
    A graph is replayed once two consecutive calls with the same guards recorded the same
    ops (``check=False``: after one).  ``strict=True`` raises ``TracingError`` instead of
    re-tracing or falling back to eager mode."""
    traced = TracedFunction(fn, strict=strict, check=check)
    if example_inputs is not None:
        traced(*(example_inputs if isinstance(example_inputs, tuple) else (example_inputs,)))
    return traced
