"""numpy kernels, one per primitive op (and a few composites where a native kernel pays).

Each receives native arrays (and Python values) in schema order, already validated and
cast by the core, and returns an ndarray (never a numpy scalar: ufuncs return scalars
for 0-d results, hence the ``ufunc`` wrapper).  In-place kernels write into their first
argument and return nothing.  Views return numpy views.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ember import dtypes as _dt

from . import workers
from .registry import registry

_erf_fn = None


def _erf(x):
    """scipy's erf (exact and vectorised; numpy lacks one), imported on first use:
    ``scipy.special`` takes ~0.3 s to import, too much for loading the CPU plugin."""
    global _erf_fn
    if _erf_fn is None:
        try:
            from scipy.special import erf as _erf_fn
        except ImportError:  # pragma: no cover - scipy is optional
            _erf_fn = np.frompyfunc(math.erf, 1, 1)
    return _erf_fn(x)

# PyTorch computes inf/nan silently; numpy warns.  Silence those warnings for calls made
# from these kernels only (a per-call np.errstate would double the cost of small ops).
warnings.filterwarnings("ignore", message=r"(divide by zero|invalid value|overflow) "
                        r"encountered", category=RuntimeWarning, module=r"ember_cpu\.kernels")


KERNELS, kernel = registry()
_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)
# bfloat16's numpy dtype (ml_dtypes) loads on its first use, not with this plugin; until
# then no array can have it, and the checks below compare with None.
_BF16_DT = None
_HALF = {np.dtype(np.float16)}  # dtypes whose sums and products accumulate in float32


def _bfloat16_loaded(d) -> None:
    global _BF16_DT
    _BF16_DT = d.np
    _HALF.add(d.np)


_dt.bfloat16.when_loaded(_bfloat16_loaded)
_ndarray = np.ndarray
_asarray = np.asarray


def _axes(dim, ndim):
    """numpy axes for an ember ``dim`` (None = all; 0-d tensors accept 0/-1)."""
    if dim is None or ndim == 0 or dim == ():
        return None
    return dim


def _wrap_int(x, dtype):
    """A Python int out of ``dtype``'s range, wrapped as PyTorch's C++ cast does
    (numpy refuses such operands under NEP 50)."""
    if x.__class__ is int:
        return np.array(x).astype(dtype)[()]
    return x


def _wrapped(args):
    """``args`` with out-of-range Python ints wrapped to the arrays' dtype."""
    dt = next(a.dtype for a in args if a.__class__ is _ndarray)
    return [_wrap_int(a, dt) for a in args]


def _bf16_numbers(f, args, r):
    """ml_dtypes' bfloat16 meets a Python float as float32 (numpy's weak-number rules
    do not reach it): redo the call with the numbers as bfloat16.  Array operands arrive
    cast to the computation dtype (``where``'s condition stays bool)."""
    for a in args:  # a plain loop: this runs for every float result
        if a.__class__ is _ndarray and a.dtype is _BF16_DT:
            return _asarray(f(*[np.asarray(v, _BF16_DT) if v.__class__ in _PYNUM else v
                                for v in args]))
    return r


_PYNUM = (int, float)
_SCALARS = (bool, int, float)


def ufunc(f):
    """A kernel from a numpy ufunc; ufuncs return numpy scalars for 0-d results, and
    tensors must hold arrays (in-place ops write into them)."""
    nin = getattr(f, "nin", None)
    if nin == 1:  # one array operand: nothing for _bf16_numbers to redo
        def k1(a):
            r = f(a)
            return r if r.__class__ is _ndarray else _asarray(r)
        k1.__name__ = f.__name__
        return k1
    if nin == 2:
        def k2(a, b):
            try:
                r = f(a, b)
            except OverflowError:  # int8 tensor + 1000: wrap the number like PyTorch
                r = f(*_wrapped((a, b)))
            if r.__class__ is not _ndarray:
                r = _asarray(r)
            # Only a Python number can have met a bfloat16 array as float32.
            if a.__class__ in _PYNUM or b.__class__ in _PYNUM:
                d = r.dtype
                if d is _F32 or d is _F64:
                    return _bf16_numbers(f, (a, b), r)
            return r
        k2.__name__ = f.__name__
        return k2

    def k(*args):
        try:
            r = f(*args)
        except OverflowError:  # int8 tensor + 1000: wrap the number like PyTorch
            r = f(*_wrapped(args))
        if r.__class__ is not _ndarray:
            r = _asarray(r)
        d = r.dtype
        if d is _F32 or d is _F64:
            return _bf16_numbers(f, args, r)
        return r
    k.__name__ = f.__name__
    return k


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
# (numpy's MemoryError becomes ember.OutOfMemoryError in the core, for every backend)
KERNELS["zeros"] = lambda size, dtype, device: np.zeros(size, dtype.np)
KERNELS["ones"] = lambda size, dtype, device: np.ones(size, dtype.np)
KERNELS["empty"] = lambda size, dtype, device: np.empty(size, dtype.np)
KERNELS["full"] = lambda size, value, dtype, device: np.full(size, value, dtype.np)


