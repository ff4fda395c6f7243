"""The CPU's graph executor: ``ember.jit`` graphs run on numpy arrays end to end.

The core's native-array executor (``ember.jit.native``) resolves each node of a graph
to this plugin's unboxed numpy kernel once, keeps intermediates as ndarrays and writes
in-place updates straight into the parameters' and optimizer state's arrays.  This
module adds what only a whole graph shows:

* cross-entropy's forward and backward on the same logits share ``exp(x - rowmax)``
  (eager mode computes it twice: the backward kernel can't see the forward's), and the
  op's value rule (every target a class) and the kernels' fast-path test (no negative
  target) become one min/max pass over the targets; a batch that fails it runs the
  rule (which raises eager mode's error) and the unfused kernels;
* the hottest kernels of a training step (``linear``, ``relu``, ``threshold_backward``,
  ``_linear_backward``, the momentum step of ``_sgd_update_``) become numpy
  expressions in the generated function where the recorded shapes and constants put
  them on their kernel's common path: the same numpy calls in the same order (so the
  same bits), without the kernel's call and its tests of what the graph already fixes.
"""

from __future__ import annotations

import numpy as np

from . import nn_kernels

__all__ = ["compile_graph"]


def compile_graph(graph):
    """``fn(*inputs) -> outputs`` for a graph of CPU ops (``ember_graph_executor``)."""
    from ember.jit.native import compile_native
    return compile_native(graph, replace=_replacements)


def _replacements(graph) -> dict:
    from ember.jit.passes import mutated_values
    out: dict = {}
    mutated = mutated_values(graph)
    for j, n in enumerate(graph.nodes):
        inline = _INLINE.get(n.op)
        if inline is not None:
            factory = inline(graph, n)
            if factory is not None:
                out[j] = factory
                continue
        if n.op != "cross_entropy" or not _simple_statically(graph, n) \
                or {n.args[0][1], n.args[1][1]} & mutated:
            continue
        for k in range(j + 1, len(graph.nodes)):
            b = graph.nodes[k]
            if b.op == "_cross_entropy_backward" and b.args[1:] == n.args:
                out[j] = _forward_factory(n)
                out[k] = _backward_factory(j)
                break
    return out


def _simple_statically(graph, n) -> bool:
    """What ``nn_kernels._simple_ce`` tests that the recorded shapes and constants
    decide: 2-D float logits, one integer class index per row, no class weights, no
    smoothing, an ``ignore_index`` outside the classes, a reduced loss."""
    (kx, x), (kt, t), (_, weight), (_, reduction), (_, ii), (_, ls) = n.args
    if kx != "v" or kt != "v":
        return False
    if x not in graph.meta or t not in graph.meta:
        return False
    xshape, xdtype = graph.meta[x]
    tshape, tdtype = graph.meta[t]
    return (len(xshape) == 2 and xdtype in ("float32", "float64") and len(tshape) == 1
            and tdtype in ("int64", "int32", "int16", "int8", "uint8") and weight is None
            and not ls and reduction in ("mean", "sum") and 0 not in xshape
            and not 0 <= ii < xshape[1])


def _forward_factory(node):
    from ember import schema
    from ember.jit.native import Replacement
    from ember.tensor import Tensor
    rule = schema.get_op("cross_entropy").values
    kernel = nn_kernels.cross_entropy
    lo, hi = nn_kernels._min, nn_kernels._max
    loss_and_exp = nn_kernels.simple_ce_loss

    def factory(spec, dev):
        def forward(x, target, weight, reduction, ignore_index, label_smoothing):
            # every target a class: the value rule's early answer, and the fast path's
            if lo(target) >= 0 and hi(target) < x.shape[1]:
                loss, e = loss_and_exp(x, target, reduction)
                if loss is not None:
                    return loss, e
            else:  # the rule decides (ignored targets) or raises eager mode's error
                rule(spec, Tensor._make(x, dev), Tensor._make(target, dev), weight,
                     reduction, ignore_index, label_smoothing)
            return kernel(x, target, weight, reduction, ignore_index, label_smoothing), None
        return Replacement(forward, hidden=True, checks_values=True)
    return factory


def _backward_factory(j: int):
    from ember.jit.native import Replacement
    kernel = nn_kernels.cross_entropy_backward
    grad_of_exp = nn_kernels.simple_ce_grad

    def factory(spec, dev):
        def backward(grad, x, target, weight, reduction, ignore_index, label_smoothing, e):
            if e is None:  # the forward took the general path
                return kernel(grad, x, target, weight, reduction, ignore_index,
                              label_smoothing)
            return grad_of_exp(grad, e, target, reduction)
        return Replacement(backward, takes=(j,))
    return factory


