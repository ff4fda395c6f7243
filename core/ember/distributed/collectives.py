"""The collectives, with PyTorch's names, arguments and in-place semantics.

Each call checks its tensors, finds the engine for their device type (or stages them
through host memory into a host engine such as MPI, where the device has none), starts
the engine's non-blocking operation and returns a ``Work`` (``async_op=True``) or waits
for it.  ``AVG`` is a sum followed by one division, for every engine.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence

from ..tensor import Tensor
from .engine import ReduceOp
from .process_group import GroupMember, ProcessGroup, _state

__all__ = ["Work", "all_reduce", "reduce", "broadcast", "all_gather",
           "all_gather_into_tensor", "reduce_scatter", "reduce_scatter_tensor", "gather",
           "scatter", "send", "recv", "isend", "irecv", "barrier"]


class Work:
    """An operation started with ``async_op=True``: ``wait()`` blocks until it is done
    (its output tensors then hold the result), ``is_completed()`` asks without blocking."""

    def __init__(self, pending: list, then: list[Callable[[], None]],
                 result: list[Tensor]) -> None:
        self._pending = pending
        self._then = then
        self._result = result
        self._done = False

    def _finish(self) -> None:
        if not self._done:
            self._done = True
            for fn in self._then:
                fn()

    def wait(self, timeout=None) -> bool:
        """Block until done (at most ``timeout``, a ``timedelta`` or seconds; a timeout
        raises ``RuntimeError`` and leaves the operation running)."""
        if self._done:
            return True
        if timeout is None:
            for p in self._pending:
                p.wait()
        else:
            limit = getattr(timeout, "total_seconds", lambda: timeout)()
            deadline = time.monotonic() + limit
            while not all(p.test() for p in self._pending):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Work.wait(): not done after {limit} s")
                time.sleep(1e-4)
        self._finish()
        return True

    def is_completed(self) -> bool:
        """Whether the operation has finished (finishing it if it just has)."""
        if not self._done and all(p.test() for p in self._pending):
            self._finish()
        return self._done

    def is_success(self) -> bool:
        return self.is_completed()

    def result(self) -> list[Tensor]:
        """The output tensors (valid after ``wait()``)."""
        return list(self._result)


# -- the shared steps of every collective ------------------------------------------------
def _group(group, op: str) -> ProcessGroup | None:
    if group is GroupMember.NON_GROUP_MEMBER:
        warnings.warn(f"{op}(): this rank is not part of the group; nothing to do",
                      RuntimeWarning, stacklevel=3)
        return None
    return _state().world if group is None else group


def _check(t, op: str, arg: str) -> Tensor:
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}(): {arg} must be an ember.Tensor, got {type(t).__name__}")
    flags = getattr(t._data, "flags", None)  # numpy/cupy/dpnp arrays say; others are dense
    if flags is not None and not flags.c_contiguous:
        raise ValueError(f"{op}(): {arg} must be contiguous (call .contiguous() first)")
    return t


def _engine(g: ProcessGroup, device_type: str, op: str):
    """(engine, its handle of ``g``, whether tensors go through host memory)."""
    st = _state()
    spec = st.spec_for.get(device_type)
    staged = False
    if spec is None:
        spec = next((s for s in st.spec_for.values() if s.host_staged), None)
        staged = True
        if spec is None:
            raise RuntimeError(f"{op}(): no distributed engine for {device_type} tensors "
                               f"in backend {st.backend!r}, and none that stages through "
                               f"host memory")
    engine, comm, _ = g._comms[spec.name]
    return engine, comm, staged


class _Call:
    """One collective's buffers: each tensor's native array (or host copy), and what to
    do once the engine is done (write staged copies back, bump version counters)."""

    def __init__(self, g: ProcessGroup, device_type: str, op: str) -> None:
        self.op = op
        self.engine, self.comm, self.staged = _engine(g, device_type, op)
        self.then: list[Callable[[], None]] = []

    def buf(self, t: Tensor, written: bool = True):
        if self.staged:
            host = t.detach().cpu().numpy().copy()
            if written:
                def back(t=t, host=host):
                    from ..tensor import from_numpy
                    from ..autograd import no_grad
                    with no_grad():
                        t.copy_(from_numpy(host).to(t.device))
                self.then.append(back)
            return host
        if written:
            self.then.append(t._bump_version)
        return t._data

    def run(self, pending, result: list[Tensor], async_op: bool):
        w = Work(pending if isinstance(pending, list) else [pending], self.then, result)
        if async_op:
            return w
        w.wait()
        return None


def _device_type(tensors: Sequence[Tensor], op: str) -> str:
    types = {t.device.type for t in tensors}
    if len(types) != 1:
        raise ValueError(f"{op}(): all tensors must be on one device type, got "
                         f"{sorted(types)}")
    return types.pop()


def _same(ts: Sequence[Tensor], like: Tensor, op: str, arg: str) -> None:
    for t in ts:
        if tuple(t.shape) != tuple(like.shape) or t.dtype != like.dtype:
            raise ValueError(f"{op}(): every tensor of {arg} must have shape "
                             f"{tuple(like.shape)} and dtype {like.dtype}, got "
                             f"{tuple(t.shape)} {t.dtype}")


def _reduce_op(op, name: str, t: Tensor) -> ReduceOp:
    if not isinstance(op, ReduceOp):
        raise TypeError(f"{name}(): op must be a ReduceOp, got {op!r}")
    inexact = t.dtype.is_floating_point or getattr(t.dtype, "is_complex", False)
    if op is ReduceOp.AVG and not inexact:
        raise TypeError(f"{name}(): ReduceOp.AVG needs a floating-point or complex tensor, "
                        f"got {t.dtype}")
    return op


def _averaged(call: _Call, t: Tensor, n: int) -> None:
    """After the sum: divide once (on the tensor, so staged copies are written first)."""
    def divide():
        from ..autograd import no_grad
        with no_grad():
            t.div_(n)
    call.then.append(divide)


# -- the collectives ---------------------------------------------------------------------
def all_reduce(tensor: Tensor, op: ReduceOp = ReduceOp.SUM, group=None,
               async_op: bool = False):
    """Combine ``tensor`` across the group's ranks with ``op``, in place on every rank."""
    g = _group(group, "all_reduce")
    if g is None:
        return None
    _check(tensor, "all_reduce", "tensor")
    op = _reduce_op(op, "all_reduce", tensor)
    c = _Call(g, tensor.device.type, "all_reduce")
    pending = c.engine.all_reduce(c.comm, c.buf(tensor),
                                  ReduceOp.SUM if op is ReduceOp.AVG else op)
    if op is ReduceOp.AVG:
        _averaged(c, tensor, g.size())
    return c.run(pending, [tensor], async_op)


