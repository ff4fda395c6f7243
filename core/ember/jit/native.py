"""The native-array executor: a graph compiled to calls of a backend's own kernels.

The default executor (:mod:`.executor`) calls each node's *boxed* kernel, which on every
call validates its arguments against the op's shape rule (a cache lookup keyed on shapes
and dtypes), casts, and wraps each result in a ``Tensor``.  Under a graph's guards all of
that is known once: every value's shape and dtype was recorded.  This executor resolves
each node, at compile time, to the backend's unboxed kernel (``Backend.kernels``, the
functions over native arrays that the boxed kernels wrap), runs the shape rule and the
promotion once on data-less ``meta`` tensors, and generates one straight-line function in
which every intermediate value is a native array:

* graph inputs and captured tensors are unwrapped once per call (a captured tensor whose
  buffer was replaced since the last call is checked again: shape and dtype; a change
  sends the call to the default executor, which raises what eager mode raises);
* casts the boxed kernel would do (PyTorch's promotion) are explicit calls of the
  backend's ``astype``; a ``None`` dtype is filled in from the shape rule; integer fill
  values are fitted to their dtype;
* an op's *value* rule (loss targets within the classes, integer division by zero) still
  runs on every call, on tensors wrapped for it: it reads data;
* in-place kernels write straight into the captured tensors' buffers (parameters,
  optimizer state, accumulated ``.grad``); their version counters advance as eager
  mode advances them;
* nodes whose inputs are all constants are folded at compile time;
* only the results and each ``.grad`` the graph sets are wrapped in ``Tensor`` s.

A node that can't run this way (decompositions, random draws, device moves, index
arguments holding tensors, views that escape, out-of-range Python ints) calls its boxed
kernel on wrapped arguments, so any graph compiles.  ``out_kernels`` lets a backend give
variants of its kernels that write into a preallocated buffer (``fn(*args, out=buf)``):
values that never leave the call then live in buffers planned once (the CPU plugin
passes its numpy ``out=`` kernels).

Backends opt in through the ``ember_graph_executor`` hook by returning
``compile_native(graph, backend)`` (the CPU plugin does); the result is bit-for-bit the
default executor's, since the same kernels run on the same arrays.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from .. import dispatch as _dispatch
from .. import dtypes as _dt
from .. import kernels as _kernels
from .. import schema as _schema
from ..tensor import Tensor
from .graph import DETACH, Graph
from .passes import fold_constants

__all__ = ["compile_native", "Replacement"]

_NUMBERS = (int, float, bool, complex)


@dataclasses.dataclass
class Replacement:
    """A backend's own kernel for one node (``compile_native``'s ``replace``): called
    with the node's native arguments (as its unboxed kernel gets them), then the hidden
    values of the nodes in ``takes``; with ``hidden`` it returns ``(outputs, value)``,
    the value handed to the later nodes that take it (a softmax the backward reuses).
    ``checks_values``: ``fn`` runs the op's value rule itself where it must."""

    fn: Callable | None = None
    takes: tuple = ()
    hidden: bool = False
    checks_values: bool = False
    #: instead of ``fn``: source lines computing the node, ``inline(args, outs, env)``
    #: with ``args`` the native arguments' expressions (a list of them for a tensor
    #: list), ``outs`` the names to assign and ``env`` the names ``self.env``'s objects
    #: are bound to (a numpy expression needs no call frame of its own)
    inline: Callable | None = None
    env: dict = dataclasses.field(default_factory=dict)


class _Boxed(Exception):
    """This node runs through its boxed kernel (the message says why, for ``code``)."""


def _meta_device():
    from ..device import device
    return device("meta")


def _contains_tensor(x) -> bool:
    if isinstance(x, Tensor):
        return True
    if isinstance(x, (tuple, list)):
        return any(_contains_tensor(v) for v in x)
    return False


