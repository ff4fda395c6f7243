"""The backward pass: walk the recorded graph from the outputs to the leaves.

Nodes run once all the gradients they will receive have arrived (dependency counts,
no recursion); gradients arriving at the same output are summed.  Grad mode during the
pass is ``create_graph``, so with it the formulas record a graph of their own
(higher-order gradients).
"""

from __future__ import annotations

from collections.abc import Sequence
from sys import getrefcount as _getrefcount

from ..dispatch import state
from ..tensor import Tensor
from .anomaly import _mode as _anomaly
from .anomaly import check_nan, report_failure
from .graph import AccumulateGrad, gradient_edge

__all__ = ["run_backward"]


def _shape(t) -> list:
    return list(t._data.shape)


def make_grads(outputs: Sequence[Tensor], grad_outputs, fn: str) -> list:
    """The root gradients: given ones checked against the outputs, else ones for
    scalar outputs."""
    grads = []
    for i, (o, g) in enumerate(zip(outputs, grad_outputs, strict=False)):
        if g is None:
            grads.append((_seed(o), False))
            continue
        if not isinstance(g, Tensor):
            raise TypeError(f"{fn}(): grad_outputs[{i}] must be a Tensor or None, not "
                            f"{type(g).__name__}")
        if g._data.shape != o._data.shape:
            raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of "
                               f"{_shape(g)} and output[{i}] has a shape of {_shape(o)}.")
        if g._device is not o._device:
            raise RuntimeError(f"Mismatch in device: grad_output[{i}] is on {g._device} "
                               f"and output[{i}] is on {o._device}.")
        if g._data.dtype != o._data.dtype:
            g = g.astype(o.dtype)
        grads.append((g, True))
    return grads


#: (shape, numpy dtype, device) -> a tensor of ones that is never handed out: each
#: backward gets a clone (one small copy costs far less than a factory call), so a hook
#: or retain_grad that keeps or modifies its gradient cannot change later seeds.
_SEEDS: dict = {}


def _seed(o: Tensor) -> Tensor:
    """A new tensor of ones for the implicit gradient of the scalar output ``o``."""
    d = o._data
    key = (d.shape, d.dtype, o._device)
    one = _SEEDS.get(key)
    if one is None:
        if d.shape and _numel(o) != 1:
            raise RuntimeError("grad can be implicitly created only for scalar outputs")
        if not o.dtype.is_floating_point:
            raise RuntimeError(f"grad can be implicitly created only for real scalar "
                               f"outputs but got {o.dtype}")
        from ..ops import ones
        with _grad_mode(False):
            one = ones(d.shape, dtype=o.dtype, device=o._device)
        if len(_SEEDS) < 64:  # (scalar shapes: (), (1,), (1, 1) ... per dtype and device)
            _SEEDS[key] = one
    return one.clone()  # (not recorded: ``one`` does not require grad)


def _numel(t) -> int:
    n = 1
    for s in t._data.shape:
        n *= s
    return n


class _grad_mode:
    __slots__ = ("mode", "prev")

    def __init__(self, mode: bool) -> None:
        self.mode = mode

    def __enter__(self):
        self.prev = state.grad_enabled
        state.grad_enabled = self.mode

    def __exit__(self, *exc):
        state.grad_enabled = self.prev


