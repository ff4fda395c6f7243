"""ember's Python Array API standard (2024.12) namespace: ``ember.array_api``.

``Tensor.__array_namespace__()`` returns this module, so array-agnostic libraries
(scikit-learn with ``array_api_dispatch=True``, SciPy, array-api-compat users) run on
ember tensors on every device.  It holds every name of the standard:

* where PyTorch's function already means the same (``ember.sqrt``, ``ember.sum`` with
  ``axis=``/``keepdims=``), the very same function is re-exported;
* names the standard spells differently (``concat``, ``permute_dims``,
  ``bitwise_invert``, ``expand_dims`` …) are thin compositions of ember ops and are
  also exported as ``ember.<name>``, since PyTorch has nothing else by those names;
* where PyTorch and the standard disagree on a name's meaning (``sort`` returns values
  only, ``max(x, axis=0)`` returns no indices, ``std`` defaults to ``correction=0``,
  ``meshgrid`` to ``indexing='xy'``, ``can_cast`` is safe casting …) the standard's
  version lives here only and ``ember.<name>`` keeps PyTorch's meaning.  The list is
  ``PYTORCH_DIFFERENCES`` (and docs/interop.md).

Type promotion is ember's (PyTorch's) but for one rule, which the namespace's
functions take from the standard: a 0-d array takes part in promotion like any array
(``xp.add(int16[], int8[1])`` is int16; PyTorch's 0-d tensor does not widen one with
dimensions).  ``result_type`` holds that rule and ``_standard_promotion`` applies it to
the elementwise functions of two arrays (``_BINARY``); ember's own functions and the
tensor's operators keep PyTorch's.  docs/interop.md lists where the rest differs.
"""

from __future__ import annotations

import functools
import math
import builtins
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import dtypes as _dt
from .device import backends as _backends, device as _device, get_default_device
from .dlpack import from_dlpack
from . import linalg  # noqa: F401  (xp.linalg is ember.linalg)
from . import array_api_fft as fft  # noqa: F401  (the standard's fft extension)
from .errors import OpError
from .schema import registry as _registry
from .tensor import Tensor, as_tensor as _as_tensor, tensor as _tensor

__array_api_version__ = "2024.12"
_VERSIONS = ("2021.12", "2022.12", "2023.12", "2024.12")

e, pi, inf, nan, newaxis = math.e, math.pi, math.inf, math.nan, None

# The standard's dtypes that ember has (no uint16/32/64).
bool, int8, int16, int32, int64, uint8, float32, float64 = (
    _dt.bool, _dt.int8, _dt.int16, _dt.int32, _dt.int64, _dt.uint8, _dt.float32, _dt.float64)
complex64, complex128 = _dt.complex64, _dt.complex128


def finfo(type, /) -> _dt.finfo:
    """Machine limits of a floating (or complex: its parts') dtype, or of a tensor's."""
    return _dt.finfo(type.dtype if isinstance(type, Tensor) else type)


def iinfo(type, /) -> _dt.iinfo:
    """Machine limits of an integer dtype, or of a tensor's."""
    return _dt.iinfo(type.dtype if isinstance(type, Tensor) else type)


def _op(name: str):
    """The entry point of ember op ``name`` (looked up per call: ops may come late)."""
    od = _registry.get(name)
    if od is None:
        raise NotImplementedError(f"ember has no op {name!r}, which this Array API "
                                  f"function needs")
    return od.fn


def _fail(fn: str, message: str):
    raise OpError(f"{fn}(): {message}")


def _axes(fn: str, axis, ndim: int) -> tuple:
    """Normalised, sorted axes (``None``: all)."""
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    out = []
    for a in axes:
        n = builtins.max(ndim, 1)
        if not -n <= a < n:
            _fail(fn, f"argument 'axis' is out of range for a {ndim}-D tensor: {a}")
        out.append(a % n)
    if len(set(out)) != len(out):
        _fail(fn, f"argument 'axis' repeats an axis: {axis}")
    return tuple(sorted(out)) if ndim else ()


def _check(fn: str, x, arg: str = "x") -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument '{arg}' must be Tensor, not {type(x).__name__}")
    return x


# --- data types ------------------------------------------------------------------------

_KINDS = {
    "bool": lambda d: d is _dt.bool,
    "signed integer": lambda d: d._kind == "i" and d.is_signed,
    "unsigned integer": lambda d: d._kind == "i" and not d.is_signed,
    "integral": lambda d: d._kind == "i",
    "real floating": lambda d: d._kind == "f",
    "complex floating": lambda d: d._kind == "c",
    "numeric": lambda d: d._kind in "ifc",
}


def isdtype(dtype, kind) -> builtins.bool:
    """Whether ``dtype`` is of ``kind``: a dtype, a kind name ('bool', 'signed integer',
    'unsigned integer', 'integral', 'real floating', 'complex floating', 'numeric') or a
    tuple of them."""
    d = _dt.as_dtype(dtype, op="isdtype", arg="dtype")
    if isinstance(kind, tuple):
        return builtins.any(isdtype(d, k) for k in kind)
    if isinstance(kind, str):
        test = _KINDS.get(kind)
        if test is None:
            raise ValueError(f"isdtype(): unknown kind {kind!r}; expected one of "
                             f"{sorted(_KINDS)}, a dtype or a tuple of them")
        return test(d)
    return d is _dt.as_dtype(kind, op="isdtype", arg="kind")


def result_type(*arrays_and_dtypes) -> _dt.dtype:
    """The dtype the namespace's functions give for these tensors, dtypes and Python
    numbers: ember's (PyTorch's) promotion, except that a 0-d tensor counts as any
    tensor (the standard: ``int16[]`` with ``int8[1]`` is int16, where PyTorch's
    ``ember.result_type`` says int8); Python numbers stay weak."""
    if not arrays_and_dtypes:
        raise ValueError("result_type(): at least one array or dtype is required")
    key = []
    for x in arrays_and_dtypes:
        if isinstance(x, Tensor):
            key.append((x.dtype, False))  # (PyTorch's rule: x.ndim == 0, the weaker)
        elif x.__class__ in (builtins.bool, int, float, complex):
            key.append(({builtins.bool: 0, int: 1, float: 2, complex: 3}[x.__class__], None))
        else:
            key.append((_dt.as_dtype(x, op="result_type", arg="arrays_and_dtypes"), False))
    return _dt._result_type_cached(tuple(key))


def _standard_promotion(fn, first: int = 0):
    """``fn`` (PyTorch's promotion) with the standard's for its two operands
    ``args[first:first + 2]``: where a 0-d tensor meets one with dimensions and
    ``result_type`` differs from PyTorch's, both are cast to ``result_type`` first, so
    ``fn`` sees one dtype (and its own rule, ``divide`` of integers giving floats, still
    applies).  ``fn`` stays reachable as ``_PYTORCH_PROMOTION[name]``."""
    @functools.wraps(fn)
    def standard(*args, **kwargs):
        ops = args[first:first + 2]
        if (len(ops) == 2 and isinstance(ops[0], Tensor) and isinstance(ops[1], Tensor)
                and (ops[0].ndim == 0) != (ops[1].ndim == 0)):
            d = result_type(*ops)
            if d is not _dt.result_type(*ops):
                cast = tuple(o if o.dtype is d else _op("astype")(o, d) for o in ops)
                args = args[:first] + cast + args[first + 2:]
        return fn(*args, **kwargs)
    return standard


def can_cast(from_, to, /) -> builtins.bool:
    """Whether ``from_`` (a dtype or tensor) casts to ``to`` by promotion: the
    standard's safe casting (``float64`` -> ``float32`` is ``False``), unlike
    ``ember.can_cast``, which is PyTorch's same-or-higher-category rule."""
    f = from_.dtype if isinstance(from_, Tensor) else _dt.as_dtype(from_, op="can_cast")
    t = _dt.as_dtype(to, op="can_cast", arg="to")
    return _dt.promote_types(f, t) is t


