"""How tensors cross process boundaries through ``multiprocessing``'s pickler.

``init_reductions()`` registers a reducer for ``ember.Tensor`` with
``multiprocessing.reduction.ForkingPickler``, the pickler of every ``multiprocessing``
queue, pipe and spawned ``Process``'s arguments.  (Plain ``pickle`` still refuses
tensors: ``ember.save`` is the way to files.)  The reducer asks the plugins first
(hook ``ember_tensor_reduce``): the device's backend says how its tensors travel.  The
CPU plugin answers with :func:`reduce_shared_host`: the tensor moves into shared memory
(once; ``share_memory_``) and the receiver maps the same pages, so no data is copied and
writes show in every process.  A device no plugin answers for travels as a copy through
host shared memory (:func:`reduce_via_host`): the receiver gets its own device copy.
"""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from . import shared_memory as shm

__all__ = ["init_reductions", "reduce_tensor", "reduce_shared_host", "reduce_via_host",
           "rebuild_shared", "rebuild_on_device", "rebuild_meta"]

_registered = [False]


def _check_sendable(t: Tensor) -> None:
    if t._requires_grad and t.grad_fn is not None:
        raise RuntimeError("Cowardly refusing to send a non-leaf tensor which requires "
                           "grad to another process (its autograd graph cannot follow); "
                           "send tensor.detach() instead")


def _meta(t: Tensor) -> tuple:
    """What the receiver restores besides the data: requires_grad and parameter-ness."""
    return t._requires_grad, bool(getattr(t, "_is_param", False))


def _finish(t: Tensor, meta: tuple) -> Tensor:
    requires_grad, is_param = meta
    if is_param:
        t._is_param = True
    if requires_grad:
        t.requires_grad_(True)
    return t


def reduce_shared_host(t: Tensor, strategy: str | None = None) -> tuple:
    """``(rebuild, args)`` of a CPU tensor as a view of shared memory: moves it there
    first when it is not (``Tensor.share_memory_``)."""
    if shm.segment_of(t._data) is None:
        t.share_memory_(strategy)
    arr = t._data
    buf, offset = shm.segment_of(arr)
    if buf.name is not None:
        handle = ("name", buf.name)
    else:
        from multiprocessing.reduction import DupFd
        handle = ("fd", DupFd(buf.fd))
    return rebuild_shared, (handle, buf.size, offset, t.dtype.name, arr.shape,
                            arr.strides, _meta(t))


def _segment(handle, size: int) -> shm.SharedBuffer:
    kind, value = handle
    if kind == "name":
        return shm.open_name(value, size)
    return shm.open_fd(value.detach(), size)


def rebuild_shared(handle, size, offset, dtype, shape, strides, meta) -> Tensor:
    """The receiving side of :func:`reduce_shared_host`: map the segment, view it."""
    from .. import dtypes
    from ..device import device, tensor_device
    buf = _segment(handle, size)
    # (by ember's dtype name: numpy's own spelling of bfloat16 is an anonymous 'V2')
    arr = np.ndarray(shape, dtypes.as_dtype(dtype).np, buffer=buf, offset=offset,
                     strides=strides)
    return _finish(Tensor._make(arr, tensor_device(device("cpu"))), meta)


def reduce_via_host(t: Tensor, strategy: str | None = None) -> tuple:
    """``(rebuild, args)`` for a device tensor no plugin shares natively: its data is
    copied into host shared memory and the receiver copies it onto the same device, so
    the two processes hold separate copies (writes do not show across them)."""
    from ..device import device, tensor_device
    host = Tensor._make(shm.shared_copy(t._host(), strategy), tensor_device(device("cpu")))
    rebuild, args = reduce_shared_host(host, strategy)
    return rebuild_on_device, (str(t._device), rebuild, args, _meta(t))


def rebuild_on_device(dev: str, rebuild, args, meta) -> Tensor:
    """The receiving side of :func:`reduce_via_host`."""
    host = rebuild(*args)
    return _finish(host.detach().to(dev, copy=True), meta)


def rebuild_meta(shape: tuple, dtype: str, meta) -> Tensor:
    """A ``meta`` tensor travels as its shape and dtype (it has no data)."""
    from ..ops import empty
    return _finish(empty(shape, dtype=dtype, device="meta"), meta)


def reduce_tensor(t: Tensor) -> tuple:
    """The ``ForkingPickler`` reducer of ``ember.Tensor``."""
    _check_sendable(t)
    from .. import plugins
    strategy = shm.get_sharing_strategy()
    found = plugins.manager.hook.ember_tensor_reduce(tensor=t, strategy=strategy)
    if found is not None:
        return found
    if t._device.type == "cpu":
        return reduce_shared_host(t, strategy)
    if t._device.type == "meta":
        return rebuild_meta, (tuple(t.shape), t.dtype.name, _meta(t))
    return reduce_via_host(t, strategy)


def init_reductions() -> None:
    """Register the tensor reducer with ``ForkingPickler`` (once per process)."""
    if _registered[0]:
        return
    from multiprocessing.reduction import ForkingPickler
    ForkingPickler.register(Tensor, reduce_tensor)
    _registered[0] = True
