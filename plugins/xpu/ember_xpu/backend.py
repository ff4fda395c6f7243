"""The XPU backend object: SYCL devices through dpctl, arrays and kernels from dpnp.

Native arrays are ``dpnp.tensor.usm_ndarray`` (strided, so views are real views).
Each device gets one ``SyclQueue``; every array of that device is allocated on it and
every kernel runs on it (dpnp follows its inputs' queue).  The queue is SYCL's default
out-of-order kind, ordered the way dpnp orders it: dpnp's ``SequentialOrderManager``
makes each submission depend on the ones before it, and keeps the arrays a task uses
alive until the task is done.  An in-order queue would be simpler, but dpnp's oneMKL
calls wait for their result while holding the GIL, and an in-order queue makes them
wait behind a keep-alive host task that needs the GIL: a deadlock.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ember import dtypes as _dt
from ember.backend import Backend

from .allocator import USMAllocator
from .half_storage import BF16Array
from .runtime import Runtime

__all__ = ["XPUBackend"]

#: ember dtypes dpnp has (it has no bfloat16); float16/float64 also need the device,
#: as does complex128 (two float64 parts).
_DPNP_DTYPES = frozenset({_dt.bool, _dt.uint8, _dt.int8, _dt.int16, _dt.int32, _dt.int64,
                          _dt.float16, _dt.float32, _dt.float64,
                          _dt.complex64, _dt.complex128})


class XPUBackend(Backend):
    """``xpu``: SYCL devices (Intel GPUs first; the OpenCL CPU device where none)."""

    device_type = "xpu"
    indexed = True
    dlpack_device_type = 14  # kDLOneAPI

    def __init__(self, runtime: Runtime) -> None:
        super().__init__()
        self.runtime = runtime
        self._devices = list(runtime.devices)
        self._queues: dict[int, Any] = {}
        self.dpt = runtime.dpt
        if runtime.dpctl is not None:
            import dpnp
            self.name = (f"dpnp {dpnp.__version__} / dpctl {runtime.dpctl.__version__} "
                         f"on SYCL")
        else:
            self.name = "dpnp/dpctl (not installed)"
        self.device_dtypes = [self._dtypes_of(d) for d in self._devices]
        # The backend-wide set is what every device supports (float64 only where
        # all devices have it), for conformance and users asking in advance.
        self.supported_dtypes = (frozenset.intersection(*self.device_dtypes)
                                 if self._devices else frozenset())
        if runtime.dpt is not None:
            from . import kernels
            self.kernels.update(kernels.build(self))
            # the kit's _view_dtype (plugin API 1.3) copies through numpy, which cannot
            # read usm_ndarrays; this plugin targets 1.2 and does not owe it
            self.kernels.pop("_view_dtype", None)
            from ember.emulated import install

            from .half_storage import BF16Storage
            self.bf16 = BF16Storage(self)
            install(self, self.bf16)

    @staticmethod
    def _dtypes_of(dev) -> frozenset:
        out = set(_DPNP_DTYPES) | {_dt.bfloat16}  # (bfloat16: int16 storage, half_storage.py)
        if not dev.has_aspect_fp64:
            out.discard(_dt.float64)
            out.discard(_dt.complex128)
        if not dev.has_aspect_fp16:
            out.discard(_dt.float16)
        return frozenset(out)

    # -- devices ----------------------------------------------------------------------
    def device_count(self) -> int:
        return len(self._devices)

    def unavailable_reason(self) -> str | None:
        if self._devices:
            return None
        return self.runtime.error or "no SYCL device found"

    def sycl_device(self, index: int = 0):
        """The ``dpctl.SyclDevice`` behind ``xpu:index``."""
        return self._devices[index]

    def queue(self, index: int = 0):
        """The queue of ``xpu:index`` (created on first use)."""
        q = self._queues.get(index)
        if q is None:
            q = self._queues[index] = self.runtime.dpctl.SyclQueue(self._devices[index])
        return q

    def describe(self) -> list[str]:
        lines = []
        for i, d in enumerate(self._devices):
            fp = ", ".join(n for n, ok in (("fp16", d.has_aspect_fp16),
                                           ("fp64", d.has_aspect_fp64)) if ok) or "fp32 only"
            lines.append(f"xpu:{i}  {d.backend.name}:{d.device_type.name}  {d.name.strip()}"
                         f"  (driver {d.driver_version}, {d.global_mem_size >> 20} MiB, {fp})")
        if self.runtime.icd_set:
            lines.append(f"OCL_ICD_FILENAMES set by ember-xpu to {self.runtime.icd_set}")
        return lines

    def synchronize(self, index: int = 0) -> None:
        q = self._queues.get(index)
        if q is not None:
            from dpctl.utils import SequentialOrderManager
            # dpnp's tasks (kernels and the host tasks that release their arguments),
            # then anything else submitted to the queue.
            SequentialOrderManager[q].wait()
            q.wait()

    def check_dtype(self, dtype, index: int = 0, op: str = "xpu") -> None:
        """Raise a clear ``TypeError`` when device ``index`` cannot hold ``dtype``."""
        if dtype not in self.device_dtypes[index]:
            d = self._devices[index]
            why = ("the device has no fp64 support" if dtype in (_dt.float64, _dt.complex128)
                   else
                   "the device has no fp16 support" if dtype is _dt.float16 else
                   "dpnp has no such dtype")
            raise TypeError(f"{op}(): dtype {dtype} is not supported on xpu:{index} "
                            f"({d.name.strip()}): {why}; supported: "
                            f"{', '.join(sorted(x.name for x in self.device_dtypes[index]))}")

    # -- host copies ----------------------------------------------------------------------
    def from_host(self, array: np.ndarray, index: int = 0):
        dt = _dt.FROM_NP.get(array.dtype)
        if dt is None:
            raise TypeError(f"xpu: ember has no dtype for numpy dtype {array.dtype}")
        self.check_dtype(dt, index, "to")
        if dt is _dt.bfloat16:
            return self.bf16.from_host(array, index)
        out = self.allocator(index).empty(array.shape, array.dtype)
        if array.size:
            # A direct host-to-device memcpy (synchronous).  The block is fresh or came
            # back from the cache, i.e. no queued task still uses it.
            out.usm_data.copy_from_host(
                np.ascontiguousarray(array).reshape(-1).view(np.uint8))
        return out

    def strides(self, native) -> tuple[int, ...]:
        """Element strides for ``Tensor.stride`` (dpctl's arrays keep element strides)."""
        return tuple(native.strides)

    def to_host(self, native) -> np.ndarray:
        if native.__class__ is BF16Array:
            return self.bf16.to_host(native)
        return np.asarray(self.dpt.asnumpy(native))

    def copy_from(self, native, src: Backend, index: int):
        if src is not self or native.__class__ is BF16Array:  # (bfloat16: through the host)
            return None
        # Another xpu device: a device-side copy onto this device's queue.
        out = self.dpt.asarray(native, copy=True, sycl_queue=self.queue(index))
        return self.allocator(index).adopt(out)

    def from_dlpack(self, obj, index: int = 0):
        arr = self.dpt.from_dlpack(obj)
        return self.allocator(index).adopt(arr)

    # -- memory ------------------------------------------------------------------------------
    def create_allocator(self, index: int) -> USMAllocator:
        return USMAllocator(self.runtime, self.queue(index), index)
