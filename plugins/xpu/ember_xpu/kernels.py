"""The XPU kernel table: ember's Array API kit over ``dpnp.tensor``, plus what the
standard lacks and faster paths for the hot ops.

* Every primitive the kit writes over the standard runs on ``dpnp.tensor`` as is; its
  results, which dpnp allocates by itself, are adopted by the device's allocator so
  the memory statistics count them.
* Elementwise arithmetic, comparisons, unary math and 2-D ``matmul`` write into an
  output taken from the caching allocator (dpnp's ``out=``), and take Python numbers
  as they are instead of making 0-d device arrays of them: one kernel launch each.
* Creation and random ops fill cached blocks; random numbers are drawn on the host
  with numpy's PCG64 (the same numbers as on the CPU for the same seed) and copied in.
* ``erf``, the ``linalg_*`` factorizations, ``round`` and ``fill_`` use dpnp where the
  standard has nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ember import dtypes as _dt
from ember.kit import ArrayAPIBackend
from ember.schema import registry

__all__ = ["build"]

#: ember op -> dpnp.tensor function, for elementwise ops that keep their operand dtype
_SAME_DTYPE_BINARY = {"add": "add", "sub": "subtract", "mul": "multiply",
                      "div": "divide", "true_divide": "divide",
                      "remainder": "remainder", "floor_divide": "floor_divide",
                      "atan2": "atan2", "bitwise_and": "bitwise_and",
                      "bitwise_or": "bitwise_or", "bitwise_xor": "bitwise_xor"}
_COMPARISONS = {"eq": "equal", "ne": "not_equal", "lt": "less", "le": "less_equal",
                "gt": "greater", "ge": "greater_equal"}
_UNARY = {"neg": "negative", "exp": "exp", "log": "log", "log2": "log2", "log10": "log10",
          "log1p": "log1p", "expm1": "expm1", "sqrt": "sqrt", "sin": "sin", "cos": "cos",
          "tan": "tan", "tanh": "tanh", "floor": "floor", "ceil": "ceil", "trunc": "trunc",
          "abs": "abs"}
_NUMBERS = (bool, int, float)


def _broadcast(s1: tuple, s2: tuple) -> tuple:
    n = max(len(s1), len(s2))
    s1 = (1,) * (n - len(s1)) + tuple(s1)
    s2 = (1,) * (n - len(s2)) + tuple(s2)
    return tuple(a if b == 1 else b for a, b in zip(s1, s2, strict=True))


def build(backend) -> dict[str, Callable]:
    """The kernel table of ``backend`` (an ``XPUBackend`` with a runtime)."""
    import dpnp
    dpt = backend.dpt
    queues = [backend.queue(i) for i in range(backend.device_count())]
    kit = ArrayAPIBackend(dpt, device_type="xpu", name=backend.name, devices=queues,
                          implementations=_extra_implementations(dpnp),
                          dtypes=backend.supported_dtypes)
    allocators = [backend.allocator(i) for i in range(len(queues))]
    one = allocators[0] if len(allocators) == 1 else None

    def allocator_of(x):
        if one is not None:
            return one
        return allocators[queues.index(x.sycl_queue)]

    def adopt(r):
        if r is None:
            return None
        if isinstance(r, tuple):
            return tuple(adopt(v) for v in r)
        if isinstance(r, list):
            return [adopt(v) for v in r]
        return allocator_of(r).adopt(r)

    kernels: dict[str, Callable] = {}
    for name, fn in kit.kernels.items():
        od = registry[name]
        if od.is_view or od.is_inplace:  # views share their input's memory; in-place
            kernels[name] = fn           # kernels return nothing
        else:
            kernels[name] = _adopting(fn, adopt)

    consts = [_Constants(dpt, q) for q in queues]

    def constants(x):
        return consts[0] if one is not None else consts[queues.index(x.sycl_queue)]

    _reuse_constants(kit.ns, constants)

    _fast_pointwise(kernels, dpt, allocator_of, constants)
    _fast_matmul(kernels, dpt, allocator_of, adopt)
    _fast_copies(kernels, dpt, allocator_of, backend)
    _creation(kernels, backend)
    _pytorch_semantics(kernels, dpt, adopt, allocator_of, constants)
    from . import complex_kernels
    complex_kernels.fix_fast_paths(kernels, dpt, allocator_of)
    kernels.update(complex_kernels.view_kernels(dpt, allocator_of))
    from . import fused
    from ember.device import device as _device

    def device_of(x):
        return _device("xpu", allocator_of(x).index)
    kernels.update(fused.kernels(registry, allocator_of, device_of))
    return kernels


def _adopting(fn, adopt):
    def kernel(*args):
        return adopt(fn(*args))
    kernel.__name__ = getattr(fn, "__name__", "kernel")
    return kernel


# -- hot paths: outputs from the caching allocator ---------------------------------------------
class _Constants:
    """0-d device arrays for Python numbers, per (value, dtype).

    dpnp turns a Python number operand into a fresh 0-d device array each call (an
    allocation and a host-to-device copy, the largest cost of a small op on the
    OpenCL CPU device); ember's kernels reuse one.  They are only ever read.
    """

    def __init__(self, dpt, queue, limit: int = 4096) -> None:
        self.dpt = dpt
        self.queue = queue
        self.limit = limit
        self.table: dict = {}

    def get(self, value, dtype):
        # floats by their bits: -0.0 == 0.0 but must not share a constant; NaN != NaN
        key = (float, value.hex(), dtype) if value.__class__ is float else \
            (value.__class__, value, dtype)
        c = self.table.get(key)
        if c is None:
            if len(self.table) >= self.limit:
                self.table.clear()
            try:
                host = np.asarray(value, dtype=dtype)
            except OverflowError:  # out of the dtype's range: let dpnp decide
                return value
            c = self.table[key] = self.dpt.asarray(host, sycl_queue=self.queue)
        return c


def _reuse_constants(ns, constants) -> None:
    """Make the kit's Python-number operands cached constants too (same dtype rules)."""
    make = ns.operand
    booltype = np.dtype(bool)

    def operand(value, like):
        if isinstance(value, _NUMBERS) and hasattr(like, "sycl_queue"):
            dt = like.dtype
            if not (dt == booltype and not isinstance(value, bool)
                    or dt.kind in "iu" and isinstance(value, float)):
                return constants(like).get(value, dt)
        return make(value, like)
    ns.operand = operand


