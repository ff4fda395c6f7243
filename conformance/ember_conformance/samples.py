"""Sample inputs: host (numpy) values plus how to lay them out on the device under test.

A :class:`Sample` holds the op's arguments with every tensor given as a :class:`T` — a
numpy array and a layout (``contiguous``, ``transposed``: a permuted view of a
contiguous copy, ``expanded``: a broadcast view).  The same sample builds the device
tensors and the reference's numpy inputs, and describes itself in failure messages.
"""

from __future__ import annotations

import numpy as np

import ember

__all__ = ["T", "Sample", "values", "specials", "FLOATS", "INTS", "ALL_DTYPES", "COMPLEX"]

FLOATS = ("float32", "float64", "float16", "bfloat16")
INTS = ("int64", "int32", "int16", "int8", "uint8")
ALL_DTYPES = FLOATS + INTS + ("bool",)
#: the complex dtypes: tried by the entries of ops defined on complex numbers (the
#: op database lists them per entry, not in ALL_DTYPES)
COMPLEX = ("complex64", "complex128")


def _dtype(name: str):
    return getattr(ember, name)


class T:
    """A tensor argument: its values (host) and its layout on the device."""

    __slots__ = ("array", "layout", "requires_grad")

    def __init__(self, array: np.ndarray, layout: str = "contiguous") -> None:
        self.array = array
        self.layout = layout if array.ndim >= 2 or layout == "expanded" else "contiguous"
        self.requires_grad = False

    @property
    def dtype(self):
        return ember.dtypes.FROM_NP[self.array.dtype]

    def on(self, device) -> ember.Tensor:
        """The tensor on ``device`` (built through the device's own view kernels)."""
        a = self.array
        if self.layout == "transposed":
            order = tuple(reversed(range(a.ndim)))
            t = ember.tensor(np.ascontiguousarray(a.transpose(order)), device=device)
            return t.permute(order)
        if self.layout == "expanded" and a.ndim >= 1 and a.shape[0] > 1 and \
                (a == a[:1]).all():
            t = ember.tensor(np.ascontiguousarray(a[:1]), device=device)
            return t.expand(*a.shape)
        return ember.tensor(a, device=device)

    def host(self, upcast: bool = True, to_float: bool = False) -> np.ndarray:
        """The values for the numpy reference: floats in float64 (and everything, with
        ``to_float``, for ops that compute integers in floating point)."""
        a = self.array
        if upcast and a.dtype.kind == "c":
            return a.astype(np.complex128)
        if upcast and (a.dtype.kind == "f" or a.dtype.name == "bfloat16" or to_float):
            return a.astype(np.float64)
        return a.copy()

    def describe(self) -> str:
        a = self.array
        name = ember.dtypes.FROM_NP[a.dtype].name
        text = f"{name}{list(a.shape)}"
        if self.layout != "contiguous":
            text += f" {self.layout}"
        if a.size <= 8:
            shown = a.astype(np.float64) if a.dtype.name == "bfloat16" else a
            text += " = " + np.array2string(shown, separator=", ", threshold=8).replace("\n", "")
        return text


class Sample:
    """One call of an op: positional and keyword arguments (tensors as :class:`T`)."""

    def __init__(self, *args, note: str = "", **kwargs) -> None:
        self.args = args
        self.kwargs = kwargs
        self.note = note

    def tensors(self) -> list[T]:
        out = []
        for v in list(self.args) + list(self.kwargs.values()):
            if isinstance(v, T):
                out.append(v)
            elif isinstance(v, list) and v and all(isinstance(x, T) for x in v):
                out += v
            elif isinstance(v, tuple):
                out += [x for x in v if isinstance(x, T)]
        return out

    def on(self, device) -> tuple[tuple, dict]:
        """Arguments with device tensors."""
        return _map(self.args, lambda t: t.on(device)), \
            {k: _map1(v, lambda t: t.on(device)) for k, v in self.kwargs.items()}

    def host(self, upcast: bool = True, to_float: bool = False) -> tuple[tuple, dict]:
        """Arguments with numpy arrays, for the reference."""
        return _map(self.args, lambda t: t.host(upcast, to_float)), \
            {k: _map1(v, lambda t: t.host(upcast, to_float)) for k, v in self.kwargs.items()}

    def describe(self) -> str:
        parts = [_describe(v) for v in self.args]
        parts += [f"{k}={_describe(v)}" for k, v in self.kwargs.items()]
        return "(" + ", ".join(parts) + ")" + (f" [{self.note}]" if self.note else "")


