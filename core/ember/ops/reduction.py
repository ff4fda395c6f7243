"""Reductions over ``dim`` (an int, a list of ints, or ``None`` for all) with
``keepdim``, and scans (``cumsum``).

Primitives: ``sum``, ``prod``, ``amax``, ``amin``, ``argmax``, ``argmin``, ``cumsum``,
``cumprod``.  ``mean``, ``var``, ``std``, ``logsumexp``, ``all``, ``any``, ``max``/``min``
(values and indices) decompose into them; ``logcumsumexp`` into pointwise ops and slices.
"""

from __future__ import annotations

import collections
import math

from .. import dtypes as _dt
from ..schema import Spec, defop
from ._rules import fail, reduce_dims, reduction_meta, refuse_complex, wrap_dim
from .pointwise import maximum, minimum, sqrt

__all__ = ["sum", "mean", "prod", "amax", "amin", "argmax", "argmin", "max", "min",
           "var", "std", "var_mean", "std_mean", "logsumexp", "all", "any",
           "count_nonzero", "cumsum", "cumprod", "logcumsumexp"]

_builtin_max = max


def _sum_dtype(self, dtype=None):
    if dtype is not None:
        return dtype
    return _dt.int64 if self.dtype._kind in "bi" else self.dtype


sum = defop("sum(Tensor self, int[]? dim=None, bool keepdim=False, *, ScalarType? dtype=None)"
            " -> Tensor", tags=("primitive", "reduction"),
            meta=reduction_meta("sum", _sum_dtype),
            doc="Sum over ``dim`` (all dims by default); integers and bools sum as int64.")
prod = defop("prod(Tensor self, int? dim=None, bool keepdim=False, *, ScalarType? dtype=None)"
             " -> Tensor", tags=("primitive", "reduction"),
             meta=reduction_meta("prod", _sum_dtype),
             doc="Product over ``dim`` (all by default); integers and bools as int64.")


def _mean_dtype(self, dtype=None):
    d = dtype or self.dtype
    if d._kind not in "fc":
        fail("mean", f"could not infer output dtype: input dtype should be floating "
                     f"point, but got {self.dtype} (pass dtype=)")
    return d


def _count(self, dim):
    shape = tuple(self.shape)
    return math.prod(shape[d] for d in reduce_dims(dim, len(shape), "count"))


def _half(d) -> bool:
    """float16/bfloat16: their means and variances accumulate in float32 and round once,
    as PyTorch's (a float16 sum of five 65504s overflows; their mean does not)."""
    return d is _dt.float16 or d is _dt.bfloat16


def _mean_decomp(self, dim=None, keepdim=False, dtype=None):
    if dtype is None and _half(self.dtype):
        return _mean_decomp(self, dim, keepdim, _dt.float32).astype(self.dtype)
    n = _count(self, dim)
    s = sum(self, dim, keepdim, dtype=dtype)
    return s / n if n else s * float("nan")


mean = defop("mean(Tensor self, int[]? dim=None, bool keepdim=False, *, ScalarType? dtype=None)"
             " -> Tensor", tags=("composite", "reduction"),
             meta=reduction_meta("mean", _mean_dtype), decomposition=_mean_decomp,
             doc="Arithmetic mean over ``dim``.")


def _nonempty(op, what="dim"):
    """Reductions without an identity (max, argmax) reject empty reduced dims."""
    base = reduction_meta(op)

    def meta(self, dim=None, keepdim=False, *rest):
        refuse_complex(op, self.dtype)  # (no order)
        shape = tuple(self.shape)
        if dim is None or dim == ():
            if math.prod(shape) == 0:
                fail(op, f"expected reduction dim to be specified for input.numel() == 0 "
                         f"(got an empty tensor of shape {list(shape)})")
        else:
            for d in reduce_dims(dim, len(shape), op):
                if shape and shape[d] == 0:
                    raise IndexError(f"{op}(): expected reduction dim {d} to have "
                                     f"non-zero size")
        spec = base(self, dim, keepdim)
        if op.startswith("arg"):
            if dim is None and keepdim:
                return Spec((1,) * len(shape), _dt.int64)
            return Spec(spec.shape, _dt.int64)
        return spec
    return meta


