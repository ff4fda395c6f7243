"""Reductions over ``dim`` (an int, a list of ints, or ``None`` for all) with
``keepdim``."""

from __future__ import annotations

from .. import dtypes as _dt
from ..schema import defop
from ._rules import reduction_meta

__all__ = ["sum", "mean"]


def _sum_dtype(self, dtype=None):
    if dtype is not None:
        return dtype
    return _dt.int64 if not self.dtype.is_floating_point else self.dtype


sum = defop("sum(Tensor self, int[]? dim=None, bool keepdim=False, *, ScalarType? dtype=None)"
            " -> Tensor", tags=("primitive", "reduction"),
            meta=reduction_meta("sum", _sum_dtype),
            doc="Sum over ``dim`` (all dims by default); integers and bools sum as int64.")


def _mean_dtype(self, dtype=None):
    d = dtype or self.dtype
    if not d.is_floating_point:
        from ._rules import fail
        fail("mean", f"could not infer output dtype: input dtype should be floating "
                     f"point, but got {self.dtype} (pass dtype=)")
    return d


def _mean_decomp(self, dim=None, keepdim=False, dtype=None):
    import math
    shape = tuple(self.shape)
    from ._rules import reduce_dims
    dims = reduce_dims(dim, len(shape), "mean")
    n = math.prod(shape[d] for d in dims)
    s = sum(self, dim, keepdim, dtype=dtype)
    return s / n if n else s * float("nan")


mean = defop("mean(Tensor self, int[]? dim=None, bool keepdim=False, *, ScalarType? dtype=None)"
             " -> Tensor", tags=("composite", "reduction"),
             meta=reduction_meta("mean", _mean_dtype), decomposition=_mean_decomp,
             doc="Arithmetic mean over ``dim``.")
