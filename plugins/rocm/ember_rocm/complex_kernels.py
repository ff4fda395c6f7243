"""complex64/complex128 on rocm: paired floats in OpenCL C, the DFTs on the host.

A complex ``CLArray`` stores numpy's layout, one ``float2`` (``double2`` for
complex128, which needs cl_khr_fp64) per element, so creation and host copies are
plain byte copies.  What runs on complex tensors:

* **views**: ``view_as_real`` is the same buffer with every stride and the offset
  doubled and a last dim of 2; ``view_as_complex`` the reverse (a copy first when the
  parts are not adjacent).  The shape-only views (reshape of contiguous data, permute,
  expand, slicing) are dtype-blind and work as they are.
* **copies** (``clone``, ``contiguous``, ``copy_``, ``astype``, ``fill_``, creation)
  run the real kernels over those real views of the parts, so they need no new code.
* **pointwise arithmetic** (``add``/``sub`` with ``alpha``, ``mul``, ``div``, ``neg``,
  ``conj_physical``, ``abs``, ``eq``, ``ne``, ``isnan``/``isinf``/``isfinite`` and the
  in-place ``add_``, ``sub_``, ``mul_``, ``div_``, ``neg_``) is generated OpenCL C over
  ``float2``/``double2``; the division is Smith's algorithm, as numpy's.
* **the DFTs** (``_fft_c2c``, ``_fft_r2c``, ``_fft_c2r``) run numpy.fft on the host
  (one round trip each; declared in the backend's ``cpu_kernels``).

Every other op reaching a kernel with a complex operand raises ``UnsupportedDtype``
(a ``TypeError`` and ``NotImplementedForDevice``) naming the op and the dtype, from
``compiler.ctype``, the one place that maps dtypes to OpenCL C types.
"""

from __future__ import annotations

import math

import numpy as np

from .array import CLArray
from .kernels.pointwise import _broadcast

__all__ = ["cplx_source", "COMPLEX", "HOST_OPS", "complex_dtypes", "install", "real_view",
           "contiguous"]

COMPLEX = frozenset({np.dtype(np.complex64), np.dtype(np.complex128)})
_REAL = {np.dtype(np.complex64): np.dtype(np.float32),
         np.dtype(np.complex128): np.dtype(np.float64)}
_CPLX = {v: k for k, v in _REAL.items()}
_LONG = np.dtype(np.int64)

#: ops that run on the host (numpy.fft through the CPU plugin's kernels)
HOST_OPS = frozenset({"_fft_c2c", "_fft_r2c", "_fft_c2r"})


def complex_dtypes(fp64: bool) -> frozenset:
    """The ember complex dtypes a device holds (complex128 needs float64)."""
    from ember import dtypes as _dt
    return frozenset({_dt.complex64, _dt.complex128} if fp64 else {_dt.complex64})


# -- views of the parts -----------------------------------------------------------------
def real_view(a: CLArray) -> CLArray:
    """The ``(*a.shape, 2)`` real view of complex ``a``'s parts (same buffer)."""
    return CLArray(a.storage, tuple(a.shape) + (2,), _REAL[a.dtype],
                   tuple(2 * s for s in a.strides) + (1,), 2 * a.offset)


def _part(a: CLArray, i: int) -> CLArray:
    """The real (``i=0``) or imaginary (``i=1``) part of complex ``a`` as a view."""
    return CLArray(a.storage, tuple(a.shape), _REAL[a.dtype],
                   tuple(2 * s for s in a.strides), 2 * a.offset + i)


def view_as_real(a: CLArray) -> CLArray:
    return real_view(a)


