"""Explicit op-database entries: ops whose samples or references cannot be derived
from tags alone (creation, conversion, views and shapes, joins, linear algebra)."""

from __future__ import annotations

import numpy as np

import ember

from .opdb import explicit
from .samples import ALL_DTYPES, FLOATS, INTS, Sample, T, specials, values



# --- conversion ----------------------------------------------------------------------------
def _astype_samples(d, rng):
    # float -> integer casts of negative, NaN or out-of-range values are undefined
    # (C casts): the samples stay in [0, 3].
    out = [Sample(T(values((3, 4), d, rng, "nonneg")), getattr(ember, t))
           for t in ("float32", "float64", "int64", "int32", "uint8", "bool", "float16")]
    out.append(Sample(T(values((3, 4), d, rng, "nonneg"), "transposed"), ember.float64))
    out.append(Sample(T(values((0, 2), d, rng)), ember.int32))
    out.append(Sample(T(values((), d, rng, "nonneg")), ember.float32))
    sp = specials(d)
    if sp is not None:
        out.append(Sample(T(sp), ember.float64, note="NaN, inf"))
        out.append(Sample(T(sp[:3]), ember.float32, note="NaN, inf"))
    return out


explicit("astype", _astype_samples, lambda a, dtype: a.astype(dtype.np))


def _unary_plain(d, rng):
    out = [Sample(T(values((), d, rng))), Sample(T(values((3, 4), d, rng))),
           Sample(T(values((3, 4), d, rng), "transposed")), Sample(T(values((0, 3), d, rng))),
           Sample(T(np.broadcast_to(values((1, 4), d, rng), (3, 4)).copy(), "expanded"))]
    sp = specials(d)
    if sp is not None:
        out.append(Sample(T(sp)))
    return out


explicit("clone", _unary_plain, lambda a: a.copy())
explicit("contiguous", _unary_plain, lambda a: a.copy())
explicit("positive", _unary_plain, lambda a: a.copy())
explicit("_to_device", lambda d, rng: [Sample(T(values((3, 4), d, rng)), ember.device("cpu")),
                                        Sample(T(values((), d, rng)), ember.device("cpu")),
                                        Sample(T(values((3, 4), d, rng), "transposed"),
                                               ember.device("cpu"))],
         lambda a, device: a, grad=False)


def _copy_samples(d, rng):
    return [Sample(T(values((3, 4), d, rng)), T(values((3, 4), d, rng))),
            Sample(T(values((3, 4), d, rng)), T(values((4,), d, rng)), note="broadcast src"),
            Sample(T(values((3, 4), d, rng), "transposed"), T(values((3, 4), d, rng))),
            Sample(T(values((3, 4), d, rng)), T(values((3, 4), "float64", rng, "nonneg")),
                   note="casting src"),
            Sample(T(values((), d, rng)), T(values((), d, rng))),
            Sample(T(values((0, 4), d, rng)), T(values((4,), d, rng)))]


def _copy_ref(self, src, non_blocking=False):
    return np.broadcast_to(src, self.shape).astype(self.dtype)


explicit("copy_", _copy_samples, _copy_ref, grad=False)


def _fill_samples(d, rng):
    v = True if d == "bool" else (3 if d in INTS else 2.5)
    return [Sample(T(values((3, 4), d, rng)), v), Sample(T(values((), d, rng)), v),
            Sample(T(values((3, 4), d, rng), "transposed"), v),
            Sample(T(values((0, 2), d, rng)), v)]


explicit("fill_", _fill_samples, lambda a, value: np.full(a.shape, value), grad=False)
explicit("zero_", lambda d, rng: [Sample(s.args[0]) for s in _fill_samples(d, rng)],
         lambda a: np.zeros(a.shape), grad=False)


# --- creation ------------------------------------------------------------------------------
def _sizes(d, rng):
    return [Sample(3, 4, dtype=getattr(ember, d)), Sample((2, 3), dtype=getattr(ember, d)),
            Sample((), dtype=getattr(ember, d)), Sample(0, 5, dtype=getattr(ember, d))]


