"""pyopencl's kernel invokers, bound without its per-kernel cache lookup.

A pyopencl kernel called with Python numbers needs an *invoker*: generated Python that
packs each argument for ``clSetKernelArg`` (``Kernel.set_scalar_arg_dtypes``).
pyopencl looks it up per kernel in an on-disk SQLite store, keyed by a hash of the
argument types, about 1-1.5 ms each; a warm process's first training step paid it for
every kernel it met (~10 of them), as much as loading the programs themselves.

The generated code depends only on the argument types (the kernel's name appears in
its function name and messages), so here one invoker serves every kernel with the same
signature in the process, and the invokers a process made are kept for later processes
beside the program binaries (``programs.cache_dir()``), one small file per signature,
read and unpickled on the signature's first use (~0.05 ms; one file holding them all
grew to 400 KB under a test suite and took 0.5-4 ms to read at a first step that needs
ten of them).  Where pyopencl's internals differ
from what this expects, kernels fall back to ``set_scalar_arg_dtypes``.

Constructing a ``pyopencl.Kernel`` also gives it a generic invoker, looked up in the same
SQLite store under the kernel's name (~0.2-0.7 ms per kernel, ~10 kernels at a warm
process's first step), only for ``bind`` to replace it at once.  ``kernel`` constructs
ours without that lookup: while it runs, pyopencl's generator (which the Kernel
constructor calls) answers this thread with a placeholder that ``bind`` replaces;
every other caller, in any thread, still gets pyopencl's own.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import pickle
import sys
import threading

from .programs import _store, cache_dir

__all__ = ["bind", "kernel"]

#: (argument types, OpenCL argument count, flags) -> (enqueue, set_args)
_MEMO: dict = {}
#: pickled invoker modules made by this process, by key: written out at exit
_NEW: dict = {}
#: files kept in the folder at most (a test suite meets hundreds of signatures)
LIMIT = 4096


def _folder() -> str | None:
    import pyopencl as cl
    folder = cache_dir()
    if not folder:
        return None
    py = "".join(map(str, sys.version_info[:2]))
    return os.path.join(folder, f"invokers-pyopencl-{cl.VERSION_TEXT}-py{py}")


def _file(folder: str, key: tuple) -> str:
    return os.path.join(folder, hashlib.sha256(repr(key).encode()).hexdigest()[:40] + ".pickle")


def _read(key: tuple) -> bytes | None:
    folder = _folder()
    if not folder:
        return None
    try:
        with open(_file(folder, key), "rb") as f:
            return f.read()
    except OSError:
        return None


def _save() -> None:
    folder = _folder()
    if not _NEW or not folder:
        return
    try:
        room = LIMIT - len(os.listdir(folder))
    except OSError:
        room = LIMIT
    for key, blob in list(_NEW.items())[:max(room, 0)]:
        _store(folder, _file(folder, key), blob)
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
    blob = _read(key)
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
        if not _NEW:
            atexit.register(_save)
        _NEW[key] = pickle.dumps((pmod, name))
    return pmod.mod_globals[name], pmod.mod_globals["set_args"]


# --- constructing kernels ---------------------------------------------------------------

#: this thread is constructing a kernel that ``bind`` will give its invoker
_constructing = threading.local()
#: whether pyopencl's generator is wrapped (None: not tried yet)
_WRAPPED: bool | None = None


def _unbound(*args, **kwargs):
    raise RuntimeError("rocm: a kernel was launched before its argument types were bound")


def _wrap_generator() -> bool:
    """Wrap pyopencl's invoker generator once so that ``kernel`` can skip it; False where
    pyopencl's internals differ from what this expects."""
    global _WRAPPED
    if _WRAPPED is None:
        import pyopencl as cl
        import pyopencl.invoker as inv
        original = getattr(inv, "generate_enqueue_and_set_args", None)
        if original is None or not hasattr(cl.Kernel, "_set_enqueue_and_set_args"):
            _WRAPPED = False
        else:
            def generate_enqueue_and_set_args(*args, **kwargs):
                if getattr(_constructing, "on", False):
                    return _unbound, _unbound
                return original(*args, **kwargs)
            generate_enqueue_and_set_args.__wrapped__ = original
            inv.generate_enqueue_and_set_args = generate_enqueue_and_set_args
            _WRAPPED = True
    return _WRAPPED


def kernel(program, name: str, dtypes: list, dev):
    """``pyopencl.Kernel(program, name)`` bound to the invoker for ``dtypes`` (see
    ``bind``), without pyopencl's lookup of a generic invoker first."""
    import pyopencl as cl
    if not _wrap_generator():
        k = cl.Kernel(program, name)
    else:
        _constructing.on = True
        try:
            k = cl.Kernel(program, name)
        finally:
            _constructing.on = False
    bind(k, dtypes, dev)
    return k
