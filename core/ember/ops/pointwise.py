"""Elementwise ops: broadcasting, PyTorch's type promotion, Python-number operands.

Primitives are the ops a backend implements (arithmetic, comparisons, the common math
functions); the rest (``div`` with ``rounding_mode``, ``clamp``, ``rsqrt``, the
logical and ``is*`` tests …) decompose into them.  Every in-place ``f_`` is derived
from ``f`` (validated first, then ``self.copy_(f(...))`` unless a backend has a
native kernel).
"""

from __future__ import annotations

import math

from .. import dtypes as _dt
from ..errors import IntegerDivisionByZero
from ..schema import Spec, defop
from ._rules import fail

__all__ = [
    # arithmetic
    "add", "sub", "mul", "div", "true_divide", "floor_divide", "remainder", "fmod", "pow",
    "neg", "positive", "abs", "reciprocal", "square", "maximum", "minimum", "atan2",
    "addcmul", "addcdiv", "lerp",
    # comparison and logic
    "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_xor",
    "logical_not", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not",
    "bitwise_left_shift", "bitwise_right_shift", "isnan", "isinf", "isfinite",
    "isclose", "allclose", "equal",
    # functions
    "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt", "sin", "cos",
    "tan", "tanh", "sigmoid", "erf", "floor", "ceil", "round", "trunc", "sign",
    "clamp", "clamp_min", "clamp_max", "where",
    # in place
    "add_", "sub_", "mul_", "div_", "true_divide_", "floor_divide_", "remainder_", "pow_",
    "neg_", "abs_", "reciprocal_", "square_", "exp_", "log_", "sqrt_", "rsqrt_", "sin_",
    "cos_", "tanh_", "sigmoid_", "floor_", "ceil_", "round_", "trunc_", "sign_",
    "clamp_", "clamp_min_", "clamp_max_", "bitwise_and_", "bitwise_or_", "bitwise_xor_",
    "bitwise_not_", "logical_not_", "addcmul_", "addcdiv_", "lerp_", "fill_", "zero_",
]

_NUMBERS = (bool, int, float, complex)


def _with_check(fn, check, reads=()):
    """Run ``check(spec, *args)`` after the op's generated pointwise shape rule.

    ``reads`` names the tensor arguments whose *value* the check reads when a Python
    number stands for them (``pow``'s exponent): the boxed kernel's validation cache
    keys those numbers by value, the others by class only."""
    base = fn.op.meta

    def meta(*args):
        spec = base(*args)
        check(spec, *args)
        return spec
    meta.reads = frozenset(reads)
    fn.op.meta = meta
    return fn


def _nonzero_divisor(op):
    """The value rule of integer division: PyTorch raises for a zero divisor (a bool
    ``False`` included) where numpy and most array libraries return 0.  Checked here,
    once for every backend, only when the computation is integral (it reads the
    divisor's data)."""
    def rule(spec, self, other):
        if spec.dtype.is_floating_point:
            return
        if other.__class__ in _NUMBERS:
            zero = other == 0
        else:
            zero = other.numel() > 0 and not other.all().item()
        if zero:
            raise IntegerDivisionByZero(f"{op}(): integer division by zero "
                                        f"(ZeroDivisionError)")
    return rule


def _dtype_of(x):
    if x.__class__ in _NUMBERS:
        return _dt.result_type(x)
    return x.dtype


def _no_bool(message):
    def check(spec, *args):
        if spec.dtype is _dt.bool:
            raise TypeError(message)
    return check


def _integral_only(op):
    def check(spec, *args):
        for x in args[:2]:
            if x is not None and _dtype_of(x).is_floating_point:
                fail(op, f"expected integer or bool operands, got {_dtype_of(x)} "
                         f"(bitwise ops are not defined for floating point)")
    return check


def _binary(name, promotion="default", alpha=False, doc="", tags=("primitive",), **kw):
    extra = ", *, Scalar alpha=1" if alpha else ""
    return defop(f"{name}(Tensor self, Tensor other{extra}) -> Tensor",
                 tags=tags + ("pointwise",), promotion=promotion, doc=doc, **kw)


def _unary(name, promotion="default", doc="", tags=("primitive",), **kw):
    return defop(f"{name}(Tensor self) -> Tensor", tags=tags + ("pointwise",),
                 promotion=promotion, doc=doc, **kw)