explicit("zeros", _sizes, lambda *size, dtype: np.zeros(_size(size), dtype.np), grad=False)
explicit("ones", _sizes, lambda *size, dtype: np.ones(_size(size), dtype.np), grad=False)
explicit("empty", _sizes, None, compare="meta", grad=False)


def _size(size):
    return tuple(size[0]) if len(size) == 1 and isinstance(size[0], tuple) else tuple(size)


def _full_samples(d, rng):
    v = True if d == "bool" else (7 if d in INTS else -2.5)
    dt = getattr(ember, d)
    out = [Sample((2, 3), v, dtype=dt), Sample((), v, dtype=dt), Sample((0, 3), v, dtype=dt)]
    if d == "float32":  # the dtype follows the value when none is given
        out += [Sample((2,), 1.5), Sample((2,), 3), Sample((2,), False)]
    if d in FLOATS:
        out.append(Sample((2,), float("nan"), dtype=dt))
        out.append(Sample((2,), float("-inf"), dtype=dt))
    return out


explicit("full", _full_samples,
         lambda size, value, dtype=None: np.full(size, value), grad=False)


def _arange_samples(d, rng):
    dt = getattr(ember, d)
    if d == "bool":
        return []
    out = [Sample(5, dtype=dt), Sample(1, 7, 2, dtype=dt), Sample(0, dtype=dt)]
    if d in FLOATS:
        out += [Sample(0.0, 1.0, 0.25, dtype=dt), Sample(1.0, -1.0, -0.5, dtype=dt)]
    if d in ("int8", "int16", "int32", "int64"):
        out.append(Sample(5, -3, -2, dtype=dt))
    if d == "int64":
        out += [Sample(6), Sample(0.5, 3)]
    return out


def _arange_ref(start, end=None, step=1, dtype=None):
    if end is None:
        start, end = 0, start
    return np.arange(start, end, step, dtype=np.float64)


explicit("arange", _arange_samples, _arange_ref, grad=False)
explicit("rand", lambda d, rng: [Sample(3, 4, dtype=getattr(ember, d)),
                                 Sample(0, dtype=getattr(ember, d))] if d in FLOATS else [],
         None, compare="meta", grad=False)
explicit("randn", lambda d, rng: [Sample(3, 4, dtype=getattr(ember, d)),
                                  Sample(0, dtype=getattr(ember, d))] if d in FLOATS else [],
         None, compare="meta", grad=False)


# --- pointwise ops with special arguments ---------------------------------------------------
def _where_samples(d, rng):
    v = values
    return [Sample(T(v((3, 4), "bool", rng)), T(v((3, 4), d, rng)), T(v((3, 4), d, rng))),
            Sample(T(v((3, 1), "bool", rng)), T(v((1, 4), d, rng)), T(v((4,), d, rng)),
                   note="broadcast"),
            Sample(T(v((), "bool", rng)), T(v((), d, rng)), T(v((), d, rng))),
            Sample(T(v((0, 3), "bool", rng)), T(v((0, 3), d, rng)), T(v((3,), d, rng))),
            Sample(T(v((4, 3), "bool", rng), "transposed"), T(v((4, 3), d, rng), "transposed"),
                   T(v((4, 3), d, rng)))]


explicit("where", _where_samples, lambda c, a, b: np.where(c, a, b))


def _clamp_samples(d, rng):
    v = values
    return [Sample(T(v((3, 4), d, rng)), T(v((), d, rng)), T(v((), d, rng, "positive"))),
            Sample(T(v((3, 4), d, rng)), T(v((4,), d, rng)), None),
            Sample(T(v((3, 4), d, rng), "transposed"), None, T(v((3, 1), d, rng))),
            Sample(T(v((), d, rng)), T(v((), d, rng)), T(v((), d, rng))),
            Sample(T(v((0, 2), d, rng)), T(v((), d, rng)), None)]


def _clamp_ref(a, min=None, max=None):
    if min is not None:
        a = np.maximum(a, min)
    if max is not None:
        a = np.minimum(a, max)
    return a


