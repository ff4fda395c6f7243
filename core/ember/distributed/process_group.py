"""The default process group and subgroups: who is in the job, and through which engine.

PyTorch's names and rules: ``init_process_group`` once per process, ``new_group`` called
by every rank (it is collective), ``src``/``dst`` arguments are global ranks, and a rank
outside a group gets ``GroupMember.NON_GROUP_MEMBER`` back.
"""

from __future__ import annotations

import datetime
import os
from typing import Any

from .engine import Engine, EngineSpec, engine_specs

__all__ = ["ProcessGroup", "GroupMember", "init_process_group", "destroy_process_group",
           "is_initialized", "is_available", "new_group", "get_rank", "get_world_size",
           "get_backend", "default_group"]


class ProcessGroup:
    """A set of ranks and the engine handles that move their data, one engine per
    device type (``engines``), so ``backend="cpu:mpi,cuda:nccl"`` works as in PyTorch."""

    def __init__(self, ranks: list[int], comms: dict[str, tuple[Engine, Any, EngineSpec]]):
        self.ranks = ranks
        self._comms = comms  # engine name -> (engine, its handle of this group, spec)

    def size(self) -> int:
        return len(self.ranks)

    def rank(self) -> int:
        return self.ranks.index(_state().global_rank)

    def group_rank(self, global_rank: int, op: str, arg: str) -> int:
        try:
            return self.ranks.index(global_rank)
        except ValueError:
            raise ValueError(f"{op}(): {arg}={global_rank} is not a rank of this group "
                             f"(its global ranks are {self.ranks})") from None

    def __repr__(self) -> str:
        return f"ProcessGroup(ranks={self.ranks}, engines={sorted(self._comms)})"


class GroupMember:
    """``NON_GROUP_MEMBER``: what ``new_group`` returns on ranks it does not include."""

    WORLD = None
    NON_GROUP_MEMBER = object()


class _State:
    def __init__(self, spec_for: dict[str, EngineSpec], engines: dict[str, Engine],
                 backend: str) -> None:
        self.spec_for = spec_for  # device type -> spec of its engine
        self.engines = engines  # engine name -> engine
        self.backend = backend
        any_engine = next(iter(engines.values()))
        self.global_rank = any_engine.rank
        self.world_size = any_engine.world_size
        specs = {s.name: s for s in spec_for.values()}
        self.world = ProcessGroup(list(range(self.world_size)),
                                  {n: (e, e.world, specs[n]) for n, e in engines.items()})
        self.groups: list[ProcessGroup] = []


_STATE: _State | None = None


def _state() -> _State:
    if _STATE is None:
        raise RuntimeError("Default process group has not been initialized, please make "
                           "sure to call init_process_group.")
    return _STATE


def _parse_backend(backend: str | None, specs: dict[str, EngineSpec]) -> dict[str, str]:
    """``"mpi"`` or ``"cpu:mpi,cuda:nccl"`` -> {device type: engine name}."""
    backend = (backend or "mpi").lower()
    pairs: dict[str, str] = {}
    for part in backend.split(","):
        dev, _, name = part.strip().rpartition(":")
        if name not in specs:
            raise ValueError(f"init_process_group(): unknown backend {name!r}; available: "
                             f"{', '.join(sorted(specs))} (plugins add more through the "
                             f"hook ember_distributed_engines)")
        for d in ([dev] if dev else specs[name].device_types):
            pairs[d] = name
    return pairs


def init_process_group(backend: str | None = None, init_method: str | None = None,
                       timeout: datetime.timedelta | None = None, world_size: int = -1,
                       rank: int = -1, store=None, group_name: str = "",
                       device_id=None) -> None:
    """Join the job: ``backend`` names an engine (``"mpi"``; default) or one per device
    type (``"cpu:mpi,cuda:nccl"``).  ``init_method`` is ``None`` or ``"env://"`` (ranks
    from ``RANK``/``WORLD_SIZE``/``MASTER_ADDR``/``MASTER_PORT``, or MPI's own)."""
    global _STATE
    if _STATE is not None:
        raise RuntimeError("trying to initialize the default process group twice!")
    if store is not None:
        raise NotImplementedError("init_process_group(): store= is not supported; ranks "
                                  "meet through the engine (mpi) or env://")
    if init_method not in (None, "env://"):
        raise ValueError(f"init_process_group(): init_method={init_method!r}; supported: "
                         f"None or 'env://'")
    if rank == -1 and "RANK" in os.environ and world_size == -1:
        rank, world_size = int(os.environ["RANK"]), int(os.environ.get("WORLD_SIZE", -1))
    specs = engine_specs()
    pairs = _parse_backend(backend, specs)
    engines: dict[str, Engine] = {}
    for name in dict.fromkeys(pairs.values()):
        engines[name] = specs[name].create(rank=rank, world_size=world_size,
                                           init_method=init_method, timeout=timeout)
    _STATE = _State({d: specs[n] for d, n in pairs.items()}, engines,
                    backend or "mpi")


def destroy_process_group(group: ProcessGroup | None = None) -> None:
    """Leave the job (``group=None``) or free one subgroup."""
    global _STATE
    st = _state()
    targets = [group] if group is not None else [*st.groups, st.world]
    for g in targets:
        for engine, comm, _ in g._comms.values():
            engine.free(comm)
        if g in st.groups:
            st.groups.remove(g)
    if group is None:
        _STATE = None


def is_initialized() -> bool:
    """Whether ``init_process_group`` has run (and ``destroy_process_group`` has not)."""
    return _STATE is not None


def is_available() -> bool:
    """Always ``True``: the API is there; whether an engine can run is told by
    ``init_process_group``."""
    return True


def default_group() -> ProcessGroup:
    return _state().world


def new_group(ranks: list[int] | None = None, timeout=None, backend: str | None = None,
              pg_options=None, use_local_synchronization: bool = False):
    """A subgroup of ``ranks`` (global ranks; all of them when ``None``).  Every rank of
    the job must call it, in the same order; ranks outside get
    ``GroupMember.NON_GROUP_MEMBER``."""
    st = _state()
    members = sorted(set(range(st.world_size) if ranks is None else ranks))
    for r in members:
        if not isinstance(r, int) or not 0 <= r < st.world_size:
            raise ValueError(f"new_group(): ranks must be in [0, {st.world_size}), got {r!r}")
    comms = {}
    for name, (engine, _, spec) in st.world._comms.items():
        sub = engine.split(members)
        if sub is not None:
            comms[name] = (engine, sub, spec)
    if st.global_rank not in members:
        return GroupMember.NON_GROUP_MEMBER
    g = ProcessGroup(members, comms)
    st.groups.append(g)
    return g


def get_rank(group: ProcessGroup | None = None) -> int:
    """This process's rank in ``group`` (the default group when ``None``); -1 outside it."""
    if group is GroupMember.NON_GROUP_MEMBER:
        return -1
    st = _state()
    return st.global_rank if group is None else group.rank()


def get_world_size(group: ProcessGroup | None = None) -> int:
    """The number of ranks in ``group`` (the default group when ``None``); -1 outside it."""
    if group is GroupMember.NON_GROUP_MEMBER:
        return -1
    return _state().world_size if group is None else group.size()


def get_backend(group: ProcessGroup | None = None) -> str:
    """The ``backend`` string the group was made with."""
    return _state().backend