def _fast_pointwise(kernels: dict, dpt, allocator_of, constants) -> None:
    booltype = np.dtype(bool)

    def binary(f, name, bool_result):
        slow = kernels[name]
        has_alpha = name in ("add", "sub")

        def kernel(a, b, extra=None):
            # ``extra`` is add/sub's alpha or div's rounding_mode (other ops have none)
            if extra is not None and not (has_alpha and extra == 1):
                if not has_alpha:
                    return slow(a, b, extra)
                b = dpt.multiply(b, extra) if not isinstance(b, _NUMBERS) else b * extra
            if isinstance(a, _NUMBERS):
                arr = b
                if arr.dtype == booltype and not bool_result:
                    return slow(a, b)
                a = constants(arr).get(a, arr.dtype)
            else:
                arr = a
                if arr.dtype == booltype and not bool_result:
                    return slow(a, b)
                if isinstance(b, _NUMBERS):
                    b = constants(arr).get(b, arr.dtype)
            shape = _broadcast(a.shape, getattr(b, "shape", ()))
            out = allocator_of(arr).empty(shape, booltype if bool_result else arr.dtype)
            f(a, b, out=out)
            return out
        kernel.__name__ = name
        return kernel

    for name, fname in _SAME_DTYPE_BINARY.items():
        if name in kernels and name in registry:
            kernels[name] = binary(getattr(dpt, fname), name, False)
    for name, fname in _COMPARISONS.items():
        if name in kernels and name in registry:
            kernels[name] = binary(getattr(dpt, fname), name, True)

    def unary(f, name):
        def kernel(a):
            if a.dtype == booltype:
                return slow(a)
            out = allocator_of(a).empty(a.shape, a.dtype)
            f(a, out=out)
            return out
        slow = kernels[name]
        kernel.__name__ = name
        return kernel

    for name, fname in _UNARY.items():
        if name in kernels and name in registry:
            kernels[name] = unary(getattr(dpt, fname), name)

    # In place: dpnp writes into ``self`` directly (the core has already checked that
    # the result fits and cast the operand to self's dtype), one kernel instead of the
    # default ``self.copy_(op(self, other))``.
    logical = {"add": dpt.logical_or, "mul": dpt.logical_and}

    def binary_inplace(f, name):
        on_bool = logical.get(name, f)  # PyTorch's bool add/mul are or/and
        has_alpha = name in ("add", "sub")
        slow = kernels.get(name)

        def kernel(a, b, extra=None):
            if extra is not None and not (has_alpha and extra == 1):
                if not has_alpha:  # div_'s rounding modes: compute, then write back
                    a[...] = slow(a, b, extra)
                    return
                b = dpt.multiply(b, extra) if not isinstance(b, _NUMBERS) else b * extra
            if isinstance(b, _NUMBERS):
                b = constants(a).get(b, a.dtype)
            (on_bool if a.dtype == booltype else f)(a, b, out=a)
        kernel.__name__ = name + "_"
        return kernel

    def unary_inplace(f, name):
        def kernel(a):
            f(a, out=a)
        kernel.__name__ = name + "_"
        return kernel

    for name, fname in _SAME_DTYPE_BINARY.items():
        if name + "_" in registry and name in kernels:
            kernels[name + "_"] = binary_inplace(getattr(dpt, fname), name)
    for name, fname in _UNARY.items():
        if name + "_" in registry and name != "abs":  # abs on bool is a copy
            kernels[name + "_"] = unary_inplace(getattr(dpt, fname), name)