def astype(x: Tensor, dtype, /, *, copy: builtins.bool = True, device=None) -> Tensor:
    """``x`` as ``dtype`` (a copy unless ``copy=False`` and nothing changes)."""
    _check("astype", x)
    d = _dt.as_dtype(dtype, op="astype")
    if device is not None:
        x = x.to(device)
    if d is x.dtype:
        return x.clone() if copy else x
    return _op("astype")(x, d)


# --- creation ------------------------------------------------------------------------------

def asarray(obj: Any, /, *, dtype=None, device=None, copy: builtins.bool | None = None
            ) -> Tensor:
    """A tensor from ``obj`` (tensor, array, DLPack producer, buffer, nested sequence,
    Python number).  Shares memory with a tensor or a CPU array when dtype and device
    allow and ``copy`` is not ``True``; ``copy=False`` raises if a copy is needed."""
    d = _dt.as_dtype(dtype, op="asarray") if dtype is not None else None
    dev = _device(device) if device is not None else None
    if copy is True:
        if isinstance(obj, Tensor):  # stays on its device: no trip through the host
            out = obj.to(device=dev, dtype=d)
            return out.clone() if out is obj else out
        return _tensor(obj, dtype=d, device=dev)
    if isinstance(obj, Tensor):
        out = obj.to(device=dev, dtype=d)
    elif isinstance(obj, np.ndarray) or hasattr(obj, "__dlpack__"):
        try:
            src = from_dlpack(obj) if not isinstance(obj, np.ndarray) else _as_tensor(obj)
        except (BufferError, TypeError):
            if copy is False:
                raise ValueError("asarray(): this object can't be shared without a copy, "
                                 "but copy=False was given") from None
            return _tensor(np.asarray(obj), dtype=d, device=dev)
        out = src.to(device=dev, dtype=d)
        obj = src
    else:
        if copy is False:
            raise ValueError(f"asarray(): a {type(obj).__name__} can't be converted "
                             f"without a copy, but copy=False was given")
        return _tensor(obj, dtype=d, device=dev)
    if copy is False and out is not obj:
        raise ValueError("asarray(): converting the input needs a copy (another dtype or "
                         "device), but copy=False was given")
    return out


def arange(start, /, stop=None, step=1, *, dtype=None, device=None) -> Tensor:
    """``[start, stop)`` by ``step`` (the standard's keyword ``stop``); a ``step``
    pointing away from ``stop`` gives an empty tensor (``ember.arange`` raises, as
    PyTorch)."""
    begin, end = (0, start) if stop is None else (start, stop)
    if step != 0 and (end - begin) * step < 0:
        # an empty range [e, e): e = begin + 0 * end + 0 * step is a float if any of
        # the three is, so the dtype rule (the numbers' kinds) sees all three
        e = begin + 0 * end + 0 * step
        return _op("arange")(e, e, step, dtype=dtype, device=device)
    return _op("arange")(start, stop, step, dtype=dtype, device=device)


def linspace(start, stop, /, num: int, *, dtype=None, device=None,
             endpoint: builtins.bool = True) -> Tensor:
    """``num`` evenly spaced values from ``start`` to ``stop`` (included unless
    ``endpoint=False``)."""
    d = _dt.as_dtype(dtype, op="linspace") if dtype is not None else _dt.get_default_dtype()
    if not isinstance(num, int) or num < 0:
        _fail("linspace", f"argument 'num' must be a non-negative int, got {num!r}")
    if "linspace" in _registry and d.is_floating_point:
        if endpoint:
            return _op("linspace")(start, stop, num, dtype=d, device=device)
        out = _op("linspace")(start, stop, num + 1, dtype=d, device=device)
        return _op("narrow")(out, 0, 0, num)
    div = (num - 1) if endpoint else num
    step = (stop - start) / div if div > 0 else 0.0
    idx = _op("arange")(num, dtype=_dt.float64, device=device)
    out = idx * step + start
    if endpoint and num > 1:
        # the last value is exactly ``stop``, not start + (num-1) * step rounded
        out = _op("where")(idx == float(num - 1), _op("full")((num,), float(stop),
                           dtype=_dt.float64, device=device), out)
    return _op("astype")(out, d) if out.dtype is not d else out


def eye(n_rows: int, n_cols: int | None = None, /, *, k: int = 0, dtype=None,
        device=None) -> Tensor:
    """A matrix with ones on the ``k``-th diagonal."""
    n_cols = n_rows if n_cols is None else n_cols
    d = _dt.as_dtype(dtype, op="eye") if dtype is not None else _dt.get_default_dtype()
    if not -n_rows < k < n_cols:  # the diagonal misses the matrix (k may exceed int64)
        return _op("zeros")((n_rows, n_cols), dtype=d, device=device)
    ar = _op("arange")
    r = ar(n_rows, dtype=_dt.int64, device=device).reshape(n_rows, 1)
    c = ar(n_cols, dtype=_dt.int64, device=device).reshape(1, n_cols)
    return _op("astype")(_op("eq")(c - r, k), d)


def empty(shape, *, dtype=None, device=None) -> Tensor:
    return _op("empty")(shape, dtype=dtype, device=device)


def zeros(shape, *, dtype=None, device=None) -> Tensor:
    return _op("zeros")(shape, dtype=dtype, device=device)


def ones(shape, *, dtype=None, device=None) -> Tensor:
    return _op("ones")(shape, dtype=dtype, device=device)


def full(shape, fill_value, *, dtype=None, device=None) -> Tensor:
    return _op("full")(shape, fill_value, dtype=dtype, device=device)


def _like(name):
    def like(x: Tensor, /, *args, dtype=None, device=None) -> Tensor:
        _check(f"{name}_like", x)
        return _op(name)(tuple(x.shape), *args, dtype=dtype or x.dtype,
                         device=device or x.device)
    like.__name__ = like.__qualname__ = f"{name}_like"
    like.__doc__ = f"``{name}`` with the shape (and by default dtype and device) of ``x``."
    return like


empty_like, zeros_like, ones_like = _like("empty"), _like("zeros"), _like("ones")
_full_like = _like("full")


def full_like(x: Tensor, /, fill_value, *, dtype=None, device=None) -> Tensor:
    """A tensor shaped like ``x`` filled with ``fill_value``."""
    return _full_like(x, fill_value, dtype=dtype, device=device)


def meshgrid(*arrays: Tensor, indexing: str = "xy") -> list[Tensor]:
    """Coordinate grids from 1-D tensors; the standard's default is ``'xy'`` (PyTorch's
    ``meshgrid`` defaults to ``'ij'``)."""
    if indexing not in ("xy", "ij"):
        _fail("meshgrid", f"argument 'indexing' must be 'xy' or 'ij', got {indexing!r}")
    for i, a in enumerate(arrays):
        _check("meshgrid", a, f"arrays[{i}]")
        if a.ndim != 1:
            _fail("meshgrid", f"argument 'arrays[{i}]' must be 1-D, got {a.ndim}-D")
    n = len(arrays)
    shape = [a.shape[0] for a in arrays]
    if indexing == "xy" and n >= 2:
        shape[0], shape[1] = shape[1], shape[0]
    out = []
    for i, a in enumerate(arrays):
        pos = i if indexing == "ij" or n < 2 or i > 1 else 1 - i
        view = [1] * n
        view[pos] = a.shape[0]
        out.append(a.reshape(tuple(view)).expand(tuple(shape)))
    return out


def tril(x: Tensor, /, *, k: int = 0) -> Tensor:
    """The lower triangle (``k``-th diagonal and below) of the last two dims."""
    return _tri("tril", x, k)


