"""numpy kernels of the matrix factorisations and solvers (``ember.linalg``)."""

from __future__ import annotations

import functools

import numpy as np

KERNELS: dict = {}


def _linalg_error():
    from ember.ops.array_api_ops import LinAlgError
    return LinAlgError


def kernel(name):
    """Register ``fn`` for ``name``, turning numpy's LinAlgError into ember's."""
    def deco(fn):
        @functools.wraps(fn)
        def k(*args):
            try:
                return fn(*args)
            except np.linalg.LinAlgError as e:
                raise _linalg_error()(f"{name}(): {e}") from None
        KERNELS[name] = k
        return k
    return deco


@kernel("linalg_svd")
def linalg_svd(a, full_matrices):
    u, s, vh = np.linalg.svd(a, full_matrices=full_matrices)
    return u, s, vh


@kernel("linalg_svdvals")
def linalg_svdvals(a):
    return np.linalg.svd(a, compute_uv=False)


@kernel("linalg_eigh")
def linalg_eigh(a, uplo):
    w, v = np.linalg.eigh(a, UPLO=uplo)
    return w, v


@kernel("linalg_qr")
def linalg_qr(a, mode):
    if mode == "r":
        return np.empty((0,), a.dtype), np.linalg.qr(a, mode="r")
    q, r = np.linalg.qr(a, mode=mode)
    return q, r


@kernel("linalg_cholesky")
def linalg_cholesky(a, upper):
    return np.linalg.cholesky(a, upper=upper)


@kernel("linalg_inv")
def linalg_inv(a):
    return np.linalg.inv(a)


@kernel("linalg_solve")
def linalg_solve(a, b):
    if b.ndim == 1:  # a vector: numpy >= 2 wants it as a column
        return np.linalg.solve(a, b[..., None])[..., 0]
    return np.linalg.solve(a, b)


@kernel("linalg_det")
def linalg_det(a):
    return np.asarray(np.linalg.det(a))


@kernel("linalg_slogdet")
def linalg_slogdet(a):
    sign, logabs = np.linalg.slogdet(a)
    return np.asarray(sign), np.asarray(logabs)
