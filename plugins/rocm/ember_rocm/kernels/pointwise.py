"""Pointwise ops as OpenCL C expressions, plus copies, casts and fills.

Each entry of ``EXPRESSIONS`` is the op's computation written over its schema's
argument names (``{self}``, ``{other}``, ``{alpha}`` …) in the computation type ``T``;
a function of the dtype kind (``"b"``, ``"i"``, ``"u"``, ``"f"``) and the op's static
arguments where the code differs by kind.  ``pointwise_kernel(od)`` turns an entry into
an ember kernel for that op's signature, so argument order never has to be repeated.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..array import CLArray
from .compiler import CTYPES
from .elementwise import elementwise, new_like

__all__ = ["EXPRESSIONS", "BOOL_RESULT", "Operand", "bind_expression", "pointwise_kernel",
           "inplace_kernel", "copy_", "astype", "clone", "contiguous", "fill"]


def _f(float_expr: str, int_expr: str | None = None, bool_expr: str | None = None):
    """An expression choosing by the computation dtype's kind."""
    def pick(kind, static):
        if kind == "f":
            return float_expr
        if kind == "b" and bool_expr is not None:
            return bool_expr
        return int_expr if int_expr is not None else float_expr
    return pick


_FLOORDIV_INT = ("({other} == 0 ? (T_)0 : {other} == -1 ? -{self} : "
                 "({self} / {other} - (({self} % {other} != 0) && "
                 "(({self} < 0) != ({other} < 0)))))")
_REM_INT = ("({other} == 0 ? (T_)0 : {other} == -1 ? (T_)0 : "
            "((({self} % {other}) != 0 && ((({self} % {other}) < 0) != ({other} < 0))) "
            "? ({self} % {other}) + {other} : ({self} % {other})))")
_REM_FLOAT = ("(fmod({self}, {other}) != 0 && ((fmod({self}, {other}) < 0) != "
              "({other} < 0)) ? fmod({self}, {other}) + {other} : fmod({self}, {other}))")


def _div(kind, static):
    mode = static.get("rounding_mode")
    if mode is None:
        return "{self} / {other}"
    if kind == "f":
        return "trunc({self} / {other})" if mode == "trunc" else "floor({self} / {other})"
    if mode == "trunc":
        return "({other} == 0 ? (T_)0 : {other} == -1 ? -{self} : {self} / {other})"
    return _FLOORDIV_INT


def _clamp(kind, static):
    lo = "{min}" if static.get("min", 0) is not None else None
    hi = "{max}" if static.get("max", 0) is not None else None
    e = "{self}"
    if kind == "f":
        # NaN in the input stays NaN (as PyTorch); fmin/fmax would drop it.
        if lo:
            e = f"({e} < {lo} ? {lo} : {e})"
        if hi:
            e = f"({e} > {hi} ? {hi} : {e})"
        return e
    if lo:
        e = f"max({e}, {lo})"
    if hi:
        e = f"min({e}, {hi})"
    return e


_NAN_MAX = "(isnan({self}) || isnan({other}) ? ({self} + {other}) : fmax({self}, {other}))"
_NAN_MIN = "(isnan({self}) || isnan({other}) ? ({self} + {other}) : fmin({self}, {other}))"