@kernel("arange")
def arange(start, end, step, dtype, device):
    if end is None:
        start, end = 0, start
    n = max(0, math.ceil((end - start) / step))
    if dtype.is_floating_point:
        # start + i * step in float64, as PyTorch computes it (numpy accumulates).
        return (np.arange(n, dtype=np.float64) * step + start).astype(dtype.np)
    # Integer output: PyTorch counts with start and step cast to integers.
    return (np.arange(n, dtype=np.int64) * int(step) + int(start)).astype(dtype.np)


@kernel("eye")
def eye(n, m, dtype, device):
    return np.eye(n, m, dtype=dtype.np)


# -- pointwise ------------------------------------------------------------------------
_mul = ufunc(np.multiply)


def _alpha_op(f):
    def k(a, b, alpha=1):
        if alpha != 1:
            # (the alpha rule is the core's: validated before this kernel runs)
            # A Python-number operand stays a Python number (numpy scalars would widen
            # float32 to float64 under NEP 50).
            b = b * alpha if b.__class__ in _SCALARS else _mul(b, alpha)
        try:
            r = f(a, b)
        except OverflowError:
            r = f(*_wrapped((a, b)))
        if r.__class__ is not _ndarray:
            r = _asarray(r)
        if a.__class__ in _PYNUM or b.__class__ in _PYNUM:  # see ufunc()
            d = r.dtype
            if d is _F32 or d is _F64:
                return _bf16_numbers(f, (a, b), r)
        return r
    return k


KERNELS["add"] = _alpha_op(np.add)
KERNELS["sub"] = _alpha_op(np.subtract)


_UFUNCS = {
    "mul": np.multiply, "true_divide": np.true_divide,
    # (integer division by zero is the core's rule: checked before these kernels run)
    "floor_divide": np.floor_divide, "remainder": np.remainder, "fmod": np.fmod,
    "maximum": np.maximum, "minimum": np.minimum, "atan2": np.arctan2,
    "eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal,
    "gt": np.greater, "ge": np.greater_equal,
    "bitwise_and": np.bitwise_and, "bitwise_or": np.bitwise_or, "bitwise_xor": np.bitwise_xor,
    "neg": np.negative, "abs": np.abs, "exp": np.exp, "exp2": np.exp2, "expm1": np.expm1,
    "log": np.log, "log2": np.log2, "log10": np.log10, "log1p": np.log1p, "sqrt": np.sqrt,
    "sin": np.sin, "cos": np.cos, "tan": np.tan, "tanh": np.tanh, "where": np.where,
    "logical_not": np.logical_not, "isnan": np.isnan, "isinf": np.isinf,
    "isfinite": np.isfinite, "reciprocal": np.reciprocal, "bitwise_not": np.invert,
    "signbit": np.signbit,  # (reads the bit: -nan too, which no comparison can see)
    "rsqrt": lambda a: np.reciprocal(np.sqrt(a)),
}
for _name, _f in _UFUNCS.items():
    KERNELS[_name] = ufunc(_f)
_power = ufunc(np.power)


