"""Explicit op-database entries: factories, random ops, reductions with special
signatures, scans, indexing, gather/scatter, masks and sorting."""

from __future__ import annotations

import warnings

import numpy as np

import ember

from .opdb import POINTWISE_REFS, REDUCTION_REFS, _reduction_samples, explicit
from .samples import FLOATS, INTS, Sample, T, specials, values

_C, _TR = "contiguous", "transposed"


def _dt(d):
    return getattr(ember, d)


def _quiet(fn):
    def run(*args, **kwargs):
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return fn(*args, **kwargs)
    return run


# --- factories --------------------------------------------------------------------------
explicit("linspace", lambda d, rng: [Sample(0, 1, 5, dtype=_dt(d)), Sample(-1, 1, 1, dtype=_dt(d)),
                                     Sample(2, -2, 4, dtype=_dt(d)), Sample(0, 1, 0, dtype=_dt(d))]
         if d in FLOATS else [Sample(0, 10, 6, dtype=_dt(d))] if d in INTS else [],
         lambda start, end, steps, dtype=None: np.linspace(start, end, steps), grad=False)
explicit("eye", lambda d, rng: [Sample(3, dtype=_dt(d)), Sample(2, 4, dtype=_dt(d)),
                                Sample(0, dtype=_dt(d)), Sample(3, 1, dtype=_dt(d))],
         lambda n, m=None, dtype=None: np.eye(n, m), grad=False)


def _like_samples(extra=()):
    def gen(d, rng):
        return [Sample(T(values((3, 4), d, rng)), *extra),
                Sample(T(values((3, 4), d, rng), _TR), *extra),
                Sample(T(values((), d, rng)), *extra), Sample(T(values((0, 2), d, rng)), *extra),
                Sample(T(values((2, 2), d, rng)), *extra, dtype=ember.float32)]
    return gen


explicit("zeros_like", _like_samples(), lambda a, dtype=None: np.zeros(a.shape), grad=False)
explicit("ones_like", _like_samples(), lambda a, dtype=None: np.ones(a.shape), grad=False)
explicit("full_like", _like_samples((3,)), lambda a, v, dtype=None: np.full(a.shape, v),
         grad=False)
explicit("empty_like", _like_samples(), None, compare="meta", grad=False)


def _in_range(lo, hi, integral=False):
    """A check for random results: every value in [lo, hi) (and integral)."""
    def check(got, sample):
        a = np.asarray(got, dtype=np.float64)
        if a.size and not ((a >= lo) & (a < hi)).all():
            return f"values outside [{lo}, {hi}): min {a.min()}, max {a.max()}"
        if integral and a.size and not (a == np.round(a)).all():
            return "non-integral values"
        return None
    return check


explicit("rand_like", lambda d, rng: _like_samples()(d, rng) if d in FLOATS else [], None,
         compare=_in_range(0, 1), grad=False)
explicit("randn_like", lambda d, rng: _like_samples()(d, rng) if d in FLOATS else [], None,
         compare="meta", grad=False)
explicit("randint_like", lambda d, rng: [Sample(T(values((3, 4), d, rng)), 0, 5),
                                         Sample(T(values((20,), d, rng)), 3)]
         if d in INTS or d in FLOATS else [], None, compare=_in_range(0, 5, True), grad=False)
explicit("randint", lambda d, rng: [Sample(-3, 4, (3, 5), dtype=_dt(d)),
                                    Sample(0, 2, (0,), dtype=_dt(d))]
         if d in ("int64", "int32", "int16", "int8", "float32", "float64") else [],
         None, compare=_in_range(-3, 4, True), grad=False)


def _is_permutation(got, sample):
    n = sample.args[0]
    if sorted(np.asarray(got).tolist()) != list(range(n)):
        return f"not a permutation of range({n}): {np.asarray(got).tolist()}"
    return None


explicit("randperm", lambda d, rng: [Sample(10, dtype=_dt(d)), Sample(0, dtype=_dt(d)),
                                     Sample(1, dtype=_dt(d))] if d in ("int64", "int32") else [],
         None, compare=_is_permutation, grad=False)
