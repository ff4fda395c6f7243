"""Building OpenCL programs, from the device's own binaries when a process has built
the same source before.

Building from source costs a fixed ~25 ms per program on PoCL even when its kernel
cache holds the compiled code (it preprocesses and hashes the source first), and
~100 ms through pyopencl's binary cache; a warm process's first training step built
17 programs that way (1.1 s, 130x a steady step).  Loading the device binary that
``clGetProgramInfo(CL_PROGRAM_BINARIES)`` gave the first time takes ~1 ms, and PoCL then
finds the kernel's compiled work-group function in its own cache at the first launch.
So each program is still built lazily, on its kernel's first use in the process, but
from its binary where there is one.  Getting a binary costs about as much as building
the program, so only programs a process keeps using are saved.

Binaries live in ``$EMBER_ROCM_CACHE_DIR`` (default ``$XDG_CACHE_HOME/ember/rocm``,
i.e. ``~/.cache/ember/rocm``; an empty value turns the cache off), one file per
program, named by a hash of the source, the build options, the device and its driver
and platform versions, so a driver update or another device never loads a stale one.
A binary that fails to load is rebuilt from source and replaced.
"""

from __future__ import annotations

import hashlib
import os
import tempfile

__all__ = ["CACHE_ENV", "cache_dir", "build_program", "save_binary", "stats"]

CACHE_ENV = "EMBER_ROCM_CACHE_DIR"

#: programs built in this process, by how: "binary" (from the cache) or "source"
stats = {"binary": 0, "source": 0}


def cache_dir() -> str | None:
    """Where program binaries are kept (``None``: the cache is off)."""
    d = os.environ.get(CACHE_ENV)
    if d is not None:
        return d or None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "ember", "rocm")


def _key(device, source: str, options: str) -> str:
    h = hashlib.sha256()
    for part in (device.platform.name, device.platform.version, device.name,
                 device.driver_version, device.version, options, source):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()


def _load(path: str) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def _store(folder: str, path: str, binary: bytes) -> None:
    # written whole, then renamed: a concurrent process reads the old file or the new
    try:
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(binary)
        os.replace(tmp, path)
    except OSError:  # a read-only or full disk: the cache is an optimisation
        pass


def _path(device, source: str, options: str) -> str | None:
    folder = cache_dir()
    return os.path.join(folder, _key(device, source, options) + ".bin") if folder else None


def build_program(context, device, source: str, options: str = ""):
    """``(program, from_binary)``: the built ``pyopencl.Program`` of ``source`` for
    ``device``, from the cached binary when there is a valid one, else from source
    (then :func:`save_binary` may cache it)."""
    import pyopencl as cl
    path = _path(device, source, options)
    binary = _load(path) if path else None
    if binary:
        try:
            prg = cl.Program(context, [device], [binary]).build(options=options)
        except (cl.Error, cl.RuntimeError):
            pass  # stale or damaged: build from source below; saving replaces it
        else:
            stats["binary"] += 1
            return prg, True
    prg = cl.Program(context, source).build(options=options)
    stats["source"] += 1
    return prg, False


def save_binary(device, source: str, prg, options: str = "") -> None:
    """Cache the device binary of ``prg`` (built from ``source``).

    Asking PoCL for a program's binary compiles every kernel of it for the binary
    (about as long again as the build from source, holding the GIL), so callers save
    only programs that a process keeps using (see ``compiler.get_kernel``), not every
    program a test suite builds once."""
    import pyopencl as cl
    path = _path(device, source, options)
    if path is None:
        return
    binaries = prg.get_info(cl.program_info.BINARIES)
    if binaries and binaries[0]:
        _store(os.path.dirname(path), path, bytes(binaries[0]))