def _map1(v, fn):
    if isinstance(v, T):
        return fn(v)
    if isinstance(v, list) and v and all(isinstance(x, T) for x in v):
        return [fn(x) for x in v]
    if isinstance(v, tuple) and any(isinstance(x, T) for x in v):  # index tuples
        return tuple(fn(x) if isinstance(x, T) else x for x in v)
    return v


def _map(args, fn):
    return tuple(_map1(v, fn) for v in args)


def _describe(v) -> str:
    if isinstance(v, T):
        return v.describe()
    if isinstance(v, list) and v and all(isinstance(x, T) for x in v):
        return "[" + ", ".join(x.describe() for x in v) + "]"
    if isinstance(v, tuple) and any(isinstance(x, T) for x in v):
        return "(" + ", ".join(_describe(x) for x in v) + ")"
    if isinstance(v, ember.dtype):
        return f"ember.{v.name}"
    return repr(v)


#: value domains: (low, high) for floats; integers use their own ranges
DOMAINS = {
    "any": (-2.0, 2.0), "positive": (0.1, 3.0), "unit": (-0.9, 0.9), "small": (-1.2, 1.2),
    "nonzero": (0.5, 2.0), "nonneg": (0.0, 3.0), "shift": (0, 3), "exponent": (0.0, 2.0),
    "above_one": (1.1, 4.0),  # acosh: real (and differentiable) above 1
}


def values(shape, dtype_name: str, rng: np.random.Generator, domain: str = "any") -> np.ndarray:
    """Random values of ``shape`` and dtype in ``domain``."""
    np_dtype = _dtype(dtype_name).np
    shape = tuple(shape)
    if dtype_name in COMPLEX:  # both parts in the domain (a positive real part for log)
        part = "float32" if dtype_name == "complex64" else "float64"
        im_domain = "any" if domain in ("positive", "nonneg", "exponent") else domain
        return (values(shape, part, rng, domain)
                + 1j * values(shape, part, rng, im_domain)).astype(np_dtype)
    if dtype_name == "bool":
        return rng.random(shape) < 0.5
    if dtype_name in INTS:
        lo, hi = {"positive": (1, 6), "nonneg": (0, 6), "shift": (0, 4),
                  "exponent": (0, 4), "above_one": (1, 6)}.get(domain, (-5, 6))
        if dtype_name == "uint8":
            lo, hi = max(lo, 0), max(hi, 10)
        if domain == "nonzero":
            v = rng.integers(1, 6, shape) * rng.choice([-1, 1] if dtype_name != "uint8"
                                                       else [1], shape)
            return v.astype(np_dtype)
        return rng.integers(lo, hi, shape).astype(np_dtype)
    lo, hi = DOMAINS.get(domain, DOMAINS["any"])
    v = rng.uniform(lo, hi, shape)
    if domain == "nonzero":
        v = v * rng.choice([-1.0, 1.0], shape)
    return v.astype(np_dtype)


def specials(dtype_name: str) -> np.ndarray | None:
    """NaN, infinities, signed zeros and large finite values (floats only)."""
    if dtype_name not in FLOATS:
        return None
    d = _dtype(dtype_name)
    big = ember.finfo(d).max / 4
    return np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.5, -2.5, big, -big],
                    dtype=np.float64).astype(d.np)


def map_tensors(sample: Sample, fn) -> Sample:
    """``sample`` with each tensor ``t`` replaced by ``fn(t, position among tensors)``."""
    count = iter(range(1 << 30))

    def one(v):
        if isinstance(v, T):
            return fn(v, next(count))
        if isinstance(v, list) and v and all(isinstance(x, T) for x in v):
            return [one(x) for x in v]
        if isinstance(v, tuple) and any(isinstance(x, T) for x in v):
            return tuple(one(x) for x in v)
        return v
    args = tuple(one(v) for v in sample.args)
    kwargs = {k: one(v) for k, v in sample.kwargs.items()}
    return Sample(*args, note=sample.note, **kwargs)
