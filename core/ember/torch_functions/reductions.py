"""NaN-ignoring reductions (``nansum``, ``nanmean``), ``aminmax`` and ``trapezoid``.
"""

from __future__ import annotations

from collections import namedtuple

from .. import ops as _ops
from ..tensor import Tensor
from ._common import _dim, _fail, _tensor
from .scans import diff

__all__ = ["nansum", "nanmean", "aminmax", "trapezoid"]


def nansum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """The sum treating NaN as zero."""
    if _tensor("nansum", input).dtype._kind == "c":
        _fail("nansum", "complex inputs are not supported")
    x = _ops.where(_ops.isnan(input), 0, input) if input.dtype._kind == "f" else input
    return _ops.sum(x, dim, keepdim, dtype=dtype)


def nanmean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """The mean of the non-NaN elements (NaN where there are none)."""
    if not _tensor("nanmean", input).dtype.is_floating_point:
        _fail("nanmean", f"expected input to have floating point dtype but got {input.dtype}")
    count = _ops.sum(_ops.logical_not(_ops.isnan(input)), dim, keepdim)
    total = nansum(input, dim, keepdim, dtype=dtype)
    return _ops.true_divide(total, count.astype(total.dtype))


_aminmax = namedtuple("aminmax", ["min", "max"])


def aminmax(input: Tensor, *, dim: int | None = None, keepdim: bool = False):
    """``(min, max)`` of ``input`` along ``dim`` or over all elements (``amin``/``amax``:
    the gradient is shared between ties)."""
    _tensor("aminmax", input)
    if dim is not None:
        d = _dim("aminmax", dim, input.ndim)
        empty = input.ndim > 0 and input.shape[d] == 0
    else:
        d, empty = None, input.numel() == 0
    if empty:
        _fail("aminmax", "cannot compute aminmax over an empty dimension as the operation "
                         "has no identity")
    dims = () if d is None or input.ndim == 0 else (d,)  # (): every dimension
    return _aminmax(_ops.amin(input, dims, keepdim), _ops.amax(input, dims, keepdim))

def trapezoid(y: Tensor, x: Tensor | None = None, *, dx: float | None = None,
              dim: int = -1) -> Tensor:
    """The trapezoidal rule along ``dim``: spacing ``dx`` (1) or sample points ``x``."""
    _tensor("trapezoid", y, "y")
    if x is not None and dx is not None:
        _fail("trapezoid", "cannot take both x and dx")
    d = _dim("trapezoid", dim, y.ndim)
    n = y.shape[d]
    if n == 0:
        return _ops.sum(y, d)
    mid = _ops.add(_ops.narrow(y, d, 1, n - 1), _ops.narrow(y, d, 0, n - 1))
    if x is None:
        return _ops.mul(_ops.sum(mid, d), (1.0 if dx is None else dx) / 2)
    _tensor("trapezoid", x, "x")
    if x.ndim == 1:
        if x.shape[0] != n:
            _fail("trapezoid", f"x has {x.shape[0]} points, y {n} along dim {dim}")
        x = x.reshape(tuple(n if i == d else 1 for i in range(y.ndim)))
    dxs = diff(x, dim=d if x.ndim == y.ndim else -1)
    return _ops.true_divide(_ops.sum(_ops.mul(mid, dxs), d), 2)
