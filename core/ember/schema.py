"""The op schema: every op is declared once, from a signature string.

``defop("add(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor", ...)`` parses the
signature, records the op's tags, type promotion, shape rule (``meta``) and, for
composite ops, its decomposition into other ops, and generates the op's Python entry
point.  The entry point checks argument types and normalises them (``int[]`` to a
tuple, dtype names to ``ember.dtype``) in generated code, then hands the call to the
dispatcher.  Nothing backend-specific happens here.

Signature types: ``Tensor``, ``Tensor?``, ``Tensor[]``, ``Tensor(a)`` (a view of its
input), ``Tensor(a!)`` (mutated in place), ``Scalar``, ``int``, ``int[]``, ``float``,
``bool``, ``str``, ``ScalarType`` (a dtype), ``Device``, ``Generator``, ``Any``; a
trailing ``?`` allows ``None``.
"""

from __future__ import annotations

import math
import operator
import re
from typing import Any, NamedTuple
from collections.abc import Callable

from . import dtypes as _dt
from .codecache import exec_generated
from .device import device
from .errors import OpError

Tensor = None  # the Tensor class, once ember.tensor has defined it (bind_tensor_class)

__all__ = ["Arg", "OpDef", "defop", "registry", "get_op", "Spec"]

#: name -> OpDef of every declared op (the conformance suite walks this).
registry: dict[str, OpDef] = {}

#: tag -> ``rule(od)`` making the shape rule of an op with that tag that declares none.
#: The ops layer registers pointwise's (``ops._rules``): the schema sits below the ops.
DEFAULT_META: dict[str, Callable] = {}


def bind_tensor_class(cls: type) -> None:
    """Recognise ``cls`` as the Tensor class in argument converters and generated entry
    points (``ember.dispatch.bind_tensor_class`` passes it on, once, at import)."""
    global Tensor
    Tensor = cls

TAGS = frozenset({"primitive", "composite", "pointwise", "reduction", "view", "inplace",
                  "random", "creation", "nondeterministic", "no_autograd",
                  # output sizes depend on the data: the shape rule gives an upper bound
                  # or a placeholder (the debug check compares ranks and dtypes only)
                  "dynamic_shape"})
PROMOTIONS = (None, "default", "int_to_float", "always_bool", "bool_to_long", "none",
              "complex_to_float")


class Arg(NamedTuple):
    """One parsed argument of a signature (immutable; a named tuple because ~700 of
    them are built at every ``import ember``, and a frozen dataclass is slow to make)."""

    name: str
    type: str  # base type without ? / [] / alias annotation
    optional: bool
    is_list: bool
    kwarg_only: bool
    default: Any
    has_default: bool
    alias: str | None  # "a" for a view of the input, "a!" for mutation
    varargs: bool = False  # "int[] *size": accepts f(2, 3) as well as f((2, 3))

    @property
    def is_tensor(self) -> bool:
        return self.type == "Tensor"


class Spec:
    """What a shape rule returns: the shape and dtype of one output."""

    __slots__ = ("shape", "dtype")

    def __init__(self, shape: tuple, dtype: _dt.dtype) -> None:
        self.shape = shape
        self.dtype = dtype

    def __repr__(self) -> str:
        return f"Spec(shape={self.shape}, dtype={self.dtype})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Spec) and (self.shape, self.dtype) == (other.shape, other.dtype)

    __hash__ = None


_ARG_RE = re.compile(
    r"^(?P<type>[A-Za-z]+)(?:\((?P<alias>[a-z]!?)\))?(?P<list>\[\d*\])?(?P<opt>\?)?\s+"
    r"(?P<star>\*)?(?P<name>\w+)(?:\s*=\s*(?P<default>.+))?$")
_SIG_RE = re.compile(r"^(?P<name>[\w.]+)\((?P<args>.*)\)\s*->\s*(?P<ret>.+)$")
_KNOWN_TYPES = {"Tensor", "Scalar", "int", "float", "bool", "str", "ScalarType",
                "Device", "Generator", "Any"}


