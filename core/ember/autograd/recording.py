"""The Autograd dispatch key's kernel: run the op below Autograd and record a node.

The dispatcher selects this kernel only when grad mode is on and some tensor argument
requires grad, so calls without gradients never come here.
"""

from __future__ import annotations

import weakref

from .. import dispatch as _dispatch
from .. import dtypes as _dt
from ..codecache import exec_generated
from ..schema import registry
from ..tensor import Tensor
from .anomaly import _mode as _anomaly
from .anomaly import remember_forward
from .graph import Node, TensorMeta, leaf_edge
from .rules import nondifferentiable

__all__ = ["autograd_kernel", "NotImplementedNode"]

_redispatch = _dispatch.redispatch
_backend_kernel = _dispatch.backend_kernel
_state = _dispatch.state
_FLOAT_NP: dict = {}


def _is_float_np(np_dtype) -> bool:
    f = _FLOAT_NP.get(np_dtype)
    if f is None:
        d = _dt.FROM_NP.get(np_dtype)
        f = _FLOAT_NP[np_dtype] = d is not None and d._kind in "fc"  # (complex too)
    return f


def autograd_kernel(od, dev, args):
    """Boxed kernel of the Autograd key (registered as its fallback for every op).

    With nothing above Autograd (no tracer, no autocast) it runs the op's Autograd
    kernel prebuilt for the backend (:func:`prebuilt`) and keeps it on the backend's
    boxed kernel, where the entry points find it on later calls without dispatching."""
    if not _state.keys:
        k = od.cache.get(dev.type)
        if k is None:
            k = _backend_kernel(od, dev.type)
        run = k.autograd
        if run is None:
            run = prebuilt(od, k)
            if od.kernels.get("Autograd") is None:  # (an op's own kernel stays in charge)
                k.autograd = run
        return run(od, dev, args)
    return _general(od, dev, args)


def prebuilt(od, kernel):
    """``run(od, dev, args)``: ``od``'s Autograd kernel for the backend of ``kernel``
    (its boxed kernel) with nothing above Autograd, everything decidable per op decided
    once: the backend's run and the derivative's generated recorder, or the
    decomposition of a composite op without a derivative; the rarer kinds (in-place ops,
    ops without a derivative) take the general path."""
    d = od.derivative
    if od.is_inplace:
        return _general
    if d is None:
        if not od.is_primitive and od.decomposition is not None:
            return _implicit(od)
        return _general
    run = kernel.run
    if not kernel.reentrant:
        return recorder(d, run)
    # A decomposition or the CPU fallback: its inner ops run with recording off (the
    # op's own node replaces theirs; AutoDispatchBelowAutograd), called directly (with
    # no key above Autograd, redispatch would find this run).
    rec = recorder(d)

    def run_reentrant_recorded(od, dev, args):
        st = _state
        prev = st.grad_enabled
        st.grad_enabled = False
        try:
            out = run(od, dev, args)
        finally:
            st.grad_enabled = prev
        if out is args[0] and out.__class__ is Tensor:
            if not is_view:
                return out  # the op returned its input unchanged (contiguous, a no-op cast)
            out = _fresh_view(out)
        rec(args, out)
        return out
    is_view = od.is_view
    return run_reentrant_recorded


def _fresh_view(t: Tensor) -> Tensor:
    """A new view of all of ``t`` (a view op's result is a new tensor with its own
    history even where the backend returned its input: ``squeeze()`` with nothing to
    squeeze)."""
    v = _new(Tensor)
    v._data = t._data
    v._device = t._device
    v._requires_grad = False
    v.grad_fn = None
    v._owned = 0  # (the buffer is counted once, by its owner)
    v._vc = t._version_counter()
    v._base = t if t._base is None else t._base
    return v


def _implicit(od):
    """CompositeImplicitAutograd: the decomposition's ops record themselves.  The value
    rule runs here, once, as the boxed kernel's would below Autograd (never on meta
    tensors: they have no values)."""
    meta, values, decomp = od.meta, od.values, od.decomposition

    def run_decomposition(od, dev, args):
        spec = meta(*args) if meta is not None else None
        if values is not None and dev.type != "meta":
            values(spec, *args)
        return decomp(*args)
    return run_decomposition


