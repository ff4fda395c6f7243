"""PyTorch's pointwise helpers for special values and units, composed from primitives:
``frac``, ``deg2rad``, ``rad2deg``, ``xlogy``, ``heaviside``, ``fmax``, ``fmin``,
``nan_to_num``, ``isposinf``, ``isneginf``, ``isreal`` and ``sinc``.

Each is a composite op (``ember.<name>`` and a method), so a backend owes no kernel and
autograd differentiates the decomposition; NaN/inf come out as PyTorch gives them.
"""

from __future__ import annotations

import math

from .. import dtypes as _dt
from ..schema import defop
from ._rules import fail
from .complex_numbers import imag
from .creation import ones_like
from .elementary import _float, _floats
from .pointwise import (_with_check, eq, gt, isinf, isnan, log, logical_and, lt, maximum,
                        minimum, mul, sin, sub, true_divide, trunc, where)

__all__ = ["frac", "deg2rad", "rad2deg", "xlogy", "heaviside", "fmax", "fmin",
           "nan_to_num", "isposinf", "isneginf", "isreal", "sinc"]


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
        # the other operand where one is NaN (both NaN: NaN)
        return where(isnan(self), other, where(isnan(other), self, out))
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