def _parse_default(text: str):
    text = text.strip()
    consts = {"None": None, "True": True, "False": False, "inf": math.inf,
              "-inf": -math.inf, "[]": ()}
    if text in consts:
        return consts[text]
    if text.startswith("[") and text.endswith("]"):
        return tuple(int(t) for t in text[1:-1].split(",") if t.strip())
    if text.startswith(("'", '"')):
        return text[1:-1]
    try:
        return int(text)
    except ValueError:
        return float(text)


def parse_signature(sig: str) -> tuple[str, list[Arg], str]:
    """Parse ``name(args) -> returns`` into the name, the arguments and the returns."""
    hit = _cache_get(("sig", sig))
    if hit is not None:
        name, args, ret = hit
        return name, [Arg(*a) for a in args], ret
    name, args, ret = _parse_signature(sig)
    _cache_put(("sig", sig), (name, tuple(tuple(a) for a in args), ret))
    return name, args, ret


def _parse_signature(sig: str) -> tuple[str, list[Arg], str]:
    m = _SIG_RE.match(sig.strip())
    if not m:
        raise SyntaxError(f"bad op signature: {sig!r}")
    args: list[Arg] = []
    kwarg_only = False
    body = m.group("args").strip()
    for part in _split_args(body):
        if part == "*":
            kwarg_only = True
            continue
        am = _ARG_RE.match(part)
        if not am or am.group("type") not in _KNOWN_TYPES:
            raise SyntaxError(f"bad argument {part!r} in signature {sig!r}")
        has_default = am.group("default") is not None
        args.append(Arg(
            name=am.group("name"), type=am.group("type"), optional=bool(am.group("opt")),
            is_list=bool(am.group("list")), kwarg_only=kwarg_only,
            default=_parse_default(am.group("default")) if has_default else None,
            has_default=has_default, alias=am.group("alias"), varargs=bool(am.group("star"))))
    return m.group("name"), args, m.group("ret").strip()


def _split_args(body: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in body:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur.strip())
    return parts


# --- argument converters (used by generated entry points) -------------------------

def _type_name(x) -> str:
    return type(x).__name__


def _bad(op: str, arg: str, expected: str, got) -> TypeError:
    return TypeError(f"{op}(): argument '{arg}' must be {expected}, not {_type_name(got)}")


def conv_int(x, op, arg):
    if x.__class__ is int:
        return x
    if isinstance(x, bool):
        raise _bad(op, arg, "int", x)
    try:
        return operator.index(x)
    except TypeError:
        pass
    if isinstance(x, Tensor) and x.ndim == 0 and not x.dtype.is_floating_point:
        return int(x.item())
    raise _bad(op, arg, "int", x)


def conv_int_list(x, op, arg):
    if x.__class__ is tuple:
        for v in x:  # (a loop, not all() over a generator: this runs per view call)
            if v.__class__ is not int:
                break
        else:
            return x
    if isinstance(x, (list, tuple)) or type(x).__name__ == "Size":
        return tuple(conv_int(v, op, f"{arg}[{i}]") for i, v in enumerate(x))
    return (conv_int(x, op, arg),)


def conv_float(x, op, arg):
    if x.__class__ is float:
        return x
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return float(x)
    if isinstance(x, Tensor) and x.ndim == 0:
        return float(x.item())
    try:
        return float(x.__float__())
    except AttributeError:
        raise _bad(op, arg, "float", x) from None


def conv_bool(x, op, arg):
    if x is True or x is False:
        return x
    if type(x).__name__ == "bool_":
        return bool(x)
    raise _bad(op, arg, "bool", x)


def conv_str(x, op, arg):
    if isinstance(x, str):
        return x
    raise _bad(op, arg, "str", x)


_SCALAR_TYPES = (bool, int, float, complex)


def conv_scalar(x, op, arg):
    if x.__class__ in _SCALAR_TYPES:
        return x
    if isinstance(x, Tensor):
        if x.numel() != 1:
            raise OpError(f"{op}(): argument '{arg}' must be a Number or a one-element "
                          f"tensor, got a tensor of shape {tuple(x.shape)}")
        if x._requires_grad:
            from .dispatch import state
            if state.grad_enabled:  # its value is read: a gradient would be lost silently
                raise OpError(f"{op}(): argument '{arg}' is read as a number, and no "
                              f"gradient would reach the tensor given, which requires "
                              f"grad; pass .detach() or .item(), or use where() or "
                              f"copy_() to differentiate through it")
        return x.item()
    if hasattr(x, "dtype") and hasattr(x, "item") and getattr(x, "ndim", 1) == 0:
        return x.item()  # numpy scalars
    if isinstance(x, (int, float, complex)):
        return x
    raise _bad(op, arg, "Number", x)