def _general(od, dev, args):
    """The Autograd kernel for every kind of op and any keys above Autograd."""
    d = od.derivative
    if od.is_inplace and _is_view(args[0]):
        from .views import record_inplace_on_view
        _check_inplace_target(od, args[0])
        return record_inplace_on_view(od, dev, args)
    if d is None:
        if od.is_inplace:
            base = registry.get(od.inplace_of) if od.inplace_of else None
            if base is not None and base.derivative is not None:
                return _record_inplace(od, dev, args, base.derivative)
            if base is not None and base.decomposition is not None \
                    and not nondifferentiable(base):
                return _inplace_via_copy(od, dev, args, base)
            if not od.is_primitive and od.decomposition is not None:
                _check_inplace_target(od, args[0])
                if od.meta is not None:
                    od.meta(*args)
                return od.decomposition(*args)
            return _inplace_without_derivative(od, dev, args)
        if not od.is_primitive and od.decomposition is not None:
            # CompositeImplicitAutograd: the decomposition's ops record themselves.
            # The value rule runs here, once, as the boxed kernel's would below
            # Autograd (never on meta tensors: they have no values).
            spec = od.meta(*args) if od.meta is not None else None
            if od.values is not None and dev.type != "meta":
                od.values(spec, *args)
            return od.decomposition(*args)
        out = _below(od, dev, args)
        if not nondifferentiable(od):
            _mark_not_implemented(od, args, out)
        return out
    if od.is_inplace:
        return _record_inplace(od, dev, args, d)
    if _state.keys:
        out = _below(od, dev, args)
    else:
        # Nothing sits between Autograd and the backend: run the backend's boxed kernel
        # (what redispatch would find).  One that calls ember ops itself (a
        # decomposition, the CPU fallback) runs with recording off, or its inner ops
        # would record nodes that the op's own node replaces (AutoDispatchBelowAutograd).
        kernel = _backend_kernel(od, dev.type)
        if kernel.reentrant:
            out = _below(od, dev, args)
        else:
            out = kernel.run(od, dev, args)
    if out.__class__ is Tensor and out is args[0]:
        return out  # the op returned its input unchanged (contiguous, a no-op cast)
    record(d, args, out)
    return out


def _below(od, dev, args):
    """Run ``od`` below the Autograd key, with recording off for nested ops."""
    prev = _state.grad_enabled
    _state.grad_enabled = False
    try:
        return _redispatch(od, dev, args, "Autograd")
    finally:
        _state.grad_enabled = prev