def reduce(tensor: Tensor, dst: int = 0, op: ReduceOp = ReduceOp.SUM, group=None,
           async_op: bool = False):
    """Combine ``tensor`` across ranks into rank ``dst``'s tensor (a global rank)."""
    g = _group(group, "reduce")
    if g is None:
        return None
    _check(tensor, "reduce", "tensor")
    op = _reduce_op(op, "reduce", tensor)
    root = g.group_rank(dst, "reduce", "dst")
    c = _Call(g, tensor.device.type, "reduce")
    mine = g.rank() == root
    pending = c.engine.reduce(c.comm, c.buf(tensor, written=mine), root,
                              ReduceOp.SUM if op is ReduceOp.AVG else op)
    if op is ReduceOp.AVG and mine:
        _averaged(c, tensor, g.size())
    return c.run(pending, [tensor], async_op)


def broadcast(tensor: Tensor, src: int = 0, group=None, async_op: bool = False):
    """Copy rank ``src``'s ``tensor`` into every other rank's ``tensor``."""
    g = _group(group, "broadcast")
    if g is None:
        return None
    _check(tensor, "broadcast", "tensor")
    root = g.group_rank(src, "broadcast", "src")
    c = _Call(g, tensor.device.type, "broadcast")
    pending = c.engine.broadcast(c.comm, c.buf(tensor, written=g.rank() != root), root)
    return c.run(pending, [tensor], async_op)


def _root_list(lst, like: Tensor, g: ProcessGroup, mine: bool, op: str, arg: str,
               role: str) -> None:
    """``lst`` is given (one tensor per rank, like ``like``) on the root rank only."""
    if mine:
        if lst is None or len(lst) != g.size():
            raise ValueError(f"{op}(): on the {role} rank {arg} must have {g.size()} tensors")
        _same(lst, like, op, arg)
    elif lst:
        raise ValueError(f"{op}(): {arg} must not be given on non-{role} ranks")