def _inplace(name, extra="", meta=None):
    """``name_`` from ``name`` with the same arguments after ``self`` (``meta``: a shape
    rule of its own, else the base op's plus the in-place checks)."""
    from ..schema import registry
    base = registry[name]
    rest = base.signature[base.signature.index("(") + 1:base.signature.rindex(")")]
    rest = rest.split(",", 1)[1].strip() if "," in rest else ""
    sig = f"{name}_(Tensor(a!) self{', ' + rest if rest else ''}) -> Tensor(a!)"
    return defop(sig, tags=("inplace", "pointwise"), promotion=base.promotion or "default",
                 inplace_of=name, meta=meta,
                 doc=f"In-place ``{name}``: writes the result into ``self``.")


def _abs_inplace_meta(self):
    # |z| of a complex tensor is real: PyTorch refuses to write it back into the complex
    # tensor (the float -> complex cast the generic rule allows would keep a zero
    # imaginary part silently)
    if self.dtype.is_complex:
        fail("abs_", "in-place abs is not supported for complex tensors (use abs())")
    abs.op.meta(self)  # abs's own checks
    return Spec(tuple(self.shape), self.dtype)


# --- arithmetic -------------------------------------------------------------------------



def _alpha_check(op):
    def check(spec, self, other, alpha=1):
        if alpha.__class__ is float and not (spec.dtype.is_floating_point
                                             or spec.dtype.is_complex):
            fail(op, "for integral input tensors, argument 'alpha' must not be a floating "
                     "point number")
    return check


add = _with_check(_binary("add", alpha=True, doc="``self + alpha * other``."),
                  _alpha_check("add"))


def _sub_check(spec, self, other, alpha=1):
    _alpha_check("sub")(spec, self, other, alpha)
    if bool in (self.__class__, other.__class__) or any(
            x.__class__ not in _NUMBERS and x.dtype is _dt.bool for x in (self, other)):
        raise TypeError("sub(): subtraction, the `-` operator, with a bool tensor is not "
                        "supported; to invert a mask use the `~` or `logical_not()` "
                        "operator instead")


sub = _with_check(_binary("sub", alpha=True, doc="``self - alpha * other``."), _sub_check)
mul = _binary("mul", doc="``self * other``.")
true_divide = _binary("true_divide", promotion="int_to_float",
                      doc="True division ``self / other`` (integers give floats).")
floor_divide = _with_check(
    _binary("floor_divide", doc="``self // other``: division rounded down (integer "
                                "division by zero raises).",
            values=_nonzero_divisor("floor_divide")),
    _no_bool("floor_divide(): not implemented for bool operands"))
remainder = _with_check(
    _binary("remainder", doc="Python's ``%``: the remainder has the sign of ``other``.",
            values=_nonzero_divisor("remainder")),
    _no_bool("remainder(): not implemented for bool operands"))
fmod = _with_check(_binary("fmod", doc="C's ``fmod``: the remainder has the sign of ``self``.",
                           values=_nonzero_divisor("fmod")),
                   _no_bool("fmod(): not implemented for bool operands"))


def _pow_check(spec, self, other):
    # PyTorch raises for a bool exponent tensor, yet takes bool ** number
    if spec.dtype is _dt.bool and other.__class__ not in _NUMBERS:
        raise TypeError("pow(): not implemented for a bool exponent tensor")
    if (other.__class__ is int and other < 0 and self.__class__ not in _NUMBERS
            and self.dtype._kind in "ib"):
        fail("pow", "integers to negative integer powers are not allowed")


pow = _with_check(_binary("pow", doc="``self ** other`` (either may be a Python number)."),
                  _pow_check, reads=("other",))
pow.op.refuse_out_of_range_numbers = ("other",)  # int8 ** 257 raises (256 ** x wraps)
maximum = _binary("maximum", doc="Elementwise maximum (NaN propagates).")
minimum = _binary("minimum", doc="Elementwise minimum (NaN propagates).")
atan2 = _binary("atan2", promotion="int_to_float", doc="Quadrant-aware ``atan(self / other)``.")


def _div_meta(self, other, rounding_mode=None):
    if rounding_mode not in (None, "trunc", "floor"):
        fail("div", f"argument 'rounding_mode' must be None, 'trunc' or 'floor', "
                    f"got {rounding_mode!r}")
    if rounding_mode is None:
        return true_divide.op.meta(self, other)
    return floor_divide.op.meta(self, other)


