"""Pairwise distances: ``cdist``, in memory linear in its inputs and output.

The direct form (every ``p`` but Euclidean distances of many rows) needs the
differences of every pair of rows, ``P x R x M`` elements.  It is computed a block of
``x1``'s rows at a time, each block about twice as large as the inputs and the output
together (:func:`_rows_per_block`), and its derivative is declared below and
computed block by block too (PyTorch's ``_cdist_backward`` formulas), so neither the
forward nor the backward nor the graph ever holds the whole difference tensor.
Euclidean distances of more than 25 rows use the matrix product, as PyTorch's default
``compute_mode``.
"""

from __future__ import annotations

import math

from .. import dtypes as _dt
from ..schema import Spec, defop
from ._rules import broadcast_shapes, fail
from . import creation as _creation
from . import pointwise as _pw  # (names taken as such would move Tensor methods' stubs)
from .view import cat as _cat

__all__ = ["cdist"]

_MODES = (None, "use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
          "donot_use_mm_for_euclid_dist")

#: the smallest distance of the matrix-product form (its squares are clamped to 1e-30)
_CLAMPED = 1e-15

#: the smallest block of differences worth a step (elements): tiny inputs take one step
_MIN_BLOCK = 1 << 14


def _cdist_meta(x1, x2, p=2.0, compute_mode=None):
    if x1.ndim < 2 or x2.ndim < 2:
        fail("cdist", f"only supports at least 2D tensors, X1 got: {x1.ndim}D, X2 got: "
                      f"{x2.ndim}D")
    if x1.shape[-1] != x2.shape[-1]:
        fail("cdist", f"X1 and X2 must have the same number of columns. X1: "
                      f"{x1.shape[-1]} X2: {x2.shape[-1]}")
    if p < 0 or math.isnan(p):
        fail("cdist", f"only supports non-negative p values, got {p}")
    if not x1.dtype.is_floating_point or not x2.dtype.is_floating_point:
        fail("cdist", f"only supports floating-point dtypes, X1 got: {x1.dtype}, X2 got: "
                      f"{x2.dtype}")
    if compute_mode not in _MODES:
        fail("cdist", f"{compute_mode!r} is not a valid value for compute_mode")
    batch = broadcast_shapes(tuple(x1.shape[:-2]), tuple(x2.shape[:-2]), op="cdist",
                             names=("x1", "x2"))
    return Spec(batch + (x1.shape[-2], x2.shape[-2]), _dt.promote_types(x1.dtype, x2.dtype))


def _uses_mm(x1, x2, p, compute_mode) -> bool:
    big = x1.shape[-2] > 25 or x2.shape[-2] > 25
    return p == 2 and (compute_mode == "use_mm_for_euclid_dist" or big and compute_mode in (
        None, "use_mm_for_euclid_dist_if_necessary"))


def _operands(x1, x2):
    """Both operands in the result's dtype with their batch dims broadcast."""
    dt = _dt.promote_types(x1.dtype, x2.dtype)
    x1, x2 = x1.astype(dt), x2.astype(dt)
    batch = broadcast_shapes(tuple(x1.shape[:-2]), tuple(x2.shape[:-2]))
    return (x1.expand(batch + tuple(x1.shape[-2:])),
            x2.expand(batch + tuple(x2.shape[-2:])))


