"""The linear-algebra functions of ``ember.linalg`` that follow both ``torch.linalg``
and the Array API standard's ``linalg`` extension (the two agree on these names).

Factorisations and solvers are ops (``ember.ops.array_api_ops``: shape rules, native
kernels); the rest are compositions of ember ops, so every backend gets them.  Both
PyTorch's keywords (``dim``, ``keepdim``) and the standard's (``axis``, ``keepdims``)
are accepted.
"""

from __future__ import annotations

import math
from collections import namedtuple
from collections.abc import Sequence

from . import dtypes as _dt
from .errors import OpError
from .ops import array_api_ops as _la
from .ops.array_api_ops import LinAlgError
from .schema import registry as _registry
from .tensor import Tensor

__all__ = ["LinAlgError", "cholesky", "cross", "det", "diagonal", "eigh", "eigvalsh", "inv",
           "matmul", "matrix_norm", "matrix_power", "matrix_rank", "matrix_transpose",
           "outer", "pinv", "qr", "slogdet", "solve", "svd", "svdvals", "tensordot", "trace",
           "vecdot", "vector_norm"]

SVDResult = namedtuple("SVDResult", "U S Vh")
EighResult = namedtuple("EighResult", "eigenvalues eigenvectors")
QRResult = namedtuple("QRResult", "Q R")
SlogdetResult = namedtuple("SlogdetResult", "sign logabsdet")

_UNSET = object()


def _op(name: str):
    od = _registry.get(name)
    if od is None:
        raise NotImplementedError(f"ember has no op {name!r}, which ember.linalg needs")
    return od.fn


def _pick(fn, ours, ours_v, std, std_v, default):
    """PyTorch's keyword or the standard's alias (not both)."""
    if std_v is _UNSET:
        return ours_v
    if ours_v is not default and ours_v != std_v:
        raise TypeError(f"{fn}(): got both '{ours}' and its Array API alias '{std}'")
    return std_v


def _float(fn: str, x: Tensor, arg: str = "x") -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"linalg.{fn}(): argument '{arg}' must be Tensor, not "
                        f"{type(x).__name__}")
    if not (x.dtype.is_floating_point or x.dtype.is_complex):
        # The standard asks for floating input; ints are promoted as PyTorch does not,
        # so say so rather than guess.
        raise OpError(f"linalg.{fn}(): argument '{arg}' must have a floating point or "
                      f"complex dtype, got {x.dtype}")
    return x


def _adjoint(x: Tensor) -> Tensor:
    """The conjugate transpose of the last two dims (the transpose of real matrices)."""
    t = matrix_transpose(x)
    return _op("conj")(t) if t.dtype.is_complex else t


# --- factorisations (ops) -------------------------------------------------------------------

def svd(x: Tensor, /, *, full_matrices: bool = True) -> SVDResult:
    """``U, S, Vh`` with ``x = U @ diag(S) @ Vh``."""
    return SVDResult(*_la.linalg_svd(x, full_matrices))


def svdvals(x: Tensor, /) -> Tensor:
    """Singular values, descending."""
    return _la.linalg_svdvals(x)


def eigh(x: Tensor, /, *, UPLO: str = "L") -> EighResult:
    """Eigenvalues (ascending) and eigenvectors of symmetric matrices."""
    return EighResult(*_la.linalg_eigh(x, UPLO))


def eigvalsh(x: Tensor, /, *, UPLO: str = "L") -> Tensor:
    """Eigenvalues (ascending) of symmetric matrices."""
    return _la.linalg_eigh(x, UPLO)[0]


def qr(x: Tensor, /, *, mode: str = "reduced") -> QRResult:
    """``Q, R`` with ``x = Q @ R`` (``mode`` 'reduced', 'complete' or 'r')."""
    return QRResult(*_la.linalg_qr(x, mode))


