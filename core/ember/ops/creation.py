"""Factory functions: tensors from shapes, ranges and random numbers.

Primitives: ``full``, ``arange``, ``rand``, ``randn``, ``randint``, ``randperm``.
``zeros``/``ones``/``empty``, every ``*_like``, ``eye``, ``linspace`` and the in-place
random fills decompose into them.
"""

from __future__ import annotations

import math

from .. import dtypes as _dt
from ..schema import Spec, defop
from ._rules import fail

__all__ = ["zeros", "ones", "empty", "full", "arange", "rand", "randn", "randint",
           "randperm", "linspace", "eye", "zeros_like", "ones_like", "empty_like",
           "full_like", "rand_like", "randn_like", "randint_like", "uniform_", "normal_",
           "bernoulli", "bernoulli_"]

_FACTORY_KW = "*, ScalarType? dtype=None, Device? device=None, bool requires_grad=False"
_LIKE_KW = _FACTORY_KW


def _check_size(op, size):
    for s in size:
        if s < 0:
            fail(op, f"argument 'size' must not contain negative sizes, got {list(size)}")


def _size_meta(op):
    def meta(size, dtype=None, device=None, requires_grad=False):
        _check_size(op, size)
        return Spec(tuple(size), dtype or _dt.get_default_dtype())
    return meta


def _full_meta(size, fill_value, dtype=None, device=None, requires_grad=False):
    _check_size("full", size)
    if dtype is None:
        dtype = _dt.result_type(fill_value)
    else:
        _dt.check_fits("full", fill_value, dtype)
    return Spec(tuple(size), dtype)


full = defop(f"full(int[] size, Scalar fill_value, {_FACTORY_KW}) -> Tensor",
             tags=("primitive", "creation"), meta=_full_meta,
             doc="A tensor of the given size filled with ``fill_value``; its dtype "
                 "follows the value (bool, int64 or the default float) unless given.")


def _filled(name, value, doc):
    def decomp(size, dtype=None, device=None, requires_grad=False):
        return full(size, value, dtype=dtype or _dt.get_default_dtype(), device=device,
                    requires_grad=requires_grad)
    return defop(f"{name}(int[] *size, {_FACTORY_KW}) -> Tensor",
                 tags=("composite", "creation"), meta=_size_meta(name),
                 decomposition=decomp, doc=doc)


zeros = _filled("zeros", 0, "A tensor of zeros of the given size.")
ones = _filled("ones", 1, "A tensor of ones of the given size.")
empty = _filled("empty", 0, "An uninitialised tensor of the given size (backends without "
                            "an ``empty`` kernel fill it with zeros).")


