"""Naming the layer in errors raised by its ops."""

from __future__ import annotations

from ..errors import OpError


def layer_error(layer, err: Exception, *tensors) -> OpError:
    """An ``OpError`` that starts with the layer (as printed) and its input shapes, then
    the op's own message: ``Linear(in_features=4, …): got input of shape [2, 5]: …``."""
    shapes = ", ".join(str(list(t.shape)) for t in tensors if hasattr(t, "shape"))
    what = f"got input of shape {shapes}" if len(tensors) == 1 else f"got shapes {shapes}"
    return OpError(f"{layer._get_name()}({layer.extra_repr()}): {what}: {err}")
