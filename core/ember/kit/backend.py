"""``ArrayAPIBackend``: an ember backend over any Python Array API namespace."""

from __future__ import annotations

import difflib
import functools
import math
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from .. import dtypes as _dt
from ..backend import Backend
from ..errors import OutOfMemoryError
from ..memory import Allocator, _fmt
from .namespace import Namespace
from .primitives import IMPLEMENTATIONS, STANDARD_NAMES

__all__ = ["ArrayAPIBackend", "KitArray", "KernelTable", "AccountingAllocator",
           "primitive_ops", "missing_primitives"]


class KitArray:
    """A namespace array as ember's native array, for libraries whose dtypes are not
    numpy's (array-api-strict, ...): ember reads ``shape`` and a numpy ``dtype`` from
    natives, and the kernels the kit builds unwrap ``x`` before calling the library.

    A fresh array is counted by its device's allocator until it dies; a view keeps its
    base alive instead, so the memory statistics follow tensors' lives.
    """

    __slots__ = ("x", "shape", "dtype", "_acct", "_nbytes", "_base", "__weakref__")

    def __init__(self, x, dtype: np.dtype, acct: AccountingAllocator | None = None,
                 nbytes: int = 0, base: KitArray | None = None) -> None:
        self.x = x
        self.shape = tuple(x.shape)
        self.dtype = dtype
        self._acct = acct
        self._nbytes = nbytes
        self._base = base

    @property
    def base(self) -> KitArray | None:
        """The array this one is a view of (``None`` for a fresh array)."""
        return self._base

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    def __dlpack__(self, **kwargs):
        return self.x.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self.x.__dlpack_device__()

    def __repr__(self) -> str:
        return f"KitArray({self.x!r})"

    def __del__(self) -> None:
        a = self._acct
        if a is not None:
            self._acct = None
            a.free(self._nbytes)


class AccountingAllocator(Allocator):
    """The allocator of a namespace that allocates by itself (no raw-memory API in the
    standard): every array the backend creates is counted here for its life, so the
    ``ember.memory`` statistics work, and a ``limit`` (bytes) makes arrays beyond it
    raise ``ember.OutOfMemoryError`` as on a device.  The library owns the storage and
    ember caches none of it: reserved is allocated, ``empty_cache`` has nothing to do.
    Two integer updates per array, as the kit's every result pays them."""

    def __init__(self, device_type: str, index: int | None = 0,
                 limit: int | None = None) -> None:
        super().__init__(device_type, index)
        #: optional cap on allocated bytes (tests use it to provoke out-of-memory)
        self.limit = limit

    def malloc(self, nbytes: int) -> None:
        """Count an array of ``nbytes`` the library just made."""
        a = self.allocated + nbytes
        if self.limit is not None and a > self.limit:
            self.num_ooms += 1
            raise OutOfMemoryError(
                f"{self.device_type}:{self.index} out of memory: tried to allocate "
                f"{_fmt(nbytes)} ({_fmt(self.allocated)} allocated by ember, limit "
                f"{_fmt(self.limit)})")
        self.allocated = self.reserved = a
        self.num_allocs += 1
        if a > self.peak_allocated:
            self.peak_allocated = self.peak_reserved = a

    def free(self, nbytes: int) -> None:
        """Count the death of an array counted with ``malloc``."""
        self.allocated = self.reserved = self.allocated - nbytes
        self.num_frees += 1


def primitive_ops() -> list:
    """Every primitive op of the registry (what a backend must implement)."""
    from .. import ops  # noqa: F401  (fills the registry)
    from ..schema import registry
    return [od for od in registry.values() if od.is_primitive]


def missing_primitives(backend: Backend) -> list[str]:
    """Names of primitive ops ``backend`` owes but has no kernel for (and no
    decomposition).  A backend targeting an older plugin API (``backend.api_version``)
    does not owe the primitives added since: using one raises "needs plugin API >= X"
    (``ember.plugin_api.predates``)."""
    from ..plugin_api import predates
    return sorted(od.name for od in primitive_ops()
                  if od.name not in backend.kernels and od.decomposition is None
                  and predates(od.name, backend) is None)


def _op(name: str, where: str):
    """The registry's op ``name``; a clear error (with the nearest names) otherwise."""
    from .. import ops  # noqa: F401  (fills the registry)
    from ..schema import registry
    od = registry.get(name) if isinstance(name, str) else None
    if od is None:
        near = difflib.get_close_matches(str(name), list(registry), n=3)
        hint = f"; did you mean {', '.join(map(repr, near))}?" if near else ""
        raise ValueError(f"{where}: {name!r} is not an ember op{hint}")
    return od


