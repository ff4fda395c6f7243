"""Elementary functions composed from primitives: the inverse trigonometric and the
hyperbolic functions, ``hypot``, ``logaddexp``, ``signbit`` and ``copysign``.

Each is a composite op (PyTorch's name, a method and ``ember.<name>``; the Array API
namespace uses the same ops), so a backend owes no kernel for them and autograd
differentiates their decompositions.  The decompositions are written for accuracy at
the edges rather than brevity: ``asinh``/``acosh`` switch formulas where the naive
one overflows, ``hypot`` scales by the larger argument, ``logaddexp`` subtracts the
maximum, and NaN/inf/-0.0 come out as PyTorch's and C's ``<math.h>`` give them.
"""

from __future__ import annotations

import math

from .. import dtypes as _dt
from ..schema import defop
from .complex_numbers import complex, imag, real
from .creation import full
from .pointwise import (abs, add, atan2, cos, eq, exp, expm1, gt, isfinite, isinf, isnan,
                        log, log1p, logical_and, logical_not, logical_or, lt, maximum, minimum,
                        mul, neg, sin, sqrt, sub, true_divide, where)

__all__ = ["asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "hypot",
           "logaddexp", "signbit", "copysign"]


def _float(x):
    """``x`` in a floating dtype (integers and bools as the default float, as the ops'
    ``int_to_float`` promotion says)."""
    return x if x.dtype._kind in "fc" else x.astype(_dt.get_default_dtype())


def _floats(a, b):
    """Both arguments as floating tensors of the dtype the op computes in (a Python
    number becomes a 0-d tensor of it, which does not widen the other's dtype)."""
    d = _dt.result_type(a, b)
    if d._kind not in "fc":
        d = _dt.get_default_dtype()

    device = (a if hasattr(a, "device") else b).device

    def one(x):
        if not hasattr(x, "dtype"):
            return full((), x, dtype=d, device=device)
        return x if x.dtype is d else x.astype(d)
    return one(a), one(b)


def _unary(name: str, decomposition, doc: str, complex_formula=None):
    """A composite unary op; complex arguments go to ``complex_formula`` (principal
    branches from ``log``/``sqrt``/``exp`` of complex tensors, as C99 and numpy define
    them), real ones to ``decomposition``, whose floating casts would drop the imaginary
    part."""
    def decompose(self):
        if complex_formula is not None and self.dtype.is_complex:
            return complex_formula(self)
        return decomposition(self)
    return defop(f"{name}(Tensor self) -> Tensor", tags=("composite", "pointwise"),
                 promotion="int_to_float", decomposition=decompose, doc=doc)


# --- complex arguments ------------------------------------------------------------------------

def _times_i(z, sign=1.0):
    """``i * z`` (``sign=-1``: ``-i * z``) by swapping the parts, which keeps the sign
    of a zero part (a complex product does not), and so the side of a branch cut."""
    return complex(mul(neg(imag(z)), sign), mul(real(z), sign))


def _shift(z, c):
    """``z + c`` for a real ``c``, leaving the imaginary part (and its zero's sign,
    which picks the side of a branch cut) alone; ``z + c`` would add ``+0j``."""
    return complex(add(real(z), c), imag(z))


# The complex functions follow C99's annex G, as numpy and PyTorch do: each is odd or even
# and conjugate-symmetric, so it is computed on |x| + i|y| (``_unsigned``; the signs go
# back at the end, which also gives signed zeros and the sides of the branch cuts) from
# three formulas: the defining one, its first-order series near 0, and its asymptotic
# expansion for large |z|, which at infinity is exact and gives annex G's values.  The
# remaining special values (a NaN part meeting a zero or an infinity) are set explicitly.
# Each branch sees a harmless input where it is not taken, so no NaN leaks into gradients.

