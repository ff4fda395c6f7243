"""What a collective-communication engine owes ember, and where engines come from.

An *engine* (PyTorch calls it a process-group backend) moves the data of one device
type between processes: ``mpi`` (mpi4py, for host memory) is built in; a plugin brings
its own library through the hook ``ember_distributed_engines`` (``nccl`` for cuda, a
vendor's for its device).  An engine works on the backend's native, contiguous arrays
in place; the core does the PyTorch semantics around it (argument checks, ``AVG``,
ranks of subgroups, host staging for devices without an engine of their own).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["ReduceOp", "Request", "Engine", "EngineSpec", "engine_specs"]


class ReduceOp(enum.Enum):
    """How ``all_reduce``, ``reduce`` and ``reduce_scatter`` combine the ranks' values."""

    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"

    def __repr__(self) -> str:
        return f"<ReduceOp.{self.name}>"


class Request(Protocol):
    """One operation in flight: ``wait()`` blocks until it is done, ``test()`` asks."""

    def wait(self) -> None: ...

    def test(self) -> bool: ...


class Engine(Protocol):
    """A process group's engine.  ``comm`` is the engine's own handle of a group (what
    ``split`` returned, or ``world`` for the default group); ``root``/``peer`` are ranks
    *within* that group.  Every buffer is a native array of the engine's device types,
    C-contiguous; operations fill their output buffers in place and return a
    ``Request``.  ``op`` is never ``AVG`` (the core sums, then divides)."""

    name: str
    rank: int
    world_size: int
    world: Any

    def split(self, ranks: list[int]) -> Any | None: ...
    def free(self, comm: Any) -> None: ...
    def barrier(self, comm: Any) -> Request: ...
    def all_reduce(self, comm: Any, buf: Any, op: ReduceOp) -> Request: ...
    def reduce(self, comm: Any, buf: Any, root: int, op: ReduceOp) -> Request: ...
    def broadcast(self, comm: Any, buf: Any, root: int) -> Request: ...
    def all_gather(self, comm: Any, out: Any, buf: Any) -> Request: ...
    def reduce_scatter(self, comm: Any, out: Any, buf: Any, op: ReduceOp) -> Request: ...
    def gather(self, comm: Any, buf: Any, out: Any | None, root: int) -> Request: ...
    def scatter(self, comm: Any, out: Any, buf: Any | None, root: int) -> Request: ...
    def send(self, comm: Any, buf: Any, peer: int, tag: int) -> Request: ...
    def recv(self, comm: Any, buf: Any, peer: int | None, tag: int) -> Request: ...


@dataclass(frozen=True)
class EngineSpec:
    """An engine a plugin offers: its ``name`` (what ``init_process_group(backend=...)``
    takes), the device types whose native arrays it moves, whether tensors of other
    devices may be staged through host memory into it (``host_staged``: for host
    engines such as MPI), and ``create(rank, world_size, init_method, timeout)``, which
    joins the job and returns an ``Engine``."""

    name: str
    device_types: tuple[str, ...]
    create: Callable[..., Engine]
    host_staged: bool = False


def _mpi_spec() -> EngineSpec:
    from .mpi import create
    return EngineSpec("mpi", ("cpu",), create, host_staged=True)


def engine_specs() -> dict[str, EngineSpec]:
    """Every engine known: the built-in ``mpi`` and those plugins register."""
    from .. import plugins
    plugins.load_all()
    specs = {"mpi": _mpi_spec()}
    for offered in plugins.manager.hook.ember_distributed_engines():
        for spec in offered or ():
            if spec.name in specs:
                raise ValueError(f"two plugins offer the distributed engine {spec.name!r}")
            specs[spec.name] = spec
    return specs
