"""Argument checks shared by ``ember.torch_functions``' modules; their errors name the
function, as PyTorch's do.
"""

from __future__ import annotations

import builtins

from ..errors import OpError
from ..tensor import Tensor


def _fail(fn: str, message: str):
    raise OpError(f"{fn}(): {message}")


def _tensor(fn: str, x, arg: str = "input") -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument '{arg}' must be Tensor, not {type(x).__name__}")
    return x


def _dim(fn: str, dim: int, ndim: int) -> int:
    n = builtins.max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"{fn}(): Dimension out of range (expected to be in range of "
                         f"[{-n}, {n - 1}], but got {dim})")
    return dim % n
