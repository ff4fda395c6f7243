"""Factory functions: tensors from shapes, ranges and random numbers."""

from __future__ import annotations

from .. import dtypes as _dt
from ..schema import Spec, defop
from ._rules import fail

__all__ = ["zeros", "ones", "empty", "full", "arange", "rand", "randn"]

_FACTORY_KW = "*, ScalarType? dtype=None, Device? device=None, bool requires_grad=False"


def _size_meta(op):
    def meta(size, *rest, dtype=None, **kw):
        for s in size:
            if s < 0:
                fail(op, f"argument 'size' must not contain negative sizes, got {list(size)}")
        d = rest[-3] if len(rest) >= 3 else dtype
        return Spec(tuple(size), d or _dt.get_default_dtype())
    return meta


def _factory(name: str, doc: str):
    return defop(f"{name}(int[] *size, {_FACTORY_KW}) -> Tensor",
                 tags=("primitive", "creation"), meta=_size_meta(name), doc=doc)


zeros = _factory("zeros", "A tensor of zeros of the given size.")
ones = _factory("ones", "A tensor of ones of the given size.")
empty = _factory("empty", "An uninitialised tensor of the given size.")


def _full_meta(size, fill_value, dtype=None, device=None, requires_grad=False):
    _size_meta("full")(size)
    if dtype is None:
        dtype = _dt.result_type(fill_value)
    return Spec(tuple(size), dtype)


full = defop(f"full(int[] size, Scalar fill_value, {_FACTORY_KW}) -> Tensor",
             tags=("primitive", "creation"), meta=_full_meta,
             doc="A tensor of the given size filled with ``fill_value``; its dtype "
                 "follows the value (bool, int64 or the default float) unless given.")


def _arange_meta(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    import math
    if end is None:
        start, end = 0, start
    if step == 0:
        fail("arange", "argument 'step' must be nonzero")
    if (end - start) * step < 0:
        fail("arange", f"upper bound and larger bound inconsistent with step sign "
                       f"(start={start}, end={end}, step={step})")
    n = max(0, math.ceil((end - start) / step))
    if dtype is None:
        dtype = _dt.result_type(start, end, step)
    return Spec((n,), dtype)


arange = defop(f"arange(Scalar start, Scalar? end=None, Scalar step=1, {_FACTORY_KW}) -> Tensor",
               tags=("primitive", "creation"), meta=_arange_meta,
               doc="Values from ``start`` up to (not including) ``end`` by ``step``.")


def _rand_meta(op, integer=False):
    def meta(size, generator=None, dtype=None, device=None, requires_grad=False):
        _size_meta(op)(size)
        d = dtype or _dt.get_default_dtype()
        if not d.is_floating_point:
            fail(op, f"expected a floating dtype, got {d}")
        return Spec(tuple(size), d)
    return meta


rand = defop(f"rand(int[] *size, Generator? generator=None, {_FACTORY_KW}) -> Tensor",
             tags=("primitive", "creation", "random"), meta=_rand_meta("rand"),
             doc="Uniform random numbers in [0, 1).")
randn = defop(f"randn(int[] *size, Generator? generator=None, {_FACTORY_KW}) -> Tensor",
              tags=("primitive", "creation", "random"), meta=_rand_meta("randn"),
              doc="Standard normal random numbers.")