def triu(x: Tensor, /, *, k: int = 0) -> Tensor:
    """The upper triangle (``k``-th diagonal and above) of the last two dims."""
    return _tri("triu", x, k)


def _tri(name, x, k):
    _check(name, x)
    if x.ndim < 2:
        _fail(name, f"argument 'x' must have at least 2 dimensions, got {x.ndim}")
    if name in _registry:
        return _op(name)(x, k)
    m, n = x.shape[-2:]
    ar = _op("arange")
    diff = ar(n, device=x.device).reshape(1, n) - ar(m, device=x.device).reshape(m, 1)
    keep = (diff <= k) if name == "tril" else _op("gt")(diff, k - 1)
    return _op("where")(keep, x, _op("zeros")((), dtype=x.dtype, device=x.device))


# --- elementwise -----------------------------------------------------------------------------

def equal(x1, x2, /) -> Tensor:
    """``x1 == x2`` elementwise (``ember.equal`` is PyTorch's whole-tensor test)."""
    return _op("eq")(x1, x2)


def conj(x: Tensor, /) -> Tensor:
    """The complex conjugate (``x`` itself for real dtypes)."""
    return _op("conj")(_check("conj", x))


def real(x: Tensor, /) -> Tensor:
    """The real part (``x`` itself for real dtypes)."""
    return _op("real")(_check("real", x))


def imag(x: Tensor, /) -> Tensor:
    """The imaginary part (zeros for real dtypes, which PyTorch's ``imag`` refuses)."""
    x = _check("imag", x)
    return _op("imag")(x) if x.dtype.is_complex else zeros_like(x)


# The standard's elementwise functions without a PyTorch counterpart are composed here;
# the others are ember's ops (``_SAME`` below; ops/elementary.py composes the inverse
# trigonometric and hyperbolic ones, complex arguments included).

def _parts(z):
    return _op("real")(z), _op("imag")(z)


def _floats(fn: str, x1, x2):
    """``x1`` and ``x2`` (tensors or Python numbers, at least one a tensor) as tensors of
    their promoted dtype, which must be real floating."""
    if not isinstance(x1, Tensor) and not isinstance(x2, Tensor):
        raise TypeError(f"{fn}(): at least one of 'x1' and 'x2' must be a Tensor")
    d = _dt.result_type(x1, x2)  # (PyTorch's: _standard_promotion has cast 0-d operands)
    if not d.is_floating_point:
        _fail(fn, f"arguments must have a real floating point dtype, got {d}")
    like = x1 if isinstance(x1, Tensor) else x2

    def cast(v):
        if isinstance(v, Tensor):
            return v if v.dtype is d else _op("astype")(v, d)
        return _op("full")((), v, dtype=d, device=like.device)
    return cast(x1), cast(x2), d


def nextafter(x1, x2, /) -> Tensor:
    """The next representable value after ``x1`` in the direction of ``x2`` (in the
    promoted floating dtype; ``x2`` where they are equal, NaN if either is NaN).

    Composed from ops, so every backend has it: ember has no bit casts, so the spacing
    of the floating point numbers at ``x1`` comes from its binary exponent."""
    a, b, d = _floats("nextafter", x1, x2)
    info = _dt.finfo(d)
    sub = info.tiny * info.eps  # the smallest subnormal: the spacing below tiny
    where, lt, eq = _op("where"), _op("lt"), _op("eq")
    mag = _op("abs")(a)
    safe = where(eq(mag, 0), 1.0, where(_op("isfinite")(mag), mag, 1.0))
    # 2**e <= |x1| < 2**(e + 1), log2's rounding corrected by one either way
    e = _op("floor")(_op("log2")(safe))
    two = _op("full")((), 2.0, dtype=d, device=a.device)
    p2 = two ** e
    e = where(_op("gt")(p2, safe), e - 1.0, e)
    p2 = two ** e
    e = where(_op("le")(p2 * 2.0, safe), e + 1.0, e)
    p2 = two ** e
    ulp = _op("maximum")(p2 * info.eps, sub)
    up = lt(a, b)
    toward_zero = _op("logical_xor")(up, _op("ge")(a, 0))
    # just above a power of two the spacing below is half the one above (normals only)
    half = _op("logical_and")(toward_zero, _op("logical_and")(eq(safe, p2),
                                                              _op("gt")(safe, info.tiny)))
    step = where(half, ulp * 0.5, ulp)
    out = a + where(up, step, -step)
    tiny = _op("full")((), sub, dtype=d, device=a.device)  # (exact: not via a float32)
    big = _op("full")((), info.max, dtype=d, device=a.device)
    out = where(eq(a, 0), where(up, tiny, -tiny), out)
    out = where(_op("isinf")(a), where(lt(a, 0), -big, big), out)
    out = where(eq(a, b), b, out)
    return where(_op("logical_or")(_op("isnan")(a), _op("isnan")(b)), math.nan, out)


def sign(x: Tensor, /) -> Tensor:
    """-1, 0 or 1 by the sign of ``x``; NaN stays NaN (``ember.sign`` gives 0, as
    PyTorch); ``x / |x|`` (0 at 0) for complex ``x`` (PyTorch's ``sgn``)."""
    if _check("sign", x).dtype.is_complex:
        return _op("sgn")(x)
    out = _op("sign")(x)
    return _op("where")(_op("isnan")(x), x, out) if x.dtype.is_floating_point else out


def expm1(x: Tensor, /) -> Tensor:
    """``exp(x) - 1``; for complex ``x`` with the standard's special values where
    ``ember.expm1`` (as PyTorch's and numpy's) has NaN: ``-1 + 0j`` at ``-inf + i y``
    for any ``y``, ``+inf + NaN j`` at ``+inf + i inf`` and ``+inf + NaN j``, and an
    exact zero imaginary part at ``+inf + 0j`` and ``NaN + 0j``."""
    out = _op("expm1")(_check("expm1", x))
    if not x.dtype.is_complex:
        return out
    a, b = _parts(x)
    re, im = _parts(out)
    re = _op("add")(re, 0.0)  # expm1(-0 + 0j) is +0 + 0j (the standard; C99 has -0)
    where, and_ = _op("where"), _op("logical_and")
    nonfinite_b = _op("logical_not")(_op("isfinite")(b))
    ninf, pinf = _op("eq")(a, -math.inf), _op("eq")(a, math.inf)
    re = where(ninf, -1.0, where(and_(pinf, nonfinite_b), math.inf, re))
    im = where(and_(ninf, nonfinite_b), 0.0, im)  # exp(-inf) * cis(b) is 0, cis(b) NaN
    im = where(and_(_op("eq")(b, 0.0), _op("logical_not")(_op("isfinite")(a))), b, im)
    return _op("complex")(re, im)


def tanh(x: Tensor, /) -> Tensor:
    """Hyperbolic tangent; for complex ``x`` with an infinite real part and a finite
    imaginary part ``y`` the standard's ``±1 + 0j`` (the zero with ``y``'s sign), where
    ``ember.tanh`` has C99's (numpy's and PyTorch's) ``±1 + 0 sin(2y) j``."""
    out = _op("tanh")(_check("tanh", x))
    if not x.dtype.is_complex:
        return out
    a, b = _parts(x)
    re, im = _parts(out)
    edge = _op("logical_and")(_op("isinf")(a), _op("isfinite")(b))
    return _op("complex")(re, _op("where")(edge, _op("mul")(b, 0.0), im))  # b finite