def _fast_matmul(kernels: dict, dpt, allocator_of, adopt) -> None:
    """float32/float64 products through ``dpnp.matmul``, i.e. oneMKL's gemm (on the
    OpenCL CPU device 100x faster than ``dpnp.tensor.matmul``'s generic SYCL kernel
    for im2col-shaped matrices); other dtypes keep the kit's kernel."""
    import dpnp
    slow = kernels.get("matmul")
    if slow is None:
        return
    blas = {np.dtype(np.float32), np.dtype(np.float64)}

    def matmul(a, b):
        if a.dtype not in blas or b.dtype != a.dtype or a.ndim == 0 or b.ndim == 0:
            return slow(a, b)
        a, b = _dense_matrices(dpt, a), _dense_matrices(dpt, b)
        if a.ndim == 2 and b.ndim == 2:
            out = allocator_of(a).empty((a.shape[0], b.shape[1]), a.dtype)
            dpnp.matmul(dpnp.asarray(a), dpnp.asarray(b), out=dpnp.asarray(out))
            return out
        return adopt(dpnp.matmul(dpnp.asarray(a), dpnp.asarray(b)).get_array())
    kernels["matmul"] = matmul


def _dense_matrices(dpt, x):
    """``x``, or a C-ordered copy where a matrix dim is broadcast (stride 0, size > 1).

    dpnp decides whether oneMKL can read an operand in place from its last two
    strides, but reads a zero stride as "undefined" and so calls a broadcast matrix
    contiguous; oneMKL then refuses it ("not c-contiguous nor f-contiguous").  The
    copy is the size of the matrix dpnp would have made anyway.  Broadcast batch
    dims are fine (oneMKL takes a zero batch stride) and are left as they are."""
    if x.ndim >= 2:
        (rows, cols), (rs, cs) = x.shape[-2:], x.strides[-2:]
        if rows > 1 and rs == 0 or cols > 1 and cs == 0:
            return dpt.asarray(x, copy=True, order="C")
    return x


