"""Products: ``tensordot``, ``inner``, ``vdot``, ``mv``, ``addmm``, ``baddbmm``, ``kron``,
``cross``.
"""

from __future__ import annotations

import builtins
import warnings

from .. import array_api as _xp
from .. import linalg as _linalg
from .. import ops as _ops
from ..tensor import Tensor
from ._common import _fail, _tensor

__all__ = ["tensordot", "inner", "vdot", "mv", "addmm", "addmv", "addr", "baddbmm", "kron",
           "cross"]


def tensordot(a: Tensor, b: Tensor, dims=2) -> Tensor:
    """Sum of products over ``dims`` (an int: the last/first ``dims`` dimensions; or two
    sequences of dimensions)."""
    _tensor("tensordot", a, "a")
    _tensor("tensordot", b, "b")
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if not isinstance(dims, int):
        if len(dims) != 2:
            _fail("tensordot", f"expects dims to be a pair of lists, got {dims!r}")
        dims = tuple([d] if isinstance(d, int) else list(d) for d in dims)
    return _xp.tensordot(a, b, axes=dims)


def inner(input: Tensor, other: Tensor) -> Tensor:
    """Dot products over the last dimension (a product when either is 0-d)."""
    _tensor("inner", input)
    _tensor("inner", other, "other")
    if input.ndim == 0 or other.ndim == 0:
        return _ops.mul(input, other)
    if input.shape[-1] != other.shape[-1]:
        _fail("inner", f"expected the last dimension of input and other to match, got "
                       f"{input.shape[-1]} and {other.shape[-1]}")
    return tensordot(input, other, ([-1], [-1]))


def vdot(input: Tensor, other: Tensor) -> Tensor:
    """``sum(conj(input) * other)`` of two 1-D tensors of the same dtype."""
    _tensor("vdot", input)
    _tensor("vdot", other, "other")
    if input.ndim != 1 or other.ndim != 1:
        _fail("vdot", f"1D tensors expected, but got {input.ndim}D and {other.ndim}D tensors")
    if input.dtype is not other.dtype:
        _fail("vdot", f"expected both vectors to have same dtype, but found {input.dtype} "
                      f"and {other.dtype}")
    if input.shape[0] != other.shape[0]:
        _fail("vdot", f"inconsistent tensor size, expected tensor [{input.shape[0]}] and src "
                      f"[{other.shape[0]}] to have the same number of elements")
    return _ops.dot(_ops.conj(input), other)


def mv(input: Tensor, vec: Tensor) -> Tensor:
    """Matrix-vector product."""
    _tensor("mv", input)
    _tensor("mv", vec, "vec")
    if input.ndim != 2 or vec.ndim != 1:
        _fail("mv", f"vector + matrix @ vector expected, got {input.ndim}, {vec.ndim}")
    if input.shape[1] != vec.shape[0]:
        _fail("mv", f"size mismatch, got input ({input.shape[0]}x{input.shape[1]}) and vec "
                    f"({vec.shape[0]})")
    return _ops.matmul(input, vec)


def _scaled_sum(fn, input, product, beta, alpha):
    if alpha != 1:
        product = _ops.mul(product, alpha)
    if beta == 0:  # PyTorch ignores input then (NaN and inf in it do not propagate)
        return _ops.add(product, _ops.zeros_like(input))
    return _ops.add(_ops.mul(input, beta) if beta != 1 else input, product)


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * (mat1 @ mat2)`` (``input`` broadcast)."""
    for name, t in (("input", input), ("mat1", mat1), ("mat2", mat2)):
        _tensor("addmm", t, name)
    if mat1.ndim != 2 or mat2.ndim != 2:
        _fail("addmm", f"mat1 and mat2 must be matrices, got {mat1.ndim}-D and {mat2.ndim}-D")
    return _scaled_sum("addmm", input, _ops.mm(mat1, mat2), beta, alpha)


def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * (mat @ vec)`` (``input`` broadcast)."""
    for name, t in (("input", input), ("mat", mat), ("vec", vec)):
        _tensor("addmv", t, name)
    if mat.ndim != 2 or vec.ndim != 1:
        _fail("addmv", f"vector + matrix @ vector expected, got {mat.ndim}-D mat and "
                       f"{vec.ndim}-D vec")
    if mat.shape[1] != vec.shape[0]:
        _fail("addmv", f"size mismatch, got mat ({mat.shape[0]}x{mat.shape[1]}) and vec "
                       f"({vec.shape[0]})")
    return _scaled_sum("addmv", input, _ops.matmul(mat, vec), beta, alpha)


def addr(input: Tensor, vec1: Tensor, vec2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * outer(vec1, vec2)`` (``input`` broadcast)."""
    for name, t in (("input", input), ("vec1", vec1), ("vec2", vec2)):
        _tensor("addr", t, name)
    if vec1.ndim != 1 or vec2.ndim != 1:
        _fail("addr", f"vec1 and vec2 must be 1-D, got {vec1.ndim}-D and {vec2.ndim}-D")
    return _scaled_sum("addr", input, _ops.outer(vec1, vec2), beta, alpha)


def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * (batch1 @ batch2)`` for batches of matrices."""
    for name, t in (("input", input), ("batch1", batch1), ("batch2", batch2)):
        _tensor("baddbmm", t, name)
    if batch1.ndim != 3 or batch2.ndim != 3:
        _fail("baddbmm", f"batch1 and batch2 must be 3D tensors, got {batch1.ndim}-D and "
                         f"{batch2.ndim}-D")
    return _scaled_sum("baddbmm", input, _ops.bmm(batch1, batch2), beta, alpha)


def kron(input: Tensor, other: Tensor) -> Tensor:
    """Kronecker product (the shorter shape padded with leading ones)."""
    _tensor("kron", input)
    _tensor("kron", other, "other")
    n = builtins.max(input.ndim, other.ndim)
    a_shape = (1,) * (n - input.ndim) + tuple(input.shape)
    b_shape = (1,) * (n - other.ndim) + tuple(other.shape)
    a = input.reshape(tuple(s for d in a_shape for s in (d, 1)))
    b = other.reshape(tuple(s for d in b_shape for s in (1, d)))
    return _ops.mul(a, b).reshape(tuple(x * y for x, y in zip(a_shape, b_shape, strict=True)))


def cross(input: Tensor, other: Tensor, dim: int | None = None) -> Tensor:
    """Cross product along ``dim``; without ``dim``, the first dimension of size 3 of
    the broadcast shape (PyTorch's deprecated default, with its warning)."""
    _tensor("cross", input)
    _tensor("cross", other, "other")
    if input.ndim != other.ndim:
        _fail("cross", f"inputs dimension mismatch: {input.ndim} and {other.ndim}")
    if dim is None:
        warnings.warn("Using cross without specifying the dim arg is deprecated; pass "
                      "dim=-1 for linalg.cross's behaviour", UserWarning, stacklevel=2)
        shape = _xp.broadcast_shapes(tuple(input.shape), tuple(other.shape))
        dim = next((i for i, s in enumerate(shape) if s == 3), None)
        if dim is None:
            _fail("cross", f"no dimension of size 3 in input, shape {list(shape)}")
    return _linalg.cross(input, other, dim=dim)