amax = defop("amax(Tensor self, int[] dim=[], bool keepdim=False) -> Tensor",
             tags=("primitive", "reduction"), meta=_nonempty("amax"),
             doc="Maximum over ``dim`` (all dims by default); NaN propagates.")
amin = defop("amin(Tensor self, int[] dim=[], bool keepdim=False) -> Tensor",
             tags=("primitive", "reduction"), meta=_nonempty("amin"),
             doc="Minimum over ``dim`` (all dims by default); NaN propagates.")
argmax = defop("argmax(Tensor self, int? dim=None, bool keepdim=False) -> Tensor",
               tags=("primitive", "reduction"), meta=_nonempty("argmax"),
               doc="Index of the (first) maximum along ``dim``, or in the flattened "
                   "tensor when ``dim`` is None; int64.")
argmin = defop("argmin(Tensor self, int? dim=None, bool keepdim=False) -> Tensor",
               tags=("primitive", "reduction"), meta=_nonempty("argmin"),
               doc="Index of the (first) minimum along ``dim``, or in the flattened "
                   "tensor when ``dim`` is None; int64.")

#: What ``max(dim=…)``, ``min(dim=…)``, ``sort`` and ``topk`` return (a named tuple of
#: ``values`` and ``indices``, as ``torch.return_types``).
ValuesIndices = collections.namedtuple("ValuesIndices", ["values", "indices"])


def _extreme(name, reduce, arg):
    def meta(self, dim=None, keepdim=False):
        if dim is None:
            if keepdim:
                fail(name, "argument 'keepdim' needs argument 'dim'")
            return _nonempty(name)(self)
        return (_nonempty(name)(self, dim, keepdim),
                _nonempty(arg.op.name)(self, dim, keepdim))

    def decomp(self, dim=None, keepdim=False):
        if dim is None:
            return reduce(self)
        return ValuesIndices(reduce(self, dim, keepdim), arg(self, dim, keepdim))
    return meta, decomp


_max_meta, _max_decomp = _extreme("max", amax, argmax)
_min_meta, _min_decomp = _extreme("min", amin, argmin)
max = defop("max(Tensor self, int? dim=None, bool keepdim=False) -> Any",
            tags=("composite", "reduction"), meta=_max_meta, decomposition=_max_decomp,
            doc="The maximum of all elements, or ``(values, indices)`` along ``dim``.  "
                "``ember.max(a, b)`` (two tensors) is ``maximum``.")
min = defop("min(Tensor self, int? dim=None, bool keepdim=False) -> Any",
            tags=("composite", "reduction"), meta=_min_meta, decomposition=_min_decomp,
            doc="The minimum of all elements, or ``(values, indices)`` along ``dim``.  "
                "``ember.min(a, b)`` (two tensors) is ``minimum``.")


def _overloaded(fn, binary):
    """``max(self, dim=None, keepdim=False)`` that is ``binary(self, other)`` when the
    second argument is a tensor (PyTorch's ``max(input, other)`` overload)."""
    from ..tensor import Tensor

    def f(self, dim=None, keepdim=False, *, other=None):
        if other is not None or isinstance(dim, Tensor):
            return binary(self, dim if other is None else other)
        return fn(self, dim, keepdim)
    f.__name__ = f.__qualname__ = fn.__name__
    f.__doc__ = fn.__doc__
    f.op = fn.op
    return f


max = _overloaded(max, maximum)
min = _overloaded(min, minimum)


def _correction(op, unbiased, correction):
    if unbiased is not None and correction is not None:
        fail(op, "pass only one of 'unbiased' and 'correction'")
    if correction is not None:
        return correction
    return 1 if unbiased is None or unbiased else 0


def _var_meta(op):
    base = reduction_meta(op)

    def meta(self, dim=None, unbiased=None, keepdim=False, correction=None):
        _correction(op, unbiased, correction)
        if not (self.dtype.is_floating_point or self.dtype.is_complex):
            fail(op, f"expected a floating point or complex tensor as input, got "
                     f"{self.dtype}")
        spec = base(self, dim, keepdim)
        # the spread of complex values is real (the mean of |x - mean|^2), as PyTorch
        moment = Spec(spec.shape, _dt.to_real(spec.dtype))
        if op.endswith("_mean"):
            return moment, spec
        return moment
    return meta


