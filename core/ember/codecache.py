"""Generated Python code, compiled once per machine rather than once per process.

The core writes Python source for each op's entry point, runners, shape checks and
autograd recorders on the op's first call (:mod:`ember.schema`, :mod:`ember.kernels`,
:mod:`ember.autograd.recording`, ...).  Compiling it costs 0.15-0.5 ms per function,
4-17 ms for the ~30 functions of a small training step's first call: as much as one to
three steady steps.  Loading the code object that an earlier process compiled from the
same source costs ~15 µs, so code objects are kept, the way Python keeps a module's
bytecode in ``__pycache__``.

Each is a file in ``$EMBER_CODE_CACHE_DIR`` (default ``$XDG_CACHE_HOME/ember/code``,
i.e. ``~/.cache/ember/code``; an empty value turns the cache off), in a folder per
bytecode version, named by checksums of its source and file name.  The file also holds
the source and file name it was compiled from, and a file whose source differs (a
checksum collision), that is damaged or that fails to load is compiled afresh: a cached
entry can only ever stand for exactly its source.  New entries are written when the
process exits.  A folder that has reached ``LIMIT`` files is emptied before new ones
are written (entries are cheap to make again, and sources that changed with ember's
code leave stale ones behind that would otherwise keep the current ones out).
"""

from __future__ import annotations

import marshal
import os
import sys
import zlib

__all__ = ["CACHE_ENV", "LIMIT", "cache_dir", "exec_generated", "compile_generated"]

CACHE_ENV = "EMBER_CODE_CACHE_DIR"
#: files kept at most (a test suite compiles a few thousand functions)
LIMIT = 8192

#: entries compiled by this process, by file name: written at exit
_NEW: dict = {}


def cache_dir() -> str | None:
    """The folder of this interpreter's cached code (``None``: the cache is off)."""
    d = os.environ.get(CACHE_ENV)
    if d is None:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"),
                                                                ".cache")
        d = os.path.join(base, "ember", "code")
    if not d:
        return None
    from importlib.util import MAGIC_NUMBER  # the bytecode version
    return os.path.join(d, f"{sys.implementation.cache_tag}-{MAGIC_NUMBER.hex()}")


def _name(source: str, filename: str) -> str:
    # (zlib, not hashlib: importing hashlib costs milliseconds, and a collision only
    # costs a compile, since the file's own source is compared)
    data = f"{filename}\0{source}".encode()
    return f"{zlib.crc32(data):08x}{zlib.adler32(data):08x}{len(data):x}.code"


def compile_generated(source: str, filename: str):
    """``compile(source, filename, "exec")``, from the cache where an earlier process
    compiled the same source under the same file name."""
    folder = cache_dir()
    if folder is None:
        return compile(source, filename, "exec")
    name = _name(source, filename)
    try:
        with open(os.path.join(folder, name), "rb") as f:
            src, fname, code = marshal.loads(f.read())
        if src == source and fname == filename:
            return code
    except Exception:  # missing, damaged or foreign: compiled below and replaced
        pass
    code = compile(source, filename, "exec")
    if not _NEW:
        import atexit
        atexit.register(_save)
    _NEW[name] = (folder, marshal.dumps((source, filename, code)))
    return code


def exec_generated(source: str, filename: str, env: dict) -> dict:
    """Run the generated module ``source`` in the namespace ``env`` and return ``env``."""
    exec(compile_generated(source, filename), env)
    return env


def _save() -> None:
    """Write this process's new entries (each whole, then renamed into place, so a
    concurrent process reads the old file or the new one)."""
    import tempfile
    entries, folders = list(_NEW.items()), {}
    _NEW.clear()
    for name, (folder, blob) in entries:
        if folder not in folders:
            try:
                os.makedirs(folder, exist_ok=True)
                names = os.listdir(folder)
                if len(names) + len(entries) > LIMIT:
                    for old in names:
                        os.remove(os.path.join(folder, old))
                    names = []
                folders[folder] = LIMIT - len(names)
            except OSError:  # a read-only or full disk: the cache is an optimisation
                folders[folder] = 0
        if folders[folder] <= 0:
            continue
        try:
            fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
            with os.fdopen(fd, "wb") as f:
                f.write(blob)
            os.replace(tmp, os.path.join(folder, name))
            folders[folder] -= 1
        except OSError:
            folders[folder] = 0