explicit("clamp", _clamp_samples, _clamp_ref)


# --- views and shapes -------------------------------------------------------------------------
def _view_samples(cases):
    """``cases``: list of (shape, layout, *args) -> samples over random values."""
    def gen(d, rng):
        return [Sample(T(values(shape, d, rng), layout), *args)
                for shape, layout, *args in cases]
    return gen


_C, _TR = "contiguous", "transposed"

explicit("reshape", _view_samples([((3, 4), _C, (4, 3)), ((3, 4), _C, (-1,)),
                                   ((3, 4), _TR, (12,)), ((), _C, (1, 1)),
                                   ((0, 3), _C, (3, 0)), ((2, 3, 4), _C, (6, -1))]),
         lambda a, shape: np.reshape(a, shape))
explicit("view", _view_samples([((3, 4), _C, (4, 3)), ((3, 4), _C, (-1,)), ((), _C, (1,)),
                                ((0, 3), _C, (3, 0)), ((2, 3, 4), _C, (2, -1))]),
         lambda a, shape: np.reshape(a, shape))
explicit("permute", _view_samples([((2, 3, 4), _C, (2, 0, 1)), ((3, 4), _TR, (1, 0)),
                                   ((), _C, ()), ((0, 3), _C, (-1, 0))]),
         lambda a, dims: np.transpose(a, dims) if a.ndim else a)
explicit("transpose", _view_samples([((2, 3, 4), _C, 0, 2), ((3, 4), _TR, -1, 0),
                                     ((5,), _C, 0, 0), ((), _C, 0, -1)]),
         lambda a, d0, d1: np.swapaxes(a, d0, d1) if a.ndim else a)
explicit("t", _view_samples([((3, 4), _C), ((3, 4), _TR), ((5,), _C), ((), _C)]),
         lambda a: a.T)
explicit("expand", _view_samples([((3, 1), _C, (3, 4)), ((1,), _C, (2, 3)), ((), _C, (2,)),
                                  ((3, 1), _C, (-1, 4)), ((3, 1), _C, (2, 3, 4)),
                                  ((1, 3), _C, (0, 3))]),
         lambda a, size: np.broadcast_to(
             a, tuple(s if s != -1 else a.shape[i - (len(size) - a.ndim)]
                      for i, s in enumerate(size))))
explicit("basic_index", _view_samples([
    ((3, 4), _C, (1,)), ((3, 4), _C, (slice(None, None, 2),)),
    ((2, 3, 4), _C, (Ellipsis, 0)), ((3, 4), _C, (None, slice(1, 3))),
    ((3, 4), _TR, (slice(None), -1)), ((3, 4), _C, (slice(1, 1),)), ((), _C, (None,)),
    ((5,), _C, (slice(-3, None),))]),
    lambda a, index: a[index])
explicit("squeeze", _view_samples([((3, 1, 4, 1), _C), ((3, 1, 4), _C, 1), ((3, 4), _C, 0),
                                   ((1, 1), _C, (0, 1)), ((), _C), ((0, 1), _C, -1)]),
         lambda a, dim=None: np.squeeze(a, axis=_squeezable(a, dim)))


def _squeezable(a, dim):
    if dim is None:
        return None
    dims = dim if isinstance(dim, tuple) else (dim,)
    return tuple(d % max(a.ndim, 1) for d in dims if a.ndim and a.shape[d] == 1)


explicit("unsqueeze", _view_samples([((3, 4), _C, 0), ((3, 4), _TR, -1), ((), _C, 0),
                                     ((0,), _C, 1), ((3, 4), _C, 1)]),
         lambda a, dim: np.expand_dims(a, dim % (a.ndim + 1)))
explicit("flatten", _view_samples([((2, 3, 4), _C), ((2, 3, 4), _C, 1), ((2, 3, 4), _C, 0, 1),
                                   ((3, 4), _TR), ((), _C), ((0, 3), _C)]),
         lambda a, start=0, end=-1: _flatten(a, start, end))