#: op name -> expression (str, or f(kind, static) -> str)
EXPRESSIONS: dict = {
    "add": _f("{self} + {alpha} * {other}", bool_expr="{self} | ({alpha} & {other})"),
    "sub": "{self} - {alpha} * {other}",
    "mul": _f("{self} * {other}", bool_expr="{self} & {other}"),
    "div": _div,
    "true_divide": "{self} / {other}",
    "floor_divide": _f("floor({self} / {other})", _FLOORDIV_INT),
    "remainder": _f(_REM_FLOAT, _REM_INT),
    "fmod": _f("fmod({self}, {other})",
               "({other} == 0 || {other} == -1 ? (T_)0 : {self} % {other})"),
    "pow": _f("pow({self}, {other})", "ipow_T_({self}, {other})"),
    "maximum": _f(_NAN_MAX, "max({self}, {other})"),
    "minimum": _f(_NAN_MIN, "min({self}, {other})"),
    "fmax": _f("fmax({self}, {other})", "max({self}, {other})"),
    "fmin": _f("fmin({self}, {other})", "min({self}, {other})"),
    "atan2": "atan2({self}, {other})",
    "hypot": "hypot({self}, {other})",
    "copysign": "copysign({self}, {other})",
    "eq": "{self} == {other}", "ne": "{self} != {other}", "lt": "{self} < {other}",
    "le": "{self} <= {other}", "gt": "{self} > {other}", "ge": "{self} >= {other}",
    "logical_and": "({self} != 0) && ({other} != 0)",
    "logical_or": "({self} != 0) || ({other} != 0)",
    "logical_xor": "({self} != 0) != ({other} != 0)",
    "logical_not": "{self} == 0",
    "bitwise_and": "{self} & {other}", "bitwise_or": "{self} | {other}",
    "bitwise_xor": "{self} ^ {other}",
    "bitwise_not": _f("~{self}", bool_expr="!{self}"),
    "bitwise_left_shift": "{self} << {other}", "bitwise_right_shift": "{self} >> {other}",
    "neg": "-{self}", "positive": "{self}",
    "abs": _f("fabs({self})", "({self} < 0 ? -{self} : {self})", "{self}"),
    # PyTorch: sign(NaN) is 0
    "sign": _f("(T_)(({self} > 0) - ({self} < 0))", bool_expr="{self}"),
    "sgn": _f("(T_)(({self} > 0) - ({self} < 0))", bool_expr="{self}"),
    "signbit": _f("signbit({self})", "{self} < 0", "0"),
    "exp": "exp({self})", "exp2": "exp2({self})", "expm1": "expm1({self})",
    "log": "log({self})", "log2": "log2({self})", "log10": "log10({self})",
    "log1p": "log1p({self})", "sqrt": "sqrt({self})", "rsqrt": "rsqrt({self})",
    "sin": "sin({self})", "cos": "cos({self})", "tan": "tan({self})",
    "asin": "asin({self})", "acos": "acos({self})", "atan": "atan({self})",
    "sinh": "sinh({self})", "cosh": "cosh({self})", "tanh": "tanh({self})",
    "asinh": "asinh({self})", "acosh": "acosh({self})", "atanh": "atanh({self})",
    "erf": "erf({self})", "erfc": "erfc({self})", "lgamma": "lgamma({self})",
    "sigmoid": "(T_)1 / ((T_)1 + exp(-{self}))",
    "relu": "({self} < 0 ? (T_)0 : {self})",
    "floor": _f("floor({self})", "{self}"), "ceil": _f("ceil({self})", "{self}"),
    "trunc": _f("trunc({self})", "{self}"),
    # half to even, as PyTorch; decimals scale by a power of ten first
    "round": _f("({decimals} == 0 ? rint({self}) : {decimals} > 0 ? "
                "rint({self} * pow((T_)10, {decimals})) / pow((T_)10, {decimals}) : "
                "rint({self} / pow((T_)10, -{decimals})) * pow((T_)10, -{decimals}))",
                "{self}"),
    "frac": "{self} - trunc({self})",
    "reciprocal": "(T_)1 / {self}", "square": "{self} * {self}",
    "isnan": _f("isnan({self})", "0"), "isinf": _f("isinf({self})", "0"),
    "isfinite": _f("isfinite({self})", "1"),
    "isposinf": _f("isinf({self}) && {self} > 0", "0"),
    "isneginf": _f("isinf({self}) && {self} < 0", "0"),
    "clamp": _clamp, "clip": _clamp,
    "clamp_min": _f("(isnan({other}) ? {other} : {self} < {other} ? {other} : {self})",
                    "max({self}, {other})"),
    "clamp_max": _f("(isnan({other}) ? {other} : {self} > {other} ? {other} : {self})",
                    "min({self}, {other})"),
    "where": "{condition} != 0 ? {self} : {other}",
    "lerp": "{self} + {weight} * ({end} - {self})",
    "addcmul": "{self} + {value} * {tensor1} * {tensor2}",
    "addcdiv": "{self} + {value} * {tensor1} / {tensor2}",
    # equal infinities: self - other is NaN, the answer is that infinity (as PyTorch)
    "logaddexp": ("(isinf({self}) && {self} == {other} ? {self} : "
                  "max({self}, {other}) + log1p(exp(-fabs({self} - {other}))))"),
    "silu": "{self} / ((T_)1 + exp(-{self}))",
    "softplus": ("({self} * {beta} > {threshold} ? {self} : "
                 "log1p(exp({self} * {beta})) / {beta})"),
    "gelu": "(T_)0.5 * {self} * ((T_)1 + erf({self} * (T_)0.7071067811865476))",
    "leaky_relu": "({self} > 0 ? {self} : {self} * {negative_slope})",
    "hardtanh": "({self} < {min_val} ? {min_val} : {self} > {max_val} ? {max_val} : {self})",
    # relu's backward (a composite op, one pass here); a NaN in self passes the gradient
    "threshold_backward": "({self} <= {threshold} ? (T_)0 : {grad_output})",
}

