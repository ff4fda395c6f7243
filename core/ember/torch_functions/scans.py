"""Along-a-dimension scans: ``cummax``, ``cummin`` (with their indices) and ``diff``.
"""

from __future__ import annotations

from collections import namedtuple

from .. import array_api as _xp
from .. import ops as _ops
from ..tensor import Tensor
from ._common import _dim, _fail, _tensor

__all__ = ["diff", "cummax", "cummin"]


def diff(input: Tensor, n: int = 1, dim: int = -1, prepend: Tensor | None = None,
         append: Tensor | None = None) -> Tensor:
    """The ``n``-th forward difference along ``dim`` (``!=`` for bool tensors)."""
    if _tensor("diff", input).ndim == 0:
        _fail("diff", "expects input to be at least one-dimensional")
    if n < 0:
        _fail("diff", f"order must be non-negative but got {n}")
    for name, p in (("prepend", prepend), ("append", append)):
        if p is not None and _tensor("diff", p, name).ndim != input.ndim:
            _fail("diff", f"expects {name} to have the same number of dimensions as input "
                          f"({input.ndim}), got {p.ndim}")
    return _xp.diff(input, axis=dim, n=n, prepend=prepend, append=append)


_cummax = namedtuple("cummax", ["values", "indices"])

_cummin = namedtuple("cummin", ["values", "indices"])


def _cumulative_extreme(fn: str, input: Tensor, dim: int, larger: bool):
    """The running maximum (minimum) along ``dim`` and the index where it was reached:
    the last one on ties, a NaN once one is seen (PyTorch's rule).  The indices come
    from a log-step scan run without autograd (each step a tensor like ``input``); the
    values are ``gather(input, indices)``, so the gradient flows to the chosen
    elements and the memory kept for backward is linear."""
    from ..autograd import no_grad
    _tensor(fn, input)
    d = _dim(fn, dim, input.ndim)
    x = input.reshape(1) if input.ndim == 0 else input
    n = x.shape[d]
    shape = tuple(n if i == d else 1 for i in range(x.ndim))
    with no_grad():
        v = x.detach()
        idx = _ops.arange(n, device=x.device).reshape(shape).expand(tuple(x.shape))
        shift = 1
        while shift < n:
            # the result so far at position i - shift (the left part) against i's
            lv, li = _ops.narrow(v, d, 0, n - shift), _ops.narrow(idx, d, 0, n - shift)
            rv, ri = _ops.narrow(v, d, shift, n - shift), _ops.narrow(idx, d, shift, n - shift)
            beats = _ops.gt(lv, rv) if larger else _ops.lt(lv, rv)
            if x.dtype._kind == "f":
                beats = _ops.logical_or(
                    _ops.logical_and(beats, _ops.logical_not(_ops.isnan(rv))),
                    _ops.logical_and(_ops.isnan(lv), _ops.logical_not(_ops.isnan(rv))))
            head = (_ops.narrow(v, d, 0, shift), _ops.narrow(idx, d, 0, shift))
            v = _ops.cat([head[0], _ops.where(beats, lv, rv)], d)
            idx = _ops.cat([head[1], _ops.where(beats, li, ri)], d)
            shift *= 2
    values = _ops.gather(x, d, idx)
    if input.ndim == 0:
        values, idx = values.reshape(()), idx.reshape(())
    return values, idx


def cummax(input: Tensor, dim: int):
    """Running maximum along ``dim`` and its indices: ``(values, indices)``."""
    return _cummax(*_cumulative_extreme("cummax", input, dim, True))


def cummin(input: Tensor, dim: int):
    """Running minimum along ``dim`` and its indices: ``(values, indices)``."""
    return _cummin(*_cumulative_extreme("cummin", input, dim, False))