@kernel("pow")
def pow_(a, b):
    if b.__class__ is float and a.__class__ is _ndarray and a.dtype is _F32 and b != 0 \
            and np.float32(b) == 0:
        # PyTorch keeps a float exponent in double for float32 tensors: 0 ** 1e-50 is 0,
        # where numpy's cast would make it 0 ** 0 = 1.  The nearest nonzero float32 gives
        # the same results (x ** tiny is 1, 0 ** tiny is 0, 0 ** -tiny is inf).
        b = math.copysign(1e-45, b)
    try:
        r = _power(a, b)
    except ValueError:  # numpy refuses integers to negative integer powers
        r = _int_negative_power(a, b)
    # numpy has no bool power loop (it answers int8); PyTorch keeps bool
    return r.astype(np.bool_) if a.__class__ is _ndarray and a.dtype == np.bool_ else r


def _int_negative_power(a, b):
    """PyTorch's integer power for negative exponents (tensor exponents only; a negative
    Python exponent is refused by the op's schema): 1 ** n = 1, (-1) ** n = +-1 and
    every other base gives 0."""
    b = np.asarray(b)
    negative = b < 0
    r = _power(a, np.where(negative, 0, b).astype(b.dtype))  # (a number keeps NEP 50's type)
    a = np.asarray(a)
    odd = (b % 2) != 0
    special = np.where(a == 1, 1, np.where(a == -1, np.where(odd, -1, 1), 0))
    return np.where(negative, special, r).astype(r.dtype)


def _shift(f):
    base = ufunc(f)

    def is_bool(x):
        return x.dtype == np.bool_ if x.__class__ is _ndarray else x.__class__ is bool

    def k(a, b):
        r = base(a, b)
        # numpy shifts bools as int8; bool by bool stays bool (``True << int8`` is int8)
        return r.astype(np.bool_) if r.dtype != np.bool_ and is_bool(a) and is_bool(b) \
            else r
    return k


KERNELS["bitwise_left_shift"] = _shift(np.left_shift)
KERNELS["bitwise_right_shift"] = _shift(np.right_shift)


def _rounding(f):
    def k(a):
        if a.dtype.kind in "iub":
            return a.copy()  # integers are already rounded (numpy would make floats)
        return _asarray(f(a))
    return k


KERNELS["floor"] = _rounding(np.floor)
KERNELS["ceil"] = _rounding(np.ceil)
KERNELS["trunc"] = _rounding(np.trunc)


@kernel("round")
def round_(a, decimals=0):
    if a.dtype.kind in "iub":
        return a.copy() if decimals >= 0 else _asarray(np.round(a, decimals))
    return _asarray(np.round(a, decimals))


@kernel("sign")
def sign(a):
    if a.dtype == np.bool_:
        return a.copy()
    r = _asarray(np.sign(a))
    if a.dtype.kind not in "iu":  # floats, bfloat16 included
        r[r != r] = 0  # PyTorch: sign(nan) is 0
    return r


@kernel("sigmoid")
def sigmoid(a):
    # 1 / (1 + exp(-x)) as PyTorch computes it: exp overflows to inf for very negative
    # x (its warning is silenced for this module), giving exactly 0 like PyTorch.
    x = a.astype(np.float32) if a.dtype.itemsize < 4 else a
    e = _asarray(np.exp(np.negative(x)))  # (an array even for 0-d: written in place)
    e += 1
    return _asarray(np.reciprocal(e, out=e).astype(a.dtype, copy=False))


@kernel("erf")
def erf(a):
    x = a.astype(np.float32) if a.dtype.itemsize < 4 else a
    return _asarray(np.asarray(_erf(x)).astype(a.dtype, copy=False))


_maximum = ufunc(np.maximum)
_minimum = ufunc(np.minimum)


@kernel("clamp")
def clamp(a, lo=None, hi=None):
    # min(max(x, lo), hi): where min > max the result is max, NaN propagates (PyTorch);
    # faster than np.clip on small arrays
    r = a if lo is None else _maximum(a, lo)
    return r.copy() if hi is None and lo is None else r if hi is None else _minimum(r, hi)


# in place: the core has cast tensor operands to the target's dtype
def _inplace(f):
    def k(a, *args):
        try:
            f(a, *args, out=a, casting="unsafe")
        except OverflowError:
            f(a, *(_wrap_int(x, a.dtype) for x in args), out=a, casting="unsafe")
    return k