def _flatten(a, start, end):
    if a.ndim == 0:
        return a.reshape(1)
    start, end = start % a.ndim, end % a.ndim
    return a.reshape(a.shape[:start] + (-1 if a.size else
                                        int(np.prod(a.shape[start:end + 1])),)
                     + a.shape[end + 1:])


explicit("unflatten", _view_samples([((2, 12), _C, 1, (3, 4)), ((12,), _C, 0, (2, -1)),
                                     ((6, 2), _TR, 0, (2, 3))]),
         lambda a, dim, sizes: a.reshape(a.shape[:dim % a.ndim] + tuple(
             s if s != -1 else a.shape[dim % a.ndim] // -int(np.prod(sizes)) * -1
             for s in sizes) + a.shape[dim % a.ndim + 1:]))
explicit("narrow", _view_samples([((5, 4), _C, 0, 1, 3), ((5, 4), _TR, 1, 0, 2),
                                  ((5, 4), _C, -1, 2, 0)]),
         lambda a, dim, start, length: np.take(a, range(start, start + length), axis=dim))
explicit("select", _view_samples([((3, 4), _C, 0, 1), ((3, 4), _TR, 1, -1),
                                  ((2, 3, 4), _C, -2, 2), ((5,), _C, 0, 4)]),
         lambda a, dim, index: np.take(a, index, axis=dim))
explicit("split", _view_samples([((6, 2), _C, 2), ((5, 2), _C, 2), ((2, 5), _TR, [1, 4], 1),
                                  ((0, 2), _C, 1)]),
         lambda a, s, dim=0: _split(a, s, dim))


def _split(a, s, dim):
    n = a.shape[dim]
    if isinstance(s, int):
        idx = list(range(s, n, s))
    else:
        idx = list(np.cumsum(s)[:-1])
    if n == 0 and isinstance(s, int):
        return [a]
    return np.split(a, idx, axis=dim)