def run_backward(outputs: Sequence[Tensor], grads: list, *, retain_graph: bool,
                 create_graph: bool, inputs: Sequence[Tensor] | None = None,
                 accumulate: bool = True) -> list | None:
    """Backpropagate ``grads`` (pairs ``(grad, user_given)``) from ``outputs``.

    With ``inputs`` the gradients reaching them are returned (in order; ``None`` where
    none arrived) and, unless ``accumulate``, no ``.grad`` is touched.  Otherwise every
    leaf reached gets its gradient added to ``.grad``.
    """
    roots = []
    for i, o in enumerate(outputs):
        e = gradient_edge(o)
        if e is None:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not "
                               f"have a grad_fn")
        roots.append(e)

    captures = None
    if inputs is not None:
        captures = {}
        for k, x in enumerate(inputs):
            e = gradient_edge(x)
            if e is None:
                raise RuntimeError("One of the differentiated Tensors does not require grad")
            captures.setdefault(e, []).append(k)

    # Dependencies: how many edges lead into each node reachable from the roots.
    deps: dict = {}
    # A node is pushed when it gets its first count (roots are pushed up front), so
    # each is walked once without a separate "seen" set.
    root_nodes = list(dict.fromkeys(node for node, _ in roots))
    root_set = set(root_nodes)
    stack = list(root_nodes)
    while stack:
        for e in stack.pop().next_edges:
            if e is not None:
                c = e[0]
                k = deps.get(c)
                if k is None:
                    deps[c] = 1
                    if c not in root_set:
                        stack.append(c)
                else:
                    deps[c] = k + 1

    needed = None if captures is None else _needed(root_nodes, deps, captures)

    buffers: dict = {}
    for (node, nr), (g, _) in zip(roots, grads, strict=True):
        _deliver(buffers, node, nr, g)

    result = [None] * len(inputs) if inputs is not None else None
    ready = [n for n in root_nodes if n not in deps]
    prev = state.grad_enabled
    state.grad_enabled = create_graph
    keys = state.keys
    if "Autocast" in keys:  # backward runs in the forward's dtypes (as PyTorch's)
        state.keys = tuple(k for k in keys if k != "Autocast")
    try:
        while ready:
            node = ready.pop()
            buf = buffers.pop(node, None)
            outs = None
            if buf is not None:
                if node._pre_hooks is not None:
                    buf = _run_pre_hooks(node, buf)
                if captures is not None:
                    for nr, g in enumerate(buf):
                        ks = captures.get((node, nr))
                        if ks is not None:
                            for k in ks:
                                result[k] = g
                if needed is not None and node not in needed:
                    pass
                elif node.__class__ is AccumulateGrad:
                    if accumulate and captures is None:
                        g = buf[0]
                        buf = None  # so that g's reference count tells if others hold it
                        if g is not None:
                            t = node._ref()
                            # The common case inline: a first gradient nobody else holds
                            # (this local and getrefcount's argument), no hooks, stored
                            # as it is; _accumulate does the rest.
                            if t is not None and t.grad is None and not create_graph \
                                    and t._backward_hooks is None and g._base is None \
                                    and g.grad_fn is None \
                                    and _getrefcount(g) <= _EXCLUSIVE - 1:
                                t.grad = g
                            else:
                                _accumulate(node, g, create_graph)
                            t = None
                elif buf[0] is None if len(buf) == 1 else all(g is None for g in buf):
                    pass
                elif _anomaly[0]:
                    outs = _apply_checked(node, buf, create_graph)
                    if node._post_hooks is not None:
                        for hook in list(node._post_hooks.values()):
                            hook(outs, buf)
                    if not retain_graph:
                        node.release()
                else:
                    outs = node.apply(buf, create_graph)
                    if node._post_hooks is not None:
                        for hook in list(node._post_hooks.values()):
                            hook(outs, buf)
                    if not retain_graph:
                        node.release()
            if outs is None:
                for e in node.next_edges:
                    if e is not None:
                        c = e[0]
                        left = deps[c] - 1
                        deps[c] = left
                        if not left:
                            ready.append(c)
                continue
            for e, g in zip(node.next_edges, outs, strict=True):
                if e is None:
                    continue
                c = e[0]
                if g is not None:
                    b = buffers.get(c)
                    if b is None:
                        b = buffers[c] = [None] * c.n_outputs
                    cur = b[e[1]]
                    b[e[1]] = g if cur is None else cur + g
                left = deps[c] - 1
                deps[c] = left
                if not left:
                    ready.append(c)
            g = b = None  # drop references, or the reference counts above would lie
    finally:
        state.grad_enabled = prev
        state.keys = keys
    return result


def _apply_checked(node, buf, create_graph):
    """``node.apply`` in anomaly mode: failures name the forward call, NaNs raise."""
    try:
        outs = node.apply(buf, create_graph)
    except Exception as e:
        report_failure(node, e)
        raise
    if _anomaly[1]:
        check_nan(node, outs)
    return outs


def _deliver(buffers, node, nr, g):
    b = buffers.get(node)
    if b is None:
        b = buffers[node] = [None] * node.n_outputs
    cur = b[nr]
    b[nr] = g if cur is None else cur + g


def _needed(root_nodes, deps, captures) -> set:
    """Nodes on some path from the roots to a captured edge (others need not run)."""
    left = dict(deps)
    order = []
    ready = [n for n in root_nodes if n not in left]
    while ready:
        n = ready.pop()
        order.append(n)
        for e in n.next_edges:
            if e is None:
                continue
            c = e[0]
            left[c] -= 1
            if not left[c]:
                ready.append(c)
    targets = {node for node, _ in captures}
    needed = set()
    for n in reversed(order):
        if n in targets or any(e is not None and e[0] in needed for e in n.next_edges):
            needed.add(n)
    return needed


def _run_pre_hooks(node, buf) -> list:
    buf = list(buf)
    hooks = node._pre_hooks
    for nr in range(len(buf)):
        hs = hooks.get(nr)
        if hs and buf[nr] is not None:
            for hook in list(hs.values()):
                r = hook(buf[nr])
                if r is not None:
                    buf[nr] = r
        ref = hooks.get(("retain", nr))
        if ref is not None and buf[nr] is not None:
            t = ref()
            if t is not None:
                g = buf[nr]
                t.grad = g if t.grad is None else t.grad + g
    hs = hooks.get(None)
    if hs:
        for hook in list(hs.values()):
            r = hook(tuple(buf))
            if r is not None:
                buf = list(r)
    return buf


#: References to an exclusively held gradient inside _accumulate: the caller's local,
#: the parameter and getrefcount's own argument (CPython).
_EXCLUSIVE = 3


def _accumulate(node: AccumulateGrad, g: Tensor, create_graph: bool) -> None:
    t = node._ref()
    if t is None:  # the leaf is gone: nobody can read its gradient
        return
    exclusive = _EXCLUSIVE
    hooks = t._backward_hooks
    if hooks:
        for hook in list(hooks.values()):
            r = hook(g)
            if r is not None:
                g = r
                exclusive = _EXCLUSIVE - 1  # the caller's local holds the old gradient
        r = None
    cur = t.grad
    if cur is None:
        if not create_graph:
            if g.grad_fn is not None:
                g = g.detach()
            # Steal the gradient only if nobody else can see it (not a view, not held by
            # the user, a hook, another buffer or a retained .grad), as PyTorch does;
            # otherwise .grad gets its own copy.
            if g._base is not None or _getrefcount(g) > exclusive:
                with _grad_mode(False):
                    g = g.clone()
        t.grad = g
    elif create_graph:
        t.grad = cur + g
    else:
        with _grad_mode(False):
            cur.add_(g)
    post = t.__dict__.get("_post_accumulate_hooks")
    if post:
        for hook in list(post.values()):
            hook(t)