for _name, _f in {"mul_": np.multiply, "true_divide_": np.true_divide, "neg_": np.negative,
                  "abs_": np.abs, "exp_": np.exp, "log_": np.log, "sqrt_": np.sqrt,
                  "sin_": np.sin, "cos_": np.cos, "tanh_": np.tanh,
                  "clamp_min_": np.maximum,
                  "clamp_max_": np.minimum}.items():
    KERNELS[_name] = _inplace(_f)


@kernel("add_")
def add_(a, b, alpha=1):
    _inplace(np.add)(a, b if alpha == 1 else np.multiply(b, alpha))


@kernel("sub_")
def sub_(a, b, alpha=1):
    _inplace(np.subtract)(a, b if alpha == 1 else np.multiply(b, alpha))


@kernel("clamp_")
def clamp_(a, lo=None, hi=None):
    np.copyto(a, clamp(a, lo, hi), casting="unsafe")


@kernel("fill_")
def fill_(a, value):
    a[...] = value


@kernel("zero_")
def zero_(a):
    a[...] = 0


# -- reductions ---------------------------------------------------------------------------
def _acc(dtype):
    """Accumulator dtype: float16/bfloat16 sums run in float32, as PyTorch's do (a
    bfloat16 accumulator stops growing at 256 when adding numbers below 1)."""
    return _F32 if dtype.is_floating_point and dtype.itemsize < 4 else dtype.np


def _reduce(f, a, dim, keepdim, dtype):
    # (the accumulator remembered per dtype and _axes skipped for a reduction over
    # everything: this runs per call of every small sum)
    acc = _ACCS.get(dtype)
    if acc is None:
        acc = _ACCS[dtype] = _acc(dtype)
    r = f(a, None if dim is None else _axes(dim, a.ndim), acc, None, keepdim)
    if r.__class__ is not _ndarray:
        r = _asarray(r)
    return r if acc is dtype.np else r.astype(dtype.np)


_ACCS: dict = {}


# ufunc.reduce directly: np.sum's Python wrapper costs more than a small sum itself
@kernel("sum")
def sum_(a, dim, keepdim, dtype):
    return _reduce(np.add.reduce, a, dim, keepdim, dtype)


@kernel("prod")
def prod(a, dim, keepdim, dtype):
    return _reduce(np.multiply.reduce, a, dim, keepdim, dtype)


@kernel("mean")
def mean(a, dim, keepdim, dtype):
    if a.size == 0:  # nan as PyTorch gives it, without numpy's "Mean of empty slice"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return _reduce(np.mean, a, dim, keepdim, dtype)
    return _reduce(np.mean, a, dim, keepdim, dtype)


@kernel("amax")
def amax(a, dim, keepdim):
    return np.asarray(np.maximum.reduce(a, axis=_axes(dim, a.ndim), keepdims=keepdim))


@kernel("amin")
def amin(a, dim, keepdim):
    return np.asarray(np.minimum.reduce(a, axis=_axes(dim, a.ndim), keepdims=keepdim))


def _arg(f):
    def k(a, dim, keepdim):
        if dim is None:
            r = f(a.reshape(-1))
            return np.asarray(r, np.int64).reshape((1,) * a.ndim if keepdim else ())
        return np.asarray(f(a, axis=dim if a.ndim else None, keepdims=keepdim), np.int64)
    return k


KERNELS["argmax"] = _arg(np.argmax)
KERNELS["argmin"] = _arg(np.argmin)


@kernel("all")
def all_(a, dim, keepdim):
    return np.asarray(np.all(a, axis=_axes(dim, a.ndim), keepdims=keepdim))


@kernel("any")
def any_(a, dim, keepdim):
    return np.asarray(np.any(a, axis=_axes(dim, a.ndim), keepdims=keepdim))


@kernel("cumsum")
def cumsum(a, dim, dtype):
    r = np.cumsum(a, axis=dim if a.ndim else None, dtype=_acc(dtype)).reshape(a.shape)
    return r.astype(dtype.np, copy=False)


@kernel("cumprod")
def cumprod(a, dim, dtype):
    r = np.cumprod(a, axis=dim if a.ndim else None, dtype=_acc(dtype)).reshape(a.shape)
    return r.astype(dtype.np, copy=False)


