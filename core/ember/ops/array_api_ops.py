"""Ops the Python Array API standard needs that cannot be composed from others:
the matrix factorisations and solvers of ``ember.linalg`` (``torch.linalg``'s names,
``linalg_svd`` …).  Each has a shape rule, so bad input fails before a backend runs,
and backends implement them natively (the CPU through ``numpy.linalg``).  What can
be composed (``svdvals``, ``eigvalsh``, ``pinv`` …) lives in ``ember.array_api_linalg``.
"""

from __future__ import annotations

from .. import dtypes as _dt
from ..errors import EmberError
from ..schema import Spec, defop
from ._rules import broadcast_shapes, fail

__all__ = ["LinAlgError", "linalg_svd", "linalg_svdvals", "linalg_eigh", "linalg_qr",
           "linalg_cholesky", "linalg_inv", "linalg_solve", "linalg_det", "linalg_slogdet"]


class LinAlgError(EmberError):
    """A matrix is singular or not positive-definite (``torch.linalg.LinAlgError``)."""


def _matrix(op: str, A, square: bool = False, arg: str = "A"):
    """Validate a (batch of) matrix argument; returns its shape."""
    shape = tuple(A.shape)
    if len(shape) < 2:
        fail(op, f"argument '{arg}' must have at least 2 dimensions (a matrix or a "
                 f"batch of matrices), but got a {len(shape)}-D tensor")
    if square and shape[-1] != shape[-2]:
        fail(op, f"argument '{arg}' must be a batch of square matrices, but got matrices "
                 f"of size {shape[-2]} x {shape[-1]}")
    if not (A.dtype.is_floating_point or A.dtype.is_complex):
        fail(op, f"argument '{arg}' must have a floating point or complex dtype, got "
                 f"{A.dtype}")
    if A.dtype not in (_dt.float32, _dt.float64, _dt.complex64, _dt.complex128):
        fail(op, f"argument '{arg}' has dtype {A.dtype}: low precision dtypes are not "
                 f"supported, use float32 or float64")
    return shape


def _svd_meta(A, full_matrices=True):
    *batch, m, n = _matrix("linalg_svd", A)
    k = min(m, n)
    b = tuple(batch)
    s = Spec(b + (k,), _dt.to_real(A.dtype))  # singular values are real
    if full_matrices:
        return Spec(b + (m, m), A.dtype), s, Spec(b + (n, n), A.dtype)
    return Spec(b + (m, k), A.dtype), s, Spec(b + (k, n), A.dtype)


linalg_svd = defop(
    "linalg_svd(Tensor A, bool full_matrices=True) -> (Tensor, Tensor, Tensor)",
    tags=("primitive",), meta=_svd_meta, method=False,
    doc="Singular value decomposition ``A = U @ diag(S) @ Vh`` of a (batch of) "
        "matrices; singular values in descending order.")


def _svdvals_meta(A):
    *batch, m, n = _matrix("linalg_svdvals", A)
    return Spec(tuple(batch) + (min(m, n),), _dt.to_real(A.dtype))


def _svdvals_decomp(A):
    return linalg_svd(A, False)[1]


linalg_svdvals = defop(
    "linalg_svdvals(Tensor A) -> Tensor", tags=("composite",), meta=_svdvals_meta,
    decomposition=_svdvals_decomp, method=False,
    doc="The singular values of a (batch of) matrices, in descending order.")


def _eigh_meta(A, UPLO="L"):
    *batch, n, _ = _matrix("linalg_eigh", A, square=True)
    if UPLO not in ("L", "U"):
        fail("linalg_eigh", f"argument 'UPLO' must be 'L' or 'U', got {UPLO!r}")
    # (Hermitian for complex A: real eigenvalues)
    return (Spec(tuple(batch) + (n,), _dt.to_real(A.dtype)),
            Spec(tuple(batch) + (n, n), A.dtype))


linalg_eigh = defop(
    "linalg_eigh(Tensor A, str UPLO='L') -> (Tensor, Tensor)",
    tags=("primitive",), meta=_eigh_meta, method=False,
    doc="Eigenvalues (ascending) and eigenvectors (columns) of a (batch of) symmetric "
        "matrices, reading the lower (``'L'``) or upper (``'U'``) triangle.")


def _qr_meta(A, mode="reduced"):
    *batch, m, n = _matrix("linalg_qr", A)
    b = tuple(batch)
    k = min(m, n)
    if mode == "reduced":
        return Spec(b + (m, k), A.dtype), Spec(b + (k, n), A.dtype)
    if mode == "complete":
        return Spec(b + (m, m), A.dtype), Spec(b + (m, n), A.dtype)
    if mode == "r":
        return Spec((0,), A.dtype), Spec(b + (k, n), A.dtype)
    fail("linalg_qr", f"argument 'mode' must be 'reduced', 'complete' or 'r', got {mode!r}")


