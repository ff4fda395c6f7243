"""``ember.linalg``: PyTorch's ``torch.linalg`` names.

The factorisations, solvers and Array API functions live in
``ember.array_api_linalg`` (re-exported here); ``norm`` follows ``torch.linalg.norm``,
choosing a vector or a matrix norm from ``ord`` and ``dim``.
"""

from __future__ import annotations

import math

from . import array_api_linalg as _aal
from .array_api_linalg import *  # noqa: F403
from .errors import OpError
from .tensor import Tensor

__all__ = list(_aal.__all__) + ["norm"]


def norm(A: Tensor, ord=None, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """A vector or matrix norm (``torch.linalg.norm``).

    With ``dim`` an int (or ``A`` 1-D and ``dim`` None) it is ``vector_norm``; with
    ``dim`` a pair (or ``A`` 2-D and ``dim`` None) ``matrix_norm``.  ``ord=None`` is the
    2-norm of the flattened input (Frobenius for matrices) when ``dim`` is None.
    """
    if not isinstance(A, Tensor):
        raise TypeError(f"linalg.norm(): argument 'A' must be Tensor, not {type(A).__name__}")
    if isinstance(dim, int):
        dim = (dim,)
    if dim is not None:
        dim = tuple(dim)
        if len(dim) not in (1, 2):
            raise OpError(f"linalg.norm(): argument 'dim' must name 1 or 2 dimensions, "
                          f"got {list(dim)}")
    if ord is None:
        if dim is None or len(dim) == 1:
            return _aal.vector_norm(A, 2, dim, keepdim, dtype=dtype)
        return _aal.matrix_norm(A, "fro", dim, keepdim, dtype=dtype)
    if dim is None:
        if A.ndim == 1:
            dim = (0,)
        elif A.ndim == 2:
            dim = (0, 1)
        else:
            raise OpError(f"linalg.norm(): with 'ord' given, 'A' must be 1-D or 2-D unless "
                          f"'dim' is given, got a {A.ndim}-D tensor")
    if len(dim) == 1:
        if isinstance(ord, str):
            raise OpError(f"linalg.norm(): ord {ord!r} is a matrix norm, but 'dim' names "
                          f"one dimension")
        return _aal.vector_norm(A, ord, dim, keepdim, dtype=dtype)
    if not isinstance(ord, str) and ord not in (1, -1, 2, -2, math.inf, -math.inf):
        raise OpError(f"linalg.norm(): unsupported matrix norm ord {ord!r}; expected 'fro', "
                      f"'nuc', inf, -inf, 1, -1, 2 or -2")
    return _aal.matrix_norm(A, ord, dim, keepdim, dtype=dtype)