class _Compiler:
    """The state of one compilation (names, namespace, source lines)."""

    def __init__(self, graph: Graph, backend, replace: dict | None) -> None:
        self.g = graph
        self.backend = backend
        self.replace = replace or {}
        self.dev = next(iter(n.device for n in graph.nodes)) if graph.nodes else None
        self.meta_dev = _meta_device()
        self.ns: dict = {"_make": Tensor._make, "_st": _dispatch.state, "_dev": self.dev}
        self.arr: dict[int, str] = {}      # value id -> expression of its native array
        self.tensor: dict[int, str] = {}   # value id -> name of a Tensor holding it
        self.owner: dict[int, str] = {}    # value id -> Tensor whose version counter it shares
        self.body: list[str] = []
        self.bumps: dict[str, int] = {}    # Tensor name -> in-place writes to count
        self.notes: list[str] = []

    # -- values ----------------------------------------------------------------------------
    def abstract(self, v: int) -> Tensor:
        """A data-less meta tensor with value ``v``'s recorded shape and dtype."""
        if v not in self.g.meta:
            raise _Boxed(f"no recorded shape for %{v}")
        return _abstract(self.g.meta[v], self.meta_dev)

    def as_tensor(self, v: int) -> str:
        """An expression of a Tensor holding value ``v`` (the original where it has one)."""
        return self.tensor.get(v) or f"_make({self.arr[v]}, _dev)"

    def bind(self, prefix: str, obj) -> str:
        name = f"{prefix}{len(self.ns)}"
        self.ns[name] = obj
        return name

    # -- the function -------------------------------------------------------------------------
    def compile(self):
        g = self.g
        head: list[str] = []
        for i, v in enumerate(g.inputs):
            self.tensor[v] = f"i{i}"
            self.owner[v] = f"i{i}"
            if v not in self.arr:
                self.arr[v] = f"x{v}"
                head.append(f"x{v} = i{i}._data")
        checks = []
        for v, t in g.captured.items():
            name = self.bind("c", t)
            self.tensor[v], self.owner[v], self.arr[v] = name, name, f"x{v}"
            head.append(f"x{v} = {name}._data")
            seen = self.bind("seen", t._data)
            checks.append((f"x{v} is not {seen}", seen, name, v, t._device))
        for v, t in g.constants.items():
            self.tensor[v] = self.bind("k", t)
            self.arr[v] = self.bind("kx", t._data)
        if checks:
            self.ns["_recheck"] = self._recheck_fn(checks)
            head.append("if " + " or ".join(c[0] for c in checks) + ":")
            params = ", ".join(f"i{i}" for i in range(len(g.inputs)))
            head.append(f"    if not _recheck():\n            return _slow({params})")
        last = self._last_uses()
        keep = set(g.outputs[1]) | set(g.grads.values()) | set(g.grads)
        marks: list[int] = []
        for j, n in enumerate(g.nodes):
            if n.op == DETACH:
                src = n.args[0][1]
                v = n.outs[0]
                self.arr[v] = self.arr[src]
                if src in self.owner:
                    self.owner[v] = self.owner[src]
            else:
                try:
                    self._native(j, n)
                except _Boxed as why:
                    self.notes.append(f"op {j} {n.op}: boxed ({why})")
                    self._boxed(j, n)
            marks.append(len(self.body))
        self._free(last, keep, marks)
        tail = [f"{name}._vc.value += {k}" if name in self.ns else f"_bump({name}, {k})"
                for name, k in self.bumps.items()]
        for leaf, gv in g.grads.items():
            tail.append(f"{self.tensor[leaf]}.grad = {self._escape(gv)}")
        outs = [self._escape(v) for v in g.outputs[1]]
        tail.append(f"return ({', '.join(outs)}{',' if len(outs) == 1 else ''})")
        params = ", ".join(f"i{i}" for i in range(len(g.inputs)))
        src = [f"def _replay({params}):", *(f"    {ln}" for ln in head),
               "    _prev = _st.grad_enabled", "    _st.grad_enabled = False", "    try:",
               *(f"        {ln}" for ln in self.body + tail),
               "    finally:", "        _st.grad_enabled = _prev"]
        code = "\n".join(src)
        exec(compile(code, "<ember.jit native graph>", "exec"), self.ns)  # our own source
        fn = self.ns["_replay"]
        fn.source = code + "".join(f"\n# {note}" for note in self.notes)
        return fn

    def _recheck_fn(self, checks):
        """After a captured tensor's buffer was replaced: whether every captured buffer
        still has its recorded shape, dtype and device (then the new buffers are
        remembered; else this call goes to the default executor)."""
        ns, meta = self.ns, self.g.meta

        def recheck() -> bool:
            for _, _seen, name, v, dev in checks:
                data = ns[name]._data
                shape, dtype = meta[v]
                if tuple(data.shape) != tuple(shape) or _dt.from_native(data.dtype).name \
                        != dtype or ns[name]._device != dev:
                    return False
            for _, seen, name, _v, _dev in checks:
                ns[seen] = ns[name]._data
            return True
        return recheck

    def _free(self, last: dict, keep: set, marks: list) -> None:
        """``del`` each array after the last node that reads it (through any value
        naming it: an alias shares its source's name), as eager mode frees
        intermediates; kept values (results, ``.grad``) are never freed."""
        end: dict[str, int] = {}
        kept = {self.arr[v] for v in keep if v in self.arr}
        for v, name in self.arr.items():
            if name.startswith("x") and name not in kept and v in last \
                    and v not in self.g.captured:
                end[name] = max(end.get(name, -1), last[v])
        at: dict[int, list] = {}
        for name, j in end.items():
            at.setdefault(j, []).append(name)
        for j in sorted(at, reverse=True):
            self.body.insert(marks[j], "del " + ", ".join(sorted(at[j])))

    def _last_uses(self) -> dict[int, int]:
        last: dict[int, int] = {}
        for j, n in enumerate(self.g.nodes):
            for kind, x in n.args:
                for v in ((x,) if kind == "v" else x if kind == "l" else ()):
                    last[v] = j
        return last

    def _escape(self, v: int) -> str:
        """An expression of the Tensor for value ``v`` leaving the call."""
        if v in self.g.constants:  # a fresh tensor per call, as eager mode makes
            od = _schema.get_op("clone")
            run = _dispatch.backend_kernel(od, self.dev.type).run
            return (f"{self.bind('r', run)}({self.bind('o', od)}, _dev, "
                    f"({self.tensor[v]},))")
        if v in self.tensor:
            return self.tensor[v]
        owner = self.owner.get(v)
        if owner is not None:  # a view or alias of a captured tensor: share its counter
            return f"_view({self.arr[v]}, {owner})"
        return f"_make({self.arr[v]}, _dev)"

    # -- one node ---------------------------------------------------------------------------
    def _native(self, j: int, n) -> None:
        od = _schema.get_op(n.op)
        be = self.backend
        if _kernels.implementation(od, be) != "native":
            raise _Boxed(_kernels.implementation(od, be))
        name = _kernels.native_name(od, be)
        if name is None:
            raise _Boxed("a default kernel of the core")
        fn = be.kernels[name]
        info = _kernels._layout(od)
        if info["generator"] is not None or info["device"] is not None \
                or info["frontend"] or od.cross_device or "creation" in od.tags:
            raise _Boxed("generator, device or creation arguments")
        outs_escape = set(n.outs) & (set(self.g.outputs[1]) | set(self.g.grads.values()))
        if od.is_view and outs_escape and not od.is_inplace:
            raise _Boxed("a view that leaves the call")
        margs = []
        for kind, x in n.args:
            if kind == "v":
                margs.append(self.abstract(x))
            elif kind == "l":
                margs.append([self.abstract(v) for v in x])
            else:
                if _contains_tensor(x):
                    raise _Boxed("a constant argument holding a tensor")
                margs.append(x)
        tpos = info["tensor"]
        pointwise = "pointwise" in od.tags
        try:
            spec = od.meta(*margs) if od.meta is not None else None
        except Exception as e:  # (a rule that reads data: the boxed kernel runs it)
            raise _Boxed(f"its shape rule on meta tensors: {type(e).__name__}") from None
        casts: dict[int, object] = {}
        if od.is_inplace:
            mutated = info["mutated"] or (0,)
            target = margs[mutated[0]]
            if pointwise:
                for i in tpos:
                    t = margs[i]
                    if isinstance(t, Tensor) and t.dtype != target.dtype:
                        casts[i] = target.dtype
        elif od.promotion is not None and pointwise:
            from ..dtypes import pointwise_dtypes
            no_cast = {i for i in tpos if od.args[i].name == "condition"}
            ops = [margs[i] for i in tpos if margs[i] is not None]
            compute, _ = pointwise_dtypes(od.promotion, ops)
            if all(margs[i].__class__ in _NUMBERS for i in tpos
                   if margs[i] is not None and i not in no_cast):
                raise _Boxed("only Python numbers take part")
            for i in tpos:
                x = margs[i]
                if x is None or i in no_cast:
                    continue
                if x.__class__ in _NUMBERS:
                    if compute._kind == "i" and x.__class__ is int:
                        lim = _dt.iinfo(compute)
                        if not lim.min <= x <= lim.max:
                            raise _Boxed("a Python int beyond the computation dtype")
                elif x.dtype != compute:
                    casts[i] = compute
        # the native argument list, in the boxed kernel's order
        nat = []
        parts: list = []  # (for inline replacements: each list argument's items)
        scalars = {i for i, a in enumerate(od.args)
                   if a.type == "Scalar" and a.name in ("fill_value", "value")}
        fit_to = None
        if scalars:
            fit_to = (margs[(info["mutated"] or (0,))[0]].dtype if od.is_inplace
                      else spec.dtype if isinstance(spec, _schema.Spec) else None)
        for i, (kind, x) in enumerate(n.args):
            if kind == "v":
                e = self.arr[x]
                if i in casts:
                    e = f"{self.bind('cast', be.kernels['astype'])}({e}, " \
                        f"{self.bind('dt', casts[i])})"
                nat.append(e)
                parts.append(e)
            elif kind == "l":
                nat.append("[" + ", ".join(self.arr[v] for v in x) + "]")
                parts.append([self.arr[v] for v in x])
            else:
                if od.args[i].name == "dtype" and x is None and spec is not None:
                    x = (spec[0] if isinstance(spec, tuple) else spec).dtype
                if i in scalars and fit_to is not None and x.__class__ is int:
                    x = _kernels._fit_scalars((x,), (0,), fit_to)[0]
                nat.append(self._const(x))
                parts.append(nat[-1])
        rep = self.replace.get(j)
        if rep is not None:
            rep = rep(spec, self.dev)
            fn = rep.fn
            nat += [f"h{t}" for t in rep.takes]
            parts += [f"h{t}" for t in rep.takes]
        rule = od.values
        if rule is not None and not (rep is not None and rep.checks_values):
            # the value rule reads data: every call, on tensors
            args = []
            for kind, x in n.args:
                if kind == "v":
                    args.append(self.as_tensor(x))
                elif kind == "l":
                    args.append("[" + ", ".join(self.as_tensor(v) for v in x) + "]")
                else:
                    args.append(self._const(x))
            self.body.append(f"{self.bind('rule', rule)}({self.bind('spec', spec)}, "
                             f"{', '.join(args)})")
        inline = None
        if rep is not None and rep.inline is not None:
            env = {k: self.bind("e", v) for k, v in rep.env.items()}
            inline = rep.inline(parts, [f"x{v}" for v in n.outs], env)
        call = None if inline else f"{self.bind('f', fn)}({', '.join(nat)})"
        if od.is_inplace:
            self.body.extend(inline or [call])
            for i in info["mutated"] or (0,):
                kind, x = n.args[i]
                for v in ((x,) if kind == "v" else x):
                    owner = self.owner.get(v)
                    if owner is not None:
                        self.bumps[owner] = self.bumps.get(owner, 0) + 1
            target = n.args[(info["mutated"] or (0,))[0]]
            for v in n.outs:  # (an in-place op returns its target)
                if v not in self.arr and target[0] == "v":
                    self.arr[v] = self.arr[target[1]]
            return
        outs = [f"x{v}" for v in n.outs]
        for v in n.outs:
            self.arr[v] = f"x{v}"
        lhs = (f"({', '.join(outs)},)" if n.out_kind == "tuple" else outs[0]
               if n.out_kind == "one" else "_")
        if inline:
            self.body.extend(inline)
        elif rep is not None and rep.hidden:
            self.body.append(f"{lhs}, h{j} = {call}")
        elif n.out_kind == "none":
            self.body.append(call)
        else:
            self.body.append(f"{lhs} = {call}")
        if od.is_view and n.args and n.args[0][0] == "v":
            owner = self.owner.get(n.args[0][1])
            if owner is not None:
                for v in n.outs:
                    self.owner[v] = owner

    def _const(self, x) -> str:
        """A constant argument: bound by name (never pasted into source; a graph loaded
        from a file writes no code)."""
        if x is None or x is True or x is False:
            return repr(x)
        return self.bind("a", x)

    def _boxed(self, j: int, n) -> None:
        """The node through its boxed kernel, on wrapped arguments."""
        od = _schema.get_op(n.op)
        run = _dispatch.backend_kernel(od, n.device.type).run
        args = []
        for kind, x in n.args:
            if kind == "v":
                args.append(self.as_tensor(x))
            elif kind == "l":
                args.append("[" + ", ".join(self.as_tensor(v) for v in x) + "]")
            else:
                args.append(self.bind("a", x))
        tup = "(" + ", ".join(args) + ("," if len(args) == 1 else "") + ")"
        call = f"{self.bind('r', run)}({self.bind('o', od)}, {self.bind('d', n.device)}, {tup})"
        fresh = [v for v in n.outs if v not in self.arr]
        if od.is_inplace:  # a view of a captured tensor written: its counter advances
            for i in _kernels._layout(od)["mutated"] or (0,):
                kind, x = n.args[i]
                for v in ((x,) if kind == "v" else x if kind == "l" else ()):
                    owner = self.owner.get(v)
                    if owner is not None and self.tensor.get(v) != owner:
                        self.bumps[owner] = self.bumps.get(owner, 0) + 1
        if not n.outs:
            self.body.append(call)
            return
        if n.out_kind == "one":
            v = n.outs[0]
            if v in fresh:
                self.body.append(f"x{v} = {call}._data")
                self.arr[v] = f"x{v}"
            else:
                self.body.append(call)
        else:
            self.body.append(f"_r = {call}")
            for k, v in enumerate(n.outs):
                if v in fresh:
                    self.body.append(f"x{v} = _r[{k}]._data")
                    self.arr[v] = f"x{v}"
            self.body.append("del _r")
        if od.is_view and n.args and n.args[0][0] == "v":
            owner = self.owner.get(n.args[0][1])
            if owner is not None:
                for v in fresh:
                    self.owner[v] = owner