def _unsigned(v):
    """``(|v|, s)`` with ``s * |v| == v``: ``s`` is -1 where ``v``'s sign bit is set, and
    ``|v|`` keeps a nonzero derivative at 0 (``abs``'s is 0 there)."""
    s = where(signbit(v), -1.0, 1.0)
    return mul(v, s), s


def _thresholds(dtype):
    """Below ``tiny`` the series ``f(z) ~ z`` is exact to rounding, above ``big`` the
    asymptotic expansion is (their error terms are of order ``|z|**2`` and ``|z|**-2``)."""
    eps = _dt.finfo(dtype).eps
    return math.sqrt(eps), 1.0 / math.sqrt(eps)


def _regions(ax, ay):
    tiny_at, big_at = _thresholds(ax.dtype)
    m = maximum(ax, ay)  # NaN if a part is NaN: neither tiny nor big then
    infinite = logical_or(isinf(ax), isinf(ay))
    return lt(m, tiny_at), logical_or(infinite, gt(m, big_at)), infinite


def _c_asinh(z):
    x, y = real(z), imag(z)
    (ax, sx), (ay, sy) = _unsigned(x), _unsigned(y)
    tiny, big, _ = _regions(ax, ay)
    # asinh(z) = log(2z) + O(z**-2) for large |z|: no overflow of z*z, exact at infinity
    b = log(complex(where(big, ax, 1.0), where(big, ay, 0.0)))
    mid = logical_not(logical_or(big, tiny))
    wm = complex(where(mid, ax, 0.0), where(mid, ay, 0.0))
    # log(w + sqrt(1 + w^2)) = log1p(t), t = w + w^2 / (1 + sqrt(1 + w^2)), with log1p's
    # real part from real ops: accurate near 0, where log(1 + t) loses t's digits
    t = add(wm, true_divide(mul(wm, wm), _shift(sqrt(_shift(mul(wm, wm), 1.0)), 1.0)))
    a, c = real(t), imag(t)
    f_re = mul(log1p(add(mul(a, add(a, 2.0)), mul(c, c))), 0.5)
    f_im = atan2(c, add(a, 1.0))
    re = where(big, add(real(b), math.log(2.0)), where(tiny, ax, f_re))
    im = where(big, imag(b), where(tiny, ay, f_im))
    im = where(logical_and(eq(ay, 0.0), isnan(ax)), ay, im)  # asinh(NaN + 0j) = NaN + 0j
    return complex(mul(re, sx), mul(im, sy))


def _c_acosh(z):
    # acosh(z) = ±i acos(z), the sign making the real part >= 0 (C99 and numpy)
    w = _c_acos(z)
    y = imag(z)
    _, sy = _unsigned(y)
    a, b = real(w), imag(w)
    re = where(isnan(y), abs(b), mul(neg(b), sy))
    return complex(re, mul(a, sy))


def _c_atanh(z):
    x, y = real(z), imag(z)
    (ax, sx), (ay, sy) = _unsigned(x), _unsigned(y)
    tiny, big, infinite = _regions(ax, ay)
    # atanh(z) = 1/z + i pi/2 + O(z**-3) for large |z| (Re z >= 0, Im z >= 0): the real
    # part scaled by the larger part (no overflow), 0 and pi/2 at infinity
    fin = logical_and(big, logical_not(infinite))
    bx, by = where(fin, ax, 1.0), where(fin, ay, 0.0)
    s = maximum(bx, by)
    u, v = true_divide(bx, s), true_divide(by, s)
    d = mul(s, add(mul(u, u), mul(v, v)))
    b_re = where(infinite, 0.0, true_divide(u, d))
    b_im = where(isnan(ay), math.nan, sub(math.pi / 2, where(infinite, 0.0, true_divide(v, d))))
    # 1/2 log((1 + z) / (1 - z)) part by part, in the forms without cancellation
    mid = logical_not(logical_or(big, tiny))
    mx, my = where(mid, ax, 0.0), where(mid, ay, 0.0)
    omx = sub(1.0, mx)
    f_re = mul(log1p(true_divide(mul(mx, 4.0), add(mul(omx, omx), mul(my, my)))), 0.25)
    f_im = mul(atan2(mul(my, 2.0), sub(mul(omx, add(mx, 1.0)), mul(my, my))), 0.5)
    re = where(big, b_re, where(tiny, ax, f_re))
    im = where(big, b_im, where(tiny, ay, f_im))
    re = where(logical_and(eq(ax, 0.0), isnan(ay)), 0.0, re)  # atanh(iy) is imaginary
    return complex(mul(re, sx), mul(im, sy))


