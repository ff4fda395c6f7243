"""The helper every kit implementation receives: an Array API namespace plus the small
conversions between ember's calling convention and the standard's (dtypes, devices,
dims, Python-number operands)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .. import dtypes as _dt

__all__ = ["Namespace"]

_NUMBERS = frozenset({bool, int, float, complex})

_NAMES = ("bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16",
          "float32", "float64", "complex64", "complex128")


class Namespace:
    """An Array API namespace ``xp`` as kit implementations see it.

    ``ns.xp`` is the namespace itself; the methods translate what ember passes to
    kernels (``ember.dtype``, ``ember.device``, PyTorch-style ``dim``) into what the
    standard's functions take.
    """

    def __init__(self, xp: Any, device_type: str, devices: list,
                 host_copies: Mapping | None = None) -> None:
        self.xp = xp
        self._constants: dict = {}
        self.device_type = device_type
        self.devices = devices
        #: ember dtype -> (to_library(np_array, device), to_numpy(array)): host copies
        #: of dtypes the library cannot exchange with numpy (``host_copies=``)
        self.host_copies = {_dt.as_dtype(k): tuple(v) for k, v in (host_copies or {}).items()}
        #: ember dtype -> the namespace's dtype object, for the dtypes it has
        self.dtypes: dict = {}
        #: the namespace's dtype object -> numpy dtype (what ember reads from natives)
        self.np_dtypes: dict = {}
        for name in _NAMES:
            d = getattr(_dt, name, None)
            x = getattr(xp, name, None)
            if d is None or x is None:
                continue
            self.dtypes[d] = x
            self.np_dtypes[x] = d.np
        self.default_int = self.dtypes.get(_dt.int64)
        self.bool = self.dtypes.get(_dt.bool)

    # -- dtypes and devices -------------------------------------------------------------
    def dtype(self, d) -> Any:
        """The namespace's dtype for an ember dtype (clear error when it has none)."""
        x = self.dtypes.get(d)
        if x is None:
            x = self.dtypes.get(_dt.as_dtype(d))
            if x is None:
                raise TypeError(f"the {self.device_type!r} backend does not support dtype "
                                f"{d} (its array library has no such dtype)")
        return x

    def ember_dtype(self, xp_dtype) -> _dt.dtype:
        """The ember dtype of one of the namespace's dtypes."""
        return _dt.FROM_NP[self.np_dtypes[xp_dtype]]

    def device(self, ember_device) -> Any:
        """The namespace's device object for an ember device (``None``: its default)."""
        if not self.devices:
            return None
        idx = ember_device.index if ember_device is not None else 0
        return self.devices[idx or 0]

    def is_bool(self, a) -> bool:
        return a.dtype == self.bool

    def is_float(self, a) -> bool:
        return self.xp.isdtype(a.dtype, "real floating")

    def is_int(self, a) -> bool:
        return self.xp.isdtype(a.dtype, "integral")

    # -- arguments ------------------------------------------------------------------------
    def operand(self, value, like) -> Any:
        """``value`` as an array: Python numbers become 0-d arrays of ``like``'s dtype
        (the core has already chosen the computation dtype, so this is exact).

        The 0-d arrays are cached per (value, dtype, device): making one is the largest
        cost of a small op in some libraries (torch: ~20 us).  Kit implementations only
        read their operands, never return or write them."""
        cls = value.__class__
        if cls not in _NUMBERS and not isinstance(value, (bool, int, float, complex)):
            return value
        dt = getattr(like, "dtype", None)
        dev = getattr(like, "device", None)
        # floats by their bits: -0.0 == 0.0 but must not share a constant; NaN != NaN
        key = (cls, value.hex() if cls is float else value, dt, dev)
        try:
            c = self._constants.get(key)
        except TypeError:  # an unhashable device or dtype: no caching
            return self._constant(value, dt, dev)
        if c is None:
            if len(self._constants) >= 1024:
                self._constants.clear()
            c = self._constants[key] = self._constant(value, dt, dev)
        return c

    def _constant(self, value, dt, dev):
        # a bool array with a number, an int array with a float: the number's own kind
        if dt is not None and (dt == self.bool and not isinstance(value, bool) or
                               isinstance(value, float) and self.xp.isdtype(dt, "integral")):
            dt = None
        return self.xp.asarray(value, dtype=dt, device=dev)

    def operands(self, a, b) -> tuple:
        """Both operands of a binary op as arrays."""
        if a.__class__ in _NUMBERS or isinstance(a, (bool, int, float, complex)):
            return self.operand(a, b), b
        return a, self.operand(b, a)

    @staticmethod
    def axes(dim, ndim: int):
        """Axes for the standard's ``axis=``: ``None`` for all dims, a tuple otherwise
        (0-d tensors accept ``dim=0``/``-1``, which mean all of none)."""
        if dim is None or ndim == 0 or dim == ():
            return None
        if isinstance(dim, (list, tuple)):
            return tuple(d % ndim for d in dim)
        return dim % ndim

    def to_numpy(self, x) -> np.ndarray:
        """A numpy copy of ``x`` (DLPack where the array supports it; dtypes in
        ``host_copies`` through their ``to_numpy``)."""
        if self.host_copies:
            hook = self.host_copies.get(_dt.FROM_NP.get(self.np_dtypes.get(x.dtype)))
            if hook is not None:
                return np.array(hook[1](x), copy=True)
        try:
            host = np.from_dlpack(x)
        except (AttributeError, TypeError, BufferError, RuntimeError):
            host = np.asarray(x)
        return np.array(host, copy=True)

    def from_numpy(self, a: np.ndarray, index: int = 0) -> Any:
        """A namespace array holding a copy of ``a`` on device ``index`` (dtypes in
        ``host_copies`` through their ``to_library``)."""
        d = _dt.FROM_NP.get(a.dtype)
        if d is None or d not in self.dtypes:
            raise TypeError(f"the {self.device_type!r} backend does not support dtype "
                            f"{d.name if d is not None else a.dtype}")
        dev = self.devices[index] if self.devices else None
        hook = self.host_copies.get(d)
        if hook is not None:
            return hook[0](np.array(a, copy=True), dev)
        try:
            return self.xp.asarray(a, copy=True, device=dev)
        except Exception as e:
            if a.dtype.type.__module__ == "numpy":
                raise
            # ml_dtypes (bfloat16 ...): most libraries cannot read them from numpy
            raise TypeError(f"the {self.device_type!r} backend's array library cannot "
                            f"copy {d.name} from numpy ({type(e).__name__}: {e}); give "
                            f"ArrayAPIBackend host_copies={{ember.{d.name}: (to_library, "
                            f"to_numpy)}} (docs/writing-a-backend.md)") from e