def _abstract(meta: tuple, dev) -> Tensor:
    from ..meta import MetaArray
    shape, dtype = meta
    return Tensor._make(MetaArray(shape, _dt.as_dtype(dtype).np), dev)


def _infer_meta(g: Graph, dev) -> None:
    """Fill in the shapes and dtypes a graph read from a file does not hold (it keeps
    its inputs' only): the captured tensors' own, then each node's shape rule on meta
    tensors, in order."""
    for v, t in [*g.captured.items(), *g.constants.items()]:
        g.meta.setdefault(v, (tuple(t.shape), t.dtype.name))
    for n in g.nodes:
        if all(v in g.meta for v in n.outs):
            continue
        if n.op == DETACH:
            if n.args[0][1] in g.meta:
                g.meta[n.outs[0]] = g.meta[n.args[0][1]]
            continue
        od = _schema.get_op(n.op)
        try:
            margs = [_abstract(g.meta[x], dev) if k == "v" else
                     [_abstract(g.meta[v], dev) for v in x] if k == "l" else x
                     for k, x in n.args]
            spec = od.meta(*margs) if od.meta is not None and not od.is_inplace else None
        except Exception:  # (unknown shapes stay unknown: those nodes run boxed)
            continue
        specs = spec if isinstance(spec, (tuple, list)) else [spec]
        for v, sp in zip(n.outs, specs, strict=False):
            if isinstance(sp, _schema.Spec) and all(isinstance(d, int) and d >= 0
                                                     for d in sp.shape):
                g.meta.setdefault(v, (tuple(sp.shape), sp.dtype.name))