def cholesky(x: Tensor, /, *, upper: bool = False) -> Tensor:
    """Cholesky factor of symmetric positive-definite matrices."""
    return _la.linalg_cholesky(x, upper=upper)


def inv(x: Tensor, /) -> Tensor:
    """Matrix inverse; raises ``LinAlgError`` for singular matrices."""
    return _la.linalg_inv(x)


def solve(x1: Tensor, x2: Tensor, /) -> Tensor:
    """``X`` with ``x1 @ X = x2`` (``x2`` a batch of matrices, or a vector)."""
    if isinstance(x1, Tensor) and isinstance(x2, Tensor) and x1.dtype is not x2.dtype:
        d = _dt.promote_types(x1.dtype, x2.dtype)
        x1, x2 = x1.astype(d), x2.astype(d)
    return _la.linalg_solve(x1, x2)


def det(x: Tensor, /) -> Tensor:
    """Determinant."""
    return _la.linalg_det(x)


def slogdet(x: Tensor, /) -> SlogdetResult:
    """Sign and log of the absolute determinant."""
    return SlogdetResult(*_la.linalg_slogdet(x))


# --- compositions --------------------------------------------------------------------------

def _rtol(x: Tensor, rtol):
    """``rtol`` against the singular values' last axis: a tensor of ``rtol`` is one per
    matrix (it broadcasts with the batch dims), so it gains that axis."""
    if isinstance(rtol, Tensor):
        return rtol.reshape(*rtol.shape, 1)
    if rtol is not None:
        return rtol
    return max(x.shape[-2:]) * _dt.finfo(x.dtype).eps


def pinv(x: Tensor, /, *, rtol=None, hermitian: bool = False) -> Tensor:
    """Moore-Penrose pseudo-inverse: singular values at most ``rtol * largest`` (default
    ``max(M, N) * eps``) count as zero."""
    _float("pinv", x)
    u, s, vh = svd(x, full_matrices=False)
    cutoff = s[..., :1] * _rtol(x, rtol) if s.shape[-1] else s
    keep = s > cutoff
    s_inv = _op("where")(keep, 1.0 / _op("where")(keep, s, 1.0), 0.0)
    return _adjoint(vh) @ (_adjoint(u) * s_inv.reshape(*s_inv.shape, 1))


def matrix_rank(x: Tensor, /, *, rtol=None, hermitian: bool = False) -> Tensor:
    """Number of singular values above ``rtol * largest``."""
    _float("matrix_rank", x)
    s = svdvals(x)
    if not s.shape[-1]:
        return _op("zeros")(tuple(s.shape[:-1]), dtype=_dt.int64, device=x.device)
    cutoff = s[..., :1] * _rtol(x, rtol)
    return _op("sum")(s > cutoff, -1)


def matrix_power(x: Tensor, n: int, /) -> Tensor:
    """``x`` multiplied by itself ``n`` times (``n < 0``: of its inverse)."""
    if not isinstance(x, Tensor) or x.ndim < 2 or x.shape[-1] != x.shape[-2]:
        raise OpError("linalg.matrix_power(): argument 'x' must be a (batch of) square "
                      "matrices")
    if n < 0:
        x, n = inv(x), -n
    if n == 0:
        eye = _op("eq")(_op("arange")(x.shape[-1], device=x.device).reshape(-1, 1),
                        _op("arange")(x.shape[-1], device=x.device))
        return _op("expand")(eye.astype(x.dtype), tuple(x.shape)).clone()
    result, base = None, x
    while n:  # square-and-multiply: log2(n) products
        if n & 1:
            result = base if result is None else result @ base
        n >>= 1
        if n:
            base = base @ base
    return result


def matrix_transpose(x: Tensor, /) -> Tensor:
    """Transpose of the last two dimensions."""
    from .array_api import matrix_transpose as mt
    return mt(x)


def matmul(x1: Tensor, x2: Tensor, /) -> Tensor:
    """Matrix product (``@``)."""
    from .array_api import matmul as mm
    return mm(x1, x2)