linalg_qr = defop(
    "linalg_qr(Tensor A, str mode='reduced') -> (Tensor, Tensor)",
    tags=("primitive",), meta=_qr_meta, method=False,
    doc="QR decomposition ``A = Q @ R`` (``mode`` 'reduced', 'complete' or 'r', as "
        "``torch.linalg.qr``; with 'r' ``Q`` is empty).")


def _square_same(op):
    def meta(A, *rest):
        return Spec(_matrix(op, A, square=True), A.dtype)
    return meta


linalg_cholesky = defop(
    "linalg_cholesky(Tensor A, *, bool upper=False) -> Tensor",
    tags=("primitive",), meta=_square_same("linalg_cholesky"), method=False,
    doc="Cholesky factor ``L`` (``A = L @ L.mT``) of a (batch of) symmetric "
        "positive-definite matrices; ``upper=True`` returns ``L.mT``.")

linalg_inv = defop(
    "linalg_inv(Tensor A) -> Tensor", tags=("primitive",),
    meta=_square_same("linalg_inv"), method=False,
    doc="Inverse of a (batch of) square matrices; raises ``LinAlgError`` if singular.")


def _solve_meta(A, B):
    sa = _matrix("linalg_solve", A, square=True)
    if A.dtype is not B.dtype:
        fail("linalg_solve", f"expected 'A' and 'B' to have the same dtype, but got "
                             f"{A.dtype} (argument 'A') and {B.dtype} (argument 'B')")
    sb = tuple(B.shape)
    n = sa[-1]
    if len(sb) == 1:  # a vector (the Array API standard's rule)
        if sb[0] != n:
            fail("linalg_solve", f"argument 'B' has {sb[0]} rows, but 'A' is {n} x {n}")
        return Spec(sa[:-1], A.dtype)
    if len(sb) < 2 or sb[-2] != n:
        fail("linalg_solve", f"argument 'B' must have shape (..., {n}, K) or ({n},) to "
                             f"match 'A' of shape {list(sa)}, got {list(sb)}")
    batch = broadcast_shapes(sa[:-2], sb[:-2], op="linalg_solve", names=("A", "B"))
    return Spec(batch + sb[-2:], A.dtype)


linalg_solve = defop(
    "linalg_solve(Tensor A, Tensor B) -> Tensor", tags=("primitive",),
    meta=_solve_meta, method=False,
    doc="The solution ``X`` of ``A @ X = B`` (``B`` a (batch of) matrices, or one "
        "vector); batch dimensions broadcast.")


def _det_meta(A):
    return Spec(_matrix("linalg_det", A, square=True)[:-2], A.dtype)


linalg_det = defop(
    "linalg_det(Tensor A) -> Tensor", tags=("primitive",), meta=_det_meta, method=False,
    doc="Determinant of a (batch of) square matrices.")


def _slogdet_meta(A):
    spec = _det_meta(A)  # the sign is complex for complex A; the log is real
    return spec, Spec(spec.shape, _dt.to_real(spec.dtype))


linalg_slogdet = defop(
    "linalg_slogdet(Tensor A) -> (Tensor, Tensor)", tags=("primitive",),
    meta=_slogdet_meta, method=False,
    doc="Sign and natural log of the absolute value of the determinant (stable for "
        "large matrices).")


# --- sets ----------------------------------------------------------------------------------

def _unique_all_meta(x):
    # The number of distinct values depends on the data: the shape rule can only say
    # so (the meta device reports the upper bound, every element distinct).
    n = x.numel()
    return (Spec((n,), x.dtype), Spec((n,), _dt.int64), Spec(tuple(x.shape), _dt.int64),
            Spec((n,), _dt.int64))


