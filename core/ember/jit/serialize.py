"""``ember.jit.save`` / ``ember.jit.load``: a traced graph as one safetensors file.

The file is an ``ember.save`` checkpoint (safetensors: raw tensor bytes plus JSON; no
pickle, so loading runs no code) holding the graph as plain JSON values and the captured
tensors and constants.  A SHA-256 digest over both is checked on load, and every part of
the graph is validated (known ops, argument kinds, values defined before use) before
anything runs, so a modified or damaged file raises ``GraphFileError`` naming what is
wrong.  ``map_location`` moves the tensors and every node to another device: a graph
traced on cpu runs on any backend whose kernels cover its ops.
"""

from __future__ import annotations

import hashlib
import json
import math
import os

from .. import schema as _schema
from ..device import device as _device
from ..device import tensor_device
from ..dtypes import dtype as _dtype
from ..dtypes import as_dtype as _as_dtype
from ..tensor import Tensor
from .graph import DETACH, Graph, Node, unflatten

__all__ = ["save", "load", "GraphFileError", "LoadedGraph"]

FORMAT, VERSION = "ember.jit", 1


class GraphFileError(ValueError):
    """A graph file that is not a valid, unmodified ``ember.jit.save`` file."""


# -- constants as JSON ---------------------------------------------------------------------
def _enc(x, where: str):
    if x is None or isinstance(x, (bool, str)):
        return x
    if isinstance(x, int):
        return x
    if isinstance(x, float):
        return x if math.isfinite(x) else {"float": repr(x)}
    if isinstance(x, (tuple, list)):
        return {"tuple" if isinstance(x, tuple) else "list": [_enc(v, where) for v in x]}
    if isinstance(x, _dtype):
        return {"dtype": x.name}
    if isinstance(x, _device):
        return {"device": str(x)}
    raise TypeError(f"ember.jit.save(): {where} is a {type(x).__name__}, which a graph file "
                    f"can't hold (an explicit Generator? leave generator=None to use the "
                    f"device's default generator)")


def _dec(x, where: str, dev):
    if x is None or isinstance(x, (bool, str, int, float)):
        return x
    if isinstance(x, dict) and len(x) == 1:
        (k, v), = x.items()
        if k == "float" and v in ("inf", "-inf", "nan"):
            return float(v)
        if k in ("tuple", "list") and isinstance(v, list):
            items = [_dec(i, where, dev) for i in v]
            return tuple(items) if k == "tuple" else items
        if k == "dtype" and isinstance(v, str):
            try:
                return _as_dtype(v)
            except (KeyError, TypeError, ValueError):
                raise GraphFileError(f"{where}: unknown dtype {v!r}") from None
        if k == "device" and isinstance(v, str):
            return dev if dev is not None else _device(v)
    raise GraphFileError(f"{where}: {x!r} is not a constant a graph file may hold")


# -- save ------------------------------------------------------------------------------------
def _digest(graph_json: str, tensors: dict[str, Tensor]) -> str:
    h = hashlib.sha256(graph_json.encode())
    for name in sorted(tensors):
        t = tensors[name]
        h.update(f"{name}:{t.dtype.name}:{list(t.shape)}".encode())
        h.update(t.detach().cpu().numpy(force=True).tobytes())
    return h.hexdigest()


def _encode(graph: Graph) -> tuple[dict, dict[str, Tensor]]:
    tensors: dict[str, Tensor] = {}
    refs: dict[str, str] = {}
    for v, t in graph.captured.items():
        name = graph.names.get(v, f"captured.{v}")
        tensors[name] = t
        refs[str(v)] = name
    for v, t in graph.constants.items():
        tensors[f"constant.{v}"] = t
        refs[str(v)] = f"constant.{v}"
    nodes = []
    for j, n in enumerate(graph.nodes):
        args = [[k, list(x) if k == "l" else x] if k != "c"
                else ["c", _enc(x, f"argument {a} of {n.op}() (op {j})")]
                for a, (k, x) in enumerate(n.args)]
        nodes.append([n.op, args, list(n.outs), n.out_kind, str(n.device), n.grad_enabled])
    spec, vids = graph.outputs
    g = {"format": FORMAT, "version": VERSION, "inputs": list(graph.inputs),
         "input_meta": [[list(graph.meta[v][0]), graph.meta[v][1]] for v in graph.inputs],
         "tensors": refs, "captured": [str(v) for v in graph.captured], "nodes": nodes,
         "outputs": [_enc(spec, "the output structure"), list(vids)],
         "grads": [[leaf, g] for leaf, g in graph.grads.items()]}
    return g, tensors


def save(traced, path: str | os.PathLike) -> None:
    """Write ``traced`` (a ``TracedFunction`` with an accepted graph, or a graph) to
    ``path``."""
    from ..serialization import save as _save
    graph = traced if isinstance(traced, Graph) else traced.graph
    g, tensors = _encode(graph)
    text = json.dumps(g, sort_keys=True)
    _save({"graph": text, "tensors": tensors, "digest": _digest(text, tensors)}, path)


