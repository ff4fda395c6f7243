"""Attach ops to ``Tensor`` as methods and Python operators."""

from __future__ import annotations

from ..schema import registry
from ..tensor import Tensor

# operator -> (op name, reflected?)
_BINARY = {
    "__add__": ("add", False), "__radd__": ("add", True),
    "__sub__": ("sub", False), "__rsub__": ("sub", True),
    "__mul__": ("mul", False), "__rmul__": ("mul", True),
    "__truediv__": ("true_divide", False), "__rtruediv__": ("true_divide", True),
    "__floordiv__": ("floor_divide", False), "__rfloordiv__": ("floor_divide", True),
    "__mod__": ("remainder", False), "__rmod__": ("remainder", True),
    "__pow__": ("pow", False), "__rpow__": ("pow", True),
    "__matmul__": ("matmul", False), "__rmatmul__": ("matmul", True),
    "__and__": ("bitwise_and", False), "__rand__": ("bitwise_and", True),
    "__or__": ("bitwise_or", False), "__ror__": ("bitwise_or", True),
    "__xor__": ("bitwise_xor", False), "__rxor__": ("bitwise_xor", True),
    "__lshift__": ("bitwise_left_shift", False), "__rshift__": ("bitwise_right_shift", False),
    "__eq__": ("eq", False), "__ne__": ("ne", False), "__lt__": ("lt", False),
    "__le__": ("le", False), "__gt__": ("gt", False), "__ge__": ("ge", False),
    "__iadd__": ("add_", False), "__isub__": ("sub_", False), "__imul__": ("mul_", False),
    "__itruediv__": ("true_divide_", False), "__ipow__": ("pow_", False),
    "__iand__": ("bitwise_and_", False), "__ior__": ("bitwise_or_", False),
    "__ixor__": ("bitwise_xor_", False), "__ifloordiv__": ("floor_divide_", False),
    "__imod__": ("remainder_", False),
}
_UNARY = {"__neg__": "neg", "__abs__": "abs", "__invert__": "bitwise_not",
          "__pos__": "positive"}


def _binary(fn, reflected):
    if not reflected:
        return fn  # op(self, other) already has the method's signature

    def op(self, other):
        return fn(other, self)
    return op


def _part_property(fn):
    """PyTorch's ``t.real``/``t.imag``: properties giving views; assigning copies into
    them (``t.imag = x``)."""
    return property(fn, lambda self, value: fn(self).copy_(value), doc=fn.__doc__)


def install() -> None:
    """Attach every method-style op, then the operators that have ops."""
    for name in ("real", "imag"):
        setattr(Tensor, name, _part_property(registry[name].fn))
    for name, od in registry.items():
        if od.method and not name.startswith("_") and name not in Tensor.__dict__:
            setattr(Tensor, name, od.fn)
    for dunder, (name, reflected) in _BINARY.items():
        od = registry.get(name)
        if od is not None:
            if dunder in ("__eq__", "__ne__"):
                fn = od.fn

                def cmp(self, other, _fn=fn, _neg=dunder == "__ne__"):
                    if other is None or not isinstance(other, (Tensor, int, float, bool, complex)) \
                            and getattr(other, "ndim", None) != 0:  # numpy scalars compare
                        return _neg  # as PyTorch: t == None is False
                    return _fn(self, other)
                setattr(Tensor, dunder, cmp)
            else:
                setattr(Tensor, dunder, _binary(od.fn, reflected))
    for dunder, name in _UNARY.items():
        od = registry.get(name)
        if od is not None:
            setattr(Tensor, dunder, od.fn)
    Tensor.__hash__ = lambda self: id(self)
    _install_front_ends()


def _new_factory(make):
    def method(self, *size, dtype=None, device=None, requires_grad=False, **kw):
        if len(size) == 1 and not isinstance(size[0], int):
            size = tuple(size[0])
        return make(size, dtype=dtype or self.dtype, device=device or self.device,
                    requires_grad=requires_grad, **kw)
    method.__doc__ = f"A new tensor like ``{make.__name__}`` with ``self``'s dtype and device."
    return method


def _view_method(view_shape):
    from .. import dtypes as _dt
    from .view import _view_dtype

    dtype_class = _dt.dtype

    def view(self, *shape, dtype=None) -> Tensor:
        """``self`` with a new shape (shares memory; one dimension may be -1), or with
        ``view(dtype)`` its bytes reinterpreted as ``dtype``: the same shape for an
        element of the same size, else the last dimension scaled by the ratio of the
        sizes (PyTorch's rules; not differentiable, as PyTorch's)."""
        if dtype is None:
            if len(shape) != 1 or shape[0].__class__ is int \
                    or not isinstance(shape[0], dtype_class):
                return view_shape(self, *shape)
            (dtype,), shape = shape, ()
        if shape:
            raise TypeError("view(): pass either a shape or a dtype, not both")
        if not isinstance(dtype, _dt.dtype):
            raise TypeError(f"view(): argument 'dtype' must be an ember.dtype, not "
                            f"{type(dtype).__name__}")
        return _view_dtype(self, dtype)
    return view


def _install_front_ends() -> None:
    """Methods and operators that are front ends rather than single ops."""
    from . import creation, indexing, reduction
    from ..tensor import tensor as _tensor

    Tensor.__getitem__ = indexing.getitem
    Tensor.__setitem__ = indexing.setitem
    Tensor.T = property(lambda self: self.permute(tuple(reversed(range(self.ndim)))),
                        doc="``self`` with all dimensions reversed.")
    Tensor.mT = property(lambda self: _mT(self),
                         doc="The last two dimensions swapped (a batch of transposes).")
    Tensor.max = reduction.max
    Tensor.min = reduction.min
    for name in ("sort", "topk", "scatter", "scatter_", "nonzero"):
        setattr(Tensor, name, getattr(indexing, name))
    Tensor.view = _view_method(registry["view"].fn)
    Tensor.view_as = lambda self, other: self.view(tuple(other.shape))
    Tensor.reshape_as = lambda self, other: self.reshape(tuple(other.shape))
    Tensor.expand_as = lambda self, other: self.expand(tuple(other.shape))
    Tensor.type_as = lambda self, other: self.astype(other.dtype)
    Tensor.new_zeros = _new_factory(creation.zeros)
    Tensor.new_ones = _new_factory(creation.ones)
    Tensor.new_empty = _new_factory(creation.empty)

    def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
        return creation.full(tuple(size), fill_value, dtype=dtype or self.dtype,
                             device=device or self.device, requires_grad=requires_grad)

    def new_tensor(self, data, *, dtype=None, device=None, requires_grad=False):
        return _tensor(data, dtype=dtype or self.dtype, device=device or self.device,
                       requires_grad=requires_grad)
    from .linalg import norm
    from .pointwise import allclose, equal
    Tensor.norm = norm
    Tensor.allclose = allclose
    Tensor.equal = equal
    Tensor.new_full = new_full
    Tensor.__contains__ = _contains
    Tensor.new_tensor = new_tensor


def _mT(self):
    if self.ndim < 2:
        from ._rules import fail
        fail("mT", f"tensor.mT is only supported on matrices or batches of matrices, got "
                   f"a {self.ndim}-D tensor")
    return self.transpose(-2, -1)


def _contains(self, element) -> bool:
    """``element in t``: whether any element equals it (as PyTorch)."""
    if not isinstance(element, (Tensor, int, float, bool)):
        raise TypeError(f"Tensor.__contains__ only supports Tensor or scalar, but you "
                        f"passed in a {type(element).__name__}")
    return bool((self == element).any().item())