#: ops whose result is bool whatever the computation dtype
BOOL_RESULT = frozenset({"eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or",
                         "logical_xor", "logical_not", "isnan", "isinf", "isfinite",
                         "isposinf", "isneginf", "signbit"})

#: helper functions integer expressions call (``T_`` is the integer type)
_INT_HELPERS = {
    "pow": """
inline T_ ipow_T_(T_ b, T_ e) {
    if (e < 0) return b == 1 ? (T_)1 : (b == -1 ? ((e & 1) ? (T_)-1 : (T_)1) : (T_)0);
    T_ r = 1;
    while (e) { if (e & 1) r *= b; b *= b; e >>= 1; }
    return r;
}""",
}

_KIND = {"b": "b", "i": "i", "u": "u", "f": "f"}


def _kind(dtype: np.dtype, op: str) -> str:
    kind = _KIND.get(dtype.kind)
    if kind is None:  # complex: the clear error of the one dtype table
        from .compiler import ctype
        ctype(dtype, op)
    return kind


def _result_dtype(name: str, compute: np.dtype, out_dtype) -> np.dtype:
    if out_dtype is not None:
        return out_dtype
    return np.dtype(np.bool_) if name in BOOL_RESULT else compute


class Operand(NamedTuple):
    """A tensor operand known by its layout only: what the graph executor
    (``graph_executor``) binds an op's expression over before any array exists."""

    shape: tuple
    dtype: np.dtype


_TENSORS = (CLArray, Operand)


def _compute_dtype(values) -> np.dtype:
    dts = [v.dtype for v in values if isinstance(v, _TENSORS)]
    return np.result_type(*dts) if dts else np.dtype(np.float32)


def _bind(name, expr_spec, argnames, values, compute, helpers, prefix="v_"):
    """Fill the expression with variable names (``prefix`` + argument name) and split
    tensors from scalars."""
    static = {n: v for n, v in zip(argnames, values, strict=False)
              if v is None or isinstance(v, str)}
    expr = expr_spec(_kind(compute, name), static) if callable(expr_spec) else expr_spec
    if compute.kind in "ub":
        # Unsigned types never equal -1: drop the signed-overflow guards (the OpenCL
        # compiler warns "comparison of constant -1 ... is always false" otherwise).
        expr = expr.replace(" || {other} == -1", "").replace("{other} == -1", "0")
        helpers = helpers.replace("b == -1", "0")
    tensors, scalars, names = [], [], {}
    for n, v in zip(argnames, values, strict=False):
        var = f"{prefix}{n}"
        names[n] = var
        if isinstance(v, _TENSORS):
            tensors.append((var, v))
        elif isinstance(v, (bool, int, float, np.number)):
            scalars.append((var, compute.type(v), compute))
    expr = expr.replace("T_", "%T%").format(**names).replace("%T%", "T_")
    return expr, tensors, scalars, helpers if compute.kind in "iub" else ""


def pointwise_kernel(od, name: str | None = None):
    """An ember kernel for pointwise op ``od`` from its ``EXPRESSIONS`` entry."""
    name = name or od.name
    spec = EXPRESSIONS[name]
    argnames = [a.name for a in od.args]
    helpers = _INT_HELPERS.get(name, "")

    def kernel(*values):
        expr, tensors, scalars, compute, result, h = bind_expression(
            name, argnames, values, spec, helpers)
        shape = _broadcast([a.shape for _, a in tensors])
        first = tensors[0][1]
        out = new_like(first.dev, shape, result)
        return elementwise(name, expr, out, tensors, scalars, compute, h)
    kernel.__name__ = f"rocm_{od.name}"
    kernel.expression = name  # (the graph executor fuses the ops whose kernel this is)
    return kernel


