"""In-place ops on views while autograd records (PyTorch's ``CopySlices``).

``v = b[1:, ::2]; v.mul_(w)`` changes ``b``'s memory, so ``b``'s history must change
too.  Which elements of ``b`` a view covers is found once, in ember ops (so on any
backend): the view's elements are numbered in place and read back through ``b``
(``b``'s data is restored, and its version counter too).  With that position map the
new history is built from differentiable ember ops:

* the view's old values are ``index(b.reshape(-1), positions)`` (recorded, so they
  lead back to ``b``'s old history), the op runs out of place on them, the result is
  written into the view;
* ``b`` gets a ``CopySlices`` node: the gradient outside the view goes to ``b``'s old
  history, the gradient inside it to the op's result.
"""

from __future__ import annotations

from .. import dispatch as _dispatch
from ..dispatch import state
from ..schema import registry
from ..tensor import Tensor
from .graph import Node, gradient_edge

__all__ = ["record_inplace_on_view", "CopySlices"]


class CopySlices(Node):
    """``b``'s node after an in-place op wrote into a view of it."""

    __slots__ = ("positions", "flat_positions", "shape")

    def __init__(self, edges, positions: Tensor, shape: tuple) -> None:
        self.next_edges = edges
        self.positions = positions
        self.flat_positions = positions.reshape(-1)
        self.shape = shape

    def apply(self, grads: list, create_graph: bool) -> list:
        from ..ops import index, index_put, zeros
        g = grads[0]
        flat = g.reshape(-1)
        out = [None, None]
        if self.next_edges[0] is not None:
            zero = zeros((), dtype=g.dtype, device=g.device)
            out[0] = index_put(flat, (self.flat_positions,), zero).reshape(self.shape)
        if self.next_edges[1] is not None:
            out[1] = index(flat, (self.positions,))
        return out


def _exact_integers(dtype) -> int:
    from ..dtypes import finfo
    return int(2 / finfo(dtype).eps)


def view_positions(view: Tensor, base: Tensor) -> Tensor:
    """For each element of ``view``, the index of its memory in ``base.reshape(-1)``."""
    from ..ops import arange, nonzero, scatter, zeros
    n = view.numel()
    if base.is_meta:
        raise RuntimeError("in-place modification of a view of a meta tensor while "
                           "recording gradients is not supported (finding which elements "
                           "the view covers needs data); modify a clone()")
    if n >= _exact_integers(base.dtype):
        raise RuntimeError(f"in-place operation on a view of a {base.dtype.name} tensor with "
                           f"{n} elements while recording gradients is not supported "
                           f"(too many elements to number exactly); modify a clone()")
    vc = base._version_counter()
    version = vc.value
    prev = state.grad_enabled
    state.grad_enabled = False
    try:
        saved = base.clone()
        base.fill_(-1)
        view.copy_(arange(n, dtype=base.dtype, device=base.device).reshape(view.shape))
        flat = base.reshape(-1)
        pos = nonzero(flat >= 0).reshape(-1)
        codes = flat[pos].astype(pos.dtype)
        base.copy_(saved)
        if pos.numel() != n:
            raise RuntimeError("unsupported operation: more than one element of the "
                               "written-to tensor refers to a single memory location. "
                               "Please clone() the tensor before performing the operation.")
        positions = scatter(zeros(n, dtype=pos.dtype, device=base.device), 0, codes, pos)
    finally:
        state.grad_enabled = prev
        vc.value = version
    return positions.reshape(tuple(view.shape))


def _out_of_place(od):
    """``f(self, *rest)``: the values ``od`` would write into ``self``, recorded."""
    if od.inplace_of is not None:
        return registry[od.inplace_of].fn
    if od.name == "copy_":
        def copy(self, src, non_blocking=False):
            if src.device != self.device:
                src = src.to(self.device)
            if src.dtype is not self.dtype:
                src = src.astype(self.dtype)
            return src.expand(tuple(self.shape)) if tuple(src.shape) != tuple(
                self.shape) else src
        return copy
    if od.name == "index_put_":
        return registry["index_put"].fn
    if od.name in ("fill_", "zero_"):
        def fill(self, value=0):  # (value is a number: the schema's Scalar)
            return registry["full"].fn(tuple(self.shape), value, dtype=self.dtype,
                                       device=self.device)
        return fill
    return None


def record_inplace_on_view(od, dev, args):
    """Run in-place op ``od`` on the view ``args[0]`` and rebase its base's history."""
    view = args[0]
    base = view._base
    if base.grad_fn is None and base._requires_grad:
        raise RuntimeError(f"{od.name}(): a view of a leaf Variable that requires grad is "
                           f"being used in an in-place operation.")
    fn = _out_of_place(od)
    if fn is None:
        raise RuntimeError(f"{od.name}(): in-place modification of a view while recording "
                           f"gradients is not supported for this op; use its out-of-place "
                           f"form or modify a clone()")
    if od.meta is not None:
        od.meta(*args)  # validate before anything is written
    positions = view_positions(view, base)
    from ..ops import index
    old = index(base.reshape(-1), (positions,))  # recorded: leads to base's old history
    # the boxed arguments are positional; the op's keyword-only ones (add_'s alpha) go
    # to the out-of-place function by name
    rest = [a for a, spec in zip(args[1:], od.args[1:], strict=False) if not spec.kwarg_only]
    named = {spec.name: a for a, spec in zip(args[1:], od.args[1:], strict=False)
             if spec.kwarg_only}
    new = fn(old, *rest, **named)
    if new._requires_grad and new.grad_fn is None:
        new = new.clone()  # a leaf itself (``v.copy_(leaf)``): the view needs a node
    old_edge = gradient_edge(base)
    copy = registry["copy_"]
    _dispatch.redispatch(copy, dev, (view, new, False), "Autograd")  # bumps the version
    new_edge = gradient_edge(new) if new._requires_grad else None
    if old_edge is None and new_edge is None:
        return view
    node = CopySlices([old_edge, new_edge], positions, tuple(base.shape))
    base._requires_grad = True
    base.grad_fn = node
    base.__dict__.pop("_output_nr", None)
    # The view now holds the op's result: it continues that history.
    if new_edge is not None:
        view._requires_grad = True
        view.grad_fn = new.grad_fn
        view._output_nr = new._output_nr
    return view
