"""Data types and PyTorch's type-promotion rules.

An ``ember.dtype`` names a numpy dtype (``float32`` <-> ``numpy.float32``); every
backend's native arrays (numpy, cupy, pyopencl, dpnp) report numpy dtypes, so the
mapping back from a native array to an ember dtype is one dictionary lookup.
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = [
    "dtype", "bool", "uint8", "int8", "int16", "int32", "int64",
    "float16", "bfloat16", "float32", "float64", "complex64", "complex128",
    "get_default_dtype", "set_default_dtype", "promote_types", "result_type",
    "can_cast", "finfo", "iinfo",
]

_builtin_bool = bool


class dtype:
    """A tensor element type (``ember.float32`` and friends)."""

    __slots__ = ("name", "np", "itemsize", "is_floating_point", "is_signed", "_kind")

    def __init__(self, name: str, np_dtype: np.dtype, kind: str) -> None:
        self.name = name
        self.np = np.dtype(np_dtype)
        self.itemsize = self.np.itemsize
        self._kind = kind  # "b" bool, "i" integer, "f" floating, "c" complex
        self.is_floating_point = kind == "f"
        self.is_signed = kind in "fc" or (kind == "i" and self.np.kind == "i")

    def __repr__(self) -> str:
        return f"ember.{self.name}"

    @property
    def is_complex(self) -> _builtin_bool:
        """Whether this is ``complex64`` or ``complex128`` (``torch.dtype.is_complex``)."""
        return self._kind == "c"

    def __reduce__(self):  # dtypes are singletons; pickle by name
        return (_by_name, (self.name,))


def _by_name(name: str) -> dtype:
    return _NAMES[name]


class _LazyDtype(dtype):
    """A dtype whose numpy representation comes from an optional package, imported on
    first use: ``ember.bfloat16`` exists without ``ml_dtypes``, and ``import ember`` does
    not pay for it (ml_dtypes 0.7 takes 0.6-3 s to import)."""

    __slots__ = ()
    #: called with the dtype once its numpy representation is loaded (backends whose
    #: kernels special-case it by numpy dtype keep their tables current this way)
    _listeners: list = []

    def __init__(self, name: str, itemsize: int, kind: str) -> None:
        self.name = name
        self.itemsize = itemsize
        self._kind = kind
        self.is_floating_point = kind == "f"
        self.is_signed = kind == "f"

    @property
    def np(self) -> np.dtype:
        try:
            return dtype.np.__get__(self)  # the slot, once loaded
        except AttributeError:
            pass
        try:
            import ml_dtypes
        except ImportError:
            raise ModuleNotFoundError(
                f"ember.{self.name} needs the ml_dtypes package for its host (numpy) "
                f"representation: pip install 'ember[bfloat16]' (or ml_dtypes)",
                name="ml_dtypes") from None
        np_dtype = np.dtype(getattr(ml_dtypes, self.name))
        dtype.np.__set__(self, np_dtype)
        _register_native(self)
        for listener in self._listeners:
            listener(self)
        return np_dtype

    def when_loaded(self, listener) -> None:
        """Call ``listener(self)`` once the numpy representation is loaded (now, if it
        is), without loading it."""
        self._listeners.append(listener)
        if self.loaded:
            listener(self)

    @property
    def loaded(self) -> _builtin_bool:
        """Whether the numpy representation has been imported (no import happens here)."""
        try:
            dtype.np.__get__(self)
            return True
        except AttributeError:
            return False


bool = dtype("bool", np.bool_, "b")
uint8 = dtype("uint8", np.uint8, "i")
int8 = dtype("int8", np.int8, "i")
int16 = dtype("int16", np.int16, "i")
int32 = dtype("int32", np.int32, "i")
int64 = dtype("int64", np.int64, "i")
float16 = dtype("float16", np.float16, "f")
float32 = dtype("float32", np.float32, "f")
float64 = dtype("float64", np.float64, "f")
bfloat16 = _LazyDtype("bfloat16", 2, "f")
complex64 = dtype("complex64", np.complex64, "c")
complex128 = dtype("complex128", np.complex128, "c")

_ALL = [bool, uint8, int8, int16, int32, int64, float16, bfloat16, float32, float64,
        complex64, complex128]
_NAMES = {d.name: d for d in _ALL}
_NAMES.update(half=float16, float=float32, double=float64, long=int64, int=int32,
              short=int16, cfloat=complex64, cdouble=complex128)
#: numpy dtype -> ember dtype; the hot path uses this to type native arrays.  A lazy
#: dtype enters it when its numpy representation is loaded.
FROM_NP: dict[np.dtype, dtype] = {}


def _register_native(d: dtype) -> None:
    FROM_NP[d.np] = d
    FROM_NP[d.np.type] = d  # also accept scalar types (np.float32)


for _d in _ALL:
    if not isinstance(_d, _LazyDtype):
        _register_native(_d)


_FROM_NP_get = FROM_NP.__getitem__


def from_native(native_dtype) -> dtype:
    """The ember dtype of a native dtype (a numpy dtype, a scalar type or a name)."""
    d = FROM_NP.get(native_dtype)
    if d is None:
        nd = np.dtype(native_dtype)
        d = FROM_NP.get(nd)
        if d is None and nd.name in _NAMES and isinstance(_NAMES[nd.name], _LazyDtype):
            _NAMES[nd.name].np  # noqa: B018 - an array of it exists: load and register
            d = FROM_NP.get(nd)
        if d is None:
            raise TypeError(f"ember has no dtype for native dtype {native_dtype!r}")
    return d


def lookup(native_dtype) -> dtype | None:
    """The ember dtype of a native dtype, or None where ember has none (loads a lazy
    dtype's package when an array of that dtype already exists)."""
    d = FROM_NP.get(native_dtype)
    if d is None:
        try:
            d = from_native(native_dtype)
        except TypeError:
            return None
    return d


def as_dtype(value, *, op: str = "dtype", arg: str = "dtype") -> dtype:
    """Accept an ember dtype, a numpy dtype/type, Python ``bool/int/float`` (bool, int64,
    float64, as PyTorch) or a name."""
    if isinstance(value, dtype):
        return value
    if value is _builtin_bool:
        return bool
    if value is int:
        return int64
    if value is float:  # PyTorch: dtype=float is float64, whatever the default dtype
        return float64
    if value is complex:  # (likewise complex128)
        return complex128
    if isinstance(value, str) and value in _NAMES:
        return _NAMES[value]
    try:
        return from_native(value)
    except TypeError:
        pass
    raise TypeError(f"{op}(): argument '{arg}' must be an ember.dtype, got {value!r}")


# --- promotion -------------------------------------------------------------------

_default = [float32]


def get_default_dtype() -> dtype:
    """The dtype of floating tensors made from Python floats (``float32``)."""
    return _default[0]


def set_default_dtype(d: dtype) -> None:
    """Set the default floating dtype (``float32`` or ``float64``, as in PyTorch)."""
    d = as_dtype(d)
    if not d.is_floating_point:
        raise TypeError(f"set_default_dtype(): only floating dtypes are allowed, got {d}")
    _default[0] = d
    _result_type_cached.cache_clear()
    from .dispatch import clear_cache
    _pointwise_dtypes.cache_clear()
    clear_cache()  # kernels cache promotion outcomes that depend on the default


_CATEGORY = {"b": 0, "i": 1, "f": 2, "c": 3}


def to_complex(d: dtype) -> dtype:
    """The complex dtype whose parts have floating dtype ``d`` (float64 -> complex128;
    float32, float16 and bfloat16 -> complex64: ember has no complex32)."""
    return complex128 if d is float64 or d is complex128 else complex64


def to_real(d: dtype) -> dtype:
    """The dtype of a complex dtype's parts (complex64 -> float32); others unchanged."""
    return float32 if d is complex64 else float64 if d is complex128 else d


def get_default_complex_dtype() -> dtype:
    """The dtype of complex tensors made from Python complex numbers: ``complex64``, or
    ``complex128`` when the default dtype is ``float64`` (as PyTorch)."""
    return to_complex(_default[0])


@functools.cache
def promote_types(a: dtype, b: dtype) -> dtype:
    """The smallest dtype both ``a`` and ``b`` cast to safely (``torch.promote_types``)."""
    if a is b:
        return a
    if a._kind == "c" or b._kind == "c":
        # PyTorch: the parts' width is the promotion of the floating operands' widths
        # (complex64 + float64 -> complex128); integers and bools take the complex one.
        if a._kind != "c":
            a, b = b, a
        if b._kind == "i" or b._kind == "b":
            return a
        return to_complex(promote_types(to_real(a), to_real(b)))
    if {a, b} == {bfloat16, float16}:
        return float32
    if a is bfloat16 or b is bfloat16:
        other = b if a is bfloat16 else a
        return bfloat16 if other._kind != "f" else (float32 if other is float32 else
                                                    float64 if other is float64 else float32)
    if (a is uint8 and b is int8) or (a is int8 and b is uint8):
        return int16
    if a._kind != b._kind:
        # PyTorch: the higher category decides alone (int32 + float32 -> float32, where
        # numpy would widen to float64)
        return a if _CATEGORY[a._kind] > _CATEGORY[b._kind] else b
    return FROM_NP[np.promote_types(a.np, b.np)]


def _scalar_kind(x) -> int:
    if isinstance(x, _builtin_bool):
        return 0
    if isinstance(x, int):
        return 1
    if isinstance(x, float):
        return 2
    if isinstance(x, complex):
        return 3
    raise TypeError(type(x).__name__)


def result_type(*operands) -> dtype:
    """PyTorch's result type: tensors of higher dimension dominate 0-d tensors, which
    dominate Python scalars, within each category (bool < integer < floating)."""
    key = []
    for x in operands:
        d = getattr(x, "dtype", None)
        if isinstance(d, dtype):
            key.append((d, x.ndim == 0))
        else:
            key.append((_scalar_kind(x), None))
    return _result_type_cached(tuple(key))


@functools.lru_cache(maxsize=4096)
def _result_type_cached(key) -> dtype:
    dims = [None, None, None]  # per priority: tensors, 0-d tensors, scalars
    for d, zero_dim in key:
        if zero_dim is None:
            slot = 2
            d = (bool, int64, get_default_dtype(), get_default_complex_dtype())[d]
            # Python numbers alone: the highest category's default (1 and 2.0 give
            # float32, not promote_types(int64, float32) = float64).
            if dims[2] is not None and _CATEGORY[dims[2]._kind] >= _CATEGORY[d._kind]:
                continue
            dims[2] = d
            continue
        else:
            slot = 1 if zero_dim else 0
        dims[slot] = d if dims[slot] is None else promote_types(dims[slot], d)
    # Within a higher category only the higher-priority slot decides the width.
    result = None
    for d in dims:
        if d is None:
            continue
        if result is None:
            result = d
        elif _CATEGORY[d._kind] > _CATEGORY[result._kind]:
            # A lower-priority operand of a higher category: the category rises, and the
            # width is that operand's (for Python scalars, the default dtype) -- but a
            # floating operand keeps its width when complex joins (float64 tensor + 1j
            # is complex128; PyTorch's combine_categories).
            result = to_complex(result) if d._kind == "c" and result._kind == "f" else d
    return result


def can_cast(from_: dtype, to: dtype) -> bool:
    """Whether an op's result of dtype ``from_`` may be written into ``to`` (in-place
    ops and ``out=``): PyTorch allows any cast that does not lower the category."""
    return _CATEGORY[from_._kind] <= _CATEGORY[to._kind]


class finfo:
    """Machine limits for floating dtypes (``torch.finfo``)."""

    def __init__(self, d: dtype | None = None) -> None:
        d = as_dtype(d) if d is not None else get_default_dtype()
        d = to_real(d)  # (a complex dtype's limits are its parts', as torch.finfo)
        if not d.is_floating_point:
            raise TypeError(f"finfo(): {d} is not a floating dtype")
        if d is bfloat16:
            import ml_dtypes  # (loaded by d.np, which names the extra when it is missing)
            info = ml_dtypes.finfo(d.np)
        else:
            info = np.finfo(d.np)
        self.dtype = d
        self.bits = d.itemsize * 8
        self.eps = float(info.eps)
        self.max = float(info.max)
        self.min = float(info.min)
        self.tiny = self.smallest_normal = float(info.tiny)
        self.resolution = float(info.resolution)


class iinfo:
    """Machine limits for integer dtypes (``torch.iinfo``)."""

    def __init__(self, d: dtype) -> None:
        d = as_dtype(d)
        if d._kind != "i":
            raise TypeError(f"iinfo(): {d} is not an integer dtype")
        info = np.iinfo(d.np)
        self.dtype = d
        self.bits = d.itemsize * 8
        self.max = int(info.max)
        self.min = int(info.min)


# --- converting numbers ----------------------------------------------------------

def check_fits(op: str, values, d: dtype) -> None:
    """Raise ``OpError`` unless Python or numpy numbers convert to ``d`` without overflow.

    The one rule for every conversion of values into a tensor (``tensor``, ``full``,
    ``fill_``, ``masked_fill``, item assignment), as PyTorch's ``c10::overflows``: an
    integer dtype takes integers in its range (uint8 also takes -255..-1, which wrap as
    in C) and finite floats within its range (they are truncated); bool and floating
    dtypes take every value (floats too large become inf).  ``values`` is one number or
    a numpy array of them.
    """
    if d._kind != "i":
        return
    info = iinfo(d)
    low = -info.max if not d.is_signed else info.min  # uint8: two's-complement wrap
    if isinstance(values, np.ndarray):
        if values.size == 0 or values.dtype.kind not in "iuf":
            return
        if values.dtype.kind == "f":
            values = values.astype(np.float64, copy=False)  # (NEP 50: no int bounds in f16)
            # the largest float not above info.max (float(int64 max) rounds up to 2**63)
            high = float(info.max)
            if high > info.max:
                high = np.nextafter(high, 0.0)
            with np.errstate(invalid="ignore"):  # NaN fails both comparisons: refused
                bad = ~((values >= info.min) & (values <= high))
        elif np.can_cast(values.dtype, d.np):  # every value of the array's dtype fits
            return
        else:
            values = values.astype(np.int64, copy=False)
            bad = (values < low) | (values > info.max)
        if not bad.any():
            return
        value = values[bad].flat[0].item()
    else:
        value = values
        if isinstance(value, (_builtin_bool, np.bool_)):
            return
        if isinstance(value, (float, np.floating)):
            value = float(value)
            if info.min <= value <= info.max:  # (exact: Python compares float and int exactly)
                return
        elif low <= int(value) <= info.max:
            return
    from .errors import OpError
    raise OpError(f"{op}(): value {value} cannot be converted to type {d.name} without "
                  f"overflow")


def as_c_int(value: int, d: dtype) -> int:
    """``value`` cast into integer dtype ``d`` as C casts it (two's complement wrap:
    int8 takes 1000 as -24), for numbers PyTorch casts without a range check."""
    bits = d.itemsize * 8
    v = int(value) & ((1 << bits) - 1)
    return v - (1 << bits) if d.is_signed and v >> (bits - 1) else v


# --- promotion of pointwise ops ------------------------------------------------------------

_OPERAND_NUMBERS = (_builtin_bool, int, float, complex)
_NUMBER_KIND = {_builtin_bool: 0, int: 1, float: 2, complex: 3}


@functools.lru_cache(maxsize=4096)
def _pointwise_dtypes(promotion: str, key) -> tuple:
    compute = _result_type_cached(key)
    if promotion == "int_to_float" and compute._kind in "bi":
        compute = get_default_dtype()
    if promotion == "always_bool":
        return compute, bool
    if promotion == "bool_to_long" and compute is bool:
        return int64, int64
    if promotion == "complex_to_float":  # abs: complex operands give their parts' dtype
        return compute, to_real(compute)
    return compute, compute


def pointwise_dtypes(promotion: str, operands) -> tuple:
    """``(computation dtype, result dtype)`` of a pointwise op's operands (tensors and
    Python numbers, ``None`` skipped), by PyTorch's promotion and the op's promotion
    kind (``default``, ``int_to_float``, ``always_bool``, ``bool_to_long``,
    ``complex_to_float``)."""
    key = []
    for x in operands:
        if x is None:
            continue
        if x.__class__ in _OPERAND_NUMBERS:
            key.append((_NUMBER_KIND[x.__class__], None))
        else:
            key.append((_FROM_NP_get(x._data.dtype), len(x._data.shape) == 0))
    return _pointwise_dtypes(promotion, tuple(key))
