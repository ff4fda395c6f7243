"""numpy kernels, one per primitive op.  Each receives native arrays (and Python
values) in schema order, already validated and cast by the core."""

from __future__ import annotations

import numpy as np

KERNELS: dict = {}
_ndarray = np.ndarray
_asarray = np.asarray


def kernel(name):
    def deco(fn):
        KERNELS[name] = fn
        return fn
    return deco


def _axes(dim, ndim):
    """numpy axes for an ember ``dim`` (None = all; 0-d tensors accept 0/-1)."""
    if dim is None or ndim == 0 or dim == ():
        return None
    return dim


# -- conversion ----------------------------------------------------------------------
@kernel("astype")
def astype(a, dtype):
    return a.astype(dtype.np)


@kernel("copy_")
def copy_(a, src, non_blocking=False):
    np.copyto(a, src, casting="unsafe")


@kernel("clone")
def clone(a):
    return a.copy()


@kernel("contiguous")
def contiguous(a):
    return a if a.flags.c_contiguous else np.ascontiguousarray(a)


# -- creation -------------------------------------------------------------------------
@kernel("zeros")
def zeros(size, dtype, device):
    return np.zeros(size, dtype.np)


@kernel("ones")
def ones(size, dtype, device):
    return np.ones(size, dtype.np)


@kernel("empty")
def empty(size, dtype, device):
    return np.empty(size, dtype.np)


@kernel("full")
def full(size, value, dtype, device):
    return np.full(size, value, dtype.np)


@kernel("arange")
def arange(start, end, step, dtype, device):
    if end is None:
        start, end = 0, start
    return np.arange(start, end, step, dtype=dtype.np)


@kernel("rand")
def rand(size, gen, dtype, device):
    return gen.random(size, dtype=np.float64).astype(dtype.np)


@kernel("randn")
def randn(size, gen, dtype, device):
    return gen.standard_normal(size, dtype=np.float64).astype(dtype.np)


# -- pointwise ------------------------------------------------------------------------
@kernel("add")
def add(a, b, alpha=1):
    r = np.add(a, b) if alpha == 1 else np.add(a, np.multiply(b, alpha))
    return r if r.__class__ is _ndarray else _asarray(r)


@kernel("sub")
def sub(a, b, alpha=1):
    r = np.subtract(a, b) if alpha == 1 else np.subtract(a, np.multiply(b, alpha))
    return r if r.__class__ is _ndarray else _asarray(r)


_ndarray = np.ndarray
_asarray = np.asarray


def ufunc(f):
    """A kernel from a numpy ufunc; ufuncs return numpy scalars for 0-d results, and
    tensors must hold arrays (in-place ops write into them)."""
    def k(*args):
        r = f(*args)
        return r if r.__class__ is _ndarray else _asarray(r)
    k.__name__ = f.__name__
    return k


for _name, _f in {"mul": np.multiply, "div": np.true_divide, "eq": np.equal,
                  "lt": np.less, "gt": np.greater, "neg": np.negative, "exp": np.exp,
                  "log": np.log}.items():
    KERNELS[_name] = ufunc(_f)


@kernel("add_")
def add_(a, b, alpha=1):
    np.add(a, b if alpha == 1 else np.multiply(b, alpha), out=a, casting="unsafe")


@kernel("mul_")
def mul_(a, b):
    np.multiply(a, b, out=a, casting="unsafe")


@kernel("where")
def where(cond, a, b):
    return np.where(cond, a, b)


# -- reductions ---------------------------------------------------------------------------
@kernel("sum")
def sum_(a, dim, keepdim, dtype):
    # The ndarray method skips np.sum's Python-level dispatch (half the cost on small arrays).
    r = a.sum(axis=_axes(dim, a.ndim), keepdims=keepdim, dtype=dtype.np)
    return r if r.__class__ is _ndarray else _asarray(r)


# -- views ---------------------------------------------------------------------------------
@kernel("reshape")
def reshape(a, shape):
    return a.reshape(shape)


@kernel("permute")
def permute(a, dims):
    return a.transpose(dims) if a.ndim else a.view()


@kernel("expand")
def expand(a, size):
    size = tuple(s if s != -1 else a.shape[i - (len(size) - a.ndim)]
                 for i, s in enumerate(size))
    return np.broadcast_to(a, size)


# -- linalg ----------------------------------------------------------------------------------
@kernel("matmul")
def matmul(a, b):
    return np.asarray(np.matmul(a, b))