explicit("uniform_", lambda d, rng: [Sample(T(values((50,), d, rng)), -2.0, 3.0),
                                     Sample(T(values((4, 5), d, rng), _TR))]
         if d in FLOATS else [], None, compare=_in_range(-2.0, 3.0), grad=False)
explicit("normal_", lambda d, rng: [Sample(T(values((50,), d, rng)), 1.0, 0.5),
                                    Sample(T(values((0,), d, rng)))] if d in FLOATS else [],
         None, compare="meta", grad=False)


def _binary_values(got, sample):
    a = np.asarray(got, dtype=np.float64)
    return None if np.isin(a, (0.0, 1.0)).all() else "values other than 0 and 1"


explicit("bernoulli_", lambda d, rng: [Sample(T(values((50,), d, rng)), 0.3),
                                       Sample(T(values((3, 4), d, rng), _TR))]
         if d in FLOATS else [], None, compare=_binary_values, grad=False)
explicit("bernoulli", lambda d, rng: [Sample(T(values((50,), d, rng, "unit") * 0 + 0.5)),
                                      Sample(T(values((3, 4), d, rng)), 0.2)]
         if d in FLOATS else [], None, compare=_binary_values, grad=False)


# --- reductions ---------------------------------------------------------------------------
def _argref(fn):
    def ref(a, dim=None, keepdim=False):
        if dim is None:
            r = fn(a.reshape(-1))
            return np.reshape(r, (1,) * a.ndim) if keepdim else r
        return fn(a, axis=dim, keepdims=keepdim) if a.ndim else np.array(0)
    return ref


REDUCTION_REFS["argmax"] = _argref(np.argmax)
REDUCTION_REFS["argmin"] = _argref(np.argmin)


def _maxmin_ref(fn, argfn):
    def ref(a, dim=None, keepdim=False):
        if dim is None:
            return fn(a)
        if a.ndim == 0:
            return a.copy(), np.array(0)
        return fn(a, axis=dim, keepdims=keepdim), argfn(a, axis=dim, keepdims=keepdim)
    return ref


explicit("max", _reduction_samples("max"), _maxmin_ref(np.max, np.argmax), tol=8.0)
explicit("min", _reduction_samples("min"), _maxmin_ref(np.min, np.argmin), tol=8.0)


def _var_samples(d, rng):
    v = values
    return [Sample(T(v((3, 4), d, rng))), Sample(T(v((3, 4), d, rng)), 1),
            Sample(T(v((3, 4), d, rng), _TR), (0, 1), keepdim=True),
            Sample(T(v((2, 3, 4), d, rng)), -1, correction=0),
            Sample(T(v((5,), d, rng)), unbiased=False),
            Sample(T(v((2, 3), d, rng)), 0, correction=2)]


def _ddof(unbiased=None, correction=None):
    if correction is not None:
        return correction
    return 0 if unbiased is False else 1


def _var_ref(fn):
    @_quiet
    def ref(a, dim=None, unbiased=None, keepdim=False, correction=None):
        axis = None if dim is None else (tuple(dim) if isinstance(dim, (tuple, list)) else dim)
        return fn(a, axis=axis, ddof=_ddof(unbiased, correction), keepdims=keepdim)
    return ref


explicit("var", _var_samples, _var_ref(np.var), tol=8.0)
explicit("std", _var_samples, _var_ref(np.std), tol=8.0)


def _with_mean(fn):
    @_quiet
    def ref(a, dim=None, unbiased=None, keepdim=False, correction=None):
        axis = None if dim is None else (tuple(dim) if isinstance(dim, (tuple, list)) else dim)
        return (fn(a, axis=axis, ddof=_ddof(unbiased, correction), keepdims=keepdim),
                np.mean(a, axis=axis, keepdims=keepdim))
    return ref


explicit("var_mean", _var_samples, _with_mean(np.var), tol=8.0)
explicit("std_mean", _var_samples, _with_mean(np.std), tol=8.0)


@_quiet
def _logsumexp(a, dim, keepdim=False):
    axis = tuple(dim) if isinstance(dim, (tuple, list)) else dim
    if a.ndim == 0:
        return np.log(np.exp(a))
    m = np.max(a, axis=axis, keepdims=True) if a.size else 0.0
    m = np.where(np.isfinite(m), m, 0.0)
    r = np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True)) + m
    return r if keepdim else np.squeeze(r, axis=axis)


