"""``Parameter``: a tensor that a ``Module`` registers as a learnable weight."""

from __future__ import annotations

from ..tensor import OBSERVED_ALLOCATORS, Tensor

__all__ = ["Parameter", "Buffer"]


class _ParameterMeta(type):
    """``isinstance(t, Parameter)`` is true for tensors made by ``Parameter(...)``."""

    def __instancecheck__(cls, obj) -> bool:
        return isinstance(obj, Tensor) and getattr(obj, "_is_param", False)


class Parameter(metaclass=_ParameterMeta):
    """A leaf tensor that requires grad by default and that ``Module`` collects.

    ``Parameter(t)`` shares ``t``'s data (as PyTorch's); ``requires_grad=False`` makes a
    frozen parameter that is still saved in the state dict.  The result is a plain
    ``ember.Tensor`` marked as a parameter (``isinstance(p, Parameter)`` holds): the
    dispatcher and autograd fast paths compare classes, so parameters stay on them.
    """

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True) -> Tensor:
        if data is None:
            from .. import empty
            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter(): expected a Tensor, got {type(data).__name__}")
        p = Tensor._make(data._data, data._device)
        if p._owned:  # the buffer is already accounted to ``data``: move it over
            OBSERVED_ALLOCATORS[p._device.type].record_free(p._owned)
        p._owned, data._owned = data._owned, 0
        p._is_param = True
        if requires_grad:
            p.requires_grad_(True)
        return p


class Buffer:
    """Marks a tensor to be registered as a buffer when assigned to a module
    attribute (``self.running_mean = nn.Buffer(t)``); ``persistent=False`` keeps it out
    of the state dict."""

    __slots__ = ("data", "persistent")

    def __init__(self, data: Tensor, *, persistent: bool = True) -> None:
        if not isinstance(data, Tensor):
            raise TypeError(f"Buffer(): expected a Tensor, got {type(data).__name__}")
        self.data = data
        self.persistent = persistent
