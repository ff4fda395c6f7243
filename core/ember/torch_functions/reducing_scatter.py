"""Reductions into positions: ``scatter_reduce`` and ``index_reduce``.

Both become one flat problem: every source element has a *key*, the row-major position
of its target in ``input``, and the elements sharing a key are reduced together with the
target ('sum', 'prod', 'mean', 'amax', 'amin'; ``include_self=False`` leaves the target's
old value out).  'sum' and 'mean' are ``index_add`` and a division, so autograd
differentiates them through those ops.  'prod', 'amax' and 'amin' sort the keys and run a
segmented inclusive scan by doubling (log2 of the largest group steps, each over the
source's elements, so memory stays linear); their gradient is PyTorch's
(``scatter_reduce_backward``), written in ops in ``_SegmentReduce.backward``.
"""

from __future__ import annotations

import builtins
import math

from .. import dtypes as _dt
from .. import ops as _ops
from ..autograd.function import Function
from ..tensor import Tensor
from ._common import _dim, _fail, _tensor

__all__ = ["scatter_reduce", "index_reduce"]

_SCATTER_REDUCES = ("sum", "prod", "mean", "amax", "amin")
_INDEX_REDUCES = ("prod", "mean", "amax", "amin")


def _combine(reduce: str):
    return {"prod": _ops.mul, "amax": _ops.maximum, "amin": _ops.minimum}[reduce]


def _scan_reduce(x: Tensor, v: Tensor, keys: Tensor, touched: Tensor, reduce: str,
                 include_self: bool) -> Tensor:
    """The flat result (no autograd): each key's elements of ``v`` combined, with
    ``x``'s element too if ``include_self``; untouched elements of ``x`` unchanged."""
    m = keys.shape[0]
    if m == 0:
        return x.clone()
    op = _combine(reduce)
    order = _ops.argsort(keys, stable=True)
    k = _ops.index_select(keys, 0, order)
    s = _ops.index_select(v, 0, order)
    step = 1
    while step < m:  # s[i] = op of the group's elements in (i - 2*step, i]
        same = _ops.eq(k[step:], k[:-step])
        if not bool(same.any()):
            break
        s = _ops.cat([s[:step], _ops.where(same, op(s[step:], s[:-step]), s[step:])])
        step *= 2
    n = x.shape[0]
    last = _ops.cat([_ops.ne(k[1:], k[:-1]), _ops.ones(1, dtype=_dt.bool, device=x.device)])
    # each group's last element holds its reduction; the others go to a spare slot n
    slots = _ops.where(last, k, _ops.full((), n, dtype=_dt.int64, device=x.device))
    red = _ops.index_put(_ops.cat([x, x[:1] if n else s[:1]]), (slots,), s)[:n]
    return _ops.where(touched, op(x, red) if include_self else red, x)


class _SegmentReduce(Function):
    """'prod'/'amax'/'amin' over keys, differentiable as PyTorch's scatter_reduce."""

    @staticmethod
    def forward(ctx, x, v, keys, touched, reduce, include_self):
        out = _scan_reduce(x, v, keys, touched, reduce, include_self)
        ctx.save_for_backward(x, v, keys, touched, out)
        ctx.reduce, ctx.include_self = reduce, include_self
        return out

    @staticmethod
    def backward(ctx, g):
        x, v, keys, touched, out = ctx.saved_tensors
        reduce, include_self = ctx.reduce, ctx.include_self
        n = x.shape[0]
        zeros = _ops.zeros(n, dtype=x.dtype, device=x.device)
        if reduce == "prod":
            zero = _ops.zeros((), dtype=x.dtype, device=x.device)
            one = _ops.ones((), dtype=x.dtype, device=x.device)
            x_zero = _ops.eq(x, zero)
            masked_x = _ops.where(x_zero, one, x)
            masked_x_out = _scan_reduce(masked_x, v, keys, touched, reduce, include_self)
            grad_x = g * masked_x_out / masked_x
            v_zero = _ops.eq(v, zero)
            zeros_per_key = _ops.index_add(zeros, 0, keys, v_zero.astype(x.dtype))
            single = _ops.logical_and(v_zero, _ops.eq(_ops.index_select(zeros_per_key, 0,
                                                                        keys), one))
            masked_v_out = _scan_reduce(x, _ops.where(single, one, v), keys, touched,
                                        reduce, include_self)
            grad_v = _ops.where(single, _ops.index_select(g * masked_v_out, 0, keys),
                                _ops.index_select(g * out, 0, keys)
                                / _ops.where(v_zero, one, v))
        else:
            x_hit = _ops.eq(x, out).astype(x.dtype)
            v_hit = _ops.eq(v, _ops.index_select(out, 0, keys)).astype(x.dtype)
            spread = g / _ops.index_add(x_hit, 0, keys, v_hit)
            grad_x = x_hit * spread
            grad_v = v_hit * _ops.index_select(spread, 0, keys)
        if not include_self:
            grad_x = _ops.where(touched, zeros, grad_x)
        return grad_x, grad_v, None, None, None, None


def _reduce_into(x: Tensor, keys: Tensor, v: Tensor, reduce: str,
                 include_self: bool) -> Tensor:
    """``x`` (flat) with ``v``'s elements reduced into the positions ``keys``."""
    n, dev = x.shape[0], x.device
    count = _ops.index_add(_ops.zeros(n, dtype=_dt.int64, device=dev), 0, keys,
                           _ops.ones(keys.shape[0], dtype=_dt.int64, device=dev))
    touched = _ops.gt(count, 0)
    if reduce in ("prod", "amax", "amin"):
        return _SegmentReduce.apply(x, v, keys, touched, reduce, include_self)
    base = x if include_self else _ops.where(touched, _ops.zeros((), dtype=x.dtype,
                                                                 device=dev), x)
    total = _ops.index_add(base, 0, keys, v)
    if reduce == "sum":
        return total
    if include_self:
        count = count + 1
    denom = _ops.where(touched, count, _ops.ones((), dtype=_dt.int64, device=dev))
    if x.dtype.is_floating_point or x.dtype.is_complex:
        return total / denom.astype(x.dtype)
    return _ops.floor_divide(total, denom.astype(x.dtype))