def deviations(x, dim=None):
    """``(x - mean(x), mean(x))`` over ``dim`` (the mean with the reduced dims kept), both
    computed about the first element of each slice: ``mean(x - x0) + x0``.

    Why: a float mean is inexact (the sum of seven 2e20 is rounded), and ``x - mean``
    of a constant slice is then a nonzero constant whose variance normalises it to
    -1 or 1, where PyTorch's Welford gives 0.  About ``x0`` a constant slice is exactly
    0, and elsewhere this is the ordinary two-pass (numerically stable) algorithm on the
    shifted data.  ``x0`` is detached: the result does not depend on it."""
    dims = reduce_dims(tuple(dim) if isinstance(dim, list) else dim, x.ndim, "mean")
    if dims and 0 not in [x.shape[d] for d in dims]:
        x0 = x[tuple(slice(0, 1) if i in dims else slice(None) for i in range(x.ndim))]
        x = x - x0.detach()
    else:
        x0 = None
    m = mean(x, dims, True)
    return x - m, (m if x0 is None else m + x0.detach())


def _magnitude(self, dim):
    """The largest magnitude over ``dim`` (kept), 1 where it is 0.

    Moments are computed on ``self / magnitude`` and scaled back: the squares of values
    above sqrt(float32 max) ~ 1.8e19 would overflow, though their variance (up to the
    dtype's max) and deviation are finite (PyTorch accumulates in a wider type; a scale
    works in every dtype on every backend).  NaN and inf still give NaN, as in PyTorch.
    Detached: the moments are homogeneous in the scale, so their gradient does not
    depend on it (and through it, m * m underflowing would give 0 * inf = NaN)."""
    from .pointwise import where
    m = amax(self.detach().abs(), () if dim is None else dim, True)
    return where(m > 0, m, 1.0)


def _var_unscaled(self, dim, unbiased, keepdim, correction):
    c = _correction("var", unbiased, correction)
    n = _count(self, dim)
    d, _ = deviations(self, dim)
    if d.dtype.is_complex:  # |d|^2, real
        from .complex_numbers import imag, real
        d_re, d_im = real(d), imag(d)
        ss = sum(d_re * d_re + d_im * d_im, dim, keepdim)
    else:
        ss = sum(d * d, dim, keepdim)
    # As PyTorch: n - correction <= 0 gives inf or nan (and no error).
    return ss / _builtin_max(n - c, 0) if n - c > 0 else ss * math.inf


def _var_decomp(self, dim=None, unbiased=None, keepdim=False, correction=None):
    if _half(self.dtype):  # (one float32 copy of the input: linear)
        return _var_decomp(self.astype(_dt.float32), dim, unbiased, keepdim,
                           correction).astype(self.dtype)
    if _count(self, dim) == 0:
        return _var_unscaled(self, dim, unbiased, keepdim, correction)
    m = _magnitude(self, dim)
    # (v * m) * m: m * m alone overflows where the variance does not
    out = _var_unscaled(self / m, dim, unbiased, True, correction) * m * m
    return out if keepdim else out.squeeze(reduce_dims(dim, self.ndim, "var"))


_VAR_SIG = ("(Tensor self, int[]? dim=None, bool? unbiased=None, bool keepdim=False, *, "
            "Scalar? correction=None)")
var = defop(f"var{_VAR_SIG} -> Tensor", tags=("composite", "reduction"),
            meta=_var_meta("var"), decomposition=_var_decomp,
            doc="Variance over ``dim`` with Bessel's ``correction`` (default 1; "
                "``unbiased=False`` means 0).")
def _std_decomp(self, dim=None, unbiased=None, keepdim=False, correction=None):
    if _half(self.dtype):  # (one float32 copy of the input: linear)
        return _std_decomp(self.astype(_dt.float32), dim, unbiased, keepdim,
                           correction).astype(self.dtype)
    if _count(self, dim) == 0:
        return sqrt(_var_unscaled(self, dim, unbiased, keepdim, correction))
    m = _magnitude(self, dim)
    out = sqrt(_var_unscaled(self / m, dim, unbiased, True, correction)) * m
    return out if keepdim else out.squeeze(reduce_dims(dim, self.ndim, "std"))


