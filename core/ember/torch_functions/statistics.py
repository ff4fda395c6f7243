"""Order statistics and counts: ``median``, ``nanmedian``, ``kthvalue``, ``mode``,
``quantile``, ``nanquantile``, ``bincount``, ``histc``, ``cov``, ``corrcoef``.
"""

from __future__ import annotations

import builtins
import math
from collections import namedtuple

from .. import dtypes as _dt
from .. import ops as _ops
from ..tensor import Tensor
from ._common import _dim, _fail, _tensor
from .diagonals import diagonal
from .scans import cummax

__all__ = ["median", "kthvalue", "nanmedian", "bincount", "cov", "corrcoef", "histc", "quantile",
           "nanquantile", "mode"]


_values_indices = namedtuple("median", ["values", "indices"])


def median(input: Tensor, dim: int | None = None, keepdim: bool = False):
    """The lower median (the smaller of the two middle values); NaN if any element is
    NaN.  Over all elements a 0-d tensor; along ``dim`` a ``(values, indices)`` pair."""
    _tensor("median", input)
    if dim is None:
        if input.numel() == 0 and input.dtype._kind == "f":
            return _ops.full((), math.nan, dtype=input.dtype, device=input.device)
        if input.numel() == 0:
            _fail("median", f"an empty {input.dtype} tensor has no median")
        return median(input.reshape(-1), 0).values
    # the lower middle; with NaNs, the first NaN (sorted last)
    v, i = _sorted_pick("median", input, dim, keepdim, lambda n, nans: _ops.where(
        _ops.gt(nans, 0), _ops.sub(n, nans), (n - 1) // 2))
    return _values_indices(v, i)


def _sorted_pick(fn, input, dim, keepdim, pick):
    """Sort along ``dim`` (NaNs last) and gather at the position ``pick(n, nans)`` gives
    (``nans``: the count of NaNs per slice, keepdim-shaped): ``(values, indices)``."""
    d = _dim(fn, dim, input.ndim)
    x = input.reshape(1) if input.ndim == 0 else input
    n = x.shape[d]
    if n == 0:
        raise IndexError(f"{fn}(): Expected reduction dim {d} to have non-zero size.")
    values, indices = _ops.sort(x, d, stable=True)
    if x.dtype._kind == "f":
        nans = _ops.sum(_ops.isnan(x), d, True)
    else:
        nans = _ops.zeros(tuple(1 if i == d else s for i, s in enumerate(x.shape)),
                          dtype=_dt.int64, device=x.device)
    k = pick(n, nans)
    v, i = _ops.gather(values, d, k), _ops.gather(indices, d, k)
    if not keepdim or input.ndim == 0:
        v, i = _ops.squeeze(v, d), _ops.squeeze(i, d)
    return v, i


def nanmedian(input: Tensor, dim: int | None = None, keepdim: bool = False):
    """``median`` ignoring NaN (NaN only where a slice is all NaN)."""
    _tensor("nanmedian", input)
    if dim is None:
        if input.numel() == 0 and input.dtype._kind == "f":
            return _ops.full((), math.nan, dtype=input.dtype, device=input.device)
        return nanmedian(input.reshape(-1), 0).values
    # the lower middle of the non-NaN values; all NaN: position 0, a NaN
    v, i = _sorted_pick("nanmedian", input, dim, keepdim,
                        lambda n, nans: _ops.floor_divide(_ops.clamp(
                            _ops.sub(n - 1, nans), min=0), 2))
    return _values_indices(v, i)


_kth = namedtuple("kthvalue", ["values", "indices"])


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False):
    """The ``k``-th smallest element (1-based) along ``dim``: ``(values, indices)``."""
    n = _tensor("kthvalue", input).shape[_dim("kthvalue", dim, input.ndim)] \
        if input.ndim else 1
    if not 1 <= k <= n:
        _fail("kthvalue", f"selected number k out of range for dimension {dim}: k = {k}, "
                          f"size {n}")

    def pick(n, nans):
        return _ops.full(tuple(nans.shape), k - 1, dtype=_dt.int64, device=nans.device)
    return _kth(*_sorted_pick("kthvalue", input, dim, keepdim, pick))


def bincount(input: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    """How often each value ``0 … max`` occurs in the 1-D non-negative integer
    ``input`` (summing ``weights`` instead of ones); at least ``minlength`` bins."""
    if _tensor("bincount", input).ndim != 1 or input.dtype._kind not in "iu":
        _fail("bincount", f"expected a 1-D tensor of integers, got a {input.ndim}-D "
                          f"{input.dtype} tensor")
    if minlength < 0:
        _fail("bincount", f"minlength should be >= 0, got {minlength}")
    if weights is not None and tuple(weights.shape) != tuple(input.shape):
        _fail("bincount", f"weights should be 1-D and have the same length as input, got "
                          f"{list(weights.shape)} and {list(input.shape)}")
    n = input.shape[0]
    if n and builtins.bool(_ops.lt(_ops.amin(input), 0).item()):
        _fail("bincount", "input should contain only non-negative values")
    size = builtins.max(int(_ops.amax(input).item()) + 1 if n else 0, minlength)
    idx = input.astype(_dt.int64)
    if weights is None:
        src = _ops.ones(n, dtype=_dt.int64, device=input.device)
    else:
        wd = weights.dtype if weights.dtype.is_floating_point else _dt.float64
        src = weights.astype(wd)
    return _ops.index_add(_ops.zeros(size, dtype=src.dtype, device=input.device), 0, idx, src)


def histc(input: Tensor, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:
    """A histogram of ``bins`` equal bins over ``[min, max]`` (the data's range when both
    are 0); elements outside are ignored, ``max`` falls in the last bin."""
    if not _tensor("histc", input).dtype.is_floating_point:
        _fail("histc", f"expected a floating point tensor, got {input.dtype}")
    if bins <= 0:
        _fail("histc", f"bins must be > 0, got {bins}")
    lo, hi = float(min), float(max)
    if lo > hi:
        _fail("histc", f"max must be larger than min, got min {lo} and max {hi}")
    if lo == hi and input.numel():
        lo, hi = float(_ops.amin(input).item()), float(_ops.amax(input).item())
    if not (math.isfinite(lo) and math.isfinite(hi)):  # (NaN in the data's range too)
        _fail("histc", f"range of [{lo:g}, {hi:g}] is not finite")
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    x = input.reshape(-1)
    inside = _ops.logical_and(_ops.ge(x, lo), _ops.le(x, hi))
    pos = _ops.floor(_ops.mul(_ops.sub(x, lo), bins / (hi - lo)))
    pos = _ops.clamp(_ops.where(inside, pos, 0), 0, bins - 1).astype(_dt.int64)
    hist = _ops.zeros(bins, dtype=input.dtype, device=input.device)
    return _ops.index_add(hist, 0, pos, inside.astype(input.dtype))


def quantile(input: Tensor, q, dim: int | None = None, keepdim: bool = False, *,
             interpolation: str = "linear") -> Tensor:
    """The ``q``-quantiles (a number or a 1-D tensor in ``[0, 1]``; a tensor adds a first
    dimension) along ``dim`` or over all elements; NaN where a slice has a NaN."""
    return _quantile("quantile", input, q, dim, keepdim, interpolation, False)


def nanquantile(input: Tensor, q, dim: int | None = None, keepdim: bool = False, *,
                interpolation: str = "linear") -> Tensor:
    """``quantile`` of the values that are not NaN (NaN where a slice has none)."""
    return _quantile("nanquantile", input, q, dim, keepdim, interpolation, True)


def _quantile(fn, input, q, dim, keepdim, interpolation, ignore_nan) -> Tensor:
    modes = ("linear", "lower", "higher", "midpoint", "nearest")
    if interpolation not in modes:
        _fail(fn, f"interpolation must be one of {modes}, got {interpolation!r}")
    if not _tensor(fn, input).dtype.is_floating_point:
        _fail(fn, f"input tensor must be either float or double dtype, got "
                          f"{input.dtype}")
    if input.numel() == 0:
        _fail(fn, "input tensor must be non-empty")
    qt = q if isinstance(q, Tensor) else _ops.full((), float(q), dtype=input.dtype,
                                                    device=input.device)
    if qt.ndim > 1:
        _fail(fn, f"q must be a scalar or 1D tensor, got {qt.ndim}-D")
    if qt.dtype is not input.dtype:
        _fail(fn, f"q tensor must be same dtype as the input tensor, got "
                          f"{qt.dtype} and {input.dtype}")
    qs = qt.reshape(-1)
    if qs.numel() and not builtins.bool(_ops.logical_and(_ops.ge(qs, 0),
                                                          _ops.le(qs, 1)).all().item()):
        _fail(fn, "q values must be in the range [0, 1]")
    x = input.reshape(-1) if dim is None else input
    d = 0 if dim is None else _dim(fn, dim, input.ndim)
    x = x.reshape(1) if x.ndim == 0 else x
    n = x.shape[d]
    s = _ops.movedim(_ops.sort(x, d)[0], d, -1)  # NaNs last
    if ignore_nan:  # the ranks among the values that are not NaN (sorted first)
        count = _ops.sum(_ops.logical_not(_ops.isnan(s)), -1, True).astype(s.dtype)
        nan = _ops.eq(count, 0)  # no values: NaN
        pos = _ops.mul(qs, _ops.clamp(_ops.sub(count, 1), 0, None))  # (..., m)
    else:
        nan = _ops.isnan(_ops.narrow(s, -1, n - 1, 1))  # any NaN in the slice
        pos = _ops.mul(qs, n - 1)  # fractional ranks, one per q
    lo = _ops.floor(pos)
    hi = _ops.ceil(pos)
    if interpolation == "nearest":
        lo = hi = _ops.round(pos)  # half to even, as PyTorch
    elif interpolation == "lower":
        hi = lo
    elif interpolation == "higher":
        lo = hi
    batch = tuple(s.shape[:-1])
    m = qs.shape[0]

    def at(p):
        i = p.astype(_dt.int64)
        i = i if i.ndim > 1 else i.reshape((1,) * len(batch) + (m,))  # (nanquantile's per slice)
        return _ops.gather(s, -1, i.expand(batch + (m,)))
    vlo, vhi = at(lo), at(hi)
    if interpolation == "midpoint":
        out = _ops.add(vlo, _ops.mul(_ops.sub(vhi, vlo), 0.5))
    elif interpolation == "linear":
        w = _ops.sub(pos, lo)
        out = _ops.lerp(vlo, vhi, w if w.ndim > 1 else w.reshape((1,) * len(batch) + (m,)))
    else:
        out = vlo
    out = _ops.where(nan, math.nan, out)  # (..., m)
    out = _ops.movedim(out, -1, 0)  # q first
    if keepdim and input.ndim:  # (a 0-d input keeps no dim: there is none)
        if dim is None:
            out = out.reshape((m,) + (1,) * input.ndim)
        else:
            out = _ops.unsqueeze(out, d + 1)
    if not isinstance(q, Tensor) or qt.ndim == 0:
        out = _ops.squeeze(out, 0)
    return out


_mode = namedtuple("mode", ["values", "indices"])


def mode(input: Tensor, dim: int = -1, keepdim: bool = False):
    """The most frequent value along ``dim`` (the smallest on ties) and the index of its
    last occurrence: ``(values, indices)``.  NaNs count as one value."""
    _tensor("mode", input)
    d = _dim("mode", dim, input.ndim)
    x = input.reshape(1) if input.ndim == 0 else input
    n = x.shape[d]
    if n == 0:
        raise IndexError(f"mode(): Expected reduction dim {d} to have non-zero size.")
    xm = _ops.movedim(x, d, -1)
    s, order = _ops.sort(xm, -1, stable=True)  # runs of equal values; stable: in order
    lo, hi = _ops.narrow(s, -1, 0, n - 1), _ops.narrow(s, -1, 1, n - 1)
    same = _ops.eq(lo, hi)
    if x.dtype._kind == "f":
        same = _ops.logical_or(same, _ops.logical_and(_ops.isnan(lo), _ops.isnan(hi)))
    first = _ops.ones(tuple(s.shape[:-1]) + (1,), dtype=_dt.bool, device=x.device)
    new = _ops.cat([first, _ops.logical_not(same)], -1)
    pos = _ops.arange(n, device=x.device).expand(tuple(s.shape))
    start = cummax(_ops.where(new, pos, 0), -1).values  # where each position's run began
    length = _ops.sub(pos, start)
    # the end of the first longest run: the smallest of the most frequent values, and
    # (the sort being stable) its last occurrence
    k = _ops.argmax(length, -1, True)
    indices = _ops.gather(order, -1, k)
    values = _ops.gather(xm, -1, indices)  # from the input: the gradient reaches it
    if keepdim and input.ndim:
        values, indices = _ops.movedim(values, -1, d), _ops.movedim(indices, -1, d)
    else:
        values, indices = _ops.squeeze(values, -1), _ops.squeeze(indices, -1)
    return _mode(values, indices)


def cov(input: Tensor, *, correction: int = 1, fweights: Tensor | None = None,
        aweights: Tensor | None = None) -> Tensor:
    """The covariance matrix of the variables in the rows of ``input`` (observations in
    the columns); a 1-D tensor is one variable."""
    if _tensor("cov", input).ndim > 2:
        _fail("cov", f"expected input to have two or fewer dimensions but got an input "
                     f"with {input.ndim} dimensions")
    if fweights is not None or aweights is not None:
        raise NotImplementedError("cov(): fweights and aweights are not supported yet")
    x = input.reshape(1, -1) if input.ndim < 2 else input
    if not x.dtype.is_floating_point and x.dtype._kind != "c":
        x = x.astype(_dt.get_default_dtype())
    n = x.shape[1]
    centred = _ops.sub(x, _ops.mean(x, 1, True))
    out = _ops.true_divide(_ops.matmul(centred, _ops.conj(centred).transpose(0, 1)),
                           builtins.max(n - correction, 0))
    # PyTorch squeezes the result: one variable (one row, too) gives a 0-d tensor
    return out.reshape(()) if input.ndim < 2 or x.shape[0] == 1 else out


def corrcoef(input: Tensor) -> Tensor:
    """Pearson's correlation coefficients of the variables in the rows of ``input``
    (``cov`` normalised by the standard deviations; real values clipped to ``[-1, 1]``)."""
    c = cov(_tensor("corrcoef", input))
    if c.ndim == 0:
        return _ops.true_divide(c, c)
    std = _ops.sqrt(_ops.real(diagonal(c)))
    out = _ops.true_divide(_ops.true_divide(c, _ops.unsqueeze(std, 1)), _ops.unsqueeze(std, 0))
    return out if out.dtype._kind == "c" else _ops.clamp(out, -1, 1)