def _spread(out: Tensor, lst) -> Callable[[], None]:
    """What copies the rows of a stacked result into the caller's list of tensors."""
    def spread():
        from ..autograd import no_grad
        with no_grad():  # (a collective's outputs are written, not recorded)
            for i, t in enumerate(lst):
                t.copy_(out[i])
    return spread


def _stacked(tensor: Tensor, n: int):
    from ..ops import empty
    return empty((n, *tensor.shape), dtype=tensor.dtype, device=tensor.device)


def all_gather(tensor_list: list[Tensor], tensor: Tensor, group=None,
               async_op: bool = False):
    """Fill ``tensor_list[i]`` with rank ``i``'s ``tensor`` (``i`` in the group)."""
    g = _group(group, "all_gather")
    if g is None:
        return None
    _check(tensor, "all_gather", "tensor")
    if len(tensor_list) != g.size():
        raise ValueError(f"all_gather(): tensor_list must have {g.size()} tensors (one per "
                         f"rank), got {len(tensor_list)}")
    _same(tensor_list, tensor, "all_gather", "tensor_list")
    _device_type([tensor, *tensor_list], "all_gather")
    out = _stacked(tensor, g.size())
    c = _Call(g, tensor.device.type, "all_gather")
    pending = c.engine.all_gather(c.comm, c.buf(out), c.buf(tensor, written=False))

    c.then.append(_spread(out, tensor_list))
    return c.run(pending, list(tensor_list), async_op)


def all_gather_into_tensor(output_tensor: Tensor, input_tensor: Tensor, group=None,
                           async_op: bool = False):
    """Rank ``i``'s ``input_tensor`` becomes part ``i`` of ``output_tensor`` (which has
    ``world_size`` times its elements: stacked or concatenated along dim 0)."""
    g = _group(group, "all_gather_into_tensor")
    if g is None:
        return None
    op = "all_gather_into_tensor"
    _check(output_tensor, op, "output_tensor")
    _check(input_tensor, op, "input_tensor")
    _device_type([output_tensor, input_tensor], op)
    if (output_tensor.numel() != g.size() * input_tensor.numel()
            or output_tensor.dtype != input_tensor.dtype):
        raise ValueError(f"{op}(): output_tensor must have world_size ({g.size()}) times "
                         f"input_tensor's {input_tensor.numel()} elements and its dtype "
                         f"{input_tensor.dtype}, got {output_tensor.numel()} "
                         f"{output_tensor.dtype}")
    c = _Call(g, input_tensor.device.type, op)
    pending = c.engine.all_gather(c.comm, c.buf(output_tensor),
                                  c.buf(input_tensor, written=False))
    return c.run(pending, [output_tensor], async_op)


def reduce_scatter_tensor(output: Tensor, input: Tensor, op: ReduceOp = ReduceOp.SUM,
                          group=None, async_op: bool = False):
    """Reduce ``input`` (``world_size`` parts along dim 0) across ranks; rank ``i`` gets
    part ``i`` of the result in ``output``."""
    g = _group(group, "reduce_scatter_tensor")
    if g is None:
        return None
    name = "reduce_scatter_tensor"
    _check(output, name, "output")
    _check(input, name, "input")
    _device_type([output, input], name)
    op = _reduce_op(op, name, output)
    if input.numel() != g.size() * output.numel() or output.dtype != input.dtype:
        raise ValueError(f"{name}(): input must have world_size ({g.size()}) times "
                         f"output's {output.numel()} elements and its dtype {output.dtype}, "
                         f"got {input.numel()} {input.dtype}")
    c = _Call(g, output.device.type, name)
    pending = c.engine.reduce_scatter(c.comm, c.buf(output), c.buf(input, written=False),
                                      ReduceOp.SUM if op is ReduceOp.AVG else op)
    if op is ReduceOp.AVG:
        _averaged(c, output, g.size())
    return c.run(pending, [output], async_op)


def reduce_scatter(output: Tensor, input_list: list[Tensor], op: ReduceOp = ReduceOp.SUM,
                   group=None, async_op: bool = False):
    """Reduce ``input_list[i]`` across ranks into rank ``i``'s ``output``."""
    g = _group(group, "reduce_scatter")
    if g is None:
        return None
    _check(output, "reduce_scatter", "output")
    if len(input_list) != g.size():
        raise ValueError(f"reduce_scatter(): input_list must have {g.size()} tensors, got "
                         f"{len(input_list)}")
    _same(input_list, output, "reduce_scatter", "input_list")
    from ..ops import stack
    return reduce_scatter_tensor(output, stack(list(input_list)), op, g, async_op)


