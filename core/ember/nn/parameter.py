"""``Parameter``: a tensor that a ``Module`` registers as a learnable weight."""

from __future__ import annotations

from ..tensor import Tensor

__all__ = ["Parameter", "Buffer"]


class Parameter(Tensor):
    """A leaf tensor that requires grad by default and that ``Module`` collects.

    ``Parameter(t)`` shares ``t``'s data (as PyTorch's); ``requires_grad=False`` makes a
    frozen parameter that is still saved in the state dict.
    """

    __slots__ = ()

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True):
        if data is None:
            from .. import empty
            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter(): expected a Tensor, got {type(data).__name__}")
        p = object.__new__(cls)
        p._data = data._data
        p._device = data._device
        p._requires_grad = False
        # The parameter takes over the buffer's memory accounting from ``data``.
        p._owned, data._owned = data._owned, 0
        if requires_grad:
            p.requires_grad_(True)
        return p

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True) -> None:
        pass  # everything happens in __new__ (Tensor.__init__ forbids direct use)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + Tensor.__repr__(self.detach())


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