def _check_reduce(fn: str, reduce, allowed) -> None:
    if reduce not in allowed:
        _fail(fn, f"argument 'reduce' must be one of {', '.join(map(repr, allowed))}, "
                  f"got {reduce!r}")


def _check_index(fn: str, index: Tensor, size: int, d: int) -> None:
    if index.dtype is not _dt.int64:
        _fail(fn, f"argument 'index' must be an int64 tensor, got {index.dtype}")
    if index.numel():
        lo, hi = int(index.min().item()), int(index.max().item())
        bad = lo if lo < 0 else hi if hi >= size else None
        if bad is not None:
            raise IndexError(f"{fn}(): index {bad} is out of bounds for dimension {d} "
                             f"with size {size}")


def _keys(shape: tuple, d: int, index: Tensor) -> Tensor:
    """The row-major position in a tensor of ``shape`` of each element of ``index``,
    whose values are coordinates along ``d`` (its other coordinates are its own)."""
    nd, dev = len(shape), index.device
    strides = [math.prod(shape[j + 1:]) for j in range(nd)]
    keys = index * strides[d]
    for j in range(nd):
        if j != d and index.shape[j] > 1:
            pos = _ops.arange(index.shape[j], dtype=_dt.int64, device=dev) * strides[j]
            keys = keys + pos.reshape(tuple(-1 if i == j else 1 for i in range(nd)))
    return keys.reshape(-1)


def scatter_reduce(input: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                   include_self: bool = True) -> Tensor:
    """``input`` with the elements of ``src`` reduced into the positions that ``index``
    names along ``dim`` (``reduce`` 'sum', 'prod', 'mean', 'amax' or 'amin'; with
    ``include_self=False`` the targets' own values are left out).  Integer 'mean' rounds
    down, as PyTorch."""
    fn = "scatter_reduce"
    _tensor(fn, input)
    _tensor(fn, index, "index")
    _tensor(fn, src, "src")
    _check_reduce(fn, reduce, _SCATTER_REDUCES)
    if src.dtype is not input.dtype:
        _fail(fn, f"expected 'self' and 'src' to have the same dtype, got {input.dtype} "
                  f"and {src.dtype}")
    shape = tuple(input.shape)
    d = _dim(fn, dim, input.ndim)
    if not (index.ndim == src.ndim == input.ndim or builtins.max(
            index.ndim, src.ndim, input.ndim) <= 1):
        _fail(fn, f"'index', 'src' and 'self' must have the same number of dimensions, "
                  f"got {index.ndim}, {src.ndim} and {input.ndim}")
    x, i, s = (t.reshape(-1) if t.ndim == 0 else t for t in (input, index, src))
    for k in range(i.ndim):
        if i.shape[k] > s.shape[k]:
            _fail(fn, f"size of argument 'index' ({i.shape[k]}) must not exceed the size "
                      f"of 'src' ({s.shape[k]}) at dimension {k}")
        if k != d and i.shape[k] > x.shape[k]:
            _fail(fn, f"size of argument 'index' ({i.shape[k]}) must not exceed the size "
                      f"of 'self' ({x.shape[k]}) at dimension {k}")
    _check_index(fn, i, x.shape[d], d)
    values = s[tuple(slice(0, n) for n in i.shape)].reshape(-1)
    out = _reduce_into(x.reshape(-1), _keys(tuple(x.shape), d, i), values, reduce,
                       include_self)
    return out.reshape(shape)


def index_reduce(input: Tensor, dim: int, index: Tensor, source: Tensor, reduce: str, *,
                 include_self: bool = True) -> Tensor:
    """``input`` with the slices of ``source`` reduced into the slices at the positions
    ``index`` (a vector) along ``dim`` (``reduce`` 'prod', 'mean', 'amax' or 'amin')."""
    fn = "index_reduce"
    _tensor(fn, input)
    _tensor(fn, index, "index")
    _tensor(fn, source, "source")
    _check_reduce(fn, reduce, _INDEX_REDUCES)
    if source.dtype is not input.dtype:
        _fail(fn, f"expected 'self' and 'source' to have the same dtype, got "
                  f"{input.dtype} and {source.dtype}")
    if index.ndim > 1:
        _fail(fn, f"argument 'index' must be a vector (0-d or 1-d), got a {index.ndim}-d "
                  f"tensor")
    shape = tuple(input.shape)
    d = _dim(fn, dim, input.ndim)
    x = input.reshape(-1) if input.ndim == 0 else input
    i = index.reshape(-1)
    want = tuple(i.shape[0] if k == d else n for k, n in enumerate(x.shape))
    if tuple(source.shape) != want and not (input.ndim == 0 and source.numel() == i.numel()):
        _fail(fn, f"argument 'source' must have shape {list(want)} (self's shape with "
                  f"dimension {d} of index's length), got {list(source.shape)}")
    _check_index(fn, i, x.shape[d], d)
    full_index = i.reshape(tuple(-1 if k == d else 1 for k in range(x.ndim))).expand(want)
    out = _reduce_into(x.reshape(-1), _keys(tuple(x.shape), d, full_index),
                       source.reshape(-1), reduce, include_self)
    return out.reshape(shape)
