"""PyTorch's pointwise helpers for special values and units, composed from primitives:
``frac``, ``deg2rad``, ``rad2deg``, ``xlogy``, ``heaviside``, ``fmax``, ``fmin``,
``nan_to_num``, ``isposinf``, ``isneginf``, ``isreal``, ``sinc``, ``lgamma`` and
``erfinv``.

Each is a composite op (``ember.<name>`` and a method), so a backend owes no kernel and
autograd differentiates the decomposition; NaN/inf come out as PyTorch gives them.
"""

from __future__ import annotations

import math

from .. import dtypes as _dt
from ..schema import defop
from ._rules import fail
from .complex_numbers import imag
from .creation import full, ones_like
from .elementary import _float, _floats
from .pointwise import (_with_check, abs, add, eq, erf, exp, gt, isinf, isnan, log,
                        logical_and, logical_or, lt, maximum, minimum, mul, neg, round, sin,
                        sqrt, sub, true_divide, trunc, where)

__all__ = ["frac", "deg2rad", "rad2deg", "xlogy", "heaviside", "fmax", "fmin",
           "nan_to_num", "isposinf", "isneginf", "isreal", "sinc", "lgamma", "erfinv"]


def _kind_check(op, kinds, what):
    def check(spec, *args):
        for x in args[:2]:
            d = getattr(x, "dtype", None)
            if isinstance(d, _dt.dtype) and d._kind not in kinds:
                fail(op, f"expected {what} tensors, got {d}")
    return check


def _pointwise(sig, decomposition, doc, promotion="default", check=None):
    fn = defop(sig, tags=("composite", "pointwise"), promotion=promotion,
               decomposition=decomposition, doc=doc)
    return _with_check(fn, check) if check is not None else fn


frac = _pointwise("frac(Tensor self) -> Tensor", lambda self: sub(self, trunc(self)),
                  "The fractional part, ``self - trunc(self)`` (sign of ``self``).",
                  check=_kind_check("frac", "f", "floating-point"))
deg2rad = _pointwise("deg2rad(Tensor self) -> Tensor",
                     lambda self: mul(_float(self), math.pi / 180.0),
                     "Degrees to radians.", promotion="int_to_float",
                     check=_kind_check("deg2rad", "biuf", "real"))
rad2deg = _pointwise("rad2deg(Tensor self) -> Tensor",
                     lambda self: mul(_float(self), 180.0 / math.pi),
                     "Radians to degrees.", promotion="int_to_float",
                     check=_kind_check("rad2deg", "biuf", "real"))


def _xlogy(self, other):
    x, y = _floats(self, other)
    out = where(eq(x, 0), 0.0, mul(x, log(y)))
    return where(isnan(y), math.nan, out)  # 0 * log(NaN) is NaN, the only exception


xlogy = _pointwise("xlogy(Tensor self, Tensor other) -> Tensor", _xlogy,
                   "``self * log(other)``, 0 where ``self`` is 0 (unless ``other`` is NaN).",
                   promotion="int_to_float", check=_kind_check("xlogy", "biuf", "real"))


def _heaviside_check(spec, self, values):
    if getattr(self, "dtype", None) is not getattr(values, "dtype", None):
        fail("heaviside", "is not implemented for tensors with different dtypes, got "
                          f"{getattr(self, 'dtype', type(self).__name__)} and "
                          f"{getattr(values, 'dtype', type(values).__name__)}")
    _kind_check("heaviside", "biuf", "real")(spec, self, values)


def _heaviside(self, values):
    # PyTorch's rule, ``values if x == 0 else x > 0``: NaN gives 0
    return where(eq(self, 0), values, gt(self, 0).astype(self.dtype))


heaviside = _pointwise("heaviside(Tensor self, Tensor values) -> Tensor", _heaviside,
                       "The step function: 0 below 0 (and at NaN), ``values`` at 0, 1 above.",
                       check=_heaviside_check)