def record(d, args, out, edges=None):
    """Attach a node for derivative ``d`` of a call (``args`` -> ``out``) to ``out``."""
    saved = list(args)
    if edges is None:
        edges = []
        any_edge = False
        for i, has_formula, keep, is_list in d.plan:
            t = args[i]
            if is_list:
                for x in t:
                    e = _edge(x)
                    any_edge = any_edge or e is not None
                    edges.append(e)
                if not keep:
                    saved[i] = [_Meta(x._data.shape, x._data.dtype, x._device) for x in t]
                continue
            if t is None or t.__class__ is not Tensor and not isinstance(t, Tensor):
                edges.append(None)
                continue
            if not keep:
                # Unsaved inputs: only what a formula may ask (shape, dtype, device).
                saved[i] = _Meta(t._data.shape, t._data.dtype, t._device)
            if not has_formula:
                if t._requires_grad:
                    _not_differentiable(d, i)
                edges.append(None)
                continue
            fn = t.grad_fn
            if fn is not None:
                edges.append((fn, t._output_nr))
                any_edge = True
            elif t._requires_grad:
                edges.append(t.__dict__.get("_grad_edge") or leaf_edge(t))
                any_edge = True
            else:
                edges.append(None)
        if not any_edge:
            return
    else:
        for i, _, keep, is_list in d.plan:
            t = args[i]
            if keep:
                continue
            if is_list:
                saved[i] = [_Meta(x._data.shape, x._data.dtype, x._device) for x in t]
            elif t is not None and t.__class__ is Tensor:
                saved[i] = _Meta(t._data.shape, t._data.dtype, t._device)
    cond = d.cond
    if cond is not None:
        # Save an input only if a formula that will run reads it (mul by a constant
        # does not keep its other factor, so modifying it in place is fine afterwards).
        for i, users in cond:
            for k in users:
                if edges[k] is not None:
                    break
            else:
                t = args[i]
                if t.__class__ is Tensor:
                    saved[i] = _Meta(t._data.shape, t._data.dtype, t._device)
    node = _new(d.node_cls)
    node.next_edges = edges
    node._args = saved
    if _anomaly[0]:
        remember_forward(node)
    save_idx = d.save_idx
    if save_idx:
        versions = []
        for i in save_idx:
            t = saved[i]
            if t.__class__ is Tensor:
                vc = t._vc
                versions.append(0 if vc is None else vc.value)
            else:
                versions.append(-1)
        node._versions = versions
    else:
        node._versions = ()
    if out.__class__ is not Tensor and isinstance(out, (tuple, list)):
        node.n_outputs = len(out)
        for nr, o in enumerate(out):
            if _is_float_np(o._data.dtype):
                o._requires_grad = True
                o.grad_fn = node
                if nr:
                    o._output_nr = nr
        node._result = tuple(_save_output(o) for o in out) if d.save_result else None
    else:
        f = _FLOAT_NP.get(out._data.dtype)
        if not (f or f is None and _is_float_np(out._data.dtype)):
            return
        out._requires_grad = True
        out.grad_fn = node
        node._result = (_save_output(out),) if d.save_result else None


_new = object.__new__
_Meta = TensorMeta


