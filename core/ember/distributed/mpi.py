"""The ``mpi`` engine: collectives through mpi4py on host (numpy) buffers.

The ranks are MPI's own (``MPI.COMM_WORLD``), so the processes must be started by
``mpiexec`` — ``ember run -n N script.py`` does it.  MPI has no 16-bit float types:
``float16``/``bfloat16`` reductions run on a float32 copy and round once; data
movement (broadcast, gather, send …) copies the bytes of any dtype.
"""

from __future__ import annotations

import os

import numpy as np

from .engine import ReduceOp

__all__ = ["create", "MpiEngine"]


def _mpi():
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise RuntimeError("ember.distributed's mpi engine needs mpi4py and an MPI library: "
                           "pip install 'ember[distributed]' (mpi4py with the mpich "
                           f"wheel): {e}") from e
    return MPI


class _Pending:
    """An MPI request, with the post-processing that must follow it."""

    __slots__ = ("req", "then", "status", "done")

    def __init__(self, req, then=None, status=None) -> None:
        self.req, self.then, self.status, self.done = req, then, status, False

    def _finish(self) -> None:
        if not self.done:
            self.done = True
            if self.then is not None:
                self.then()

    def wait(self) -> None:
        if self.status is not None:
            self.req.Wait(self.status)
        else:
            self.req.Wait()
        self._finish()

    def test(self) -> bool:
        if self.done:
            return True
        ok = self.req.Test(self.status) if self.status is not None else self.req.Test()
        if ok:
            self._finish()
        return ok

    @property
    def source(self) -> int | None:
        return None if self.status is None else self.status.Get_source()


def _bytes(a: np.ndarray) -> np.ndarray:
    return a.reshape(-1).view(np.uint8)


_WIDEN = {np.dtype(np.float16).str}  # bfloat16 is matched by name (ml_dtypes)


def _needs_widening(a: np.ndarray) -> bool:
    return a.dtype.str in _WIDEN or a.dtype.name == "bfloat16"


class MpiEngine:
    """Collectives of ``MPI.COMM_WORLD`` (duplicated, so ember's traffic never matches
    a user's own mpi4py messages)."""

    name = "mpi"

    def __init__(self, MPI) -> None:
        self.MPI = MPI
        self.world = MPI.COMM_WORLD.Dup()
        self.rank = self.world.Get_rank()
        self.world_size = self.world.Get_size()
        M = MPI
        self._ops = {ReduceOp.SUM: M.SUM, ReduceOp.PRODUCT: M.PROD, ReduceOp.MIN: M.MIN,
                     ReduceOp.MAX: M.MAX}
        self._bool_ops = {ReduceOp.SUM: M.LOR, ReduceOp.MAX: M.LOR, ReduceOp.MIN: M.LAND,
                          ReduceOp.PRODUCT: M.LAND}

    # -- groups ------------------------------------------------------------------------------
    def split(self, ranks: list[int]):
        color = 0 if self.rank in ranks else self.MPI.UNDEFINED
        key = ranks.index(self.rank) if self.rank in ranks else 0
        comm = self.world.Split(color, key)
        return None if comm == self.MPI.COMM_NULL else comm

    def free(self, comm) -> None:
        if comm is not None and comm != self.MPI.COMM_NULL:
            comm.Free()

    # -- reductions ----------------------------------------------------------------------------
    def _reduction(self, buf: np.ndarray, op: ReduceOp):
        """(the buffer MPI reduces, its MPI op, what to run after)."""
        if buf.dtype == np.bool_:
            return buf, self._bool_ops[op], None
        if buf.dtype.kind == "c" and op in (ReduceOp.MIN, ReduceOp.MAX):
            raise TypeError(f"ReduceOp.{op.name} is not defined for complex tensors")
        if _needs_widening(buf):
            wide = buf.astype(np.float32)

            def narrow():
                buf[...] = wide.astype(buf.dtype)
            return wide, self._ops[op], narrow
        return buf, self._ops[op], None

    def barrier(self, comm):
        return _Pending(comm.Ibarrier())

    def all_reduce(self, comm, buf, op):
        b, mop, then = self._reduction(buf, op)
        return _Pending(comm.Iallreduce(self.MPI.IN_PLACE, b, mop), then)

    def reduce(self, comm, buf, root, op):
        b, mop, then = self._reduction(buf, op)
        if comm.Get_rank() == root:
            return _Pending(comm.Ireduce(self.MPI.IN_PLACE, b, mop, root), then)
        # Non-roots keep their input, as PyTorch's ``reduce`` promises nothing else.
        return _Pending(comm.Ireduce(b, None, mop, root))

    def reduce_scatter(self, comm, out, buf, op):
        b, mop, _ = self._reduction(buf, op)
        o, _, then = self._reduction(out, op)
        return _Pending(comm.Ireduce_scatter_block(b, o, mop), then)

    # -- data movement -------------------------------------------------------------------------
    def broadcast(self, comm, buf, root):
        return _Pending(comm.Ibcast(_bytes(buf), root))

    def all_gather(self, comm, out, buf):
        return _Pending(comm.Iallgather(_bytes(buf), _bytes(out)))

    def gather(self, comm, buf, out, root):
        return _Pending(comm.Igather(_bytes(buf), None if out is None else _bytes(out), root))

    def scatter(self, comm, out, buf, root):
        return _Pending(comm.Iscatter(None if buf is None else _bytes(buf), _bytes(out), root))

    def send(self, comm, buf, peer, tag):
        return _Pending(comm.Isend(_bytes(buf), peer, tag))

    def recv(self, comm, buf, peer, tag):
        MPI = self.MPI
        return _Pending(comm.Irecv(_bytes(buf), MPI.ANY_SOURCE if peer is None else peer,
                                   tag), status=MPI.Status())


def create(rank: int = -1, world_size: int = -1, init_method: str | None = None,
           timeout=None) -> MpiEngine:
    """Join the MPI job this process was started in (by ``mpiexec``)."""
    engine = MpiEngine(_mpi())
    env_size = os.environ.get("WORLD_SIZE")
    if engine.world_size == 1 and env_size not in (None, "1"):
        raise RuntimeError(f"init_process_group('mpi'): WORLD_SIZE={env_size} but MPI sees "
                           f"1 process: MPI ranks must be started by mpiexec "
                           f"(`ember run -n {env_size} script.py`)")
    if world_size not in (-1, None) and world_size != engine.world_size:
        raise ValueError(f"init_process_group('mpi'): world_size={world_size}, but mpiexec "
                         f"started {engine.world_size} processes")
    if rank not in (-1, None) and rank != engine.rank:
        raise ValueError(f"init_process_group('mpi'): rank={rank}, but MPI gave this "
                         f"process rank {engine.rank}")
    return engine
