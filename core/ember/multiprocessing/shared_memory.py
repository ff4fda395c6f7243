"""Host shared memory that several processes map: the storage of shared CPU tensors.

A *segment* is one block of shared memory mapped into this process
(:class:`SharedBuffer`, an ``mmap`` that numpy arrays view).  Two sharing strategies, as
PyTorch's, decide how another process finds it:

``file_descriptor`` (the default)
    The segment is anonymous (``memfd_create``; where that is missing, a file in
    ``/dev/shm`` unlinked as soon as it is created): it has no name, so nothing can be
    left behind in ``/dev/shm``, whatever happens to the processes.  A receiver gets a
    duplicate of the file descriptor (``multiprocessing.reduction.DupFd``: passed over
    a Unix socket by the sender's resource sharer, so the *sending process* must still
    be alive when the receiver unpickles) and maps the same pages.  The kernel frees the
    memory when the last process unmaps it and closes its descriptor.
``file_system``
    The segment is a named POSIX shared-memory object (``/dev/shm/ember_…``) that the
    receiver opens by name; no descriptor travels.  The creating process unlinks the name
    when its own tensor is freed (receivers that have mapped it keep their pages), so the
    sender must keep the tensor alive until every receiver has it.  The name is also
    registered with ``multiprocessing``'s resource tracker, which unlinks it when the last
    process of the program exits, so a creator killed with ``kill -9`` leaks nothing
    past the program's end.

A mapped segment holds a descriptor (``mmap`` keeps a duplicate on Python < 3.13), and
with ``file_descriptor`` a second one, kept to share the segment onward; both close
when the segment's last array is freed.  A process holding thousands of shared tensors
at once may need a higher ``ulimit -n`` or the ``file_system`` strategy.
"""

from __future__ import annotations

import mmap
import os
import secrets
import weakref

import numpy as np

__all__ = ["SharedBuffer", "STRATEGIES", "get_sharing_strategy", "set_sharing_strategy",
           "get_all_sharing_strategies", "new_segment", "open_fd", "open_name",
           "shared_copy", "segment_of", "NAME_PREFIX"]

STRATEGIES = ("file_descriptor", "file_system")
#: Every named segment ember creates starts with this (tests look for leftovers).
NAME_PREFIX = "ember_"
_strategy = ["file_descriptor"]


def get_all_sharing_strategies() -> set[str]:
    """The sharing strategies this system supports."""
    return set(STRATEGIES)


def get_sharing_strategy() -> str:
    """The strategy new shared segments use (``"file_descriptor"`` by default)."""
    return _strategy[0]


def set_sharing_strategy(strategy: str) -> None:
    """Use ``strategy`` (``"file_descriptor"`` or ``"file_system"``) for segments
    created from now on, in this process."""
    if strategy not in STRATEGIES:
        raise ValueError(f"set_sharing_strategy(): unknown strategy {strategy!r}; "
                         f"expected one of {list(STRATEGIES)}")
    _strategy[0] = strategy


class SharedBuffer(mmap.mmap):
    """One mapped shared-memory segment: an ``mmap`` (numpy views it through the buffer
    protocol) that also knows its descriptor, size and, for ``file_system``, its name.

    The descriptor is closed, and a name this process created unlinked, when the buffer
    is freed: that is, when the last array viewing it is gone.
    """

    fd: int
    size: int
    name: str | None
    address: int


def _wrap(fd: int, size: int, name: str | None, owner: bool) -> SharedBuffer:
    buf = SharedBuffer(fd, size)  # MAP_SHARED, read-write (mmap keeps its own dup)
    if name is not None:  # found again by name: no descriptor needs to stay open
        os.close(fd)
        fd = -1
    buf.fd, buf.size, buf.name = fd, size, name
    buf.address = np.frombuffer(buf, np.uint8).ctypes.data
    weakref.finalize(buf, _release, fd, name if owner else None)
    return buf