def floor_divide(x1, x2, /) -> Tensor:
    """``x1 / x2`` rounded down, with the standard's values where one operand is
    infinite and the other finite: ``±inf`` for an infinite ``x1``, ``±0`` for an
    infinite ``x2`` (``ember.floor_divide``, as PyTorch, numpy and Python's ``//``, has
    NaN and ``-1`` or ``0`` there)."""
    out = _op("floor_divide")(x1, x2)
    if not out.dtype.is_floating_point:
        return out
    a, b, _ = _floats("floor_divide", x1, x2)
    isinf = _op("isinf")
    one_infinite = _op("logical_and")(_op("logical_xor")(isinf(a), isinf(b)),
                                      _op("logical_not")(_op("logical_or")(
                                          _op("isnan")(a), _op("isnan")(b))))
    # (detached: floor division has no slope, and div's backward would turn the zero
    # gradient of the unused branch into NaN at x2 = 0)
    return _op("where")(one_infinite, _op("div")(a.detach(), b.detach()), out)


def round(x: Tensor, /) -> Tensor:
    """``x`` rounded half to even; complex ``x`` part by part (the standard; PyTorch's
    ``round`` refuses complex)."""
    if _check("round", x).dtype.is_complex:
        re, im = _parts(x)
        return _op("complex")(_op("round")(re), _op("round")(im))
    return _op("round")(x)


def clip(x: Tensor, /, min=None, max=None) -> Tensor:
    """``x`` limited to ``[min, max]``; the result keeps ``x``'s dtype."""
    _check("clip", x)
    out = x
    # a NaN bound gives NaN (the standard, since 2023.12's errata): it is "chosen" too
    if min is not None:
        out = _op("where")(_op("logical_or")(out < min, _isnan(min)), _cast_like(min, x), out)
    if max is not None:
        out = _op("where")(_op("logical_or")(_op("gt")(out, max), _isnan(max)),
                           _cast_like(max, x), out)
    return out if out is not x else x.clone()


def _isnan(v) -> builtins.bool | Tensor:
    if isinstance(v, Tensor):
        return _op("isnan")(v) if v.dtype.is_floating_point else False
    return isinstance(v, float) and math.isnan(v)


def _cast_like(v, x):
    if isinstance(v, Tensor):
        return v if v.dtype is x.dtype else _op("astype")(v, x.dtype)
    return _op("full")((), v, dtype=x.dtype, device=x.device)


# --- statistical -------------------------------------------------------------------------------

def max(x: Tensor, /, *, axis=None, keepdims: builtins.bool = False) -> Tensor:
    """Maximum over ``axis`` (values only; ``ember.max(x, dim)`` also gives indices)."""
    out = _reduce_none(x, axis, "amax")
    return out if out is not None else _op("amax")(_check("max", x),
                                                   _axes("max", axis, x.ndim), keepdims)


def min(x: Tensor, /, *, axis=None, keepdims: builtins.bool = False) -> Tensor:
    """Minimum over ``axis`` (values only; ``ember.min(x, dim)`` also gives indices)."""
    out = _reduce_none(x, axis, "amin")
    return out if out is not None else _op("amin")(_check("min", x),
                                                   _axes("min", axis, x.ndim), keepdims)


def _reduce_none(x, axis, op, **kw):
    """``op`` over no axis (``axis=()``): the elementwise result, ``op`` applied over a
    new axis of size one so dtypes come out as for any reduction (``sum`` of int8 is
    int64); ``None`` for any other ``axis``.  ember's own ``dim=()`` means all dims,
    as PyTorch's."""
    if not (isinstance(axis, (tuple, list)) and len(axis) == 0):
        return None
    _check(op, x)
    return _op(op)(_op("reshape")(x, (1, *x.shape)), 0, False, **kw)


def sum(x: Tensor, /, *, axis=None, dtype=None, keepdims: builtins.bool = False) -> Tensor:
    """Sum over ``axis`` (``()``: over none, unlike ``ember.sum``'s ``dim=()``)."""
    out = _reduce_none(x, axis, "sum", dtype=dtype)
    return out if out is not None else _op("sum")(x, axis, keepdims, dtype=dtype)


def mean(x: Tensor, /, *, axis=None, keepdims: builtins.bool = False) -> Tensor:
    """Mean over ``axis`` (``()``: over none)."""
    out = _reduce_none(x, axis, "mean")
    return out if out is not None else _op("mean")(x, axis, keepdims)


def any(x: Tensor, /, *, axis=None, keepdims: builtins.bool = False) -> Tensor:
    """Whether any element over ``axis`` is true (``()``: over none)."""
    out = _reduce_none(x, axis, "any")
    return out if out is not None else _op("any")(x, axis, keepdims)


def all(x: Tensor, /, *, axis=None, keepdims: builtins.bool = False) -> Tensor:
    """Whether every element over ``axis`` is true (``()``: over none)."""
    out = _reduce_none(x, axis, "all")
    return out if out is not None else _op("all")(x, axis, keepdims)


def _moments(fn, x, axis, correction, keepdims):
    _check(fn, x)
    if not x.dtype.is_floating_point:
        _fail(fn, f"argument 'x' must have a floating point dtype, got {x.dtype}")
    axes = _axes(fn, axis, x.ndim)
    if not axes and x.ndim:  # axis=(): each element is its own sample (N = 1)
        axes = (0,)
        x = _op("reshape")(x, (1, *x.shape))
        keepdims = False
    n = math.prod(x.shape[a] for a in axes)
    from .ops.reduction import deviations  # (the variance's one centring rule)
    d, _ = deviations(x, axes)
    return _op("sum")(d * d, axes, keepdims) / builtins.max(n - correction, 0)


def var(x: Tensor, /, *, axis=None, correction: float = 0.0,
        keepdims: builtins.bool = False) -> Tensor:
    """Variance over ``axis``; the standard's default is ``correction=0`` (PyTorch's
    ``ember.var`` defaults to 1)."""
    return _moments("var", x, axis, correction, keepdims)


def std(x: Tensor, /, *, axis=None, correction: float = 0.0,
        keepdims: builtins.bool = False) -> Tensor:
    """Standard deviation over ``axis``; ``correction=0`` by default (see ``var``)."""
    return _op("sqrt")(_moments("std", x, axis, correction, keepdims))


def prod(x: Tensor, /, *, axis=None, dtype=None, keepdims: builtins.bool = False) -> Tensor:
    """Product over ``axis`` (an int, a tuple or ``None``)."""
    _check("prod", x)
    axes = _axes("prod", axis, x.ndim)
    fn = _op("prod")
    if axis is None and not keepdims:
        return fn(x, dtype=dtype)
    out = x
    for a in sorted(axes, reverse=True):
        out = fn(out, a, True, dtype=dtype)
        dtype = out.dtype  # the next axes keep it (uint8 would widen to int64 again)
    if not axes:  # (over a new axis of size one: int8 gives int64, as any product)
        out = fn(out.reshape(1, *out.shape), 0, False, dtype=dtype)
    return out if keepdims else out.reshape(tuple(s for i, s in enumerate(x.shape)
                                                  if i not in axes))


def cumulative_sum(x: Tensor, /, *, axis: int | None = None, dtype=None,
                   include_initial: builtins.bool = False) -> Tensor:
    """Running sums along ``axis`` (optional for 1-D ``x``); ``include_initial``
    prepends the empty sum (zero)."""
    return _cumulative("cumulative_sum", "cumsum", x, axis, dtype, include_initial)


def cumulative_prod(x: Tensor, /, *, axis: int | None = None, dtype=None,
                    include_initial: builtins.bool = False) -> Tensor:
    """Running products along ``axis``; ``include_initial`` prepends one."""
    return _cumulative("cumulative_prod", "cumprod", x, axis, dtype, include_initial)


