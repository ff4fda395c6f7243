"""Every kernel source this package generates, without a device.

``sources()`` walks the generators (the ``*_source`` functions the kernels build from)
over the combinations rocm builds: each expression op of the registry in every
computation dtype the core's promotion gives it (the core's dtype checks run on
``meta`` tensors, so refused dtypes are left out as rocm never sees them), with a number
operand where the op takes one, and in every elementwise shape class; reductions,
arg-reductions and scans in each dtype pair and number of merged dims; the row kernels,
cross-entropy sums and optimizer steps in float32 and float64; matmul in every dtype;
the addressing kernels (gather, scatter, indexing) in every mode; the complex kernels;
and the 16-bit float conversions.

It exists so other compilers can check the same sources: plugins/cuda/tests compiles
each through ``ember.kit.kernel_dialect`` with ``nvcc``.  Only the kernels a traced
graph fuses (``graph_executor``, chains of these same expressions) are not listed.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .compiler import CTYPES

__all__ = ["Source", "sources", "SHAPE_CLASSES"]

_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)
_I64, _I32 = np.dtype(np.int64), np.dtype(np.int32)
_BOOL = np.dtype(np.bool_)
_DTYPES = list(CTYPES)  # bool, uint8, int8, int16, int32, int64, float32, float64

#: elementwise shape classes ``(nd, output linear, inputs linear)`` (``shape_class``):
#: the 1-d contiguous kernel, 1-d with strided inputs, and 2, 4 and 8 merged dims
SHAPE_CLASSES = ((1, True, True), (1, True, False), (2, False, False), (4, False, False),
                 (8, False, False))

#: merged (kept, reduced) dims of reductions: a full reduction, rows, and more of each
_REDUCE_DIMS = ((0, 1), (1, 1), (2, 1), (1, 2))


class Source(tuple):
    """``(label, source)``: a kernel's description (family, op, dtypes, shape class)
    and its OpenCL C."""

    __slots__ = ()

    def __new__(cls, label: str, source: str):
        return super().__new__(cls, (label, source))

    @property
    def label(self) -> str:
        return self[0]

    @property
    def source(self) -> str:
        return self[1]


def sources() -> Iterator[Source]:
    """Every generated kernel source of the catalog (see the module's docstring)."""
    yield from _pointwise()
    yield from _reductions()
    yield from _fused()
    yield from _addressing()
    yield from _complex()
    from ..half_storage import SOURCE
    yield Source("half_storage", SOURCE)


def _linear_flags(nd: int, out_linear: bool, in_linear: bool, n_in: int) -> tuple:
    return (out_linear,) + (in_linear,) * n_in if nd == 1 else (False,) * (1 + n_in)


def _number_variants(od) -> list:
    """Which tensor arguments of ``od`` may be given as Python numbers, as sets: none,
    ``other`` (``x + 2``), the optional ones (``clamp(x, 0, 1)``)."""
    names = [a.name for a in od.args if a.type == "Tensor" and not a.is_list]
    optional = {a.name for a in od.args if a.type == "Tensor" and a.optional}
    variants = [frozenset()]
    if "other" in names[1:]:
        variants.append(frozenset({"other"}))
    if optional:
        variants.append(frozenset(optional))
    return variants


def _bound(name: str, od, dtype: np.dtype, numbers: frozenset):
    """``(expr, tensors, scalars, compute, result, helpers)`` of op ``name`` on tensors
    of ``dtype`` (the arguments named in ``numbers`` given as Python numbers), as its
    kernel binds it, or ``None`` where the core refuses those operands."""
    import ember
    from ember.dispatch import dispatch
    from ember.dtypes import FROM_NP, pointwise_dtypes

    from .pointwise import Operand, bind_expression
    argnames = [a.name for a in od.args]
    tensor_idx = [i for i, a in enumerate(od.args) if a.type == "Tensor" and not a.is_list]
    numbered = {argnames.index(n) for n in numbers}
    args = []
    for i, a in enumerate(od.args):
        if i in numbered:
            args.append(2.0 if dtype.kind == "f" else 2)
        elif i in tensor_idx:
            dt = _BOOL if a.name == "condition" else dtype
            args.append(ember.zeros(3, device="meta", dtype=FROM_NP[dt]))
        elif a.has_default and a.default is not None:
            args.append(a.default)
        elif a.has_default:
            args.append(None)
        else:
            args.append(1)
    try:
        dispatch(od, tuple(args))  # the core's dtype checks, on meta
    except (TypeError, ValueError, RuntimeError):  # (ember's OpError is a RuntimeError)
        return None
    compute, _ = pointwise_dtypes(od.promotion or "default",
                                  [x for i, x in enumerate(args)
                                   if i in tensor_idx and argnames[i] != "condition"
                                   or i in numbered])
    compute = compute.np
    if compute not in CTYPES:
        return None
    values = [Operand((3,), _BOOL if argnames[i] == "condition" else compute)
              if isinstance(x, ember.Tensor) else x for i, x in enumerate(args)]
    return bind_expression(name, argnames, values)


def _pointwise() -> Iterator[Source]:
    from ember.schema import registry

    from . import expression_ops
    from .elementwise import pointwise_source
    for name in expression_ops(registry):
        od = registry[name]
        first = True
        for dtype in _DTYPES:
            for numbers in _number_variants(od):
                bound = _bound(name, od, dtype, numbers)
                if bound is None:
                    continue
                expr, tensors, scalars, compute, result, helpers = bound
                operands = [(v, a.dtype) for v, a in tensors]
                scalar_types = [(v, dt) for v, _, dt in scalars]
                # every shape class once per op (its first accepted dtype), the 1-d
                # contiguous one for every dtype
                classes = SHAPE_CLASSES if first and not numbers else SHAPE_CLASSES[:1]
                for nd, out_lin, in_lin in classes:
                    linear = _linear_flags(nd, out_lin, in_lin, len(operands))
                    yield Source(
                        f"pointwise {name} {compute} -> {result}"
                        f"{' numbers ' + ','.join(sorted(numbers)) if numbers else ''} "
                        f"nd={nd} linear={linear}",
                        pointwise_source(name, expr, helpers, compute, result, operands,
                                         scalar_types, nd, linear))
                first = first and bool(numbers)
    yield from _copies()


def _copies() -> Iterator[Source]:
    """The elementwise kernels of copies, casts, fills, ranges and masked fills (their
    expressions are those of pointwise.py, gather.py and ``_creation``; the PoCL test
    of the catalog fails if they part)."""
    from .elementwise import pointwise_source
    one = SHAPE_CLASSES[:2] + SHAPE_CLASSES[2:3]  # contiguous, strided, 2-d

    def each(label, expr, compute, out, operands, scalars=()):
        for nd, out_lin, in_lin in one:
            linear = _linear_flags(nd, out_lin, in_lin, len(operands))
            yield Source(f"{label} {compute} -> {out} nd={nd} linear={linear}",
                         pointwise_source(label, expr, "", compute, out, operands,
                                          list(scalars), nd, linear))
    for src in _DTYPES:
        for dst in _DTYPES:
            yield from each("copy_", "v_src", src, dst, [("v_src", src)])
            yield from each("astype", "v_a", src, dst, [("v_a", src)])
        yield from each("fill", "v", src, src, [], [("v", src)])
        yield from each("masked_fill", "v_m != 0 ? v_v : v_a", src, src,
                        [("v_a", src), ("v_m", _BOOL)], [("v_v", src)])
        yield from each("masked_fill", "v_m != 0 ? v_v : v_a", src, src,
                        [("v_a", src), ("v_m", _BOOL), ("v_v", src)])
        for acc in ((_F64, _F32) if src.kind == "f" else (_I64,)):
            T = {_F64: "double", _F32: "float", _I64: "long"}[acc]
            yield from each("arange", f"v_start + ({T})gid * v_step", acc, src, [],
                            [("v_start", acc), ("v_step", acc)])
    from .gather import _ATOMIC_TYPES
    for dt in _ATOMIC_TYPES:
        yield from each("index_add", "v_s * v_alpha", dt, dt, [("v_s", dt)],
                        [("v_alpha", dt)])


def _reductions() -> Iterator[Source]:
    from .indexing import scan_source
    from .reduction import REDUCTIONS, argreduce_source, reduce_source
    for name in REDUCTIONS:
        for dtype in _DTYPES:
            outs = [dtype]
            if name in ("sum", "prod") and dtype.kind in "biu" and dtype != _I64:
                outs.append(_I64)  # (integer sums accumulate in int64, as PyTorch)
            for out in outs:
                for ond, ind in _REDUCE_DIMS:
                    yield Source(f"reduce {name} {dtype} -> {out} kept={ond} reduced={ind}",
                                 reduce_source(name, dtype, out, ond, ind))
    for name in ("argmax", "argmin"):
        for dtype in _DTYPES:
            for ond, ind in _REDUCE_DIMS:
                yield Source(f"argreduce {name} {dtype} kept={ond} reduced={ind}",
                             argreduce_source(name, dtype, ond, ind))
    for op in ("+", "*"):
        for dtype in _DTYPES:
            for out in dict.fromkeys([dtype, _I64 if dtype.kind in "biu" else dtype]):
                for nd in (0, 1, 2):
                    yield Source(f"scan {op} {dtype} -> {out} nd={nd}",
                                 scan_source(op, dtype, out, nd))


def _fused() -> Iterator[Source]:
    from .fused import one_group_source, optim_source, rows_source
    from .matmul import matmul_source
    for dtype in (_F32, _F64):
        for nd in (0, 1, 2):
            yield Source(f"rows {dtype} nd={nd}", rows_source(dtype, nd))
        yield Source(f"cross_entropy sums {dtype}", one_group_source(dtype))
        yield Source(f"optim {dtype}", optim_source(dtype))
    for dtype in _DTYPES:
        yield Source(f"matmul {dtype}", matmul_source(dtype))


def _addressing() -> Iterator[Source]:
    from .gather import _ATOMIC_TYPES, addr_source
    for mode in ("load", "set", "add", "multiply"):
        for dtype in (_DTYPES if mode in ("load", "set") else list(_ATOMIC_TYPES)):
            for nd in (1, 2):
                for index_dtypes in ([_I64], [_I32], [_I64, _I64]):
                    for wrap in (False, True):  # (indexing wraps negative indices)
                        yield Source(f"addr {mode} {dtype} nd={nd} indices="
                                     f"{[str(d) for d in index_dtypes]}"
                                     f"{' wrapping' if wrap else ''}",
                                     addr_source(mode, mode, dtype, dtype, index_dtypes, nd,
                                                 wrap))


def _complex() -> Iterator[Source]:
    from ..complex_kernels import _EXPRESSIONS, _REAL, _UNARY, cplx_source
    for name, (_, kind) in _EXPRESSIONS.items():
        for cdt in _REAL:
            out = {"c": cdt, "f": _REAL[cdt], "b": _BOOL}[kind]
            operands = [("a", cdt)] if name in _UNARY else [("a", cdt), ("b", cdt)]
            variants = [(operands, ["alpha"])]
            if name not in _UNARY:  # a real tensor operand, and a number operand
                variants += [([("a", cdt), ("b", _REAL[cdt])], ["alpha"]),
                             ([("a", cdt)], ["b", "alpha"])]
            for nd in (1, 2):
                for tensors, numbers in variants:
                    yield Source(f"complex {name} {cdt} -> {out} nd={nd} "
                                 f"tensors={[str(dt) for _, dt in tensors]}",
                                 cplx_source(name, cdt, out, nd, tensors, numbers))