explicit("logsumexp", lambda d, rng: [
    Sample(T(values((3, 4), d, rng)), 1), Sample(T(values((3, 4), d, rng), _TR), 0, True),
    Sample(T(values((2, 3, 4), d, rng)), (0, 2)), Sample(T(values((), d, rng)), 0),
    Sample(T(values((0, 3), d, rng)), 0)] + ([Sample(T(specials(d)), 0)] if d in FLOATS
                                             else []),
    _logsumexp, tol=8.0)
explicit("count_nonzero", lambda d, rng: [
    Sample(T(values((3, 4), d, rng))), Sample(T(values((3, 4), d, rng), _TR), 0),
    Sample(T(values((2, 3, 4), d, rng)), (0, 2)), Sample(T(values((0, 3), d, rng)), 1)],
    lambda a, dim=None: np.count_nonzero(a, axis=None if dim is None else (
        tuple(dim) if isinstance(dim, (tuple, list)) else dim)), grad=False)


def _scan_samples(d, rng):
    v = values
    return [Sample(T(v((3, 4), d, rng)), 1), Sample(T(v((3, 4), d, rng), _TR), 0),
            Sample(T(v((5,), d, rng)), -1), Sample(T(v((), d, rng)), 0),
            Sample(T(v((0, 3), d, rng)), 0)]


def _scan(fn):
    @_quiet
    def ref(a, dim, dtype=None):
        return a.copy() if a.ndim == 0 else fn(a, axis=dim)
    return ref


explicit("cumsum", _scan_samples, _scan(np.cumsum), tol=8.0)
explicit("cumprod", _scan_samples, _scan(np.cumprod), tol=8.0)


def _logcumsumexp_samples(d, rng):
    # floating dtypes only (PyTorch refuses integers); -inf alone, -inf prefixes and a
    # prefix far below the running maximum (lost by a global shift) included
    if d not in FLOATS:
        return []
    small = np.array([-1000.0, 0.0, -np.inf, 3.0, -np.inf], dtype=np.float64)
    return _scan_samples(d, rng) + [
        Sample(T(small.astype(_dt(d).np)), 0, note="-inf and a prefix far below the max"),
        Sample(T(np.full((2, 3), -np.inf, dtype=_dt(d).np)), 1, note="all -inf"),
        Sample(T(specials(d)), 0, note="NaN and inf")]


explicit("logcumsumexp", _logcumsumexp_samples,
         _scan(lambda a, axis: np.logaddexp.accumulate(a, axis=axis)), tol=8.0)


# --- indexing -------------------------------------------------------------------------------
def _idx(a, rng=None):
    return T(np.asarray(a, dtype=np.int64))


def _index_samples(d, rng):
    v = values
    return [Sample(T(v((4, 3), d, rng)), (_idx([2, 0, -1]),)),
            Sample(T(v((4, 3), d, rng), _TR), (None, _idx([1, 1]))),
            Sample(T(v((4, 3), d, rng)), (_idx([[0, 1], [3, 2]]), _idx([0, 2])),
                   note="broadcast index arrays"),
            Sample(T(v((2, 3, 4), d, rng)), (_idx([0, 1]), None, _idx([3, 0])),
                   note="non-adjacent index arrays"),
            Sample(T(v((2, 3, 4), d, rng)), (None, _idx([[2], [0]]), _idx([1, 3]))),
            Sample(T(v((4,), d, rng)), (_idx([], None),), note="empty index")]


def _np_index(indices):
    """ember's index tuple (int arrays, None for a whole dimension) for numpy."""
    return tuple(slice(None) if i is None else i for i in indices)


def _index_ref(a, indices):
    return a[_np_index(indices)]


explicit("index", _index_samples, _index_ref)


def _index_put_samples(d, rng):
    v = values
    return [Sample(T(v((4, 3), d, rng)), (_idx([2, 0]),), T(v((2, 3), d, rng))),
            Sample(T(v((4, 3), d, rng)), (_idx([1, 3]), _idx([0, 2])), T(v((), d, rng))),
            Sample(T(v((4, 3), d, rng), _TR), (None, _idx([0, 2])), T(v((2,), d, rng))),
            Sample(T(v((5,), d, rng)), (_idx([1, 1, 4]),), T(v((3,), d, rng)), True,
                   note="accumulate with repeated indices")]


