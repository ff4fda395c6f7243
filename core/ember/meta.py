"""The ``meta`` device: shapes and dtypes, no data.

Every op's shape rule is its meta kernel, so this backend needs no kernels of its own.
It is registered by the core as an ordinary plugin (the host's defaults are a plugin).
"""

from __future__ import annotations

import math

import numpy as np

from .backend import Backend
from .hookspecs import hookimpl
from .memory import Allocator
from .plugin_api import PLUGIN_API_VERSION

#: The core's own plugin targets the plugin API this core implements.
EMBER_PLUGIN_API = PLUGIN_API_VERSION


class ArrayShape:
    """``ndim``, ``size``, ``itemsize`` and ``nbytes`` of a native array class that
    stores ``shape`` and a numpy ``dtype`` (a mixin for backends' own array types)."""

    __slots__ = ()
    shape: tuple
    dtype: np.dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def itemsize(self) -> int:
        return self.dtype.itemsize

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize


class MetaArray(ArrayShape):
    """A data-less stand-in for a native array: ``shape``, ``dtype``, ``ndim``, ``size``."""

    __slots__ = ("shape", "dtype")

    def __init__(self, shape, dtype) -> None:
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)

    def __repr__(self) -> str:
        return f"MetaArray(shape={self.shape}, dtype={self.dtype})"


class MetaBackend(Backend):
    device_type = "meta"
    name = "ember core (shape rules)"
    indexed = False
    is_meta = True

    def from_host(self, array, index=0):
        return MetaArray(array.shape, array.dtype)

    def to_host(self, native):
        raise RuntimeError("cannot copy data out of a meta tensor: meta tensors have "
                           "shapes and dtypes but no data")

    def create_allocator(self, index):
        return Allocator("meta", None)


@hookimpl
def ember_backend_create():
    return MetaBackend()