def bind_expression(name: str, argnames: list, values, spec=None, helpers=None,
                    prefix: str = "v_") -> tuple:
    """Op ``name``'s expression bound to its arguments ``values`` (schema order: arrays
    or ``Operand``s, numbers, static values), as its kernel computes it:
    ``(expr, tensors, scalars, compute dtype, result dtype, helpers)`` -- ``expr`` names
    each operand ``prefix + argument name`` and the computation type ``T_``;
    ``tensors`` is ``[(var, operand)]``, ``scalars`` ``[(var, value, dtype)]``."""
    spec = EXPRESSIONS[name] if spec is None else spec
    helpers = _INT_HELPERS.get(name, "") if helpers is None else helpers
    compute = _compute_dtype(values[i] for i in range(len(values))
                             if argnames[i] != "condition")
    if name == "div" and compute.kind != "f" and \
            values[argnames.index("rounding_mode")] is None:
        from ember.dtypes import get_default_dtype
        compute = get_default_dtype().np  # true division of integers
    expr, tensors, scalars, h = _bind(name, spec, argnames, values, compute, helpers,
                                      prefix)
    return expr, tensors, scalars, compute, _result_dtype(name, compute, None), h


def inplace_kernel(od, base: str):
    """An in-place kernel (``add_``) writing ``base``'s expression into ``self``."""
    spec = EXPRESSIONS[base]
    argnames = [a.name for a in od.args]
    helpers = _INT_HELPERS.get(base, "")

    def kernel(*values):
        target = values[0]
        compute = _compute_dtype(values[i] for i in range(len(values))
                                 if argnames[i] != "condition")
        expr, tensors, scalars, h = _bind(base, spec, argnames, values, compute, helpers)
        elementwise(od.name, expr, target, tensors, scalars, compute, h)
    kernel.__name__ = f"rocm_{od.name}"
    return kernel


def _broadcast(shapes) -> tuple:
    nd = max((len(s) for s in shapes), default=0)
    out = [1] * nd
    for s in shapes:
        for i, v in enumerate(s, start=nd - len(s)):
            if v != 1:
                out[i] = v
    return tuple(out)


# -- copies and casts ----------------------------------------------------------------------

# Contiguous copies and fills of a dtype the kernels know go through the runtime's own
# commands (clEnqueueCopyBuffer, clEnqueueFillBuffer), as PyTorch's use memcpy/memset on
# a GPU: no program to build or load for them (a warm process's first step otherwise
# loaded two programs, the backward's seed fill and the momentum buffers' clone, only
# for these), and ordered on the same in-order queue as every kernel.

def _bytes_copy(dst: CLArray, src: CLArray) -> CLArray:
    """``dst[...] = src`` for two contiguous arrays of the same dtype and size in
    different storages (so they cannot overlap), by the runtime's buffer copy."""
    import pyopencl as cl
    n = dst.size * dst.itemsize
    if n:
        cl.enqueue_copy(dst.dev.queue, dst.buffer, src.buffer, byte_count=n,
                        src_offset=src.offset * src.itemsize,
                        dst_offset=dst.offset * dst.itemsize)
    return dst


def _native_copy(dst: CLArray, src: CLArray) -> bool:
    return (dst.dtype == src.dtype and dst.shape == src.shape and dst.storage is not src.storage
            and dst.dtype in CTYPES and dst.is_contiguous and src.is_contiguous)


def copy_(self: CLArray, src: CLArray, non_blocking: bool = False) -> None:
    """Copy ``src`` (broadcast, cast) into the strided view ``self``."""
    if _native_copy(self, src):
        _bytes_copy(self, src)
        return
    elementwise("copy_", "v_src", self, [("v_src", src)], [], src.dtype)


def astype(a: CLArray, dtype) -> CLArray:
    out = new_like(a.dev, a.shape, dtype.np)
    return elementwise("astype", "v_a", out, [("v_a", a)], [], a.dtype)


def clone(a: CLArray) -> CLArray:
    out = new_like(a.dev, a.shape, a.dtype)
    if _native_copy(out, a):
        return _bytes_copy(out, a)
    return elementwise("clone", "v_a", out, [("v_a", a)], [], a.dtype)


def contiguous(a: CLArray) -> CLArray:
    return a if a.is_contiguous else clone(a)


def fill(out: CLArray, value) -> CLArray:
    """Set every element of ``out`` to ``value``."""
    dt = out.dtype
    if dt in CTYPES and out.is_contiguous:
        import pyopencl as cl
        n = out.size * out.itemsize
        if n:  # (the pattern: the value's bytes in the stored dtype; bool stores 0 or 1)
            cl.enqueue_fill_buffer(out.dev.queue, out.buffer, np.array(dt.type(value), dt),
                                   out.offset * out.itemsize, n)
        return out
    return elementwise("fill", "v", out, [], [("v", dt.type(value), dt)], dt)
