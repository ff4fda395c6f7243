"""The op database: one entry per op of ``ember.schema.registry``.

Each :class:`OpEntry` has a sample-input generator (0-d, empty, broadcasting,
transposed and expanded inputs, NaN/inf and large values where meaningful), the dtypes
to try, and a reference computed independently with numpy.  Most entries are generated
from the op's tags and signature — pointwise ops with one, two or three tensors,
``op(self, dim, keepdim)`` reductions, in-place variants of ops that have an entry —
and only need a numpy function in ``POINTWISE_REFS``/``REDUCTION_REFS``; special ops
have explicit entries (``EXPLICIT``).  :func:`missing` lists registry ops without one;
the suite fails while it is not empty, so coverage cannot silently rot.

Dtypes: every entry is tried with every dtype it lists; when the op's shape rule
refuses a dtype (``exp`` into an integer tensor, linear algebra in float16) the
combination is reported "not applicable", not failed.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np

from ember.schema import registry

from .samples import ALL_DTYPES, COMPLEX, FLOATS, INTS, Sample, T, specials, values

__all__ = ["OpEntry", "entries", "entry", "missing", "POINTWISE_REFS", "REDUCTION_REFS",
           "EXPLICIT"]


@dataclasses.dataclass
class OpEntry:
    """How the suite tests one op."""

    name: str
    #: ``samples(dtype_name, rng) -> list[Sample]``
    samples: Callable
    #: numpy reference over the samples' host arguments (floats in float64); returns an
    #: array, or a tuple/list of arrays for ops with several outputs
    ref: Callable | None
    dtypes: tuple = ALL_DTYPES
    #: "values" (compare with ref), "meta" (shape and dtype only: empty, random),
    #: or a function ``check(outputs, sample) -> str | None`` (decompositions whose
    #: factors are not unique, such as QR)
    compare: object = "values"
    #: factor on the dtype's tolerances (accumulating ops)
    tol: float = 1.0
    #: whether gradients are checked (differentiable float outputs)
    grad: bool = True
    #: the op's entry point (``ember.<name>`` or the registry's)
    fn: Callable | None = None
    #: output shapes depend on the data (nonzero, masked_select): the schema's shape
    #: is a bound, not checked
    dynamic_shape: bool = False
    #: positions of the tensor arguments to differentiate (``None``: every floating
    #: one); losses are differentiated w.r.t. their input only, as PyTorch's are
    grad_args: tuple | None = None

    @property
    def op(self):
        return registry[self.name]

    def call(self, *args, **kwargs):
        return (self.fn or self.op.fn)(*args, **kwargs)


# --- numpy references ------------------------------------------------------------------

def _sigmoid(x):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


_erf = np.vectorize(math.erf, otypes=[np.float64])


def _div(a, b, rounding_mode=None):
    with np.errstate(divide="ignore", invalid="ignore"):
        if rounding_mode is None:
            return np.true_divide(a, b)
        if rounding_mode == "floor":
            return np.floor_divide(a, b)
        q = np.true_divide(a, b)
        if np.result_type(a, b).kind in "iu":
            return np.trunc(q).astype(np.result_type(a, b))
        return np.trunc(q)


def _round(a, decimals=0):
    return np.round(a, decimals)


def _lgamma_ref(a):
    def one(v):
        if math.isnan(v):
            return math.nan
        if math.isinf(v) or (v <= 0 and v == math.floor(v)):
            return math.inf  # the poles and both infinities
        return math.lgamma(v)
    return np.vectorize(one, otypes=[np.float64])(np.asarray(a, np.float64))


def _erfinv_ref(a):
    def one(y):
        if math.isnan(y) or abs(y) > 1:
            return math.nan
        if abs(y) == 1:
            return math.copysign(math.inf, y)
        lo, hi = -6.0, 6.0  # bisection on math.erf: slow, exact to the last bit
        for _ in range(200):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if math.erf(mid) < y else (lo, mid)
        return (lo + hi) / 2
    return np.vectorize(one, otypes=[np.float64])(np.asarray(a, np.float64))


def _shift(fn):
    return lambda a, b: fn(a, b)


#: op name -> numpy reference for pointwise ops (arguments in schema order)
POINTWISE_REFS: dict[str, Callable] = {
    "add": lambda a, b, alpha=1: np.add(a, np.multiply(b, alpha) if alpha != 1 else b),
    "sub": lambda a, b, alpha=1: np.subtract(a, np.multiply(b, alpha) if alpha != 1 else b),
    "mul": np.multiply, "true_divide": np.true_divide, "div": _div,
    "floor_divide": np.floor_divide, "remainder": np.remainder, "fmod": np.fmod,
    "pow": np.power, "maximum": np.maximum, "minimum": np.minimum, "atan2": np.arctan2,
    "neg": np.negative, "abs": np.abs, "reciprocal": lambda a: np.divide(1.0, a),
    "square": np.square, "eq": np.equal, "ne": np.not_equal, "lt": np.less,
    "le": np.less_equal, "gt": np.greater, "ge": np.greater_equal,
    "bitwise_and": np.bitwise_and, "bitwise_or": np.bitwise_or,
    "bitwise_xor": np.bitwise_xor, "bitwise_left_shift": np.left_shift,
    "bitwise_right_shift": np.right_shift, "bitwise_not": np.invert,
    "logical_and": np.logical_and, "logical_or": np.logical_or,
    "logical_xor": np.logical_xor, "logical_not": np.logical_not,
    "isnan": np.isnan, "isinf": np.isinf, "isfinite": np.isfinite,
    # numpy's formula is PyTorch's; bools compare exactly (numpy cannot subtract them)
    "isclose": lambda a, b: np.equal(a, b) if a.dtype == np.bool_ else np.isclose(a, b),
    "exp": np.exp, "exp2": np.exp2, "expm1": np.expm1, "log": np.log, "log2": np.log2,
    "log10": np.log10, "log1p": np.log1p, "sqrt": np.sqrt,
    "rsqrt": lambda a: 1.0 / np.sqrt(a), "sin": np.sin, "cos": np.cos, "tan": np.tan,
    "tanh": np.tanh, "sigmoid": _sigmoid, "erf": _erf, "floor": np.floor, "ceil": np.ceil,
    "trunc": np.trunc, "sign": lambda a: np.where(np.isnan(a), 0, np.sign(a)),  # as PyTorch
    "round": _round,
    "clamp_min": np.maximum, "clamp_max": np.minimum,
    "addcmul": lambda s, a, b, value=1: s + value * a * b,
    "addcdiv": lambda s, a, b, value=1: s + value * a / b,
    "lerp": lambda s, e, w: s + w * (e - s),
    "where": lambda c, a, b: np.where(c, a, b),
    "asin": np.arcsin, "acos": np.arccos, "atan": np.arctan, "sinh": np.sinh,
    "cosh": np.cosh, "asinh": np.arcsinh, "acosh": np.arccosh, "atanh": np.arctanh,
    "relu": lambda a: np.maximum(a, 0).astype(a.dtype),
    "silu": lambda a: a * _sigmoid(a), "hypot": np.hypot, "copysign": np.copysign,
    "logaddexp": np.logaddexp, "signbit": np.signbit, "positive": np.positive,
    "frac": lambda a: a - np.trunc(a), "deg2rad": np.deg2rad, "rad2deg": np.rad2deg,
    "xlogy": lambda a, b: np.where(np.isnan(b), np.nan,
                                   np.where(a == 0, 0, a * np.log(b.astype(np.result_type(a, b))))),
    "heaviside": lambda a, b: np.where(a == 0, b, (a > 0).astype(np.result_type(a, b))),
    "fmax": np.fmax, "fmin": np.fmin,
    "isposinf": lambda a: np.isposinf(a) if a.dtype.kind == "f" else np.zeros(a.shape, bool),
    "isneginf": lambda a: np.isneginf(a) if a.dtype.kind == "f" else np.zeros(a.shape, bool),
    "isreal": lambda a: np.isreal(a),
    "sinc": np.sinc,
    "lgamma": lambda a: _lgamma_ref(a), "erfinv": lambda a: _erfinv_ref(a),
}

#: argument domains: op -> domain of each tensor argument (see samples.DOMAINS)
DOMAINS: dict[str, tuple] = {
    "log": ("positive",), "log2": ("positive",), "log10": ("positive",),
    "log1p": ("positive",), "sqrt": ("nonneg",), "rsqrt": ("positive",),
    "asin": ("unit",), "acos": ("unit",), "atanh": ("unit",), "acosh": ("above_one",),
    "tan": ("small",), "reciprocal": ("nonzero",),
    "true_divide": ("any", "nonzero"), "div": ("any", "nonzero"),
    "floor_divide": ("any", "nonzero"), "remainder": ("any", "nonzero"),
    "fmod": ("any", "nonzero"), "pow": ("positive", "exponent"),
    "bitwise_left_shift": ("nonneg", "shift"), "bitwise_right_shift": ("any", "shift"),
    "addcdiv": ("any", "any", "nonzero"),
    "xlogy": ("any", "positive"), "erfinv": ("unit",),
}

#: ops whose results amplify rounding: op -> tolerance factor
TOL_SCALE = {"pow": 4.0, "tan": 4.0, "addcdiv": 4.0, "lerp": 4.0, "exp2": 2.0, "expm1": 2.0,
             "erf": 2.0, "sigmoid": 2.0, "atan2": 2.0, "div": 2.0}

#: ops whose samples skip NaN/inf (integer-valued results of undefined inputs)
NO_SPECIALS = {"floor_divide", "remainder", "fmod", "round", "bitwise_left_shift",
               "bitwise_right_shift"}


def _seed_scalar(dtype_name: str):
    return True if dtype_name == "bool" else (2 if dtype_name in INTS else 1.5)


def _unary_samples(name):
    dom = DOMAINS.get(name, ("any",))[0]

    def gen(d, rng):
        out = [Sample(T(values((), d, rng, dom))), Sample(T(values((5,), d, rng, dom))),
               Sample(T(values((3, 4), d, rng, dom), "transposed")),
               Sample(T(values((0, 3), d, rng, dom))),
               Sample(T(values((2, 3, 2), d, rng, dom))),
               Sample(T(np.broadcast_to(values((1, 4), d, rng, dom), (3, 4)).copy(),
                        "expanded"))]
        sp = specials(d)
        if sp is not None and name not in NO_SPECIALS:
            out.append(Sample(T(sp), note="NaN, inf, -0.0 and large values"))
        return out
    return gen


def _binary_samples(name, kwargs_variants=()):
    da, db = (DOMAINS.get(name, ("any", "any")) + ("any", "any"))[:2]
    if len(DOMAINS.get(name, ())) == 1:
        db = da

    def gen(d, rng):
        v = values
        s = [
            Sample(T(v((3, 4), d, rng, da)), T(v((3, 4), d, rng, db))),
            Sample(T(v((3, 1), d, rng, da)), T(v((1, 4), d, rng, db)), note="broadcast"),
            Sample(T(v((), d, rng, da)), T(v((3,), d, rng, db)), note="0-d with 1-d"),
            Sample(T(v((0, 3), d, rng, da)), T(v((3,), d, rng, db)), note="empty"),
            Sample(T(v((4, 3), d, rng, da), "transposed"), T(v((4, 3), d, rng, db))),
            Sample(T(v((2, 3), d, rng, da)), _scalar(d, db), note="Python number"),
            Sample(_scalar(d, da), T(v((2, 3), d, rng, db)), note="Python number first"),
        ]
        other = "int64" if d in FLOATS else "float32"
        s.append(Sample(T(v((2, 3), d, rng, da)), T(v((2, 3), other, rng, db)),
                        note="mixed dtypes"))
        sp = specials(d)
        if sp is not None and name not in NO_SPECIALS:
            s.append(Sample(T(sp), T(np.roll(sp, 3)), note="NaN, inf, -0.0 and large values"))
        for kw in kwargs_variants if d != "bool" else ():
            s.append(Sample(T(v((3, 4), d, rng, da)), T(v((3, 4), d, rng, db)), **kw))
        return s
    return gen


def _scalar(d, domain):
    if d == "bool":
        return True
    if domain == "shift":
        return 2
    if domain in ("nonzero", "positive"):
        return 2 if d in INTS else 1.5
    if domain == "exponent":
        return 2
    return -2 if d in INTS and d != "uint8" else (3 if d in INTS else -1.5)


def _ternary_samples(name):
    doms = (DOMAINS.get(name, ()) + ("any",) * 3)[:3]

    def gen(d, rng):
        v = values
        return [
            Sample(*[T(v((3, 4), d, rng, dm)) for dm in doms]),
            Sample(T(v((3, 1), d, rng, doms[0])), T(v((1, 4), d, rng, doms[1])),
                   T(v((4,), d, rng, doms[2])), note="broadcast"),
            Sample(*[T(v((), d, rng, dm)) for dm in doms], note="0-d"),
            Sample(*[T(v((0, 2), d, rng, dm)) for dm in doms], note="empty"),
            Sample(T(v((4, 3), d, rng, doms[0]), "transposed"),
                   T(v((4, 3), d, rng, doms[1])), T(v((4, 3), d, rng, doms[2]), "transposed")),
        ]
    return gen


#: pointwise ops' extra keyword-argument variants
KWARG_VARIANTS = {
    "add": ({"alpha": 2},), "sub": ({"alpha": 2},),
    "div": ({"rounding_mode": "trunc"}, {"rounding_mode": "floor"}),
    "addcmul": ({"value": 0.5},), "addcdiv": ({"value": 2},),
}


def _reduction_samples(name):
    def gen(d, rng):
        v = values
        return [
            Sample(T(v((3, 4), d, rng))),
            Sample(T(v((3, 4), d, rng)), 1),
            Sample(T(v((3, 4), d, rng), "transposed"), 0, True),
            Sample(T(v((2, 3, 4), d, rng)), (0, 2)),
            Sample(T(v((2, 3, 4), d, rng)), -1, True),
            Sample(T(v((), d, rng))),
            Sample(T(v((), d, rng)), 0),
            Sample(T(v((0, 3), d, rng)), 1, note="empty result"),
            Sample(T(v((0, 3), d, rng)), 0, note="reducing an empty dim"),
        ] + ([Sample(T(specials(d)), note="NaN and inf")] if d in FLOATS else [])
    return gen


def _reduce_ref(fn, empty=None):
    def ref(a, dim=None, keepdim=False, dtype=None):
        axis = None if dim is None or a.ndim == 0 else (tuple(dim) if isinstance(dim, (
            tuple, list)) else dim)
        with np.errstate(all="ignore"):
            import warnings
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                r = fn(a, axis=axis, keepdims=keepdim)
        return r
    return ref


#: op name -> numpy reference for ``op(self, dim, keepdim, ...)`` reductions
REDUCTION_REFS = {
    "sum": _reduce_ref(np.sum), "mean": _reduce_ref(np.mean), "prod": _reduce_ref(np.prod),
    "amax": _reduce_ref(np.max), "amin": _reduce_ref(np.min), "any": _reduce_ref(np.any),
    "all": _reduce_ref(np.all), "logsumexp": None,
}


#: generated entries of ops PyTorch defines on complex numbers: they are tried in the
#: complex dtypes too (in-place variants inherit their base's dtypes)
COMPLEX_OPS = frozenset("""
    add sub mul true_divide neg abs reciprocal square pow exp expm1 log log1p sqrt sin cos
    tan tanh sigmoid eq ne isnan isinf isfinite sum prod mean
