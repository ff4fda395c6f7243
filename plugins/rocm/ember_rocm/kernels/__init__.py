"""The rocm kernel table: OpenCL C kernels (``*.cl`` templates) behind Python wrappers
that follow ember's kernel calling convention (natives in schema order).

``build_table(backend)`` walks ember's op registry and binds a kernel to every op this
package knows how to run: pointwise ops from their expressions (in-place variants
included), reductions, scans, views, copies, matmul, creation and fused kernels.
"""

from __future__ import annotations

import numpy as np

from . import fused, gather, host, indexing, linear, matmul as _matmul, pointwise, reduction, \
    views
from .elementwise import elementwise

__all__ = ["build_table", "expression_ops"]


def _expression_fits(od, spec) -> bool:
    """Whether the expression names only arguments of ``od``'s schema."""
    names = {a.name: "x" for a in od.args}
    try:
        for kind in ("b", "i", "u", "f"):
            e = spec(kind, {}) if callable(spec) else spec
            e.replace("T_", "").format(**names)
    except (KeyError, IndexError):
        return False
    return True


def _creation(backend):
    def state(device):
        return backend.state(device.index or 0)

    def zeros(size, dtype, device):
        return pointwise.fill(state(device).empty(tuple(size), dtype.np), 0)

    def ones(size, dtype, device):
        return pointwise.fill(state(device).empty(tuple(size), dtype.np), 1)

    def empty(size, dtype, device):
        return state(device).empty(tuple(size), dtype.np)

    def full(size, fill_value, dtype, device):
        return pointwise.fill(state(device).empty(tuple(size), dtype.np), fill_value)

    def arange(start, end, step, dtype, device):
        if end is None:
            start, end = 0, start
        st = state(device)
        n = max(0, int(np.ceil((end - start) / step)))
        out = st.empty((n,), dtype.np)
        if dtype.np.kind == "f":
            # In double where the device has it, as PyTorch computes ranges.
            acc = np.dtype(np.float64 if st.fp64 else np.float32)
        else:
            acc = np.dtype(np.int64)
        return elementwise("arange", "v_start + (T_)gid * v_step".replace(
            "T_", "double" if acc == np.float64 else "float" if acc.kind == "f" else "long"),
            out, [], [("v_start", acc.type(start), acc), ("v_step", acc.type(step), acc)], acc)

    # (random numbers: the core's default draws them on the host with the device's
    # numpy generator, so a seed gives the CPU's values)
    return {"zeros": zeros, "ones": ones, "empty": empty, "full": full, "arange": arange}


def _cpu_has(name: str) -> bool:
    """Whether the CPU backend (whose numpy kernels host ops reuse) has ``name``."""
    try:
        from ember.device import get_backend
        return name in get_backend("cpu").kernels
    except Exception:  # no CPU plugin: those ops are then missing on rocm too
        return False


def _fill_(self, value):
    pointwise.fill(self, value)


def expression_ops(registry) -> list:
    """The out-of-place ops of ``registry`` whose kernel is their ``EXPRESSIONS`` entry
    (``pointwise.pointwise_kernel``)."""
    return [name for name, od in registry.items()
            if name in pointwise.EXPRESSIONS and "pointwise" in od.tags and not od.is_inplace
            and _expression_fits(od, pointwise.EXPRESSIONS[name])]


def build_table(backend) -> dict:
    """Kernels for every op of the registry that this backend implements."""
    from ember.schema import registry
    table: dict = {}
    for name in expression_ops(registry):
        table[name] = pointwise.pointwise_kernel(registry[name])
    for name, od in registry.items():
        base = od.inplace_of if od.is_inplace else None
        if base is None and od.is_inplace and name.endswith("_"):
            base = name[:-1]
        if base in pointwise.EXPRESSIONS and "pointwise" in registry.get(base, od).tags \
                and _expression_fits(od, pointwise.EXPRESSIONS[base]):
            table[name] = pointwise.inplace_kernel(od, base)
        if name in reduction.REDUCTIONS and "reduction" in od.tags:
            table[name] = reduction.reduction_kernel(od, name)
    for name in ("argmax", "argmin"):
        if name in registry:
            table[name] = reduction.arg_kernel(registry[name], name, with_values=False)
    table.update(_creation(backend))
    table.update({
        "astype": pointwise.astype, "copy_": pointwise.copy_, "clone": pointwise.clone,
        "contiguous": pointwise.contiguous, "fill_": _fill_,
        "reshape": views.reshape, "permute": views.permute, "expand": views.expand,
        "basic_index": indexing.basic_index, "unfold": indexing.unfold,
        "_cat": indexing.cat,
        "cumsum": lambda self, dim, dtype: indexing.scan("+", self, dim, dtype.np),
        "cumprod": lambda self, dim, dtype: indexing.scan("*", self, dim, dtype.np),
        "matmul": _matmul.matmul,
    })
    table.update({
        "gather": gather.gather, "scatter": gather.scatter, "scatter_": gather.scatter_,
        "scatter_add": gather.scatter_add, "scatter_add_": gather.scatter_add_,
        "index_select": gather.index_select, "index_add": gather.index_add,
        "index_add_": gather.index_add_, "index": gather.index, "index_put_": gather.index_put_,
        "masked_fill": gather.masked_fill, "masked_fill_": gather.masked_fill_,
    })
    table.update(fused.kernels(registry))
    table.update(linear.kernels(registry))
    for name in host.HOST_OPS:
        if name in registry and name not in table and _cpu_has(name):
            table[name] = host.host_kernel(backend, name)
    return {k: v for k, v in table.items() if k in registry}
