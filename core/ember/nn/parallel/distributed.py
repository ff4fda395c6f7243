"""``DistributedDataParallel``: one model replica per rank, gradients averaged in buckets.

As PyTorch's: parameters and buffers are broadcast from rank 0 at construction;
parameters are grouped into buckets of about ``bucket_cap_mb`` in reverse registration
order (roughly the order backward produces their gradients); each bucket's all-reduce
starts, asynchronously, from a post-accumulate-grad hook as soon as its last gradient is
ready, so communication overlaps the rest of backward; the last hook waits for every
bucket and writes the averaged gradients back into ``.grad``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from ... import distributed as dist
from ...autograd import no_grad
from ...autograd.graph import AccumulateGrad
from ..module import Module

__all__ = ["DistributedDataParallel"]


class _Bucket:
    __slots__ = ("params", "offsets", "numel", "ready", "work", "flat")

    def __init__(self, params: list) -> None:
        self.params = params
        self.offsets, n = [], 0
        for p in params:
            self.offsets.append(n)
            n += p.numel()
        self.numel = n
        self.ready = 0
        self.work = None
        self.flat = None


def _reached_leaves(outputs) -> set[int]:
    """ids of the leaves the autograd graph of ``outputs`` reaches."""
    from ...tensor import Tensor
    stack, seen, leaves = [], set(), set()

    def add(x):
        if isinstance(x, Tensor):
            if x.grad_fn is not None:
                stack.append(x.grad_fn)
            elif x.requires_grad:
                leaves.add(id(x))
        elif isinstance(x, (list, tuple)):
            for y in x:
                add(y)
        elif isinstance(x, dict):
            for y in x.values():
                add(y)
    add(outputs)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, AccumulateGrad):
            v = node.variable
            if v is not None:
                leaves.add(id(v))
            continue
        for nxt, _ in node.next_functions:
            if nxt is not None:
                stack.append(nxt)
    return leaves


class DistributedDataParallel(Module):
    """Wrap ``module`` so that ``backward()`` leaves every rank with the gradients
    averaged over all ranks (PyTorch's arguments; ``device_ids``/``output_device`` are
    accepted for compatibility: the module stays where it is)."""

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0,
                 broadcast_buffers: bool = True, process_group=None,
                 bucket_cap_mb: float | None = None, find_unused_parameters: bool = False,
                 gradient_as_bucket_view: bool = False, static_graph: bool = False) -> None:
        super().__init__()
        if not dist.is_initialized():
            raise RuntimeError("DistributedDataParallel: the default process group has not "
                               "been initialized (call ember.distributed."
                               "init_process_group first)")
        self.module = module
        self.process_group = process_group
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.require_backward_grad_sync = True
        self._world = dist.get_world_size(process_group)
        self._src = 0 if process_group is None else process_group.ranks[0]
        self._sync_module_states()
        params = [p for p in module.parameters() if p.requires_grad]
        if not params:
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't "
                               "have any parameter that requires a gradient.")
        cap = int((25 if bucket_cap_mb is None else bucket_cap_mb) * 1024 * 1024)
        self._buckets: list[_Bucket] = []
        self._where = {}  # id(param) -> (bucket, index in it)
        current, size, key = [], 0, None
        for p in reversed(params):
            k = (p.dtype, p.device)
            if current and (size + p.numel() * p.element_size() > cap or k != key):
                self._buckets.append(_Bucket(current))
                current, size = [], 0
            current.append(p)
            size += p.numel() * p.element_size()
            key = k
        self._buckets.append(_Bucket(current))
        for b in self._buckets:
            for i, p in enumerate(b.params):
                self._where[id(p)] = (b, i)
        self._handles = [p.register_post_accumulate_grad_hook(self._grad_ready)
                         for p in params]
        self._params = params
        self._expecting = False  # a backward after a synced forward is due
        self._marked: set[int] = set()
        self._launched = 0

    # -- construction ------------------------------------------------------------------------
    def _sync_module_states(self) -> None:
        works = [dist.broadcast(t.detach(), self._src, self.process_group, async_op=True)
                 for t in [*self.module.parameters(), *self.module.buffers()]]
        for w in works:
            if w is not None:
                w.wait()

    # -- forward -----------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        from ...autograd import is_grad_enabled
        if self._expecting and self._marked:
            raise RuntimeError(
                "Expected to have finished reduction in the prior iteration before starting "
                "a new one. This error indicates that your module has parameters that were "
                "not used in producing loss. You can enable unused parameter detection by "
                "passing the keyword argument `find_unused_parameters=True` to "
                "`DistributedDataParallel`.")
        if self.broadcast_buffers and is_grad_enabled():
            bufs = list(self.module.buffers())
            if bufs:
                for t in bufs:
                    dist.broadcast(t.detach(), self._src, self.process_group)
        out = self.module(*args, **kwargs)
        if is_grad_enabled() and self.require_backward_grad_sync:
            self._prepare(out)
        return out

    def _prepare(self, out) -> None:
        self._expecting = True
        self._marked = set()
        self._launched = 0
        for b in self._buckets:
            b.ready, b.work, b.flat = 0, None, None
        self._unused: set[int] = set()
        if self.find_unused_parameters:
            reached = _reached_leaves(out)
            for p in self._params:
                if id(p) not in reached:
                    self._unused.add(id(p))
                    self._mark(p)

    # -- backward ----------------------------------------------------------------------------
    def _grad_ready(self, p) -> None:
        if not self._expecting or not self.require_backward_grad_sync:
            return  # under no_sync, or a backward that no DDP forward prepared
        self._mark(p)

    def _mark(self, p) -> None:
        if id(p) in self._marked:
            raise RuntimeError(f"DistributedDataParallel: parameter of shape {tuple(p.shape)} "
                               f"marked ready twice in one backward (is it used in two "
                               f"backward passes after one forward?)")
        self._marked.add(id(p))
        b, _ = self._where[id(p)]
        b.ready += 1
        if b.ready == len(b.params):
            self._launch(b)

    def _launch(self, b: _Bucket) -> None:
        from ...ops import cat, zeros
        with no_grad():
            parts = [p.grad.reshape(-1) if p.grad is not None and id(p) not in self._unused
                     else zeros(p.numel(), dtype=p.dtype, device=p.device) for p in b.params]
            b.flat = cat(parts) if len(parts) > 1 else parts[0].clone()
        b.work = dist.all_reduce(b.flat, dist.ReduceOp.SUM, self.process_group,
                                 async_op=True)
        self._launched += 1
        if self._launched == len(self._buckets):
            self._finish()

    def _finish(self) -> None:
        from ...dtypes import int32
        from ...tensor import tensor
        used_somewhere = None
        if self.find_unused_parameters:
            mask = tensor([0 if id(p) in self._unused else 1 for p in self._params],
                          dtype=int32)
            dist.all_reduce(mask, dist.ReduceOp.MAX, self.process_group)
            used_somewhere = {id(p) for p, m in zip(self._params, mask.tolist(), strict=True) if m}
        with no_grad():
            for b in self._buckets:
                b.work.wait()
                b.flat.div_(self._world)
                for p, off in zip(b.params, b.offsets, strict=True):
                    if used_somewhere is not None and id(p) not in used_somewhere:
                        continue  # unused on every rank: .grad stays as it was
                    g = b.flat[off:off + p.numel()].view(tuple(p.shape))
                    if p.grad is None:
                        p.grad = g.clone()
                    else:
                        p.grad.copy_(g)
                b.flat, b.work = None, None
        self._expecting = False
        self._marked = set()

    # -- PyTorch's extras ----------------------------------------------------------------------
    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Inside, backward accumulates gradients locally without communication; the
        first synced backward afterwards averages the accumulated gradients."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old