std = defop(f"std{_VAR_SIG} -> Tensor", tags=("composite", "reduction"),
            meta=_var_meta("std"), decomposition=_std_decomp,
            doc="Standard deviation over ``dim`` (see ``var``).")
var_mean = defop(f"var_mean{_VAR_SIG} -> (Tensor, Tensor)", tags=("composite", "reduction"),
                 meta=_var_meta("var_mean"),
                 decomposition=lambda self, dim=None, unbiased=None, keepdim=False,
                 correction=None: (_var_decomp(self, dim, unbiased, keepdim, correction),
                                   mean(self, dim, keepdim)),
                 doc="``(var, mean)`` over ``dim``.")
std_mean = defop(f"std_mean{_VAR_SIG} -> (Tensor, Tensor)", tags=("composite", "reduction"),
                 meta=_var_meta("std_mean"),
                 decomposition=lambda self, dim=None, unbiased=None, keepdim=False,
                 correction=None: (std(self, dim, unbiased, keepdim, correction=correction),
                                   mean(self, dim, keepdim)),
                 doc="``(std, mean)`` over ``dim``.")


def _logsumexp_meta(self, dim, keepdim=False):
    spec = reduction_meta("logsumexp")(self, dim, keepdim)
    d = self.dtype if self.dtype.is_floating_point else _dt.get_default_dtype()
    return Spec(spec.shape, d)


def _logsumexp_decomp(self, dim, keepdim=False):
    from .pointwise import abs as _abs, exp, log, where
    if not self.dtype.is_floating_point:
        self = self.astype(_dt.get_default_dtype())
    if self.numel() == 0:
        return log(sum(exp(self), dim, keepdim))
    m = amax(self, dim, True)
    # An infinite maximum would give inf - inf = nan: shift by 0 there instead.
    m = where(_abs(m) == math.inf, 0.0, m)
    out = log(sum(exp(self - m), dim, True)) + m
    return out if keepdim else out.squeeze(reduce_dims(dim, self.ndim, "logsumexp"))


logsumexp = defop("logsumexp(Tensor self, int[] dim, bool keepdim=False) -> Tensor",
                  tags=("composite", "reduction"), meta=_logsumexp_meta,
                  decomposition=_logsumexp_decomp,
                  doc="``log(sum(exp(self), dim))`` computed stably.")


def _bool_meta(op):
    base = reduction_meta(op)

    def meta(self, dim=None, keepdim=False):
        return Spec(base(self, dim, keepdim).shape, _dt.bool)
    return meta


all = defop("all(Tensor self, int[]? dim=None, bool keepdim=False) -> Tensor",
            tags=("composite", "reduction"), meta=_bool_meta("all"),
            decomposition=lambda self, dim=None, keepdim=False:
                sum(self == 0, dim, keepdim) == 0,
            doc="Whether all elements along ``dim`` are nonzero (True when empty).")
any = defop("any(Tensor self, int[]? dim=None, bool keepdim=False) -> Tensor",
            tags=("composite", "reduction"), meta=_bool_meta("any"),
            decomposition=lambda self, dim=None, keepdim=False:
                sum(self != 0, dim, keepdim) > 0,
            doc="Whether any element along ``dim`` is nonzero (False when empty).")


def _count_nonzero_meta(self, dim=None):
    return Spec(reduction_meta("count_nonzero")(self, dim).shape, _dt.int64)


count_nonzero = defop("count_nonzero(Tensor self, int[]? dim=None) -> Tensor",
                      tags=("composite", "reduction"), meta=_count_nonzero_meta,
                      decomposition=lambda self, dim=None: sum(self != 0, dim),
                      doc="The number of nonzero elements along ``dim``.")


def _scan_meta(op):
    def meta(self, dim, dtype=None):
        wrap_dim(dim, self.ndim, op)
        return Spec(tuple(self.shape), _sum_dtype(self, dtype))
    return meta


cumsum = defop("cumsum(Tensor self, int dim, *, ScalarType? dtype=None) -> Tensor",
               tags=("primitive",), meta=_scan_meta("cumsum"),
               doc="Cumulative sum along ``dim``; integers and bools as int64.")
