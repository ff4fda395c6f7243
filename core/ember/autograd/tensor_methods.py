"""Autograd's methods on ``Tensor`` (attached by ``ember.tensor_methods``)."""

from __future__ import annotations

import weakref
from collections.abc import Callable

from ..tensor import Tensor
from .api import backward as _backward
from .graph import RemovableHandle, _HookDict

__all__ = ["install"]


def backward(self: Tensor, gradient: Tensor | None = None, retain_graph: bool | None = None,
             create_graph: bool = False, inputs=None) -> None:
    """Accumulate the gradient of this tensor w.r.t. the graph's leaves into ``.grad``.

    ``gradient`` is required unless this tensor has one element.
    """
    _backward(self, gradient, retain_graph, create_graph, inputs)


def register_hook(self: Tensor, hook: Callable) -> RemovableHandle:
    """Call ``hook(grad)`` whenever this tensor's gradient is computed; a returned tensor
    replaces the gradient.  Returns a handle whose ``remove()`` unregisters it."""
    if not self._requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require "
                           "gradient")
    fn = self.grad_fn
    if fn is None:
        hooks = self.__dict__.get("_backward_hooks")
        if hooks is None:
            hooks = self._backward_hooks = _HookDict()
        return hooks.add(hook)
    return fn._tensor_hooks(self._output_nr).add(hook)


def register_post_accumulate_grad_hook(self: Tensor, hook: Callable) -> RemovableHandle:
    """Call ``hook(tensor)`` after this leaf's ``.grad`` has been accumulated in a
    backward pass (PyTorch's name; DistributedDataParallel starts its gradient
    all-reduce from it).  Returns a handle whose ``remove()`` unregisters it."""
    if not self._requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require "
                           "gradient")
    if self.grad_fn is not None:
        raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf "
                           "tensors")
    hooks = self.__dict__.get("_post_accumulate_hooks")
    if hooks is None:
        hooks = self._post_accumulate_hooks = _HookDict()
        if self.__dict__.get("_backward_hooks") is None:
            # A leaf with hooks leaves the engine's inline store for _accumulate, which
            # runs both kinds; an empty dict costs nothing there.
            self._backward_hooks = _HookDict()
    return hooks.add(hook)


def retain_grad(self: Tensor) -> None:
    """Keep this non-leaf tensor's gradient in ``.grad`` (leaves always keep theirs)."""
    if not self._requires_grad:
        raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
    fn = self.grad_fn
    if fn is None or self._retains_grad:
        return
    if fn._pre_hooks is None:
        fn._pre_hooks = {}
    fn._pre_hooks[("retain", self._output_nr)] = weakref.ref(self)
    self._retains_grad = True


def _retains_grad(self: Tensor) -> bool:
    return bool(self._retains_grad)


def _wrap_detach(detach):
    def detach_(self: Tensor) -> Tensor:
        t = detach(self)
        # Shares memory and the version counter, but in-place ops on it must not rewrite
        # the history of the tensor it came from (it is cut from the graph).
        t._detached = True
        return t
    detach_.__doc__ = detach.__doc__
    detach_.__wrapped__ = detach
    return detach_


def _untracked_data(self: Tensor) -> Tensor:
    """This tensor's data, cut from autograd; unlike ``detach()``, in-place changes
    through it are not tracked by the version counter (PyTorch's ``.data``)."""
    t = self.detach()
    t._vc = None
    return t


def install() -> None:
    if not hasattr(Tensor.detach, "__wrapped__"):
        Tensor.detach = _wrap_detach(Tensor.detach)
        Tensor.data = property(_untracked_data, Tensor.data.fset, doc=_untracked_data.__doc__)
    Tensor.backward = backward
    Tensor.register_hook = register_hook
    Tensor.register_post_accumulate_grad_hook = register_post_accumulate_grad_hook
    Tensor.retain_grad = retain_grad
    Tensor.retains_grad = property(_retains_grad, doc="Whether ``retain_grad()`` was called.")