def _release(fd: int, name: str | None) -> None:
    if fd >= 0:
        try:
            os.close(fd)
        except OSError:
            pass
    if name is not None:
        _unlink(name)


def _unlink(name: str) -> None:
    import _posixshmem
    from multiprocessing import resource_tracker
    try:
        _posixshmem.shm_unlink("/" + name)
    except FileNotFoundError:
        pass
    try:
        resource_tracker.unregister("/" + name, "shared_memory")
    except Exception:  # the tracker is gone at interpreter exit: nothing left to tell
        pass


def _anonymous_fd() -> int:
    if hasattr(os, "memfd_create"):
        return os.memfd_create("ember_shared", os.MFD_CLOEXEC)
    import tempfile  # no memfd (not Linux): a /dev/shm file, unlinked at once
    fd, path = tempfile.mkstemp(prefix=NAME_PREFIX, dir="/dev/shm" if os.path.isdir(
        "/dev/shm") else None)
    os.unlink(path)
    return fd


def new_segment(nbytes: int, strategy: str | None = None) -> SharedBuffer:
    """A fresh zero-filled segment of ``nbytes`` bytes (at least 1: ``mmap`` cannot
    map nothing) with ``strategy`` (default: the current one)."""
    strategy = strategy or _strategy[0]
    size = max(int(nbytes), 1)
    if strategy == "file_descriptor":
        fd = _anonymous_fd()
        name = None
    elif strategy == "file_system":
        import _posixshmem
        from multiprocessing import resource_tracker
        name = f"{NAME_PREFIX}{os.getpid()}_{secrets.token_hex(6)}"
        fd = _posixshmem.shm_open("/" + name, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
        resource_tracker.register("/" + name, "shared_memory")
    else:
        raise ValueError(f"unknown sharing strategy {strategy!r}; expected one of "
                         f"{list(STRATEGIES)}")
    try:
        os.ftruncate(fd, size)
        return _wrap(fd, size, name, owner=True)
    except BaseException:
        os.close(fd)
        if name is not None:
            _unlink(name)
        raise


def open_fd(fd: int, size: int) -> SharedBuffer:
    """Map a segment received as a descriptor (this process now owns ``fd``)."""
    return _wrap(fd, size, None, owner=False)


def open_name(name: str, size: int) -> SharedBuffer:
    """Map the named segment ``name`` (``file_system`` strategy)."""
    import _posixshmem
    try:
        fd = _posixshmem.shm_open("/" + name, os.O_RDWR, 0o600)
    except FileNotFoundError:
        raise RuntimeError(
            f"shared tensor segment /dev/shm/{name} is gone: with the 'file_system' "
            f"sharing strategy the sending process must keep the tensor alive until the "
            f"receiver has loaded it") from None
    return _wrap(fd, size, name, owner=False)


def segment_of(arr: np.ndarray) -> tuple[SharedBuffer, int] | None:
    """The shared segment ``arr`` views and the byte offset of its first element in
    it, or ``None`` when ``arr`` is not in shared memory."""
    base = arr
    while isinstance(base, np.ndarray):
        base = base.base
    if isinstance(base, memoryview):  # (np.frombuffer views through one)
        base = base.obj
    if not isinstance(base, SharedBuffer):
        return None
    return base, arr.__array_interface__["data"][0] - base.address


def shared_copy(arr: np.ndarray, strategy: str | None = None) -> np.ndarray:
    """A C-contiguous copy of ``arr`` in a new shared segment."""
    buf = new_segment(arr.nbytes, strategy)
    out = np.ndarray(arr.shape, arr.dtype, buffer=buf)
    np.copyto(out, arr, casting="no")
    return out


def shared_empty(shape: tuple, dtype: np.dtype, strategy: str | None = None) -> np.ndarray:
    """An uninitialised (zero-filled) C-contiguous array in a new shared segment."""
    dtype = np.dtype(dtype)
    buf = new_segment(int(np.prod(shape, dtype=np.int64)) * dtype.itemsize, strategy)
    return np.ndarray(shape, dtype, buffer=buf)
