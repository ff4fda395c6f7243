"""Python values about a tensor: ``numel``, ``is_floating_point``, ``is_nonzero``.
"""

from __future__ import annotations

import builtins

from ..tensor import Tensor
from ._common import _tensor

__all__ = ["numel", "is_floating_point", "is_nonzero"]


def numel(input: Tensor) -> int:
    """The number of elements."""
    return _tensor("numel", input).numel()


def is_floating_point(input: Tensor) -> bool:
    """Whether the dtype is a floating-point one."""
    return _tensor("is_floating_point", input).dtype.is_floating_point


def is_nonzero(input: Tensor) -> bool:
    """The truth of a one-element tensor (refused for any other size, as PyTorch)."""
    n = _tensor("is_nonzero", input).numel()
    if n != 1:
        raise RuntimeError(f"is_nonzero(): Boolean value of Tensor with "
                           f"{'no values' if n == 0 else 'more than one value'} is ambiguous")
    return builtins.bool(input.reshape(()).item())
