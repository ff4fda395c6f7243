"""``ember.linalg``: PyTorch's ``torch.linalg`` names.

The factorisations, solvers and Array API functions live in
``ember.array_api_linalg`` (re-exported here); ``norm`` follows ``torch.linalg.norm``,
choosing a vector or a matrix norm from ``ord`` and ``dim``.  ``multi_dot``,
``matrix_exp``, ``solve_triangular`` and ``lstsq`` are PyTorch's, composed of those
(matmuls, ``solve``, ``pinv``): every backend and autograd have them.
"""

from __future__ import annotations

import builtins
import math
from collections import namedtuple

from . import array_api_linalg as _aal
from .array_api_linalg import *  # noqa: F403
from . import dtypes as _dt
from . import ops as _ops
from .errors import OpError
from .tensor import Tensor

__all__ = list(_aal.__all__) + ["norm", "multi_dot", "matrix_exp", "solve_triangular", "lstsq"]


def norm(A: Tensor, ord=None, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """A vector or matrix norm (``torch.linalg.norm``).

    With ``dim`` an int (or ``A`` 1-D and ``dim`` None) it is ``vector_norm``; with
    ``dim`` a pair (or ``A`` 2-D and ``dim`` None) ``matrix_norm``.  ``ord=None`` is the
    2-norm of the flattened input (Frobenius for matrices) when ``dim`` is None.
    """
    if not isinstance(A, Tensor):
        raise TypeError(f"linalg.norm(): argument 'A' must be Tensor, not {type(A).__name__}")
    if isinstance(dim, int):
        dim = (dim,)
    if dim is not None:
        dim = tuple(dim)
        if len(dim) not in (1, 2):
            raise OpError(f"linalg.norm(): argument 'dim' must name 1 or 2 dimensions, "
                          f"got {list(dim)}")
    if ord is None:
        if dim is None or len(dim) == 1:
            return _aal.vector_norm(A, 2, dim, keepdim, dtype=dtype)
        return _aal.matrix_norm(A, "fro", dim, keepdim, dtype=dtype)
    if dim is None:
        if A.ndim == 1:
            dim = (0,)
        elif A.ndim == 2:
            dim = (0, 1)
        else:
            raise OpError(f"linalg.norm(): with 'ord' given, 'A' must be 1-D or 2-D unless "
                          f"'dim' is given, got a {A.ndim}-D tensor")
    if len(dim) == 1:
        if isinstance(ord, str):
            raise OpError(f"linalg.norm(): ord {ord!r} is a matrix norm, but 'dim' names "
                          f"one dimension")
        return _aal.vector_norm(A, ord, dim, keepdim, dtype=dtype)
    if not isinstance(ord, str) and ord not in (1, -1, 2, -2, math.inf, -math.inf):
        raise OpError(f"linalg.norm(): unsupported matrix norm ord {ord!r}; expected 'fro', "
                      f"'nuc', inf, -inf, 1, -1, 2 or -2")
    return _aal.matrix_norm(A, ord, dim, keepdim, dtype=dtype)


def _square(fn: str, arg: str, A) -> Tensor:
    if not isinstance(A, Tensor):
        raise TypeError(f"{fn}(): argument '{arg}' must be Tensor, not {type(A).__name__}")
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise OpError(f"{fn}(): argument '{arg}' must be a square matrix or a batch of "
                      f"square matrices, got shape {tuple(A.shape)}")
    return A


def multi_dot(tensors) -> Tensor:
    """The product of a chain of matrices in the cheapest order (the first may be a row
    vector, the last a column vector: 1-D, dropped from the result)."""
    ts = list(tensors) if isinstance(tensors, (list, tuple)) else None
    if ts is None:
        raise TypeError(f"linalg.multi_dot(): argument 'tensors' must be a list or tuple of "
                        f"Tensors, not {type(tensors).__name__}")
    if len(ts) < 2:
        raise OpError(f"multi_dot(): expected at least 2 tensors but got {len(ts)}")
    for i, t in enumerate(ts):
        if not isinstance(t, Tensor):
            raise TypeError(f"multi_dot(): argument 'tensors[{i}]' must be Tensor, not "
                            f"{type(t).__name__}")
        inner = 0 < i < len(ts) - 1
        if t.ndim != 2 and (inner or t.ndim != 1):
            where = "first and last tensors" if not inner else f"tensor {i}"
            raise OpError(f"multi_dot(): {where} must be {'2D' if inner else '1D or 2D'} "
                          f"but got {t.ndim}D")
    first_vec, last_vec = ts[0].ndim == 1, ts[-1].ndim == 1
    mats = list(ts)
    if first_vec:
        mats[0] = mats[0].reshape(1, -1)
    if last_vec:
        mats[-1] = mats[-1].reshape(-1, 1)
    for i in range(len(mats) - 1):
        if mats[i].shape[1] != mats[i + 1].shape[0]:
            raise OpError(f"multi_dot(): tensors {i} and {i + 1} with shapes "
                          f"{tuple(ts[i].shape)} and {tuple(ts[i + 1].shape)} cannot be "
                          f"multiplied")
    out = _chain(mats)
    if first_vec and last_vec:
        return out.reshape(())
    return out.reshape(-1) if first_vec or last_vec else out


def _chain(mats: list) -> Tensor:
    """The matrix-chain product in the order of fewest multiplications (dynamic
    programming over the sizes: host arithmetic, no data touched)."""
    n = len(mats)
    dims = [mats[0].shape[0]] + [m.shape[1] for m in mats]
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j], split[i][j] = builtins.min(
                (cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1], k)
                for k in range(i, j))

    def product(i: int, j: int) -> Tensor:
        if i == j:
            return mats[i]
        k = split[i][j]
        return _ops.matmul(product(i, k), product(k + 1, j))
    return product(0, n - 1)