# -- load ------------------------------------------------------------------------------------
def _validate(g, tensors: dict) -> None:
    def bad(why: str):
        raise GraphFileError(f"ember.jit.load(): {why}")
    if not isinstance(g, dict) or g.get("format") != FORMAT:
        bad("not an ember.jit graph file")
    if g.get("version") != VERSION:
        bad(f"graph format version {g.get('version')!r}; this ember reads {VERSION}")
    for key in ("inputs", "input_meta", "tensors", "captured", "nodes", "outputs", "grads"):
        if key not in g:
            bad(f"the graph has no {key!r}")
    defined = set()
    for v in g["inputs"]:
        if not isinstance(v, int) or v in defined:
            bad(f"input value {v!r} is not a fresh integer id")
        defined.add(v)
    for v, name in g["tensors"].items():
        if name not in tensors:
            bad(f"tensor {name!r} (value {v}) is missing from the file")
        defined.add(int(v))
    for j, node in enumerate(g["nodes"]):
        if not (isinstance(node, list) and len(node) == 6):
            bad(f"op {j} is malformed")
        op, args, outs, kind, dev, grad = node
        if op != DETACH and op not in _schema.registry:
            bad(f"op {j} names {op!r}, which is not an ember op")
        if kind not in ("one", "tuple", "none") or not isinstance(grad, bool) \
                or not isinstance(dev, str):
            bad(f"op {j} ({op}) is malformed")
        for a, arg in enumerate(args):
            if not (isinstance(arg, list) and len(arg) == 2 and arg[0] in ("v", "l", "c")):
                bad(f"argument {a} of op {j} ({op}) is malformed")
            ids = [arg[1]] if arg[0] == "v" else arg[1] if arg[0] == "l" else []
            for v in ids:
                if v not in defined:
                    bad(f"argument {a} of op {j} ({op}) reads value {v!r} before it exists")
        for v in outs:
            if not isinstance(v, int):
                bad(f"op {j} ({op}) writes a non-integer value id {v!r}")
            defined.add(v)
    spec, vids = g["outputs"]
    for v in [*vids, *(x for pair in g["grads"] for x in pair)]:
        if v not in defined:
            bad(f"the result reads value {v!r}, which no op writes")


class LoadedGraph:
    """A graph read from a file, callable like the traced function (tensor arguments in
    the traced order).  ``state`` holds its captured tensors (parameters, buffers) by
    name: a loaded training step updates them in place."""

    def __init__(self, graph: Graph, state: dict[str, Tensor]) -> None:
        from .traced import _executor
        self.graph = graph
        self.state = state
        self._run = _executor(graph, False)  # (the device's own executor, if it has one)

    def __call__(self, *inputs: Tensor):
        g = self.graph
        if len(inputs) != len(g.inputs):
            raise TypeError(f"this graph takes {len(g.inputs)} tensor arguments, got "
                            f"{len(inputs)}")
        for i, (t, v) in enumerate(zip(inputs, g.inputs, strict=True)):
            shape, dtype = g.meta[v]
            if not isinstance(t, Tensor) or tuple(t.shape) != tuple(shape) \
                    or t.dtype.name != dtype:
                raise TypeError(f"argument {i}: this graph was traced for a {dtype} tensor "
                                f"of shape {list(shape)}, got "
                                f"{_describe(t)}")
        return unflatten(g.outputs[0], list(self._run(*inputs)))


def _describe(t) -> str:
    if isinstance(t, Tensor):
        return f"{t.dtype.name} {list(t.shape)}"
    return type(t).__name__


def load(path: str | os.PathLike, map_location=None) -> LoadedGraph:
    """Read a graph file written by :func:`save`; ``map_location`` (a device) runs it
    there."""
    from ..serialization import load as _load
    try:
        blob = _load(path, map_location=map_location)
    except (ValueError, KeyError, TypeError) as e:
        raise GraphFileError(f"ember.jit.load(): {path} is not a valid graph file: {e}") \
            from e
    if not isinstance(blob, dict) or set(blob) != {"graph", "tensors", "digest"} \
            or not isinstance(blob["graph"], str):
        raise GraphFileError(f"ember.jit.load(): {path} is not an ember.jit graph file")
    text, tensors = blob["graph"], blob["tensors"]
    if _digest(text, tensors) != blob["digest"]:
        raise GraphFileError(f"ember.jit.load(): {path} was modified after it was saved "
                             f"(its SHA-256 digest does not match)")
    try:
        g = json.loads(text)
    except json.JSONDecodeError as e:
        raise GraphFileError(f"ember.jit.load(): the graph is not valid JSON: {e}") from e
    _validate(g, tensors)
    dev = tensor_device(_device(map_location)) if map_location is not None else None
    graph = Graph()
    graph.inputs = list(g["inputs"])
    for v, (shape, dtype) in zip(graph.inputs, g["input_meta"], strict=True):
        graph.meta[v] = (tuple(shape), dtype)
    captured = set(g["captured"])
    for v, name in g["tensors"].items():
        (graph.captured if v in captured else graph.constants)[int(v)] = tensors[name]
        if v in captured:
            graph.names[int(v)] = name
    for j, (op, args, outs, kind, devname, grad) in enumerate(g["nodes"]):
        enc = tuple((k, tuple(x) if k == "l" else x) if k != "c"
                    else ("c", _dec(x, f"argument {a} of op {j} ({op})", dev))
                    for a, (k, x) in enumerate(args))
        graph.nodes.append(Node(op, enc, tuple(outs), kind,
                                dev if dev is not None else tensor_device(_device(devname)), grad))
    graph.outputs = (_dec_spec(g["outputs"][0]), list(g["outputs"][1]))
    graph.grads = {leaf: gv for leaf, gv in g["grads"]}
    state = {graph.names[v]: t for v, t in graph.captured.items()}
    return LoadedGraph(graph, state)


def _dec_spec(x):
    return _dec(x, "the output structure", None)