# -- where dpnp's answer differs from PyTorch's ----------------------------------------------------
def _pytorch_semantics(kernels: dict, dpt, adopt, allocator_of, constants) -> None:
    booltype = np.dtype(bool)
    int8 = dpt.int8

    # pow and shifts of bools: dpnp answers in int8, PyTorch in bool.
    def on_bool_via_int8(name):
        slow = kernels[name]

        def kernel(a, b):
            arrs = [x for x in (a, b) if not isinstance(x, _NUMBERS)]
            if arrs[0].dtype != booltype:
                return slow(a, b)
            a8, b8 = (dpt.astype(x, int8) if not isinstance(x, _NUMBERS) else int(x)
                      for x in (a, b))
            return adopt(dpt.not_equal(slow(a8, b8), 0))
        kernel.__name__ = name
        return kernel

    for name in ("pow", "bitwise_left_shift", "bitwise_right_shift"):
        if name in kernels:
            kernels[name] = on_bool_via_int8(name)

    # sign(NaN) is 0 in PyTorch, NaN in dpnp; sign of a bool tensor is itself (dpnp's
    # answers int8).
    def sign(a):
        if a.dtype == dpt.bool:
            return adopt(dpt.copy(a))
        r = dpt.sign(a)
        if dpt.isdtype(a.dtype, "real floating"):
            r = dpt.where(dpt.isnan(a), dpt.zeros((), dtype=a.dtype, device=a.device), r)
        return adopt(r)

    def sign_(a):
        a[...] = sign(a)

    if "sign" in registry:
        kernels["sign"] = sign
    if "sign_" in registry:
        kernels["sign_"] = sign_

    # Python numbers take the other operand's dtype, as the core already decided the
    # result dtype (dpnp would make where(c, 0, bool_array) int64).
    slow_where = kernels.get("where")

    def where(cond, a, b):
        a_num, b_num = isinstance(a, _NUMBERS), isinstance(b, _NUMBERS)
        if a_num and b_num or isinstance(cond, _NUMBERS) or cond.dtype != booltype:
            return slow_where(cond, a, b)
        arr = b if a_num else a
        if a_num:
            a = constants(arr).get(a, arr.dtype)
        if b_num:
            b = constants(arr).get(b, arr.dtype)
        if isinstance(a, _NUMBERS) or isinstance(b, _NUMBERS) or a.dtype != b.dtype:
            return slow_where(cond, a, b)
        out = allocator_of(arr).empty(_broadcast(_broadcast(cond.shape, a.shape), b.shape),
                                      arr.dtype)
        dpt.where(cond, a, b, out=out)
        return out

    if slow_where is not None:
        kernels["where"] = where


def _fast_copies(kernels: dict, dpt, allocator_of, backend) -> None:
    booltype = np.dtype(bool)
    everywhere = backend.supported_dtypes

    def astype(a, dtype):
        alloc = allocator_of(a)
        if dtype not in everywhere:  # e.g. float64 on a GPU without fp64
            backend.check_dtype(dtype, alloc.index, "astype")
        out = alloc.empty(a.shape, dtype.np)
        out[...] = a  # dpnp casts as it copies (C casts, as astype)
        return out

    def clone(a):
        out = allocator_of(a).empty(a.shape, a.dtype)
        out[...] = a
        return out

    def contiguous(a):
        return a if a.flags.c_contiguous else clone(a)

    slow_sum = kernels.get("sum")

    def sum_(a, dim=None, keepdim=False, dtype=None):
        if a.dtype == booltype or dtype is None or dtype.np != a.dtype and \
                dtype.np.kind != a.dtype.kind:
            return slow_sum(a, dim, keepdim, dtype)
        nd = a.ndim
        if dim is None or nd == 0 or dim == ():
            axes = tuple(range(nd))
        else:
            axes = tuple(sorted({d % nd for d in (dim if isinstance(dim, (list, tuple))
                                                   else (dim,))}))
        shape = tuple(1 if i in axes else s for i, s in enumerate(a.shape)) if keepdim \
            else tuple(s for i, s in enumerate(a.shape) if i not in axes)
        out = allocator_of(a).empty(shape, dtype.np)
        dpt.sum(a, axis=axes if nd else None, dtype=dtype.np, keepdims=keepdim, out=out)
        return out

    for fn in (astype, clone, contiguous):
        if fn.__name__ in kernels:
            kernels[fn.__name__] = fn
    if slow_sum is not None:
        kernels["sum"] = sum_


# -- creation and random numbers: cached blocks --------------------------------------------------
def _creation(kernels: dict, backend) -> None:
    def filled(size, value, dtype, device):
        idx = device.index or 0
        backend.check_dtype(dtype, idx, "full")
        out = backend.allocator(idx).empty(tuple(size), dtype.np)
        if out.size:
            out[...] = value
        return out

    def zeros(size, dtype, device):
        return filled(size, 0, dtype, device)

    def ones(size, dtype, device):
        return filled(size, 1, dtype, device)

    def empty(size, dtype, device):
        idx = device.index or 0
        backend.check_dtype(dtype, idx, "empty")
        return backend.allocator(idx).empty(tuple(size), dtype.np)

    def full(size, value, dtype, device):
        if dtype.is_complex:
            value = complex(value)
        elif dtype.is_floating_point:
            value = float(value)
        elif dtype is _dt.bool:
            value = bool(value)
        else:
            value = int(value)
        return filled(size, value, dtype, device)

    # (random numbers: the core's default draws them on the host and uploads them)
    for fn in (zeros, ones, empty, full):
        if fn.__name__ in registry:
            kernels[fn.__name__] = fn