_TAYLOR_DEGREE = 18  # for ||A|| <= 1/2: truncation error below 0.5**19 / 19! ~ 1e-23


def matrix_exp(A: Tensor) -> Tensor:
    """``exp(A)`` of a (batch of) square matrices by scaling and squaring: a Taylor
    polynomial (Horner, matmuls only) of ``A / 2**s`` with ``||A / 2**s||_1 <= 1/2``,
    squared ``s`` times.  One ``s`` serves the whole batch."""
    _square("linalg.matrix_exp", "A", A)
    if A.dtype._kind not in "fc":
        raise OpError(f"linalg.matrix_exp(): expected a floating point or complex tensor, "
                      f"got {A.dtype}")
    n = A.shape[-1]
    eye = _ops.eye(n, dtype=A.dtype, device=A.device)
    if A.numel() == 0:
        return _ops.add(A, eye)
    norm = float(_ops.amax(_ops.sum(_ops.abs(A.detach()), -2), (), False).item())
    s = builtins.max(0, math.ceil(math.log2(norm / 0.5))) if math.isfinite(norm) and norm \
        else 0
    x = _ops.true_divide(A, 2.0 ** s) if s else A
    p = eye
    for k in range(_TAYLOR_DEGREE, 0, -1):  # I + x/1 (I + x/2 (I + ... ))
        p = _ops.add(eye, _ops.true_divide(_ops.matmul(x, p), k))
    for _ in range(s):
        p = _ops.matmul(p, p)
    return p


def solve_triangular(A: Tensor, B: Tensor, *, upper: bool, left: bool = True,
                     unitriangular: bool = False) -> Tensor:
    """``X`` with ``A X = B`` (``X A = B`` if not ``left``), reading only the upper or
    lower triangle of ``A`` (and ones on its diagonal if ``unitriangular``).  Solved by
    ``linalg.solve`` on that triangle: ember has no triangular-substitution primitive, so
    this costs an LU factorisation, not a substitution."""
    fn = "linalg.solve_triangular"
    _square(fn, "A", A)
    if not isinstance(B, Tensor):
        raise TypeError(f"{fn}(): argument 'B' must be Tensor, not {type(B).__name__}")
    if B.ndim < 2:
        raise OpError(f"{fn}(): The input tensor B must have at least 2 dimensions.")
    k = A.shape[-1]
    if (B.shape[-2] if left else B.shape[-1]) != k:
        raise OpError(f"{fn}(): incompatible shapes of A {tuple(A.shape)} and B "
                      f"{tuple(B.shape)} for left={left}")
    t = _ops.triu(A) if upper else _ops.tril(A)
    if unitriangular:
        eye = _ops.eye(k, dtype=_dt.bool, device=A.device)
        t = _ops.where(eye, 1.0, t).astype(t.dtype)
    if left:
        return _aal.solve(*_broadcast_batch(t, B))
    # X A = B  <=>  A^T X^T = B^T
    at, bt = _broadcast_batch(t.transpose(-2, -1), B.transpose(-2, -1))
    return _aal.solve(at, bt).transpose(-2, -1)


