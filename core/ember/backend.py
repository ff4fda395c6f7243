"""What a backend plugin provides: one ``Backend`` object per device type.

A backend is a device type string, a table of native kernels (op name -> function over
native arrays), host copies, device enumeration, synchronisation, an allocator and
random-number state.  The base class validates and accounts; a backend overrides the
small set of methods below.  See "Writing an ember backend" in ``docs/``.
"""

from __future__ import annotations

from typing import Any
from collections.abc import Callable

import numpy as np

from .memory import Allocator
from .plugin_api import PLUGIN_API_VERSION  # re-exported: the contract's version

__all__ = ["Backend", "PLUGIN_API_VERSION", "row_major_strides"]


def row_major_strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    """Element strides of a gap-free row-major array of ``shape`` (PyTorch's
    ``contiguous_format``: a size-0 or size-1 dimension still gets the product of the
    sizes after it)."""
    strides, step = [], 1
    for n in reversed(shape):
        strides.append(step)
        step *= max(n, 1)
    return tuple(reversed(strides))


class Backend:
    """Base class of every backend.

    Subclasses set ``device_type`` and ``name`` and fill ``kernels``; they override
    ``device_count``, ``to_host``, ``from_host`` and, where the device has them,
    ``synchronize``, ``new_generator`` and ``create_allocator``.
    """

    #: The device type string users write: ``ember.device("cpu")``.
    device_type: str = ""
    #: Human-readable name of what drives the device ("numpy", "pyopencl on PoCL" …).
    name: str = ""
    #: Plugin-API version this backend was written for; ``None``: its plugin's
    #: ``EMBER_PLUGIN_API`` (filled in at registration).  It decides which primitives
    #: the backend owes (``ember.plugin_api``).
    api_version: str | None = None
    #: Whether tensors carry an index (``rocm:0``) or not (``cpu``).
    indexed: bool = True
    #: DLPack device type code (``kDLCPU`` = 1, ``kDLCUDA`` = 2, ``kDLOpenCL`` = 4 …),
    #: or ``None`` if the backend cannot exchange DLPack capsules.
    dlpack_device_type: int | None = None
    #: True when the runtime allocates by itself (numpy): each tensor then reports its
    #: buffer's birth and death to ``allocator(0)`` for the memory statistics.
    observes_allocations: bool = False
    #: dtypes the backend supports natively (``None``: all of ember's).
    supported_dtypes: frozenset | None = None
    #: Ops whose kernels in ``kernels`` run through the CPU plugin (host round trips):
    #: declared so that the coverage report counts them as CPU fallback (``F``).
    cpu_kernels: frozenset = frozenset()
    #: True only for the ``meta`` device, whose kernels are the ops' shape rules.
    is_meta: bool = False
    #: How the backend stores float16/bfloat16 where its runtime cannot compute in them
    #: (an ``ember.emulated.Emulation``, set by ``ember.emulated.install``), else None.
    emulation = None

    def __init__(self) -> None:
        self.kernels: dict[str, Callable] = {}
        self._allocators: dict[int, Allocator] = {}
        self._generators: dict[int, Any] = {}

    # -- device enumeration -------------------------------------------------------
    def device_count(self) -> int:
        """How many devices of this type are present (0 if none)."""
        return 1

    def is_available(self) -> bool:
        """Whether at least one device of this type can be used."""
        return self.device_count() > 0

    def unavailable_reason(self) -> str | None:
        """Why no device can be used (``None`` when one can)."""
        return None if self.is_available() else f"no {self.device_type} device found"

    def describe(self) -> list[str]:
        """Lines for ``ember info`` (which hardware, which runtime)."""
        return []

    def synchronize(self, index: int = 0) -> None:
        """Block until all queued work on device ``index`` is done."""

    # -- host copies ----------------------------------------------------------------
    def from_host(self, array: np.ndarray, index: int = 0):
        """A native array on device ``index`` holding a copy of ``array``."""
        raise NotImplementedError

    def to_host(self, native) -> np.ndarray:
        """A numpy array with the native array's data (waits for the device)."""
        raise NotImplementedError

    def is_contiguous(self, native) -> bool:
        """Whether ``native`` is laid out row-major without gaps (``Tensor.is_contiguous``).

        The default reads the array's own answer: ``flags.c_contiguous`` (numpy, cupy,
        dpnp) or an ``is_contiguous`` attribute; an array that exposes no layout (the
        Array API standard has none) counts as contiguous, since nothing can observe
        otherwise."""
        flags = getattr(native, "flags", None)
        if flags is not None:
            return bool(flags.c_contiguous)
        own = getattr(native, "is_contiguous", None)
        if own is not None:
            return bool(own() if callable(own) else own)
        return True

    def strides(self, native) -> tuple[int, ...]:
        """The element strides of ``native`` (``Tensor.stride``).

        The default reads a numpy array's byte strides; an empty array (whose strides
        numpy leaves arbitrary, PyTorch row-major) and any other array count as
        row-major (like ``is_contiguous``, nothing can observe otherwise).  Backends whose
        arrays keep their own strides (dpctl's, rocm's) override it."""
        if isinstance(native, np.ndarray) and native.size:
            size = native.itemsize
            return tuple(s // size for s in native.strides)
        return row_major_strides(tuple(native.shape))

    def copy_from(self, native, src: Backend, index: int):
        """A direct device-to-device copy from another backend, or ``None`` to go
        through the host."""
        return None

    # -- DLPack (zero-copy exchange; see ember.dlpack) ----------------------------------
    def to_dlpack(self, native, **kwargs):
        """A DLPack capsule of ``native`` (``Tensor.__dlpack__`` calls it).

        ``kwargs`` are the standard's ``stream``, ``max_version``, ``dl_device`` and
        ``copy``, already checked by the core.  The default hands them to the native
        array's own ``__dlpack__`` (numpy, cupy and dpnp arrays have one).
        """
        export = getattr(native, "__dlpack__", None)
        if export is None:
            raise BufferError(f"{type(native).__name__} arrays of the {self.device_type!r} "
                              f"backend cannot be exported through DLPack")
        return export(**kwargs)

    def from_dlpack(self, obj, index: int = 0):
        """A native array sharing memory with ``obj`` (an object with ``__dlpack__``
        on this backend's DLPack device ``index``).

        The default calls ``from_dlpack`` of the package that defines this backend's
        native array type (``numpy.from_dlpack``, ``cupy.from_dlpack``,
        ``dpnp.from_dlpack``); override it when the runtime differs.
        """
        import sys
        if self._native_module is None:
            kind = type(self.from_host(np.empty(0, np.float32), index))
            self._native_module = sys.modules.get(kind.__module__.partition(".")[0])
        fn = getattr(self._native_module, "from_dlpack", None)
        if fn is None:
            raise BufferError(f"the {self.device_type!r} backend cannot import DLPack "
                              f"capsules (its native arrays' package has no from_dlpack)")
        return fn(obj)

    _native_module = None

    # -- memory -----------------------------------------------------------------------
    def create_allocator(self, index: int) -> Allocator:
        """The allocator of device ``index`` (the CPU observes numpy's allocations)."""
        return Allocator(self.device_type, index)

    def allocator(self, index: int = 0) -> Allocator:
        """The (cached) allocator of device ``index``."""
        a = self._allocators.get(index)
        if a is None:
            a = self._allocators[index] = self.create_allocator(index)
        return a

    # -- random numbers -------------------------------------------------------------------
    def new_generator(self, seed: int, index: int = 0):
        """Native random state seeded with ``seed`` (passed to random kernels)."""
        return np.random.Generator(np.random.PCG64(seed))

    def get_generator_state(self, native) -> bytes:
        """Serialisable state of a native generator."""
        import pickle
        return pickle.dumps(native.bit_generator.state)

    def set_generator_state(self, native, state: bytes) -> None:
        import pickle
        native.bit_generator.state = pickle.loads(state)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.device_type!r} ({self.name})>"


class UnavailableBackend(Backend):
    """Stands for a device type whose plugin failed: using it raises the real cause."""

    def __init__(self, device_type: str, cause: BaseException, plugin: str) -> None:
        super().__init__()
        self.device_type = device_type
        self.name = f"unavailable ({plugin})"
        self.cause = cause
        self.plugin = plugin

    def device_count(self) -> int:
        return 0

    def unavailable_reason(self) -> str:
        return f"{type(self.cause).__name__}: {self.cause}"