explicit("chunk", _view_samples([((6, 2), _C, 3), ((5, 2), _C, 2), ((2, 5), _TR, 3, 1)]),
         lambda a, chunks, dim=0: _split(a, -(-a.shape[dim] // chunks), dim))
explicit("unbind", _view_samples([((3, 4), _C), ((3, 4), _TR, 1), ((2, 3, 4), _C, -1)]),
         lambda a, dim=0: [np.take(a, i, axis=dim) for i in range(a.shape[dim])])
explicit("movedim", _view_samples([((2, 3, 4), _C, (0,), (2,)), ((2, 3, 4), _C, (0, 1), (2, 0)),
                                   ((3, 4), _TR, (-1,), (0,))]),
         lambda a, src, dst: np.moveaxis(a, src, dst))
explicit("unfold", _view_samples([((7,), _C, 0, 3, 2), ((4, 6), _C, 1, 2, 2),
                                  ((4, 6), _TR, 0, 4, 1), ((5,), _C, 0, 5, 1)]),
         lambda a, dim, size, step: np.lib.stride_tricks.sliding_window_view(
             a, size, axis=dim)[(slice(None),) * (dim % a.ndim) + (slice(None, None, step),)])


# --- joins ------------------------------------------------------------------------------------
def _cat_samples(d, rng):
    v = values
    return [Sample([T(v((2, 3), d, rng)), T(v((4, 3), d, rng))]),
            Sample([T(v((2, 3), d, rng)), T(v((2, 1), d, rng), _C), T(v((2, 2), d, rng))], 1),
            Sample([T(v((3, 2), d, rng), _TR), T(v((0, 2), d, rng))], -2),
            Sample([T(v((4,), d, rng))]),
            Sample([T(v((2, 3), d, rng)), T(v((2, 3), d, rng), _TR)], -1)]


explicit("_cat", _cat_samples, lambda ts, dim=0: np.concatenate(ts, axis=dim))
explicit("cat", _cat_samples, lambda ts, dim=0: np.concatenate(ts, axis=dim))


def _stack_samples(d, rng):
    v = values
    return [Sample([T(v((2, 3), d, rng)), T(v((2, 3), d, rng))]),
            Sample([T(v((2, 3), d, rng)), T(v((2, 3), d, rng), _TR)], 2),
            Sample([T(v((), d, rng)), T(v((), d, rng))], 0),
            Sample([T(v((0, 3), d, rng))], -1)]


explicit("stack", _stack_samples, lambda ts, dim=0: np.stack(ts, axis=dim))


# --- linear algebra ---------------------------------------------------------------------------
def _matmul_samples(d, rng):
    v = values
    return [Sample(T(v((3, 4), d, rng)), T(v((4, 5), d, rng))),
            Sample(T(v((4,), d, rng)), T(v((4,), d, rng)), note="1-d @ 1-d"),
            Sample(T(v((4,), d, rng)), T(v((4, 3), d, rng))),
            Sample(T(v((3, 4), d, rng)), T(v((4,), d, rng))),
            Sample(T(v((2, 3, 4), d, rng)), T(v((4, 2), d, rng)), note="batched"),
            Sample(T(v((2, 1, 3, 4), d, rng)), T(v((3, 4, 2), d, rng)), note="batch broadcast"),
            Sample(T(v((4, 3), d, rng), _TR), T(v((5, 4), d, rng), _TR)),
            Sample(T(v((0, 4), d, rng)), T(v((4, 2), d, rng)), note="empty"),
            Sample(T(v((3, 0), d, rng)), T(v((0, 2), d, rng)), note="empty inner")]


explicit("matmul", _matmul_samples, lambda a, b: np.matmul(a, b), tol=8.0)


def _spd(n, d, rng, batch=()):
    a = rng.standard_normal(batch + (n, n))
    return (a @ np.swapaxes(a, -1, -2) + n * np.eye(n)).astype(getattr(ember, d).np)


def _square(n, d, rng, batch=()):
    a = rng.standard_normal(batch + (n, n)) + n * np.eye(n)
    return a.astype(getattr(ember, d).np)


def _linalg_square(d, rng):
    return [Sample(T(_square(3, d, rng))), Sample(T(_square(4, d, rng, (2,)))),
            Sample(T(_square(3, d, rng), _TR)), Sample(T(_square(1, d, rng)))]


explicit("linalg_inv", _linalg_square, np.linalg.inv, dtypes=ALL_DTYPES, tol=100.0)
explicit("linalg_det", _linalg_square, np.linalg.det, tol=100.0)
explicit("linalg_slogdet", _linalg_square, lambda a: tuple(np.linalg.slogdet(a)), tol=100.0)
explicit("linalg_solve", lambda d, rng: [
    Sample(T(_square(3, d, rng)), T(values((3, 2), d, rng))),
    Sample(T(_square(3, d, rng, (2,))), T(values((2, 3, 1), d, rng))),
    Sample(T(_square(3, d, rng), _TR), T(values((3, 3), d, rng)))],
    np.linalg.solve, tol=100.0)
explicit("linalg_cholesky", lambda d, rng: [
    Sample(T(_spd(3, d, rng))), Sample(T(_spd(2, d, rng, (2,)))),
    Sample(T(_spd(3, d, rng)), upper=True)],
    lambda a, upper=False: np.swapaxes(np.linalg.cholesky(a), -1, -2) if upper
    else np.linalg.cholesky(a), tol=100.0,
    grad=False)  # reads one triangle: finite differences in the other are zero


def _rect(d, rng):
    return [Sample(T(values((4, 3), d, rng))), Sample(T(values((3, 4), d, rng), _TR)),
            Sample(T(values((2, 3, 2), d, rng)))]


def _close(a, b, d, scale=1000.0) -> bool:
    from .tolerances import tolerance
    rtol, atol = tolerance(getattr(ember, d), scale)
    return np.allclose(a, b, rtol=rtol, atol=atol)


def _check_qr(outs, sample):
    q, r = outs
    a = sample.args[0].array.astype(np.float64)
    d = ember.dtypes.FROM_NP[sample.args[0].array.dtype].name
    mode = sample.kwargs.get("mode", sample.args[1] if len(sample.args) > 1 else "reduced")
    if not _close(q @ r, a, d):
        return f"Q @ R differs from A (mode {mode!r})"
    k = q.shape[-1]
    if not _close(np.swapaxes(q, -1, -2) @ q, np.broadcast_to(np.eye(k), q.shape[:-2] + (k, k)),
                  d):
        return "Q is not orthonormal"
    if not np.allclose(np.tril(r, -1), 0):
        return "R is not upper triangular"
    return None


explicit("linalg_qr", lambda d, rng: _rect(d, rng) + [
    Sample(T(values((4, 3), d, rng)), "complete")], None, compare=_check_qr, grad=False)


def _check_svd(outs, sample):
    u, s, vh = outs
    a = sample.args[0].array.astype(np.float64)
    d = ember.dtypes.FROM_NP[sample.args[0].array.dtype].name
    k = s.shape[-1]
    rec = (u[..., :, :k] * s[..., None, :]) @ vh[..., :k, :]
    if not _close(rec, a, d):
        return "U @ diag(S) @ Vh differs from A"
    if not _close(s, np.linalg.svd(a, compute_uv=False), d):
        return f"singular values {s} differ from numpy's"
    return None


explicit("linalg_svd", lambda d, rng: _rect(d, rng) + [
    Sample(T(values((4, 3), d, rng)), False)], None, compare=_check_svd, grad=False)
explicit("linalg_svdvals", _rect, lambda a: np.linalg.svd(a, compute_uv=False), tol=100.0,
         grad=False)


def _check_eigh(outs, sample):
    w, v = outs
    a = sample.args[0].array.astype(np.float64)
    uplo = sample.args[1] if len(sample.args) > 1 else "L"
    d = ember.dtypes.FROM_NP[sample.args[0].array.dtype].name
    if not _close(w, np.linalg.eigh(a, UPLO=uplo)[0], d):
        return "eigenvalues differ from numpy's"
    sym = np.tril(a) + np.swapaxes(np.tril(a, -1), -1, -2) if uplo == "L" else \
        np.triu(a) + np.swapaxes(np.triu(a, 1), -1, -2)
    if not _close(sym @ v, v * w[..., None, :], d):
        return "A @ V differs from V @ diag(w)"
    return None


explicit("linalg_eigh", lambda d, rng: [
    Sample(T(_spd(3, d, rng))), Sample(T(_spd(3, d, rng, (2,)))),
    Sample(T(values((3, 3), d, rng)), "U", note="non-symmetric: only the upper triangle counts")],
    None, compare=_check_eigh, grad=False)

__all__: list[str] = []


# --- copies that reorder or repeat ----------------------------------------------------------
explicit("flip", _view_samples([((3, 4), _C, 0), ((2, 3, 4), _C, (0, 2)), ((3, 4), _TR, -1),
                                ((), _C), ((0, 3), _C, 1)]),
         lambda a, *dims: np.flip(a, axis=tuple(_dims(dims))) if a.ndim else a.copy())


def _dims(dims):
    """``f(a, 0, 2)`` and ``f(a, (0, 2))`` name the same dims."""
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        return tuple(dims[0])
    return tuple(dims)


explicit("roll", _view_samples([((3, 4), _C, (1,), (0,)), ((3, 4), _TR, (-2, 1), (1, 0)),
                                ((2, 3), _C, (4,)), ((0, 3), _C, (1,), (1,))]),
         lambda a, shifts, dims=(): np.roll(a, shifts if dims else shifts[0] if len(shifts) == 1
                                            else shifts, axis=tuple(dims) if dims else None))
explicit("repeat", _view_samples([((2, 3), _C, (2, 1)), ((3,), _C, (2, 2)), ((2, 3), _TR, (1, 2)),
                                  ((), _C, (3,)), ((0, 2), _C, (2, 2))]),
         lambda a, *reps: np.tile(a, _dims(reps)))
explicit("repeat_interleave", _view_samples([((2, 3), _C, 2), ((2, 3), _TR, 2, 1),
                                             ((4,), _C, 3, 0), ((2, 3), _C, 1, -1)]),
         lambda a, repeats, dim=None: np.repeat(a, repeats, axis=dim))