class KernelTable(dict):
    """``backend.kernels`` of a kit backend: ``op name -> kernel``.

    A kernel set here (``backend.kernels["softmax"] = fn``) takes and returns the
    library's own arrays in the kernel calling convention (docs/architecture.md);
    the table adapts it to ember's natives (unwraps :class:`KitArray` arguments,
    wraps and accounts results) and refuses names that are not ember ops.  What it
    hands back is that adapted kernel, which takes either kind of array, so wrapping
    a kernel read from the table works; ``backend.library_kernel(name)`` gives the
    form over the library's arrays.
    """

    def __init__(self, backend: ArrayAPIBackend) -> None:
        super().__init__()
        self._backend = backend

    def __setitem__(self, name: str, fn: Callable) -> None:
        od = _op(name, f"{self._backend.device_type}: backend.kernels[{name!r}]")
        super().__setitem__(name, self._backend.native(fn, od))

    def update(self, *args, **kwargs) -> None:
        for name, fn in dict(*args, **kwargs).items():
            self[name] = fn

    def setdefault(self, name, fn=None):
        if name not in self:
            self[name] = fn
        return self[name]


class ArrayAPIBackend(Backend):
    """A backend whose kernels are ember's primitives written over the Array API.

    ``namespace`` is the library's Array API namespace (``array_api_strict``,
    ``numpy``, ``dpnp.tensor``, ``cupy`` ...).  Keyword arguments:

    ``device_type``      the device type string users write (required).
    ``name``             what ``ember info`` shows as the runtime.
    ``devices``          the namespace's device objects, one per ember index
                         (default: the namespace's default device only).
    ``implementations``  ``{op: impl(ns, *args)}`` for any ember op, primitive or
                         composite (a composite's entry replaces its decomposition):
                         added to or replacing the kit's table.  ``impl`` receives
                         the library's arrays and returns them.  Names that are not
                         ember ops are refused.
    ``exclude``          ops to leave without a kernel (they use their
                         decomposition, or the CPU fallback, or are reported missing).
    ``wrap``             wrap arrays in ``KitArray`` (default: when the library's
                         arrays do not report numpy dtypes).
    ``dtypes``           ember dtypes to support (default: those the library has).
    ``dtype_errors``     the exception types by which the library refuses a dtype
                         (default: any ``Exception``): a pointwise op on bool operands
                         that raises one is retried in int8, as the standard defines
                         many functions for numbers only.
    ``host_copies``      ``{ember dtype: (to_library, to_numpy)}`` for dtypes the
                         library cannot exchange with numpy by itself (torch and
                         ml_dtypes' bfloat16): ``to_library(np_array, device)``
                         returns a library array on the library's ``device``,
                         ``to_numpy(array)`` a numpy array of the dtype; both must
                         keep every bit (NaN payloads too).

    Subclasses override ``synchronize``, ``new_generator`` and ``create_allocator``
    where the library has them.  Without wrapping, the allocator only keeps counters
    unless the subclass provides one.
    """

    def __init__(self, namespace: Any, *, device_type: str, name: str | None = None,
                 devices: list | None = None,
                 implementations: dict[str, Callable] | None = None,
                 exclude: Iterable[str] = (), wrap: bool | None = None,
                 dtypes: Iterable | None = None,
                 dtype_errors: type | tuple = Exception,
                 host_copies: Mapping | None = None) -> None:
        super().__init__()
        where = f"ArrayAPIBackend(device_type={device_type!r})"
        implementations = dict(implementations or {})
        for n in implementations:
            _op(n, f"{where}: implementations=")
        exclude = set(exclude)
        for n in exclude:
            _op(n, f"{where}: exclude=")
        self.device_type = device_type
        self.name = name or f"{getattr(namespace, '__name__', 'array API')} (ember.kit)"
        if devices is None:
            devices = [_default_device(namespace)]
        self.ns = Namespace(namespace, device_type, list(devices), host_copies)
        if dtypes is not None:
            keep = set(dtypes)
            self.ns.dtypes = {d: x for d, x in self.ns.dtypes.items() if d in keep}
        self.supported_dtypes = frozenset(self.ns.dtypes)
        self.wraps = _needs_wrapping(namespace) if wrap is None else wrap
        self.dtype_errors = dtype_errors
        self._only_allocator = None
        self._array_type = None  # the library's array class (the kernels' fast path)
        if self.wraps:
            try:
                self._array_type = type(namespace.asarray(0))
            except Exception:  # no fast path: every result takes _wrap
                pass
        self._index_of = {}
        for i, d in enumerate(self.ns.devices):
            try:
                self._index_of[d] = i
            except TypeError:  # unhashable device objects: one index only
                pass
        table = dict(IMPLEMENTATIONS)
        table.update(implementations)
        self.implementations = table
        self.kernels = KernelTable(self)
        self._build(table, set(implementations), exclude)

    # -- kernels ------------------------------------------------------------------------
    def _build(self, table: dict, own: set, exclude: set) -> None:
        """Kernels for every primitive the table or the standard covers, and for the
        composites the backend's own ``implementations`` name."""
        from ..schema import registry
        ops = primitive_ops() + [registry[n] for n in sorted(own)
                                 if not registry[n].is_primitive]
        for od in ops:
            if od.name in exclude:
                continue
            fn = table.get(od.name) or _by_name(self.ns.xp, od)
            if fn is not None:
                if "pointwise" in od.tags:
                    fn = _bool_via_int(fn, self.dtype_errors)
                dict.__setitem__(self.kernels, od.name, self.box(fn, od))

    def box(self, impl: Callable, od) -> Callable:
        """The native kernel of op ``od`` from ``impl(ns, *args)``."""
        ns = self.ns
        if not self.wraps:
            return functools.partial(impl, ns)
        return self._adapt(functools.partial(impl, ns), od)

    def native(self, fn: Callable, od) -> Callable:
        """``fn(*args)`` over the library's arrays as a kernel over ember's natives."""
        if not self.wraps or getattr(fn, "library", None) is not None:
            return fn  # natives are the library's arrays / already adapted
        return self._adapt(fn, od)

    def library_kernel(self, name: str) -> Callable:
        """The kernel of op ``name`` as a function over the library's arrays."""
        k = self.kernels[name]
        return getattr(k, "library", k)

    def _adapt(self, fn: Callable, od) -> Callable:
        wrap = self._wrap
        view = od.is_view
        array = self._array_type
        np_dtypes = self.ns.np_dtypes
        prod = math.prod

        def kernel(*args):
            r = fn(*[a.x if a.__class__ is KitArray else
                     a if a.__class__ in _PLAIN else _unwrap(a) for a in args])
            if r.__class__ is not array or view:  # tuples, None, views: the general path
                return wrap(r, args[0] if view else None)
            dt = np_dtypes[r.dtype]  # one fresh array: _wrap inlined (it is every op's)
            n = dt.itemsize * prod(r.shape)
            acct = self._only_allocator or self._allocator_of(r)
            acct.malloc(n)
            return KitArray(r, dt, acct, n)
        kernel.__name__ = getattr(fn, "__name__", None) or getattr(
            getattr(fn, "func", None), "__name__", od.name)
        kernel.library = fn
        return kernel

    def _wrap(self, r, base=None):
        if r is None or r.__class__ is KitArray:
            return r
        if isinstance(r, tuple):
            return tuple(self._wrap(v, base) for v in r)
        if isinstance(r, list):
            return [self._wrap(v, base) for v in r]
        dt = self.ns.np_dtypes[r.dtype]
        if base is not None:
            return KitArray(r, dt, None, 0, base)
        n = dt.itemsize
        for s in r.shape:
            n *= s
        acct = self._only_allocator or self._allocator_of(r)
        acct.malloc(n)
        return KitArray(r, dt, acct, n)

    def _allocator_of(self, x) -> Allocator:
        if len(self.ns.devices) <= 1:  # one device: skip the lookup from now on
            self._only_allocator = self.allocator(0)
            return self._only_allocator
        try:
            index = self._index_of.get(x.device, 0)
        except TypeError:
            index = 0
        return self.allocator(index)

    # -- host copies and devices --------------------------------------------------------------
    def device_count(self) -> int:
        return len(self.ns.devices)

    def from_host(self, array: np.ndarray, index: int = 0):
        x = self.ns.from_numpy(array, index)
        return self._wrap(x) if self.wraps else x

    def to_host(self, native) -> np.ndarray:
        return self.ns.to_numpy(native.x if self.wraps else native)

    def to_dlpack(self, native, **kwargs):
        return super().to_dlpack(native.x if self.wraps else native, **kwargs)

    def from_dlpack(self, obj, index: int = 0):
        x = self.ns.xp.from_dlpack(obj)
        return KitArray(x, self.ns.np_dtypes[x.dtype]) if self.wraps else x

    def create_allocator(self, index: int) -> Allocator:
        if self.wraps:
            return AccountingAllocator(self.device_type, index)
        return Allocator(self.device_type, index)

    def describe(self) -> list[str]:
        xp = self.ns.xp
        std = getattr(xp, "__array_api_version__", "?")
        return [f"{library_version(xp)} (Array API {std}), "
                f"{len(self.kernels)} kernels from ember.kit"]