def tensordot(x1: Tensor, x2: Tensor, /, *, axes=2) -> Tensor:
    """Sum of products over ``axes``."""
    from .array_api import tensordot as td
    return td(x1, x2, axes=axes)


def vecdot(x1: Tensor, x2: Tensor, /, *, dim: int = -1, axis=_UNSET) -> Tensor:
    """Dot products along ``dim`` (alias ``axis``)."""
    from .array_api import vecdot as vd
    return vd(x1, x2, axis=_pick("vecdot", "dim", dim, "axis", axis, -1))


def outer(x1: Tensor, x2: Tensor, /) -> Tensor:
    """Outer product of two vectors."""
    for arg, v in (("x1", x1), ("x2", x2)):
        if not isinstance(v, Tensor) or v.ndim != 1:
            raise OpError(f"linalg.outer(): argument '{arg}' must be a 1-D tensor")
    return x1.reshape(-1, 1) * x2.reshape(1, -1)


def cross(x1: Tensor, x2: Tensor, /, *, dim: int = -1, axis=_UNSET) -> Tensor:
    """Cross product of 3-vectors along ``dim`` (alias ``axis``), broadcasting."""
    a = _pick("cross", "dim", dim, "axis", axis, -1)
    if x1.shape[a] != 3 or x2.shape[a] != 3:
        raise OpError(f"linalg.cross(): inputs must have size 3 along dim {a}, got "
                      f"{x1.shape[a]} and {x2.shape[a]}")
    from .array_api import broadcast_arrays, moveaxis
    x1, x2 = broadcast_arrays(x1, x2)
    u, v = moveaxis(x1, a, 0), moveaxis(x2, a, 0)
    c = [u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]]
    return moveaxis(_op("stack")(c, 0), 0, a)