# -- views ---------------------------------------------------------------------------------
@kernel("reshape")
def reshape(a, shape):
    return a.reshape(shape)


@kernel("permute")
def permute(a, dims):
    return a.transpose(dims) if a.ndim else a.view()


@kernel("expand")
def expand(a, size):
    lead = len(size) - a.ndim
    size = tuple(s if s != -1 else a.shape[i - lead] for i, s in enumerate(size))
    # as_strided rather than broadcast_to: PyTorch lets one write through expanded views
    strides = (0,) * lead + tuple(0 if n == 1 and s != 1 else st for n, s, st in
                                  zip(a.shape, size[lead:], a.strides, strict=True))
    return np.lib.stride_tricks.as_strided(a, size, strides)


@kernel("basic_index")
def basic_index(a, index):
    r = a[index]
    # All-int indices give a numpy scalar; with a trailing ``...`` a 0-d view.
    return r if r.__class__ is _ndarray else a[index + (Ellipsis,)]


# Native kernels for composite views: one dispatch instead of a decomposition's two.
@kernel("unsqueeze")
def unsqueeze(a, dim):
    d = dim % (a.ndim + 1)
    return a.reshape(a.shape[:d] + (1,) + a.shape[d:])


@kernel("squeeze")
def squeeze(a, dim=None):
    if dim is None:
        return a.squeeze()
    n = max(a.ndim, 1)
    axes = tuple(d % n for d in dim if a.ndim and a.shape[d % n] == 1)
    return a.squeeze(axes) if axes else a.view()


@kernel("flatten")
def flatten(a, start_dim=0, end_dim=-1):
    if a.ndim == 0:
        return a.reshape(1)
    s, e = start_dim % a.ndim, end_dim % a.ndim
    return a.reshape(a.shape[:s] + (math.prod(a.shape[s:e + 1]),) + a.shape[e + 1:])


@kernel("view")
def view(a, shape):
    return a.reshape(shape)


@kernel("transpose")
def transpose(a, dim0, dim1):
    return np.swapaxes(a, dim0, dim1) if a.ndim > 1 else a.view()


@kernel("t")
def t(a):
    return a.T if a.ndim == 2 else a.view()


@kernel("narrow")
def narrow(a, dim, start, length):
    d = dim % a.ndim
    start %= a.shape[d] if a.shape[d] else 1
    return a[(slice(None),) * d + (slice(start, start + length),)]


@kernel("select")
def select(a, dim, index):
    return a[(slice(None),) * (dim % a.ndim) + (index, Ellipsis)]


@kernel("unfold")
def unfold(a, dim, size, step):
    if a.ndim == 0:
        return a.reshape(1)[:size]
    w = np.lib.stride_tricks.sliding_window_view(a, size, axis=dim, writeable=True)
    return w[(slice(None),) * (dim % a.ndim) + (slice(None, None, step),)]


@kernel("_cat")
def cat_(arrays, dim):
    return np.concatenate(arrays, axis=dim)


def _promoted(arrays):
    """``arrays`` cast to their PyTorch result dtype (numpy's rules differ for
    bfloat16 and int/float mixes)."""
    if len({a.dtype for a in arrays}) == 1:
        return arrays
    d = _dt.FROM_NP[arrays[0].dtype]
    for a in arrays[1:]:
        d = _dt.promote_types(d, _dt.FROM_NP[a.dtype])
    return [a.astype(d.np, copy=False) for a in arrays]


@kernel("cat")
def cat(arrays, dim=0):
    arrays = _promoted(arrays)
    # PyTorch still skips 1-D empty tensors when joining (legacy behaviour)
    real = [a for a in arrays if not (a.ndim == 1 and a.shape[0] == 0)]
    if not real:
        return np.empty(0, arrays[0].dtype)
    return np.concatenate(real, axis=dim)


@kernel("stack")
def stack(arrays, dim):
    return np.stack(_promoted(arrays), axis=dim)


@kernel("flip")
def flip(a, dims):
    return np.flip(a, tuple(dims)).copy() if a.ndim else a.copy()


