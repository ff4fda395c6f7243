"""Tensors made from sizes: ``tril_indices``, ``triu_indices``, ``logspace``.
"""

from __future__ import annotations

from .. import dtypes as _dt
from .. import ops as _ops
from ..tensor import Tensor
from ._common import _fail

__all__ = ["tril_indices", "triu_indices", "logspace"]


def _tri_indices(fn: str, row: int, col: int, offset: int, lower: bool, dtype, device):
    import numpy as np  # host arithmetic on sizes, as PyTorch computes these on the CPU
    if row < 0 or col < 0:
        _fail(fn, f"row and col must be non-negative, got {row} and {col}")
    r, c = (np.tril_indices if lower else np.triu_indices)(row, offset, col)
    from ..tensor import tensor
    return tensor(np.stack([r, c]).reshape(2, -1), dtype=dtype or _dt.int64, device=device)


def tril_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None) -> Tensor:
    """The ``(2, N)`` coordinates of the lower triangle of a ``row x col`` matrix."""
    return _tri_indices("tril_indices", row, col, offset, True, dtype, device)


def triu_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None) -> Tensor:
    """The ``(2, N)`` coordinates of the upper triangle of a ``row x col`` matrix."""
    return _tri_indices("triu_indices", row, col, offset, False, dtype, device)


def logspace(start, end, steps: int, base: float = 10.0, *, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:
    """``base ** linspace(start, end, steps)``."""
    d = dtype or _dt.get_default_dtype()
    exps = _ops.linspace(start, end, steps, dtype=_dt.float64 if d._kind in "iub" else d,
                         device=device)
    out = _ops.pow(_ops.full((), base, dtype=exps.dtype, device=exps.device), exps)
    out = out.astype(d) if out.dtype is not d else out
    return out.requires_grad_() if requires_grad else out
