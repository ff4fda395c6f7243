"""The elementwise engine: one generated OpenCL kernel per expression and shape class.

Every pointwise op, cast, copy and fill runs through ``elementwise``: the operands are
broadcast to the output's shape (stride 0), dimensions that are contiguous in every
operand are merged, and the kernel is generated for the remaining number of dimensions
(operands that are contiguous in the output's order skip the index arithmetic).
"""

from __future__ import annotations

import math

import numpy as np

from ..array import CLArray
from .compiler import ctype, get_kernel, launch_size, template

__all__ = ["elementwise", "broadcast_strides", "collapse", "shape_class", "index_source",
           "store_expr", "new_like", "pointwise_source"]

_LONG = np.dtype(np.int64)


def broadcast_strides(a: CLArray, shape: tuple) -> tuple:
    """``a``'s strides viewed at the broadcast ``shape`` (0 where it is broadcast)."""
    lead = len(shape) - a.ndim
    out = [0] * lead
    for s, st, t in zip(a.shape, a.strides, shape[lead:], strict=False):
        out.append(st if s == t and s != 1 else 0)
    return tuple(out)


def collapse(shape: tuple, strides: list) -> tuple:
    """Drop size-1 dimensions and merge dimensions contiguous in every operand.

    Returns ``(shape, [strides per operand])`` with fewer dimensions, same elements.
    """
    keep = [i for i, s in enumerate(shape) if s != 1]
    shape = [shape[i] for i in keep]
    strides = [[st[i] for i in keep] for st in strides]
    i = len(shape) - 2
    while i >= 0:
        if all(st[i] == st[i + 1] * shape[i + 1] for st in strides):
            shape[i] *= shape[i + 1]
            del shape[i + 1]
            for st in strides:
                st[i] = st[i + 1]
                del st[i + 1]
        i -= 1
    return tuple(shape), [tuple(st) for st in strides]


def store_expr(expr: str, rtype: np.dtype) -> str:
    """Convert a computed value to the stored type (bool: nonzero -> 1)."""
    if rtype == np.bool_:
        return f"(uchar)(({expr}) != 0)"
    return f"({ctype(rtype)})({expr})"


def new_like(dev, shape: tuple, dtype: np.dtype) -> CLArray:
    return dev.empty(tuple(shape), np.dtype(dtype))


def elementwise(name: str, expr: str, out: CLArray, tensors: list, scalars: list,
                compute: np.dtype, helpers: str = "") -> CLArray:
    """Run ``out[i] = expr`` over every element of ``out``.

    ``tensors`` is ``[(var, CLArray)]``: each is loaded, converted to the ``compute``
    dtype and named ``var`` in ``expr`` (where ``T_`` names the computation type);
    ``scalars`` is ``[(var, value, dtype)]``,
    passed as kernel arguments.  The expression may also use ``gid`` (the output's
    linear index).  Returns ``out``.
    """
    shape = out.shape
    dev = out.dev
    # The launch plan (kernel, merged sizes and strides) depends only on the operands'
    # layouts, so repeated calls skip the planning below.
    pkey = (expr, helpers, compute, shape, out.strides, out.dtype,
            tuple((v, a.shape, a.strides, a.dtype) for v, a in tensors),
            tuple((v, dt) for v, _, dt in scalars))
    plan = dev.plans.get(pkey)
    if plan is None:
        plan = _plan(name, expr, out, tensors, scalars, compute, helpers)
        if plan is None:  # nothing to compute
            return out
        if len(dev.plans) > 8192:  # layouts seen once (varying shapes) must not pile up
            dev.plans.clear()
        dev.plans[pkey] = plan
    k, n, cshape, cstrides = plan
    args = [n, out.buffer, out.offset, *cstrides[0]]
    for j, (_, a) in enumerate(tensors, start=1):
        args += [a.buffer, a.offset, *cstrides[j]]
    args += [v for _, v, _ in scalars]
    args += cshape
    k(dev.queue, launch_size(n), None, *args)
    return out


def shape_class(shape: tuple, strides: list) -> tuple:
    """The launch layout of an elementwise kernel over ``shape`` whose operands (the
    output first) have ``strides`` (broadcast ones hold 0): ``(merged sizes, merged
    strides per operand, whether each operand is read linearly)``, the sizes padded to
    1, 2, 4 or 8 dimensions.  The kernel is compiled per shape class: the number of
    dimensions and the linear flags."""
    cshape, cstrides = collapse(shape, strides)
    # Few shape classes keep compilation rare: pad to 1, 2, 4 or 8 dims (size-1 dims
    # cost one modulo each).  Operands that are contiguous in the output's order skip
    # the index arithmetic only in the common 1-d case.
    nd = next(b for b in (1, 2, 4, 8, len(cshape)) if b >= len(cshape))
    pad = nd - len(cshape)
    cshape = (1,) * pad + cshape
    cstrides = [(0,) * pad + st for st in cstrides]
    # (one element: index 0 whatever the strides, so a 0-d output shares the 1-d
    # contiguous kernel -- the backward's seed ones and its clone build no program)
    one = math.prod(shape) == 1
    linear = tuple(nd == 1 and (st == (1,) or one) for st in cstrides)
    return cshape, cstrides, linear


