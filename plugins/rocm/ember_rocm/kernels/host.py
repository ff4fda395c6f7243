"""Ops whose output size depends on the data, or that no OpenCL kernel here covers, run
on the host: the operand is read back (waiting for the device), numpy computes, and
the result is uploaded.  ``docs/rocm.md`` lists them; each is one round trip.

``nonzero`` must wait for the device anyway (its shape is the data's), and so must
any sort whose result decides a shape.  These kernels are the CPU plugin's: the
backend declares them in ``cpu_kernels``, and the coverage report counts them as CPU
fallback.
"""

from __future__ import annotations

import numpy as np

from ..array import CLArray

__all__ = ["download", "upload", "nonzero", "host_kernel", "HOST_OPS"]


def download(a: CLArray) -> np.ndarray:
    """A numpy copy of ``a`` (blocks until the queue has produced it)."""
    import pyopencl as cl

    from .pointwise import contiguous
    out = np.empty(a.shape, a.dtype)
    if out.size:
        a = contiguous(a)
        cl.enqueue_copy(a.dev.queue, out, a.buffer, src_offset=a.offset * a.itemsize,
                        is_blocking=True)
    return out


def upload(dev, host: np.ndarray) -> CLArray:
    """A new device array holding ``host``."""
    import pyopencl as cl
    host = np.asarray(host, order="C")  # (ascontiguousarray would make 0-d 1-d)
    out = dev.empty(host.shape, host.dtype)
    if host.size:
        cl.enqueue_copy(dev.queue, out.buffer, host, is_blocking=True)
    return out


def nonzero(a: CLArray) -> CLArray:
    h = download(a)
    if h.ndim == 0:
        return upload(a.dev, np.zeros((1 if h.item() else 0, 0), np.int64))
    return upload(a.dev, np.argwhere(h).astype(np.int64))


#: Ops run on the host: their output size depends on the data (``nonzero``), or they
#: are sorts and decompositions no kernel here implements.
HOST_OPS = ("nonzero", "sort", "argsort", "topk", "unique", "tril", "triu",
            "linalg_cholesky", "linalg_det", "linalg_eigh", "linalg_inv",
            "linalg_qr", "linalg_slogdet", "linalg_solve", "linalg_svd", "linalg_eigvalsh")


def host_kernel(backend, name: str):
    """A kernel running ``name`` with the CPU backend's numpy kernel on host copies."""
    from ember.device import get_backend
    cpu = get_backend("cpu").kernels[name]

    def to_host(x):
        if isinstance(x, CLArray):
            return download(x)
        if isinstance(x, (list, tuple)):
            return type(x)(to_host(v) for v in x)
        return x

    def run(*args):
        ref = next((x for x in args if isinstance(x, CLArray)), None)
        if ref is not None:
            dev = ref.dev
        else:  # creation: the Device argument says where
            import ember
            d = next(x for x in args if isinstance(x, ember.device))
            dev = backend.state(d.index or 0)
        out = cpu(*[to_host(x) for x in args])

        def up(x):
            if isinstance(x, np.ndarray):
                return upload(dev, x)
            if isinstance(x, tuple):
                return tuple(up(v) for v in x)
            if isinstance(x, list):
                return [up(v) for v in x]
            return upload(dev, np.asarray(x))
        return up(out)
    run.__name__ = f"rocm_host_{name}"
    return run
