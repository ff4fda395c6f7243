"""PyTorch's top-level spellings over ``ember.linalg``: ``det``, ``inverse``, ``logdet``
and the old ``svd`` (``V``, not ``Vh``; ``some``).
"""

from __future__ import annotations

import math
from collections import namedtuple

from .. import linalg as _linalg
from .. import ops as _ops
from ..tensor import Tensor
from ._common import _fail, _tensor

__all__ = ["det", "inverse", "logdet", "svd"]


def _matrices(fn: str, input) -> Tensor:
    if _tensor(fn, input).ndim < 2:
        _fail(fn, f"expected a matrix or a batch of matrices, got a {input.ndim}-D tensor")
    return input


def det(input: Tensor) -> Tensor:
    """Determinant (``ember.linalg.det``)."""
    return _linalg.det(_matrices("det", input))


def inverse(input: Tensor) -> Tensor:
    """Matrix inverse (``ember.linalg.inv``)."""
    return _linalg.inv(_matrices("inverse", input))


def logdet(input: Tensor) -> Tensor:
    """``log(det(input))``: NaN for a negative determinant, -inf for a singular matrix."""
    if _matrices("logdet", input).dtype._kind == "c":
        _fail("logdet", "complex matrices are not supported")
    sign, logabs = _linalg.slogdet(input)
    return _ops.where(_ops.lt(sign, 0), math.nan, logabs)


_svd = namedtuple("svd", ["U", "S", "V"])


def svd(input: Tensor, some: bool = True, compute_uv: bool = True):
    """``(U, S, V)`` with ``input = U diag(S) V^H`` (``V``, not ``V^H``, as PyTorch's
    ``svd``); reduced unless ``some=False``; zero ``U``/``V`` without ``compute_uv``."""
    _matrices("svd", input)
    if not compute_uv:
        s = _linalg.svdvals(input)
        m, n = input.shape[-2:]
        z = _ops.zeros
        batch = tuple(input.shape[:-2])
        return _svd(z(batch + (m, m), dtype=input.dtype, device=input.device), s,
                    z(batch + (n, n), dtype=input.dtype, device=input.device))
    u, s, vh = _linalg.svd(input, full_matrices=not some)
    return _svd(u, s, _ops.conj(vh.transpose(-2, -1)))