def _cumulative(fn, op, x, axis, dtype, include_initial):
    _check(fn, x)
    if axis is None:
        if x.ndim > 1:
            _fail(fn, f"argument 'axis' is required for a {x.ndim}-D tensor")
        axis = 0
    if x.ndim == 0:
        x = x.reshape(1)
    out = _op(op)(x, axis, dtype=dtype)
    if include_initial:
        shape = list(out.shape)
        shape[axis % x.ndim] = 1
        fill = _op("zeros" if op == "cumsum" else "ones")
        out = _op("cat")([fill(tuple(shape), dtype=out.dtype, device=out.device), out], axis)
    return out


# --- searching, sorting, sets --------------------------------------------------------------

def argmax(x: Tensor, /, *, axis: int | None = None, keepdims: builtins.bool = False):
    """Index of the first maximum (over the flattened tensor if ``axis`` is None)."""
    return _op("argmax")(x, axis, keepdims)


def argmin(x: Tensor, /, *, axis: int | None = None, keepdims: builtins.bool = False):
    """Index of the first minimum (over the flattened tensor if ``axis`` is None)."""
    return _op("argmin")(x, axis, keepdims)


def sort(x: Tensor, /, *, axis: int = -1, descending: builtins.bool = False,
         stable: builtins.bool = True) -> Tensor:
    """Sorted values along ``axis`` (``ember.sort`` also returns the indices)."""
    return _op("sort")(_check("sort", x), axis, descending, stable=stable)[0]


def argsort(x: Tensor, /, *, axis: int = -1, descending: builtins.bool = False,
            stable: builtins.bool = True) -> Tensor:
    """Indices that sort ``x`` along ``axis`` (stable by default, as the standard)."""
    return _op("sort")(_check("argsort", x), axis, descending, stable=stable)[1]


def nonzero(x: Tensor, /) -> tuple[Tensor, ...]:
    """A tuple of index tensors, one per dimension (``ember.nonzero`` returns one 2-D
    tensor, as PyTorch)."""
    _check("nonzero", x)
    if x.ndim == 0:
        _fail("nonzero", "argument 'x' must have at least one dimension")
    idx = _op("nonzero")(x)
    return tuple(idx[:, i] for i in range(x.ndim))


def searchsorted(x1: Tensor, x2: Tensor, /, *, side: str = "left", sorter=None) -> Tensor:
    """Insertion points of ``x2`` in the 1-D sorted ``x1`` (``side`` 'left'/'right')."""
    _check("searchsorted", x1, "x1")
    if side not in ("left", "right"):
        _fail("searchsorted", f"argument 'side' must be 'left' or 'right', got {side!r}")
    if x1.ndim != 1:
        _fail("searchsorted", f"argument 'x1' must be 1-D, got {x1.ndim}-D")
    if sorter is not None:
        x1 = take(x1, sorter)
    if "searchsorted" in _registry:
        return _op("searchsorted")(x1, x2, side=side)
    return _count_sorted_before(x1, x2, side)


#: above this many (sequence x values) pairs, searchsorted merges instead of comparing
_MERGE_ABOVE = 1 << 16


def _count_sorted_before(x1, x2, side: str) -> Tensor:
    """For each value of ``x2``, how many elements of the sorted last dimension of ``x1``
    sort before it (NaNs sort last, as in numpy); ``x1``'s leading dimensions, if any,
    match ``x2``'s (``ember.searchsorted``'s rows).  Small cases compare every pair
    (``x1.shape[-1] * x2.numel()`` booleans, the fastest there); larger ones merge by a
    stable sort, in memory linear in the inputs."""
    if isinstance(x2, Tensor) and x1.shape[-1] * x2.numel() > _MERGE_ABOVE:
        return _merge_count(x1, x2, side)
    v = _op("unsqueeze")(x2, -1) if isinstance(x2, Tensor) else x2
    if x1.ndim > 1:
        x1 = _op("unsqueeze")(x1, -2)
    if side == "left":
        before = _op("lt")(x1, v)
        if x1.dtype.is_floating_point:
            before = _op("logical_or")(before, _op("logical_and")(
                _op("isnan")(v), _op("logical_not")(_op("isnan")(x1))))
    else:
        before = _op("le")(x1, v)
        if x1.dtype.is_floating_point:
            before = _op("logical_or")(before, _op("isnan")(v))
    return _op("sum")(before, -1)


def _merge_count(x1, x2, side: str) -> Tensor:
    """``_count_sorted_before`` by merging: the values and the sequence sorted together
    (stably, the values placed first for ``left`` so that they precede equal elements,
    last for ``right``); a value's position in the merged order minus its rank among
    the values is the count of sequence elements before it.  O((S + V) log) time."""
    d = result_type(x1, x2)
    x1 = x1 if x1.dtype is d else _op("astype")(x1, d)
    x2 = x2 if x2.dtype is d else _op("astype")(x2, d)
    shape = tuple(x2.shape)
    rows = x1.ndim > 1
    v = x2 if rows else _op("reshape")(x2, (-1,))
    n = v.shape[-1]
    parts = [v, x1] if side == "left" else [x1, v]
    keys = _op("cat")(parts, -1)
    argsort = _op("argsort")
    rank = argsort(argsort(keys, -1, stable=True), -1, stable=True)  # inverse permutation
    start = 0 if side == "left" else x1.shape[-1]
    position = _op("narrow")(rank, -1, start, n)
    among = argsort(argsort(v, -1, stable=True), -1, stable=True)
    return _op("reshape")(_op("sub")(position, among), shape)


def _unique(x, fn):
    _check(fn, x)
    return _op("_unique_all")(x)


def unique_values(x: Tensor, /) -> Tensor:
    """The distinct values of ``x``, sorted, flattened (NaNs are all distinct)."""
    return _unique(x, "unique_values")[0]


def unique_counts(x: Tensor, /):
    """``(values, counts)`` of the distinct values of ``x``."""
    v, _, _, c = _unique(x, "unique_counts")
    return UniqueCountsResult(v, c)


def unique_inverse(x: Tensor, /):
    """``(values, inverse_indices)``: ``values[inverse_indices]`` rebuilds ``x``."""
    v, _, inv, _ = _unique(x, "unique_inverse")
    return UniqueInverseResult(v, inv)


def unique_all(x: Tensor, /):
    """``(values, indices, inverse_indices, counts)`` of the distinct values."""
    return UniqueAllResult(*_unique(x, "unique_all"))


def count_nonzero(x: Tensor, /, *, axis=None, keepdims: builtins.bool = False) -> Tensor:
    """How many elements along ``axis`` are not zero (as int64)."""
    _check("count_nonzero", x)
    nz = x if x.dtype is _dt.bool else _op("astype")(x, _dt.bool)
    return _op("sum")(nz, _axes("count_nonzero", axis, x.ndim), keepdims)


# --- manipulation ------------------------------------------------------------------------------

def reshape(x: Tensor, /, shape, *, copy: builtins.bool | None = None) -> Tensor:
    """``x`` with a new shape (a copy if ``copy=True``)."""
    out = _op("reshape")(_check("reshape", x), tuple(shape))
    if copy:
        return out.clone()
    if copy is False and isinstance(out._data, np.ndarray) and x.numel() \
            and not np.may_share_memory(out._data, x._data):  # other runtimes: trusted
        raise ValueError("reshape(): the new shape needs a copy, but copy=False was given")
    return out


def permute_dims(x: Tensor, /, axes: Sequence[int]) -> Tensor:
    """``x`` with its axes reordered (``Tensor.permute``)."""
    return _op("permute")(_check("permute_dims", x), tuple(axes))


def matrix_transpose(x: Tensor, /) -> Tensor:
    """The transpose of the last two dimensions (``x.mT``)."""
    _check("matrix_transpose", x)
    if x.ndim < 2:
        _fail("matrix_transpose", f"argument 'x' must have at least 2 dimensions, got "
                                  f"{x.ndim}")
    return _op("transpose")(x, -2, -1)