def _div_decomp(self, other, rounding_mode=None):
    if rounding_mode is None:
        return true_divide(self, other)
    if rounding_mode == "floor":
        return floor_divide(self, other)
    spec = _div_meta(self, other, rounding_mode)
    if spec.dtype.is_floating_point:
        return trunc(true_divide(self, other))
    # Integer division towards zero: the floor, plus one where the division is inexact
    # and the signs differ.  Both in the result dtype, as PyTorch (no |a| first: |-128|
    # overflows int8 before an int32 division, and uint8 // -3 divides by 253).
    q = floor_divide(self, other)
    if not spec.dtype.is_signed:
        return q

    def negative(x):
        return x < 0 if x.__class__ in _NUMBERS else lt(x, 0)
    inexact = ne(remainder(self, other), 0)
    return where(logical_and(inexact, ne(negative(self), negative(other))), add(q, 1), q)


def _div_values(spec, self, other, rounding_mode=None):
    if rounding_mode is not None:  # (true division of integers gives floats)
        _nonzero_divisor("div")(spec, self, other)


div = defop("div(Tensor self, Tensor other, *, str? rounding_mode=None) -> Tensor",
            tags=("composite", "pointwise"), promotion="default", meta=_div_meta,
            decomposition=_div_decomp, values=_div_values,
            doc="``self / other``: true division, or rounded with ``rounding_mode`` "
                "``'trunc'`` (towards zero) or ``'floor'``.")

neg = _with_check(_unary("neg", doc="``-self``."), _no_bool(
    "neg(): negation, the `-` operator, on a bool tensor is not supported; to invert a "
    "mask use the `~` or `logical_not()` operator instead"))
abs = _unary("abs", promotion="complex_to_float",
             doc="Absolute value (the magnitude of complex numbers, in their parts' dtype).")


def _positive_meta(self):
    if self.dtype is _dt.bool:
        raise TypeError("positive(): the `+` operator on a bool tensor is not supported")
    return Spec(tuple(self.shape), self.dtype)


positive = defop("positive(Tensor self) -> Tensor", tags=("composite",),
                 meta=_positive_meta, decomposition=lambda self: self,
                 doc="``+self``: returns ``self`` itself, as PyTorch does.")
reciprocal = _unary("reciprocal", promotion="int_to_float", tags=("composite",),
                    decomposition=lambda self: true_divide(1, self), doc="``1 / self``.")
def _square_decomp(self):
    if self.dtype is _dt.bool:
        self = self.astype(_dt.int64)
    return mul(self, self)


# PyTorch's square is pow(self, 2): a bool tensor squares to int64
square = _unary("square", promotion="bool_to_long", tags=("composite",),
                decomposition=_square_decomp,
                doc="``self * self`` (``pow(self, 2)``: bool gives int64).")


def _addc_meta(op):
    def meta(self, tensor1, tensor2, value=1):
        from ._rules import broadcast_shapes, pointwise_dtypes
        shape = broadcast_shapes(tuple(self.shape), tuple(tensor1.shape), tuple(tensor2.shape),
                                 op=op, names=("self", "tensor1", "tensor2"))
        dtype = pointwise_dtypes(_op(op), [self, tensor1, tensor2])[1]
        if op == "addcdiv" and not (tensor1.dtype.is_floating_point or
                                    tensor2.dtype.is_floating_point):
            fail(op, "integer division with addcdiv is no longer supported; pass floating "
                     "point tensors as 'tensor1' or 'tensor2'")
        return Spec(shape, dtype)
    return meta


def _op(name):
    from ..schema import registry
    return registry[name]


addcmul = defop("addcmul(Tensor self, Tensor tensor1, Tensor tensor2, *, Scalar value=1) "
                "-> Tensor", tags=("composite", "pointwise"), promotion="default",
                meta=_addc_meta("addcmul"),
                decomposition=lambda self, t1, t2, value=1: add(self, mul(t1, t2), alpha=value),
                doc="``self + value * tensor1 * tensor2`` (optimizers use it).")
addcdiv = defop("addcdiv(Tensor self, Tensor tensor1, Tensor tensor2, *, Scalar value=1) "
                "-> Tensor", tags=("composite", "pointwise"), promotion="default",
                meta=_addc_meta("addcdiv"),
                decomposition=lambda self, t1, t2, value=1:
                    add(self, true_divide(t1, t2), alpha=value),
                doc="``self + value * tensor1 / tensor2`` (optimizers use it).")


def _lerp_decomp(self, end, weight):
    return add(self, mul(weight, sub(end, self)))


