"""Arithmetic front ends: ``absolute``/``clip`` (aliases), ``ldexp``, ``frexp``, ``gcd``,
``lcm``, ``float_power``, ``logit``.
"""

from __future__ import annotations

import builtins
import math
from collections import namedtuple

from .. import array_api as _xp
from .. import dtypes as _dt
from .. import ops as _ops
from ..tensor import Tensor
from ._common import _fail, _tensor

__all__ = ["absolute", "clip", "float_power", "ldexp", "gcd", "lcm", "logit", "frexp"]


absolute = _ops.abs
clip = _ops.clamp


def ldexp(input: Tensor, other: Tensor) -> Tensor:
    """``input * 2 ** other`` in a floating dtype."""
    _tensor("ldexp", input)
    a = input if input.dtype._kind in "fc" else input.astype(_dt.get_default_dtype())
    two = _ops.full((), 2.0, dtype=a.dtype if a.dtype._kind == "f" else _dt.float32,
                    device=input.device)
    return _ops.mul(a, _ops.pow(two, other))


def _integers(fn: str, input, other):
    _tensor(fn, input)
    for x in (input, other):
        d = x.dtype if isinstance(x, Tensor) else None
        if d is not None and d._kind not in "iu":
            _fail(fn, f"expected integer tensors, got {d}")
    d = _dt.result_type(input, other)
    b = other.astype(d) if isinstance(other, Tensor) else _ops.full(
        (), other, dtype=d, device=input.device)
    return _xp.broadcast_arrays(input.astype(d), b)


def gcd(input: Tensor, other) -> Tensor:
    """The greatest common divisor (non-negative; ``gcd(0, 0) = 0``) of integers."""
    a, b = _integers("gcd", input, other)
    a, b = _ops.abs(a), _ops.abs(b)
    # Euclid's steps while any divisor is left (at most ~90 for int64: Fibonacci pairs)
    while builtins.bool(_ops.ne(b, 0).any().item()):
        nz = _ops.ne(b, 0)
        a, b = _ops.where(nz, b, a), _ops.where(nz, _ops.remainder(a, _ops.where(nz, b, 1)),
                                                0)
    return a


def lcm(input: Tensor, other) -> Tensor:
    """The least common multiple (non-negative; 0 when either is 0) of integers."""
    a, b = _integers("lcm", input, other)
    g = gcd(a, b)
    return _ops.abs(_ops.mul(_ops.floor_divide(a, _ops.where(_ops.eq(g, 0), 1, g)), b))


def float_power(input, exponent) -> Tensor:
    """``input ** exponent`` in double precision (complex128 for complex operands)."""
    if not isinstance(input, Tensor) and not isinstance(exponent, Tensor):
        raise TypeError("float_power(): one of 'input' and 'exponent' must be a Tensor")
    complex_ = builtins.any(
        (v.dtype._kind == "c") if isinstance(v, Tensor) else isinstance(v, complex)
        for v in (input, exponent))
    d = _dt.complex128 if complex_ else _dt.float64
    a = input.astype(d) if isinstance(input, Tensor) else input
    b = exponent.astype(d) if isinstance(exponent, Tensor) else exponent
    return _ops.pow(a, b)


def logit(input: Tensor, eps: float | None = None) -> Tensor:
    """``log(p / (1 - p))``; with ``eps``, ``p`` is first clamped to ``[eps, 1 - eps]``
    (its gradient 0 outside).  NaN (value and gradient) outside ``[0, 1]`` otherwise."""
    x = _tensor("logit", input)
    if x.dtype._kind not in "fc":
        x = x.astype(_dt.get_default_dtype())
    if eps is not None:
        if not isinstance(eps, (int, float)) or isinstance(eps, bool):
            raise TypeError(f"logit(): argument 'eps' must be float, not {type(eps).__name__}")
        x = _ops.clamp(x, eps, 1 - eps)
    else:
        # adding NaN (not selecting it) poisons the gradient too, as PyTorch's
        outside = _ops.logical_or(_ops.lt(x, 0), _ops.gt(x, 1))
        x = _ops.add(x, _ops.where(outside, math.nan, 0.0).astype(x.dtype))
    return _ops.sub(_ops.log(x), _ops.log1p(_ops.neg(x)))


_frexp = namedtuple("frexp", ["mantissa", "exponent"])


def frexp(input: Tensor):
    """``(mantissa, exponent)`` with ``input = mantissa * 2 ** exponent``, ``0.5 <=
    |mantissa| < 1`` (int32 exponents; zero, inf and NaN keep their value and get 0)."""
    if not _tensor("frexp", input).dtype.is_floating_point:
        _fail("frexp", f"only supports floating-point dtypes, got {input.dtype}")
    a = _ops.abs(input.detach())
    regular = _ops.logical_and(_ops.isfinite(a), _ops.ne(a, 0))
    e = _ops.where(regular, _ops.add(_ops.floor(_ops.log2(_ops.where(regular, a, 1.0))), 1),
                   0.0)
    # log2 rounds: one step either way puts |mantissa| in [0.5, 1)
    for _ in range(2):
        m = _scale2(a, e)
        step = _ops.sub(_ops.ge(m, 1).astype(e.dtype), _ops.lt(m, 0.5).astype(e.dtype))
        e = _ops.add(e, _ops.where(regular, step, 0.0))
    return _frexp(_scale2(input, e), e.astype(_dt.int32))


def _scale2(x: Tensor, e: Tensor) -> Tensor:
    """``x * 2 ** -e`` in two halves: ``2 ** -e`` alone overflows for subnormal ``x``."""
    half = _ops.floor(_ops.mul(e, 0.5))
    return _ops.mul(_ops.mul(x, _ops.exp2(_ops.neg(half))), _ops.exp2(_ops.sub(half, e)))