def expand_dims(x: Tensor, /, axis: int = 0) -> Tensor:
    """``x`` with a new axis of size one at ``axis`` (``Tensor.unsqueeze``); ``axis``
    may be passed by position or keyword.  An ``axis`` out of range raises
    ``IndexError``, as the standard asks."""
    _check("expand_dims", x)
    n = x.ndim + 1
    if not -n <= axis < n:
        raise IndexError(f"expand_dims(): argument 'axis' is out of range for a "
                         f"{x.ndim}-D tensor: {axis} (expected in [{-n}, {n - 1}])")
    shape = list(x.shape)
    shape.insert(axis % n, 1)
    return _op("reshape")(x, tuple(shape))


def squeeze(x: Tensor, /, axis) -> Tensor:
    """``x`` without the axes ``axis``, which must have size one (``ember.squeeze``
    silently keeps axes of other sizes, as PyTorch)."""
    _check("squeeze", x)
    axes = _axes("squeeze", axis, x.ndim)
    for a in axes:
        if x.shape[a] != 1:
            _fail("squeeze", f"cannot squeeze axis {a}: its size is {x.shape[a]}, not 1")
    return _op("reshape")(x, tuple(s for i, s in enumerate(x.shape) if i not in axes))


def moveaxis(x: Tensor, source, destination, /) -> Tensor:
    """``x`` with axes ``source`` moved to ``destination`` (ints or tuples)."""
    _check("moveaxis", x)
    src = source if isinstance(source, (tuple, list)) else (source,)
    dst = destination if isinstance(destination, (tuple, list)) else (destination,)
    if len(src) != len(dst):
        _fail("moveaxis", f"'source' and 'destination' must have the same number of "
                          f"elements, got {len(src)} and {len(dst)}")
    n = x.ndim
    src = [_axes("moveaxis", s, n)[0] for s in src]
    dst = [_axes("moveaxis", d, n)[0] for d in dst]
    order = [i for i in range(n) if i not in src]
    for d, s in sorted(zip(dst, src, strict=True)):
        order.insert(d, s)
    return _op("permute")(x, tuple(order))


def broadcast_to(x: Tensor, /, shape) -> Tensor:
    """A broadcast view of ``x`` with ``shape``."""
    return _op("expand")(_check("broadcast_to", x), tuple(shape))


def broadcast_arrays(*arrays: Tensor) -> list[Tensor]:
    """The tensors broadcast against each other (views)."""
    from .ops._rules import broadcast_shapes
    for i, a in enumerate(arrays):
        _check("broadcast_arrays", a, f"arrays[{i}]")
    shape = broadcast_shapes(*(tuple(a.shape) for a in arrays), op="broadcast_arrays")
    return [_op("expand")(a, shape) for a in arrays]


def broadcast_shapes(*shapes) -> tuple:
    """The shape ``shapes`` broadcast to."""
    from .ops._rules import broadcast_shapes as bs
    return bs(*(tuple(s) for s in shapes))


def concat(arrays, /, *, axis: int | None = 0) -> Tensor:
    """Join tensors along ``axis`` (``None``: flatten them first)."""
    arrays = list(arrays)
    if axis is None:
        return _op("cat")([a.reshape(-1) for a in arrays], 0)
    return _op("cat")(arrays, axis)


def stack(arrays, /, *, axis: int = 0) -> Tensor:
    """Join tensors along a new axis."""
    return _op("stack")(list(arrays), axis)


def unstack(x: Tensor, /, *, axis: int = 0) -> tuple[Tensor, ...]:
    """The slices of ``x`` along ``axis`` (``Tensor.unbind``)."""
    _check("unstack", x)
    a = _axes("unstack", axis, x.ndim)[0]
    moved = moveaxis(x, a, 0)
    return tuple(moved[i] for i in range(x.shape[a]))


def flip(x: Tensor, /, *, axis=None) -> Tensor:
    """``x`` reversed along ``axis`` (all axes by default)."""
    _check("flip", x)
    axes = _axes("flip", axis, x.ndim)
    if "flip" in _registry:
        return _op("flip")(x, axes)
    for a in axes:  # gather in reverse order: runs (and differentiates) everywhere
        n = x.shape[a]
        x = _op("index_select")(x, a, _op("arange")(n - 1, -1, -1, device=x.device))
    return x if axes else x.clone()


def roll(x: Tensor, /, shift, *, axis=None) -> Tensor:
    """``x`` rolled by ``shift`` along ``axis`` (flattened if ``None``)."""
    _check("roll", x)
    shifts = tuple(shift) if isinstance(shift, (tuple, list)) else (shift,)
    if axis is None:
        if len(shifts) != 1:
            _fail("roll", "argument 'shift' must be an int when 'axis' is None")
        return roll(x.reshape(-1), shifts[0], axis=0).reshape(tuple(x.shape))
    axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    if len(shifts) == 1 and len(axes) > 1:
        shifts = shifts * len(axes)
    if len(shifts) != len(axes):
        _fail("roll", f"'shift' and 'axis' must have the same length, got {len(shifts)} "
                      f"and {len(axes)}")
    axes = tuple(_axes("roll", a, x.ndim)[0] for a in axes)
    if "roll" in _registry:
        return _op("roll")(x, shifts, axes)
    for s, a in zip(shifts, axes, strict=True):
        n = x.shape[a]
        if n:
            idx = _op("remainder")(_op("arange")(n, device=x.device) - int(s), n)
            x = _op("index_select")(x, a, idx)
    return x


def tile(x: Tensor, repetitions, /) -> Tensor:
    """``x`` repeated ``repetitions[i]`` times along each axis."""
    _check("tile", x)
    reps = tuple(repetitions)
    n = builtins.max(len(reps), x.ndim)
    reps = (1,) * (n - len(reps)) + reps
    shape = (1,) * (n - x.ndim) + tuple(x.shape)
    pairs = list(zip(reps, shape, strict=True))
    # (1, s0, 1, s1 …) broadcast to (r0, s0, r1, s1 …), then merged pairwise
    inter = tuple(v for _, s in pairs for v in (1, s))
    big = tuple(v for r, s in pairs for v in (r, s))
    out = x.reshape(inter).expand(big)
    return out.reshape(tuple(r * s for r, s in pairs))