""".split())


def _dtypes(name: str) -> tuple:
    return ALL_DTYPES + COMPLEX if name in COMPLEX_OPS else ALL_DTYPES


# --- explicit entries -------------------------------------------------------------------

EXPLICIT: dict[str, OpEntry] = {}


def explicit(name, samples, ref, **kw):
    EXPLICIT[name] = OpEntry(name, samples, ref, **kw)


from . import opdb_complex, opdb_explicit, opdb_more, opdb_nn  # noqa: E402,F401


# --- generation from the registry ----------------------------------------------------------

def _generated(od) -> OpEntry | None:
    name = od.name
    tensors = [a for a in od.args if a.is_tensor]
    others = [a for a in od.args if not a.is_tensor]
    if od.is_inplace and od.inplace_of:
        base = entry(od.inplace_of)
        if base is None or base.compare != "values":
            return None
        return OpEntry(name, _inplace_samples(base), base.ref, base.dtypes, tol=base.tol,
                       grad=False)
    if "pointwise" in od.tags and name in POINTWISE_REFS and not any(a.is_list for a in tensors):
        n = len(tensors)
        if n == 1 and all(a.kwarg_only or a.has_default for a in others):
            gen = _unary_samples(name)
            if name == "round":
                base_gen = gen

                def gen(d, rng, base_gen=base_gen):
                    # round(x, decimals) scales by 10**decimals in the dtype itself:
                    # in float16/bfloat16 the result depends on the formula.
                    extra = [] if d in ("float16", "bfloat16") else [
                        Sample(T(values((3, 4), d, rng)), decimals=1)]
                    return base_gen(d, rng) + extra
            return OpEntry(name, gen, POINTWISE_REFS[name], _dtypes(name),
                           tol=TOL_SCALE.get(name, 1.0))
        if n == 2:
            return OpEntry(name, _binary_samples(name, KWARG_VARIANTS.get(name, ())),
                           POINTWISE_REFS[name], _dtypes(name), tol=TOL_SCALE.get(name, 1.0))
        if n == 3:
            return OpEntry(name, _ternary_samples(name), POINTWISE_REFS[name],
                           tol=TOL_SCALE.get(name, 1.0))
    if "reduction" in od.tags and REDUCTION_REFS.get(name) is not None \
            and [a.name for a in od.args[:3]] == ["self", "dim", "keepdim"]:
        return OpEntry(name, _reduction_samples(name), REDUCTION_REFS[name], _dtypes(name),
                       tol=8.0, grad=name in ("sum", "mean", "prod", "amax", "amin"))
    return None


def _inplace_samples(base: OpEntry):
    """The base op's samples whose result has ``self``'s shape (the target must hold
    it), with ``self`` a tensor; dtype fit is left to the shape rule."""
    def gen(d, rng):
        out = []
        for s in base.samples(d, rng):
            if not s.args or not isinstance(s.args[0], T):
                continue
            shapes = [t.array.shape for t in s.tensors()]
            try:
                full = np.broadcast_shapes(*shapes)
            except ValueError:
                continue
            if tuple(full) == s.args[0].array.shape and s.args[0].layout != "expanded":
                out.append(s)
        return out
    return gen


_cache: dict[str, OpEntry | None] = {}


def entry(name: str) -> OpEntry | None:
    """The entry of op ``name`` (explicit, else generated), or ``None``."""
    if name in _cache:
        return _cache[name]
    e = EXPLICIT.get(name)
    if e is None and name in registry:
        e = _generated(registry[name])
    _cache[name] = e
    return e


def entries() -> list[OpEntry]:
    """Entries of every registry op that has one, in registry order."""
    return [e for e in (entry(n) for n in registry) if e is not None]


def missing() -> list[str]:
    """Registry ops without an entry (the coverage test fails on these)."""
    return [n for n in registry if entry(n) is None]