@kernel("roll")
def roll(a, shifts, dims=()):
    if not dims:
        return np.roll(a.reshape(-1), shifts[0]).reshape(a.shape)
    return np.roll(a, shifts, tuple(dims)) if a.ndim else a.copy()


@kernel("repeat")
def repeat(a, repeats):
    return np.tile(a, repeats) if repeats else a.copy()


@kernel("repeat_interleave")
def repeat_interleave(a, repeats, dim=None):
    if dim is None or a.ndim == 0:
        return np.repeat(a.reshape(-1), repeats)
    return np.repeat(a, repeats, axis=dim)


# -- indexing ----------------------------------------------------------------------------------
def _bounds(op, fn):
    """numpy's IndexError for an out-of-range index, reworded to name the op."""
    try:
        return fn()
    except IndexError as e:
        raise IndexError(f"{op}(): {e}") from None


@kernel("index")
def index(a, indices):
    # t[int_tensor], the common case, indexes with the array itself
    idx = indices[0] if len(indices) == 1 and indices[0] is not None else \
        tuple(_FULL if i is None else i for i in indices)
    try:
        r = a[idx]
    except IndexError as e:  # numpy's message for an out-of-range index, naming the op
        raise IndexError(f"index(): {e}") from None
    return r if r.__class__ is _ndarray else _asarray(r)


_FULL = slice(None)


@kernel("index_put_")
def index_put_(a, indices, values, accumulate=False):
    idx = tuple(slice(None) if i is None else i for i in indices)
    if accumulate:
        _bounds("index_put_", lambda: np.add.at(a, idx, values))
    else:
        def put():
            a[idx] = values
        _bounds("index_put_", put)


@kernel("nonzero")
def nonzero(a):
    if a.ndim == 0:
        return np.zeros((1 if a.item() else 0, 0), np.int64)
    return np.argwhere(a).astype(np.int64, copy=False)


def _check_range(op, index, size, dim):
    # gather/scatter/index_select take no negative indices (unlike indexing)
    if index.size and (index.min() < 0 or index.max() >= size):
        bad = index[(index < 0) | (index >= size)].flat[0]
        raise IndexError(f"{op}(): index {bad} is out of bounds for dimension {dim} with "
                         f"size {size}")


def _along(a, index, dim):
    """``a`` cut to ``index``'s extent in every dimension but ``dim`` (a view)."""
    return a[tuple(slice(None) if k == dim else slice(0, s) for k, s in enumerate(index.shape))]


@kernel("gather")
def gather(a, dim, index, sparse_grad=False):
    if a.ndim == 0:
        a = a.reshape(1)
    if index.ndim == 0:
        return np.asarray(gather(a, dim, index.reshape(1)).reshape(()))
    dim %= a.ndim
    _check_range("gather", index, a.shape[dim], dim)
    return np.take_along_axis(_along(a, index, dim), index.astype(np.intp, copy=False), dim)


def _scatter_into(out, dim, index, src, reduce=None, op="scatter"):
    if out.ndim == 0:
        out = out.reshape(1)
        index = index.reshape(-1)
        src = src.reshape(-1)
    if index.ndim == 0:
        index, src = index.reshape(1), src.reshape(1) if src.ndim == 0 else src
    dim %= out.ndim
    _check_range(op, index, out.shape[dim], dim)
    if index.size == 0:
        return
    target = _along(out, index, dim)
    srcv = src[tuple(slice(0, s) for s in index.shape)]
    idx = list(np.indices(index.shape, sparse=True))
    idx[dim] = index
    idx = tuple(idx)
    if reduce is None:
        target[idx] = srcv
    elif reduce == "add":
        np.add.at(target, idx, srcv)
    else:
        np.multiply.at(target, idx, srcv)


@kernel("scatter")
def scatter(a, dim, index, src, reduce=None):
    out = a.copy()
    _scatter_into(out, dim, index, src, reduce)
    return out


@kernel("scatter_")
def scatter_inplace(a, dim, index, src, reduce=None):
    _scatter_into(a, dim, index, src, reduce)


@kernel("scatter_add")
def scatter_add(a, dim, index, src):
    out = a.copy()
    _scatter_into(out, dim, index, src, "add", "scatter_add")
    return out