def conv_dtype(x, op, arg):
    return _dt.as_dtype(x, op=op, arg=arg)


def conv_device(x, op, arg):
    if x.__class__ is device:
        return x
    try:
        return device(x)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{op}(): argument '{arg}': {e}") from None


def conv_generator(x, op, arg):
    from .random import Generator
    if isinstance(x, Generator):
        return x
    raise _bad(op, arg, "ember.Generator", x)


def conv_tensor_list(x, op, arg):
    if isinstance(x, (list, tuple)):
        for i, t in enumerate(x):
            if not isinstance(t, Tensor):
                raise TypeError(f"{op}(): argument '{arg}' must be a sequence of Tensors, "
                                f"but item {i} is {_type_name(t)}")
        return list(x)
    raise _bad(op, arg, "a sequence of Tensors", x)


_CONVERTERS = {"int": conv_int, "float": conv_float, "bool": conv_bool, "str": conv_str,
               "Scalar": conv_scalar, "ScalarType": conv_dtype, "Device": conv_device,
               "Generator": conv_generator}
_FAST_CLASSES = {"int": "int", "float": "float", "bool": "bool", "str": "str"}


#: Array API keyword -> PyTorch keyword; both are accepted by every op that has one.
_KEYWORD_ALIASES = {"axis": "dim", "keepdims": "keepdim"}
_UNSET = object()


def _alias_kw(op, ours, ours_value, std, std_value, default):
    if ours_value is not default and ours_value != std_value:
        raise TypeError(f"{op}(): got both '{ours}' and its Array API alias '{std}'")
    return std_value


def _both_varargs_and_keyword(op, name):
    raise TypeError(f"{op}(): got values for '{name}' both as positional arguments and "
                    f"as a keyword")


class OpDef:
    """Everything ember knows about one op.

    ``meta(*args) -> Spec | tuple[Spec, ...]`` is the shape rule: it validates the
    arguments (raising ``OpError`` that names the op, the argument and what was
    expected) and computes output shapes and dtypes without data.  It is what the
    ``meta`` device runs.  ``decomposition`` (composites) computes the op with other
    ember ops; ``derivative`` is filled in beside it by the autograd rules.

    ``values(spec, *args)`` (optional) is the value rule: the argument checks that must
    read the data (integer division by zero, class targets within the classes,
    probabilities in [0, 1]); ``spec`` is the shape rule's outcome.  It runs on every
    call, after the shape rule and before any kernel or decomposition, on every backend
    but ``meta`` -- written once here and run by the boxed kernel (and Autograd's
    composite path), so no backend's fast kernel repeats (or forgets) it.
    """

    def __init__(self, signature: str, *, tags=(), promotion=None, meta=None,
                 decomposition=None, inplace_of: str | None = None, doc: str = "",
                 method: bool = True, values: Callable | None = None) -> None:
        self.name, self.args, self.returns = parse_signature(signature)
        self.signature = signature
        self.tags = frozenset(tags)
        unknown = self.tags - TAGS
        if unknown:
            raise ValueError(f"{self.name}: unknown tags {sorted(unknown)}")
        if promotion not in PROMOTIONS:
            raise ValueError(f"{self.name}: unknown promotion {promotion!r}")
        self.promotion = promotion
        self.meta = meta
        self.decomposition = decomposition
        #: ``values(spec, *args)``: a rule on the operands' values (not only their
        #: shapes), run by every backend's boxed kernel before the kernel; it may read
        #: data (a device sync), so only ops whose meaning needs it have one.
        self.values = values
        self.derivative = None  # set by ember.autograd's rules
        self.inplace_of = inplace_of
        #: whether tensor arguments may live on different devices (``copy_``)
        self.cross_device = False
        #: whether a complex computation is refused (ops defined on real numbers only)
        self.real_only = False
        self.is_primitive = "composite" not in self.tags
        self.is_inplace = "inplace" in self.tags
        self.is_view = "view" in self.tags
        self.tensor_args = tuple(i for i, a in enumerate(self.args) if a.is_tensor)
        self.returns_tuple = self.returns.startswith("(")
        self.method = method and bool(self.args) and self.args[0].is_tensor \
            and self.args[0].name == "self"
        self.doc = doc
        # Filled by the dispatcher: key -> kernel, and the resolution cache.
        self.kernels: dict[str, Callable] = {}
        self.cache: dict = {}
        self.fn: Callable | None = None

    def __repr__(self) -> str:
        return f"<op {self.signature}>"

    def bind(self, *args, **kwargs) -> tuple:
        """Bind a call's arguments to the schema's order (slow path, for tools)."""
        return self.fn.__ember_bind__(*args, **kwargs)