def _lerp_meta(self, end, weight):
    # Stated here, not only inside the decomposition's sub(), so that lerp_ (whose
    # shape rule is derived from this one) refuses bool before anything runs.
    from ._rules import broadcast_shapes, pointwise_dtypes
    shape = broadcast_shapes(*(tuple(getattr(x, "shape", ())) for x in (self, end, weight)),
                             op="lerp", names=("self", "end", "weight"))  # weight: a number
    dtype = pointwise_dtypes(_op("lerp"), [self, end, weight])[1]
    if dtype is _dt.bool:
        fail("lerp", "not implemented for bool tensors (as in PyTorch); convert them with "
                     ".float() first")
    return Spec(shape, dtype)


lerp = defop("lerp(Tensor self, Tensor end, Tensor weight) -> Tensor",
             tags=("composite", "pointwise"), promotion="default", decomposition=_lerp_decomp,
             meta=_lerp_meta,
             doc="Linear interpolation ``self + weight * (end - self)``.")

# --- comparison and logic -------------------------------------------------------------------

eq = _binary("eq", promotion="always_bool", doc="``self == other`` elementwise.")
ne = _binary("ne", promotion="always_bool", doc="``self != other`` elementwise.")
lt = _binary("lt", promotion="always_bool", doc="``self < other`` elementwise.")
le = _binary("le", promotion="always_bool", doc="``self <= other`` elementwise.")
gt = _binary("gt", promotion="always_bool", doc="``self > other`` elementwise.")
ge = _binary("ge", promotion="always_bool", doc="``self >= other`` elementwise.")

bitwise_and = _with_check(_binary("bitwise_and", doc="``self & other`` (integers, bools)."),
                          _integral_only("bitwise_and"))
bitwise_or = _with_check(_binary("bitwise_or", doc="``self | other`` (integers, bools)."),
                         _integral_only("bitwise_or"))
bitwise_xor = _with_check(_binary("bitwise_xor", doc="``self ^ other`` (integers, bools)."),
                          _integral_only("bitwise_xor"))
bitwise_left_shift = _with_check(_binary("bitwise_left_shift", doc="``self << other``."),
                                 _integral_only("bitwise_left_shift"))
bitwise_right_shift = _with_check(_binary("bitwise_right_shift", doc="``self >> other``."),
                                  _integral_only("bitwise_right_shift"))
bitwise_not = _with_check(_unary("bitwise_not", doc="``~self`` (integers, bools)."),
                          _integral_only("bitwise_not"))


def _logical(name, combine):
    def decomp(self, other):
        a = bool(self) if self.__class__ in _NUMBERS else ne(self, 0)
        b = bool(other) if other.__class__ in _NUMBERS else ne(other, 0)
        return combine(a, b)
    return _binary(name, promotion="always_bool", tags=("composite",), decomposition=decomp,
                   doc=f"Elementwise logical {name[8:]} (nonzero is true); a bool result.")


logical_and = _logical("logical_and", lambda a, b: bitwise_and(a, b))
logical_or = _logical("logical_or", lambda a, b: bitwise_or(a, b))
logical_xor = _logical("logical_xor", lambda a, b: bitwise_xor(a, b))
logical_not = _unary("logical_not", promotion="always_bool", tags=("composite",),
                     decomposition=lambda self: eq(self, 0),
                     doc="Elementwise logical not (zero is false); a bool result.")
isnan = _unary("isnan", promotion="always_bool", tags=("composite",),
               decomposition=lambda self: ne(self, self), doc="Whether each element is NaN.")
def _parts(self, test, combine):
    # complex: by its parts (abs of a finite complex number may overflow to inf)
    from .complex_numbers import imag, real
    return combine(test(real(self)), test(imag(self)))


isinf = _unary("isinf", promotion="always_bool", tags=("composite",),
               decomposition=lambda self: _parts(self, isinf, bitwise_or) if
               self.dtype._kind == "c" else eq(abs(self), math.inf),
               doc="Whether each element is +inf or -inf.")
isfinite = _unary("isfinite", promotion="always_bool", tags=("composite",),
                  decomposition=lambda self: _parts(self, isfinite, bitwise_and) if
                  self.dtype._kind == "c" else lt(abs(self), math.inf) if
                  self.dtype._kind == "f" else eq(self, self),
                  doc="Whether each element is neither infinite nor NaN.")