def _index_put_ref(a, indices, values_, accumulate=False):
    out = a.copy()
    idx = _np_index(indices)
    if accumulate:
        np.add.at(out, idx, values_)
    else:
        out[idx] = values_
    return out


explicit("index_put", _index_put_samples, _index_put_ref)
explicit("index_put_", _index_put_samples, _index_put_ref, grad=False)
explicit("nonzero", lambda d, rng: [Sample(T(values((3, 4), d, rng))),
                                    Sample(T(values((3, 4), d, rng), _TR)),
                                    Sample(T(values((5,), d, rng))),
                                    Sample(T(values((0, 2), d, rng)))],
         lambda a: np.argwhere(a), grad=False, dynamic_shape=True)
explicit("argwhere", lambda d, rng: [Sample(T(values((3, 4), d, rng))),
                                     Sample(T(values((4,), d, rng)))],
         lambda a: np.argwhere(a), grad=False, dynamic_shape=True)


def _gather_samples(d, rng):
    v = values
    return [Sample(T(v((3, 4), d, rng)), 1, T(rng.integers(0, 4, (3, 2)))),
            Sample(T(v((3, 4), d, rng), _TR), 0, T(rng.integers(0, 3, (2, 4)))),
            Sample(T(v((2, 3, 4), d, rng)), -1, T(rng.integers(0, 4, (2, 3, 5))),
                   note="dim -1"),
            Sample(T(v((3, 4), d, rng)), 1, T(np.zeros((3, 0), np.int64)))]


def _gather_ref(a, dim, index, sparse_grad=False):
    return np.take_along_axis(a, index % a.shape[dim], axis=dim)


explicit("gather", _gather_samples, _gather_ref)