def _nan_ignoring(pick):
    def decomposition(self, other):
        out = pick(self, other)
        if out.dtype._kind not in "fc":
            return out
        # the other operand where one is NaN (both NaN: NaN); a Python number as a 0-d
        # tensor of the result's dtype (it does not widen it)
        a, b = (x if hasattr(x, "dtype") else full((), x, dtype=out.dtype, device=out.device)
                for x in (self, other))
        return where(isnan(a), b, where(isnan(b), a, out))
    return decomposition


fmax = _pointwise("fmax(Tensor self, Tensor other) -> Tensor", _nan_ignoring(maximum),
                  "The larger element, ignoring NaN (NaN only where both are).",
                  check=_kind_check("fmax", "biuf", "real"))
fmin = _pointwise("fmin(Tensor self, Tensor other) -> Tensor", _nan_ignoring(minimum),
                  "The smaller element, ignoring NaN (NaN only where both are).",
                  check=_kind_check("fmin", "biuf", "real"))


def _nan_to_num(self, nan=None, posinf=None, neginf=None):
    if self.dtype._kind not in "fc":
        return self.clone()
    if self.dtype._kind == "c":
        fail("nan_to_num", "complex tensors are not supported")
    info = _dt.finfo(self.dtype)
    out = where(isnan(self), 0.0 if nan is None else nan, self)
    out = where(logical_and(isinf(out), gt(out, 0)), info.max if posinf is None else posinf,
                out)
    return where(logical_and(isinf(out), lt(out, 0)), info.min if neginf is None else neginf,
                 out)


nan_to_num = defop("nan_to_num(Tensor self, float? nan=None, float? posinf=None, "
                   "float? neginf=None) -> Tensor", tags=("composite", "pointwise"),
                   promotion="default", decomposition=_nan_to_num,
                   doc="NaN, +inf and -inf replaced by ``nan`` (0), ``posinf`` and "
                       "``neginf`` (the dtype's largest and lowest finite values).")


def _isinf_signed(positive):
    def decomposition(self):
        if self.dtype._kind == "c":
            fail("isposinf" if positive else "isneginf", "complex tensors are not supported")
        return logical_and(isinf(self), gt(self, 0) if positive else lt(self, 0))
    return decomposition


isposinf = _pointwise("isposinf(Tensor self) -> Tensor", _isinf_signed(True),
                      "Whether each element is +inf.", promotion="always_bool")
isneginf = _pointwise("isneginf(Tensor self) -> Tensor", _isinf_signed(False),
                      "Whether each element is -inf.", promotion="always_bool")


def _isreal(self):
    if self.dtype._kind != "c":
        return ones_like(self, dtype=_dt.bool)  # every real element (NaN too) is real
    return eq(imag(self), 0)


isreal = _pointwise("isreal(Tensor self) -> Tensor", _isreal,
                    "Whether each element has a zero imaginary part (true for real dtypes).",
                    promotion="always_bool")


def _sinc(self):
    x = _float(self)
    if x.dtype in (_dt.float16, _dt.bfloat16):  # pi * x must not round before sin
        return _sinc(x.astype(_dt.float32)).astype(x.dtype)
    px = mul(x, math.pi)
    # 1 at 0 (the limit); sin(pi x)/(pi x) elsewhere (±inf and NaN give NaN, as PyTorch)
    return where(eq(x, 0), 1.0, true_divide(sin(px), where(eq(x, 0), 1.0, px)))


sinc = _pointwise("sinc(Tensor self) -> Tensor", _sinc,
                  "The normalized sinc, ``sin(pi x) / (pi x)`` (1 at 0).",
                  promotion="int_to_float", check=_kind_check("sinc", "biuf", "real"))


def _half_in_float32(fn):
    """``fn`` computed in float32 for float16/bfloat16 inputs (their rounding of the
    intermediate values would swamp the result), as PyTorch's kernels do."""
    def decomposition(self):
        x = _float(self)
        if x.dtype in (_dt.float16, _dt.bfloat16):
            return fn(x.astype(_dt.float32)).astype(x.dtype)
        return fn(x)
    return decomposition