def _c_sinh(z):
    x, y = real(z), imag(z)
    ch = cosh(x)
    re, im = mul(sinh(x), cos(y)), mul(ch, sin(y))
    # 0 * NaN and inf * 0 where annex G has ±0 and ±inf (the sign, where it leaves it
    # open, PyTorch's): sinh(±0 + i inf) = ±0 + NaN j, sinh(±inf + i inf) = inf + NaN j,
    # sinh(x + 0j) = sinh(x) + 0j also where cosh(x) overflows or is NaN
    nonfinite_y = logical_not(isfinite(y))
    re = where(logical_and(nonfinite_y, eq(x, 0.0)), x, re)
    re = where(logical_and(nonfinite_y, isinf(x)), math.inf, re)
    return complex(re, where(logical_and(eq(y, 0.0), logical_not(isfinite(ch))), y, im))


def _c_cosh(z):
    x, y = real(z), imag(z)
    sh = sinh(x)
    re, im = mul(cosh(x), cos(y)), mul(sh, sin(y))
    nonfinite_y = logical_not(isfinite(y))
    re = where(logical_and(isinf(x), nonfinite_y), math.inf, re)  # cosh(±inf + i inf)
    im = where(logical_and(eq(x, 0.0), nonfinite_y), 0.0, im)  # cosh(±0 + i inf) = NaN + 0j
    _, sx = _unsigned(x)
    # cosh(x + 0j) = cosh(x) ± 0j also where sinh(x) overflows or is NaN (inf * 0 is NaN)
    return complex(re, where(logical_and(eq(y, 0.0), logical_not(isfinite(sh))), mul(y, sx), im))


def _c_asin(z):
    return _times_i(_c_asinh(_times_i(z)), -1.0)


def _c_acos(z):
    # pi/2 - asin(z) part by part: complex subtraction would give +0 for 0 - (+0)
    w = _c_asin(z)
    return complex(sub(math.pi / 2, real(w)), neg(imag(w)))


def _c_atan(z):
    return _times_i(_c_atanh(_times_i(z)), -1.0)


def _one_minus_x_squared(x):
    return mul(sub(1.0, x), add(1.0, x))  # (1 - x)(1 + x): no cancellation near |x| = 1


def _asin(self):
    x = _float(self)
    return atan2(x, sqrt(_one_minus_x_squared(x)))


def _acos(self):
    x = _float(self)
    return atan2(sqrt(_one_minus_x_squared(x)), x)


def _sinh(self):
    x = _float(self)
    return mul(sub(expm1(x), expm1(neg(x))), 0.5)  # expm1: accurate near 0, odd


def _cosh(self):
    x = _float(self)
    return mul(add(exp(x), exp(neg(x))), 0.5)


def _asinh(self):
    x = _float(self)
    a = abs(x)
    # log1p form: accurate near zero; log(a) + log1p(sqrt(1 + 1/a^2)) for large a, which
    # cannot overflow; odd by construction (-0.0 gives -0.0)
    small = log1p(add(a, true_divide(mul(a, a), add(1.0, sqrt(add(1.0, mul(a, a)))))))
    big = add(log(a), log1p(sqrt(add(1.0, true_divide(1.0, mul(a, a))))))
    r = where(gt(a, 1.0), big, small)
    return where(signbit(x), neg(r), r)