def defop(signature: str, **kwargs) -> Callable:
    """Declare an op and return its generated, dispatching entry point."""
    od = OpDef(signature, **kwargs)
    if od.name in registry:
        raise ValueError(f"op {od.name!r} is declared twice")
    if od.meta is None and "pointwise" in od.tags and not od.is_inplace:
        od.meta = DEFAULT_META["pointwise"](od)
    if od.inplace_of is not None:
        _derive_inplace(od)
    registry[od.name] = od
    od.fn = _generate(od)
    return od.fn


def _derive_inplace(od: OpDef) -> None:
    """An in-place op ``f_`` of ``f``: validate as ``f`` does, then check the result
    fits the target (shape and dtype) *before* anything runs, so a failing in-place op
    leaves its target unchanged.  Without a kernel it runs as ``self.copy_(f(...))``."""
    base = registry[od.inplace_of]
    name = od.name

    def meta(self, *rest):
        spec = base.meta(self, *rest)
        if tuple(spec.shape) != tuple(self.shape):
            raise OpError(f"{name}(): output with shape {list(self.shape)} doesn't match "
                          f"the broadcast shape {list(spec.shape)}")
        if not _dt.can_cast(spec.dtype, self.dtype):
            raise OpError(f"{name}(): result type {spec.dtype.name} can't be cast to the "
                          f"desired output type {self.dtype.name}")
        return Spec(tuple(self.shape), self.dtype)
    if od.meta is None:
        od.meta = meta
    if od.values is None:
        od.values = base.values
    if od.decomposition is None:
        def decomposition(self, *rest):
            # ``rest`` is in schema order, keyword-only arguments included (alpha=):
            # dispatch it as such rather than through the entry point's signature.
            from .dispatch import dispatch
            return self.copy_(dispatch(base, (self, *rest)))
        od.decomposition = decomposition


def get_op(name: str) -> OpDef:
    """The ``OpDef`` of a declared op, by name."""
    try:
        return registry[name]
    except KeyError:
        raise KeyError(f"no op named {name!r}") from None


# --- a cache of parsed signatures (like .pyc files for the op declarations) ---------------
# Parsing ~250 signatures with regular expressions costs milliseconds at every
# `import ember`; the results are cached with marshal beside the package (or in the user
# cache dir), stamped with this file's checksum.  (Entry-point code is generated lazily,
# on each op's first call; see _generate.)

_code_cache: dict | None = None
_code_cache_used: set = set()
_code_cache_dirty = False


def _code_cache_paths() -> list[str]:
    import os
    import sys
    name = f"ember-ops.{sys.implementation.cache_tag}.marshal"
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "__pycache__", name)
    user = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"),
                        "ember", name)
    return [here, user]


def _schema_stamp() -> int:
    """A checksum of this file: parsed signatures and generated sources depend on it."""
    import zlib
    with open(__file__, "rb") as f:
        return zlib.crc32(f.read())


def _load_cache() -> dict:
    global _code_cache
    if _code_cache is None:
        import marshal
        _code_cache = {}
        stamp = _schema_stamp()
        for path in _code_cache_paths():
            try:
                with open(path, "rb") as f:
                    # loads(read()): marshal.load(file) reads in small chunks (~10x slower)
                    loaded = marshal.loads(f.read())
            except (OSError, EOFError, ValueError, TypeError):
                continue
            if isinstance(loaded, dict) and loaded.get("__stamp__") == stamp:
                _code_cache = loaded
                break
        _code_cache["__stamp__"] = stamp
        _code_cache_used.add("__stamp__")
    return _code_cache