def _arange_meta(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    if end is None:
        start, end = 0, start
    for name, v in (("start", start), ("end", end), ("step", step)):
        if v.__class__ is float and not math.isfinite(v):
            fail("arange", f"argument '{name}' must be finite, got {v}")
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


def _linspace_meta(start, end, steps, dtype=None, device=None, requires_grad=False):
    if steps < 0:
        fail("linspace", f"argument 'steps' must be non-negative, got {steps}")
    return Spec((steps,), dtype or _dt.get_default_dtype())


def _linspace_decomp(start, end, steps, dtype=None, device=None, requires_grad=False):
    from .pointwise import where
    dtype = dtype or _dt.get_default_dtype()
    if steps <= 1:
        return full((steps,), start, dtype=dtype, device=device, requires_grad=requires_grad)
    step = (end - start) / (steps - 1)
    i = arange(steps, dtype=_dt.float64, device=device)
    # As PyTorch: the first half counts up from start, the second half down from end,
    # so both ends are exact.
    vals = where(i < steps // 2, i * step + start, (i - (steps - 1)) * step + end)
    out = vals.astype(dtype)
    return out.requires_grad_(True) if requires_grad else out


linspace = defop(f"linspace(Scalar start, Scalar end, int steps, {_FACTORY_KW}) -> Tensor",
                 tags=("composite", "creation"), meta=_linspace_meta,
                 decomposition=_linspace_decomp,
                 doc="``steps`` evenly spaced values from ``start`` to ``end`` inclusive.")


def _eye_meta(n, m=None, dtype=None, device=None, requires_grad=False):
    m = n if m is None else m
    if n < 0 or m < 0:
        fail("eye", f"arguments 'n' and 'm' must be non-negative, got n={n}, m={m}")
    return Spec((n, m), dtype or _dt.get_default_dtype())


def _eye_decomp(n, m=None, dtype=None, device=None, requires_grad=False):
    m = n if m is None else m
    rows = arange(n, device=device).reshape(n, 1)
    out = (rows == arange(m, device=device)).astype(dtype or _dt.get_default_dtype())
    return out.requires_grad_(True) if requires_grad else out


eye = defop(f"eye(int n, int? m=None, {_FACTORY_KW}) -> Tensor",
            tags=("composite", "creation"), meta=_eye_meta, decomposition=_eye_decomp,
            doc="A 2-D tensor with ones on the diagonal and zeros elsewhere.")


# --- random -------------------------------------------------------------------------------

def _rand_meta(op):
    def meta(size, generator=None, dtype=None, device=None, requires_grad=False):
        _check_size(op, size)
        d = dtype or _dt.get_default_dtype()
        if d._kind not in "fc":
            fail(op, f"expected a floating or complex dtype, got {d}")
        return Spec(tuple(size), d)
    return meta


rand = defop(f"rand(int[] *size, Generator? generator=None, {_FACTORY_KW}) -> Tensor",
             tags=("primitive", "creation", "random"), meta=_rand_meta("rand"),
             doc="Uniform random numbers in [0, 1).")
randn = defop(f"randn(int[] *size, Generator? generator=None, {_FACTORY_KW}) -> Tensor",
              tags=("primitive", "creation", "random"), meta=_rand_meta("randn"),
              doc="Standard normal random numbers.")


def _randint_meta(low, high, size, generator=None, dtype=None, device=None,
                  requires_grad=False):
    _check_size("randint", size)
    if high <= low:
        fail("randint", f"random_ expects 'from' to be less than 'to', but got "
                        f"from={low} >= to={high}")
    d = dtype or _dt.int64
    if d is _dt.bool:
        fail("randint", "argument 'dtype' must not be bool")
    if d._kind == "i":
        info = _dt.iinfo(d)
        if low < info.min or high - 1 > info.max:
            fail("randint", f"range [{low}, {high}) does not fit dtype {d}")
    return Spec(tuple(size), d)


_randint = defop("randint(int low, int high, int[] size, *, Generator? generator=None, "
                 "ScalarType? dtype=None, Device? device=None, bool requires_grad=False) "
                 "-> Tensor", tags=("primitive", "creation", "random"), meta=_randint_meta,
                 doc="Uniform random integers in ``[low, high)`` (int64 unless ``dtype``).")


def randint(low=0, high=None, size=None, *, generator=None, dtype=None, device=None,
            requires_grad=False):
    """``randint(high, size)`` or ``randint(low, high, size)``: uniform random integers
    in ``[low, high)`` (int64 unless ``dtype`` is given)."""
    if size is None:
        if high is None:
            raise TypeError("randint(): missing argument 'size'")
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    return _randint(low, high, size, generator=generator, dtype=dtype, device=device,
                    requires_grad=requires_grad)


randint.op = _randint.op


def _randperm_meta(n, generator=None, dtype=None, device=None, requires_grad=False):
    if n < 0:
        fail("randperm", f"argument 'n' must be non-negative, got {n}")
    return Spec((n,), dtype or _dt.int64)


def _randperm_decomp(n, generator=None, dtype=None, device=None, requires_grad=False):
    from .indexing import argsort
    keys = rand(n, generator=generator, dtype=_dt.float64, device=device)
    return argsort(keys).astype(dtype or _dt.int64)


randperm = defop("randperm(int n, *, Generator? generator=None, ScalarType? dtype=None, "
                 "Device? device=None, bool requires_grad=False) -> Tensor",
                 tags=("composite", "creation", "random"), meta=_randperm_meta,
                 decomposition=_randperm_decomp,
                 doc="A random permutation of ``0 .. n-1`` (int64 unless ``dtype``).")


# --- *_like ---------------------------------------------------------------------------------

def _like_meta(op, value_arg=False):
    def meta(self, *rest):
        if value_arg:
            rest = rest[1:]
        dtype = rest[0] if rest else None
        return Spec(tuple(self.shape), dtype or self.dtype)
    return meta


def _like(name, make, doc):
    def decomp(self, dtype=None, device=None, requires_grad=False):
        return make(tuple(self.shape), dtype=dtype or self.dtype, device=device or self.device,
                    requires_grad=requires_grad)
    return defop(f"{name}(Tensor self, {_LIKE_KW}) -> Tensor",
                 tags=("composite", "creation"), meta=_like_meta(name), decomposition=decomp,
                 method=False, doc=doc)


zeros_like = _like("zeros_like", zeros, "Zeros of ``self``'s shape (and dtype, device).")
ones_like = _like("ones_like", ones, "Ones of ``self``'s shape (and dtype, device).")
empty_like = _like("empty_like", empty, "An uninitialised tensor like ``self``.")
rand_like = defop("rand_like(Tensor self, *, Generator? generator=None, ScalarType? "
                  "dtype=None, Device? device=None, bool requires_grad=False) -> Tensor",
                  tags=("composite", "creation", "random"),
                  meta=lambda self, g=None, dtype=None, *r:
                      _rand_meta("rand_like")(tuple(self.shape), None, dtype or self.dtype),
                  decomposition=lambda self, generator=None, dtype=None, device=None,
                  requires_grad=False: rand(tuple(self.shape), generator=generator,
                                            dtype=dtype or self.dtype,
                                            device=device or self.device,
                                            requires_grad=requires_grad),
                  method=False, doc="Uniform [0, 1) random numbers like ``self``.")
randn_like = defop("randn_like(Tensor self, *, Generator? generator=None, ScalarType? "
                   "dtype=None, Device? device=None, bool requires_grad=False) -> Tensor",
                   tags=("composite", "creation", "random"),
                   meta=lambda self, g=None, dtype=None, *r:
                       _rand_meta("randn_like")(tuple(self.shape), None, dtype or self.dtype),
                   decomposition=lambda self, generator=None, dtype=None, device=None,
                   requires_grad=False: randn(tuple(self.shape), generator=generator,
                                              dtype=dtype or self.dtype,
                                              device=device or self.device,
                                              requires_grad=requires_grad),
                   method=False, doc="Standard normal random numbers like ``self``.")


def _full_like_decomp(self, fill_value, dtype=None, device=None, requires_grad=False):
    return full(tuple(self.shape), fill_value, dtype=dtype or self.dtype,
                device=device or self.device, requires_grad=requires_grad)


full_like = defop(f"full_like(Tensor self, Scalar fill_value, {_LIKE_KW}) -> Tensor",
                  tags=("composite", "creation"),
                  meta=lambda self, v, dtype=None, *r:
                      _full_meta(tuple(self.shape), v, dtype or self.dtype),
                  decomposition=_full_like_decomp, method=False,
                  doc="``self``'s shape filled with ``fill_value`` (``self``'s dtype).")


def _randint_like_decomp(self, low, high=None, generator=None, dtype=None, device=None,
                         requires_grad=False):
    if high is None:
        low, high = 0, low
    return _randint(low, high, tuple(self.shape), generator=generator,
                    dtype=dtype or self.dtype, device=device or self.device,
                    requires_grad=requires_grad)


def _randint_like_meta(self, low, high=None, generator=None, dtype=None, *rest):
    if high is None:
        low, high = 0, low
    return _randint_meta(low, high, tuple(self.shape), None, dtype or self.dtype)


randint_like = defop("randint_like(Tensor self, int low, int? high=None, *, Generator? "
                     "generator=None, ScalarType? dtype=None, Device? device=None, "
                     "bool requires_grad=False) -> Tensor",
                     tags=("composite", "creation", "random"), meta=_randint_like_meta,
                     decomposition=_randint_like_decomp, method=False,
                     doc="Random integers in ``[low, high)`` (or ``[0, low)``) like ``self``.")


# --- in-place random fills (nn.init uses them) ---------------------------------------------

def _float_inplace_meta(op):
    def meta(self, *rest):
        if not self.dtype.is_floating_point:
            fail(op, f"expected a floating point tensor, got {self.dtype}")
        return Spec(tuple(self.shape), self.dtype)
    return meta


def _uniform_decomp(self, low=0.0, high=1.0, generator=None):
    r = rand(tuple(self.shape), generator=generator, dtype=self.dtype, device=self.device)
    return self.copy_(r * (high - low) + low)


def _uniform_meta(self, low=0.0, high=1.0, generator=None):
    if not low <= high:
        fail("uniform_", f"expects to return a [low, high) range, but found low={low} > "
                         f"high={high}")
    return _float_inplace_meta("uniform_")(self)


uniform_ = defop("uniform_(Tensor(a!) self, float low=0, float high=1, *, Generator? "
                 "generator=None) -> Tensor(a!)", tags=("composite", "inplace", "random"),
                 meta=_uniform_meta, decomposition=_uniform_decomp,
                 doc="Fill ``self`` with uniform random numbers in ``[low, high)`` "
                     "(PyTorch names these ``from`` and ``to``).")


def _normal_decomp(self, mean=0.0, std=1.0, generator=None):
    if std < 0:
        fail("normal_", f"argument 'std' must be non-negative, got {std}")
    r = randn(tuple(self.shape), generator=generator, dtype=self.dtype, device=self.device)
    return self.copy_(r * std + mean)


normal_ = defop("normal_(Tensor(a!) self, float mean=0, float std=1, *, Generator? "
                "generator=None) -> Tensor(a!)", tags=("composite", "inplace", "random"),
                meta=_float_inplace_meta("normal_"), decomposition=_normal_decomp,
                doc="Fill ``self`` with normal random numbers of ``mean`` and ``std``.")


def _bernoulli_meta(self, p=None, generator=None):
    if not self.dtype.is_floating_point:
        fail("bernoulli", f"expected a floating point tensor of probabilities, got "
                          f"{self.dtype}")
    if p is not None and not 0 <= p <= 1:
        fail("bernoulli", f"argument 'p' must be in [0, 1], got {p}")
    return Spec(tuple(self.shape), self.dtype)


def _bernoulli_values(spec, self, p=None, generator=None):
    """Value rule: probabilities in [0, 1] (NaN is not), as PyTorch checks."""
    if p is None and not ((self >= 0) & (self <= 1)).all().item():
        fail("bernoulli", "all elements of argument 'self' (the probabilities) should be "
                          "between 0 and 1")


def _bernoulli_p_meta(self, p=0.5, generator=None):
    if not 0 <= p <= 1:
        fail("bernoulli_", f"argument 'p' must be in [0, 1], got {p}")
    return _float_inplace_meta("bernoulli_")(self)


def _bernoulli_decomp(self, p=None, generator=None):
    r = rand(tuple(self.shape), generator=generator, dtype=self.dtype, device=self.device)
    return (r < (self if p is None else p)).astype(self.dtype)


bernoulli = defop("bernoulli(Tensor self, float? p=None, *, Generator? generator=None) "
                  "-> Tensor", tags=("composite", "random"), meta=_bernoulli_meta,
                  decomposition=_bernoulli_decomp, values=_bernoulli_values,
                  doc="0/1 draws with probability ``self`` (or ``p``) of a 1.")
bernoulli_ = defop("bernoulli_(Tensor(a!) self, float p=0.5, *, Generator? generator=None) "
                   "-> Tensor(a!)", tags=("composite", "inplace", "random"),
                   meta=_bernoulli_p_meta,
                   decomposition=lambda self, p=0.5, generator=None:
                       self.copy_(_bernoulli_decomp(self, p, generator)),
                   doc="Fill ``self`` with 0/1 draws that are 1 with probability ``p``.")
