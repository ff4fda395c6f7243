"""rocm's graph executor (``ember_graph_executor``): chains of pointwise ops fused into
one generated OpenCL kernel.

``ember.jit`` hands the plugin each accepted graph whose ops all run on rocm.  The
grouping pass (``ember.jit.passes.pointwise_groups``) finds chains of pointwise nodes
where each output feeds only the next node; every chain of ops whose rocm kernel is an
expression of ``kernels.pointwise.EXPRESSIONS`` becomes one kernel: each operand is
loaded once, each node's expression (bound by ``bind_expression``, exactly as its own
kernel binds it) computes in the node's computation dtype, its result is converted to
the node's result dtype as its own kernel would store it, and only the last result is
written.  So a fused chain computes bit for bit what the chain's kernels compute one
launch at a time; what it saves is the launches and the intermediate buffers.

The rest of the graph -- matmuls, reductions, fused losses, in-place updates -- runs
through the default executor (``ember.jit.executor.compile_graph``), one compiled
function per stretch of nodes between two chains.  A graph without a fusable chain is
left to the default executor (the hook returns ``None``).  ``EMBER_ROCM_FUSE=0`` turns
fusion off (for comparisons).

Promotion follows the core: each node's computation dtype comes from
``ember.dtypes.pointwise_dtypes`` over the operands' traced dtypes, as the boxed kernel
computes it.  A node stays out of a chain when the boxed kernel would do more than cast
and call the expression kernel: an op whose value rule reads data (integer division's
zero check), a Python int beyond an integer computation's range, only numbers as
operands, or a dtype outside bool, the integers, float32 and float64.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ember.environment import flag

from .kernels.compiler import ctype, get_kernel, launch_size, template
from .kernels.elementwise import broadcast_strides, index_source, shape_class, store_expr
from .kernels.pointwise import Operand, bind_expression

__all__ = ["FUSE_ENV", "FusedChain", "graph_executor", "fusable_chains", "value_layouts"]

#: Set to 0 to replay rocm graphs with the default executor (no fusion).
FUSE_ENV = "EMBER_ROCM_FUSE"

_LONG = np.dtype(np.int64)
#: dtypes whose loads and stores are plain C conversions (what a fused kernel emits)
_PLAIN = frozenset(np.dtype(t) for t in (np.bool_, np.uint8, np.int8, np.int16, np.int32,
                                         np.int64, np.float32, np.float64))


class _Step:
    """One node of a chain, its expression bound: ``tensors`` maps each operand's
    variable to its value id (the previous node's output, or a value from outside)."""

    __slots__ = ("op", "expr", "tensors", "scalars", "compute", "result", "helpers")

    def __init__(self, op, expr, tensors, scalars, compute, result, helpers) -> None:
        self.op, self.expr, self.tensors, self.scalars = op, expr, tensors, scalars
        self.compute, self.result, self.helpers = compute, result, helpers


def value_layouts(graph) -> dict:
    """``value id -> (shape, dtype name)`` for every value of ``graph`` whose layout can
    be known: the traced ones (``graph.meta``; a loaded graph has only its inputs'), the
    captured tensors and constants, and the rest by running each node's shape rule on
    meta tensors.  A node whose rule fails there leaves its outputs unknown (and out of
    any chain)."""
    import ember
    from ember import dispatch, schema
    from ember.dtypes import as_dtype
    from ember.jit.graph import DETACH
    meta = dict(graph.meta)
    for v, t in [*graph.captured.items(), *graph.constants.items()]:
        meta.setdefault(v, (tuple(t.shape), t.dtype.name))
    if all(v in meta for n in graph.nodes for v in n.outs):
        return meta
    tensors: dict = {}

    def tensor(v):
        if v not in tensors:
            shape, dt = meta[v]
            tensors[v] = ember.empty(shape, dtype=as_dtype(dt), device="meta")
        return tensors[v]
    where = ember.device("meta")
    for n in graph.nodes:
        if all(v in meta for v in n.outs):
            continue
        try:
            args = tuple(tensor(x) if k == "v" else [tensor(v) for v in x] if k == "l"
                         else x for k, x in n.args)
        except KeyError:  # an input of unknown layout
            continue
        if n.op == DETACH:
            out = args[0]
        else:
            od = schema.get_op(n.op)
            try:
                out = dispatch.backend_kernel(od, "meta").run(od, where, args)
            except Exception:  # no shape rule runs here: its outputs stay unknown
                continue
        outs = (out,) if n.out_kind == "one" else tuple(out) if n.out_kind == "tuple" else ()
        for v, t in zip(n.outs, outs, strict=False):
            meta.setdefault(v, (tuple(t.shape), t.dtype.name))
            tensors.setdefault(v, t)
    return meta


def _bind_node(graph, meta: dict, j: int, backend) -> _Step | None:
    """Node ``j`` bound as a fusable step, or ``None`` when it can't be fused
    (``meta``: ``value_layouts``)."""
    import ember
    from ember import dispatch
    from ember import schema
    from ember.dtypes import as_dtype, pointwise_dtypes
    node = graph.nodes[j]
    if node.out_kind != "one" or node.op not in schema.registry:
        return None
    od = schema.get_op(node.op)
    name = getattr(backend.kernels.get(node.op), "expression", None)
    if name is None or "pointwise" not in od.tags or od.is_inplace \
            or dispatch.backend_kernel(od, "rocm").how != "native":
        return None
    if any(v not in meta for v in node.outs) or \
            any(k == "v" and x not in meta for k, x in node.args):
        return None
    metas = []
    for kind, x in node.args:
        if kind == "l":
            return None
        if kind == "v":
            shape, dt = meta[x]
            metas.append(ember.empty(shape, dtype=as_dtype(dt), device="meta"))
        else:
            metas.append(x)
    spec = od.meta(*metas)
    if od.values is not None:
        # A value rule that can decide from shapes and dtypes passes on meta tensors;
        # one that must read data (integer division's zero check) fails on them, and
        # its node keeps its own kernel, whose boxed kernel checks every call.
        try:
            od.values(spec, *metas)
        except Exception:
            return None
    tpos = od.tensor_args
    compute = pointwise_dtypes(od.promotion, [metas[i] for i in tpos
                                              if metas[i] is not None])[0].np
    argnames = [a.name for a in od.args]
    if all(node.args[i][0] != "v" for i in tpos if argnames[i] != "condition"):
        return None  # only numbers take part: the boxed kernel types them itself
    values, ids = [], {}
    for i, (kind, x) in enumerate(node.args):
        if kind == "v":
            dt = as_dtype(meta[x][1]).np if argnames[i] == "condition" else compute
            values.append(Operand(tuple(meta[x][0]), dt))
            ids[f"v{j}_{argnames[i]}"] = x
        else:
            if x.__class__ is int and compute.kind in "iu" and \
                    not np.iinfo(compute).min <= x <= np.iinfo(compute).max:
                return None  # wrapped as C casts it by the boxed kernel
            values.append(x)
    expr, tensors, scalars, comp, result, helpers = bind_expression(
        name, argnames, values, prefix=f"v{j}_")
    if result != as_dtype(meta[node.outs[0]][1]).np or result != spec.dtype.np \
            or not {comp, result, *(a.dtype for _, a in tensors)} <= _PLAIN:
        return None
    return _Step(node.op, expr, [(var, ids[var]) for var, _ in tensors], scalars, comp,
                 result, helpers)


def fusable_chains(graph, backend, meta: dict | None = None) -> list[tuple[list[int],
                                                                          list[_Step]]]:
    """The chains of ``graph`` one kernel computes: ``(node indices, bound steps)``, at
    least two nodes each, all of one output shape and one device (a chain whose shape
    grows by broadcasting is cut there: fusing across it would compute the smaller
    nodes once per element of the larger output)."""
    from ember.jit.passes import pointwise_groups
    meta = value_layouts(graph) if meta is None else meta
    chains = []
    for group in pointwise_groups(graph):
        runs: list[list] = [[]]
        for j in group:
            step = _bind_node(graph, meta, j, backend)
            run = runs[-1]
            if run:
                n, first = graph.nodes[j], graph.nodes[run[0][0]]
                if step is None or meta[n.outs[0]][0] != meta[first.outs[0]][0] \
                        or str(n.device) != str(first.device):
                    runs.append([])
            if step is not None:
                runs[-1].append((j, step))
        chains += [([j for j, _ in r], [s for _, s in r]) for r in runs if len(r) > 1]
    return chains


class FusedChain:
    """One kernel computing a chain of pointwise nodes: ``chain(*arrays)`` takes the
    natives of ``inputs`` (value ids, in order) and returns the last node's result."""

    def __init__(self, nodes: list[int], steps: list[_Step], graph, meta: dict) -> None:
        from ember.dtypes import as_dtype
        self.nodes = nodes
        self.steps = steps
        self.ops = [s.op for s in steps]
        self.outs = [graph.nodes[j].outs[0] for j in nodes]
        last = graph.nodes[nodes[-1]]
        self.out = last.outs[0]
        self.device = last.device
        self.shape = tuple(meta[self.out][0])
        self.dtype = as_dtype(meta[self.out][1]).np
        made = set(self.outs)
        inputs: list[int] = []
        for s in steps:
            for _, v in s.tensors:
                if v not in made and v not in inputs:
                    inputs.append(v)
        self.inputs = inputs
        self.scalars = [(var, value, dt) for s in steps for var, value, dt in s.scalars]
        self._plans: dict = {}
        self.sources: list[str] = []  # the generated kernels (one per shape class seen)

    def _source(self, nd: int, linear: tuple, in_types: list) -> str:
        idx, index = index_source(nd, linear)
        params, lines = [], []
        name = "+".join(self.ops)
        for k, dt in enumerate(in_types, start=1):
            params.append(f", __global const {ctype(dt, name)}* in{k}, const long off{k}")
            params += [f", const long st{k}_{d}" for d in range(nd)]
            lines.append(f"    const {ctype(dt, name)} x{k} = in{k}[off{k} + {index(k)}];")
        for var, _, dt in self.scalars:
            params.append(f", const {ctype(dt, name)} {var}")
        loaded = {v: f"x{k}" for k, v in enumerate(self.inputs, start=1)}
        helpers: list[str] = []
        for j, s, v_out in zip(self.nodes, self.steps, self.outs, strict=True):
            T = ctype(s.compute, name)
            h = s.helpers.replace("T_", T)
            if h and h not in helpers:
                helpers.append(h)
            for var, v in s.tensors:  # each operand converted to the node's type
                lines.append(f"    const {T} {var} = ({T}){loaded[v]};")
            # stored as the node's own kernel stores it (bool: nonzero -> 1)
            lines.append(f"    const {ctype(s.result, name)} t{j} = "
                         f"{store_expr(s.expr.replace('T_', T), s.result)};")
            loaded[v_out] = f"t{j}"
        return template("pointwise.cl").substitute(
            HELPERS="\n".join(helpers), R=ctype(self.dtype, name),
            OUT_STRIDES="".join(f", const long st0_{d}" for d in range(nd)),
            PARAMS="".join(params), SIZES="".join(f", const long sz{d}" for d in range(nd)),
            INDEX="\n".join(idx), LOADS="\n".join(lines),
            OUT_INDEX=f"out_off + {index(0)}", STORE=f"t{self.nodes[-1]}")

    def _plan(self, arrays, out):
        strides = [out.strides] + [broadcast_strides(a, self.shape) for a in arrays]
        cshape, cstrides, linear = shape_class(self.shape, strides)
        nd = len(cshape)
        in_types = [a.dtype for a in arrays]
        src = self._source(nd, linear, in_types)
        if src not in self.sources:
            self.sources.append(src)
        dtypes = [_LONG, None, _LONG] + [_LONG] * nd
        dtypes += ([None, _LONG] + [_LONG] * nd) * len(arrays)
        dtypes += [dt for _, _, dt in self.scalars]
        dtypes += [_LONG] * nd
        k = get_kernel(out.dev, ("fused", src), lambda: src, "pointwise", dtypes)
        return k, math.prod(self.shape), cshape, cstrides

    def __call__(self, *arrays):
        dev = arrays[0].dev
        out = dev.empty(self.shape, self.dtype)
        n = math.prod(self.shape)
        if n == 0:
            return out
        key = tuple((a.shape, a.strides) for a in arrays)
        plan = self._plans.get(key)
        if plan is None:
            if len(self._plans) > 64:  # inputs whose strides vary call after call
                self._plans.clear()
            plan = self._plans[key] = self._plan(arrays, out)
        k, n, cshape, cstrides = plan
        args = [n, out.buffer, out.offset, *cstrides[0]]
        for j, a in enumerate(arrays, start=1):
            args += [a.buffer, a.offset, *cstrides[j]]
        args += [v for _, v, _ in self.scalars]
        args += cshape
        k(dev.queue, launch_size(n), None, *args)
        return out


class _FusedReplay:
    """A graph replayed as stretches of the default executor's compiled functions
    between fused chains: ``replay(*inputs) -> tuple of outputs``, setting the traced
    ``.grad``s as the default executor does."""

    def __init__(self, graph, chains: list[FusedChain]) -> None:
        from ember.jit.executor import compile_graph
        from ember.jit.graph import Graph
        from ember.tensor import Tensor
        self.chains = chains
        self._make = Tensor._make
        self.graph = graph
        start = {c.nodes[0]: c for c in chains}
        fused = {j for c in chains for j in c.nodes}
        parts: list = []
        for j in range(len(graph.nodes)):
            if j in start:
                parts.append(start[j])
            elif j not in fused:
                if not parts or not isinstance(parts[-1], list):
                    parts.append([])
                parts[-1].append(j)
        outside = set(graph.captured) | set(graph.constants)
        end = set(graph.outputs[1]) | set(graph.grads) | set(graph.grads.values())

        def reads(part) -> list[int]:
            if isinstance(part, FusedChain):
                return list(part.inputs)
            seen: list[int] = []
            made: set = set()
            for j in part:
                n = graph.nodes[j]
                for kind, x in n.args:
                    for v in ((x,) if kind == "v" else x if kind == "l" else ()):
                        if v not in made and v not in outside and v not in seen:
                            seen.append(v)
                made.update(n.outs)
            return seen

        def makes(part) -> list[int]:
            if isinstance(part, FusedChain):
                return [part.out]
            return [v for j in part for v in graph.nodes[j].outs if v not in outside]
        used = [reads(p) for p in parts]
        last: dict[int, int] = {}
        for i, vs in enumerate(used):
            for v in vs:
                last[v] = i
        later = [set().union(*used[i + 1:]) | end for i in range(len(parts))]
        self.steps = []
        self.sources = []
        for i, p in enumerate(parts):
            free = tuple(v for v in used[i] if last[v] == i and v not in end)
            if isinstance(p, FusedChain):
                self.steps.append((p, tuple(p.inputs), (p.out,), free))
                continue
            outs = [v for v in dict.fromkeys(makes(p)) if v in later[i]]
            sub = Graph(inputs=used[i], captured=graph.captured, constants=graph.constants,
                        nodes=[graph.nodes[j] for j in p],
                        outputs=(("tuple", ["T"] * len(outs)), outs), grads={},
                        meta=graph.meta, names=graph.names,
                        grad_enabled=graph.grad_enabled)
            fn = compile_graph(sub)
            self.sources.append(fn.source)
            self.steps.append((fn, tuple(used[i]), tuple(outs), free))
        self.base = {**graph.captured, **graph.constants}

    @property
    def source(self) -> str:
        """The default executor's functions and the fused kernels, for ``traced.code``."""
        kernels = [src for c in self.chains for src in c.sources]
        return "\n\n".join(self.sources + kernels)

    def __call__(self, *inputs):
        env = dict(self.base)
        env.update(zip(self.graph.inputs, inputs, strict=True))
        make = self._make
        for run, ins, outs, free in self.steps:
            args = [env[v] for v in ins]
            if run.__class__ is FusedChain:
                env[outs[0]] = make(run(*[t._data for t in args]), run.device)
            else:
                env.update(zip(outs, run(*args), strict=True))
            del args
            for v in free:
                del env[v]
        for leaf, g in self.graph.grads.items():
            env[leaf].grad = env[g]
        return tuple(env[v] for v in self.graph.outputs[1])


def graph_executor(graph, backend) -> Callable | None:
    """The replay function of ``graph`` with its pointwise chains fused, or ``None``
    when it has none (or ``EMBER_ROCM_FUSE=0``): the default executor then runs it."""
    if not flag(FUSE_ENV, default=True):
        return None
    meta = value_layouts(graph)
    found = fusable_chains(graph, backend, meta)
    if not found:
        return None
    return _FusedReplay(graph, [FusedChain(nodes, steps, graph, meta)
                                for nodes, steps in found])