def _cache_get(key):
    cache = _code_cache if _code_cache is not None else _load_cache()
    hit = cache.get(key)
    if hit is not None:
        _code_cache_used.add(key)
    return hit


def _cache_put(key, value) -> None:
    global _code_cache_dirty
    cache = _code_cache if _code_cache is not None else _load_cache()
    cache[key] = value
    _code_cache_used.add(key)
    if not _code_cache_dirty:
        _code_cache_dirty = True
        import atexit
        atexit.register(save_code_cache)


def save_code_cache() -> None:
    """Write the cache of parsed signatures and generated code if anything was new —
    only the entries this process used, so stale ones do not pile up (best effort: a
    read-only installation just regenerates at every import)."""
    global _code_cache_dirty
    if not _code_cache_dirty or _code_cache is None:
        return
    import marshal
    import os
    import tempfile
    data = {k: v for k, v in _code_cache.items() if k in _code_cache_used}
    for path in _code_cache_paths():
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path))
            with os.fdopen(fd, "wb") as f:
                marshal.dump(data, f)
            os.replace(tmp, path)
        except OSError:
            continue
        _code_cache_dirty = False
        return


def _generate(od: OpDef) -> Callable:
    """The op's entry point: a function whose code is generated on its first call.

    Generating and compiling ~250 entry points costs tens of milliseconds, so
    ``import ember`` only creates small trampolines (sharing one code object); the
    first call generates ``def name(params): <convert>; return _dispatch(_od, args)``
    in the trampoline's own namespace and swaps its code in, so every later call runs
    the generated code directly and ``ember.add`` keeps its identity.
    """
    import types
    env: dict[str, Any] = {"_od": od, "_first_call": _first_call, "_first_bind": _first_bind}
    fn = types.FunctionType(_TRAMPOLINE, env, od.name)
    fn.__ember_bind__ = types.FunctionType(_BIND_TRAMPOLINE, env, "__ember_bind__")
    fn.__qualname__ = od.name
    fn.__module__ = "ember"
    fn.__doc__ = f"{od.doc}\n\nSignature: ``{od.signature}``".strip()
    fn.op = od
    return fn


def _trampoline(*args, **kwargs):
    return _first_call(_od, args, kwargs)  # noqa: F821 - names of the op's namespace


def _bind_trampoline(*args, **kwargs):
    return _first_bind(_od, args, kwargs)  # noqa: F821


_TRAMPOLINE = _trampoline.__code__
_BIND_TRAMPOLINE = _bind_trampoline.__code__


def materialize(od: OpDef) -> None:
    """Generate and install the entry point's real code (idempotent)."""
    fn = od.fn
    if fn.__code__ is not _TRAMPOLINE:
        return
    from .dispatch import dispatch, state
    src, names = _source(od)
    env = fn.__globals__
    env.update(names)
    env.update({"_dispatch": dispatch, "_op": od.name, "_T": Tensor, "_st": state,
                "_cache": od.cache})
    exec_generated(src, f"<ember op {od.name}>", env)
    real, bind = env[od.name], env["__ember_bind__"]
    fn.__defaults__ = real.__defaults__
    fn.__kwdefaults__ = real.__kwdefaults__
    fn.__ember_bind__ = bind
    fn.__code__ = real.__code__


def _first_call(od: OpDef, args, kwargs):
    materialize(od)
    return od.fn(*args, **kwargs)


def _first_bind(od: OpDef, args, kwargs):
    materialize(od)
    return od.fn.__ember_bind__(*args, **kwargs)