def _perm_index(rng, shape, n, dim):
    """Index of ``shape`` with distinct values in [0, n) along ``dim`` (no duplicate
    targets, so scatter's result is defined)."""
    idx = np.stack([rng.permutation(n)[:shape[dim]]
                    for _ in range(int(np.prod(shape)) // shape[dim])])
    return np.moveaxis(idx.reshape(tuple(s for i, s in enumerate(shape) if i != dim)
                                   + (shape[dim],)), -1, dim).astype(np.int64)


def _scatter_samples(d, rng):
    v = values
    return [Sample(T(v((3, 5), d, rng)), 1, T(_perm_index(rng, (3, 2), 5, 1)),
                   T(v((3, 2), d, rng))),
            Sample(T(v((4, 3), d, rng), _TR), 0, T(_perm_index(rng, (2, 3), 4, 0)),
                   T(v((2, 3), d, rng))),
            Sample(T(v((4,), d, rng)), 0, T(np.array([3, 0], np.int64)), T(v((2,), d, rng)))]


def _scatter_ref(a, dim, index, src, reduce=None):
    out = a.copy()
    np.put_along_axis(out, index, src[tuple(slice(0, s) for s in index.shape)], axis=dim)
    return out


def _scatter_add_ref(a, dim, index, src):
    out = a.copy()
    idx = list(np.indices(index.shape))
    idx[dim] = index
    np.add.at(out, tuple(idx), src[tuple(slice(0, s) for s in index.shape)])
    return out


def _scatter_add_samples(d, rng):
    v = values
    return [Sample(T(v((3, 5), d, rng)), 1, T(rng.integers(0, 5, (3, 4))), T(v((3, 4), d, rng)),
                   note="repeated targets"),
            Sample(T(v((4, 3), d, rng), _TR), 0, T(rng.integers(0, 4, (5, 3))),
                   T(v((5, 3), d, rng)))]


explicit("scatter", _scatter_samples, _scatter_ref)
explicit("scatter_", _scatter_samples, _scatter_ref, grad=False)
explicit("scatter_add", _scatter_add_samples, _scatter_add_ref, tol=4.0)
explicit("scatter_add_", _scatter_add_samples, _scatter_add_ref, tol=4.0, grad=False)


def _index_select_samples(d, rng):
    v = values
    return [Sample(T(v((4, 3), d, rng)), 0, T(np.array([3, 0, 0], np.int64))),
            Sample(T(v((4, 3), d, rng), _TR), 1, T(np.array([2], np.int64))),
            Sample(T(v((4, 3), d, rng)), -1, T(np.zeros(0, np.int64)))]


explicit("index_select", _index_select_samples,
         lambda a, dim, index: np.take(a, index, axis=dim))


def _index_add_samples(d, rng):
    v = values
    return [Sample(T(v((4, 3), d, rng)), 0, T(np.array([3, 0, 3], np.int64)), T(v((3, 3), d, rng))),
            Sample(T(v((4, 3), d, rng), _TR), 1, T(np.array([2, 0], np.int64)),
                   T(v((4, 2), d, rng)), alpha=2)]


def _index_add_ref(a, dim, index, source, alpha=1):
    out = a.copy()
    moved = np.moveaxis(out, dim, 0)
    np.add.at(moved, index, np.moveaxis(source * alpha, dim, 0))
    return out


explicit("index_add", _index_add_samples, _index_add_ref, tol=4.0)
explicit("index_add_", _index_add_samples, _index_add_ref, tol=4.0, grad=False)


def _mask_samples(d, rng):
    v = values
    val = True if d == "bool" else (2 if d in INTS else -1.5)
    return [Sample(T(v((3, 4), d, rng)), T(v((3, 4), "bool", rng)), val),
            Sample(T(v((3, 4), d, rng), _TR), T(v((4,), "bool", rng)), val, note="broadcast"),
            Sample(T(v((), d, rng)), T(v((), "bool", rng)), val),
            Sample(T(v((0, 2), d, rng)), T(v((0, 2), "bool", rng)), val)]


explicit("masked_fill", _mask_samples, lambda a, m, value: np.where(m, value, a))
explicit("masked_fill_", _mask_samples, lambda a, m, value: np.where(m, value, a), grad=False)
explicit("masked_select", lambda d, rng: [Sample(*s.args[:2]) for s in _mask_samples(d, rng)],
         lambda a, m: np.broadcast_to(a, np.broadcast_shapes(a.shape, m.shape))[
             np.broadcast_to(m, np.broadcast_shapes(a.shape, m.shape))], dynamic_shape=True)
explicit("one_hot", lambda d, rng: [Sample(T(rng.integers(0, 4, (3,)))),
                                    Sample(T(rng.integers(0, 3, (2, 2))), 5),
                                    Sample(T(np.zeros(0, np.int64)), 3)] if d == "int64" else [],
         lambda a, n=-1: np.eye(n if n != -1 else int(a.max()) + 1, dtype=np.int64)[a],
         dtypes=("int64",), grad=False, dynamic_shape=True)
explicit("tril", lambda d, rng: [Sample(T(values((3, 4), d, rng))),
                                 Sample(T(values((4, 3), d, rng), _TR), -1),
                                 Sample(T(values((2, 3, 3), d, rng)), 1)],
         lambda a, k=0: np.tril(a, k))
explicit("triu", lambda d, rng: [Sample(T(values((3, 4), d, rng))),
                                 Sample(T(values((4, 3), d, rng), _TR), -1),
                                 Sample(T(values((2, 3, 3), d, rng)), 1)],
         lambda a, k=0: np.triu(a, k))


# --- sorting (ties make indices ambiguous: check that indices reproduce the values) ---------
def _sort_samples(d, rng):
    v = values
    out = [Sample(T(v((3, 5), d, rng))), Sample(T(v((3, 5), d, rng), _TR), 0),
           Sample(T(v((3, 5), d, rng)), -1, True), Sample(T(v((6,), d, rng)), stable=True),
           Sample(T(v((), d, rng))), Sample(T(v((0, 3), d, rng)), 0)]
    if d in FLOATS:
        out.append(Sample(T(np.array([3.0, np.nan, -np.inf, 1.0, np.inf, -2.0],
                                     dtype=np.float64).astype(_dt(d).np)), note="NaN sorts last"))
    return out


def _sorted_ref(a, dim=-1, descending=False):
    if a.ndim == 0:
        return a.copy()
    r = np.sort(a, axis=dim)  # NaN last, as PyTorch
    if descending:
        r = np.flip(np.sort(a, axis=dim), axis=dim)
    return r


def _check_sorted(got, sample, pick_values=True):
    vals, idx = got if pick_values else (None, got)
    a = sample.args[0].array
    dim = sample.args[1] if len(sample.args) > 1 else sample.kwargs.get("dim", -1)
    desc = sample.args[2] if len(sample.args) > 2 else sample.kwargs.get("descending", False)
    want = _sorted_ref(a, dim, desc)
    if a.ndim == 0:
        return None if (vals is None or np.array_equal(vals, a, equal_nan=a.dtype.kind == "f")) \
            else "0-d sort changed the value"
    taken = np.take_along_axis(a, idx, axis=dim)
    if not np.array_equal(taken.astype(np.float64), want.astype(np.float64), equal_nan=True):
        return f"indices do not sort the input: {taken.tolist()} vs {want.tolist()}"
    if vals is not None and not np.array_equal(vals.astype(np.float64),
                                               want.astype(np.float64), equal_nan=True):
        return f"values {vals.tolist()} are not sorted like {want.tolist()}"
    return None


explicit("sort", _sort_samples, None, compare=_check_sorted)
explicit("argsort", _sort_samples, None,
         compare=lambda got, s: _check_sorted(got, s, pick_values=False), grad=False)


def _topk_samples(d, rng):
    v = values
    return [Sample(T(v((3, 5), d, rng)), 2), Sample(T(v((3, 5), d, rng), _TR), 1, 0),
            Sample(T(v((6,), d, rng)), 3, largest=False), Sample(T(v((4,), d, rng)), 0)]


def _check_topk(got, sample):
    vals, idx = got
    a = sample.args[0].array
    k = sample.args[1]
    dim = sample.args[2] if len(sample.args) > 2 else sample.kwargs.get("dim", -1)
    largest = sample.kwargs.get("largest", True)
    srt = np.sort(a.astype(np.float64), axis=dim)
    if largest:
        srt = np.flip(srt, axis=dim)
    want = np.take(srt, range(k), axis=dim)
    if not np.array_equal(vals.astype(np.float64), want):
        return f"top-{k} values {vals.tolist()}, expected {want.tolist()}"
    if not np.array_equal(np.take_along_axis(a, idx, axis=dim).astype(np.float64), want):
        return "indices do not point at the values"
    return None


explicit("topk", _topk_samples, None, compare=_check_topk)


def _check_unique(got, sample):
    values_, indices, inverse, counts = got
    x = sample.args[0].array
    v, i, inv, c = np.unique(x.reshape(-1), return_index=True, return_inverse=True,
                             return_counts=True)
    if not np.array_equal(values_, v):
        return f"unique values {values_.tolist()}, expected {v.tolist()}"
    if not np.array_equal(counts, c):
        return f"counts {counts.tolist()}, expected {c.tolist()}"
    if not np.array_equal(values_[inverse].reshape(x.shape), x):
        return "inverse indices do not rebuild the input"
    if not np.array_equal(x.reshape(-1)[indices], v):
        return "indices do not point at the unique values"
    return None


explicit("_unique_all", lambda d, rng: [Sample(T(values((3, 4), d, rng))),
                                        Sample(T(values((6,), d, rng), "contiguous")),
                                        Sample(T(values((0,), d, rng)))] if d not in
         ("float16", "bfloat16") else [], None, compare=_check_unique, grad=False,
         dynamic_shape=True)



def _check_unique_dim(got, sample):
    values_, inverse, counts = (np.asarray(g) for g in got)
    x, dim = np.asarray(sample.args[0].array), sample.args[1]
    v, inv, c = np.unique(x, axis=dim, return_inverse=True, return_counts=True)
    if values_.shape != v.shape or not np.array_equal(values_.astype(np.float64),
                                                      v.astype(np.float64)):
        return f"unique slices {values_.tolist()}, expected {v.tolist()}"
    if not np.array_equal(counts, c):
        return f"counts {counts.tolist()}, expected {c.tolist()}"
    if not np.array_equal(inverse, inv.reshape(-1)):
        return f"inverse indices {inverse.tolist()}, expected {inv.reshape(-1).tolist()}"
    return None


def _unique_dim_samples(d, rng):
    # repeated rows (and columns) so that some slices are equal
    rows = values((3, 4), d, rng)[[0, 1, 0, 2, 1]]
    cube = values((2, 2, 3), d, rng)[:, [1, 0, 1]]
    return [Sample(T(rows), 0), Sample(T(rows.T.copy(), _TR), 1, note="a non-contiguous tensor"),
            Sample(T(rows), -2), Sample(T(cube), 1), Sample(T(cube), 2),
            Sample(T(values((4,), d, rng)[[0, 2, 2, 1]]), 0),
            Sample(T(values((0, 3), d, rng)), 0, note="empty")]


explicit("_unique_dim", _unique_dim_samples, None, compare=_check_unique_dim, grad=False,
         dynamic_shape=True)

def _as_strided_ref(a, size, stride, storage_offset=None):
    # the elements read in row-major order (ember's as_strided copies; docs/ops.md)
    flat = np.ascontiguousarray(a).reshape(-1)
    idx = np.full(tuple(size), storage_offset or 0, dtype=np.int64)
    for k, (n, s) in enumerate(zip(size, stride, strict=True)):
        idx = idx + (np.arange(n) * s).reshape((1,) * k + (n,) + (1,) * (len(size) - k - 1))
    return flat[idx] if flat.size else np.zeros(tuple(size), a.dtype)


explicit("as_strided", lambda d, rng: [
    Sample(T(values((3, 4), d, rng)), (3, 3), (1, 1), note="overlapping windows"),
    Sample(T(values((3, 4), d, rng), _TR), (2, 2), (1, 2), 1, note="a non-contiguous input"),
    Sample(T(values((12,), d, rng)), (2, 3, 2), (4, 1, 2), 2),
    Sample(T(values((4,), d, rng)), (3,), (0,), 1, note="a zero stride"),
    Sample(T(values((), d, rng)), (), ()),
    Sample(T(values((0, 3), d, rng)), (0, 2), (5, 5))], _as_strided_ref)

def _check_view_dtype(got, sample):
    # the bytes, exactly (NaN payloads of reinterpreted integers included)
    x, target = sample.args[0].array, sample.args[1]
    want = np.asarray(x).copy(order="C").view(target.np)  # (ascontiguousarray: 0-d -> 1-d)
    got = np.asarray(got)
    if got.shape != want.shape:
        return f"shape {list(got.shape)}, expected {list(want.shape)}"
    if got.tobytes(order="C") != want.tobytes():
        return f"bytes differ: {got.reshape(-1)[:6].tolist()} …, expected " \
               f"{want.reshape(-1)[:6].tolist()} …"
    return None


def _view_dtype_samples(d, rng):
    # every same-size and different-size target (bool only from bool: other bytes are
    # no bool PyTorch defines), on a contiguous and a transposed input (copied first)
    targets = [t for t in FLOATS + INTS + ("bool",) if t != "bool" or d == "bool"]
    if d == "float32":
        targets.append("complex64")
    size = _dt(d).itemsize
    out = []
    for t in targets:
        out.append(Sample(T(values((2, 16), d, rng)), _dt(t)))
        out.append(Sample(T(values((16, 3), d, rng).T.copy(), _TR), _dt(t),
                          note="a non-contiguous input"))
        if _dt(t).itemsize == size:
            out.append(Sample(T(values((), d, rng)), _dt(t)))
    return out


explicit("_view_dtype", _view_dtype_samples, None, compare=_check_view_dtype, grad=False)

POINTWISE_REFS["leaky_relu"] = lambda a, negative_slope=0.01: np.where(a > 0, a,
                                                                        a * negative_slope)
__all__: list[str] = []


# --- nan_to_num: the default replacements are the dtype's extremes, which a float64
# reference cannot know; the samples name them (and the default NaN replacement, 0)
def _nan_to_num_samples(d, rng):
    from .opdb import _unary_samples
    out = []
    for s in _unary_samples("nan_to_num")(d, rng):
        out.append(Sample(*s.args, note=s.note, posinf=100.0, neginf=-100.0))
        out.append(Sample(*s.args, note=s.note, nan=1.5, posinf=7.0, neginf=-7.0))
    return out


explicit("nan_to_num", _nan_to_num_samples,
         lambda a, nan=0.0, posinf=None, neginf=None: np.nan_to_num(
             a, nan=nan, posinf=posinf, neginf=neginf))
