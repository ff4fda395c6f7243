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
from .pointwise import (abs, add, atan2, cos, eq, exp, expm1, gt, isinf, log, log1p,
                        logical_and, logical_or, lt, maximum, minimum, mul, neg, sin, sqrt, sub,
                        true_divide, where)

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


def _c_asinh(z):
    return log(add(z, sqrt(_shift(mul(z, z), 1.0))))


def _c_acosh(z):
    return log(add(z, mul(sqrt(_shift(z, 1.0)), sqrt(_shift(z, -1.0)))))


def _c_atanh(z):
    # halved part by part: a complex product with 0.5 would turn inf * 0j into NaN
    h = sub(log1p(z), log1p(neg(z)))
    return complex(mul(real(h), 0.5), mul(imag(h), 0.5))


def _c_sinh(z):
    x, y = real(z), imag(z)
    return complex(mul(sinh(x), cos(y)), mul(cosh(x), sin(y)))


def _c_cosh(z):
    x, y = real(z), imag(z)
    return complex(mul(cosh(x), cos(y)), mul(sinh(x), sin(y)))


def _c_asin(z):
    return _times_i(_c_asinh(_times_i(z)), -1.0)


def _c_acos(z):
    return sub(math.pi / 2, _c_asin(z))


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