def diagonal(x: Tensor, /, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """The ``offset``-th diagonal of the matrices in the last two dimensions."""
    if not isinstance(x, Tensor) or x.ndim < 2:
        raise OpError("linalg.diagonal(): argument 'x' must have at least 2 dimensions")
    if "diagonal" in _registry:
        return _op("diagonal")(x, offset, dim1, dim2)
    from .array_api import moveaxis
    d1, d2 = dim1 % x.ndim, dim2 % x.ndim
    # The two dimensions merged into one, then a slice with step cols + 1: a view of x
    # (in-place writes reach x, as PyTorch's diagonal) wherever x's strides let the two
    # merge, in the order (d1, d2) or, as the transposed diagonal, (d2, d1).
    strides, shape = x.stride(), x.shape
    if strides[d1] != shape[d2] * strides[d2] and strides[d2] == shape[d1] * strides[d1]:
        d1, d2, offset = d2, d1, -offset
    m = moveaxis(x, (d1, d2), (-2, -1))
    rows, cols = m.shape[-2:]
    n = max(0, min(rows, cols - offset) if offset >= 0 else min(rows + offset, cols))
    start = offset if offset >= 0 else -offset * cols
    flat = m.reshape(*m.shape[:-2], rows * cols)
    if n == 0:
        return flat[..., 0:0]
    return flat[..., start:start + (n - 1) * (cols + 1) + 1:cols + 1]


def trace(x: Tensor, /, *, offset: int = 0, dtype=None) -> Tensor:
    """Sum of the ``offset``-th diagonal of the matrices in the last two dimensions."""
    return _op("sum")(diagonal(x, offset=offset), -1, dtype=dtype)


def vector_norm(x: Tensor, /, ord: float = 2, dim=None, keepdim: bool = False, *,
                dtype=None, axis=_UNSET, keepdims=_UNSET) -> Tensor:
    """The ``ord``-norm of vectors along ``dim`` (``None``: all of ``x``); ``ord`` may
    be any real number or ``inf``/``-inf``."""
    dim = _pick("vector_norm", "dim", dim, "axis", axis, None)
    keepdim = _pick("vector_norm", "keepdim", keepdim, "keepdims", keepdims, False)
    _float("vector_norm", x)
    if dtype is not None:
        x = x.astype(dtype)
    dims = dim if dim is None or isinstance(dim, (tuple, list)) else (dim,)
    a = _op("abs")(x)
    if ord in (math.inf, -math.inf):  # amax/amin take () for every dimension, not None
        return _op("amax" if ord > 0 else "amin")(a, () if dims is None else dims, keepdim)
    if ord == 0:
        return _op("sum")(_op("ne")(a, 0), dims, keepdim).astype(x.dtype)
    if ord == 1:
        return _op("sum")(a, dims, keepdim)
    if ord == 2:
        s = _op("sum")(a * a, dims, keepdim)
        if s.requires_grad:  # sqrt'(0) = inf would make the zero vector's gradient NaN
            zero = _op("eq")(s, 0)
            return _op("where")(zero, 0.0, _op("sqrt")(_op("where")(zero, 1.0, s)))
        return _op("sqrt")(s)
    if not a.requires_grad:
        return _op("sum")(a ** ord, dims, keepdim) ** (1.0 / ord)
    # As PyTorch's, zero elements and zero norms get a zero gradient: d|x|**ord at 0 is
    # inf for ord < 1 (and 0 * inf NaN), and the root's derivative at 0 is inf for any
    # ord > 1 (the zero vector's gradient NaN).  The masked positions read 1 instead.
    zero_x = _op("eq")(a, 0)
    safe = _op("where")(zero_x, 1.0, a)
    terms = _op("where")(zero_x, 0.0 if ord > 0 else math.inf, safe ** ord)
    s = _op("sum")(terms, dims, True)
    zero_n = _op("eq")(s, 0.0 if ord > 0 else math.inf)  # (ord < 0: inf ** (1/ord) = 0)
    out = _op("where")(zero_n, 0.0, _op("where")(zero_n, 1.0, s) ** (1.0 / ord))
    return out if keepdim else out.reshape(_op("sum")(s.detach(), dims, False).shape)


def matrix_norm(x: Tensor, /, ord="fro", dim: Sequence[int] = (-2, -1),
                keepdim: bool = False, *, dtype=None, keepdims=_UNSET) -> Tensor:
    """Matrix norm over the last two dimensions: 'fro', 'nuc', ``inf``, ``-inf``,
    1, -1, 2, -2."""
    keepdim = _pick("matrix_norm", "keepdim", keepdim, "keepdims", keepdims, False)
    _float("matrix_norm", x)
    if x.ndim < 2:
        raise OpError("linalg.matrix_norm(): argument 'x' must have at least 2 dimensions")
    if dtype is not None:
        x = x.astype(dtype)
    d0, d1 = (d % x.ndim for d in dim)
    if ord == "fro":
        return vector_norm(x, 2, (d0, d1), keepdim)
    from .array_api import moveaxis
    m = moveaxis(x, (d0, d1), (-2, -1))
    if ord in ("nuc", 2, -2):
        s = svdvals(m)
        out = (_op("sum")(s, -1) if ord == "nuc" else
               _op("amax")(s, (-1,), False) if ord == 2 else _op("amin")(s, (-1,), False))
    elif ord in (1, -1, math.inf, -math.inf):
        along = -2 if ord in (1, -1) else -1
        sums = _op("sum")(_op("abs")(m), along)
        out = _op("amax" if ord > 0 else "amin")(sums, (-1,), False)
    else:
        raise OpError(f"linalg.matrix_norm(): unsupported ord {ord!r}; expected 'fro', "
                      f"'nuc', inf, -inf, 1, -1, 2 or -2")
    if keepdim:
        out = out.reshape(*[1 if i in (d0, d1) else s for i, s in enumerate(x.shape)])
    return out
