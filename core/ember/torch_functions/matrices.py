"""PyTorch's top-level spellings over ``ember.linalg``: ``det``, ``inverse``, ``logdet``,
``matrix_power``, the old ``svd`` (``V``, not ``Vh``; ``some``); ``block_diag`` and
``vander``.
"""

from __future__ import annotations

import math
from collections import namedtuple

from .. import dtypes as _dt
from .. import linalg as _linalg
from .. import ops as _ops
from ..tensor import Tensor
from ._common import _fail, _tensor

__all__ = ["det", "inverse", "logdet", "matrix_power", "svd", "block_diag",
           "vander", "matrix_exp"]


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


def matrix_power(input: Tensor, n: int) -> Tensor:
    """``input`` multiplied by itself ``n`` times (``n < 0``: its inverse's; ``n = 0``:
    the identity), by repeated squaring."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"matrix_power(): argument 'n' must be int, not {type(n).__name__}")
    if _matrices("matrix_power", input).shape[-1] != input.shape[-2]:
        _fail("matrix_power", f"expected a square matrix or a batch of square matrices, got "
                              f"shape {tuple(input.shape)}")
    return _linalg.matrix_power(input, n)


def matrix_exp(input: Tensor) -> Tensor:
    """``exp`` of a (batch of) square matrices (``ember.linalg.matrix_exp``)."""
    return _linalg.matrix_exp(input)


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


def block_diag(*tensors: Tensor) -> Tensor:
    """The tensors (0-d, 1-D as a row, or 2-D) along the diagonal of a matrix of zeros,
    in their promoted dtype; no tensors give a ``(1, 0)`` matrix."""
    mats = []
    for i, t in enumerate(tensors):
        if _tensor("block_diag", t, f"tensors[{i}]").ndim > 2:
            _fail("block_diag", f"Input tensors must have 2 or fewer dimensions. Input {i} "
                                f"has {t.ndim} dimensions")
        mats.append(t.reshape(1, -1) if t.ndim < 2 else t)
    if not mats:
        return _ops.zeros((1, 0))
    dtype = _dt.result_type(*mats)
    width = sum(m.shape[1] for m in mats)
    rows, left = [], 0
    for m in mats:
        r, c = m.shape
        z = _ops.zeros
        rows.append(_ops.cat([z((r, left), dtype=dtype, device=m.device), m.astype(dtype),
                              z((r, width - left - c), dtype=dtype, device=m.device)], 1))
        left += c
    return _ops.cat(rows, 0)


def vander(x: Tensor, N: int | None = None, increasing: bool = False) -> Tensor:
    """The Vandermonde matrix of the 1-D ``x``: columns ``x ** (N - 1) … x ** 0`` (the
    other way round if ``increasing``); ``N`` defaults to ``len(x)``.  Integers and bools
    give int64, as PyTorch."""
    if _tensor("vander", x, "x").ndim != 1:
        _fail("vander", f"x must be a one-dimensional tensor, got {x.ndim}-D")
    n = x.shape[0] if N is None else N
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"vander(): argument 'N' must be int, not {type(n).__name__}")
    if n < 0:
        _fail("vander", f"N must be non-negative, got {n}")
    if x.dtype._kind in "biu":
        x = x.astype(_dt.int64)
    # x ** k by pow, not a running product: cumprod's gradient is NaN at x = 0
    out = _ops.pow(_ops.unsqueeze(x, 1), _ops.arange(n, device=x.device).astype(x.dtype))
    return out if increasing else _ops.flip(out, (1,))