# --- numpy expressions for the hot kernels ---------------------------------------------------
# Each returns a factory when the node's recorded shapes, dtypes and constants put its
# kernel (nn_kernels) on the common path that the lines below spell out, else None.

_FLOATS = ("float32", "float64")


def _meta(graph, arg):
    kind, x = arg
    return graph.meta.get(x) if kind == "v" else None


def _inline(lines, **env):
    from ember.jit.native import Replacement

    def factory(spec, dev):
        return Replacement(inline=lines, env=env)
    return factory


def _linear(graph, n):
    (x, w, b) = (_meta(graph, a) for a in n.args)
    if x is None or w is None or len(w[0]) != 2 or len(x[0]) < 2 or x[1] not in _FLOATS \
            or w[1] != x[1] or (b is not None and b[1] != x[1]) \
            or (b is None and n.args[2] != ("c", None)):
        return None

    def lines(args, outs, env):
        a, wt, bias = args
        out = [f"{outs[0]} = {env['mm']}({a}, {wt}.T)"]
        if bias != "None":
            out.append(f"{env['add']}({outs[0]}, {bias}, out={outs[0]})")
        return out
    return _inline(lines, mm=np.matmul, add=np.add)


def _drop_le(values, x, threshold, out, env) -> list[str]:
    """Lines of ``nn_kernels._keep(values, x <= threshold, drop=True)`` into ``out``."""
    return [f"{out} = {env['le']}({x}, {threshold}).view({env['i8']}).astype({env['bits']})",
            f"{out} -= 1",
            f"{env['and']}({values}.view({env['bits']}), {out}, out={out})",
            f"{out} = {out}.view({env['dt']})"]


def _drop_env(dtype) -> dict:
    dt = np.dtype(dtype)
    return {"le": np.less_equal, "i8": np.int8, "bits": nn_kernels._BITS[dt.itemsize],
            "dt": dt, "and": np.bitwise_and, "zero": dt.type(0)}


def _relu(graph, n):  # (nn_kernels.relu)
    a = _meta(graph, n.args[0])
    if a is None or a[1] not in _FLOATS or not a[0]:
        return None
    return _inline(lambda args, outs, env: _drop_le(args[0], args[0], env["zero"], outs[0],
                                                    env), **_drop_env(a[1]))


def _threshold_backward(graph, n):
    g, x = _meta(graph, n.args[0]), _meta(graph, n.args[1])
    if g is None or x is None or g[1] not in _FLOATS or x[0] != g[0] or not g[0] \
            or n.args[2][0] != "c":
        return None
    return _inline(lambda args, outs, env: _drop_le(*args, outs[0], env), **_drop_env(g[1]))


def _linear_backward(graph, n):
    g, x, w = (_meta(graph, a) for a in n.args[:3])
    flags = [a[1] for a in n.args[3:]]
    if any(a[0] != "c" for a in n.args[3:]) or g is None or x is None \
            or len(g[0]) != 2 or len(x[0]) != 2 or g[1] not in _FLOATS or x[1] != g[1]:
        return None
    if flags[0] and (w is None or len(w[0]) != 2 or w[1] != g[1]):
        return None
    none = np.empty(0, np.dtype(g[1]))

    def lines(args, outs, env):
        grad, a, wt = args[:3]
        gi, gw, gb = outs
        return [f"{gi} = {env['mm']}({grad}, {wt})" if flags[0] else
                f"{gi} = {env['none']}.copy()",
                f"{gw} = {env['mm']}({grad}.T, {a})" if flags[1] else
                f"{gw} = {env['none']}.copy()",
                f"{gb} = {env['sum']}({grad}, 0)" if flags[2] else
                f"{gb} = {env['none']}.copy()"]
    return _inline(lines, mm=np.matmul, sum=np.add.reduce, none=none)


def _sgd_update(graph, n):
    consts = [a for k, a in n.args[3:]]
    if any(k != "c" for k, _ in n.args[3:]) or len(consts) != 7:
        return None
    lr, momentum, dampening, weight_decay, nesterov, maximize, init = consts
    if not momentum or init or dampening or weight_decay or nesterov or maximize:
        return None

    def lines(args, outs, env):  # nn_kernels.sgd_update_'s common step
        params, grads, bufs, lr_, mom = args[:5]
        out = []
        for p, d, b in zip(params, grads, bufs, strict=True):
            out += [f"{b} *= {mom}", f"{b} += {d}", f"{p} -= {lr_} * {b}"]
        return out
    return _inline(lines)


_INLINE = {"linear": _linear, "relu": _relu, "threshold_backward": _threshold_backward,
           "_linear_backward": _linear_backward, "_sgd_update_": _sgd_update}
