"""ember's ops written once over the Python Array API standard.

``IMPLEMENTATIONS`` maps an op name to ``impl(ns, *args)``: ``ns`` is the
:class:`~ember.kit.namespace.Namespace` (``ns.xp`` is the array library), ``args`` are
the kernel's arguments in schema order (see docs/architecture.md, "Kernel calling
convention").  Pointwise ops over tensors only and ``op(self, dim, keepdim)``
reductions listed in ``STANDARD_NAMES`` need no entry: the builder takes the
standard's function of that name from the library (and nothing else: a library's
other exports, such as torch's ``square_``, are never picked up by their name).  The
builder installs entries of this table for the registry's primitive ops only, so it
may run ahead of the op set.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from .. import dtypes as _dt

__all__ = ["IMPLEMENTATIONS", "STANDARD_NAMES", "impl", "fast", "accumulating_index_put"]

#: op name -> impl(ns, *args)
IMPLEMENTATIONS: dict[str, Callable] = {}
#: composites whose decomposition cannot be exact, taken from the library when it has
#: them: ``signbit`` reads the sign bit, which no comparison sees on ``-nan``
NATIVE_COMPOSITES = ("signbit",)

#: ember op -> the Array API standard's function the builder maps it to by name: the
#: only names it looks up in a library (ops with an entry in ``IMPLEMENTATIONS`` use it).
STANDARD_NAMES = {
    "neg": "negative", "sub": "subtract", "mul": "multiply", "div": "divide",
    "true_divide": "divide", "eq": "equal", "ne": "not_equal", "lt": "less",
    "le": "less_equal", "gt": "greater", "ge": "greater_equal",
    "bitwise_not": "bitwise_invert", "arccos": "acos", "arcsin": "asin", "arctan": "atan",
    "arccosh": "acosh", "arcsinh": "asinh", "arctanh": "atanh", "arctan2": "atan2",
    "absolute": "abs", "amax": "max", "amin": "min", "concat": "concat",
    **{name: name for name in (
        "abs", "acos", "acosh", "add", "asin", "asinh", "atan", "atan2", "atanh",
        "bitwise_and", "bitwise_left_shift", "bitwise_or", "bitwise_right_shift",
        "bitwise_xor", "ceil", "cos", "cosh", "exp", "expm1", "floor", "floor_divide",
        "hypot", "isfinite", "isinf", "isnan", "log", "log10", "log1p", "log2",
        "logaddexp", "logical_and", "logical_not", "logical_or", "logical_xor", "maximum",
        "minimum", "pow", "prod", "remainder", "round", "sign", "signbit", "sin", "sinh",
        "sqrt", "square", "sum", "tan", "tanh", "trunc")},
}


def impl(*names: str):
    """Register ``fn`` as the implementation of the ops ``names``."""
    def deco(fn):
        for n in names:
            IMPLEMENTATIONS[n] = fn
        return fn
    return deco


def fast(function: str | Callable, arity: int, *, condition: bool = False, **defaults):
    """Mark a pointwise implementation whose common case is the standard's
    ``function`` (a name in the library's namespace, or a function of the library's
    own, e.g. ``torch.lt`` where a wrapper namespace's costs more) over ``arity``
    array operands: when they are arrays of one non-bool dtype (and the first is a
    bool condition with ``condition``) and the remaining arguments hold ``defaults``
    (in schema order), the kit's kernel calls ``function`` directly and the
    implementation only for the other cases.  It must give the same result as the
    implementation there.  Entries of ``implementations=`` may carry it too."""
    def deco(fn):
        fn.standard = (function, condition, tuple(defaults.values()))
        fn.arity = arity
        return fn
    return deco


def _is_number(x) -> bool:
    return isinstance(x, (bool, int, float, complex))


# -- conversion ---------------------------------------------------------------------------
@impl("astype")
def astype(ns, a, dtype):
    return ns.xp.astype(a, ns.dtype(dtype))


@impl("copy_")
def copy_(ns, a, src, non_blocking=False):
    xp = ns.xp
    src = ns.operand(src, a)
    if src.dtype != a.dtype:
        src = xp.astype(src, a.dtype)
    if tuple(src.shape) != tuple(a.shape):
        src = xp.broadcast_to(src, a.shape)
    a[...] = src


@impl("clone", "contiguous")
def clone(ns, a):
    # The standard has no notion of strides: contiguous() always hands back a copy.
    return ns.xp.asarray(a, copy=True)


# -- creation -----------------------------------------------------------------------------
@impl("zeros")
def zeros(ns, size, dtype, device):
    return ns.xp.zeros(tuple(size), dtype=ns.dtype(dtype), device=ns.device(device))


@impl("ones")
def ones(ns, size, dtype, device):
    return ns.xp.ones(tuple(size), dtype=ns.dtype(dtype), device=ns.device(device))


@impl("empty")
def empty(ns, size, dtype, device):
    return ns.xp.empty(tuple(size), dtype=ns.dtype(dtype), device=ns.device(device))


@impl("full")
def full(ns, size, fill_value, dtype, device):
    dt = ns.dtype(dtype)
    if ns.xp.isdtype(dt, "integral") and isinstance(fill_value, float):
        fill_value = int(fill_value)
    elif dt == ns.bool:
        fill_value = bool(fill_value)
    return ns.xp.full(tuple(size), fill_value, dtype=dt, device=ns.device(device))


@impl("arange")
def arange(ns, start, end, step, dtype, device):
    if end is None:
        start, end = 0, start
    dt = ns.dtype(dtype)
    # The standard computes the length as ceil((end - start) / step), as ember's rule.
    return ns.xp.arange(start, end, step, dtype=dt, device=ns.device(device))


@impl("eye")
def eye(ns, n, m, dtype, device):
    return ns.xp.eye(n, m, dtype=ns.dtype(dtype), device=ns.device(device))


@impl("linspace")
def linspace(ns, start, end, steps, dtype, device):
    return ns.xp.linspace(start, end, steps, dtype=ns.dtype(dtype), device=ns.device(device))


# -- pointwise ----------------------------------------------------------------------------
@impl("add")
@fast("add", 2, alpha=1)
def add(ns, a, b, alpha=1):
    xp = ns.xp
    a, b = ns.operands(a, b)
    if a.dtype == ns.bool:
        return xp.logical_or(a, b) if alpha else a
    if alpha != 1:
        b = xp.multiply(b, ns.operand(alpha, b))
    return xp.add(a, b)


@impl("sub")
@fast("subtract", 2, alpha=1)
def sub(ns, a, b, alpha=1):
    xp = ns.xp
    a, b = ns.operands(a, b)
    if alpha != 1:
        b = xp.multiply(b, ns.operand(alpha, b))
    return xp.subtract(a, b)


@impl("mul")
@fast("multiply", 2)
def mul(ns, a, b):
    a, b = ns.operands(a, b)
    if a.dtype == ns.bool:
        return ns.xp.logical_and(a, b)
    return ns.xp.multiply(a, b)


@impl("div")
def div(ns, a, b, rounding_mode=None):
    xp = ns.xp
    a, b = ns.operands(a, b)
    if rounding_mode is None:
        return xp.divide(a, b)
    if rounding_mode == "floor":
        return xp.floor_divide(a, b)
    if ns.is_int(a):  # C-style truncation for integers, rounding toward zero
        q = xp.floor_divide(a, b)
        fix = xp.logical_and(xp.not_equal(xp.remainder(a, b), 0),
                             xp.not_equal(xp.less(a, 0), xp.less(b, 0)))
        return xp.where(fix, q + 1, q)
    return xp.trunc(xp.divide(a, b))


@impl("maximum")
def maximum(ns, a, b):
    a, b = ns.operands(a, b)
    if a.dtype == ns.bool:
        return ns.xp.logical_or(a, b)
    xp = ns.xp
    if ns.is_float(a):  # PyTorch propagates NaN from either side
        return xp.where(xp.isnan(a), a, xp.where(xp.isnan(b), b, xp.maximum(a, b)))
    return xp.maximum(a, b)


@impl("minimum")
def minimum(ns, a, b):
    a, b = ns.operands(a, b)
    if a.dtype == ns.bool:
        return ns.xp.logical_and(a, b)
    xp = ns.xp
    if ns.is_float(a):
        return xp.where(xp.isnan(a), a, xp.where(xp.isnan(b), b, xp.minimum(a, b)))
    return xp.minimum(a, b)


@impl("fmod")
def fmod(ns, a, b):
    xp = ns.xp
    a, b = ns.operands(a, b)
    r = xp.remainder(a, b)
    # remainder takes the divisor's sign, fmod the dividend's
    wrong = xp.logical_and(xp.not_equal(r, 0), xp.not_equal(xp.less(r, 0), xp.less(a, 0)))
    return xp.where(wrong, r - b, r)


@impl("where")
@fast("where", 3, condition=True)
def where(ns, cond, a, b):
    xp = ns.xp
    if not hasattr(cond, "dtype"):
        cond = xp.asarray(bool(cond))
    elif cond.dtype != ns.bool:
        cond = xp.not_equal(cond, ns.operand(0, cond))
    if _is_number(a) and _is_number(b):
        raise TypeError("where(): expected at least one Tensor operand")
    a, b = ns.operands(a, b)
    return xp.where(cond, a, b)


@impl("reciprocal")
def reciprocal(ns, a):
    return ns.xp.divide(ns.operand(1, a), a)


@impl("rsqrt")
def rsqrt(ns, a):
    return ns.xp.divide(ns.operand(1, a), ns.xp.sqrt(a))


@impl("sigmoid")
def sigmoid(ns, a):
    xp = ns.xp
    return xp.divide(ns.operand(1, a), xp.add(ns.operand(1, a), xp.exp(xp.negative(a))))


@impl("exp2")
def exp2(ns, a):
    return ns.xp.pow(ns.operand(2, a), a)


@impl("pow")
def pow_(ns, a, b):
    a, b = ns.operands(a, b)
    xp = ns.xp
    if not xp.isdtype(b.dtype, "signed integer"):
        return xp.pow(a, b)
    # PyTorch's integer power for negative exponents (libraries refuse it): 1 ** n = 1,
    # (-1) ** n = +-1, every other base 0.  (The operands share the computation dtype; a
    # negative Python exponent is refused by the op's schema.)
    zero = xp.zeros_like(b)
    negative = b < zero
    r = xp.pow(a, xp.where(negative, zero, b))
    one = xp.ones_like(r)
    odd = xp.remainder(b, ns.operand(2, b)) != zero
    special = xp.where(a == one, one, xp.where(a == -one, xp.where(odd, -one, one), zero))
    return xp.where(negative, special, r)


@impl("clamp", "clip")
def clamp(ns, a, min=None, max=None):
    xp = ns.xp
    out = a
    if min is not None:
        out = xp.where(xp.less(out, ns.operand(min, a)), ns.operand(min, a), out)
    if max is not None:
        out = xp.where(xp.greater(out, ns.operand(max, a)), ns.operand(max, a), out)
    return out


@impl("abs")
def abs_(ns, a):
    if a.dtype == ns.bool:
        return ns.xp.asarray(a, copy=True)
    return ns.xp.abs(a)


# -- reductions ------------------------------------------------------------------------------
def _numeric(ns, a):
    """The standard's reductions refuse bool: count in int64 as PyTorch does."""
    return ns.xp.astype(a, ns.default_int) if a.dtype == ns.bool else a


def reduces(function: str):
    """Mark an ``op(self, dim, keepdim, dtype)`` reduction whose common case (a non-bool
    array of at least one dimension; one dim, an int or a 1-tuple, or all dims without
    keepdim; no ``dtype`` or the array's own floating one) is the standard's
    ``function(x, axis=dim, keepdims=keepdim)``: the kit's kernel calls it directly
    there and the implementation for the rest (see ``ArrayAPIBackend._reduction_fast``).
    It must give the same result there."""
    def deco(fn):
        fn.reduction = function
        return fn
    return deco


@impl("sum")
@reduces("sum")
def sum_(ns, a, dim=None, keepdim=False, dtype=None):
    return ns.xp.sum(_numeric(ns, a), axis=ns.axes(dim, a.ndim), keepdims=keepdim,
                     dtype=ns.dtype(dtype) if dtype is not None else None)


@impl("prod")
@reduces("prod")
def prod(ns, a, dim=None, keepdim=False, dtype=None):
    return ns.xp.prod(_numeric(ns, a), axis=ns.axes(dim, a.ndim), keepdims=keepdim,
                      dtype=ns.dtype(dtype) if dtype is not None else None)


@impl("amax")
def amax(ns, a, dim=None, keepdim=False):
    xp = ns.xp
    if a.dtype == ns.bool:
        return xp.any(a, axis=ns.axes(dim, a.ndim), keepdims=keepdim)
    return _nan_propagating(ns, xp.max, a, dim, keepdim)


@impl("amin")
def amin(ns, a, dim=None, keepdim=False):
    xp = ns.xp
    if a.dtype == ns.bool:
        return xp.all(a, axis=ns.axes(dim, a.ndim), keepdims=keepdim)
    return _nan_propagating(ns, xp.min, a, dim, keepdim)


def _nan_propagating(ns, fn, a, dim, keepdim):
    xp = ns.xp
    axis = ns.axes(dim, a.ndim)
    out = fn(a, axis=axis, keepdims=keepdim)
    if ns.is_float(a):
        nan = xp.any(xp.isnan(a), axis=axis, keepdims=keepdim)
        out = xp.where(nan, ns.operand(math.nan, out), out)
    return out


@impl("argmax")
def argmax(ns, a, dim=None, keepdim=False):
    return _arg(ns, ns.xp.argmax, a, dim, keepdim)


@impl("argmin")
def argmin(ns, a, dim=None, keepdim=False):
    return _arg(ns, ns.xp.argmin, a, dim, keepdim)


def _arg(ns, fn, a, dim, keepdim):
    xp = ns.xp
    if a.dtype == ns.bool:
        a = xp.astype(a, ns.default_int)
    if dim is None:
        r = fn(xp.reshape(a, (-1,)))
        return xp.reshape(r, (1,) * a.ndim) if keepdim else r
    r = fn(a, axis=dim % max(a.ndim, 1) if a.ndim else None, keepdims=keepdim)
    return xp.astype(r, ns.default_int)


@impl("any")
def any_(ns, a, dim=None, keepdim=False):
    return ns.xp.any(a, axis=ns.axes(dim, a.ndim), keepdims=keepdim)


@impl("all")
def all_(ns, a, dim=None, keepdim=False):
    return ns.xp.all(a, axis=ns.axes(dim, a.ndim), keepdims=keepdim)


def _scan(ns, a, dim, dtype, name):
    """``cumulative_sum``/``cumulative_prod`` along ``dim`` (0-d: a copy, as PyTorch)."""
    xp = ns.xp
    if a.ndim == 0:
        return xp.astype(a, ns.dtype(dtype)) if dtype is not None else xp.asarray(a, copy=True)
    half = getattr(xp, "float16", None)
    if half is not None and (ns.dtype(dtype) if dtype is not None else a.dtype) == half:
        # a float32 accumulator, rounded once, as the cpu's and PyTorch's scans (in float16
        # 300 * 300 is inf, and inf * -0.0 NaN where they give -0.0)
        return xp.astype(getattr(xp, name)(xp.astype(a, xp.float32), axis=dim % a.ndim), half)
    return getattr(xp, name)(_numeric(ns, a), axis=dim % a.ndim,
                             dtype=ns.dtype(dtype) if dtype is not None else None)


@impl("cumsum")
def cumsum(ns, a, dim, dtype=None):
    return _scan(ns, a, dim, dtype, "cumulative_sum")


# -- views and shape ----------------------------------------------------------------------
@impl("reshape")
def reshape(ns, a, shape):
    return ns.xp.reshape(a, tuple(shape))


@impl("permute")
def permute(ns, a, dims):
    return ns.xp.permute_dims(a, tuple(d % a.ndim for d in dims)) if a.ndim else a[...]


@impl("expand")
def expand(ns, a, size):
    off = len(size) - a.ndim
    size = tuple(s if s != -1 else a.shape[i - off] for i, s in enumerate(size))
    return ns.xp.broadcast_to(a, size)


@impl("squeeze")
def squeeze(ns, a, dim=None):
    if dim is None:
        dims = tuple(i for i, s in enumerate(a.shape) if s == 1)
    else:
        dims = tuple(d % max(a.ndim, 1) for d in (dim if isinstance(dim, tuple) else (dim,)))
        dims = tuple(d for d in dims if a.ndim and a.shape[d] == 1)
    return ns.xp.squeeze(a, axis=dims) if dims else a[...]


@impl("unsqueeze")
def unsqueeze(ns, a, dim):
    return ns.xp.expand_dims(a, axis=dim % (a.ndim + 1))


@impl("flip")
def flip(ns, a, dims):
    return ns.xp.flip(a, axis=tuple(d % a.ndim for d in dims)) if a.ndim else a[...]


@impl("select")
def select(ns, a, dim, index):
    key = [slice(None)] * a.ndim
    key[dim % a.ndim] = index % a.shape[dim % a.ndim]
    return a[tuple(key)]


@impl("narrow")
def narrow(ns, a, dim, start, length):
    key = [slice(None)] * a.ndim
    d = dim % a.ndim
    start = start % a.shape[d] if start < 0 else start
    key[d] = slice(start, start + length)
    return a[tuple(key)]


@impl("slice")
def slice_(ns, a, dim=0, start=None, end=None, step=1):
    key = [slice(None)] * a.ndim
    key[dim % a.ndim] = slice(start, end, step)
    return a[tuple(key)]


@impl("cat")
def cat(ns, tensors, dim=0):
    return ns.xp.concat(list(tensors), axis=dim % max(tensors[0].ndim, 1))


@impl("stack")
def stack(ns, tensors, dim=0):
    return ns.xp.stack(list(tensors), axis=dim % (tensors[0].ndim + 1))


@impl("tril")
def tril(ns, a, diagonal=0):
    return ns.xp.tril(a, k=diagonal)


@impl("triu")
def triu(ns, a, diagonal=0):
    return ns.xp.triu(a, k=diagonal)


@impl("roll")
def roll(ns, a, shifts, dims=None):
    return ns.xp.roll(a, shift=shifts if not dims else tuple(shifts),
                      axis=None if not dims else tuple(dims))


# -- indexing ---------------------------------------------------------------------------------
@impl("index_select")
def index_select(ns, a, dim, index):
    if a.ndim == 0:
        return ns.xp.asarray(a, copy=True)
    return ns.xp.take(a, index, axis=dim % a.ndim)


@impl("gather")
def gather(ns, a, dim, index, sparse_grad=False):
    if a.ndim == 0:
        return ns.xp.asarray(a, copy=True)
    return ns.xp.take_along_axis(a, index, axis=dim % a.ndim)


def _fill_value(ns, value, like):
    """``value`` as a 0-d array of ``like``'s dtype (fills cast as PyTorch's do)."""
    if like.dtype == ns.bool:
        value = bool(value)
    elif ns.is_int(like) and isinstance(value, float):
        value = int(value)
    return ns.xp.asarray(value, dtype=like.dtype, device=like.device)


@impl("masked_fill")
def masked_fill(ns, a, mask, value):
    return ns.xp.where(mask, _fill_value(ns, value, a), a)


@impl("sort")
def sort(ns, a, dim=-1, descending=False, stable=False):
    xp = ns.xp
    if a.ndim == 0:
        return xp.asarray(a, copy=True), xp.zeros((), dtype=ns.default_int)
    axis = dim % a.ndim
    idx = _argsort(ns, _sortable(ns, a), axis, descending)
    return xp.take_along_axis(a, idx, axis=axis), xp.astype(idx, ns.default_int)


@impl("argsort")
def argsort(ns, a, dim=-1, descending=False, stable=False):
    xp = ns.xp
    if a.ndim == 0:
        return xp.zeros((), dtype=ns.default_int)
    return xp.astype(_argsort(ns, _sortable(ns, a), dim % a.ndim, descending), ns.default_int)


def _argsort(ns, a, axis, descending):
    """A stable argsort; libraries without the standard's ``descending`` (numpy) sort
    the reversed array and map the positions back, which keeps ties in order."""
    xp = ns.xp
    try:
        return xp.argsort(a, axis=axis, descending=descending, stable=True)
    except TypeError:
        if not descending:
            return xp.argsort(a, axis=axis, stable=True)
    n = a.shape[axis]
    rev = xp.flip(xp.argsort(xp.flip(a, axis=axis), axis=axis, stable=True), axis=axis)
    return (n - 1) - rev


def _sortable(ns, a):
    """The standard sorts numbers only: bool sorts as int8 (False < True)."""
    return ns.xp.astype(a, ns.dtypes[_dt.int8]) if a.dtype == ns.bool else a


# -- linear algebra ----------------------------------------------------------------------------
@impl("matmul")
@fast("matmul", 2)
def matmul(ns, a, b):
    xp = ns.xp
    if a.dtype == ns.bool:  # the standard's matmul is numeric only
        r = xp.matmul(xp.astype(a, ns.default_int), xp.astype(b, ns.default_int))
        return xp.not_equal(r, ns.operand(0, r))
    return xp.matmul(a, b)


# -- more shapes and indexing ---------------------------------------------------------------
@impl("basic_index")
def basic_index(ns, a, index):
    index = tuple(index) if isinstance(index, (tuple, list)) else (index,)
    # The standard wants every dimension indexed: a trailing ellipsis covers the rest.
    if not any(i is Ellipsis for i in index):
        index = index + (Ellipsis,)
    return a[index]


@impl("_cat")
def _cat(ns, tensors, dim=0):
    return ns.xp.concat(list(tensors), axis=dim % max(tensors[0].ndim, 1))


@impl("unfold")
def unfold(ns, a, dimension, size, step):
    # The standard has no strided views: the windows are stacked into a new array.
    xp = ns.xp
    if a.ndim == 0:
        return xp.reshape(a, (1,))
    d = dimension % a.ndim
    n = (a.shape[d] - size) // step + 1
    windows = []
    for i in range(n):
        key = [slice(None)] * a.ndim
        key[d] = slice(i * step, i * step + size)
        windows.append(xp.moveaxis(a[tuple(key)], d, -1))
    if not windows:
        shape = list(a.shape)
        shape[d] = 0
        return xp.empty(tuple(shape) + (size,), dtype=a.dtype, device=a.device)
    return xp.stack(windows, axis=d)


@impl("round")
def round_(ns, a, decimals=0):
    xp = ns.xp
    if not ns.is_float(a):
        return xp.asarray(a, copy=True)
    if decimals == 0:
        return xp.round(a)
    scale = ns.operand(10.0 ** decimals, a)
    return xp.divide(xp.round(xp.multiply(a, scale)), scale)


@impl("cumprod")
def cumprod(ns, a, dim, dtype=None):
    return _scan(ns, a, dim, dtype, "cumulative_prod")


@impl("nonzero")
def nonzero(ns, a):
    xp = ns.xp
    if a.ndim == 0:
        return xp.zeros((1 if bool(a) else 0, 0), dtype=ns.default_int)
    idx = xp.nonzero(a)
    return xp.astype(xp.stack(idx, axis=1), ns.default_int)


@impl("topk")
def topk(ns, a, k, dim=-1, largest=True, sorted=True):
    xp = ns.xp
    if a.ndim == 0:
        return xp.asarray(a, copy=True), xp.zeros((), dtype=ns.default_int)
    axis = dim % a.ndim
    idx = _argsort(ns, _sortable(ns, a), axis, largest)
    key = [slice(None)] * a.ndim
    key[axis] = slice(0, k)
    idx = idx[tuple(key)]
    return xp.take_along_axis(a, idx, axis=axis), xp.astype(idx, ns.default_int)


@impl("masked_fill_")
def masked_fill_(ns, a, mask, value):
    a[...] = ns.xp.where(mask, _fill_value(ns, value, a), a)


@impl("fill_")
def fill_(ns, a, value):
    a[...] = _fill_value(ns, value, a)


# -- linear algebra (the standard's optional linalg extension) ---------------------------------
def _linalg(ns):
    la = getattr(ns.xp, "linalg", None)
    if la is None:
        raise NotImplementedError(f"{ns.device_type}: the array library has no linalg "
                                  f"extension")
    return la


@impl("linalg_svd")
def linalg_svd(ns, a, full_matrices=True):
    r = _linalg(ns).svd(a, full_matrices=full_matrices)
    return tuple(r)


@impl("linalg_svdvals")
def linalg_svdvals(ns, a):
    return _linalg(ns).svdvals(a)


@impl("linalg_eigh")
def linalg_eigh(ns, a, UPLO="L"):
    xp = ns.xp
    # The standard reads one triangle but does not say which: symmetrize explicitly.
    tri = xp.tril(a) if UPLO == "L" else xp.triu(a)
    strict = xp.tril(a, k=-1) if UPLO == "L" else xp.triu(a, k=1)
    if xp.isdtype(a.dtype, "complex floating"):  # Hermitian: the mirror is conjugated
        strict = xp.conj(strict)
    sym = tri + xp.matrix_transpose(strict) if hasattr(xp, "matrix_transpose") else \
        tri + _linalg(ns).matrix_transpose(strict)
    return tuple(_linalg(ns).eigh(sym))


@impl("linalg_qr")
def linalg_qr(ns, a, mode="reduced"):
    return tuple(_linalg(ns).qr(a, mode=mode))


@impl("linalg_cholesky")
def linalg_cholesky(ns, a, upper=False):
    return _linalg(ns).cholesky(a, upper=upper)


@impl("linalg_inv")
def linalg_inv(ns, a):
    return _linalg(ns).inv(a)


@impl("linalg_solve")
def linalg_solve(ns, a, b):
    return _linalg(ns).solve(a, b)


@impl("linalg_det")
def linalg_det(ns, a):
    return _linalg(ns).det(a)


@impl("linalg_slogdet")
def linalg_slogdet(ns, a):
    return tuple(_linalg(ns).slogdet(a))


@impl("signbit")
def signbit(ns, a):
    xp = ns.xp
    if ns.is_float(a):  # the bit itself (-nan too); the standard defines it for floats
        return xp.signbit(a)
    return xp.less(a, ns.operand(0, a)) if a.dtype != ns.bool else xp.zeros_like(a)


@impl("sign")
def sign(ns, a):
    xp = ns.xp
    if a.dtype == ns.bool:
        return xp.asarray(a, copy=True)
    if ns.is_float(a):  # PyTorch: sign(NaN) is 0
        return xp.where(xp.isnan(a), ns.operand(0, a), xp.sign(a))
    return xp.sign(a)


# -- what the standard lacks, composed from it -----------------------------------------------
# The standard has no scatter.  Writes to computed positions sort the positions and
# look each target up with ``searchsorted`` (O(n log n) time, O(n) memory); repeated
# positions are summed by a segmented scan.  ``scatter``, ``scatter_add``, ``index_add``
# and the backward of every "pick" op (gather, index, embedding, max-pool ...) reach
# ``index_put_`` through the core's decompositions.  A library with a native scatter
# (numpy's ``np.add.at``, ``cupyx.scatter_add``, dpnp's ``put``) can replace
# ``index_put_`` or any of those composites with ``implementations=``;
# ``accumulating_index_put(add_at)`` is that entry for an add-at style scatter.
def _as_int(ns, a):
    return ns.xp.astype(a, ns.default_int) if a.dtype != ns.default_int else a


def _segment_sums(ns, keys, values):
    """Inclusive running sums of ``values`` (rows) within runs of equal ``keys`` (sorted,
    1-D): a Hillis-Steele scan, each step O(m) memory, log2 of the longest run steps
    (it stops when no row has a partner ``d`` back).  The last row of a run holds the
    run's total; sums stay pairwise (no cancellation across runs, unlike differences
    of one global cumulative sum, where one inf would poison every later run)."""
    xp = ns.xp
    m = keys.shape[0]
    zero = ns.operand(0, values)
    d = 1
    while d < m:
        same = xp.equal(keys[d:], keys[:-d])
        if not bool(xp.any(same)):  # every run is shorter than d + 1: done
            break
        same = xp.reshape(same, (m - d,) + (1,) * (values.ndim - 1))
        tail = xp.add(values[d:, ...], xp.where(same, values[:-d, ...], zero))
        values = xp.concat((values[:d, ...], tail), axis=0)
        d *= 2
    return values


def _put_rows(ns, base, linear, values, accumulate):
    """``base`` (N, ...) with the rows ``values`` (m, ...) written at rows ``linear``
    (m,), or added with ``accumulate`` (repeated rows sum; without it the last one
    wins, as sequential writes).  A new array; O(N + m) memory."""
    xp = ns.xp
    m, n = linear.shape[0], base.shape[0]
    if m == 0 or n == 0:
        return base
    rows = (1,) * (base.ndim - 1)
    order = xp.argsort(linear, stable=True)
    keys = xp.take(linear, order)
    wide = ns.default_int if base.dtype == ns.bool else base.dtype  # bool adds as or
    v = xp.take(values, order, axis=0)
    v = xp.astype(v, wide) if v.dtype != wide else v
    if accumulate:
        v = _segment_sums(ns, keys, v)
    # For each target row, the last sorted entry aimed at it (if any).
    targets = xp.arange(n, dtype=keys.dtype, device=keys.device)
    last = xp.searchsorted(keys, targets, side="right") - 1
    last = xp.where(xp.less(last, 0), xp.zeros_like(last), last)
    hit = xp.reshape(xp.equal(xp.take(keys, last), targets), (n,) + rows)
    got = xp.take(v, last, axis=0)
    if accumulate:
        got = xp.add(xp.astype(base, wide) if base.dtype != wide else base, got)
    if got.dtype != base.dtype:
        got = xp.not_equal(got, ns.operand(0, got)) if base.dtype == ns.bool else \
            xp.astype(got, base.dtype)
    return xp.where(hit, got, base)


def _advanced(ns, a, indices):
    """``(a with the indexed dims first and flattened, the flat positions, the
    broadcast index shape, where the index dims go in the result)`` for ember's index
    tuples (int arrays, ``None`` for a whole dimension), NumPy's placement rules."""
    xp = ns.xp
    pos = [i for i, t in enumerate(indices) if t is not None]
    arrays = [_as_int(ns, indices[i]) for i in pos]
    shape = arrays[0].shape
    for t in arrays[1:]:
        shape = tuple(xp.broadcast_arrays(xp.empty(shape), xp.empty(t.shape))[0].shape)
    rest = [i for i in range(a.ndim) if i not in pos]
    moved = xp.permute_dims(a, tuple(pos) + tuple(rest))
    sizes = [a.shape[i] for i in pos]
    flat = xp.reshape(moved, (_prod(sizes),) + tuple(a.shape[i] for i in rest))
    linear = xp.zeros(shape, dtype=ns.default_int, device=getattr(a, "device", None))
    for t, n in zip(arrays, sizes, strict=True):
        linear = linear * n + xp.broadcast_to(t % n if n else t, shape)
    adjacent = pos == list(range(pos[0], pos[-1] + 1))
    return flat, xp.reshape(linear, (-1,)), shape, (pos[0] if adjacent else 0), rest


def _prod(xs):
    n = 1
    for x in xs:
        n *= x
    return n


@impl("index")
def index(ns, a, indices):
    xp = ns.xp
    flat, linear, shape, at, rest = _advanced(ns, a, tuple(indices))
    r = xp.take(flat, linear, axis=0) if flat.shape[0] else \
        xp.empty((0,) + flat.shape[1:], dtype=a.dtype)
    r = xp.reshape(r, tuple(shape) + tuple(flat.shape[1:]))
    if at:  # adjacent index arrays replace their dims in place
        nb = len(shape)
        order = tuple(range(nb, nb + at)) + tuple(range(nb)) + tuple(range(nb + at, r.ndim))
        r = xp.permute_dims(r, order)
    return r


@impl("index_put_")
def index_put_(ns, a, indices, values, accumulate=False):
    xp = ns.xp
    flat, linear, shape, at, rest = _advanced(ns, a, tuple(indices))
    if linear.shape[0] == 0:
        return  # an empty index writes nothing (and reshape(0, -1) is ambiguous)
    nb = len(shape)
    tail = tuple(flat.shape[1:])
    if at:  # values come in result order: bring the index dims to the front
        res = tuple(a.shape[i] for i in rest[:at]) + tuple(shape) + tuple(
            a.shape[i] for i in rest[at:])
        v = xp.broadcast_to(values, res)
        order = tuple(range(at, at + nb)) + tuple(range(at)) + tuple(range(at + nb, len(res)))
        v = xp.permute_dims(v, order)
    else:
        v = xp.broadcast_to(values, tuple(shape) + tail)
    v = xp.reshape(v, (linear.shape[0],) + tail)
    new = _put_rows(ns, flat, linear, v, accumulate)
    pos = [i for i, t in enumerate(indices) if t is not None]
    order = tuple(pos) + tuple(rest)
    inverse = tuple(order.index(i) for i in range(a.ndim))
    a[...] = xp.permute_dims(xp.reshape(new, tuple(a.shape[i] for i in order)), inverse)


def accumulating_index_put(add_at: Callable, refuses: type | tuple = (TypeError,
                                                                     NotImplementedError)
                           ) -> Callable:
    """An ``index_put_`` implementation (for ``implementations=``) that adds through
    the library's own unbuffered scatter-add, ``add_at(array, index_tuple, values)``
    in place with repeated positions summed: numpy's ``np.add.at``,
    ``cupyx.scatter_add``.  ``scatter_add``, ``index_add``, ``index_put(...,
    accumulate=True)`` and the backward of every pick op (gather, index, embedding,
    max-pool ...) reach it through the core's decompositions, so one entry gives them
    all the library's O(n) scatter.

    Writes without ``accumulate``, index tuples that hold no array, and dtypes the
    library's scatter refuses (an exception of a type in ``refuses``, raised before it
    writes: cupy's scatter_add takes no bool, int8 or int16) take the kit's own
    sort-and-segment-sum path."""
    def index_put_(ns, a, indices, values, accumulate=False):
        indices = tuple(indices)
        if not accumulate or all(t is None for t in indices):
            return IMPLEMENTATIONS["index_put_"](ns, a, indices, values, accumulate)
        xp = ns.xp
        # ember's index tuples: int arrays, None for a whole dimension (NumPy's rules
        # place the result's dims as the library's indexing does); negative positions
        # wrap, as the kit's own path wraps them
        key = tuple(slice(None) if t is None else
                    (_as_int(ns, t) % a.shape[d] if a.shape[d] else _as_int(ns, t))
                    for d, t in enumerate(indices))
        v = values if values.dtype == a.dtype else xp.astype(values, a.dtype)
        try:
            index_put_.add_at(a, key, v)  # (read here: a test may watch it)
        except refuses:
            return IMPLEMENTATIONS["index_put_"](ns, a, indices, values, accumulate)
    index_put_.add_at = add_at
    return index_put_


@impl("erf")
def erf(ns, a):
    """The standard has no error function: a Taylor series below |x| = 3 and the
    asymptotic expansion of erfc above, in float64 where the library has it (error
    below 1e-12 in float64)."""
    xp = ns.xp
    wide = ns.dtypes.get(_dt.float64, a.dtype)
    x = xp.astype(a, wide)
    ax = xp.abs(x)
    small = xp.minimum(ax, ns.operand(3.0, x))
    x2 = small * small
    term, total = small, small
    for n in range(1, 80):
        term = -term * x2 / n
        total = total + term / (2 * n + 1)
    series = total * (2.0 / math.sqrt(math.pi))
    big = xp.maximum(ax, ns.operand(3.0, x))
    inv = 1.0 / (2.0 * big * big)
    acc, t = xp.ones_like(big), xp.ones_like(big)
    for n in range(1, 12):
        t = -t * (2 * n - 1) * inv
        acc = acc + t
    tail = 1.0 - xp.exp(-big * big) / (big * math.sqrt(math.pi)) * acc
    r = xp.where(ax < 3.0, series, tail)
    r = xp.where(x < 0, -r, r)
    r = xp.where(xp.isnan(x), x, r)
    return xp.astype(r, a.dtype)


# -- complex numbers ----------------------------------------------------------------------
@impl("view_as_real")
def view_as_real(ns, a):
    # The standard has no views across dtypes: a new array of the parts.
    xp = ns.xp
    return xp.stack([xp.real(a), xp.imag(a)], axis=-1)


@impl("view_as_complex")
def view_as_complex(ns, a):
    # The standard cannot build a complex number from its parts but by arithmetic
    # (re + 1j * im), which turns an infinite imaginary part into NaN + inf j; the
    # exact pairing is made on the host (a copy each way, stated in
    # docs/writing-a-backend.md).
    import numpy as np
    host = ns.to_numpy(a)
    out = np.ascontiguousarray(host).view(np.result_type(host.dtype, np.complex64))[..., 0]
    # (a copy, not np.ascontiguousarray: that makes a 0-d result 1-d)
    return ns.from_numpy(out.copy(order="C"), _device_index(ns, a))


def _device_index(ns, a) -> int:
    dev = getattr(a, "device", None)
    for i, d in enumerate(ns.devices or ()):
        if d == dev:
            return i
    return 0


@impl("_view_dtype")
def _view_dtype(ns, a, dtype):
    # The standard has no reinterpretation of bytes: done on the host, a copy each way
    # (so the result does not share memory with ``a``; docs/writing-a-backend.md).  A
    # 16-bit float operand arrives as its int16 bits (ember.emulated): the same bytes.
    # A 16-bit float result the namespace lacks is returned as int16 bits, which the
    # emulation relabels.
    import numpy as np
    host = ns.to_numpy(a).copy(order="C")  # (np.ascontiguousarray makes 0-d 1-d)
    target = dtype.np if dtype in ns.dtypes or dtype.itemsize != 2 else np.dtype(np.int16)
    return ns.from_numpy(host.view(target), _device_index(ns, a))


@impl("conj_physical")
def conj_physical(ns, a):
    xp = ns.xp
    return xp.conj(a) if xp.isdtype(a.dtype, "complex floating") else xp.asarray(a, copy=True)


# -- discrete Fourier transforms (the standard's fft extension) -------------------------
def _fft(ns):
    fft = getattr(ns.xp, "fft", None)
    if fft is None:
        raise NotImplementedError(f"the {ns.device_type!r} backend's array library has no "
                                  f"fft extension (the Array API standard's optional "
                                  f"xp.fft), which ember's DFTs need")
    return fft


def _empty(ns, a, shape, dtype):
    # An empty batch transforms to an empty result (PyTorch's MKL refuses the call).
    return ns.xp.zeros(tuple(shape), dtype=dtype, device=getattr(a, "device", None))


def _complex_of(ns, a):
    xp = ns.xp
    return xp.complex64 if a.dtype in (xp.float32, xp.complex64) else xp.complex128


def _real_of(ns, a):
    xp = ns.xp
    return xp.float32 if a.dtype in (xp.float32, xp.complex64) else xp.float64


@impl("_fft_c2c")
def fft_c2c(ns, a, dim, norm, forward):
    f = _fft(ns)
    if math.prod(a.shape) == 0:
        return _empty(ns, a, a.shape, a.dtype)
    return (f.fftn if forward else f.ifftn)(a, axes=tuple(dim), norm=norm)


@impl("_fft_r2c")
def fft_r2c(ns, a, dim, norm, onesided):
    f = _fft(ns)
    xp = ns.xp
    if math.prod(a.shape) == 0:
        shape = list(a.shape)
        if onesided:
            shape[dim[-1]] = shape[dim[-1]] // 2 + 1
        return _empty(ns, a, shape, _complex_of(ns, a))
    if onesided:
        return f.rfftn(a, axes=tuple(dim), norm=norm)
    return f.fftn(xp.astype(a, _complex_of(ns, a)), axes=tuple(dim), norm=norm)


@impl("_fft_c2r")
def fft_c2r(ns, a, dim, norm, last_dim_size):
    s = [a.shape[d] for d in dim]
    s[-1] = last_dim_size
    if math.prod(a.shape) == 0:
        shape = list(a.shape)
        shape[dim[-1]] = last_dim_size
        return _empty(ns, a, shape, _real_of(ns, a))
    return _fft(ns).irfftn(a, s=tuple(s), axes=tuple(dim), norm=norm)
