"""``ember.multiprocessing``: Python's ``multiprocessing`` in which CPU tensors travel as
shared memory (``torch.multiprocessing``).

Everything of ``multiprocessing`` is re-exported (``Process``, ``Queue``, ``Pipe``,
``get_context`` …).  Importing this module registers ember's tensor reducer with
``multiprocessing``'s pickler, so a CPU tensor put on any queue or pipe (or passed to a
spawned ``Process``) is moved into shared memory once and the receiver maps the same
pages: nothing is copied, and writes in one process are seen by the others
(``Tensor.share_memory_``, ``Tensor.is_shared``).  The memory is freed when the last
process drops its tensor.  Sharing strategies (``set_sharing_strategy``):
``"file_descriptor"`` (default; anonymous memory, the descriptor is passed, nothing can
leak in ``/dev/shm``) and ``"file_system"`` (named ``/dev/shm/ember_*`` segments,
unlinked by their creator and, after a crash, by ``multiprocessing``'s resource tracker).
Other devices say how their tensors travel through the plugin hook
``ember_tensor_reduce``; without one, a device tensor travels as a copy through host
shared memory.  See docs/multiprocessing.md.

``import ember`` does not import this module.
"""

from __future__ import annotations

import multiprocessing
from multiprocessing import *  # noqa: F403  (a drop-in: the standard names)

from .reductions import init_reductions
from .shared_memory import (get_all_sharing_strategies, get_sharing_strategy,
                            set_sharing_strategy)

__all__ = ["set_sharing_strategy", "get_sharing_strategy", "get_all_sharing_strategies",
           "init_reductions"] + list(multiprocessing.__all__)

init_reductions()
