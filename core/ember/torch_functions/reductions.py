"""NaN-ignoring reductions (``nansum``, ``nanmean``), ``aminmax``, ``renorm`` (a norm per
slice) and the trapezoidal rule (``trapezoid``, ``cumulative_trapezoid``).
"""

from __future__ import annotations

from collections import namedtuple

from .. import ops as _ops
from ..tensor import Tensor
from ._common import _dim, _fail, _tensor
from .scans import diff

__all__ = ["nansum", "nanmean", "aminmax", "renorm", "trapezoid", "cumulative_trapezoid"]


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

def renorm(input: Tensor, p: float, dim: int, maxnorm: float) -> Tensor:
    """Each slice ``input.select(dim, i)`` whose ``p``-norm exceeds ``maxnorm`` scaled to
    norm ``maxnorm`` (by ``maxnorm / (norm + 1e-7)``, as PyTorch)."""
    from ..linalg import vector_norm  # ember.linalg sits above this layer

    if _tensor("renorm", input).ndim < 2:
        _fail("renorm", f"input needs at least 2 dimensions, got {input.ndim} dimensions")
    if input.dtype._kind not in "fc":
        _fail("renorm", f"expected a floating point or complex tensor, got {input.dtype}")
    if not p > 0:
        _fail("renorm", f"non-positive-norm not supported, got p={p}")
    if not maxnorm >= 0:
        _fail("renorm", f"expected maxnorm to be >= 0 but got {maxnorm}")
    d = _dim("renorm", dim, input.ndim)
    norm = vector_norm(input, p, tuple(i for i in range(input.ndim) if i != d), True)
    over = _ops.gt(norm, maxnorm)
    factor = _ops.where(over, _ops.true_divide(maxnorm, _ops.add(norm, 1e-7)), 1.0)
    return _ops.mul(input, factor.astype(norm.dtype))


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


def cumulative_trapezoid(y: Tensor, x: Tensor | None = None, *, dx: float | None = None,
                         dim: int = -1) -> Tensor:
    """The running trapezoidal rule along ``dim`` (one element fewer than ``y`` there)."""
    _tensor("cumulative_trapezoid", y, "y")
    if x is not None and dx is not None:
        _fail("cumulative_trapezoid", "cannot take both x and dx")
    if y.ndim == 0:
        _fail("cumulative_trapezoid", "y must have at least one dimension")
    d = _dim("cumulative_trapezoid", dim, y.ndim)
    n = y.shape[d]
    if n == 0:
        return y
    mid = _ops.add(_ops.narrow(y, d, 1, n - 1), _ops.narrow(y, d, 0, n - 1))
    if x is None:
        return _ops.cumsum(_ops.mul(mid, (1.0 if dx is None else dx) / 2), d)
    _tensor("cumulative_trapezoid", x, "x")
    if x.ndim == 1:
        if x.shape[0] != n:
            _fail("cumulative_trapezoid", f"x has {x.shape[0]} points, y {n} along dim {dim}")
        x = x.reshape(tuple(n if i == d else 1 for i in range(y.ndim)))
    dxs = diff(x, dim=d if x.ndim == y.ndim else -1)
    return _ops.cumsum(_ops.true_divide(_ops.mul(mid, dxs), 2), d)