def _broadcast_batch(A: Tensor, B: Tensor):
    """``A`` and ``B`` expanded to their common batch shape (``solve`` wants one)."""
    import numpy as np  # shape arithmetic only

    batch = tuple(np.broadcast_shapes(tuple(A.shape[:-2]), tuple(B.shape[:-2])))
    return (_ops.expand(A, batch + tuple(A.shape[-2:])),
            _ops.expand(B, batch + tuple(B.shape[-2:])))


LstsqResult = namedtuple("LstsqResult", "solution residuals rank singular_values")
_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


def lstsq(A: Tensor, B: Tensor, rcond: float | None = None, *,
          driver: str | None = None) -> LstsqResult:
    """The least-squares solution of ``A X = B``: ``(solution, residuals, rank,
    singular_values)`` as PyTorch's CPU drivers fill them (default ``'gelsy'``: rank,
    no residuals or singular values; ``'gels'``: residuals only; ``'gelsd'``/``'gelss'``:
    all).  Residuals (squared, per column) only when ``m > n`` and ``A`` has full rank.
    Computed as ``pinv(A) @ B`` (singular values below ``rcond * s_max`` dropped;
    ``rcond`` defaults to ``eps * max(m, n)``)."""
    fn = "linalg.lstsq"
    if not isinstance(A, Tensor):
        raise TypeError(f"{fn}(): argument 'A' must be Tensor, not {type(A).__name__}")
    if not isinstance(B, Tensor):
        raise TypeError(f"{fn}(): argument 'B' must be Tensor, not {type(B).__name__}")
    if A.ndim < 2:
        raise OpError(f"{fn}(): input must have at least 2 dimensions, got {A.ndim}-D A")
    if A.dtype._kind not in "fc" or B.dtype != A.dtype:
        raise OpError(f"{fn}(): expected A and B of the same floating point or complex "
                      f"dtype, got {A.dtype} and {B.dtype}")
    drv = "gelsy" if driver is None else driver
    if drv not in _DRIVERS:
        raise OpError(f"{fn}(): parameter `driver` should be one of {_DRIVERS}, got {drv!r}")
    # a vector right side, as PyTorch reads one: 1-D, or A's shape without its columns
    vector = B.ndim == 1 or tuple(B.shape) == tuple(A.shape[:-1])
    b = _ops.unsqueeze(B, -1) if vector else B
    m, n = A.shape[-2:]
    if b.ndim < 2 or b.shape[-2] != m:
        raise OpError(f"{fn}(): A {tuple(A.shape)} and B {tuple(B.shape)} do not have the "
                      f"same number of rows")
    if rcond is None:
        rcond = _dt.finfo(A.dtype).eps * builtins.max(m, n)
    a, b = _broadcast_batch(A, b)
    x = _ops.matmul(_aal.pinv(a, rtol=rcond), b)
    empty = _ops.zeros((0,), dtype=_real(A.dtype), device=A.device)
    rank = _aal.matrix_rank(a, rtol=rcond) if drv != "gels" else \
        _ops.zeros((0,), dtype=_dt.int64, device=A.device)
    sv = _aal.svdvals(a) if drv in ("gelsd", "gelss") else empty
    residuals = empty
    if drv != "gelsy" and m > n and a.numel():
        r = rank if drv != "gels" else _aal.matrix_rank(a, rtol=rcond)
        if builtins.bool(_ops.eq(r, n).all().item()):
            diff = _ops.sub(_ops.matmul(a, x), b)
            # (a vector B keeps its column here: PyTorch's residuals have shape (..., 1))
            residuals = _ops.sum(_ops.real(_ops.mul(diff, _ops.conj(diff))), -2)
    return LstsqResult(_ops.squeeze(x, -1) if vector else x, residuals, rank, sv)


def _real(dtype):
    return {_dt.complex64: _dt.float32, _dt.complex128: _dt.float64}.get(dtype, dtype)
