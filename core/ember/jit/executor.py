"""The default graph executor: the graph compiled into one straight-line Python function.

Each node becomes one call of its op's boxed kernel on its device, resolved once here:
no schema parsing, no dispatch, no autograd recording.  Values are freed after their last
use (``del``), as eager mode frees intermediates.  The generated source names only
numbered locals and the kernels bound in its namespace: constants and captured tensors are
passed by reference, never written into source.  When a replay must record autograd
(grad mode on and the traced call returned tensors that require grad), the executor calls
the dispatcher instead, restoring each node's grad mode.  A backend may replace the
executor for its device through the ``ember_graph_executor`` hook.
"""

from __future__ import annotations

from .. import dispatch as _dispatch
from .. import schema as _schema
from ..tensor import Tensor
from .graph import DETACH, Graph

__all__ = ["compile_graph", "run_node"]


def run_node(node, args):
    """Run one node eagerly (constant folding, and a reference for executors)."""
    if node.op == DETACH:
        return args[0].detach()
    od = _schema.get_op(node.op)
    return _dispatch.backend_kernel(od, node.device.type).run(od, node.device, args)


def compile_graph(graph: Graph, through_dispatch: bool = False):
    """``fn(*inputs) -> (output leaves, )``: the graph as one function."""
    ns: dict = {"_st": _dispatch.state, "_DETACH": Tensor.detach,
                "_dispatch": _dispatch.dispatch}
    names: dict[int, str] = {}
    for i, v in enumerate(graph.inputs):
        names[v] = f"i{i}"
    for v, t in graph.captured.items():
        names[v] = f"c{v}"
        ns[f"c{v}"] = t
    for v, t in graph.constants.items():
        names[v] = f"k{v}"
        ns[f"k{v}"] = t
    last: dict[int, int] = {}
    for j, n in enumerate(graph.nodes):
        for kind, x in n.args:
            for v in ((x,) if kind == "v" else x if kind == "l" else ()):
                last[v] = j
    keep = set(graph.outputs[1]) | set(graph.grads.values()) | set(graph.grads)
    body = []
    mode = None
    for j, n in enumerate(graph.nodes):
        args = []
        for a, (kind, x) in enumerate(n.args):
            if kind == "v":
                args.append(names[x])
            elif kind == "l":
                args.append("[" + ", ".join(names[v] for v in x) + "]")
            else:
                ns[f"a{j}_{a}"] = x
                args.append(f"a{j}_{a}")
        targets = []
        for v in n.outs:  # an in-place op returns a value that already has a name
            targets.append("_" if v in names else f"v{v}")
            names.setdefault(v, f"v{v}")
        outs = ", ".join(targets)
        lhs = f"{outs}, = " if n.out_kind == "tuple" else f"{outs} = " if n.outs else ""
        tup = "(" + ", ".join(args) + ("," if len(args) == 1 else "") + ")"
        if through_dispatch and n.grad_enabled != mode:
            mode = n.grad_enabled
            body.append(f"_st.grad_enabled = {mode}")
        if n.op == DETACH:
            body.append(f"{lhs}_DETACH({args[0]})")
        elif through_dispatch:
            ns[f"o{j}"] = _schema.get_op(n.op)
            body.append(f"{lhs}_dispatch(o{j}, {tup})")
        else:
            od = _schema.get_op(n.op)
            ns[f"r{j}"] = _dispatch.backend_kernel(od, n.device.type).run
            ns[f"o{j}"], ns[f"d{j}"] = od, n.device
            body.append(f"{lhs}r{j}(o{j}, d{j}, {tup})")
        dead = [names[v] for v in sorted(last) if last[v] == j and v not in keep
                and names[v][0] in "vi"]
        if dead:
            body.append("del " + ", ".join(dead))
    for leaf, g in graph.grads.items():
        body.append(f"{names[leaf]}.grad = {names[g]}")
    outs = ", ".join(names[v] for v in graph.outputs[1])
    body.append(f"return ({outs}{',' if len(graph.outputs[1]) == 1 else ''})")
    params = ", ".join(f"i{i}" for i in range(len(graph.inputs)))
    src = [f"def _replay({params}):",
           "    _prev = _st.grad_enabled",
           f"    _st.grad_enabled = {bool(through_dispatch)}" if not through_dispatch
           else "    pass",
           "    try:"]
    src += [f"        {line}" for line in body]
    src += ["    finally:", "        _st.grad_enabled = _prev"]
    code = "\n".join(src)
    exec(compile(code, "<ember.jit graph>", "exec"), ns)  # our own source, see the docstring
    fn = ns["_replay"]
    fn.source = code
    return fn