@kernel("scatter_add_")
def scatter_add_inplace(a, dim, index, src):
    _scatter_into(a, dim, index, src, "add", "scatter_add")


@kernel("index_select")
def index_select(a, dim, index):
    size = a.shape[dim] if a.ndim else 1
    _check_range("index_select", index, size, dim)
    if a.ndim == 0:  # (the schema let through a single index: 0-d in, 0-d out)
        return a.copy()
    return np.take(a, index.reshape(-1), axis=dim)


@kernel("index_add")
def index_add(a, dim, index, source, alpha=1):
    out = a.copy()
    index_add_inplace(out, dim, index, source, alpha)
    return out


@kernel("index_add_")
def index_add_inplace(a, dim, index, source, alpha=1):
    size = a.shape[dim] if a.ndim else 1
    _check_range("index_add_", index, size, dim)
    if alpha != 1:
        source = source * np.asarray(alpha).astype(source.dtype)
    if a.ndim == 0:
        np.add.at(a.reshape(1), index.reshape(-1), source.reshape(-1))
        return
    np.add.at(np.moveaxis(a, dim, 0), index.reshape(-1), np.moveaxis(source, dim, 0))


@kernel("masked_fill")
def masked_fill(a, mask, value):
    out = np.array(np.broadcast_to(a, np.broadcast_shapes(a.shape, mask.shape)))
    np.copyto(out, np.asarray(value).astype(a.dtype), where=mask)
    return out


@kernel("masked_fill_")
def masked_fill_inplace(a, mask, value):
    np.copyto(a, np.asarray(value).astype(a.dtype), where=mask)


def _sort_keys(a, dim, descending, stable):
    if descending:
        # A stable descending order: sort the reversed axis ascending, then reverse.
        n = a.shape[dim]
        flipped = np.flip(a, dim)
        order = np.flip(np.argsort(flipped, axis=dim, kind="stable"), dim)
        return n - 1 - order
    return np.argsort(a, axis=dim, kind="stable")


@kernel("sort")
def sort(a, dim=-1, descending=False, stable=False):
    if a.ndim == 0:
        return a.copy(), np.zeros((), np.int64)
    idx = _sort_keys(a, dim, descending, stable)
    return np.take_along_axis(a, idx, dim), idx.astype(np.int64, copy=False)


@kernel("argsort")
def argsort(a, dim=-1, descending=False, stable=False):
    if a.ndim == 0:
        return np.zeros((), np.int64)
    return _sort_keys(a, dim, descending, stable).astype(np.int64, copy=False)


@kernel("topk")
def topk(a, k, dim=-1, largest=True, sorted=True):
    if a.ndim == 0:
        return a.copy(), np.zeros((), np.int64)
    idx = _sort_keys(a, dim, largest, True)
    idx = np.take(idx, np.arange(k), axis=dim)
    return np.take_along_axis(a, idx, dim), idx.astype(np.int64, copy=False)


@kernel("tril")
def tril(a, diagonal=0):
    return np.tril(a, diagonal)


@kernel("triu")
def triu(a, diagonal=0):
    return np.triu(a, diagonal)


# -- linalg ----------------------------------------------------------------------------------
_np_matmul = np.matmul


def _matmul_macs(a, b) -> int:
    """The multiply-adds of one BLAS call of ``a @ b`` (numpy calls BLAS per matrix of a
    batch)."""
    return (a.shape[-2] if a.ndim > 1 else 1) * a.shape[-1] * (b.shape[-1] if b.ndim > 1 else 1)


@kernel("matmul")
def matmul(a, b):
    # (workers.product: a mid-sized product on one BLAS thread, whose idle spin would
    # cost more than a second thread saves)
    d = a.dtype
    if d is _F32 or d is _F64:  # the common case first (a set lookup hashes the dtype)
        # (a.size * b.shape[-1] bounds the multiply-adds of every BLAS call: a small
        # product skips workers.product's checks, 0.4 us of a 2 us 4x4 matmul)
        if a.size * b.shape[-1] <= workers.SERIAL_BY_ITSELF:
            r = _np_matmul(a, b)
        else:
            r = workers.product(_np_matmul, _matmul_macs(a, b), a, b)
        return r if r.__class__ is _ndarray else _asarray(r)
    if d in _HALF:  # accumulate in float32 and round once, as PyTorch
        b = b.astype(_F32)
        return np.asarray(workers.product(np.matmul, _matmul_macs(a, b), a.astype(_F32),
                                          b)).astype(a.dtype)
    return np.asarray(np.matmul(a, b))  # (integers: numpy's own loops, no BLAS)