cumprod = defop("cumprod(Tensor self, int dim, *, ScalarType? dtype=None) -> Tensor",
                tags=("primitive",), meta=_scan_meta("cumprod"),
                doc="Cumulative product along ``dim``; integers and bools as int64.")


def _logcumsumexp_meta(self, dim):
    if not self.dtype.is_floating_point:
        fail("logcumsumexp", f"expected a floating-point tensor, got {self.dtype} "
                             f"(PyTorch implements it for floating and complex dtypes)")
    if self.dtype._kind == "c":
        fail("logcumsumexp", "complex tensors are not supported yet")
    wrap_dim(dim, self.ndim, "logcumsumexp")
    return Spec(tuple(self.shape), self.dtype)


def _logcumsumexp_decomp(self, dim):
    # A scan whose step is logaddexp, the combine PyTorch's kernel applies element by
    # element: each partial result is a running log-sum, so a prefix far below the
    # running maximum is neither lost (a global shift would underflow it to -inf) nor
    # overflows.  Done as a parallel (Hillis-Steele) scan: ceil(log2(n)) whole-tensor
    # steps, each adding the partial result `step` places before; every step frees the
    # previous one, so memory stays a few copies of the input.
    from .creation import full
    from .elementary import logaddexp
    from .view import cat, narrow
    if _half(self.dtype):  # accumulated in float32 and rounded once, as mean's
        return _logcumsumexp_decomp(self.astype(_dt.float32), dim).astype(self.dtype)
    if self.ndim == 0:
        return self.clone()
    d = wrap_dim(dim, self.ndim, "logcumsumexp")
    n = self.shape[d]
    out, step = self, 1
    while step < n:
        pad_shape = tuple(self.shape[:d]) + (step,) + tuple(self.shape[d + 1:])
        pad = full(pad_shape, -math.inf, dtype=self.dtype, device=self.device)
        out = logaddexp(out, cat([pad, narrow(out, d, 0, n - step)], d))
        step *= 2
    return out if out is not self else self.clone()


logcumsumexp = defop("logcumsumexp(Tensor self, int dim) -> Tensor",
                     tags=("composite",), meta=_logcumsumexp_meta,
                     decomposition=_logcumsumexp_decomp,
                     doc="``log(cumsum(exp(self), dim))`` computed stably (a running "
                         "log-sum: no overflow, no prefix lost to underflow).")


# --- derivatives ---
# Beside the schemas above; see ember.autograd.rules for the conventions.

from ..autograd.rules import derivative, unreduce  # noqa: E402


def _sum_backward(g, self, dim=None, keepdim=False, dtype=None):
    shape = tuple(self.shape)
    if len(g._data.shape) == 0:  # a full reduction: the 0-d gradient expands as it is
        return g.expand(shape)
    return unreduce(g, shape, dim, keepdim).expand(shape)


derivative(sum, self=_sum_backward)


def _std_backward(g, self, dim=None, unbiased=None, keepdim=False, correction=None,
                  result=None):
    # d std / d x = (x - mean) / ((n - correction) * std), and 0 where std == 0 (as
    # PyTorch: a constant input's gradient is 0, not 0 / 0).  Built from ops, so it is
    # itself differentiable.
    from .pointwise import where
    shape = tuple(self.shape)
    n = _count(self, dim) - _correction("std", unbiased, correction)
    g, r = unreduce(g, shape, dim, keepdim), unreduce(result, shape, dim, keepdim)
    scaled = where(r == 0, 0.0, g / r)
    return scaled * (self - mean(self, dim, True)) / (n if n > 0 else math.nan)


derivative(std, save=("self", "result"), self=_std_backward)


def _prod_backward(g, self, dim=None, keepdim=False, dtype=None, result=None):
    from .pointwise import conj_if_complex, eq, where
    shape = tuple(self.shape)
    dims = None if dim is None else (dim,)
    gk = unreduce(g, shape, dims, keepdim)
    rk = unreduce(result, shape, dims, keepdim)
    zero = eq(self, 0)
    # Where self has exactly one zero along the reduced dims, its gradient is the product
    # of the other elements; elsewhere result / self (never divided by zero: masked).
    zeros = sum(zero, dims, True)
    others = prod(where(zero, 1.0, self), dim, True) if dim is not None else \
        prod(where(zero, 1.0, self)).reshape((1,) * len(shape))
    safe = where(zero, 1.0, self)
    grad = where(zero, where(eq(zeros, 1), others, 0.0), rk / safe)
    return gk * conj_if_complex(grad)  # (PyTorch's conjugate Wirtinger convention)