def repeat(x: Tensor, repeats, /, *, axis: int | None = None) -> Tensor:
    """Each element repeated ``repeats`` times (an int, or a 1-D tensor of counts)
    along ``axis`` (the flattened tensor if ``None``); ``Tensor.repeat`` is ``tile``."""
    _check("repeat", x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    a = _axes("repeat", axis, x.ndim)[0]
    if isinstance(repeats, Tensor) and repeats.ndim == 1 and repeats.shape[0] != 1:
        if repeats.shape[0] != x.shape[a]:
            _fail("repeat", f"argument 'repeats' has {repeats.shape[0]} counts, but axis "
                            f"{a} has size {x.shape[a]}")
        ends = _op("cumsum")(repeats, 0)
        total = int(ends[-1].item()) if repeats.shape[0] else 0
        pos = _op("arange")(total, device=x.device)
        idx = searchsorted(ends, pos, side="right")
        return take(x, idx, axis=a)
    r = int(repeats)
    if r < 0:
        _fail("repeat", f"argument 'repeats' must be non-negative, got {r}")
    shape = tuple(x.shape)
    out = x.reshape(shape[:a + 1] + (1,) + shape[a + 1:])
    out = out.expand(shape[:a + 1] + (r,) + shape[a + 1:])
    return out.reshape(shape[:a] + (shape[a] * r,) + shape[a + 1:])


def take(x: Tensor, indices: Tensor, /, *, axis: int | None = None) -> Tensor:
    """Elements of ``x`` at ``indices`` along ``axis`` (optional for 1-D ``x``)."""
    _check("take", x)
    _check("take", indices, "indices")
    if axis is None:
        if x.ndim != 1:
            _fail("take", f"argument 'axis' is required for a {x.ndim}-D tensor")
        axis = 0
    if indices.ndim != 1:
        _fail("take", f"argument 'indices' must be 1-D, got {indices.ndim}-D")
    return _op("index_select")(x, axis, _from_end(indices, x.shape[axis] if x.ndim else 1))


def _from_end(indices: Tensor, size: int) -> Tensor:
    """``indices`` with the negative ones counted from the end of a dim of ``size``, as
    the standard says for ``take`` and ``take_along_axis`` (``index_select`` and
    ``gather``, as PyTorch's, refuse them)."""
    return _op("where")(_op("lt")(indices, 0), indices + size, indices)


def take_along_axis(x: Tensor, indices: Tensor, /, *, axis: int = -1) -> Tensor:
    """Elements of ``x`` at ``indices`` (same rank) along ``axis`` (``gather``); the
    other dims broadcast against each other, as the standard (and
    ``torch.take_along_dim``) say."""
    _check("take_along_axis", x)
    _check("take_along_axis", indices, "indices")
    if indices.ndim != x.ndim:
        _fail("take_along_axis", f"argument 'indices' must have the rank of 'x' "
                                 f"({x.ndim}), got {indices.ndim}")
    a = _axes("take_along_axis", axis, x.ndim)[0] if x.ndim else 0
    xs, js = list(x.shape), list(indices.shape)
    if x.ndim:
        xs[a] = js[a] = 1
        both = broadcast_shapes(xs, js)
        x = _op("expand")(x, both[:a] + (x.shape[a],) + both[a + 1:])
        indices = _op("expand")(indices, both[:a] + (indices.shape[a],) + both[a + 1:])
    return _op("gather")(x, a, _from_end(indices, x.shape[a] if x.ndim else 1))


def diff(x: Tensor, /, *, axis: int = -1, n: int = 1, prepend=None, append=None) -> Tensor:
    """The ``n``-th forward difference along ``axis``."""
    _check("diff", x)
    a = _axes("diff", axis, x.ndim)[0]
    parts = [p for p in (prepend, x, append) if p is not None]
    if len(parts) > 1:
        x = _op("cat")(parts, a)
    for _ in range(n):
        m = x.shape[a]
        lo = tuple(slice(None) if i != a else slice(0, m - 1) for i in range(x.ndim))
        hi = tuple(slice(None) if i != a else slice(1, m) for i in range(x.ndim))
        x = x[hi] - x[lo] if x.dtype is not _dt.bool else _op("ne")(x[hi], x[lo])
    return x


# --- linear algebra in the main namespace --------------------------------------------------

def matmul(x1: Tensor, x2: Tensor, /) -> Tensor:
    """Matrix product (promoting mixed dtypes first, as the standard's ``@``)."""
    d = result_type(x1, x2)
    if x1.dtype is not d:
        x1 = _op("astype")(x1, d)
    if x2.dtype is not d:
        x2 = _op("astype")(x2, d)
    return _op("matmul")(x1, x2)


def vecdot(x1: Tensor, x2: Tensor, /, *, axis: int = -1) -> Tensor:
    """Dot products of vectors along ``axis`` (broadcasting the others)."""
    _check("vecdot", x1, "x1")
    _check("vecdot", x2, "x2")
    if x1.shape[axis] != x2.shape[axis]:
        _fail("vecdot", f"'x1' and 'x2' must have the same size along axis {axis}, got "
                        f"{x1.shape[axis]} and {x2.shape[axis]}")
    # the standard: the promoted dtype (ember.sum would widen integers to int64); and
    # conj(x1) for complex vectors
    prod = _op("conj")(x1) * x2
    return _op("sum")(prod, axis, dtype=prod.dtype)


def tensordot(x1: Tensor, x2: Tensor, /, *, axes=2) -> Tensor:
    """Sum of products over ``axes`` (an int: the last/first ``axes`` axes; or a
    pair of axis sequences)."""
    _check("tensordot", x1, "x1")
    _check("tensordot", x2, "x2")
    if isinstance(axes, int):
        if axes < 0:
            _fail("tensordot", f"argument 'axes' must be non-negative, got {axes}")
        a1 = list(range(x1.ndim - axes, x1.ndim))
        a2 = list(range(axes))
    else:
        a1 = [a % x1.ndim for a in axes[0]]
        a2 = [a % x2.ndim for a in axes[1]]
    if len(a1) != len(a2) or builtins.any(
            x1.shape[i] != x2.shape[j] for i, j in zip(a1, a2, strict=True)):
        _fail("tensordot", f"contracted axes {a1} of {list(x1.shape)} and {a2} of "
                           f"{list(x2.shape)} must have equal sizes")
    free1 = [i for i in range(x1.ndim) if i not in a1]
    free2 = [i for i in range(x2.ndim) if i not in a2]
    k = math.prod(x1.shape[i] for i in a1)
    m = math.prod(x1.shape[i] for i in free1)
    n = math.prod(x2.shape[i] for i in free2)
    left = _op("permute")(x1, tuple(free1 + a1)).reshape(m, k)
    right = _op("permute")(x2, tuple(a2 + free2)).reshape(k, n)
    out = matmul(left, right)
    return out.reshape(tuple(x1.shape[i] for i in free1) + tuple(x2.shape[i] for i in free2))


# --- results, info -------------------------------------------------------------------------------

def _result(name, fields):
    from collections import namedtuple
    return namedtuple(name, fields)


UniqueAllResult = _result("UniqueAllResult", "values indices inverse_indices counts")
UniqueCountsResult = _result("UniqueCountsResult", "values counts")
UniqueInverseResult = _result("UniqueInverseResult", "values inverse_indices")

_STANDARD_DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "float32",
                    "float64", "complex64", "complex128")


class _Info:
    """What ``__array_namespace_info__()`` returns: capabilities, devices, dtypes."""

    __module__ = "ember.array_api"

    def capabilities(self) -> dict:
        return {"boolean indexing": True, "data-dependent shapes": True,
                "max dimensions": 64}

    def default_device(self):
        return get_default_device()

    def devices(self) -> list:
        out = []
        for name, b in _backends().items():
            if name == "meta" or not b.is_available():
                continue
            out += [_device(name)] if not b.indexed else \
                [_device(name, i) for i in range(b.device_count())]
        return out

    def default_dtypes(self, *, device=None) -> dict:
        return {"real floating": _dt.get_default_dtype(),
                "complex floating": _dt.get_default_complex_dtype(),
                "integral": _dt.int64, "indexing": _dt.int64}

    def dtypes(self, *, device=None, kind=None) -> dict:
        from .device import get_backend
        dev = _device(device) if device is not None else get_default_device()
        supported = get_backend(dev.type).supported_dtypes
        out = {}
        for n in _STANDARD_DTYPES:
            d = _dt._NAMES[n]
            if supported is not None and d not in supported:
                continue
            if kind is None or isdtype(d, kind):
                out[n] = d
        return out


def __array_namespace_info__() -> _Info:
    """Inspection API of the standard: capabilities, devices, dtypes."""
    return _Info()


# --- names that mean the same in ember (PyTorch) and in the standard -------------------------
#: standard name -> ember op implementing it
_SAME = {n: n for n in (
    "abs acos acosh add asin asinh atan atan2 atanh bitwise_and bitwise_left_shift "
    "bitwise_or bitwise_right_shift bitwise_xor ceil copysign cos cosh exp floor "
    "hypot isfinite isinf isnan log log10 log1p log2 logaddexp logical_and "
    "logical_not logical_or logical_xor maximum minimum pow reciprocal "
    "remainder signbit sin sinh sqrt square tan trunc where").split()}