def _unique_all_decomp(x):
    # Only sort, gather, cumsum and slices: ops every backend has (no boolean masks or
    # scatters).  The one data-dependent size, the number of groups, is read back.
    from .. import ops as e
    flat = x.reshape(-1)
    n = flat.shape[0]
    i64 = _dt.int64
    order = _complex_argsort(flat) if x.dtype.is_complex else e.argsort(flat, stable=True)
    s = e.index_select(flat, 0, order)
    if n == 0:
        empty = e.zeros(0, dtype=i64, device=x.device)
        return s, empty, empty.reshape(tuple(x.shape)), empty
    # a value starts a new group where it differs from its predecessor; NaN != NaN,
    # so every NaN is its own group (the Array API standard's rule)
    first = e.ones(1, dtype=_dt.bool, device=x.device)
    new = e.cat([first, e.ne(e.narrow(s, 0, 1, n - 1), e.narrow(s, 0, 0, n - 1))])
    new = new.astype(i64)
    k = int(e.sum(new).item())
    # positions (in sorted order) where groups start: a stable sort of "not new" puts
    # them first, in order
    starts = e.narrow(e.argsort(1 - new, stable=True), 0, 0, k)
    values = e.index_select(s, 0, starts)
    # a stable sort puts each group's first occurrence first
    indices = e.index_select(order, 0, starts)
    ends = e.cat([e.narrow(starts, 0, 1, k - 1), e.full((1,), n, dtype=i64, device=x.device)])
    counts = ends - starts
    group = e.cumsum(new, 0) - 1  # group of each sorted position
    inverse = e.index_select(group, 0, e.argsort(order, stable=True))
    return values, indices, inverse.reshape(tuple(x.shape)), counts


def _complex_argsort(flat):
    """A stable argsort of 1-D complex ``flat`` in numpy's order: by real part, then
    imaginary part, those with NaNs last as ``R + nanj``, ``nan + Rj``, ``nan + nanj``
    (a radix sort on the three keys, last key first: ``sort`` refuses complex, as
    PyTorch's, since complex numbers have no order of their own)."""
    from .. import ops as e
    re, im = e.real(flat), e.imag(flat)
    nan_class = e.isnan(re).astype(_dt.int8) * 2 + e.isnan(im).astype(_dt.int8)
    order = e.argsort(im, stable=True)
    for key in (re, nan_class):
        order = e.index_select(order, 0, e.argsort(e.index_select(key, 0, order), stable=True))
    return order


_unique_all = defop(
    "_unique_all(Tensor x) -> (Tensor, Tensor, Tensor, Tensor)",
    tags=("composite", "no_autograd", "dynamic_shape"), meta=_unique_all_meta,
    decomposition=_unique_all_decomp, method=False,
    doc="Distinct values of ``x`` (sorted, NaNs distinct), the flat index of each one's "
        "first occurrence, the inverse indices (shaped like ``x``) and the counts: the "
        "Array API's ``unique_all``.  A composition of sorts and gathers, so every "
        "backend has it; a backend may add a native kernel.")


def _unique_dim_meta(x, dim):
    # PyTorch's refusals: IndexErrors for the dim, RuntimeErrors for zero sizes
    shape = tuple(x.shape)
    if not shape:
        raise IndexError(f"unique(): dimension specified as {dim} but the tensor has no "
                         f"dimensions")
    if not -len(shape) <= dim < len(shape):
        raise IndexError(f"unique(): dimension out of range (expected to be in range of "
                         f"[{-len(shape)}, {len(shape) - 1}], but got {dim})")
    d = dim % len(shape)
    zeros = sum(1 for n in shape if n == 0)
    if zeros > 1:
        fail("unique", f"input of shape {list(shape)} has more than one zero-sized "
                       f"dimension, so unique cannot be applied along dim {dim}")
    if zeros == 1 and shape[d] != 0:
        fail("unique", f"input of shape {list(shape)} has a zero-sized dimension other "
                       f"than dim {dim}, so unique cannot be applied")
    # as _unique_all: the number of distinct slices is a bound (every slice distinct)
    return (Spec(shape, x.dtype), Spec((shape[d],), _dt.int64), Spec((shape[d],), _dt.int64))


def _unique_dim_decomp(x, dim):
    # The slices along `dim` as rows; rows sorted lexicographically by stable sorts on
    # each column, last column first (a radix sort over columns: only argsort and
    # gathers, which every backend has); then as _unique_all, with "differs from its
    # predecessor" over whole rows.
    from .. import ops as e
    d = dim % x.ndim
    i64 = _dt.int64
    n = x.shape[d]
    if n == 0:
        empty = e.zeros(0, dtype=i64, device=x.device)
        return x.clone(), empty, empty.clone()
    moved = e.movedim(x, [d], [0])
    rest = tuple(moved.shape[1:])
    rows = moved.reshape(n, -1)
    keys = rows.astype(_dt.uint8) if x.dtype is _dt.bool else rows
    order = e.arange(n, dtype=i64, device=x.device)
    for c in range(rows.shape[1] - 1, -1, -1):
        col = e.index_select(e.select(keys, 1, c), 0, order)
        order = e.index_select(order, 0, e.argsort(col, stable=True))
    s = e.index_select(rows, 0, order)
    first = e.ones(1, dtype=_dt.bool, device=x.device)
    differs = e.any(e.ne(e.narrow(s, 0, 1, n - 1), e.narrow(s, 0, 0, n - 1)), 1)
    new = e.cat([first, differs]).astype(i64)
    k = int(e.sum(new).item())
    starts = e.narrow(e.argsort(1 - new, stable=True), 0, 0, k)
    values = e.index_select(s, 0, starts).reshape((k,) + rest)
    ends = e.cat([e.narrow(starts, 0, 1, k - 1), e.full((1,), n, dtype=i64, device=x.device)])
    inverse = e.index_select(e.cumsum(new, 0) - 1, 0, e.argsort(order, stable=True))
    return e.movedim(values, [0], [d]), inverse, ends - starts


