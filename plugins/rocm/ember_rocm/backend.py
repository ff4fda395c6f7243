"""The rocm backend object: device discovery, host copies, queues and allocators.

Discovery picks the AMD GPUs of the OpenCL platforms (ROCm's OpenCL runtime names its
platform "AMD Accelerated Parallel Processing").  ``EMBER_ROCM_ANY_DEVICE=1`` makes it
drive every OpenCL device instead, GPUs first; that is how CI tests the backend, on
PoCL (a CPU OpenCL implementation).  Discovery runs at the first question about
devices, never at ``import ember``.
"""

from __future__ import annotations

import threading

import numpy as np

from ember import dtypes as _dt
from ember.backend import Backend
from ember.environment import flag
from ember.errors import BackendUnavailableError

from . import asserts
from .array import CLArray, Storage

__all__ = ["ROCmBackend", "DeviceState", "ANY_DEVICE_ENV"]

#: Set to 1 to drive any OpenCL device (PoCL, Intel, NVIDIA), not only AMD GPUs.
ANY_DEVICE_ENV = "EMBER_ROCM_ANY_DEVICE"


def _any_device() -> bool:
    return flag(ANY_DEVICE_ENV)


def _is_amd_gpu(dev) -> bool:
    import pyopencl as cl
    vendor = f"{dev.vendor} {dev.platform.name}".lower()
    return bool(dev.type & cl.device_type.GPU) and ("advanced micro devices" in vendor
                                                    or "amd" in vendor.split())


class DeviceState:
    """One OpenCL device in use: its context, in-order queue, allocator and kernels."""

    def __init__(self, cl_device, index: int) -> None:
        import pyopencl as cl
        # Kernel calls need pyopencl's invoker module; importing it opens its on-disk
        # store of generated argument code (~40 ms), which belongs to the device's start
        # rather than to the first op.  So do the modules pyopencl imports at a
        # program's first build (its option parser, shlex, and its device checks,
        # which kernels.invokers asks too): 2-5 ms of a warm process's first step.
        import shlex  # noqa: F401
        import pyopencl.characterize
        import pyopencl.invoker

        from .allocator import CLAllocator
        self.index = index
        self.device = cl_device
        self.context = cl.Context([cl_device])
        # In order: every kernel sees the results of those enqueued before it, and a
        # blocking read waits for all of them.
        self.queue = cl.CommandQueue(self.context)
        self.allocator = CLAllocator(self.context, cl_device, index)
        self.fp64 = bool(cl_device.double_fp_config)
        #: compiled kernels, keyed by (template, dtypes, shape class): see kernels.compiler
        self.kernels: dict = {}
        #: built programs, keyed by their source (several kernels may share one)
        self.programs: dict = {}
        #: programs built from source here, by source: their launch counts until
        #: their binaries are saved (see kernels.compiler)
        self.unsaved: dict = {}
        #: elementwise launch plans, keyed by operand layouts (see kernels.elementwise)
        self.plans: dict = {}
        self.lock = threading.Lock()
        # float16/bfloat16: 16-bit storage computed in float32 (half_storage.py)
        dts = [_dt.bool, _dt.uint8, _dt.int8, _dt.int16, _dt.int32, _dt.int64, _dt.float32,
               _dt.float16, _dt.bfloat16]
        if self.fp64:
            dts.append(_dt.float64)
        from .complex_kernels import complex_dtypes
        self.dtypes = frozenset(dts) | complex_dtypes(self.fp64)

    def empty(self, shape: tuple, dtype: np.dtype) -> CLArray:
        """A new contiguous, uninitialised array."""
        n = 1
        for s in shape:
            n *= s
        block = self.allocator.malloc(max(n * dtype.itemsize, 1))
        return CLArray(Storage(block, self), tuple(shape), dtype)

    def describe(self) -> str:
        d = self.device
        gib = d.global_mem_size / 2 ** 30
        import pyopencl as cl
        kind = "gpu" if d.type & cl.device_type.GPU else "cpu" if d.type & cl.device_type.CPU \
            else "accelerator"
        return (f"rocm:{self.index}: opencl:{kind} {d.name.strip()} — {d.platform.name} "
                f"({d.version.strip()}), {d.max_compute_units} compute units, "
                f"{gib:.1f} GiB, float64 {'yes' if self.fp64 else 'no'}")