def gather(tensor: Tensor, gather_list: list[Tensor] | None = None, dst: int = 0,
           group=None, async_op: bool = False):
    """Collect every rank's ``tensor`` into ``gather_list`` on rank ``dst`` only."""
    g = _group(group, "gather")
    if g is None:
        return None
    _check(tensor, "gather", "tensor")
    root = g.group_rank(dst, "gather", "dst")
    mine = g.rank() == root
    _root_list(gather_list, tensor, g, mine, "gather", "gather_list", "destination")
    c = _Call(g, tensor.device.type, "gather")
    out = _stacked(tensor, g.size()) if mine else None
    pending = c.engine.gather(c.comm, c.buf(tensor, written=False),
                              c.buf(out) if mine else None, root)
    if mine:
        c.then.append(_spread(out, gather_list))
    return c.run(pending, list(gather_list or []), async_op)


def scatter(tensor: Tensor, scatter_list: list[Tensor] | None = None, src: int = 0,
            group=None, async_op: bool = False):
    """Rank ``src`` sends ``scatter_list[i]`` to rank ``i``'s ``tensor``."""
    g = _group(group, "scatter")
    if g is None:
        return None
    _check(tensor, "scatter", "tensor")
    root = g.group_rank(src, "scatter", "src")
    mine = g.rank() == root
    _root_list(scatter_list, tensor, g, mine, "scatter", "scatter_list", "source")
    c = _Call(g, tensor.device.type, "scatter")
    if mine:
        from ..ops import stack
        src_buf = c.buf(stack(list(scatter_list)).contiguous(), written=False)
    else:
        src_buf = None
    pending = c.engine.scatter(c.comm, c.buf(tensor), src_buf, root)
    return c.run(pending, [tensor], async_op)


def _tag(tag, op: str) -> int:
    if not isinstance(tag, int) or tag < 0:
        raise ValueError(f"{op}(): tag must be a non-negative int, got {tag!r}")
    return tag


def isend(tensor: Tensor, dst: int, group=None, tag: int = 0) -> Work | None:
    """Start sending ``tensor`` to rank ``dst``; returns a ``Work``."""
    g = _group(group, "isend")
    if g is None:
        return None
    _check(tensor, "isend", "tensor")
    peer = g.group_rank(dst, "isend", "dst")
    c = _Call(g, tensor.device.type, "isend")
    return c.run(c.engine.send(c.comm, c.buf(tensor, written=False), peer,
                               _tag(tag, "isend")), [tensor], True)


def irecv(tensor: Tensor, src: int | None = None, group=None, tag: int = 0) -> Work | None:
    """Start receiving into ``tensor`` from rank ``src`` (any rank when ``None``)."""
    g = _group(group, "irecv")
    if g is None:
        return None
    _check(tensor, "irecv", "tensor")
    peer = None if src is None else g.group_rank(src, "irecv", "src")
    c = _Call(g, tensor.device.type, "irecv")
    w = c.run(c.engine.recv(c.comm, c.buf(tensor), peer, _tag(tag, "irecv")), [tensor], True)
    w._group = g
    return w


def send(tensor: Tensor, dst: int, group=None, tag: int = 0) -> None:
    """Send ``tensor`` to rank ``dst`` and wait until it may be reused."""
    w = isend(tensor, dst, group, tag)
    if w is not None:
        w.wait()


def recv(tensor: Tensor, src: int | None = None, group=None, tag: int = 0) -> int:
    """Receive into ``tensor`` from ``src`` (any rank when ``None``); returns the sender's
    global rank."""
    w = irecv(tensor, src, group, tag)
    if w is None:
        return -1
    w.wait()
    source = w._pending[0].source
    return w._group.ranks[source] if source is not None else src


def barrier(group=None, async_op: bool = False, device_ids=None):
    """Wait until every rank of the group has reached this call."""
    g = _group(group, "barrier")
    if g is None:
        return None
    st = _state()
    engine, comm, _ = g._comms[next(iter(st.engines))]
    w = Work([engine.barrier(comm)], [], [])
    if async_op:
        return w
    w.wait()
    return None
