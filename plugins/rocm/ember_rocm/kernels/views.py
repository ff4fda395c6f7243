"""View ops: new shapes and strides over the same OpenCL buffer (no kernel runs)."""

from __future__ import annotations

import math

from ..array import CLArray, contiguous_strides
from .pointwise import clone

__all__ = ["reshape", "permute", "expand", "view_strides"]


def _infer(shape: tuple, numel: int) -> tuple:
    shape = list(shape)
    if -1 in shape:
        known = math.prod(s for s in shape if s != -1)
        shape[shape.index(-1)] = numel // known if known else 0
    return tuple(shape)


def view_strides(a: CLArray, shape: tuple) -> tuple | None:
    """Strides viewing ``a``'s elements at ``shape`` without a copy, or ``None``.

    Groups of old dimensions that are contiguous among themselves can be split or
    merged freely; a new dimension may not straddle two such groups.
    """
    if a.is_contiguous:
        return contiguous_strides(shape)
    if math.prod(a.shape) == 0:
        return contiguous_strides(shape)
    old = [(s, st) for s, st in zip(a.shape, a.strides, strict=False) if s != 1]
    new_strides = [0] * len(shape)
    oi = 0
    ni = 0
    nd = len(shape)
    while ni < nd:
        if shape[ni] == 1:
            new_strides[ni] = 1
            ni += 1
            continue
        if oi >= len(old):
            return None
        # one contiguous chunk of old dims: old[oi:oj]
        oj = oi + 1
        while oj < len(old) and old[oj - 1][1] == old[oj][0] * old[oj][1]:
            oj += 1
        chunk = math.prod(s for s, _ in old[oi:oj])
        base = old[oj - 1][1]
        # consume new dims whose product is chunk
        acc = 1
        start = ni
        while ni < nd and acc < chunk:
            acc *= shape[ni]
            ni += 1
        if acc != chunk:
            return None
        st = base
        for k in range(ni - 1, start - 1, -1):
            new_strides[k] = st if shape[k] != 1 else 1
            st *= shape[k]
        oi = oj
    if oi != len(old):
        return None
    return tuple(new_strides)


def reshape(a: CLArray, shape) -> CLArray:
    shape = _infer(tuple(shape), a.size)
    st = view_strides(a, shape)
    if st is None:  # not expressible as a view: copy (as PyTorch's reshape does)
        a = clone(a)
        st = contiguous_strides(shape)
    return a.view(shape, st)


def permute(a: CLArray, dims) -> CLArray:
    nd = a.ndim
    dims = [d % nd for d in dims] if nd else []
    return a.view(tuple(a.shape[d] for d in dims), tuple(a.strides[d] for d in dims))


def expand(a: CLArray, size) -> CLArray:
    size = tuple(size)
    lead = len(size) - a.ndim
    shape, strides = [], []
    for i, s in enumerate(size):
        if i < lead:
            shape.append(s)
            strides.append(0)
            continue
        old, st = a.shape[i - lead], a.strides[i - lead]
        if s == -1:
            s = old
        shape.append(s)
        strides.append(st if old == s and old != 1 else 0)
    return a.view(tuple(shape), tuple(strides))