# Lanczos' approximation, g = 7 with nine coefficients (relative error ~1e-15)
_LANCZOS_G = 7.0
_LANCZOS = (0.99999999999980993, 676.5203681218851, -1259.1392167224028,
            771.32342877765313, -176.61502916214059, 12.507343278686905,
            -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7)


def _lgamma_right(x):
    """log|Gamma(x)| for x >= 0.5."""
    z = sub(x, 1.0)
    a = full((), _LANCZOS[0], dtype=x.dtype, device=x.device)
    for i, c in enumerate(_LANCZOS[1:], start=1):
        a = add(a, true_divide(c, add(z, float(i))))
    t = add(z, _LANCZOS_G + 0.5)
    return add(add(0.5 * math.log(2 * math.pi), sub(mul(add(z, 0.5), log(t)), t)), log(a))


def _lgamma(x):
    small = lt(x, 0.5)
    right = _lgamma_right(where(small, sub(1.0, x), x))
    # reflection, Gamma(x) Gamma(1 - x) = pi / sin(pi x); sin is taken of the distance to
    # the nearest integer (exact: no rounding near the poles)
    # (only where x < 0.5: elsewhere a safe 0.25, so that log(0) at the integers above
    # puts no NaN into the gradient of the branch not taken)
    xs = where(small, x, 0.25)
    s = abs(sin(mul(sub(xs, round(xs)), math.pi)))
    left = sub(sub(math.log(math.pi), log(s)), right)
    out = where(small, left, right)
    # inf at the poles (every large float is an integer, where lgamma(1 - x) may
    # overflow too) and at both infinities
    pole = logical_and(small, eq(x, round(x)))
    return where(logical_or(pole, isinf(x)), math.inf, out)


lgamma = _pointwise("lgamma(Tensor self) -> Tensor", _half_in_float32(_lgamma),
                    "The natural log of the absolute value of the gamma function (inf at "
                    "the poles 0, -1, -2 …).", promotion="int_to_float",
                    check=_kind_check("lgamma", "biuf", "real"))

# M. Giles, "Approximating the erfinv function" (GPU Computing Gems, 2011): single
# precision polynomials in w = -log(1 - y^2), refined below by Newton steps on erf
_GILES_CENTRAL = (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06,
                  0.00021858087, -0.00125372503, -0.00417768164, 0.246640727, 1.50140941)
_GILES_TAIL = (-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844,
               0.00573950773, -0.0076224613, 0.00943887047, 1.00167406, 2.83297682)


def _horner(coeffs, w):
    p = full((), coeffs[0], dtype=w.dtype, device=w.device)
    for c in coeffs[1:]:
        p = add(mul(p, w), c)
    return p


def _erfinv(y):
    inside = lt(abs(y), 1.0)
    yy = where(inside, y, 0.0)  # keeps the log finite; the edges are set at the end
    w = neg(log(mul(sub(1.0, yy), add(1.0, yy))))
    central = _horner(_GILES_CENTRAL, sub(w, 2.5))
    tail = _horner(_GILES_TAIL, sub(sqrt(maximum(w, 5.0)), 3.0))  # (used from 5 on)
    x = mul(where(lt(w, 5.0), central, tail), yy)
    steps = 2 if y.dtype is _dt.float64 else 1
    for _ in range(steps):  # Newton: x -= (erf(x) - y) / erf'(x), erf'(x) = 2/sqrt(pi) e^-x^2
        x = sub(x, true_divide(sub(erf(x), yy), mul(exp(neg(mul(x, x))), 2 / math.sqrt(math.pi))))
    out = where(eq(y, 1.0), math.inf, where(eq(y, -1.0), -math.inf, x))
    return where(logical_or(gt(abs(y), 1.0), isnan(y)), math.nan, out)


erfinv = _pointwise("erfinv(Tensor self) -> Tensor", _half_in_float32(_erfinv),
                    "The inverse error function on [-1, 1] (±inf at ±1, NaN outside).",
                    promotion="int_to_float", check=_kind_check("erfinv", "biuf", "real"))