_SAME.update(divide="div", multiply="mul", subtract="sub", negative="neg",
             greater="gt", greater_equal="ge", less="lt", less_equal="le",
             not_equal="ne", bitwise_invert="bitwise_not", positive="positive")

for _std, _ours in _SAME.items():
    if _ours in _registry:
        globals()[_std] = _registry[_ours].fn
del _std, _ours

#: The standard's elementwise functions of two arrays (``where``: of its last two),
#: which promote a 0-d array as any array (``_standard_promotion``).
_BINARY = (
    "add", "atan2", "bitwise_and", "bitwise_left_shift", "bitwise_or",
    "bitwise_right_shift", "bitwise_xor", "copysign", "divide", "equal", "floor_divide",
    "greater", "greater_equal", "hypot", "less", "less_equal", "logaddexp", "logical_and",
    "logical_or", "logical_xor", "maximum", "minimum", "multiply", "nextafter",
    "not_equal", "pow", "remainder", "subtract", "where",
)
#: name -> the function with PyTorch's promotion (``ember.<name>`` where ember exports
#: it, and ``Tensor.__floordiv__``)
_PYTORCH_PROMOTION = {n: globals()[n] for n in _BINARY if n in globals()}
globals().update({n: _standard_promotion(f, first=1 if n == "where" else 0)
                  for n, f in _PYTORCH_PROMOTION.items()})

#: Names whose ``ember.<name>`` keeps PyTorch's meaning while this namespace has the
#: standard's (docs/interop.md says how each differs); the functions of two arrays
#: (``_BINARY``) differ in the promotion of 0-d arrays only.
PYTORCH_DIFFERENCES = tuple(sorted({
    "all", "any", "arange", "argsort", "can_cast", "clip", "diff", "equal", "expm1", "eye",
    "finfo", "flip", "floor_divide", "iinfo", "linspace", "matmul", "max", "mean",
    "meshgrid", "min", "nonzero", "repeat", "result_type", "roll", "round", "searchsorted",
    "sign", "sort", "squeeze", "std", "sum", "take", "tanh", "tensordot", "tril", "triu",
    "var", *_BINARY,
}))
_TOP_LEVEL = (
    "asarray", "isdtype", "permute_dims", "matrix_transpose", "expand_dims", "moveaxis",
    "broadcast_to", "broadcast_arrays", "concat", "vecdot", "bitwise_invert",
    "unique_values", "unique_counts", "unique_inverse", "unique_all", "cumulative_sum",
    "cumulative_prod", "tile", "take_along_axis", "unstack", "e", "pi", "inf", "nan",
    "newaxis", "divide", "multiply", "subtract", "negative", "greater", "greater_equal",
    "less", "less_equal", "not_equal", "__array_namespace_info__", "__array_api_version__",
    "empty_like", "zeros_like", "ones_like", "full_like", "count_nonzero", "stack",
    "nextafter",
)


def top_level_names(existing) -> list[str]:
    """The standard's names ``ember`` exports beside PyTorch's (those it lacks)."""
    return [n for n in _TOP_LEVEL if n not in existing and n in globals()]


def top_level_object(name: str):
    """What ``ember.<name>`` is for a name of ``top_level_names``: this namespace's
    function, with PyTorch's promotion (``ember.multiply`` is ``ember.mul``, as
    ``torch.multiply`` is ``torch.mul``)."""
    return _PYTORCH_PROMOTION.get(name, globals()[name])


# --- Tensor protocol ---------------------------------------------------------------------

def _array_namespace(self, /, *, api_version: str | None = None):
    """This module: the Array API namespace of ember tensors."""
    if api_version is not None and api_version not in _VERSIONS:
        raise ValueError(f"__array_namespace__(): unsupported api_version {api_version!r}; "
                         f"ember implements {', '.join(_VERSIONS)}")
    import sys
    return sys.modules[__name__]


def _to_device(self, device, /, *, stream=None) -> Tensor:
    """The tensor on ``device`` (the standard's ``to_device``)."""
    if stream is not None:
        raise ValueError("to_device(): ember has no streams; pass stream=None")
    return self.to(device)


def _mT(self) -> Tensor:
    return matrix_transpose(self)


def _shift_operators():
    """The standard's reflected and in-place shifts (``2 << t``, ``t <<= 1``), where
    the op table did not give ``Tensor`` them."""
    for name in ("left", "right"):
        op = _registry.get(f"bitwise_{name}_shift")
        if op is None:
            continue
        d = "l" if name == "left" else "r"
        fn = op.fn

        def reflected(self, other, _fn=fn):
            return _fn(other, self)

        def inplace(self, other, _fn=fn, _d=d):
            # the result is checked against self's shape and dtype before writing
            res = _fn(self, other)
            _check_inplace(f"__i{_d}shift__", self, res)
            return self.copy_(res)
        for dunder, impl in ((f"__r{d}shift__", reflected), (f"__i{d}shift__", inplace)):
            if dunder not in Tensor.__dict__:
                setattr(Tensor, dunder, impl)


def _check_inplace(fn: str, self, res) -> None:
    """An in-place operator's result must fit ``self`` (shape and dtype), as the standard
    says, before anything is written."""
    if tuple(res.shape) != tuple(self.shape) or not _dt.can_cast(res.dtype, self.dtype):
        _fail(fn, f"result of shape {list(res.shape)} and dtype {res.dtype} can't be "
                  f"written into a tensor of shape {list(self.shape)} and dtype {self.dtype}")


def _floordiv(self, other) -> Tensor:
    """``self // other``: division rounded down, the standard's ``floor_divide`` (``±inf``
    and ``±0`` where one operand is infinite; integer division by zero raises), with
    PyTorch's promotion as every operator of the tensor (a 0-d ``other`` does not widen)."""
    return _PYTORCH_PROMOTION["floor_divide"](self, other)


def _rfloordiv(self, other) -> Tensor:
    """``other // self`` (the standard's ``floor_divide``)."""
    return _PYTORCH_PROMOTION["floor_divide"](other, self)


def _ifloordiv(self, other) -> Tensor:
    """``self //= other`` (the standard's ``floor_divide``, written into ``self``)."""
    res = _PYTORCH_PROMOTION["floor_divide"](self, other)
    _check_inplace("__ifloordiv__", self, res)
    return self.copy_(res)


def _install_methods() -> None:
    """Attach the standard's array methods PyTorch lacks (``ember.tensor_methods``
    calls it, after the ops' methods), and ``//``/``//=`` with the standard's values at
    infinities (``floor_divide`` above; the operators belong to the standard's array
    object, ``ember.floor_divide`` and ``Tensor.floor_divide`` keep PyTorch's)."""
    Tensor.__array_namespace__ = _array_namespace
    Tensor.to_device = _to_device
    Tensor.__floordiv__, Tensor.__rfloordiv__ = _floordiv, _rfloordiv
    Tensor.__ifloordiv__ = _ifloordiv
    _shift_operators()
    if not hasattr(Tensor, "mT"):
        Tensor.mT = property(_mT, doc="The transpose of the last two dimensions.")

_NOT_STANDARD = {"np", "math", "builtins", "functools", "annotations", "Any", "Sequence", "Tensor",
                 "OpError", "get_default_device", "PYTORCH_DIFFERENCES",
                 "top_level_names", "top_level_object", "UniqueAllResult", "UniqueCountsResult",
                 "UniqueInverseResult"}
#: The standard's names this namespace has (what ``from ember.array_api import *`` gives).
__all__ = sorted([n for n in globals() if not n.startswith("_") and n not in _NOT_STANDARD]
                 + ["__array_api_version__", "__array_namespace_info__"])
