"""``ArrayAPIBackend``: an ember backend over any Python Array API namespace."""

from __future__ import annotations

import difflib
import functools
import sys
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from .. import dtypes as _dt
from ..backend import Backend
from ..codecache import exec_generated
from ..errors import OutOfMemoryError
from ..memory import Allocator, _fmt
from .namespace import Namespace
from .primitives import IMPLEMENTATIONS, STANDARD_NAMES

__all__ = ["ArrayAPIBackend", "KitArray", "KernelTable", "AccountingAllocator",
           "primitive_ops", "missing_primitives"]


class KitArray:
    """A namespace array as ember's native array, for libraries whose dtypes are not
    numpy's (array-api-strict, torch ...): ember reads ``shape`` and a numpy ``dtype``
    from natives, and the kernels the kit builds unwrap ``x`` before calling the library.

    Once the backend's memory is counted (see :class:`AccountingAllocator`), a fresh
    array is counted by its device's allocator until it dies; a view keeps its base
    alive instead, so the memory statistics follow tensors' lives.
    """

    __slots__ = ("x", "shape", "dtype", "_acct", "_nbytes", "_base", "__weakref__")

    def __init__(self, x, dtype: np.dtype, acct: AccountingAllocator | None = None,
                 nbytes: int = 0, base: KitArray | None = None) -> None:
        self.x = x
        self.shape = x.shape
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


