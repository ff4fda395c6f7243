"""``ember.distributed``: PyTorch's process groups and collectives on existing engines.

``init_process_group("mpi")`` joins a job started by ``ember run -n N script.py``
(``mpiexec`` underneath); plugins add engines for their devices through the hook
``ember_distributed_engines``.  See docs/distributed.md.
"""

from __future__ import annotations

from .collectives import (Work, all_gather, all_gather_into_tensor, all_reduce, barrier,
                          broadcast, gather, irecv, isend, recv, reduce, reduce_scatter,
                          reduce_scatter_tensor, scatter, send)
from .engine import Engine, EngineSpec, ReduceOp
from .process_group import (GroupMember, ProcessGroup, destroy_process_group, get_backend,
                            get_rank, get_world_size, init_process_group, is_available,
                            is_initialized, new_group)

__all__ = ["init_process_group", "destroy_process_group", "is_initialized", "is_available",
           "new_group", "get_rank", "get_world_size", "get_backend", "ProcessGroup",
           "GroupMember", "ReduceOp", "Work", "Engine", "EngineSpec",
           "all_reduce", "reduce", "broadcast", "all_gather", "all_gather_into_tensor",
           "reduce_scatter", "reduce_scatter_tensor", "gather", "scatter", "send", "recv",
           "isend", "irecv", "barrier"]