def _default_device(xp):
    info = getattr(xp, "__array_namespace_info__", None)
    if info is not None:
        try:
            return info().default_device()
        except Exception:  # some libraries need a device to answer
            return None
    return None


def _needs_wrapping(xp) -> bool:
    try:
        return not isinstance(xp.asarray(0.0).dtype, np.dtype)
    except Exception:  # cannot tell: wrapping is always correct
        return True


def library_version(xp) -> str:
    """``name version`` of an Array API namespace's library.  Wrapper namespaces
    (array_api_compat.torch ...) name the library they wrap and its version."""
    name = getattr(xp, "__name__", None) or type(xp).__name__
    version = getattr(xp, "__version__", None)
    if version is not None:
        return f"{name} {version}"
    parts = name.split(".")
    if parts[0] == "array_api_compat" and len(parts) > 1:
        compat = sys.modules.get("array_api_compat")
        lib = _module_version(parts[1])
        return (f"{parts[1]} {lib or '?'} (through array_api_compat "
                f"{getattr(compat, '__version__', '?')})")
    return f"{name} {_module_version(parts[0]) or '?'}"


def _module_version(top: str) -> str | None:
    mod = sys.modules.get(top)
    version = getattr(mod, "__version__", None)
    if version is None:
        try:
            import importlib.metadata as md
            version = md.version(top)
        except Exception:  # no distribution of that name: unknown
            return None
    return str(version)