def _source(od: OpDef) -> tuple[str, dict]:
    """The entry point's source and the names it needs in its namespace."""
    params, lines, names = [], [], []
    kw_started = False
    env: dict[str, Any] = {}
    for a in od.args:
        if a.kwarg_only and not kw_started:
            params.append("*")
            kw_started = True
        n = a.name
        if a.varargs:
            # f(2, 3), f((2, 3)) or, as in PyTorch, the keyword: f(size=(2, 3))
            params.append(f"*_v_{n}")
            params.append(f"{n}=_UNSET")
            env["_UNSET"] = _UNSET
            env["_both"] = _both_varargs_and_keyword
            kw_started = True
            lines.append(f"    if {n} is _UNSET:")
            lines.append(f"        {n} = _v_{n}")
            lines.append(f"        if len({n}) == 1 and {n}[0].__class__ is not int: "
                         f"{n} = {n}[0]")
            if a.optional:
                lines.append(f"        elif not {n}: {n} = None")
            lines.append(f"    elif _v_{n}: _both(_op, {n!r})")
        elif a.has_default:
            env[f"_d_{a.name}"] = a.default
            params.append(f"{a.name}=_d_{a.name}")
        else:
            params.append(a.name)
        names.append(a.name)
        guard = f"if {n} is not None and " if (a.optional or a.has_default and
                                               a.default is None) else "if "
        if a.type == "Tensor":
            if a.is_list:
                env["_conv_tl"] = conv_tensor_list
                lines.append(f"    {n} = _conv_tl({n}, _op, {n!r})")
            # single tensors are checked by the dispatcher (it looks at them anyway)
            continue
        if a.is_list and a.type == "int":
            env["_conv_il"] = conv_int_list
            if not a.varargs:  # a single int (sum(1)) is the common case: inline it
                lines.append(f"    if {n}.__class__ is int: {n} = ({n},)")
                lines.append(f"    el{guard}True: {n} = _conv_il({n}, _op, {n!r})")
            else:  # one int (view(-1)), the common case, is checked inline
                lines.append(f"    {guard}({n}.__class__ is not tuple or len({n}) != 1 or "
                             f"{n}[0].__class__ is not int): {n} = _conv_il({n}, _op, {n!r})")
            continue
        if a.type == "Any":
            continue
        if a.is_list:
            raise SyntaxError(f"{od.name}: list of {a.type} is not supported")
        conv = _CONVERTERS[a.type]
        env[f"_c_{a.type}"] = conv
        fast = _FAST_CLASSES.get(a.type)
        if fast:
            lines.append(f"    {guard}{n}.__class__ is not {fast}: "
                         f"{n} = _c_{a.type}({n}, _op, {n!r})")
        elif a.type == "Scalar":
            env["_SC"] = _SCALAR_TYPES
            lines.append(f"    {guard}{n}.__class__ not in _SC: {n} = _c_Scalar({n}, _op, {n!r})")
        else:
            lines.append(f"    {guard}True: {n} = _c_{a.type}({n}, _op, {n!r})")
    # The Array API standard's keyword names are accepted beside PyTorch's.
    for std, ours in _KEYWORD_ALIASES.items():
        if ours in names and std not in names:
            if not kw_started:
                params.append("*")
                kw_started = True
            env["_UNSET"] = _UNSET
            params.append(f"{std}=_UNSET")
            lines.insert(0, f"    if {std} is not _UNSET: {ours} = _alias_kw(_op, {ours!r}, "
                            f"{ours}, {std!r}, {std}, _d_{ours})")
            env["_alias_kw"] = _alias_kw
            env.setdefault(f"_d_{ours}", next(a.default for a in od.args if a.name == ours))
    tup = "(" + ", ".join(names) + ("," if len(names) == 1 else "") + ")"
    body = list(lines)
    targs = [a for a in od.args if a.is_tensor]
    if targs and not any(a.is_list for a in targs) \
            and not (targs[0].optional or targs[0].has_default):
        # The dispatcher's common case, inlined (its source comes from the dispatcher;
        # materialize() binds the names it uses).
        from .dispatch import fast_path_source
        body += fast_path_source([a.name for a in targs], tup,
                                 tuple(a.name for a in targs if a.optional or a.has_default))
    src = (f"def {od.name}({', '.join(params)}):\n" + "\n".join(body) +
           ("\n" if body else "") + f"    return _dispatch(_od, {tup})\n")
    src += (f"def __ember_bind__({', '.join(params)}):\n" + "\n".join(lines) +
            ("\n" if lines else "") + f"    return {tup}\n")
    return src, env
