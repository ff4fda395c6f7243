"""Matrix products, einsum and norms."""

from __future__ import annotations

from ..schema import Spec, defop
from ._rules import broadcast_shapes, fail
from .. import dtypes as _dt

__all__ = ["matmul"]


def _matmul_meta(self, other):
    a, b = tuple(self.shape), tuple(other.shape)
    if not a or not b:
        fail("matmul", f"both arguments to matmul need to be at least 1D, but they are "
                       f"{len(a)}D and {len(b)}D")
    if self.dtype is not other.dtype:
        fail("matmul", f"expected both arguments to have the same dtype, but got "
                       f"{self.dtype} (argument 'self') and {other.dtype} (argument 'other')")
    ka = a[-1]
    kb = b[-2] if len(b) >= 2 else b[0]
    if ka != kb:
        fail("matmul", f"shapes {list(a)} and {list(b)} cannot be multiplied "
                       f"(argument 'self' has {ka} columns, argument 'other' has {kb} rows)")
    batch = broadcast_shapes(a[:-2], b[:-2], op="matmul", names=("self", "other"))
    out = batch + (a[-2:-1] if len(a) >= 2 else ()) + (b[-1:] if len(b) >= 2 else ())
    return Spec(out, self.dtype if self.dtype is not _dt.bool else _dt.bool)


matmul = defop("matmul(Tensor self, Tensor other) -> Tensor", tags=("primitive",),
               meta=_matmul_meta,
               doc="Matrix product with NumPy's rules for 1-D and batched operands.")
