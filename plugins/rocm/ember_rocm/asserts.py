"""Device-side asserts: argument checks that kernels make while they run, reported at
the next synchronisation instead of costing one (PyTorch's CUDA kernels do the same
with device asserts).

A kernel that checks (cross-entropy's targets, within the classes or ignored) gets a
*slot* of the device's flag buffer: two int64s, "failed" and the offending value.  The
host keeps, per slot, what the check was about (op, classes, ignore_index).  The flags
are read with the next host read of the device (``to_host`` enqueues their read ahead of
its own blocking copy, so the in-order queue delivers both at once) or at
``synchronize``; a set flag raises the error the op's value rule would have raised, and
clears the flags.  So ``loss.item()`` after a step with an out-of-range target raises
``IndexError`` naming ``cross_entropy``, its argument and the classes -- one read later
than the CPU's, which checks before computing.  Until then the kernels treat the bad
target as ignored.
"""

from __future__ import annotations

import numpy as np

__all__ = ["DeviceAsserts", "of"]

#: checks that may be pending at once (distinct ops/class counts since the last read);
#: one more forces a read
SLOTS = 32


class DeviceAsserts:
    """The flag buffer of one device and what each of its slots checks."""

    def __init__(self, dev) -> None:
        import pyopencl as cl
        self.dev = dev
        self.zeros = np.zeros(2 * SLOTS, np.int64)
        flags = cl.mem_flags.READ_WRITE | cl.mem_flags.COPY_HOST_PTR
        self.buffer = cl.Buffer(dev.context, flags, hostbuf=self.zeros)
        self.host = np.zeros(2 * SLOTS, np.int64)
        #: what each slot checks: an error factory, by slot; and the slot of each check
        self.slots: list = []
        self.by_check: dict = {}
        #: a checking kernel was launched since the flags were last read
        self.pending = False
        #: the event of the flags' read that ``to_host`` enqueued, if any
        self.reading = None

    def slot(self, check: tuple, error) -> int:
        """The slot of ``check`` (a hashable description); ``error(value)`` builds the
        exception for a failed one.  Marks a read as pending."""
        i = self.by_check.get(check)
        if i is None:
            if len(self.slots) == SLOTS:  # all taken: read them now, then start over
                self.raise_pending()
                self.slots.clear()
                self.by_check.clear()
            i = self.by_check[check] = len(self.slots)
            self.slots.append(error)
        self.pending = True
        return i

    def enqueue_read(self) -> None:
        """Queue a read of the flags behind the work so far (``to_host`` calls this just
        before its own blocking read, which then waits for this one too)."""
        if self.pending and not self.reading:
            import pyopencl as cl
            n = 2 * len(self.slots)
            self.reading = cl.enqueue_copy(self.dev.queue, self.host[:n], self.buffer,
                                           is_blocking=False)

    def raise_pending(self) -> None:
        """Read the flags (waiting for the device) and raise the first failed check's
        error, clearing every flag first."""
        if not self.pending:
            return
        import pyopencl as cl
        n = 2 * len(self.slots)
        if self.reading is not None:
            self.reading.wait()  # (done already where a blocking read followed it)
        else:
            cl.enqueue_copy(self.dev.queue, self.host[:n], self.buffer, is_blocking=True)
        self.reading = None
        self.pending = False
        failed = np.flatnonzero(self.host[0:n:2])
        if failed.size:
            i = int(failed[0])
            value = int(self.host[2 * i + 1])
            cl.enqueue_copy(self.dev.queue, self.buffer, self.zeros, is_blocking=True)
            self.host[:] = 0
            raise self.slots[i](value)


def of(dev) -> DeviceAsserts:
    """The ``DeviceAsserts`` of ``DeviceState`` ``dev`` (made on first use)."""
    a = dev.__dict__.get("asserts")
    if a is None:
        a = dev.asserts = DeviceAsserts(dev)
    return a


def before_read(dev) -> None:
    """Called by host reads before their blocking copy."""
    a = dev.__dict__.get("asserts")
    if a is not None and a.pending:
        a.enqueue_read()


def after_read(dev) -> None:
    """Called by host reads and ``synchronize`` once the device is idle (or to make it)."""
    a = dev.__dict__.get("asserts")
    if a is not None and a.pending:
        a.raise_pending()