def _acosh(self):
    x = _float(self)
    # log(x) + log(2) for large x, where (x - 1)(x + 1) would overflow (in float16 above
    # 256) and the rest, -1/(4x^2), is below rounding; NaN below 1 (the product is
    # positive again for x < -1)
    big = add(log(x), math.log(2.0))
    out = log(add(x, sqrt(mul(sub(x, 1.0), add(x, 1.0)))))
    threshold = min(2.0 ** 28, math.sqrt(_dt.finfo(x.dtype).max) / 2)
    out = where(gt(x, threshold), big, out)
    return where(lt(x, 1.0), math.nan, out)


def _atanh(self):
    x = _float(self)
    return mul(log1p(true_divide(mul(x, 2.0), sub(1.0, x))), 0.5)  # ±inf at ±1


asin = _unary("asin", _asin, "Inverse sine (NaN outside [-1, 1]).", _c_asin)
acos = _unary("acos", _acos, "Inverse cosine (NaN outside [-1, 1]).", _c_acos)
atan = _unary("atan", lambda self: atan2(_float(self), 1.0), "Inverse tangent.", _c_atan)
sinh = _unary("sinh", _sinh, "Hyperbolic sine.", _c_sinh)
cosh = _unary("cosh", _cosh, "Hyperbolic cosine.", _c_cosh)
asinh = _unary("asinh", _asinh, "Inverse hyperbolic sine.", _c_asinh)
acosh = _unary("acosh", _acosh, "Inverse hyperbolic cosine (NaN below 1).", _c_acosh)
atanh = _unary("atanh", _atanh, "Inverse hyperbolic tangent (NaN outside [-1, 1], ±inf "
                                 "at ±1).", _c_atanh)


def _signbit(self):
    if self.dtype._kind != "f":
        return lt(self, 0)
    neg_zero = logical_and(eq(self, 0), lt(true_divide(1.0, self), 0))  # 1/-0.0 = -inf
    return logical_or(lt(self, 0), neg_zero)


signbit = defop("signbit(Tensor self) -> Tensor", tags=("composite", "pointwise"),
                promotion="always_bool", decomposition=_signbit,
                doc="Whether the sign bit is set (true for -0.0; NaN's sign is not "
                    "visible to comparisons and reads as unset).")


def _copysign(self, other):
    x, y = _floats(self, other)
    a = abs(x)
    return where(signbit(y), neg(a), a)


copysign = defop("copysign(Tensor self, Tensor other) -> Tensor",
                 tags=("composite", "pointwise"), promotion="int_to_float",
                 decomposition=_copysign,
                 doc="``|self|`` with the sign of ``other``, in the promoted floating dtype.")


def _hypot(self, other):
    a, b = (abs(v) for v in _floats(self, other))
    hi, lo = maximum(a, b), minimum(a, b)
    r = true_divide(lo, where(eq(hi, 0), 1.0, hi))
    out = mul(hi, sqrt(add(1.0, mul(r, r))))  # scaled: no overflow for large inputs
    return where(logical_or(isinf(a), isinf(b)), math.inf, out)  # inf wins even over NaN


hypot = defop("hypot(Tensor self, Tensor other) -> Tensor", tags=("composite", "pointwise"),
              promotion="int_to_float", decomposition=_hypot,
              doc="``sqrt(self**2 + other**2)`` without overflow for large inputs.")


def _logaddexp(self, other):
    a, b = _floats(self, other)
    hi = maximum(a, b)
    out = add(hi, log1p(exp(neg(abs(sub(a, b))))))
    # equal infinities: a - b is NaN, the answer is that infinity
    return where(logical_and(isinf(hi), eq(a, b)), hi, out)


logaddexp = defop("logaddexp(Tensor self, Tensor other) -> Tensor",
                  tags=("composite", "pointwise"), promotion="int_to_float",
                  decomposition=_logaddexp,
                  doc="``log(exp(self) + exp(other))`` without overflow.")