class ROCmBackend(Backend):
    """AMD GPUs through ROCm's OpenCL runtime, driven with pyopencl."""

    device_type = "rocm"
    indexed = True

    def __init__(self) -> None:
        super().__init__()
        self._states: list[DeviceState] | None = None
        self._reason: str | None = None
        self._lock = threading.Lock()
        from . import complex_kernels
        from .kernels import build_table, host
        self.kernels.update(build_table(self))
        complex_kernels.install(self, self.kernels)
        # Declared: these run through the CPU plugin's kernels (host round trips).
        self.cpu_kernels = frozenset(n for n in host.HOST_OPS + tuple(complex_kernels.HOST_OPS)
                                     if n in self.kernels)
        from ember.emulated import install

        from .half_storage import HalfStorage
        install(self, HalfStorage())

    # -- discovery ------------------------------------------------------------------------
    def _discover(self) -> list[DeviceState]:
        states = self._states
        if states is not None:
            return states
        with self._lock:
            if self._states is None:
                found, self._reason = _find_devices()
                self._states = [DeviceState(d, i) for i, d in enumerate(found)]
        return self._states

    @property
    def supported_dtypes(self) -> frozenset | None:  # type: ignore[override]
        """The first device's dtypes (float64 only where it reports cl_khr_fp64)."""
        states = self._discover()
        return states[0].dtypes if states else None

    def state(self, index: int = 0) -> DeviceState:
        """The ``DeviceState`` of ``rocm:index`` (raises if there is none)."""
        states = self._discover()
        if index >= len(states):
            raise BackendUnavailableError(
                f"rocm:{index} does not exist: {len(states)} rocm device(s) found"
                + (f" ({self._reason})" if self._reason else ""))
        return states[index]

    @property
    def name(self) -> str:  # type: ignore[override]
        try:
            import pyopencl as cl
        except ImportError:
            return "pyopencl (not installed)"
        states = self._states
        where = f" on {states[0].device.platform.name}" if states else ""
        return f"pyopencl {cl.VERSION_TEXT}{where}"

    def device_count(self) -> int:
        return len(self._discover())

    def unavailable_reason(self) -> str | None:
        return None if self._discover() else self._reason

    def describe(self) -> list[str]:
        lines = [s.describe() for s in self._discover()]
        lines.append("driving any OpenCL device (EMBER_ROCM_ANY_DEVICE=1)" if _any_device()
                     else "driving AMD GPUs only (EMBER_ROCM_ANY_DEVICE=1 drives any "
                          "OpenCL device)")
        return lines

    def synchronize(self, index: int = 0) -> None:
        st = self.state(index)
        st.queue.finish()
        asserts.after_read(st)  # a failed device-side check raises here

    # -- host copies ----------------------------------------------------------------------
    def from_host(self, array: np.ndarray, index: int = 0) -> CLArray:
        import pyopencl as cl
        st = self.state(index)
        dt = _dt.FROM_NP.get(array.dtype)
        if dt not in st.dtypes:
            raise TypeError(f"rocm:{index} does not support dtype {dt or array.dtype} "
                            f"(supported: {', '.join(sorted(d.name for d in st.dtypes))})")
        out = st.empty(array.shape, array.dtype)
        if array.size:
            # Blocking: the host array may be freed as soon as this returns.
            cl.enqueue_copy(st.queue, out.buffer, _raw(np.ascontiguousarray(array)),
                            is_blocking=True)
        return out

    def strides(self, native) -> tuple[int, ...]:
        """Element strides for ``Tensor.stride`` (CLArray keeps element strides)."""
        return tuple(native.strides)

    def to_host(self, native: CLArray) -> np.ndarray:
        import pyopencl as cl
        host = np.empty(native.shape, native.dtype)
        if host.size == 0:
            return host
        if not native.is_contiguous:  # (the table's kernel: complex and 16-bit floats too)
            native = self.kernels["contiguous"](native)
        # The queue is in order, so this blocking read waits for every kernel before it
        # (and for the read of the device-side checks' flags queued just before it).
        dev = native.dev
        asserts.before_read(dev)
        cl.enqueue_copy(dev.queue, _raw(host), native.buffer,
                        src_offset=native.offset * native.itemsize, is_blocking=True)
        asserts.after_read(dev)
        return host

    def copy_from(self, native, src: Backend, index: int):
        return None  # other device types go through the host

    # -- memory -----------------------------------------------------------------------------
    def create_allocator(self, index: int):
        return self.state(index).allocator


def _raw(a: np.ndarray) -> np.ndarray:
    """``a`` as pyopencl can copy it: ml_dtypes' bfloat16 as its 16 bits."""
    return a.view(np.uint16) if a.dtype.kind == "V" and a.dtype.itemsize == 2 else a


def _find_devices() -> tuple[list, str | None]:
    """The OpenCL devices to drive, and why there are none when the list is empty."""
    try:
        import pyopencl as cl
    except ImportError as e:
        return [], (f"pyopencl is not installed ({e}); install it with "
                    f"`pip install ember-rocm` (add the [pocl] extra for a CPU OpenCL "
                    f"runtime)")
    try:
        platforms = cl.get_platforms()
    except cl.Error as e:
        return [], (f"no OpenCL platform found ({e}); install ROCm's OpenCL runtime, or "
                    f"PoCL (`pip install pocl-binary-distribution`) with "
                    f"{ANY_DEVICE_ENV}=1")
    seen = []
    devices = []
    for p in platforms:
        try:
            devs = p.get_devices()
        except cl.Error:
            devs = []
        seen.append(f"{p.name.strip()} ({len(devs)} device(s))")
        devices += devs
    if not devices:
        return [], (f"the OpenCL platforms have no devices: {', '.join(seen) or 'none'}")
    if _any_device():
        import pyopencl as cl
        # GPUs first, then the rest, each in platform order.
        gpus = [d for d in devices if d.type & cl.device_type.GPU]
        return gpus + [d for d in devices if d not in gpus], None
    amd = [d for d in devices if _is_amd_gpu(d)]
    if amd:
        return amd, None
    return [], (f"no AMD GPU among the OpenCL devices ({', '.join(seen)}); set "
                f"{ANY_DEVICE_ENV}=1 to drive any OpenCL device")