_unique_dim = defop(
    "_unique_dim(Tensor x, int dim) -> (Tensor, Tensor, Tensor)",
    tags=("composite", "no_autograd", "dynamic_shape"), meta=_unique_dim_meta,
    decomposition=_unique_dim_decomp, method=False,
    doc="The distinct slices of ``x`` along ``dim`` (sorted lexicographically; slices "
        "with a NaN are each distinct), the inverse indices (which distinct slice each "
        "slice is) and the counts: ``unique(x, dim=dim)``'s three results.")


# --- derivatives ---
# Beside the schemas above; see ember.autograd.rules for the conventions.  Matrix
# calculus for (batches of) matrices; the factorisations' formulas follow the standard
# results (Giles 2008; Seeger et al. 2017) as PyTorch states them.  For complex matrices
# the transposes are adjoints (conjugate transposes), which gives PyTorch's conjugate
# Wirtinger gradients (checked against torch.autograd in tests/test_complex.py).

from ..autograd.rules import derivative  # noqa: E402


def _mT(x):
    """The adjoint of the last two dims (the transpose of real matrices)."""
    from .pointwise import conj_if_complex
    return conj_if_complex(x.transpose(-1, -2))


def _eye_like(n, like):
    from .. import ops as e
    i = e.arange(n, device=like.device)
    return (i.unsqueeze(-1) == i).astype(like.dtype)


def _diag_embed(v):
    return v.unsqueeze(-1) * _eye_like(v.shape[-1], v)


derivative(linalg_inv, save="result",
           A=lambda g, A, result: -(_mT(result) @ g @ _mT(result)))
derivative(linalg_det, save=("A", "result"),
           A=lambda g, A, result:
               (g * _conj(result)).unsqueeze(-1).unsqueeze(-1) * _mT(linalg_inv(A)))


def _conj(x):
    from .pointwise import conj_if_complex
    return conj_if_complex(x)


def _slogdet_backward(g, A, result):
    g_sign, g_log = g
    sign = result[0]
    # d log|det A| = Re tr(A^-1 dA); a complex sign turns with Im tr(A^-1 dA): its
    # gradient adds i * Im(g_sign * conj(sign)) to the real part's (real A: none)
    coef = g_log
    if A.dtype.is_complex and g_sign is not None:
        from .complex_numbers import imag
        turn = imag(g_sign * _conj(sign)) * 1j
        coef = turn if coef is None else coef + turn
    if coef is None:
        return None
    return coef.unsqueeze(-1).unsqueeze(-1) * _mT(linalg_inv(A))


derivative(linalg_slogdet, save=("A", "result"), A=_slogdet_backward)


def _solve_grad_B(g, A, B, result):
    if B.ndim == 1:
        return linalg_solve(_mT(A), g.unsqueeze(-1)).squeeze(-1)
    return linalg_solve(_mT(A), g)


def _solve_grad_A(g, A, B, result):
    gB = _solve_grad_B(g, A, B, result)
    if B.ndim == 1:
        return -(gB.unsqueeze(-1) * _conj(result).unsqueeze(-2))
    return -(gB @ _mT(result))


derivative(linalg_solve, save=("A", "result"), A=_solve_grad_A, B=_solve_grad_B)


def _cholesky_backward(g, A, upper=False, result=None):
    from .indexing import tril
    L = _mT(result) if upper else result
    gL = _mT(g) if upper else g
    P = tril(_mT(L) @ gL)
    P = (P + _mT(tril(P, -1))) * 0.5  # the symmetric matrix whose lower half is P / 2
    Linv = linalg_inv(L)
    return _mT(Linv) @ P @ Linv


derivative(linalg_cholesky, save="result", A=_cholesky_backward)


