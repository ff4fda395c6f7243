"""Joining and splitting: ``concatenate``, ``hstack``/``vstack``/``dstack``/``column_stack``,
``tensor_split`` and ``hsplit``/``vsplit``/``dsplit``, ``cartesian_prod``.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence

from .. import ops as _ops
from ..tensor import Tensor
from ._common import _dim, _fail, _tensor
from .shapes import _atleast, meshgrid

__all__ = [
    "concatenate", "hstack", "vstack", "dstack", "column_stack", "tensor_split", "hsplit",
    "vsplit", "dsplit", "cartesian_prod"
]


concatenate = _ops.cat


def _sequence(fn: str, tensors) -> list:
    if isinstance(tensors, Tensor) or not isinstance(tensors, Sequence):
        raise TypeError(f"{fn}(): argument 'tensors' must be a tuple or list of Tensors, "
                        f"not {type(tensors).__name__}")
    if not tensors:
        _fail(fn, "expects a non-empty TensorList")
    return list(tensors)


def hstack(tensors: Sequence[Tensor]) -> Tensor:
    """Concatenation along the columns (along dim 0 for 1-D tensors)."""
    ts = _atleast("hstack", 1, (_sequence("hstack", tensors),))
    return _ops.cat(list(ts), 0 if ts[0].ndim == 1 else 1)


def vstack(tensors: Sequence[Tensor]) -> Tensor:
    """Concatenation along the rows of the tensors made at least 2-D."""
    return _ops.cat(list(_atleast("vstack", 2, (_sequence("vstack", tensors),))), 0)


def dstack(tensors: Sequence[Tensor]) -> Tensor:
    """Concatenation along dim 2 of the tensors made at least 3-D."""
    return _ops.cat(list(_atleast("dstack", 3, (_sequence("dstack", tensors),))), 2)


def column_stack(tensors: Sequence[Tensor]) -> Tensor:
    """0-d and 1-d tensors as columns, concatenated with the others along dim 1."""
    ts = []
    for i, t in enumerate(_sequence("column_stack", tensors)):
        _tensor("column_stack", t, f"tensors[{i}]")
        ts.append(t.reshape(t.numel(), 1) if t.ndim <= 1 else t)
    return _ops.cat(ts, 1)


def tensor_split(input: Tensor, indices_or_sections, dim: int = 0) -> tuple[Tensor, ...]:
    """Views of ``input`` split along ``dim``: into ``n`` near-equal parts (the first
    ``size % n`` one longer) or at the given indices."""
    if _tensor("tensor_split", input).ndim == 0:
        _fail("tensor_split", "expected at least a 1-dimensional tensor")
    d = _dim("tensor_split", dim, input.ndim)
    size = input.shape[d]
    if isinstance(indices_or_sections, Tensor):
        indices_or_sections = indices_or_sections.tolist()
    if isinstance(indices_or_sections, int):
        n = indices_or_sections
        if n <= 0:
            _fail("tensor_split", f"number of sections must be larger than 0, got {n}")
        q, r = divmod(size, n)
        bounds = [i * q + builtins.min(i, r) for i in range(n + 1)]
    else:
        # Python's slice bounds: negative counts from the end, then clipped
        bounds = [0] + [builtins.min(builtins.max(int(i) + (size if int(i) < 0 else 0), 0),
                                     size) for i in indices_or_sections] + [size]
    return tuple(_ops.narrow(input, d, a, builtins.max(b, a) - a)
                 for a, b in zip(bounds[:-1], bounds[1:], strict=True))


def _split_at(fn: str, input: Tensor, sections, dim: int, min_ndim: int):
    if _tensor(fn, input).ndim < min_ndim:
        _fail(fn, f"requires a tensor with at least {min_ndim} dimension, but got a tensor "
                  f"with {input.ndim} dimensions!")
    if isinstance(sections, int) and (sections == 0 or input.shape[dim] % sections):
        _fail(fn, f"the size of dimension {dim} ({input.shape[dim]}) must be divisible by "
                  f"the number of sections ({sections})")
    return tensor_split(input, sections, dim)


def hsplit(input: Tensor, sections) -> tuple[Tensor, ...]:
    """``tensor_split`` along the columns (dim 1; dim 0 of a 1-D tensor), equal parts."""
    return _split_at("hsplit", input, sections, 0 if input.ndim == 1 else 1, 1)


def vsplit(input: Tensor, sections) -> tuple[Tensor, ...]:
    """``tensor_split`` along dim 0 of a tensor of at least 2 dimensions, equal parts."""
    return _split_at("vsplit", input, sections, 0, 2)


def dsplit(input: Tensor, sections) -> tuple[Tensor, ...]:
    """``tensor_split`` along dim 2 of a tensor of at least 3 dimensions, equal parts."""
    return _split_at("dsplit", input, sections, 2, 3)


def cartesian_prod(*tensors: Tensor) -> Tensor:
    """Every combination of the 1-D tensors' elements, one per row (1-D for one tensor)."""
    for i, t in enumerate(tensors):
        if _tensor("cartesian_prod", t, f"tensors[{i}]").ndim != 1:
            _fail("cartesian_prod", f"expects 1-D tensors, got {t.ndim}-D")
    if len(tensors) == 1:
        return tensors[0]
    grids = meshgrid(*tensors, indexing="ij")
    return _ops.stack([g.reshape(-1) for g in grids], 1)