def _view(data, owner: Tensor) -> Tensor:
    """A tensor of ``data`` viewing ``owner``'s storage (shares its version counter)."""
    t = Tensor._make(data, owner._device)
    t._vc = owner._version_counter()
    t._base = owner._base if owner._base is not None else owner
    return t


def _bump(t: Tensor, k: int) -> None:
    t._version_counter().value += k


def compile_native(graph: Graph, backend=None, replace: Callable | None = None):
    """``fn(*inputs) -> tuple of output tensors`` running ``graph`` on ``backend``'s
    unboxed kernels (see the module docstring), or ``None`` when the graph's nodes do
    not all run on one device of that backend.  ``backend`` defaults to the backend
    of the graph's device.  ``replace(graph)`` may return ``{node index: factory}``,
    ``factory(spec, device) -> Replacement``: the backend's own kernels for those
    nodes (``spec`` is the node's shape rule's answer), given the graph after constant
    folding."""
    from ..device import get_backend
    from .executor import compile_graph
    devices = {n.device for n in graph.nodes}
    if len(devices) != 1:
        return None
    dev = next(iter(devices))
    if backend is None:
        backend = get_backend(dev.type)
    elif backend.device_type != dev.type:
        return None
    g = dataclasses.replace(graph, nodes=list(graph.nodes), constants=dict(graph.constants),
                            meta=dict(graph.meta))
    from .executor import run_node
    fold_constants(g, run_node)
    _infer_meta(g, _meta_device())
    c = _Compiler(g, backend, replace(g) if replace is not None else None)
    c.ns["_view"] = _view
    c.ns["_bump"] = _bump
    slow: list = []

    def _slow(*inputs):  # the default executor, for a call whose captured buffers changed
        if not slow:
            slow.append(compile_graph(graph))
        return slow[0](*inputs)
    c.ns["_slow"] = _slow
    fn = c.compile()
    # each captured tensor written in place: its version counter, created now (shared
    # with its views from then on, as eager mode's first in-place write would)
    for name in c.bumps:
        if name in c.ns:
            c.ns[name]._version_counter()
    return fn