def _release(self: KitArray) -> None:
    """``KitArray.__del__`` once some kit backend counts its memory: a counted array
    reports its death.  Not in the class body: a finalizer costs every array's
    deallocation, which a program that never asks for memory statistics should not
    pay (as ``ember.Tensor``'s, see ember.memory)."""
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

    Counting starts when the allocator is first asked for (``backend.allocator(i)``:
    every ``ember.memory`` query and every ``limit`` goes through it), as PyTorch keeps
    no CPU statistics unless asked: the arrays alive then are counted by one walk over
    the garbage collector's tensors, and from then on every array the backend makes.
    So the statistics are exact from the first query on, and a program that never
    asks pays nothing per op (the count and a finalizer cost a small op ~0.5 us)."""

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
        #: where results are counted: None until the memory is first asked for (see
        #: AccountingAllocator), then the one device's allocator, or True (several
        #: devices: each array's own, by ``_allocator_of``)
        self._counting = None
        #: (number, its class, numpy dtype) -> 0-d library array: the kernels' fast path
        #: for Python-number operands (the namespace's ``operand`` cache is the general one)
        self._consts: dict = {}
        self._array_type = None  # the library's array class (the kernels' fast path)
        try:
            self._array_type = type(namespace.asarray(0))
        except Exception:  # no fast path: every result takes _wrap, every call general
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
        from .primitives import NATIVE_COMPOSITES
        ops = primitive_ops() + [registry[n] for n in sorted(own | set(NATIVE_COMPOSITES))
                                 if n in registry and not registry[n].is_primitive]
        for od in ops:
            if od.name in exclude:
                continue
            fn = table.get(od.name) or _by_name(self.ns.xp, od)
            if fn is None:
                continue
            if "pointwise" in od.tags:
                general = self.box(_bool_via_int(fn, self.dtype_errors), od)
                k = self._pointwise_fast(fn, general, od)
            elif getattr(fn, "standard", None) is not None:  # (matmul)
                k = self._pointwise_fast(fn, self.box(fn, od), od)
            elif getattr(fn, "reduction", None) is not None:  # (sum, prod)
                k = self._reduction_fast(fn, self.box(fn, od), od)
            else:
                k = self.box(fn, od)
            dict.__setitem__(self.kernels, od.name, k)

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
        """``fn`` over the library's arrays as a kernel over ember's natives: generated
        for the op's signature, so a call unwraps exactly the arguments that may hold
        arrays and wraps one fresh result without a loop or a helper call (this is
        every op's path on a wrapping backend)."""
        n = len(od.args)
        if od.is_view or od.is_inplace or od.returns_tuple or n == 0:
            return self._general(fn, od)
        params = ", ".join(f"a{i}" for i in range(n))
        call = ", ".join(
            (f"a{i}.x if a{i}.__class__ is K else a{i} if a{i}.__class__ in _P "
             f"else _unwrap(a{i})") if a.is_tensor or a.type == "Any" else f"a{i}"
            for i, a in enumerate(od.args))
        lines = ["def kernel(*args):",
                 f"    if len(args) != {n}:",
                 "        return general(*args)",
                 f"    {params}{',' if n == 1 else ''} = args",
                 f"    r = fn({call})",
                 *_WRAP_FRESH]
        env = {"fn": fn, "general": self._general(fn, od), "K": KitArray, "_P": _PLAIN,
               "_unwrap": _unwrap, **self._wrap_env()}
        exec_generated("\n".join(lines) + "\n", f"<ember.kit kernel {od.name}>", env)
        kernel = env["kernel"]
        return _named(kernel, fn, od)

    def _wrap_env(self) -> dict:
        return {"A": self._array_type, "npd": self.ns.np_dtypes, "new": object.__new__,
                "wrap": self._wrap, "self": self, "K": KitArray}

    def _general(self, fn: Callable, od) -> Callable:
        """The adapter for any signature and any result (tuples, views, None)."""
        wrap = self._wrap
        view = od.is_view

        def kernel(*args):
            r = fn(*[a.x if a.__class__ is KitArray else
                     a if a.__class__ in _PLAIN else _unwrap(a) for a in args])
            return wrap(r, args[0] if view else None)
        return _named(kernel, fn, od)

    def _pointwise_fast(self, impl: Callable, general: Callable, od=None) -> Callable:
        """The kernel of a pointwise op the standard names (``impl.function`` is the
        library's function, ``impl.arity`` its operand count), or of an entry marked
        with ``primitives.fast`` (matmul too): the library's function called directly on
        the common path, non-bool arrays of one dtype (the core has cast the operands
        to the computation dtype), a Python number turned into a cached 0-d array of
        the other operand's dtype; everything else (bool operands, which the standard
        often refuses, other argument kinds, several devices) takes ``general``, the
        full kernel.  A function of a wrapper namespace is replaced by the library's
        own where the two agree on operands of one dtype (``_native``); the common
        path then also checks that the operands' dtypes are one."""
        fn = getattr(impl, "function", None)
        std = getattr(impl, "standard", None)
        native = False
        pointwise = od is None or "pointwise" in od.tags
        # (a method form takes the array computed on first: not where()'s condition)
        method = pointwise and not (std is not None and std[1])
        if std is not None:  # an entry of the table with a fast form (primitives.fast)
            if callable(std[0]):  # (a vendor's own choice of function: as given)
                fn = std[0]
            else:
                fn, native = _native(self.ns.xp, std[0], array_type=self._array_type,
                                     pointwise=method)
            if not callable(fn):
                return general
        elif fn is not None:
            fn, native = _native(self.ns.xp, STANDARD_NAMES[od.name], fn,
                                 array_type=self._array_type, pointwise=method)
        arity = getattr(impl, "arity", 0)
        if fn is None or arity not in (1, 2, 3):
            return general
        cond, defaults = std[1:] if std is not None else (False, ())
        # The core casts a pointwise op's operands to its computation dtype, never bool
        # for these promotion kinds: bool reaches the kernel only where the op computes
        # in bool, and there the library's function may serve if it keeps bool.
        never_bool = getattr(od, "promotion", None) in ("int_to_float", "bool_to_long")
        probe = (None if cond or not pointwise else
                 "keeps" if never_bool else self._bool_probe(fn, arity))
        if probe == "keeps" and arity == 1 and not self.wraps:
            return fn  # nothing to add to the library's function: it is the kernel
        # (several devices: a cached constant would live on one of them)
        env = {"fn": fn, "general": general, "_N": _NUMBERS,
               "multi": len(self.ns.devices) > 1,
               "B": self.ns.np_dtypes.get(self.ns.bool) if self.wraps else self.ns.bool,
               "const": self._const, "consts": self._consts, **self._wrap_env(),
               **{f"D{i}": d for i, d in enumerate(defaults)}}
        B = env["B"]
        env["errors"] = self.dtype_errors
        lines = _fast_lines(self.wraps, arity, cond, defaults,
                            isinstance(B, np.dtype) and B is np.dtype(bool), probe,
                            one_dtype=native or not pointwise, pointwise=pointwise)
        exec_generated("\n".join(lines) + "\n",
                       f"<ember.kit pointwise {getattr(fn, '__name__', '?')}>", env)
        kernel = env["kernel"]
        kernel.__name__ = getattr(general, "__name__", "kernel")
        if getattr(general, "library", None) is not None:
            kernel.library = general.library
        return kernel

    def _reduction_fast(self, impl: Callable, general: Callable, od) -> Callable:
        """The kernel of an ``op(self, dim, keepdim, dtype)`` reduction whose entry names
        the standard's function (``impl.reduction``, see ``primitives.reduces``): over
        one dim (an int or a 1-tuple, as the core passes it) or all dims without
        keepdim, of a non-bool array of at least one dimension, with no ``dtype`` or
        the array's own floating one, it is the library's function called directly (the wrapped
        library's own where it agrees, ``_native``); everything else (bool counts in
        int64, several dims, another ``dtype``, 0-d arrays) takes ``general``, the full
        kernel."""
        names = [a.name for a in od.args]
        fn, native = _native(self.ns.xp, impl.reduction)
        if names != ["self", "dim", "keepdim", "dtype"] or not callable(fn):
            return general
        x = "a0.x" if self.wraps else "a0"
        B = self.ns.np_dtypes.get(self.ns.bool) if self.wraps else self.ns.bool
        identity = isinstance(B, np.dtype) and B is np.dtype(bool)
        is_, is_not = (" is ", " is not ") if identity else (" == ", " != ")

        # the library's own function takes (x, dim, keepdim) as PyTorch's; the
        # standard's its keywords
        def call(dim):
            return f"fn({x}, {dim}, a2)" if native else f"fn({x}, axis={dim}, keepdims=a2)"
        test = (f"a0.__class__ is {'K' if self.wraps else 'A'} and a0.dtype{is_not}B "
                f"and a0.shape and (a3 is None or KEEP.get(a3){is_}a0.dtype)")
        every = "general(a0, a1, a2, a3)"
        lines = ["def kernel(a0, a1=None, a2=False, a3=None):", f"    if {test}:",
                 "        c = a1.__class__",
                 "        if c is tuple and len(a1) == 1:", f"            r = {call('a1[0]')}",
                 "        elif c is int:", f"            r = {call('a1')}",
                 "        elif a1 is None and not a2:", f"            r = fn({x})",
                 "        else:", f"            return {every}",
                 "    else:", f"        return {every}",
                 *(_wrap_fresh("r.shape") if self.wraps else ["    return r"])]
        # dtype= the array's own: the same as none for floating dtypes only (the
        # standard sums smaller integers in the default integer dtype)
        keep = {d: d.np for d in self.ns.dtypes if d._kind in "fc"}
        env = {"fn": fn, "general": general, **self._wrap_env(), "B": B, "KEEP": keep}
        exec_generated("\n".join(lines) + "\n", f"<ember.kit reduction {od.name}>", env)
        kernel = env["kernel"]
        kernel.__name__ = getattr(general, "__name__", od.name)
        if getattr(general, "library", None) is not None:
            kernel.library = general.library
        return kernel

    def _bool_probe(self, fn: Callable, arity: int) -> str | None:
        """What the library's ``fn`` does with bool operands, asked once: ``"keeps"``
        (bool in, bool out, as PyTorch: bool needs no path of its own), ``"raises"``
        (one of ``dtype_errors``: the fast path catches it and takes the full kernel,
        which retries in int8), or ``None`` (another dtype comes out, or it cannot
        tell: the fast path checks for bool).  Asked only of libraries whose arrays
        live on the host (a device library would compile a kernel per op for it)."""
        xp = self.ns.xp
        try:
            x = xp.asarray([True, True], dtype=self.ns.bool)
            if x.__dlpack_device__()[0] != 1:  # kDLCPU
                return None
        except Exception:  # no DLPack, or no bool: cannot tell
            return None
        try:
            with warnings.catch_warnings():  # (True // True: no division by zero, but
                warnings.simplefilter("ignore")  # a library may still warn)
                r = fn(*[x] * arity)
        except self.dtype_errors:
            return "raises"
        except Exception:  # (an error the kernel would not recognise)
            return None
        return "keeps" if getattr(r, "dtype", None) == self.ns.bool else None

    def _const(self, value, like, key) -> Any:
        """A cached 0-d array of ``value`` like the library array ``like``; ``None``
        where it cannot have ``like``'s dtype (a float beside integers, a number beside
        bools: the core never sends these to a fast path, which serves one dtype)."""
        c = self.ns.operand(value, like)
        if c.dtype != like.dtype:
            return None
        if len(self._consts) >= 1024:
            self._consts.clear()
        self._consts[key] = c
        return c

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
        acct = self._counting
        if acct is None:
            return KitArray(r, dt)
        if acct is True:
            acct = self._allocator_of(r)
        n = dt.itemsize
        for s in r.shape:
            n *= s
        acct.malloc(n)
        return KitArray(r, dt, acct, n)

    def _allocator_of(self, x) -> Allocator:
        try:
            index = self._index_of.get(x.device, 0)
        except TypeError:
            index = 0
        return Backend.allocator(self, index)

    # -- memory ---------------------------------------------------------------------------
    def allocator(self, index: int = 0) -> Allocator:
        """The allocator of device ``index``; on a wrapping backend, asking for it
        starts counting arrays (see :class:`AccountingAllocator`)."""
        if self.wraps and self._counting is None:
            self._start_counting()
        return Backend.allocator(self, index)

    def _start_counting(self) -> None:
        """Count the arrays of this backend's live tensors, then every new array."""
        import gc

        from ..tensor import Tensor
        live: dict = {}
        for obj in gc.get_objects():
            # type(), not obj.__class__: some modules' lazy proxies react to attribute reads
            if type(obj) is Tensor and obj._device.type == self.device_type:
                data = obj._data
                if data.__class__ is KitArray and data._base is None and data._acct is None:
                    live[id(data)] = (data, obj._device.index or 0)
        KitArray.__del__ = _release  # (idempotent: one finalizer for every kit backend)
        for data, index in live.values():
            acct = Backend.allocator(self, index)
            n = data.nbytes
            data._acct, data._nbytes = acct, n
            acct.allocated = acct.reserved = acct.allocated + n
            acct.num_allocs += 1
            if acct.allocated > acct.peak_allocated:
                acct.peak_allocated = acct.peak_reserved = acct.allocated
        self._counting = Backend.allocator(self, 0) if len(self.ns.devices) <= 1 else True

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
_NUMBERS = frozenset({int, float, bool})

# Generated kernel bodies (see ArrayAPIBackend._adapt and _pointwise_fast).  ``r`` is
# the library's result; one fresh array of the library's class is wrapped inline (it
# is every op's result), counted once the backend counts memory.
def _wrap_fresh(shape: str) -> list[str]:
    """Lines wrapping ``r``, whose shape is the expression ``shape`` (``r.shape``, or an
    operand's where the op's result has it: reading a torch tensor's shape costs a
    tenth of a small op)."""
    return [
        "    if r.__class__ is not A:",
        "        return wrap(r)",
        "    dt = npd[r.dtype]",  # (first: a dtype ember lacks raises before an object)
        "    o = new(K)",
        "    o.x = r",
        f"    o.shape = {shape}",
        "    o.dtype = dt",
        "    o._base = None",
        "    acct = self._counting",
        "    if acct is None:",
        "        o._acct = None",
        "        return o",
        "    if acct is True:",
        "        acct = self._allocator_of(r)",
        "    n = dt.itemsize",
        "    for s in o.shape:",
        "        n *= s",
        "    acct.malloc(n)",
        "    o._acct = acct",
        "    o._nbytes = n",
        "    return o",
    ]


_WRAP_FRESH = _wrap_fresh("r.shape")

# a number operand: the cached 0-d array of the array operand's dtype (floats by
# value unless 0.0/-0.0 or NaN, which equality cannot tell apart: those by their bits)
_CONST_KEY = ("(v, v.__class__, d) if v.__class__ is not float or (v and v == v) "
              "else (v.hex(), float, d)")


def _fast_lines(wrapped: bool, arity: int, cond: bool, defaults: tuple,
                identity: bool, probe: str | None = None, one_dtype: bool = False,
                pointwise: bool = True) -> list[str]:
    """The source of a fast kernel (see ``ArrayAPIBackend._pointwise_fast``):
    ``arity`` array operands (the first a bool condition when ``cond``), then
    arguments that must hold their ``defaults`` for the fast path.  Every check costs
    about as much as a small op's tenth, so the common path makes as few as it can:
    arrays by their class (``A``: the library's, ``K``: ``KitArray``), the computation
    dtype by identity with the canonical bool dtype ``B`` (``identity``: numpy's
    dtypes, whose builtin ones are singletons; else by equality).  Wrapping libraries
    get ``_wrap_fresh`` after each ``r = fn(...)`` (a pointwise result has its only
    operand's shape, or its array operand's beside a number).  ``probe`` (see
    ``_bool_probe``) says whether bool operands need a check: not when the library's
    function keeps bool, nor when it refuses bool (its error, caught, leads to the
    full kernel).  ``one_dtype``: the common path also needs the array operands of
    one dtype (a function that agrees with the standard's there only, see
    ``_native``).  Not ``pointwise`` (matmul): no number operands, no result shape
    known in advance."""
    ops = [f"a{i}" for i in range(arity)]
    extra = [f"e{i}" for i in range(len(defaults))]
    sig = ", ".join(ops + [f"{e}=D{i}" for i, e in enumerate(extra)])
    everything = ", ".join(ops + extra)
    first = "a1" if cond else "a0"  # its dtype is the computation dtype
    arr = "K" if wrapped else "A"
    x = [f"a{i}.x" if wrapped else f"a{i}" for i in range(arity)]
    is_ = " is " if identity else " == "
    same = [f"a{i}.dtype{is_}a{i + 1}.dtype" for i in range(1 if cond else 0, arity - 1)
            ] if one_dtype else []
    # (a unary op's operand is always an array: the dispatcher refuses a lone number)
    test = " and ".join([f"a{i}.__class__ is {arr}" for i in range(arity)
                         if wrapped or arity > 1]
                        + [f"{e} == D{i}" for i, e in enumerate(extra)]
                        + ([] if probe else [f"{first}.dtype is not B"])
                        + (["a0.dtype is B"] if cond else []) + same)
    if not identity:  # (a library whose dtype objects may not be canonical: equality)
        test = test.replace(" is not B", " != B").replace(" is B", " == B")

    def done(shape="r.shape"):
        return ["    return r"] if not wrapped else _wrap_fresh(shape)
    lines = [f"def kernel({sig}):", f"    if {test or 'True'}:"]
    if probe == "raises":  # (a try costs nothing until it catches)
        lines += ["        try:", f"            r = fn({', '.join(x)})", "        except errors:",
                  f"            return general({everything})"]
    else:
        lines.append(f"        r = fn({', '.join(x)})")
    numbers = arity == 2 and not cond and pointwise
    if numbers:  # one operand a Python number (x + 1.0)
        lines.append("    elif not multi and (a0.__class__ in _N or a1.__class__ in _N):")
        lines.append(f"        return numbers({everything})")
    lines += ["    else:", f"        return general({everything})",
              *done("a0.shape" if arity == 1 and pointwise else "r.shape")]
    if numbers:
        lines += [f"def numbers({sig}):"]
        if defaults:
            lines += ["    if " + " or ".join(f"{e} != D{i}" for i, e in enumerate(extra))
                      + ":", f"        return general({everything})"]
        for a_, n_ in ((0, 1), (1, 0)):
            lines += [f"    {'if' if a_ == 0 else 'elif'} a{a_}.__class__ is {arr} "
                      f"and a{n_}.__class__ in _N:",
                      f"        y = a{a_}", f"        v = a{n_}"]
        lines += ["    else:", f"        return general({everything})",
                  "    d = y.dtype",
                  f"    if d {'is' if wrapped else '=='} B:",
                  f"        return general({everything})",
                  f"    x = {'y.x' if wrapped else 'y'}",
                  f"    key = {_CONST_KEY}", "    c = consts.get(key)",
                  "    if c is None:", "        c = const(v, x, key)",
                  "        if c is None:  # (not of the array's dtype: the full kernel)",
                  f"            return general({everything})",
                  "    r = fn(x, c) if a1.__class__ in _N else fn(c, x)", *done("y.shape")]
    return lines


def _named(kernel: Callable, fn: Callable, od) -> Callable:
    kernel.__name__ = getattr(fn, "__name__", None) or getattr(
        getattr(fn, "func", None), "__name__", od.name)
    kernel.library = fn
    return kernel


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
        elif len(kinds) == 2:
            impl = lambda ns, a, b: fn(*ns.operands(a, b))
        else:
            return None
        # (ArrayAPIBackend._pointwise_fast calls the function itself on the common path)
        impl.function, impl.arity = fn, len(kinds)
        return impl
    names = [a.name for a in od.args]
    if "reduction" in od.tags and names == ["self", "dim", "keepdim"]:
        return lambda ns, a, dim=None, keepdim=False: fn(a, axis=ns.axes(dim, a.ndim),
                                                         keepdims=keepdim)
    return None


#: Functions of array_api_compat's namespaces that call the library's function of the
#: same name after fixing the promotion of operands of different dtypes (PyTorch's
#: rules differ from the standard's for mixed dtypes and 0-d operands), or after
#: turning the standard's axis arguments into PyTorch's: on arrays of one dtype and
#: one int axis, the library's function gives the same result (the kit's fast paths
#: call it only there).  Checked per op by the conformance suite on a kit backend
#: over ``array_api_compat.torch`` (tests/test_kit.py).  The binary pointwise
#: wrappers (``_two_arg``) are recognised without a list (see ``_native``).
_COMPAT_SAME_ON_ONE_DTYPE = {
    "array_api_compat.torch": {"matmul", "where", "sum", "prod"},
}


#: PyTorch's aliases among the standard's names (its documentation: "Alias for
#: torch.lt()"): the canonical name is the same function, dispatched a step sooner.
_TORCH_ALIASES = {"less": "lt", "less_equal": "le", "greater": "gt", "greater_equal": "ge",
                  "not_equal": "ne", "negative": "neg", "multiply": "mul",
                  "subtract": "sub", "divide": "div"}


def _native(xp, name: str, fn: Callable | None = None, *, array_type: type | None = None,
            pointwise: bool = False) -> tuple[Callable | None, bool]:
    """``(function, native)``: the function the kit's fast paths call for the
    standard's function ``name`` of the namespace ``xp`` (``fn``: already looked up).
    For a wrapper namespace (array_api_compat's), the wrapped library's own function
    where the wrapper only fixes mixed-dtype promotion (``native`` True: the fast
    path checks its operands share one dtype): array_api_compat.torch's wrappers cost
    up to 3x torch's function on small arrays (matmul), a cost a vendor's users would
    pay on every call.  A pointwise function of torch is taken as the method of its
    tensor class (``array_type``) under its canonical name, PyTorch's documented
    equivalent (``torch.Tensor.lt``: "See torch.lt()"), which torch dispatches
    ~0.1 us sooner than the function or an alias.  Otherwise the namespace's function
    as it is."""
    if fn is None:
        fn = getattr(xp, name, None)
    module = getattr(xp, "__name__", None)
    if not isinstance(module, str) or not module.startswith("array_api_compat."):
        return fn, False
    lib = sys.modules.get(module.split(".")[1])
    if lib is None:
        return fn, False
    own, native = None, False
    inner = getattr(fn, "__wrapped__", None)
    code = getattr(fn, "__code__", None)
    if inner is not None and code is not None and getattr(
            code, "co_qualname", code.co_name) == "_two_arg.<locals>._f":
        # (the wrapper of every binary pointwise function: promotion only)
        if getattr(lib, getattr(inner, "__name__", ""), None) is inner:
            own, native = inner, True
    elif name in _COMPAT_SAME_ON_ONE_DTYPE.get(module, ()):
        if getattr(fn, "__module__", "").startswith(module):
            own = getattr(lib, name, None)
            native = callable(own)
    elif pointwise and getattr(lib, getattr(fn, "__name__", ""), None) is fn:
        own = fn  # (the library's own function, re-exported as it is)
    if own is None:
        return fn, False
    if pointwise and array_type is not None and lib.__name__ == "torch":
        method = getattr(array_type, _TORCH_ALIASES.get(own.__name__, own.__name__), None)
        if callable(method):
            return method, native
    return own, native