def recorder(d, run=None):
    """``rec(args, out)``: :func:`record` for derivative ``d``, generated once for its
    plan (which inputs have formulas, which are saved, which are read only if another
    input needs a gradient), so a recorded call runs straight-line code: no loop over
    the plan, no list of the arguments copied, no call per unsaved input.  Ops with
    ``Tensor[]`` inputs or other results than one tensor use :func:`record` itself.

    With ``run`` (a boxed kernel's), it is ``ag(od, dev, args)``: the call and its
    record in one function."""
    od = d.op
    if d.has_list or od.returns not in ("Tensor", "Tensor(a)", "Tensor(a!)"):
        if run is None:
            return lambda args, out: record(d, args, out)

        def run_recorded(od, dev, args):
            out = run(od, dev, args)
            if out is args[0] and out.__class__ is Tensor:
                return out
            record(d, args, out)
            return out
        return run_recorded
    n = len(od.args)
    unpack = f"    {', '.join(f'a{i}' for i in range(n))}{',' if n == 1 else ''} = args"
    if run is None:
        lines = ["def rec(args, out):", unpack]
        ret = "return"
    else:
        lines = ["def ag(od, dev, args):", "    out = run(od, dev, args)", unpack,
                 # the op returned its input unchanged (contiguous, a no-op cast)
                 "    if out is a0 and out.__class__ is _T:",
                 "        out = _fresh_view(out)" if od.is_view else "        return out"]
        ret = "return out"
    saved = [f"a{i}" for i in range(n)]
    edges = []

    def meta(i, indent):
        return [f"{indent}_data = a{i}._data", f"{indent}s{i} = _new(_Meta)",
                f"{indent}s{i}._shape = _data.shape", f"{indent}s{i}._np = _data.dtype",
                f"{indent}s{i}.device = a{i}._device"]
    for k, (i, has_formula, keep, _) in enumerate(d.plan):
        e = f"e{k}"
        edges.append(e)
        lines.append(f"    if a{i}.__class__ is _T or isinstance(a{i}, _T):")
        if has_formula:
            lines += [f"        f = a{i}.grad_fn", "        if f is not None:",
                      f"            {e} = (f, a{i}._output_nr)",
                      f"        elif a{i}._requires_grad:",
                      f"            {e} = a{i}.__dict__.get('_grad_edge') or leaf_edge(a{i})",
                      "        else:", f"            {e} = None"]
        else:
            lines += [f"        if a{i}._requires_grad:",
                      f"            _not_differentiable(d, {i})", f"        {e} = None"]
        if not keep:
            lines += meta(i, "        ")
            saved[i] = f"s{i}"
        lines += ["    else:", f"        {e} = None"]
        if not keep:
            lines.append(f"        s{i} = a{i}")
    lines += ["    if " + " and ".join(f"{e} is None" for e in edges) + ":", f"        {ret}",
              # outputs that are not floating point get no history
              "    o = out._data.dtype", "    fl = _FLOAT.get(o)", "    if fl is None:",
              "        fl = _is_float(o)", "    if not fl:", f"        {ret}"]
    for i, users in d.cond or ():
        # saved only if a formula that reads it will run (mul by a constant does not
        # keep its other factor)
        lines.append("    if " + " and ".join(f"{edges[k]} is None" for k in users)
                     + f" and a{i}.__class__ is _T:")
        lines += ["    " + ln for ln in meta(i, "    ")]
        lines.append("    else:")
        lines.append(f"        s{i} = a{i}")
        saved[i] = f"s{i}"
    lines += ["    node = _new(_C)", f"    node.next_edges = [{', '.join(edges)}]",
              f"    node._args = [{', '.join(saved)}]",
              "    if _anomaly[0]:", "        remember_forward(node)"]
    if d.save_idx:
        vs = []
        for i in d.save_idx:
            v = saved[i]
            lines += [f"    if {v}.__class__ is _T:", f"        vc = {v}._vc",
                      f"        v{i} = 0 if vc is None else vc.value", "    else:",
                      f"        v{i} = -1"]
            vs.append(f"v{i}")
        lines.append(f"    node._versions = [{', '.join(vs)}]")
    else:
        lines.append("    node._versions = ()")
    lines += ["    out._requires_grad = True", "    out.grad_fn = node"]
    if not d.save_result:
        lines.append("    node._result = None")
    else:  # (_save_output inline)
        lines += ["    vc = out._vc", "    if out._base is not None:",
                  "        node._result = (_save_output(out),)", "    else:",
                  "        node._result = ((out._data, out._device, _weakref(out), "
                  "0 if vc is None else vc.value),)"]
    lines.append(f"    {ret}")
    env = {"run": run, "_fresh_view": _fresh_view, "_T": Tensor, "_new": _new,
           "_Meta": _Meta, "_C": d.node_cls, "d": d,
           "leaf_edge": leaf_edge, "_not_differentiable": _not_differentiable,
           "_FLOAT": _FLOAT_NP, "_is_float": _is_float_np, "_anomaly": _anomaly,
           "remember_forward": remember_forward, "_save_output": _save_output,
           "_weakref": _weakref}
    exec_generated("\n".join(lines) + "\n", f"<ember recorder {od.name}>", env)
    return env["rec" if run is None else "ag"]


def _not_differentiable(d, i):
    name = d.op.args[i].name
    raise RuntimeError(f"{d.op.name}(): the derivative with respect to argument '{name}' is "
                       f"not implemented, and '{name}' requires grad; pass "
                       f"{name}.detach() if no gradient is needed for it")


def _edge(t):
    fn = t.grad_fn
    if fn is not None:
        return (fn, t._output_nr)
    if t._requires_grad:
        return leaf_edge(t)
    return None


def _save_output(o: Tensor):
    # The data and a weak reference, not the tensor: the tensor holds this node as its
    # grad_fn, and a strong reference back would make a cycle that only the GC frees.
    # While any alias of the buffer exists the output is alive too (aliases hold their
    # base), so a dead output means an unmodified buffer.  A view's buffer belongs to
    # its base, which may outlive it: keep the shared version counter instead.
    vc = o._vc
    if o._base is not None:
        vc = o._version_counter()
        return (o._data, o._device, vc, vc.value)
    return (o._data, o._device, _weakref(o), 0 if vc is None else vc.value)


