"""The ``nccl`` engine of ``ember.distributed``: NCCL through cupy's ``cupyx.distributed``.

cupy ships NCCL bindings and a process-group layer over them (``cupyx.distributed``:
a TCP store that hands every rank NCCL's unique id, and the collectives); this engine
adapts that layer to ember's ``Engine`` protocol rather than writing another.  The store
listens on ``MASTER_ADDR``:``MASTER_PORT`` + 1 (PyTorch's rendezvous variables; the port
above PyTorch's own so both can coexist), every rank selects the GPU
``LOCAL_RANK`` (else its rank modulo the GPU count) before joining, and operations are
queued on cupy's current stream: a request waits on an event recorded after the call.

What NCCL cannot do is refused with a clear error instead of done slowly elsewhere:
receiving from any source, sub-communicators (``cupyx.distributed`` has none: ``new_group``
says so), and ``PRODUCT``/``MIN``/``MAX`` of complex numbers.  bool tensors travel as
bytes (``SUM``/``MAX`` as logical or, ``PRODUCT``/``MIN`` as logical and, as the mpi
engine does).

Not verified on hardware: this project's sessions had no GPU; ``benchmarks/gpu_check.sh``
runs it in a process group of one rank (a single GPU cannot host two NCCL ranks).
"""

from __future__ import annotations

import os

from ember.distributed import EngineSpec, ReduceOp

__all__ = ["spec", "NcclEngine"]

_OPS = {ReduceOp.SUM: "sum", ReduceOp.PRODUCT: "prod", ReduceOp.MIN: "min",
        ReduceOp.MAX: "max"}
_BOOL_OPS = {ReduceOp.SUM: "max", ReduceOp.MAX: "max", ReduceOp.PRODUCT: "min",
             ReduceOp.MIN: "min"}


class _Queued:
    """An operation queued on a CUDA stream: done when the event after it has fired."""

    __slots__ = ("event",)

    def __init__(self, cp) -> None:
        self.event = cp.cuda.Event(disable_timing=True)
        self.event.record()

    def wait(self) -> None:
        self.event.synchronize()

    def test(self) -> bool:
        return self.event.done


class NcclEngine:
    """One NCCL communicator of all ranks (``world``)."""

    name = "nccl"

    def __init__(self, cp, comm, rank: int, world_size: int) -> None:
        self.cp, self.world = cp, comm
        self.rank, self.world_size = rank, world_size

    def _done(self) -> _Queued:
        return _Queued(self.cp)

    @staticmethod
    def _operands(buf, op: ReduceOp):
        """(the array NCCL sees, cupyx's op name)."""
        if buf.dtype.kind == "b":
            return buf.view("uint8"), _BOOL_OPS[op]
        if buf.dtype.kind == "c" and op is not ReduceOp.SUM:
            raise TypeError(f"ReduceOp.{op.name} of complex tensors: NCCL reduces real "
                            f"and imaginary parts separately, which only SUM allows")
        return buf, _OPS[op]

    @staticmethod
    def _bytes(buf):
        return buf.reshape(-1).view("uint8")

    # -- groups ------------------------------------------------------------------------------
    def split(self, ranks: list[int]):
        if sorted(ranks) == list(range(self.world_size)):
            return self.world
        raise NotImplementedError("new_group(): the nccl engine has no sub-communicators "
                                  "(cupyx.distributed offers none); use the world group or "
                                  "the mpi engine for subgroups")

    def free(self, comm) -> None:
        return None  # cupyx's communicator lives as long as the process group object

    # -- reductions ----------------------------------------------------------------------------
    def barrier(self, comm):
        comm.barrier()
        return self._done()

    def all_reduce(self, comm, buf, op):
        a, name = self._operands(buf, op)
        comm.all_reduce(a, a, name)
        return self._done()

    def reduce(self, comm, buf, root, op):
        a, name = self._operands(buf, op)
        comm.reduce(a, a, root, name)
        return self._done()

    def reduce_scatter(self, comm, out, buf, op):
        a, name = self._operands(buf, op)
        o, _ = self._operands(out, op)
        comm.reduce_scatter(a, o, o.size, name)
        return self._done()

    # -- data movement -------------------------------------------------------------------------
    def broadcast(self, comm, buf, root):
        comm.broadcast(self._bytes(buf), root)
        return self._done()

    def all_gather(self, comm, out, buf):
        b = self._bytes(buf)
        comm.all_gather(b, self._bytes(out), b.size)
        return self._done()

    def gather(self, comm, buf, out, root):
        b = self._bytes(buf)
        o = self._bytes(out) if out is not None else self.cp.empty(
            b.size * self.world_size, "uint8")  # cupyx wants an output on every rank
        comm.gather(b, o.reshape(self.world_size, -1), root)
        return self._done()

    def scatter(self, comm, out, buf, root):
        o = self._bytes(out)
        b = self._bytes(buf) if buf is not None else self.cp.empty(
            o.size * self.world_size, "uint8")
        comm.scatter(b.reshape(self.world_size, -1), o, root)
        return self._done()

    def send(self, comm, buf, peer, tag):
        comm.send(self._bytes(buf), peer)
        return self._done()

    def recv(self, comm, buf, peer, tag):
        if peer is None:
            raise ValueError("recv(): the nccl engine cannot receive from any source "
                             "(NCCL has no wildcard); name src")
        comm.recv(self._bytes(buf), peer)
        return self._done()


def _cupy():
    try:
        import cupy as cp
        from cupyx import distributed
    except ImportError as e:
        raise RuntimeError(f"init_process_group('nccl') needs cupy with NCCL: install the "
                           f"cupy wheel for your CUDA (pip install 'ember-cuda[cuda12]'): "
                           f"{e}") from e
    from cupy.cuda import nccl
    if not nccl.available:
        raise RuntimeError("init_process_group('nccl'): cupy found no NCCL library "
                           "(pip install nvidia-nccl-cu12, or the build for your CUDA)")
    return cp, distributed


def create(rank: int = -1, world_size: int = -1, init_method: str | None = None,
           timeout=None) -> NcclEngine:
    """Join the job: pick this rank's GPU, then meet the other ranks at the TCP store."""
    cp, distributed = _cupy()
    if rank in (-1, None) or world_size in (-1, None):
        raise ValueError("init_process_group('nccl'): rank and world_size are needed "
                         "(arguments, or RANK and WORLD_SIZE as `ember run` sets them)")
    count = cp.cuda.runtime.getDeviceCount()
    if count == 0:
        raise RuntimeError("init_process_group('nccl'): no CUDA device")
    local = int(os.environ.get("LOCAL_RANK", rank % count))
    cp.cuda.Device(local).use()
    host = os.environ.get("MASTER_ADDR", "127.0.0.1")
    port = int(os.environ.get("MASTER_PORT", "29500")) + 1
    comm = distributed.init_process_group(world_size, rank, backend="nccl", host=host,
                                          port=port)
    return NcclEngine(cp, comm, rank, world_size)


def spec() -> EngineSpec:
    """The engine offered through ``ember_distributed_engines``."""
    return EngineSpec("nccl", ("cuda",), create)