# -- what the standard lacks ---------------------------------------------------------------------
def _extra_implementations(dpnp) -> dict[str, Callable]:
    """``impl(ns, *args)`` entries for the kit: ops outside the Array API standard."""

    def erf(ns, a):
        return _erf(ns.xp, a)

    def fill_(ns, a, value):
        a[...] = value if isinstance(value, _NUMBERS) else value

    from dpctl.utils import SequentialOrderManager

    def lin(fn):
        def impl(ns, *args):
            # oneMKL's LAPACK calls wait for their inputs while holding the GIL, and
            # dpnp makes them depend on every task it queued before, including the host
            # tasks that release earlier arguments, which need the GIL: each waits for
            # the other.  Wait for those tasks first (this wait releases the GIL).
            queue = next((x.sycl_queue for x in args if hasattr(x, "usm_data")), None)
            if queue is not None:
                SequentialOrderManager[queue].wait()
            res = fn(*[dpnp.asarray(x) if hasattr(x, "usm_data") else x for x in args])
            return _to_usm(res)
        return impl

    out = {"erf": erf, "fill_": fill_}  # (round: the kit's)
    from .complex_kernels import implementations as _complex_implementations
    out.update(_complex_implementations(dpnp, lin))
    la = dpnp.linalg
    out.update({
        "linalg_inv": lin(la.inv),
        "linalg_det": lin(la.det),
        "linalg_cholesky": lin(lambda a, upper=False: _cholesky(dpnp, a, upper)),
        "linalg_solve": lin(la.solve),
        "linalg_eigh": lin(lambda a, UPLO="L": tuple(la.eigh(a, UPLO=UPLO))),
        "linalg_qr": lin(lambda a, mode="reduced": tuple(la.qr(a, mode=mode))),
        "linalg_svd": lin(lambda a, full_matrices=True: tuple(
            la.svd(a, full_matrices=full_matrices))),
        "linalg_slogdet": lin(lambda a: tuple(la.slogdet(a))),
    })
    return out


def _to_usm(res):
    if isinstance(res, (tuple, list)):
        return tuple(_to_usm(r) for r in res)
    return res.get_array() if hasattr(res, "get_array") else res


def _cholesky(dpnp, a, upper):
    low = dpnp.linalg.cholesky(a)
    return dpnp.swapaxes(low, -1, -2).conj() if upper else low


def _erf(xp, a):
    """erf from the standard's arithmetic and exp (dpnp has no erf): the Taylor series
    below |x| = 2 and the continued fraction of erfc above, each cut where its terms
    fall under float64's resolution.  float16 is computed in float32."""
    half = a.dtype == np.float16
    if half:
        a = xp.astype(a, xp.float32)
    z = xp.abs(a)
    # erf(z) = 2/sqrt(pi) * sum_n (-1)^n z^(2n+1) / (n! (2n+1)); at z = 2 the terms
    # drop below 1e-17 by n = 40, and the largest is ~2.4 (no harmful cancellation).
    small = xp.minimum(z, 2.0)
    z2 = small * small
    term = small * 1.0
    acc = small * 1.0
    for n in range(1, 41):
        term = term * (-z2) / n
        acc = acc + term / (2 * n + 1)
    series = acc * (2.0 / math.sqrt(math.pi))
    # erfc(z) = exp(-z^2)/sqrt(pi) / (z + (1/2)/(z + 1/(z + (3/2)/(z + ...)))), z >= 2,
    # evaluated bottom-up from a fixed depth that converges to double precision there.
    big = xp.maximum(z, 2.0)
    frac = big * 1.0
    for k in range(40, 0, -1):
        frac = big + (k / 2.0) / frac
    erfc = xp.exp(-(big * big)) / (math.sqrt(math.pi) * frac)
    r = xp.where(xp.less(z, 2.0), series, 1.0 - erfc)
    r = xp.where(xp.isnan(a), a, xp.where(xp.less(a, 0), -r, r))
    return xp.astype(r, xp.float16) if half else r