def view_as_complex(a: CLArray) -> CLArray:
    from .kernels.pointwise import clone
    adjacent = a.strides[-1] == 1 and a.offset % 2 == 0 and all(
        s % 2 == 0 for s, n in zip(a.strides[:-1], a.shape[:-1], strict=True) if n > 1)
    if not adjacent:
        a = clone(a)
    strides = tuple(s // 2 if n > 1 else 1 for s, n in zip(a.strides[:-1], a.shape[:-1],
                                                            strict=True))
    return CLArray(a.storage, tuple(a.shape[:-1]), _CPLX[a.dtype], strides, a.offset // 2)


# -- copies, casts and fills over the real views ----------------------------------------
def _copy_into(dst: CLArray, src) -> None:
    """``dst[...] = src`` (broadcast, cast) where either side may be complex."""
    from .kernels.pointwise import copy_, fill
    d_c, s_c = dst.dtype in COMPLEX, isinstance(src, CLArray) and src.dtype in COMPLEX
    if d_c and s_c:
        copy_(real_view(dst), real_view(src))
    elif d_c:
        copy_(_part(dst, 0), src)
        fill(_part(dst, 1), 0)
    else:  # complex to real keeps the real part (PyTorch warns and does the same)
        copy_(dst, _part(src, 0))


def clone(a: CLArray) -> CLArray:
    out = a.dev.empty(a.shape, a.dtype)
    _copy_into(out, a)
    return out


def contiguous(a: CLArray) -> CLArray:
    """``a`` itself when C-contiguous, else a contiguous copy (any dtype)."""
    if a.is_contiguous:
        return a
    if a.dtype in COMPLEX:
        return clone(a)
    from .kernels.pointwise import contiguous as real_contiguous
    return real_contiguous(a)


def fill(out: CLArray, value) -> CLArray:
    from .kernels.pointwise import fill as real_fill
    value = complex(value)
    real_fill(_part(out, 0), value.real)
    real_fill(_part(out, 1), value.imag)
    return out


def _is_complex(x) -> bool:
    return x.__class__ is complex or isinstance(x, CLArray) and x.dtype in COMPLEX


# -- pointwise arithmetic in float2 / double2 -------------------------------------------
_HELPERS = """
inline C_ cmul(C_ a, C_ b) { return CPLX(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x); }
inline C_ cdiv(C_ a, C_ b) {
    /* Smith's algorithm, as numpy: no overflow for large |b|; 0/0 gives NaN, x/0 inf */
    const F_ br = fabs(b.x), bi = fabs(b.y);
    if (br >= bi) {
        if (br == 0 && bi == 0) return CPLX(a.x / br, a.y / bi);
        const F_ r = b.y / b.x, s = (F_)1 / (b.x + b.y * r);
        return CPLX((a.x + a.y * r) * s, (a.y - a.x * r) * s);
    }
    const F_ r = b.x / b.y, s = (F_)1 / (b.y + b.x * r);
    return CPLX((a.x * r + a.y) * s, (a.y * r - a.x) * s);
}
"""

#: op -> (expression over a, b (complex values), alpha; result kind: "c", "f" or "b")
#: (the unary ones read only ``a``)
_UNARY = frozenset({"neg", "conj_physical", "abs", "isnan", "isinf", "isfinite"})
_EXPRESSIONS = {
    "add": ("a + cmul(alpha, b)", "c"), "sub": ("a - cmul(alpha, b)", "c"),
    "mul": ("cmul(a, b)", "c"), "div": ("cdiv(a, b)", "c"), "true_divide": ("cdiv(a, b)", "c"),
    "neg": ("-a", "c"), "conj_physical": ("CPLX(a.x, -a.y)", "c"),
    "abs": ("hypot(a.x, a.y)", "f"),
    "eq": ("a.x == b.x && a.y == b.y", "b"), "ne": ("a.x != b.x || a.y != b.y", "b"),
    "isnan": ("isnan(a.x) || isnan(a.y)", "b"), "isinf": ("isinf(a.x) || isinf(a.y)", "b"),
    "isfinite": ("isfinite(a.x) && isfinite(a.y)", "b"),
}

# (CPLX(re, im) builds a complex value: an OpenCL vector literal here; the CUDA dialect,
# ember.kit.kernel_dialect, defines its own)
_SOURCE = """#define C_ $C
#define F_ $F
#ifndef CPLX
#define CPLX(re, im) ((C_)(re, im))
#endif
$HELPERS
__kernel void cplx(const long n, __global $R* out, const long out_off$PARAMS$SIZES)
{
    const long gid = get_global_id(0);
    if (gid >= n) return;
    long r = gid;
$INDEX
$LOADS
    out[out_off + $OUT_INDEX] = $STORE;
}
"""


def _ctype(dt: np.dtype) -> str:
    from .kernels.compiler import ctype
    return {np.dtype(np.complex64): "float2", np.dtype(np.complex128): "double2"}.get(dt) \
        or ctype(dt)


def cplx_source(name: str, cdt: np.dtype, out_dtype: np.dtype, nd: int, tensors: list,
                numbers: list) -> str:
    """The OpenCL C of complex op ``name`` computed in ``cdt`` (complex64/128), stored
    as ``out_dtype``, over ``nd`` dims; ``tensors`` are the operands' ``(var, dtype)``,
    ``numbers`` the variables of complex numbers passed as (re, im) arguments."""
    expr, _ = _EXPRESSIONS[name]
    C, F = _ctype(cdt), _ctype(_REAL[cdt])

    def index(k):
        return " + ".join(f"i{d} * st{k}_{d}" for d in range(nd)) or "0"

    idx = [f"    const long i{d} = r % sz{d}; r /= sz{d};" for d in range(nd - 1, -1, -1)]
    params = ["".join(f", const long st0_{d}" for d in range(nd))]
    loads = []
    for k, (var, dt) in enumerate(tensors, start=1):
        T = _ctype(dt)
        params.append(f", __global const {T}* in{k}, const long off{k}")
        params += [f", const long st{k}_{d}" for d in range(nd)]
        v = f"in{k}[off{k} + {index(k)}]"
        if dt in COMPLEX:
            v = v if dt == cdt else f"convert_{C}({v})"
        else:
            v = f"CPLX((F_){v}, (F_)0)"
        loads.append(f"    const C_ {var} = {v};")
    for var in numbers:
        params.append(f", const F_ {var}_re, const F_ {var}_im")
        loads.append(f"    const C_ {var} = CPLX({var}_re, {var}_im);")
    store = expr
    if out_dtype in COMPLEX:
        store = f"convert_{_ctype(out_dtype)}({expr})" if out_dtype != cdt else expr
    elif out_dtype == np.bool_:
        store = f"(uchar)(({expr}) != 0)"
    else:
        store = f"({_ctype(out_dtype)})({expr})"
    # (get_kernel enables cl_khr_fp64 for sources naming double)
    return (_SOURCE.replace("$C", C).replace("$F", F).replace("$HELPERS", _HELPERS)
            .replace("$R", _ctype(out_dtype)).replace("$PARAMS", "".join(params))
            .replace("$SIZES", "".join(f", const long sz{d}" for d in range(nd)))
            .replace("$INDEX", "\n".join(idx)).replace("$LOADS", "\n".join(loads))
            .replace("$OUT_INDEX", index(0)).replace("$STORE", store))


def _run(name: str, out: CLArray, operands: list, alpha) -> CLArray:
    """``out[i] = expression(a, b)`` over every element; ``operands`` are ``(var,
    CLArray or Python number)``, broadcast to ``out``'s shape."""
    from .kernels.compiler import get_kernel, launch_size
    from .kernels.elementwise import broadcast_strides
    dtypes = [x.dtype for _, x in operands if isinstance(x, CLArray)] + [out.dtype]
    wide = any(d in (np.dtype(np.complex128), np.dtype(np.float64)) for d in dtypes)
    cdt = np.dtype(np.complex128 if wide else np.complex64)
    fdt = _REAL[cdt]
    n = math.prod(out.shape)
    if n == 0:
        return out
    shape = out.shape
    nd = len(shape)
    tensors = [(v, x) for v, x in operands if isinstance(x, CLArray)]
    numbers = [(v, complex(x)) for v, x in operands if not isinstance(x, CLArray)]
    numbers.append(("alpha", complex(1 if alpha is None else alpha)))

    key = ("cplx", name, cdt, out.dtype, nd, tuple((v, x.dtype) for v, x in tensors),
           tuple(v for v, _ in numbers))
    source = lambda: cplx_source(name, cdt, out.dtype, nd,
                                 [(v, x.dtype) for v, x in tensors], [v for v, _ in numbers])
    arg_dtypes = [_LONG, None, _LONG] + [_LONG] * nd
    arg_dtypes += ([None, _LONG] + [_LONG] * nd) * len(tensors)
    arg_dtypes += [fdt, fdt] * len(numbers) + [_LONG] * nd
    k = get_kernel(out.dev, key, source, "cplx", arg_dtypes)
    args = [n, out.buffer, out.offset, *out.strides]
    for _, x in tensors:
        args += [x.buffer, x.offset, *broadcast_strides(x, shape)]
    for _, z in numbers:
        args += [z.real, z.imag]
    args += list(shape)
    k(out.dev.queue, launch_size(n), None, *args)
    return out



def _result_dtype(name: str, operands: list) -> np.dtype:
    kind = _EXPRESSIONS[name][1]
    dts = [x.dtype for x in operands if isinstance(x, CLArray)]
    wide = any(d in (np.dtype(np.complex128), np.dtype(np.float64)) for d in dts)
    if kind == "b":
        return np.dtype(np.bool_)
    if kind == "f":
        return np.dtype(np.float64 if wide else np.float32)
    return np.dtype(np.complex128 if wide else np.complex64)


def _pointwise(name: str, base):
    """The kernel of op ``name``: the complex one when an operand is complex, else
    the backend's own ``base``."""
    binary = name not in _UNARY

    def kernel(self, *rest):
        other = rest[0] if binary and rest else None
        if not (_is_complex(self) or binary and _is_complex(other)):
            return base(self, *rest)
        alpha = rest[1] if name in ("add", "sub") and len(rest) > 1 else None
        if name == "div" and len(rest) > 1 and rest[1] is not None:
            return base(self, *rest)  # (rounding modes: refused by the core for complex)
        ops = [("a", self)] + ([("b", other)] if binary else [])
        ref = next(x for _, x in ops if isinstance(x, CLArray))
        shape = _broadcast([x.shape for _, x in ops if isinstance(x, CLArray)])
        out = ref.dev.empty(shape, _result_dtype(name, [x for _, x in ops]))
        return _run(name, out, ops, alpha)
    kernel.__name__ = f"rocm_complex_{name}"
    # the real kernel's pointwise expression: the graph executor fuses real-dtype nodes
    # through it (complex ones it leaves to this kernel)
    if getattr(base, "expression", None) is not None:
        kernel.expression = base.expression
    return kernel


def _inplace(name: str, base):
    binary = name not in _UNARY

    def kernel(self, *rest):
        other = rest[0] if binary and rest else None
        if not (_is_complex(self) or binary and _is_complex(other)):
            return base(self, *rest)
        if name == "div" and len(rest) > 1 and rest[1] is not None:
            return base(self, *rest)
        alpha = rest[1] if name in ("add", "sub") and len(rest) > 1 else None
        ops = [("a", self)] + ([("b", other)] if binary else [])
        if any(isinstance(x, CLArray) and x.storage is self.storage and x is not self
               for _, x in ops[1:]):  # an overlapping operand: compute, then copy back
            from .kernels.pointwise import clone as real_clone
            ops[1] = ("b", clone(other) if other.dtype in COMPLEX else real_clone(other))
        _run(name, self, ops, alpha)
    kernel.__name__ = f"rocm_complex_{name}_"
    return kernel


# -- the DFTs on the host ----------------------------------------------------------------
def _host(backend, name: str):
    from ember.device import get_backend

    from .kernels.host import upload
    cpu = get_backend("cpu").kernels[name]

    def kernel(a, *args):
        return upload(a.dev, cpu(backend.to_host(a), *args))
    kernel.__name__ = f"rocm_host_{name}"
    return kernel


# -- registration ------------------------------------------------------------------------
def install(backend, table: dict) -> None:
    """Add the complex kernels to rocm's kernel ``table`` (wrapping the real ones of
    the ops that take both)."""
    from ember.schema import registry

    def state(device):
        return backend.state(device.index or 0)

    def creation(name):
        base = table[name]

        def kernel(*args):
            dtype, device = args[-2], args[-1]
            if not dtype.is_complex:
                return base(*args)
            out = state(device).empty(tuple(args[0]), dtype.np)
            if name != "empty":
                fill(out, {"zeros": 0, "ones": 1}.get(name, args[1] if len(args) > 3 else 0))
            return out
        kernel.__name__ = f"rocm_complex_{name}"
        return kernel

    def arange(start, end, step, dtype, device):
        if not dtype.is_complex:
            return base_arange(start, end, step, dtype, device)
        from ember import dtypes as _dt
        real = base_arange(start, end, step, _dt.to_real(dtype), device)
        out = real.dev.empty(real.shape, dtype.np)
        _copy_into(out, real)
        return out

    def astype(a, dtype):
        if a.dtype not in COMPLEX and not dtype.is_complex:
            return base_astype(a, dtype)
        out = a.dev.empty(a.shape, dtype.np)
        _copy_into(out, a)
        return out

    def copy_(self, src, non_blocking=False):
        if self.dtype not in COMPLEX and src.dtype not in COMPLEX:
            return base_copy_(self, src, non_blocking)
        _copy_into(self, src)

    def clone_(a):
        return clone(a) if a.dtype in COMPLEX else base_clone(a)

    def fill_(self, value):
        if self.dtype not in COMPLEX:
            return base_fill_(self, value)
        fill(self, value)

    base_arange, base_astype = table["arange"], table["astype"]
    base_copy_, base_clone, base_fill_ = table["copy_"], table["clone"], table["fill_"]
    new = {name: creation(name) for name in ("zeros", "ones", "empty", "full")}
    new.update({"arange": arange, "astype": astype, "copy_": copy_, "clone": clone_,
                "contiguous": contiguous, "fill_": fill_,
                "view_as_real": view_as_real, "view_as_complex": view_as_complex})
    for name in _EXPRESSIONS:
        if name in table or name == "conj_physical":  # (a copy for real dtypes)
            new[name] = _pointwise(name, table.get(name, base_clone))
        if name + "_" in table and _EXPRESSIONS[name][1] == "c":
            new[name + "_"] = _inplace(name, table[name + "_"])
    for name in HOST_OPS:
        try:
            new[name] = _host(backend, name)
        except Exception:  # no CPU plugin: no DFTs on rocm either (as host.HOST_OPS)
            pass
    table.update({k: v for k, v in new.items() if k in registry})