def _bool_via_int(impl: Callable, errors: type | tuple = Exception) -> Callable:
    """Pointwise ops on bool operands compute in bool, as PyTorch's do: where the
    library refuses bool (the standard defines ``floor``, ``pow`` ... for numbers
    only; ``errors`` are the exception types it refuses a dtype with) retry in int8,
    and cast a numeric result of bool operands (numpy's ``True << True``) back to
    bool.  When the retry fails too, the library's first error is raised."""
    unary = getattr(impl, "unary", None)
    if unary is not None:  # f(a) of the library: the same rules, the common case fast
        def run1(ns, a):
            try:
                r = unary(a)
            except errors as first:
                if a.dtype != ns.bool:
                    raise
                try:
                    r = unary(ns.xp.astype(a, ns.dtypes[_dt.int8]))
                except errors:
                    raise first from None
            if r.dtype != ns.bool and a.dtype == ns.bool:
                r = ns.xp.astype(r, ns.bool)
            return r
        run1.__name__ = getattr(unary, "__name__", "kernel")
        return run1

    def run(ns, *args):
        b = ns.bool
        try:
            r = impl(ns, *args)
        except errors as first:
            if not any(getattr(a, "dtype", None) == b for a in args):
                raise
            i8 = ns.dtypes[_dt.int8]
            try:
                r = impl(ns, *[ns.xp.astype(a, i8) if getattr(a, "dtype", None) == b
                               else a for a in args])
            except errors:
                raise first from None
        if r is not None and r.dtype != b:
            for a in args:  # the first array operand decides quickly
                d = getattr(a, "dtype", None)
                if d is not None:
                    if d == b and all(getattr(x, "dtype", b) == b for x in args):
                        r = ns.xp.astype(r, b)
                    break
        return r
    run.__name__ = getattr(impl, "__name__", "kernel")
    return run


#: argument types that are never arrays (no unwrapping to look for)
_PLAIN = frozenset({int, float, bool, str, type(None)})


def _unwrap(v):
    if v.__class__ is KitArray:
        return v.x
    if isinstance(v, list):
        return [_unwrap(x) for x in v]
    if isinstance(v, tuple):
        return tuple(_unwrap(x) for x in v)
    return v


def _by_name(xp, od) -> Callable | None:
    """An implementation for an op ``STANDARD_NAMES`` maps to a function of the standard:
    pointwise ops over tensors only, and ``op(self, dim, keepdim)`` reductions."""
    name = STANDARD_NAMES.get(od.name)
    fn = getattr(xp, name, None) if name is not None else None
    if fn is None or not callable(fn):
        return None
    kinds = [(a.type, a.is_list) for a in od.args]
    if "pointwise" in od.tags and all(k == ("Tensor", False) for k in kinds):
        if len(kinds) == 1:
            impl = lambda ns, a: fn(a)
            impl.unary = fn  # _bool_via_int calls fn itself (one frame less per op)
            return impl
        if len(kinds) == 2:
            return lambda ns, a, b: fn(*ns.operands(a, b))
        return None
    names = [a.name for a in od.args]
    if "reduction" in od.tags and names == ["self", "dim", "keepdim"]:
        return lambda ns, a, dim=None, keepdim=False: fn(a, axis=ns.axes(dim, a.ndim),
                                                         keepdims=keepdim)
    return None
