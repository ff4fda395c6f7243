"""pyopencl's kernel invokers, bound without its per-kernel cache lookup.

A pyopencl kernel called with Python numbers needs an *invoker*: generated Python that
packs each argument for ``clSetKernelArg`` (``Kernel.set_scalar_arg_dtypes``).
pyopencl looks it up per kernel in an on-disk SQLite store, keyed by a hash of the
argument types, about 1-1.5 ms each; a warm process's first training step paid it for
every kernel it met (~10 of them), as much as loading the programs themselves.

The generated code depends only on the argument types (the kernel's name appears in
its function name and messages), so here one invoker serves every kernel with the same
signature in the process, and the invokers a process made are kept for later processes
in one file beside the program binaries (``programs.cache_dir()``), read once and
unpickled per signature on first use (~0.05 ms).  Where pyopencl's internals differ
from what this expects, kernels fall back to ``set_scalar_arg_dtypes``.
"""

from __future__ import annotations

import atexit
import os
import pickle
import sys

from .programs import _store, cache_dir

__all__ = ["bind"]

#: (argument types, OpenCL argument count, flags) -> (enqueue, set_args)
_MEMO: dict = {}
#: pickled invoker modules by key: read from the cache file, then grown by this process
_DISK: dict | None = None
_NEW: list = []
#: entries kept in the file at most (a test suite meets hundreds of signatures)
LIMIT = 4096


def _path() -> str | None:
    import pyopencl as cl
    folder = cache_dir()
    if not folder:
        return None
    py = "".join(map(str, sys.version_info[:2]))
    return os.path.join(folder, f"invokers-pyopencl-{cl.VERSION_TEXT}-py{py}.pickle")


def _disk() -> dict:
    global _DISK
    if _DISK is None:
        _DISK = {}
        path = _path()
        if path:
            try:
                with open(path, "rb") as f:
                    _DISK = pickle.load(f)
            except Exception:  # missing, damaged or from other versions: start afresh
                _DISK = {}
    return _DISK


def _save() -> None:
    path = _path()
    if not _NEW or not path or _DISK is None:
        return
    if len(_DISK) <= LIMIT:
        _store(os.path.dirname(path), path, pickle.dumps(_DISK))
    _NEW.clear()


def _flags(dev) -> tuple:
    flags = dev.__dict__.get("invoker_flags")
    if flags is None:
        # pyopencl's own check (kernel_set_arg_types): PoCL <= 0.14 and Apple CPUs
        # mishandle struct arguments
        from pyopencl.characterize import has_struct_arg_count_bug
        bug = has_struct_arg_count_bug(dev.device, dev.context)
        flags = dev.invoker_flags = (bug, False)
    return flags


def bind(kernel, dtypes: list, dev) -> None:
    """Give ``kernel`` (of ``DeviceState`` ``dev``) the invoker for ``dtypes`` (``None``
    for buffers), as ``kernel.set_scalar_arg_dtypes(dtypes)`` would."""
    setter = getattr(kernel, "_set_enqueue_and_set_args", None)
    if setter is None:
        kernel.set_scalar_arg_dtypes(dtypes)
        return
    types = tuple(dtypes)
    key = (tuple(None if t is None else t.str for t in types), kernel.num_args, _flags(dev),
           __debug__)
    fns = _MEMO.get(key)
    if fns is None:
        try:
            fns = _MEMO[key] = _make(key, types, kernel.num_args, dev)
        except Exception:  # pyopencl's internals moved: its public path
            kernel.set_scalar_arg_dtypes(dtypes)
            return
    setter(*fns)


def _make(key, types: tuple, num_cl_args: int, dev):
    disk = _disk()
    blob = disk.get(key)
    pmod = name = None
    if blob is not None:
        try:
            pmod, name = pickle.loads(blob)
        except Exception:  # (other bytecode: made anew below)
            pmod = None
    if pmod is None:
        from pyopencl.invoker import _generate_enqueue_and_set_args_module
        bug, warn = _flags(dev)
        pmod, name = _generate_enqueue_and_set_args_module(
            "kernel", len(types), num_cl_args, types, __debug__, bug, warn)
        if len(disk) < LIMIT:
            disk[key] = pickle.dumps((pmod, name))
            if not _NEW:
                atexit.register(_save)
            _NEW.append(key)
    return pmod.mod_globals[name], pmod.mod_globals["set_args"]