derivative(prod, save=("self", "result"), self=_prod_backward)


def _extreme_backward(g, self, dim=(), keepdim=False, result=None):
    """amax/amin: the gradient goes to the extreme elements, split evenly among ties."""
    shape = tuple(self.shape)
    dims = dim if dim else None
    hit = (self == unreduce(result, shape, dims, keepdim))
    count = sum(hit, dims, True)
    return unreduce(g, shape, dims, keepdim) * hit / count


derivative(amax, save=("self", "result"), self=_extreme_backward)
derivative(amin, save=("self", "result"), self=_extreme_backward)


def _max_min_backward(g, self, dim=None, keepdim=False, result=None):
    """max/min: over everything the gradient is split among ties (as amax); along
    ``dim`` it goes to the element whose index is returned (as PyTorch)."""
    if dim is None:
        if not self.dtype.is_floating_point:
            return _extreme_backward(g, self, (), False, result=result)
        # A NaN result is split among the NaNs, as PyTorch's max()/min() (NaN == NaN is
        # False, so amax's rule divides by a zero count: NaN everywhere, as amax's)
        from .pointwise import isnan
        shape = tuple(self.shape)
        r = unreduce(result, shape, None, False)
        hit = (self == r) | (isnan(self) & isnan(r))
        return unreduce(g, shape, None, False) * hit / sum(hit, None, True)
    gv = g[0]
    if gv is None:
        return None
    shape = tuple(self.shape)
    if not shape:
        return gv
    from .creation import zeros
    from .indexing import scatter
    indices = result[1]
    if not keepdim:
        gv, indices = gv.unsqueeze(dim), indices.unsqueeze(dim)
    return scatter(zeros(shape, dtype=gv.dtype, device=gv.device), dim, indices, gv)


derivative(max, save=("self", "result"), self=_max_min_backward)
derivative(min, save=("self", "result"), self=_max_min_backward)


def _cumsum_backward(g, self, dim, dtype=None):
    # The gradient of a prefix sum is the suffix sum of g.
    return sum(g, dim, True) - cumsum(g, dim) + g


def _cumprod_backward(g, self, dim, dtype=None, result=None):
    # Suffix sums of g * result, divided by self (inputs with zeros are not supported);
    # both conjugated for complex inputs (PyTorch's conjugate Wirtinger convention)
    from .pointwise import conj_if_complex
    gr = g * conj_if_complex(result)
    return (sum(gr, dim, True) - cumsum(gr, dim) + gr) / conj_if_complex(self)


derivative(cumsum, self=_cumsum_backward)
derivative(cumprod, save=("self", "result"), self=_cumprod_backward)


def _logcumsumexp_backward(g, self, dim, result=None):
    # PyTorch's formula: grad_j = sum_{i >= j} g_i exp(self_j - result_i), summed in log
    # space by a reversed logcumsumexp, the positive and negative parts of g apart (a
    # log needs a positive argument).  Where self is -inf its weight exp(self_j - ...) is
    # 0; the formula would give -inf + inf = NaN there when the prefix result is -inf
    # too (PyTorch returns that NaN; the derivative is 0: a masked log-probability must
    # not poison the gradient).
    from .creation import full_like
    from .pointwise import abs as _abs, exp, log, where
    from .view import flip
    if self.numel() == 0 or self.ndim == 0:
        return g
    lowest = full_like(g, _dt.finfo(g.dtype).min)
    log_abs = log(_abs(g))
    d = dim % self.ndim

    def reverse_lcse(x):
        return flip(logcumsumexp(flip(x, d), d), d)
    pos = exp(reverse_lcse(where(g > 0, log_abs, lowest) - result) + self)
    neg = exp(reverse_lcse(where(g < 0, log_abs, lowest) - result) + self)
    return where(self == -math.inf, 0.0, pos - neg)


derivative(logcumsumexp, save=("self", "result"), self=_logcumsumexp_backward)