_weakref = weakref.ref


# --- in-place ops ----------------------------------------------------------------------

LEAF_INPLACE = ("a leaf Variable that requires grad is being used in an in-place "
                "operation.")


def _check_inplace_target(od, target):
    if target.grad_fn is None and target._requires_grad:
        raise RuntimeError(f"{od.name}(): {LEAF_INPLACE}")


def _is_view(t) -> bool:
    """A view whose base autograd must update (not a ``detach()``ed alias)."""
    return t._base is not None and not t.__dict__.get("_detached", False)


def _record_inplace(od, dev, args, d):
    """``self.op_(...)``: run in place, then rebase ``self``'s history onto a node of
    the out-of-place derivative whose inputs are ``self``'s *old* history."""
    target = args[0]
    _check_inplace_target(od, target)
    old = target
    if d.saves_self:
        # The formulas read self's old values, which the op overwrites: keep a copy that
        # carries self's old autograd identity.
        old = _snapshot(dev, target)
    edges = []
    any_edge = False
    for k, i in enumerate(d.tensor_pos):
        t = old if i == 0 else args[i]
        if d.is_list[k]:
            for x in t:
                e = _edge(x)
                any_edge = any_edge or e is not None
                edges.append(e)
        elif isinstance(t, Tensor) and d.formulas[k] is not None:
            e = _edge(t)
            any_edge = any_edge or e is not None
            edges.append(e)
        else:
            edges.append(None)
    out = _below(od, dev, args)
    if not any_edge and target.grad_fn is None:
        return out
    rec_args = (old,) + tuple(args[1:])
    # The rebased target is the node's output; a stale output number would misroute.
    if target.__dict__.get("_output_nr"):
        del target.__dict__["_output_nr"]
    record(d, rec_args, target, edges)
    return out


def _snapshot(dev, target):
    """A copy of ``target`` that carries its autograd identity (its old history)."""
    old = _redispatch(registry["clone"], dev, (target,), "Autograd")
    old._requires_grad = target._requires_grad
    if target.grad_fn is not None:
        old.grad_fn = target.grad_fn
        old._output_nr = target._output_nr
    return old


def _inplace_via_copy(od, dev, args, base):
    """An in-place op whose op is composite: ``self.copy_(op(old self, ...))``, both
    recorded (the copy routes the gradient to the op's inputs)."""
    target = args[0]
    _check_inplace_target(od, target)
    if od.meta is not None:
        od.meta(*args)
    result = base.fn(_snapshot(dev, target), *args[1:])
    return registry["copy_"].fn(target, result)


def _inplace_without_derivative(od, dev, args):
    target = args[0]
    _check_inplace_target(od, target)
    out = _below(od, dev, args)
    if nondifferentiable(od):
        return out
    if target._requires_grad and _is_float_np(target._data.dtype):
        node = NotImplementedNode(od.name)
        target.grad_fn = node
    return out


# --- ops without a derivative ------------------------------------------------------------

class NotImplementedNode(Node):
    """Recorded for a differentiable-looking op without a derivative: backward through
    it raises, forward still works."""

    __slots__ = ("op_name",)

    def __init__(self, op_name: str) -> None:
        super().__init__()
        self.op_name = op_name

    def name(self) -> str:
        return f"NotImplemented({self.op_name})"

    def apply(self, grads, create_graph):
        raise NotImplementedError(f"the derivative for '{self.op_name}' is not "
                                  f"implemented.")


def _mark_not_implemented(od, args, out):
    outs = out if isinstance(out, (tuple, list)) else (out,)
    node = None
    for nr, o in enumerate(outs):
        if isinstance(o, Tensor) and _is_float_np(o._data.dtype):
            if node is None:
                node = NotImplementedNode(od.name)
            o._requires_grad = True
            o.grad_fn = node
            o._output_nr = nr

