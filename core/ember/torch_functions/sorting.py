"""Sorting and searching: ``msort``, ``searchsorted``, ``bucketize``.
"""

from __future__ import annotations

from .. import array_api as _xp
from .. import dtypes as _dt
from .. import ops as _ops
from ..tensor import Tensor
from ._common import _fail, _tensor

__all__ = ["searchsorted", "bucketize", "msort"]


def msort(input: Tensor) -> Tensor:
    """``input`` sorted along dim 0."""
    return _ops.sort(_tensor("msort", input), 0)[0]


def searchsorted(sorted_sequence: Tensor, input, *, out_int32: bool = False,
                 right: bool = False, side: str | None = None, sorter: Tensor | None = None
                 ) -> Tensor:
    """Insertion points of ``input`` in ``sorted_sequence`` (1-D, or rows matching
    ``input``'s leading dimensions); ``right``/``side='right'`` after equal values."""
    _tensor("searchsorted", sorted_sequence, "sorted_sequence")
    if side is not None:
        if side not in ("left", "right"):
            _fail("searchsorted", f"side can only be 'left' or 'right' but got {side!r}")
        if right and side == "left":
            _fail("searchsorted", "side and right can't be set to opposites, got side of "
                                  "left while right was True")
    side = side or ("right" if right else "left")
    if sorted_sequence.ndim == 0:
        _fail("searchsorted", "input sorted_sequence must have at least one dimension")
    if sorter is not None:
        sorted_sequence = _ops.gather(sorted_sequence, -1, sorter)
    scalar = not isinstance(input, Tensor)
    values = _ops.full((), input, dtype=sorted_sequence.dtype,
                       device=sorted_sequence.device) if scalar else input
    if sorted_sequence.ndim > 1 and (scalar or tuple(sorted_sequence.shape[:-1])
                                     != tuple(values.shape[:-1])):
        _fail("searchsorted", f"boundaries tensor should be 1 dimension or the first N-1 "
                              f"dimensions of boundaries tensor and input value tensor must "
                              f"match, but we got boundaries tensor {list(sorted_sequence.shape)}"
                              f" and input value tensor {list(values.shape)}")
    out = _xp._count_sorted_before(sorted_sequence, values, side)
    return out.astype(_dt.int32) if out_int32 else out


def bucketize(input, boundaries: Tensor, *, out_int32: bool = False,
              right: bool = False) -> Tensor:
    """The bucket of each value: ``i`` with ``boundaries[i-1] < x <= boundaries[i]``
    (``boundaries[i-1] <= x < boundaries[i]`` with ``right``)."""
    if _tensor("bucketize", boundaries, "boundaries").ndim != 1:
        _fail("bucketize", f"boundaries tensor must be 1 dimension, but got dim("
                           f"{boundaries.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)
