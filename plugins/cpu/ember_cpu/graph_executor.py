"""The CPU's graph executor: ``ember.jit`` graphs run on numpy arrays end to end.

The core's native-array executor (``ember.jit.native``) resolves each node of a graph
to this plugin's unboxed numpy kernel once, keeps intermediates as ndarrays and writes
in-place updates straight into the parameters' and optimizer state's arrays.  This
module adds what only a whole graph shows:

* cross-entropy's forward and backward on the same logits share ``exp(x - rowmax)``
  (eager mode computes it twice: the backward kernel can't see the forward's), and the
  op's value rule (every target a class) and the kernels' fast-path test (no negative
  target) become one min/max pass over the targets; a batch that fails it runs the
  rule (which raises eager mode's error) and the unfused kernels.
"""

from __future__ import annotations

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
