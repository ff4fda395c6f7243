"""dtype casts, device moves and copies."""

from __future__ import annotations

from ..schema import Spec, defop
from ._rules import broadcast_shapes

__all__ = ["astype", "_to_device", "copy_", "clone", "contiguous"]


def _astype_meta(self, dtype):
    return Spec(tuple(self.shape), dtype)


astype = defop("astype(Tensor self, ScalarType dtype) -> Tensor",
               tags=("primitive",), meta=_astype_meta,
               doc="A copy of ``self`` converted to ``dtype`` (the Array API's name; "
                   "``Tensor.to(dtype)`` calls it).")


def _to_device_meta(self, device):
    return Spec(tuple(self.shape), self.dtype)


def _to_device_impl(self, device):
    """Copy across devices: a direct path if the target backend offers one, else
    through host memory."""
    from ..device import get_backend
    from ..tensor import Tensor
    src = get_backend(self._device.type)
    dst = get_backend(device.type)
    native = dst.copy_from(self._data, src, device.index or 0)
    if native is None:
        host = src.to_host(self._data)
        if device.type == "cpu":
            native = host.copy() if host is self._data else host
        else:
            import numpy as np
            native = dst.from_host(np.asarray(host, order="C"), device.index or 0)
    return Tensor._make(native, device)


_to_device = defop("_to_device(Tensor self, Device device) -> Tensor",
                   tags=("primitive",), meta=_to_device_meta, decomposition=_to_device_impl,
                   method=False,
                   doc="Copy ``self`` to another device (``Tensor.to(device)`` calls it). "
                       "Backends may offer a direct path with ``Backend.copy_from``.")


def _copy_meta(self, src, non_blocking=False):
    broadcast_shapes(tuple(self.shape), tuple(src.shape), op="copy_", names=("self", "src"))
    if broadcast_shapes(tuple(self.shape), tuple(src.shape)) != tuple(self.shape):
        from ..errors import OpError
        raise OpError(f"copy_(): source of shape {list(src.shape)} can't be broadcast to "
                      f"the destination's shape {list(self.shape)}")
    return Spec(tuple(self.shape), self.dtype)


copy_ = defop("copy_(Tensor(a!) self, Tensor src, bool non_blocking=False) -> Tensor(a!)",
              tags=("primitive", "inplace"), meta=_copy_meta,
              doc="Copy ``src`` into ``self`` (broadcasting, casting to ``self.dtype``).")
# copy_ may take its source from another device: the dispatcher keys on ``self``'s
# device, and the kernel adapter moves a foreign source over first.
copy_.op.cross_device = True


def _same_meta(self, *rest):
    return Spec(tuple(self.shape), self.dtype)


clone = defop("clone(Tensor self) -> Tensor", tags=("primitive",), meta=_same_meta,
              doc="A copy of ``self`` with its own memory.")
contiguous = defop("contiguous(Tensor self) -> Tensor", tags=("primitive",), meta=_same_meta,
                   doc="``self`` if already C-contiguous, else a contiguous copy.")


# --- derivatives ---
# Beside the schemas above; see ember.autograd.rules for the conventions.

from ..autograd.rules import derivative  # noqa: E402

derivative(astype, self=lambda g, self, dtype: g)  # the engine casts back to self.dtype
derivative(_to_device, self=lambda g, self, device: _to_device(g, self.device))
derivative(copy_, src=lambda g, self, src, non_blocking=False:
           g if g._device is src.device else _to_device(g, src.device))
derivative(clone, self=lambda g, self: g)
derivative(contiguous, self=lambda g, self: g)