def _einsum(equation, operands):
    # Only the optimized path (over two operands) calls BLAS, through tensordot: the
    # product of every letter's size bounds each of its calls, so a bound below
    # workers.product's threshold keeps them all on one BLAS thread.
    if len(operands) <= 2:
        return np.einsum(equation, *operands)
    sizes: dict[str, int] = {}
    for spec, o in zip(equation.split("->")[0].split(","), operands, strict=False):
        head, _, tail = spec.rpartition("...")  # (no ellipsis: head is empty)
        head, tail = [c for c in head if c.isalpha()], [c for c in tail if c.isalpha()]
        stop = o.ndim - len(tail)
        # (the broadcast dimensions count as one more letter; a letter's largest size)
        pairs = [*zip(head, o.shape, strict=False), *zip(tail, o.shape[stop:], strict=True),
                 ("...", math.prod(o.shape[len(head):stop]))]
        for c, n in pairs:
            sizes[c] = max(sizes.get(c, 1), n)
    return workers.product(lambda *ops: np.einsum(equation, *ops, optimize=True),
                           math.prod(sizes.values()), *operands)


@kernel("einsum")
def einsum(equation, operands):
    if operands[0].dtype in _HALF:  # numpy's einsum has no bfloat16 loops
        r = _einsum(equation, [o.astype(_F32) for o in operands])
        return np.asarray(r).astype(operands[0].dtype)
    r = np.asarray(_einsum(equation, operands))
    # numpy returns views for transposes and diagonals ('ii->i'); einsum's schema
    # promises a new tensor, so one the caller may write to without changing an operand
    return r.copy() if any(np.may_share_memory(r, o) for o in operands) else r


@kernel("_view_dtype")
def _view_dtype(a, dtype):
    # numpy reinterprets in place when the last axis is contiguous (a view sharing
    # memory, as PyTorch's); any other layout is made contiguous first
    try:
        return a.view(dtype.np)
    except ValueError:
        return a.copy(order="C").view(dtype.np)  # (ascontiguousarray makes 0-d 1-d)


# -- complex numbers -------------------------------------------------------------------------
@kernel("view_as_real")
def view_as_real(a):
    # numpy views a complex axis of length 1 as its two parts without copying
    return a[..., None].view(a.real.dtype)


@kernel("view_as_complex")
def view_as_complex(a):
    if a.strides[-1] != a.itemsize:  # (the parts must be adjacent for a view)
        a = np.ascontiguousarray(a)
    return a.view(np.result_type(a.dtype, np.complex64))[..., 0]


_conjugate = ufunc(np.conjugate)


@kernel("conj_physical")
def conj_physical(a):
    # (np.conjugate of bool gives int8)
    return _conjugate(a) if a.dtype.kind == "c" else a.copy()


# -- discrete Fourier transforms (numpy.fft: pocketfft, single and double precision) ---------
@kernel("_fft_c2c")
def fft_c2c(a, dim, norm, forward):
    f = np.fft.fftn if forward else np.fft.ifftn
    return np.asarray(f(a, axes=dim, norm=norm)).astype(a.dtype, copy=False)


@kernel("_fft_r2c")
def fft_r2c(a, dim, norm, onesided):
    r = (np.fft.rfftn if onesided else np.fft.fftn)(a, axes=dim, norm=norm)
    return np.asarray(r).astype(np.result_type(a.dtype, np.complex64), copy=False)


@kernel("_fft_c2r")
def fft_c2r(a, dim, norm, last_dim_size):
    s = [a.shape[d] for d in dim]
    s[-1] = last_dim_size
    r = np.fft.irfftn(a, s=s, axes=dim, norm=norm)
    return np.asarray(r).astype(a.real.dtype, copy=False)