def _rows_per_block(x1, x2) -> int:
    """Rows of ``x1`` whose differences with every row of ``x2`` hold about twice as many
    elements as the inputs and the output: the blocks' memory stays linear in them (a
    few such temporaries live at once), in few enough blocks that each op's dispatch
    (a few microseconds) stays small beside its work."""
    *batch, p, m = x1.shape
    r = x2.shape[-2]
    b = math.prod(batch)
    budget = max(2 * b * (p * r + (p + r) * m), _MIN_BLOCK)
    return max(1, min(p, budget // max(1, b * r * m)))


def _blocks(x1, x2):
    """``(start, rows, differences)`` of each block of ``x1``'s rows: ``(..., rows, R, M)``."""
    p, step = x1.shape[-2], _rows_per_block(x1, x2)
    for s in range(0, p, step):
        n = min(step, p - s)
        yield s, n, x1.narrow(-2, s, n).unsqueeze(-2) - x2.unsqueeze(-3)


def _pnorm(diff, p):
    """The ``p``-norm of ``diff`` along its last dimension."""
    a = diff.abs()
    if p == 0:
        return (a != 0).sum(-1).astype(diff.dtype)
    if p == 1:
        return a.sum(-1)
    if p == 2:
        return _pw.sqrt((a * a).sum(-1))
    if math.isinf(p):
        return a.amax(-1)
    return (a ** p).sum(-1) ** (1.0 / p)


def _cdist_decomp(x1, x2, p=2.0, compute_mode=None):
    mm = _uses_mm(x1, x2, p, compute_mode)
    x1, x2 = _operands(x1, x2)
    if 0 in tuple(x1.shape) or 0 in tuple(x2.shape):  # no pairs, or vectors of length 0
        return _creation.zeros(tuple(x1.shape[:-1]) + (x2.shape[-2],), dtype=x1.dtype,
                               device=x1.device)
    if mm:
        # PyTorch's matrix-product form: |a|^2 + |b|^2 - 2 a.b, clamped before the root;
        # memory P*R, not P*R*M
        sq1 = (x1 * x1).sum(-1, keepdim=True)
        sq2 = (x2 * x2).sum(-1, keepdim=True)
        d2 = sq1 + sq2.transpose(-1, -2) - (x1 @ x2.transpose(-1, -2)) * 2.0
        return _pw.sqrt(d2.clamp_min(_CLAMPED ** 2))
    return _cat([_pnorm(d, p) for _, _, d in _blocks(x1, x2)], -2)


cdist = defop("cdist(Tensor x1, Tensor x2, float p=2.0, str? compute_mode=None) -> Tensor",
              tags=("composite",), meta=_cdist_meta, decomposition=_cdist_decomp,
              doc="The ``p``-norm distances between the rows of ``x1`` (``..., P, M``) and "
                  "of ``x2`` (``..., R, M``): ``(..., P, R)``.")


# --- derivatives ---

from ..autograd.rules import derivative, joint_derivative  # noqa: E402


def _pnorm_grad(diff, dist, g, p):
    """``g * d dist / d diff`` for one block: PyTorch's ``_cdist_backward`` cases (0
    where the distance is 0; for ``p < 1`` also where a difference is 0; every tie of
    the largest difference for ``p = inf``)."""
    if p == 1:
        return g * _pw.sign(diff)
    if math.isinf(p):
        a = diff.abs()
        return g * _pw.sign(diff) * (a == dist).astype(diff.dtype)
    zero = dist == 0
    safe = _pw.where(zero, 1.0, dist)
    if p == 2:
        return _pw.where(zero, 0.0, g * diff / safe)
    a = diff.abs()
    if p < 2:
        if p < 1:  # |diff|^(p-1) is infinite at a zero difference: masked, and kept finite
            zero = zero | (diff == 0)
            a = _pw.where(diff == 0, 1.0, a)
        r = _pw.sign(diff) * a ** (p - 1) * g / safe ** (p - 1)
    else:
        r = diff * a ** (p - 2) * g / safe ** (p - 1)
    return _pw.where(zero, 0.0, r)


def _cdist_grads(g, x1, x2, p, compute_mode, result, needs):
    """The gradients of ``x1`` and ``x2`` (``None`` where ``needs`` says no) in one pass
    over the blocks, in the operands' broadcast batch shape (the engine sums them down)."""
    mm = _uses_mm(x1, x2, p, compute_mode)
    x1, x2 = _operands(x1, x2)
    g = g.astype(x1.dtype)
    if p == 0 or 0 in tuple(x1.shape) or 0 in tuple(x2.shape):
        return tuple(_creation.zeros(tuple(x.shape), dtype=x.dtype, device=x.device)
                     if need else None for x, need in zip((x1, x2), needs, strict=True))
    if mm:  # d dist / d x1_i = (x1_i - x2_j) / dist_ij: two matrix products, no P*R*M
        # 0 where the forward clamped the squared distance (PyTorch's clamp_min gradient)
        clamped = result <= _CLAMPED
        w = _pw.where(clamped, 0.0, g / _pw.where(clamped, 1.0, result))
        return (x1 * w.sum(-1, keepdim=True) - w @ x2 if needs[0] else None,
                x2 * w.sum(-2).unsqueeze(-1) - w.transpose(-1, -2) @ x1 if needs[1] else None)
    parts, acc = [], None
    for s, n, diff in _blocks(x1, x2):
        c = _pnorm_grad(diff, result.narrow(-2, s, n).unsqueeze(-1),
                        g.narrow(-2, s, n).unsqueeze(-1), p)
        if needs[0]:
            parts.append(c.sum(-2))
        if needs[1]:
            acc = c.sum(-3) if acc is None else acc + c.sum(-3)
    return (_cat(parts, -2) if needs[0] else None, -acc if needs[1] else None)


derivative(cdist, save=("x1", "x2", "result"),
           x1=lambda g, x1, x2, p=2.0, compute_mode=None, *, result:
               _cdist_grads(g, x1, x2, p, compute_mode, result, (True, False))[0],
           x2=lambda g, x1, x2, p=2.0, compute_mode=None, *, result:
               _cdist_grads(g, x1, x2, p, compute_mode, result, (False, True))[1])
joint_derivative(cdist, lambda g, x1, x2, p=2.0, compute_mode=None, *, needs, result:
                 _cdist_grads(g, x1, x2, p, compute_mode, result, needs))
