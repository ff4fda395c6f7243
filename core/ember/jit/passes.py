"""Graph passes: small functions from a graph to a graph (or to an analysis)."""

from __future__ import annotations

from .. import schema as _schema
from .graph import DETACH, Graph

__all__ = ["eliminate_dead_code", "fold_constants", "pointwise_groups", "mutated_values"]

_KEEP_TAGS = {"inplace", "random", "nondeterministic"}


def _op(name: str):
    return None if name == DETACH else _schema.get_op(name)


def mutated_values(graph: Graph) -> set[int]:
    """Values some node writes in place (its tensor arguments: ``self`` and, for fused
    multi-tensor updates, the lists)."""
    out: set[int] = set()
    for n in graph.nodes:
        od = _op(n.op)
        if od is not None and od.is_inplace:
            for kind, x in n.args:
                if kind == "v":
                    out.add(x)
                elif kind == "l":
                    out.update(x)
    return out


def _needed(graph: Graph) -> set[int]:
    return set(graph.outputs[1]) | set(graph.grads.values()) | set(graph.grads)


def eliminate_dead_code(graph: Graph) -> Graph:
    """Drop nodes whose outputs nobody reads (not a later node, the result or a
    ``.grad``), unless they write in place or draw random numbers (a dropped draw would
    shift every later one)."""
    live = _needed(graph)
    kept = []
    for n in reversed(graph.nodes):
        od = _op(n.op)
        effect = od is not None and bool(od.tags & _KEEP_TAGS)
        if effect or not n.outs or any(v in live for v in n.outs):
            kept.append(n)
            for kind, x in n.args:
                if kind == "v":
                    live.add(x)
                elif kind == "l":
                    live.update(x)
    graph.nodes = kept[::-1]
    return graph


def fold_constants(graph: Graph, run) -> Graph:
    """Run once, at compile time, the nodes whose arguments are all constants (no input,
    no captured tensor), that draw no random numbers and whose outputs nothing writes in
    place; their outputs become constants.  ``run(node, args)`` executes one node."""
    known = dict(graph.constants)
    mutated = mutated_values(graph)
    kept = []
    for n in graph.nodes:
        od = _op(n.op)
        foldable = (od is not None and not od.tags & _KEEP_TAGS and n.outs
                    and not any(v in mutated for v in n.outs)
                    and all(k == "c" or (k == "v" and x in known)
                            or (k == "l" and all(v in known for v in x)) for k, x in n.args))
        if not foldable:
            kept.append(n)
            continue
        args = tuple(known[x] if k == "v" else [known[v] for v in x] if k == "l" else x
                     for k, x in n.args)
        out = run(n, args)
        outs = (out,) if n.out_kind == "one" else tuple(out)
        for v, t in zip(n.outs, outs, strict=True):
            known[v] = graph.constants[v] = t
    graph.nodes = kept
    return graph


def pointwise_groups(graph: Graph) -> list[list[int]]:
    """Chains of pointwise nodes (indices) where each node's output feeds only the next
    one: what an executor that fuses pointwise kernels would turn into one kernel."""
    uses: dict[int, int] = {}
    for n in graph.nodes:
        for kind, x in n.args:
            for v in ((x,) if kind == "v" else x if kind == "l" else ()):
                uses[v] = uses.get(v, 0) + 1
    for v in _needed(graph):
        uses[v] = uses.get(v, 0) + 1
    groups, cur = [], []
    for i, n in enumerate(graph.nodes):
        od = _op(n.op)
        pw = od is not None and "pointwise" in od.tags and not od.is_inplace
        feeds = cur and any(k == "v" and x == graph.nodes[cur[-1]].outs[0]
                            for k, x in n.args) and uses.get(graph.nodes[cur[-1]].outs[0]) == 1
        if pw and feeds:
            cur.append(i)
            continue
        if len(cur) > 1:
            groups.append(cur)
        cur = [i] if pw else []
    if len(cur) > 1:
        groups.append(cur)
    return groups
