"""Set operations: ``unique``, ``unique_consecutive``, ``isin``.
"""

from __future__ import annotations

from .. import array_api as _xp
from .. import dtypes as _dt
from .. import ops as _ops
from ..tensor import Tensor
from ._common import _tensor

__all__ = ["unique", "isin", "unique_consecutive"]


def isin(elements, test_elements, *, assume_unique: bool = False,
         invert: bool = False) -> Tensor:
    """Whether each element of ``elements`` is in ``test_elements`` (tensors or numbers)."""
    if not isinstance(elements, Tensor) and not isinstance(test_elements, Tensor):
        raise TypeError("isin(): at least one of 'elements' and 'test_elements' must be "
                        "a Tensor")
    ref = elements if isinstance(elements, Tensor) else test_elements
    e = elements if isinstance(elements, Tensor) else _ops.full((), elements, device=ref.device)
    t = test_elements if isinstance(test_elements, Tensor) else _ops.full(
        (), test_elements, device=ref.device)
    d = _dt.result_type(e, t)
    e, t = e.astype(d), t.astype(d)
    # sorted test values: a lookup per element instead of an elements x tests table
    s = _ops.sort(t.reshape(-1))[0]
    if s.shape[0] == 0:
        found = _ops.zeros(tuple(e.shape), dtype=_dt.bool, device=e.device)
    else:
        pos = _ops.clamp(_xp._count_sorted_before(s, e, "left"), max=s.shape[0] - 1)
        found = _ops.eq(_ops.index_select(s, 0, pos.reshape(-1)).reshape(tuple(e.shape)), e)
    return _ops.logical_not(found) if invert else found


def unique_consecutive(input: Tensor, return_inverse: bool = False,
                       return_counts: bool = False, dim: int | None = None):
    """The first element of each run of equal consecutive elements (flattened), with
    the inverse indices and the run lengths when asked."""
    _tensor("unique_consecutive", input)
    if dim is not None:
        raise NotImplementedError("unique_consecutive(): dim= is not supported yet; only "
                                  "dim=None")
    x = input.reshape(-1)
    n = x.shape[0]
    if n == 0:
        empty = _ops.zeros(0, dtype=_dt.int64, device=x.device)
        runs = (x, empty.reshape(tuple(input.shape)), empty)
    else:
        first = _ops.ones(1, dtype=_dt.bool, device=x.device)
        new = _ops.cat([first, _ops.ne(_ops.narrow(x, 0, 1, n - 1),
                                       _ops.narrow(x, 0, 0, n - 1))])
        group = _ops.sub(_ops.cumsum(new.astype(_dt.int64), 0), 1)
        values = _ops.masked_select(x, new)
        counts = _ops.index_add(_ops.zeros(values.shape[0], dtype=_dt.int64, device=x.device),
                                0, group, _ops.ones(n, dtype=_dt.int64, device=x.device))
        runs = (values, group.reshape(tuple(input.shape)), counts)
    out = (runs[0],) + ((runs[1],) if return_inverse else ()) + \
        ((runs[2],) if return_counts else ())
    return out[0] if len(out) == 1 else out


def unique(input: Tensor, sorted: bool = True, return_inverse: bool = False,
           return_counts: bool = False, dim: int | None = None):
    """The distinct elements, sorted (each NaN distinct), with the inverse indices
    (``input``'s shape) and counts when asked; a tuple then, as PyTorch.

    With ``dim``, the distinct slices along ``dim`` (sorted lexicographically, always,
    as PyTorch's), the inverse indices (one per slice) and the counts.  Slices holding
    a NaN are each distinct, as PyTorch's; they sort after the others (PyTorch's order
    for them is unspecified)."""
    _tensor("unique", input)
    if dim is not None:
        if not isinstance(dim, int) or isinstance(dim, bool):
            raise TypeError(f"unique(): argument 'dim' must be int or None, not "
                            f"{type(dim).__name__}")
        values, inverse, counts = _ops.array_api_ops._unique_dim(input, dim)
    else:
        values, _, inverse, counts = _ops.array_api_ops._unique_all(input)
    out = (values,) + ((inverse,) if return_inverse else ()) + \
        ((counts,) if return_counts else ())
    return out[0] if len(out) == 1 else out