def _eigh_backward(g, A, UPLO="L", result=None):
    import math
    from .pointwise import where
    gw, gV = g
    w, V = result
    inner = None
    if gV is not None:
        n = w.shape[-1]
        E = w.unsqueeze(-2) - w.unsqueeze(-1)  # E[i, j] = w[j] - w[i]
        E = where(_eye_like(n, w) == 1, math.inf, E)
        # V^H gV projected onto the skew-Hermitian matrices (the tangent space of the
        # unitary group), as PyTorch: the gradient comes out Hermitian
        VhgV = _mT(V) @ gV
        inner = ((VhgV - _mT(VhgV)) * 0.5) / E
    if gw is not None:
        d = _diag_embed(gw)
        inner = d if inner is None else inner + d
    if inner.dtype is not V.dtype:  # real eigenvalues of a complex Hermitian matrix
        inner = inner.astype(V.dtype)
    return V @ inner @ _mT(V)


derivative(linalg_eigh, save="result", A=_eigh_backward)


def _svd_backward(g, A, full_matrices=True, result=None):
    gU, gS, gVh = g
    U, S, Vh = result
    m, n = A.shape[-2], A.shape[-1]
    if full_matrices and m != n and (gU is not None or gVh is not None):
        raise NotImplementedError("the derivative of linalg_svd with full_matrices=True is "
                                  "not implemented for non-square matrices (use "
                                  "full_matrices=False)")
    if gU is None and gVh is None:
        return U @ (gS.unsqueeze(-1) * Vh) if m >= n else (U * gS.unsqueeze(-2)) @ Vh
    k = S.shape[-1]
    S2 = S * S
    E = S2.unsqueeze(-2) - S2.unsqueeze(-1) + _eye_like(k, S)  # 1 on the diagonal
    V = _mT(Vh)
    gV = _mT(gVh) if gVh is not None else None
    UhgU = _mT(U) @ gU if gU is not None else None
    VhgV = _mT(V) @ gV if gV is not None else None
    # complex singular vectors are defined up to a phase each: PyTorch fixes the
    # gradient's free imaginary diagonal with i Im(diag(U^H gU)) / S
    phase = None
    if UhgU is not None and A.dtype.is_complex:
        from .complex_numbers import imag
        diag = (UhgU * _eye_like(S.shape[-1], UhgU)).sum(-1)
        phase = _diag_embed(imag(diag) / S) * 1j
    if UhgU is not None:
        UhgU = UhgU - _mT(UhgU)
    if VhgV is not None:
        VhgV = VhgV - _mT(VhgV)
    if UhgU is not None and VhgV is not None:
        gA = (UhgU * S.unsqueeze(-2) + S.unsqueeze(-1) * VhgV) / E
    elif UhgU is not None:
        gA = (UhgU / E) * S.unsqueeze(-2)
    else:
        gA = S.unsqueeze(-1) * (VhgV / E)
    if gS is not None:
        gA = gA + _diag_embed(gS)
    if phase is not None:
        gA = gA + phase
    if m > n and gU is not None:
        gA = U @ gA
        gUSinv = gU / S.unsqueeze(-2)
        gA = (gA + gUSinv - U @ (_mT(U) @ gUSinv)) @ Vh
    elif n > m and gV is not None:
        gA = gA @ Vh
        gVSinv = gV / S.unsqueeze(-2)
        gA = U @ (gA + _mT(gVSinv) - (_mT(gVSinv) @ V) @ Vh)
    else:
        gA = U @ (gA @ Vh) if m >= n else (U @ gA) @ Vh
    return gA


derivative(linalg_svd, save="result", A=_svd_backward)


def _qr_backward(g, A, mode="reduced", result=None):
    from .indexing import tril
    gQ, gR = g
    Q, R = result
    m, n = A.shape[-2], A.shape[-1]
    if mode == "r" or (mode == "complete" and m > n) or m < n:
        raise NotImplementedError(f"the derivative of linalg_qr is implemented for "
                                  f"mode='reduced' with rows >= columns only (got "
                                  f"mode={mode!r} on a {m} x {n} matrix)")
    from .. import ops as e
    gQ = gQ if gQ is not None else e.zeros_like(Q)
    gR = gR if gR is not None else e.zeros_like(R)
    # With M = R gR^T - gQ^T Q folded into its lower triangle (Walter & Lehmann):
    # gA = (gQ + Q copyltu(M)) R^{-T}, written as TensorFlow's QrGrad does.
    qdq = _mT(Q) @ gQ
    rdr = R @ _mT(gR)
    low = tril(qdq - _mT(qdq) + rdr - _mT(rdr))
    Rinv_T = _mT(linalg_inv(R))
    return Q @ (gR + low @ Rinv_T) + (gQ - Q @ qdq) @ Rinv_T


derivative(linalg_qr, save="result", A=_qr_backward)