def _isclose_meta(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    from ._rules import broadcast_shapes
    for name, v in (("rtol", rtol), ("atol", atol)):
        if not v >= 0:
            fail("isclose", f"{name} must be greater than or equal to zero, got {v}")
    a, b = getattr(self, "dtype", None), getattr(other, "dtype", None)
    if a is None or b is None:
        fail("isclose", f"self and other must be tensors (as in PyTorch), got "
                        f"{type(self if a is None else other).__name__}")
    if a is not b:
        fail("isclose", f"self and other must have the same dtype, got {a} and {b}")
    shape = broadcast_shapes(tuple(getattr(self, "shape", ())), tuple(getattr(other, "shape", ())),
                             op="isclose", names=("self", "other"))
    return Spec(shape, _dt.bool)


def _isclose_decomp(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    close = eq(self, other)  # exact matches, infinities of one sign included
    if equal_nan:
        close = logical_or(close, logical_and(isnan(self), isnan(other)))
    if self.dtype is _dt.bool or (rtol == 0 and atol == 0):
        return close
    err, bound = abs(sub(self, other)), abs(other)
    if self.dtype._kind not in "fc":  # integers: the error is exact, the bound a float
        err, bound = err.astype(_dt.float64), bound.astype(_dt.float64)
    # a finite error within atol + rtol * |other| (inf - inf is NaN: not close)
    within = logical_and(isfinite(err), le(err, add(mul(bound, rtol), atol)))
    return logical_or(close, within)


isclose = defop("isclose(Tensor self, Tensor other, float rtol=1e-05, float atol=1e-08, "
                "bool equal_nan=False) -> Tensor",
                tags=("composite", "pointwise"), meta=_isclose_meta,
                decomposition=_isclose_decomp,
                doc="Whether ``|self - other| <= atol + rtol * |other|`` elementwise "
                    "(``torch.isclose``); NaNs are close only with ``equal_nan``.")


def allclose(self, other, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> bool:
    """Whether every element of ``self`` is close to ``other``'s (``torch.allclose``)."""
    return bool(isclose(self, other, rtol, atol, equal_nan).all().item())


def equal(self, other) -> bool:
    """Whether the tensors have the same shape and elements (``torch.equal``; NaN is
    not equal to itself, dtypes are promoted)."""
    from ..tensor import Tensor
    for name, v in (("self", self), ("other", other)):
        if not isinstance(v, Tensor):
            raise TypeError(f"equal(): argument '{name}' must be Tensor, got "
                            f"{type(v).__name__}")
    if tuple(self.shape) != tuple(other.shape):
        return False
    return bool(eq(self, other).all().item())


# --- functions -------------------------------------------------------------------------------

exp = _unary("exp", promotion="int_to_float", doc="``e ** self``.")
exp2 = _unary("exp2", promotion="int_to_float", tags=("composite",),
              decomposition=lambda self: pow(2.0, self if self.dtype.is_floating_point
                                             else self.astype(_dt.get_default_dtype())),
              doc="``2 ** self``.")
expm1 = _unary("expm1", promotion="int_to_float", doc="``exp(self) - 1``, accurate near 0.")
log = _unary("log", promotion="int_to_float", doc="Natural logarithm.")
log2 = _unary("log2", promotion="int_to_float", doc="Base-2 logarithm.")
log10 = _unary("log10", promotion="int_to_float", doc="Base-10 logarithm.")
log1p = _unary("log1p", promotion="int_to_float", doc="``log(1 + self)``, accurate near 0.")
sqrt = _unary("sqrt", promotion="int_to_float", doc="Square root.")
rsqrt = _unary("rsqrt", promotion="int_to_float", tags=("composite",),
               decomposition=lambda self: true_divide(1, sqrt(self)), doc="``1 / sqrt(self)``.")
sin = _unary("sin", promotion="int_to_float", doc="Sine.")
cos = _unary("cos", promotion="int_to_float", doc="Cosine.")
tan = _unary("tan", promotion="int_to_float", doc="Tangent.")
tanh = _unary("tanh", promotion="int_to_float", doc="Hyperbolic tangent.")
sigmoid = _unary("sigmoid", promotion="int_to_float", doc="``1 / (1 + exp(-self))``, "
                                                          "computed without overflow.")
erf = _unary("erf", promotion="int_to_float", doc="The Gauss error function.")
floor = _unary("floor", doc="Round down (integers are returned unchanged).")
ceil = _unary("ceil", doc="Round up (integers are returned unchanged).")
trunc = _unary("trunc", doc="Round towards zero (integers are returned unchanged).")
sign = _unary("sign", doc="-1, 0 or 1 by the sign of each element (0 for NaN, as "
                                  "PyTorch).")
round = defop("round(Tensor self, *, int decimals=0) -> Tensor",
              tags=("primitive", "pointwise"), promotion="default",
              doc="Round half to even, to ``decimals`` decimal places.")


def _clamp_check(spec, self, min=None, max=None):
    if min is None and max is None:
        fail("clamp", "at least one of 'min' or 'max' must not be None")
    if spec.dtype is _dt.bool:
        fail("clamp", "clamp is not supported for bool tensors")
    _bounds_fit("clamp", spec, min, max)


def _bounds_fit(op, spec, *bounds):
    # A Python int bound beyond an integer tensor's dtype is refused, as PyTorch
    # (maximum(int8, 150) would wrap it to -106 and clamp everything there).
    for bound in bounds:
        if bound.__class__ is int:
            _dt.check_fits(op, bound, spec.dtype)


def _clamp_decomp(self, min=None, max=None):
    out = self
    if min is not None:
        out = maximum(out, min)
    if max is not None:
        out = minimum(out, max)
    return out


clamp = _with_check(defop("clamp(Tensor self, Tensor? min=None, Tensor? max=None) -> Tensor",
                          tags=("composite", "pointwise"), promotion="default",
                          decomposition=_clamp_decomp,
                          doc="Limit ``self`` to ``[min, max]`` (numbers or tensors; "
                              "where ``min > max`` the result is ``max``)."), _clamp_check)
clamp_min = _with_check(
    _binary("clamp_min", tags=("composite",), decomposition=lambda s, o: maximum(s, o),
            doc="``clamp(self, min=other)``."),
    lambda spec, self, other: _bounds_fit("clamp_min", spec, other))
clamp_max = _with_check(
    _binary("clamp_max", tags=("composite",), decomposition=lambda s, o: minimum(s, o),
            doc="``clamp(self, max=other)``."),
    lambda spec, self, other: _bounds_fit("clamp_max", spec, other))


def _where_check(spec, condition, self, other):
    if condition.__class__ in _NUMBERS or condition.dtype is not _dt.bool:
        fail("where", f"expected argument 'condition' to be a bool tensor, got "
                      f"{_dtype_of(condition)}")


where = _with_check(defop("where(Tensor condition, Tensor self, Tensor other) -> Tensor",
                          tags=("primitive", "pointwise"), promotion="default", method=False,
                          doc="``self`` where ``condition`` else ``other`` (broadcasting; "
                              "``self``/``other`` may be numbers)."), _where_check)
where.op.refuse_out_of_range_numbers = ("self", "other")  # where(c, int8, 300) raises

# --- in place ----------------------------------------------------------------------------------

add_ = _inplace("add")
sub_ = _inplace("sub")
mul_ = _inplace("mul")
div_ = _inplace("div")
true_divide_ = _inplace("true_divide")
floor_divide_ = _inplace("floor_divide")
remainder_ = _inplace("remainder")
pow_ = _inplace("pow")
neg_ = _inplace("neg")
abs_ = _inplace("abs", meta=_abs_inplace_meta)
reciprocal_ = _inplace("reciprocal")
square_ = _inplace("square")
exp_ = _inplace("exp")
log_ = _inplace("log")
sqrt_ = _inplace("sqrt")
rsqrt_ = _inplace("rsqrt")
sin_ = _inplace("sin")
cos_ = _inplace("cos")
tanh_ = _inplace("tanh")
sigmoid_ = _inplace("sigmoid")
floor_ = _inplace("floor")
ceil_ = _inplace("ceil")
round_ = _inplace("round")
trunc_ = _inplace("trunc")
sign_ = _inplace("sign")
clamp_ = _inplace("clamp")
clamp_min_ = _inplace("clamp_min")
clamp_max_ = _inplace("clamp_max")
bitwise_and_ = _inplace("bitwise_and")
bitwise_or_ = _inplace("bitwise_or")
bitwise_xor_ = _inplace("bitwise_xor")
bitwise_not_ = _inplace("bitwise_not")
addcmul_ = _inplace("addcmul")
addcdiv_ = _inplace("addcdiv")
lerp_ = _inplace("lerp")


def _logical_not_inplace_meta(self):
    return Spec(tuple(self.shape), self.dtype)


logical_not_ = defop("logical_not_(Tensor(a!) self) -> Tensor(a!)", tags=("inplace",),
                     meta=_logical_not_inplace_meta, inplace_of="logical_not",
                     decomposition=lambda self: self.copy_(logical_not(self)),
                     doc="In-place ``logical_not`` (the result is cast to ``self.dtype``).")


def _fill_meta(self, value):
    _dt.check_fits("fill_", value, self.dtype)
    return Spec(tuple(self.shape), self.dtype)


def _fill_decomp(self, value):
    from .conversion import copy_
    from .creation import full
    return copy_(self, full((), value, dtype=self.dtype, device=self.device))


fill_ = defop("fill_(Tensor(a!) self, Scalar value) -> Tensor(a!)",
              tags=("composite", "inplace"), meta=_fill_meta, decomposition=_fill_decomp,
              doc="Fill ``self`` with ``value`` (cast to ``self.dtype``).")
zero_ = defop("zero_(Tensor(a!) self) -> Tensor(a!)", tags=("composite", "inplace"),
              meta=lambda self: Spec(tuple(self.shape), self.dtype),
              decomposition=lambda self: fill_(self, 0), doc="Fill ``self`` with zeros.")


# --- derivatives ---
# Beside the schemas above; see ember.autograd.rules for the conventions (one formula
# per tensor input; broadcasting and dtype are undone by the engine).

from ..autograd.rules import derivative, zeros_like  # noqa: E402

_LN2, _LN10 = math.log(2.0), math.log(10.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _scaled(g, alpha):
    return g if alpha == 1 else mul(g, alpha)


def conj_if_complex(x):
    """``conj(x)`` for complex tensors and numbers, ``x`` itself otherwise.

    PyTorch's gradients for complex inputs are conjugate Wirtinger derivatives: a
    holomorphic ``f`` passes ``grad * conj(f'(z))`` back.  Formulas wrap ``f'`` in this,
    which costs real tensors one dtype test."""
    if x.__class__ in _NUMBERS:
        return x.conjugate() if x.__class__ is complex else x
    if x._data.dtype.kind != "c":
        return x
    from ..schema import registry
    return registry["conj_physical"].fn(x)


_cj = conj_if_complex


def _zero_grad(g, *args, **kw):
    return zeros_like(g)


derivative(add, self=lambda g, self, other, alpha=1: g,
           other=lambda g, self, other, alpha=1: _scaled(g, alpha))
derivative(sub, self=lambda g, self, other, alpha=1: g,
           other=lambda g, self, other, alpha=1: neg(_scaled(g, alpha)))
derivative(mul, save=("self", "other"), uses={"self": ("other",), "other": ("self",)},
           self=lambda g, self, other: mul(g, _cj(other)),
           other=lambda g, self, other: mul(g, _cj(self)))
derivative(true_divide, save=("self", "other"),
           uses={"self": ("other",), "other": ("self", "other")},
           self=lambda g, self, other: true_divide(g, _cj(other)),
           other=lambda g, self, other: neg(true_divide(mul(g, _cj(self)),
                                                        _cj(mul(other, other)))))
derivative(floor_divide, self=_zero_grad, other=_zero_grad)
derivative(remainder, save=("self", "other"),
           self=lambda g, self, other: g,
           other=lambda g, self, other: mul(neg(g), floor_divide(self, other)))
derivative(fmod, save=("self", "other"),
           self=lambda g, self, other: g,
           other=lambda g, self, other: mul(neg(g), trunc(true_divide(self, other))))


def _pow_self(g, self, other, result=None):
    if other.__class__ in _NUMBERS:
        if other == 0:
            return zeros_like(g)
        return mul(g, _cj(mul(pow(self, other - 1), other)))
    return where(eq(other, 0), 0.0, mul(g, _cj(mul(other, pow(self, sub(other, 1))))))


def _pow_other(g, self, other, result=None):
    if self.__class__ in _NUMBERS:
        if self == 0:
            return where(ge(other, 0), 0.0, mul(g, mul(result, -math.inf)))
        return mul(g, mul(result, math.log(self)))
    # d/dy x**y = x**y log x, taken as 0 where x == 0 and y >= 0 (PyTorch's convention)
    return mul(g, where(logical_and(eq(self, 0), ge(other, 0)), 0.0, mul(result, log(self))))


derivative(pow, save=("self", "other", "result"), self=_pow_self, other=_pow_other)


def _minmax_grad(pick):
    """Gradient of maximum/minimum for the input that wins where ``pick`` holds; ties
    split the gradient evenly (as PyTorch)."""
    def formula(g, self, other):
        return where(eq(self, other), true_divide(g, 2), where(pick(self, other), g, 0.0))
    return formula


derivative(maximum, save=("self", "other"),
           self=_minmax_grad(gt), other=lambda g, self, other: _minmax_grad(gt)(g, other, self))
derivative(minimum, save=("self", "other"),
           self=_minmax_grad(lt), other=lambda g, self, other: _minmax_grad(lt)(g, other, self))


def _atan2_denominator(self, other):
    # (either operand may be a Python number: atan2(x, -1.5))
    return add(self * self, other * other)


derivative(atan2, save=("self", "other"),
           self=lambda g, self, other: true_divide(mul(g, other), _atan2_denominator(self, other)),
           other=lambda g, self, other: true_divide(mul(neg(g), self),
                                                    _atan2_denominator(self, other)))
derivative(neg, self=lambda g, self: neg(g))
def _abs_backward(g, self):
    if self._data.dtype.kind == "c":  # g * self / |self| (0 at 0), as PyTorch's sgn
        from ..schema import registry
        return mul(g, registry["sgn"].fn(self))
    return mul(g, sign(self))


derivative(abs, save="self", self=_abs_backward)
derivative(exp, save="result", self=lambda g, self, result: mul(g, _cj(result)))
derivative(exp2, save="result", self=lambda g, self, result: mul(g, _cj(mul(result, _LN2))))
derivative(expm1, save="result", self=lambda g, self, result: mul(g, _cj(add(result, 1))))
derivative(log, save="self", self=lambda g, self: true_divide(g, _cj(self)))
derivative(log2, save="self", self=lambda g, self: true_divide(g, _cj(mul(self, _LN2))))
derivative(log10, save="self", self=lambda g, self: true_divide(g, _cj(mul(self, _LN10))))
derivative(log1p, save="self", self=lambda g, self: true_divide(g, _cj(add(self, 1))))
derivative(sqrt, save="result",
           self=lambda g, self, result: true_divide(g, _cj(mul(result, 2))))
derivative(sin, save="self", self=lambda g, self: mul(g, _cj(cos(self))))
derivative(cos, save="self", self=lambda g, self: mul(neg(g), _cj(sin(self))))
derivative(tan, save="result",
           self=lambda g, self, result: mul(g, _cj(add(mul(result, result), 1))))
derivative(tanh, save="result",
           self=lambda g, self, result: mul(g, _cj(sub(1, mul(result, result)))))
derivative(sigmoid, save="result",
           self=lambda g, self, result: mul(g, _cj(mul(result, sub(1, result)))))
derivative(erf, save="self",
           self=lambda g, self: mul(g, mul(exp(neg(mul(self, self))), _TWO_OVER_SQRT_PI)))
for _op_fn in (floor, ceil, trunc, sign, round):
    derivative(_op_fn, self=_zero_grad)
derivative(where, save="condition",
           self=lambda g, condition, self, other: where(condition, g, 0.0),
           other=lambda g, condition, self, other: where(condition, 0.0, g))
derivative(fill_, self=None)

from ..schema import registry as _registry  # noqa: E402
from ._rules import mark_real_only  # noqa: E402

mark_real_only(_registry)


# clamp passes the gradient on at the bounds themselves (PyTorch's convention), which
# its maximum/minimum decomposition would split in two: it has its own derivative.
def _within(self, lo, hi):
    keep = None
    if lo is not None:
        keep = ge(self, lo)
    if hi is not None:
        below = le(self, hi)
        keep = below if keep is None else logical_and(keep, below)
    return keep


derivative(clamp, save=("self", "min", "max"),
           self=lambda g, self, min=None, max=None: where(_within(self, min, max), g, 0.0),
           min=lambda g, self, min=None, max=None: where(
               logical_and(lt(self, min), lt(min, max)) if max is not None else
               lt(self, min), g, 0.0),
           max=lambda g, self, min=None, max=None: where(
               logical_or(gt(self, max), gt(min, max)) if min is not None else
               gt(self, max), g, 0.0))
derivative(clamp_min, save=("self", "other"),
           self=lambda g, self, other: where(ge(self, other), g, 0.0),
           other=lambda g, self, other: where(lt(self, other), g, 0.0))
derivative(clamp_max, save=("self", "other"),
           self=lambda g, self, other: where(le(self, other), g, 0.0),
           other=lambda g, self, other: where(gt(self, other), g, 0.0))