def index_source(nd: int, linear: tuple) -> tuple:
    """``(lines, index)`` for a kernel of shape class ``(nd, linear)`` (``shape_class``):
    the lines turn ``gid`` into the multi-index ``i0 ...`` over the merged sizes
    ``sz0 ...``, and ``index(k)`` is operand ``k``'s element index from its strides
    ``stk_0 ...`` (operand 0 is the output)."""
    def index(k):
        if linear[k]:
            return "gid"
        return " + ".join(f"i{d} * st{k}_{d}" for d in range(nd)) or "0"
    lines = []
    if not all(linear):
        lines.append("    long r = gid;")
        for d in range(nd - 1, 0, -1):
            lines.append(f"    const long i{d} = r % sz{d}; r /= sz{d};")
        lines.append("    const long i0 = r;")
    return lines, index


def pointwise_source(name: str, expr: str, helpers: str, compute: np.dtype,
                     out_dtype: np.dtype, operands: list, scalars: list, nd: int,
                     linear: tuple) -> str:
    """The OpenCL C of ``elementwise``'s kernel for op ``name`` (in errors): ``out =
    expr`` computed in ``compute`` and stored as ``out_dtype``; ``operands`` are the
    tensors' ``(var, dtype)``, ``scalars`` the numbers' ``(var, dtype)``; ``nd`` and
    ``linear`` are the shape class (``shape_class``)."""
    T = ctype(compute, name)
    idx, index = index_source(nd, linear)
    params, loads = [], []
    for k, (var, dt) in enumerate(operands, start=1):
        params.append(f", __global const {ctype(dt, name)}* in{k}, const long off{k}")
        params += [f", const long st{k}_{d}" for d in range(nd)]
        loads.append(f"    const {T} {var} = ({T})in{k}[off{k} + {index(k)}];")
    for var, dt in scalars:
        params.append(f", const {ctype(dt, name)} {var}")
    return template("pointwise.cl").substitute(
        HELPERS=helpers.replace("T_", T), R=ctype(out_dtype, name),
        OUT_STRIDES="".join(f", const long st0_{d}" for d in range(nd)),
        PARAMS="".join(params), SIZES="".join(f", const long sz{d}" for d in range(nd)),
        INDEX="\n".join(idx), LOADS="\n".join(loads),
        OUT_INDEX=f"out_off + {index(0)}",
        STORE=store_expr(expr.replace("T_", T), out_dtype))


def _plan(name: str, expr: str, out: CLArray, tensors: list, scalars: list,
          compute: np.dtype, helpers: str):
    """The launch plan of ``elementwise``: (kernel, size, merged sizes, merged strides),
    or ``None`` for an empty output."""
    shape = out.shape
    dev = out.dev
    n = math.prod(shape)
    if n == 0:
        return None
    all_strides = [out.strides] + [broadcast_strides(a, shape) for _, a in tensors]
    cshape, cstrides, linear = shape_class(shape, all_strides)
    nd = len(cshape)
    T = ctype(compute, name)
    ctype(out.dtype, name)  # (an unsupported dtype fails here, before any build)
    in_types = tuple(a.dtype for _, a in tensors)
    # Names matter: where(c, x, 0.0) and where(c, 0.0, x) share an expression.
    key = ("ew", expr, helpers, T, out.dtype, in_types, nd, linear,
           tuple(v for v, _ in tensors), tuple((v, dt) for v, _, dt in scalars))

    operands = [(v, a.dtype) for v, a in tensors]
    scalar_types = [(v, dt) for v, _, dt in scalars]

    def source() -> str:
        return pointwise_source(name, expr, helpers, compute, out.dtype, operands,
                                scalar_types, nd, linear)

    dtypes = [_LONG, None, _LONG] + [_LONG] * nd
    dtypes += ([None, _LONG] + [_LONG] * nd) * len(tensors)
    dtypes += [dt for _, _, dt in scalars]
    dtypes += [_LONG] * nd
    k = get_kernel(dev, key, source, "pointwise", dtypes)
    return k, n, cshape, cstrides
