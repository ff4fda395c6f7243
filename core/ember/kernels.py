"""Boxed kernels: one object per (op, backend) that says how the op runs there.

:class:`BoxedKernel` is the contract between the dispatcher and a backend.  It owns,
for one op on one backend:

* resolution: the backend's native kernel, the meta device's shape rule, the op's
  decomposition into other ops, or the CPU fallback (:func:`implementation` is the one
  answer to "how is this op implemented here", for the dispatcher and for reports);
* validation: the op's shape rule, its outcome cached under a key derived from the
  schema (every argument the rule reads, see :func:`_key_parts`), and the op's value
  rule (integer division by zero, loss targets, probabilities), so PyTorch's semantics
  hold on every backend;
* Python ints beyond an integer dtype: fill values and pointwise operands reach the
  backend wrapped as C casts them (``uint8`` -1 is 255; ``int8 + 1000`` adds -24), or
  refused where the op says so (``pow``'s exponent, ``where``'s values);
* casting of inputs to the op's computation dtype and wrapping of results into
  ``Tensor`` (views share their base's version counter);
* whether it re-enters the dispatcher (decompositions and the CPU fallback call ember
  ops; autograd runs those with recording off);
* the debug check of kernel outputs (``EMBER_CHECK_KERNELS=1``): every result is
  compared with the shape, dtype and device the schema promises.  It is chosen when a
  kernel is resolved, so it costs nothing when off.

A backend's native kernel sees native arrays only (numpy, cupy, pyopencl, dpnp …):
arguments arrive in schema order with every ``Tensor`` replaced by its native array,
inputs already cast to the op's computation dtype, a ``None`` dtype filled in from the
shape rule, and ``Generator`` replaced by the device's native generator state.  It
returns a native array (or a tuple of them); in-place kernels write into their first
argument and return nothing.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable

from . import dtypes as _dt
from .codecache import exec_generated
from .environment import flag as _flag
from .errors import KernelContractError, NotImplementedForDevice, OutOfMemoryError
from .schema import Spec

__all__ = ["BoxedKernel", "resolve", "implementation", "CHECK_ENV", "CPU_FALLBACK_ENV",
           "cpu_fallback_enabled"]

_FRONTEND_ARGS = ("requires_grad", "pin_memory")

#: Environment variable that turns on the debug check of kernel outputs.
CHECK_ENV = "EMBER_CHECK_KERNELS"
#: Environment variable that lets ops missing on a device run on the CPU.
CPU_FALLBACK_ENV = "EMBER_CPU_FALLBACK"

_NUMBERS = frozenset({int, float, bool, complex})
_FLAT = frozenset({int, type(None), slice, type(Ellipsis)})
_CACHE_LIMIT = 4096

Tensor = None  # ember.Tensor, read from the dispatcher when the first kernel is resolved


def cpu_fallback_enabled() -> bool:
    """Whether ops missing on a device may run on the CPU (``EMBER_CPU_FALLBACK=1``)."""
    return _flag(CPU_FALLBACK_ENV)


class BoxedKernel:
    """How op ``op`` runs on ``backend``: ``run(od, dev, args)`` with ``args`` in schema
    order, returning ``Tensor`` results.

    ``how`` is ``native``, ``decomposition`` or ``cpu_fallback`` (the report's N, D, F);
    ``reentrant`` says whether ``run`` calls ember ops itself (then autograd runs it
    with recording off, PyTorch's AutoDispatchBelowAutograd).  ``autograd`` is the op's
    Autograd kernel prebuilt for this backend (``autograd(od, dev, args)``: run and
    record), filled in by the autograd layer on the first recorded call; the entry
    points call it directly when nothing sits above Autograd.
    """

    __slots__ = ("op", "backend", "how", "reentrant", "run", "check", "autograd")

    def __init__(self, op, backend, how: str, run: Callable, *, reentrant: bool = False,
                 check: Callable | None = None) -> None:
        self.op = op
        self.backend = backend
        self.how = how
        self.reentrant = reentrant
        #: ``check(args) -> spec``: the shape rule with its validation cache
        self.check = check
        self.autograd = None
        # (in-place kernels return nothing: the core returns their target)
        if _flag(CHECK_ENV) and op.meta is not None and not op.is_inplace \
                and not getattr(backend, "is_meta", False):
            run = _checked(self, run)
        self.run = run

    def __repr__(self) -> str:
        return (f"<BoxedKernel {self.op.name} on {self.backend.device_type!r}: {self.how}"
                f"{', reentrant' if self.reentrant else ''}>")


def implementation(od, backend) -> str:
    """How ``od`` runs on ``backend``: ``native``, ``decomposition``, ``cpu_fallback``
    or ``missing`` (the one answer, for the dispatcher and the coverage report)."""
    name = native_name(od, backend)
    if name is not None:
        # a kernel the backend runs through the CPU plugin (host round trips)
        return "cpu_fallback" if name in backend.cpu_kernels else "native"
    if getattr(backend, "is_meta", False) and od.meta is not None and (
            od.is_primitive or od.decomposition is None):
        return "native"  # the meta device's kernel is the shape rule
    if od.decomposition is not None:
        return "decomposition"
    if _default_kernel(od, backend) is not None:
        return "native"
    if cpu_fallback_enabled() and backend.device_type != "cpu":
        return "cpu_fallback"
    return "missing"


def native_name(od, backend) -> str | None:
    """The name of the backend's kernel that runs ``od``: its own, else that of the op
    whose kernel it shares (``od.same_kernel_as``: a composite declared equal to another
    op with the same signature, such as ``view`` and ``reshape``), else ``None``."""
    if od.name in backend.kernels:
        return od.name
    same = od.__dict__.get("same_kernel_as")
    if same is not None and same in backend.kernels:
        return same
    return None


def resolve(od, backend) -> BoxedKernel:
    """The boxed kernel of ``od`` on ``backend`` (the dispatcher caches it per op)."""
    _bind()
    how = implementation(od, backend)
    name = native_name(od, backend)
    native = None if name is None else backend.kernels[name]
    if native is None and how == "native" and not getattr(backend, "is_meta", False):
        native = _default_kernel(od, backend)
    if native is not None:
        return _adapt(od, native, backend, how)
    if how == "native":  # meta
        return BoxedKernel(od, backend, how, _meta_runner(od))
    if how == "decomposition":
        return BoxedKernel(od, backend, how, _decomposed(od, backend), reentrant=True)
    if how == "cpu_fallback":
        return BoxedKernel(od, backend, how, _cpu_fallback(od), reentrant=True)
    from .plugin_api import too_old
    if (why := too_old(od.name, backend)) is not None:
        raise NotImplementedForDevice(f"{od.name}(): {why}")
    raise NotImplementedForDevice(
        f"{od.name}(): not implemented for device type '{backend.device_type}' "
        f"(backend '{backend.name}' has no kernel and the op has no decomposition). "
        f"Set {CPU_FALLBACK_ENV}=1 to run it on the CPU instead (slow; warns once per op).")


def _default_kernel(od, backend):
    """The core's default kernel for an op a backend may leave out (host-side random
    generation for backends whose generator is numpy's)."""
    if "random" not in od.tags:
        return None
    from .random import host_kernel
    return host_kernel(od.name, backend)


def _bind() -> None:
    global Tensor
    if Tensor is None:
        from .dispatch import _Tensor
        Tensor = _Tensor


# --- per-op facts -----------------------------------------------------------------------

def _layout(od):
    """Per-op facts the adapters need, computed once."""
    info = getattr(od, "_layout", None)
    if info is None:
        names = [a.name for a in od.args]
        info = {
            "tensor": tuple(i for i, a in enumerate(od.args) if a.is_tensor and not a.is_list),
            "tensor_list": tuple(i for i, a in enumerate(od.args) if a.is_tensor and a.is_list),
            "any": tuple(i for i, a in enumerate(od.args) if a.type == "Any"),
            "dtype": names.index("dtype") if "dtype" in names else None,
            "generator": next((i for i, a in enumerate(od.args) if a.type == "Generator"), None),
            "device": next((i for i, a in enumerate(od.args) if a.type == "Device"), None),
            "frontend": tuple(i for i, n in enumerate(names) if n in _FRONTEND_ARGS),
            "mutated": tuple(i for i, a in enumerate(od.args) if a.alias == "a!"),
        }
        od._layout = info
    return info


# --- the validation key: one definition, generated into every runner -------------------

def _key_parts(od) -> tuple[list[str], list[str], list[str]]:
    """The validation key of ``od``'s calls, as generated code over ``a0, a1, …``.

    Returns (prelude lines, one key expression per argument, one native-argument
    expression per argument).  The key holds every argument the shape rule reads:
    tensors by (shape, dtype); a Python number standing for a tensor (pointwise ops) by
    its class, and by its value too where the rule reads it (``meta.reads``: ``pow``'s
    negative integer exponents); every other argument by value (Scalars also by class:
    ``1`` and ``1.0`` give different dtypes; ``alpha`` is one); generators not at all.
    """
    # A Python number may stand for a tensor in a pointwise op with several tensor
    # arguments (with one, the dispatcher has refused a call without a tensor).
    pointwise = "pointwise" in od.tags and len(od.tensor_args) > 1
    reads = getattr(od.meta, "reads", ())
    prelude, keys, nat = [], [], []
    for i, a in enumerate(od.args):
        v, n = f"a{i}", f"n{i}"
        if a.is_tensor and a.is_list:
            prelude.append(f"    {n} = [t._data for t in {v}]")
            keys.append(f"tuple([(x.shape, x.dtype) for x in {n}])")
            nat.append(n)
        elif a.is_tensor and pointwise:  # a Python number may stand for a tensor
            num = f"({v}.__class__, {v})" if a.name in reads else f"{v}.__class__"
            if a.optional or a.has_default:
                prelude.append(f"    {n} = {v} if {v}.__class__ in _N or {v} is None "
                               f"else {v}._data")
                keys.append(f"None if {v} is None else {num} if {n} is {v} "
                            f"else ({n}.shape, {n}.dtype)")
            else:  # (the dispatcher refuses None here)
                prelude.append(f"    {n} = {v} if {v}.__class__ in _N else {v}._data")
                keys.append(f"{num} if {n} is {v} else ({n}.shape, {n}.dtype)")
            nat.append(n)
        elif a.is_tensor and (a.optional or a.has_default):
            prelude.append(f"    {n} = None if {v} is None else {v}._data")
            keys.append(f"None if {n} is None else ({n}.shape, {n}.dtype)")
            nat.append(n)
        elif a.is_tensor:  # (two flat entries: one tuple less to build per call)
            prelude.append(f"    {n} = {v}._data")
            keys.append(f"{n}.shape, {n}.dtype")
            nat.append(n)
        elif a.type == "Scalar":
            keys.append(f"({v}.__class__, {v})")
            nat.append(v)
        elif a.type == "Any":  # index tuples: may hold tensors and (unhashable) slices
            # (t[i], the commonest index, inline: a tuple of one int is its own key)
            prelude += [f"    if {v}.__class__ is tuple and len({v}) == 1 "
                        f"and {v}[0].__class__ is int:",
                        f"        k{i} = {n} = {v}", "    else:",
                        f"        k{i}, {n} = _any_arg({v})"]
            keys.append(f"k{i}")
            nat.append(n)
        elif a.type == "Generator":
            keys.append("None")  # generators do not change shapes
            nat.append(v)
        else:
            keys.append(v)
            nat.append(v)
    return prelude, keys, nat


def _unpack(od) -> str:
    n = len(od.args)
    if n == 0:
        return ""
    return f"    {', '.join(f'a{i}' for i in range(n))}{',' if n == 1 else ''} = args"


def _tuple(items) -> str:
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


def _compile(od, lines: list[str], env: dict, what: str):
    env.update({"_N": _NUMBERS, "_any_arg": _any_arg, "_LIMIT": _CACHE_LIMIT})
    return exec_generated("\n".join(lines) + "\n", f"<ember {what} {od.name}>", env)


def _validator(od):
    """``check(args) -> spec``: the op's shape rule, its outcome cached per key
    (unhashable keys skip the cache; the cache is bounded).  ``check.cache`` is the
    cache the generated runners share."""
    meta = od.meta
    if meta is None:
        return None
    prelude, keys, _ = _key_parts(od)
    lines = ["def check(args):", _unpack(od), *prelude, f"    key = {_tuple(keys)}",
             "    try:", "        spec = cache.get(key)", "    except TypeError:",
             "        return meta(*args)", "    if spec is None:", "        spec = meta(*args)",
             "        if len(cache) > _LIMIT:", "            cache.clear()",
             "        cache[key] = spec", "    return spec"]
    cache: dict = {}
    check = _compile(od, [ln for ln in lines if ln], {"meta": meta, "cache": cache},
                     "validator")["check"]
    check.cache = cache
    return check


# --- arguments and results --------------------------------------------------------------

def _unwrap_any(x):
    c = x.__class__
    if c is tuple:  # the common case (index tuples), without a call per entry
        out = []
        for v in x:
            vc = v.__class__
            out.append(v._data if vc is Tensor else v if vc in _FLAT else _unwrap_any(v))
        return tuple(out)
    if c is Tensor or isinstance(x, Tensor):
        return x._data
    if isinstance(x, tuple):
        return tuple(_unwrap_any(v) for v in x)
    if isinstance(x, list):
        return [_unwrap_any(v) for v in x]
    return x


def _any_arg(x):
    """``(_any_key(x), _unwrap_any(x))`` in one pass for the common case, an index
    tuple (this runs per call of the indexing ops); ``x`` itself as the native
    argument when it holds no tensor, and as the key when it holds only ints, None
    and Ellipsis (hashable as they are; no other key is a tuple starting so)."""
    if x.__class__ is not tuple:
        return _any_key(x), _unwrap_any(x)
    for v in x:
        if v.__class__ not in _PLAIN:
            break
    else:
        return x, x
    key = [tuple]
    flat = True
    for v in x:
        vc = v.__class__
        if vc in _PLAIN:
            key.append(v)
        elif vc is slice:
            key.append((slice, v.start, v.stop, v.step))
        elif vc is Tensor:
            d = v._data
            key.append((Tensor, d.shape, d.dtype))
            flat = False
        else:
            key.append(_any_key(v))
            flat = False
    return tuple(key), x if flat else _unwrap_any(x)


_PLAIN = frozenset({int, type(None), type(Ellipsis)})


def _any_key(x):
    """A hashable stand-in for an ``Any`` argument (index tuples): tensors by shape and
    dtype, slices as triples (unhashable before Python 3.12)."""
    c = x.__class__
    if c is tuple or c is list:
        key = [c]
        for v in x:  # the common entries inline (this runs per call of index ops)
            vc = v.__class__
            if vc is Tensor:
                d = v._data
                key.append((Tensor, d.shape, d.dtype))
            elif vc is int or v is None:
                key.append(v)
            else:
                key.append(_any_key(v))
        return tuple(key)
    if c is slice:
        return (slice, x.start, x.stop, x.step)
    if c is Tensor or isinstance(x, Tensor):
        d = x._data
        return (Tensor, d.shape, d.dtype)
    if c is bool or c is float:
        return (c, x)  # True == 1 == 1.0 as dict keys: keep them apart
    return x


def _wrap(out, dev, od, args):
    make = Tensor._make
    if isinstance(out, tuple):
        res = tuple(make(o, dev) for o in out)
        if od.is_view:
            for r in res:
                _alias(r, args[0])
        return res
    if isinstance(out, list):
        return [make(o, dev) for o in out]
    t = make(out, dev)
    if od.is_view:
        _alias(t, args[0])
    return t


def _alias(view, base):
    view._vc = base._version_counter()
    view._base = base._base if base._base is not None else base


def _prepare(od, dev, args, spec, backend, info, cast_to=None):
    """Native arguments for a kernel call (the general path)."""
    nat = list(args)
    cast = backend.kernels.get("astype") if cast_to is not None else None
    for i in info["tensor"]:
        t = nat[i]
        if t is not None and t.__class__ not in _NUMBERS:
            d = t._data
            if cast_to is not None and d.dtype != cast_to.np:
                d = cast(d, cast_to)
            nat[i] = d
    for i in info["tensor_list"]:
        nat[i] = [t._data for t in nat[i]]
    for i in info["any"]:
        nat[i] = _unwrap_any(nat[i])
    j = info["dtype"]
    if j is not None and nat[j] is None and spec is not None:
        nat[j] = (spec[0] if isinstance(spec, tuple) else spec).dtype
    j = info["device"]
    if j is not None:
        nat[j] = dev
    j = info["generator"]
    if j is not None:
        from .random import native_generator
        nat[j] = native_generator(nat[j], dev)
    for j in reversed(info["frontend"]):
        del nat[j]
    return nat


def _finish(out, od, dev, args, info):
    res = _wrap(out, dev, od, args)
    if info["frontend"]:
        names = [a.name for a in od.args]
        if "requires_grad" in names and args[names.index("requires_grad")]:
            res.requires_grad_(True)
    return res


# --- native kernels ---------------------------------------------------------------------

def _adapt(od, fn, backend, how: str) -> BoxedKernel:
    """Box a backend's native kernel ``fn`` for op ``od``."""
    info = _layout(od)
    if od.promotion is not None and "pointwise" in od.tags and not od.is_inplace:
        run, check = _pointwise_runner(od, fn, backend, info)
        return BoxedKernel(od, backend, how, run, check=check)
    check = _validator(od)
    # Fill values (full, fill_, masked_fill, pad): the shape rule refused every value
    # that does not fit the dtype (dtypes.check_fits) but uint8's -255..-1, which the
    # backend gets wrapped as C casts them (numpy, array-api-strict and OpenCL hosts
    # refuse them).
    scalars = tuple(i for i, a in enumerate(od.args)
                    if a.type == "Scalar" and a.name in ("fill_value", "value"))
    if od.is_inplace:
        return BoxedKernel(od, backend, how,
                           _inplace_runner(od, fn, backend, info, check, scalars), check=check)
    if check is not None and not info["frontend"] \
            and (od.returns in ("Tensor", "Tensor(a)") or _n_plain_outputs(od)) \
            and info["device"] is None and not info["tensor_list"] \
            and info["generator"] is None:
        return BoxedKernel(od, backend, how, _generated_runner(od, fn, check, scalars),
                           check=check)
    if "creation" in od.tags:
        return BoxedKernel(od, backend, how,
                           _creation_runner(od, fn, backend, info, check, scalars),
                           check=check)

    begin = _beginning(od, check, scalars, fn)

    def run(od, dev, args):
        spec, args = begin(args)
        return _finish(fn(*_prepare(od, dev, args, spec, backend, info)), od, dev, args, info)
    return BoxedKernel(od, backend, how, run, check=check)


def value_rule(od, fn):
    """The value rule a boxed kernel of ``fn`` runs: ``od.values``, unless the backend's
    kernel declares ``fn.checks_values = True``: it checks the same values itself, on
    the device, and reports a violation at the next synchronisation (as PyTorch's
    device-side asserts do), so the step does not wait for a mid-step read."""
    return None if getattr(fn, "checks_values", False) else od.values


def _beginning(od, check, scalars, fn=None):
    """``begin(args) -> (spec, args)`` for the runners that are not generated: the shape
    rule (cached in ``check``), the value rule, then int fill values fitted into the
    result's dtype."""
    rule = value_rule(od, fn)

    def begin(args):
        spec = check(args) if check is not None else None
        if rule is not None:
            rule(spec, *args)
        if scalars and spec.__class__ is Spec:
            args = _fit_scalars(args, scalars, spec.dtype)
        return spec, args
    return begin


def _fit_scalars(args, positions, d):
    """``args`` with the int Scalars at ``positions`` inside integer dtype ``d``."""
    if d._kind != "i":
        return args
    info = _dt.iinfo(d)
    for i in positions:
        x = args[i]
        if x.__class__ is int and not info.min <= x <= info.max:
            args = args[:i] + (_dt.as_c_int(x, d),) + args[i + 1:]
    return args


def _creation_runner(od, fn, backend, info, check, scalars):
    """Creation ops: the backend runtime's ``MemoryError`` becomes ember's
    ``OutOfMemoryError`` naming the op, the shape and the bytes (also for sizes beyond
    any address space, which numpy refuses with a ``ValueError``)."""
    begin = _beginning(od, check, scalars, fn)

    def run_creation(od, dev, args):
        spec, args = begin(args)
        nat = _prepare(od, dev, args, spec, backend, info)
        nbytes = math.prod(spec.shape) * spec.dtype.itemsize \
            if spec.__class__ is Spec else 0
        try:
            if nbytes > sys.maxsize:  # more than any address space: numpy's ValueError
                raise MemoryError
            out = fn(*nat)
        except OutOfMemoryError:
            raise
        except MemoryError:  # the backend's runtime refused: ember's error, naming it
            raise OutOfMemoryError(
                f"{od.name}(): {dev} out of memory: tried to allocate {nbytes} bytes "
                f"for a tensor of shape {list(spec.shape)} and dtype {spec.dtype}"
                if nbytes else f"{od.name}(): {dev} out of memory") from None
        return _finish(out, od, dev, args, info)
    return run_creation


def _inplace_runner(od, fn, backend, info, check, scalars=()):
    mutated = info["mutated"] or (0,)
    pointwise = "pointwise" in od.tags
    rule = value_rule(od, fn)

    def run_inplace(od, dev, args):
        if check is not None:
            spec = check(args)  # raises before anything is written
            if rule is not None:
                rule(spec, *args)
        if scalars:
            args = _fit_scalars(args, scalars, args[mutated[0]].dtype)
        if od.cross_device:
            args = tuple(a.to(dev) if hasattr(a, "_device") and a._device is not dev
                         else a for a in args)
        target = args[mutated[0]]
        nat = _prepare(od, dev, args, None, backend, info,
                       target.dtype if pointwise else None)
        fn(*nat)
        for i in mutated:
            a = args[i]
            if a.__class__ is list:  # Tensor(a!)[]: fused updates of many tensors
                for t in a:
                    t._bump_version()
            else:
                a._bump_version()
        return target
    return run_inplace


def _n_plain_outputs(od) -> int:
    """How many tensors an op returning a tuple of plain (not view) tensors returns,
    e.g. 3 for ``(Tensor, Tensor, Tensor)``; 0 for every other kind of return."""
    if not od.returns_tuple or od.is_view or any(a.name == "dtype" for a in od.args):
        return 0  # (a dtype argument would be filled from one spec; tuples have several)
    parts = [p.strip() for p in od.returns.strip("()").split(",")]
    return len(parts) if all(p == "Tensor" for p in parts) else 0


def _generated_runner(od, fn, check, scalars=()):
    """A runner generated for one op's signature: unpack the arguments, build the
    validation key inline (``_key_parts``), look it up in ``check``'s cache, call the
    kernel, wrap the result.  (A generic loop costs as much as a small numpy kernel.)"""
    prelude, keys, call = _key_parts(od)
    lines = ["def run(od, dev, args):", _unpack(od), *prelude,
             f"    key = {_tuple(keys)}", "    try:", "        spec = cache.get(key)",
             "    except TypeError:", "        spec = check(args)", "    if spec is None:",
             "        spec = check(args)"]
    rule = value_rule(od, fn)
    if rule is not None:
        lines.append("    rule(spec, *args)")
    dpos = next((i for i, a in enumerate(od.args) if a.name == "dtype"), None)
    if dpos is not None:
        lines += [f"    if a{dpos} is None:", f"        a{dpos} = spec.dtype"]
    for i in scalars:  # (see _adapt: an int fill value wrapped into the dtype)
        lines += [f"    if a{i}.__class__ is int and spec.__class__ is _Spec:",
                  f"        a{i} = _fit_scalars((a{i},), (0,), spec.dtype)[0]"]
    lines.append(f"    out = fn({', '.join(call)})")
    first = next((i for i, a in enumerate(od.args) if a.is_tensor), None)
    n_out = _n_plain_outputs(od)
    if n_out:  # a tuple of new tensors: wrap each (no aliasing, no identity shortcut)
        lines.append(f"    return ({', '.join(f'make(out[{k}], dev)' for k in range(n_out))})")
    else:
        if first is not None:
            lines += [f"    if out is n{first}:",
                      f"        return a{first}  # e.g. contiguous() of a contiguous tensor"]
        if od.is_view:  # the output shares memory and the version counter with a0
            lines += ["    t = make(out, dev)", "    vc = a0._vc",  # (a call only the first time)
                      "    t._vc = a0._version_counter() if vc is None else vc",
                      "    b = a0._base", "    t._base = a0 if b is None else b", "    return t"]
        else:
            lines.append("    return make(out, dev)")
    env = {"fn": fn, "check": check, "cache": check.cache, "make": Tensor._make,
           "_alias": _alias, "rule": rule, "_Spec": Spec, "_fit_scalars": _fit_scalars}
    return _compile(od, [ln for ln in lines if ln], env, "runner")["run"]


def _pointwise_runner(od, fn, backend, info):
    """The hot path of elementwise ops, generated for the op's signature: ``(run,
    check)``.  Validation and promotion depend only on the validation key
    (``_key_parts``), so their outcome (the computation dtype, which operands to cast,
    the spec) is cached per key in the boxed kernel's one cache: a repeated call is a
    key, a lookup, the kernel and a wrap.

    Two rarer cases leave that path for ``special`` (the cached entry says when): a
    Python int operand of an integer computation, which may lie beyond the dtype, and
    calls where only Python numbers take part (``where(c, 0.0, 1.0)``)."""
    from .dtypes import pointwise_dtypes
    meta = od.meta
    tpos = info["tensor"]
    cast = backend.kernels.get("astype")
    fill = backend.kernels.get("full")
    # where()'s condition selects; it takes no part in the computation dtype.
    no_cast = frozenset(i for i in tpos if od.args[i].name == "condition")
    # A Python int beyond the computation dtype: PyTorch casts it as C does (int8 + 1000
    # adds -24), or, for the ops that say so (pow's exponent, where's values), refuses it
    # by the rule of tensor() (dtypes.check_fits).
    refuse = frozenset(i for i in tpos if od.args[i].name in
                       getattr(od, "refuse_out_of_range_numbers", ()))
    rule = value_rule(od, fn)
    cache: dict = {}
    make = Tensor._make

    def slow(args, key):
        spec = meta(*args)  # raises the op's clear error for bad shapes or dtypes
        ops = [args[i] for i in tpos if args[i] is not None]
        compute, _ = pointwise_dtypes(od.promotion, ops)
        casts = tuple(i for i in tpos if args[i] is not None and i not in no_cast
                      and args[i].__class__ not in _NUMBERS
                      and args[i]._data.dtype != compute.np)
        numbers_only = all(args[i].__class__ in _NUMBERS for i in tpos
                           if args[i] is not None and i not in no_cast)
        # hit[3]: None on the common path, else (low, high, numbers_only): the range of
        # an integer computation that has Python int operands (None, None if not)
        extra = None
        if compute._kind == "i" and any(args[i].__class__ is int for i in tpos):
            lim = _dt.iinfo(compute)
            extra = (lim.min, lim.max, numbers_only)
        elif numbers_only:
            extra = (None, None, True)
        if len(cache) > _CACHE_LIMIT:
            cache.clear()
        hit = cache[key] = (compute, casts, spec, extra)
        return hit

    def cast_call(nat, hit):
        compute, casts = hit[0], hit[1]
        nat = list(nat)
        for i in casts:
            nat[i] = cast(nat[i], compute)
        return fn(*nat)

    def special(dev, args, hit):
        """The call with out-of-range ints fitted and only-number operands typed."""
        compute, casts, spec, (low, high, numbers_only) = hit
        if low is not None:
            args = list(args)
            for i in tpos:
                x = args[i]
                if x.__class__ is int and not low <= x <= high:
                    if not -2 ** 63 <= x < 2 ** 63:  # (no 64-bit integer holds it)
                        raise OverflowError(
                            f"{od.name}(): the number {x} does not fit in int64")
                    if i in refuse:
                        _dt.check_fits(od.name, x, compute)
                    args[i] = _dt.as_c_int(x, compute)
        if rule is not None:
            rule(spec, *args)
        nat = list(args)
        for i in tpos:
            x = nat[i]
            if x is not None and x.__class__ not in _NUMBERS:
                nat[i] = x._data
        for i in casts:
            nat[i] = cast(nat[i], compute)
        if numbers_only and fill is not None:
            # Only Python numbers take part (where(c, 0.0, 1.0)): the backend gets them
            # as 0-d arrays of the promoted dtype, not typed by its own rules (numpy's
            # float64) nor refused (array-api-strict takes no two numbers).
            for i in tpos:
                if args[i].__class__ in _NUMBERS and i not in no_cast:
                    nat[i] = fill((), args[i], compute, dev)
        out = fn(*nat)
        if numbers_only and out.dtype != compute.np:
            out = cast(out, compute)
        return make(out, dev)

    prelude, keys, call = _key_parts(od)
    lines = ["def run(od, dev, args):", _unpack(od)]
    # Tensors of one dtype and one shape need no promotion, cast or broadcast check
    # under these promotion kinds when the rule is the generic one and there is no
    # value rule: skip even the key (the common case in training).
    if getattr(meta, "generic", False) and od.promotion in ("default", "always_bool") \
            and rule is None and len(tpos) == 2 and tpos == (0, 1):
        rest = "".join(f", a{i}" for i in range(2, len(od.args)))
        # (real-only ops let their shape rule refuse complex operands)
        complex_ok = " and n0.dtype.kind != 'c'" if od.real_only else ""
        lines += ["    if a0.__class__ is _T and a1.__class__ is _T:",
                  "        n0 = a0._data", "        n1 = a1._data",
                  f"        if n0.dtype is n1.dtype and n0.shape == n1.shape{complex_ok}:",
                  f"            return make(fn(n0, n1{rest}), dev)"]
    lines += [*prelude, f"    key = {_tuple(keys)}", "    hit = cache.get(key)",
              "    if hit is None:", "        hit = slow(args, key)",
              "    e = hit[3]",
              # (an int operand within the dtype's range stays on the common path)
              "    if e is not None and (e[2] or " + " or ".join(
                  f"a{i}.__class__ is int and not e[0] <= a{i} <= e[1]" for i in tpos)
              + "):", "        return special(dev, args, hit)"]
    if rule is not None:
        lines.append("    rule(hit[2], *args)")
    lines += ["    if hit[1]:", f"        return make(cast_call({_tuple(call)}, hit), dev)",
              f"    return make(fn({', '.join(call)}), dev)"]
    # check(args) -> spec through the same cache (for callers that only validate)
    lines += ["def check(args):", _unpack(od), *prelude, f"    key = {_tuple(keys)}",
              "    hit = cache.get(key)", "    if hit is None:", "        hit = slow(args, key)",
              "    return hit[2]"]
    env = {"fn": fn, "cache": cache, "slow": slow, "cast_call": cast_call, "rule": rule,
           "make": make, "_T": Tensor, "special": special}
    env = _compile(od, [ln for ln in lines if ln], env, "pointwise runner")
    env["check"].cache = cache
    return env["run"], env["check"]


# --- kernels that are not a backend's own ------------------------------------------------

def _decomposed(od, backend):
    """Run ``od`` through its decomposition into other ember ops."""
    meta = od.meta
    decomp = od.decomposition
    # (meta tensors have no values to check)
    rule = None if getattr(backend, "is_meta", False) else od.values

    def run_decomposed(od, dev, args):
        if meta is not None:
            spec = meta(*args)
            if rule is not None:
                rule(spec, *args)
        return decomp(*args)
    return run_decomposed


def _meta_runner(od):
    """The meta device's kernel: the shape rule, producing data-less outputs."""
    from .meta import MetaArray
    info = _layout(od)

    def run_meta(od, dev, args):
        spec = od.meta(*args)
        if od.is_inplace:
            return args[(info["mutated"] or (0,))[0]]
        if isinstance(spec, (tuple, list)):
            out = type(spec)(MetaArray(s.shape, s.dtype.np) for s in spec)
            out = tuple(out) if isinstance(spec, tuple) else out
        else:
            out = MetaArray(spec.shape, spec.dtype.np)
        return _finish(out, od, dev, args, info)
    return run_meta


def _cpu_fallback(od):
    """Run ``od`` on the CPU and move the results back (``EMBER_CPU_FALLBACK=1``)."""
    from .device import device as _device
    from .dispatch import backend_kernel, warn_fallback_once
    cpu = _device("cpu")
    info = _layout(od)

    def move(x, dev):
        if isinstance(x, Tensor):
            return x.to(dev)
        if isinstance(x, (list, tuple)):
            return type(x)(move(v, dev) for v in x)
        return x

    def run_on_cpu(od, dev, args):
        warn_fallback_once(od, dev.type)
        cargs = tuple(move(a, cpu) for a in args)
        j = info["device"]
        if j is not None:
            cargs = cargs[:j] + (cpu,) + cargs[j + 1:]
        out = backend_kernel(od, "cpu").run(od, cpu, cargs)
        if od.is_inplace:
            for i in info["mutated"] or (0,):
                args[i].copy_(cargs[i])
            return args[(info["mutated"] or (0,))[0]]
        return move(out, dev)
    return run_on_cpu


# --- the debug check of kernel outputs ---------------------------------------------------

def _checked(bk: BoxedKernel, run):
    """``run`` followed by a check of its results against the schema's promise."""
    from .device import tensor_device
    meta = bk.op.meta
    j = _layout(bk.op)["device"]

    def run_checked(od, dev, args):
        spec = meta(*args)
        out = run(od, dev, args)
        # the promised device: the call's, or its Device argument (``_to_device``)
        want = dev if j is None or args[j] is None else tensor_device(args[j])
        _check_outputs(bk, spec, out, want)
        return out
    return run_checked


def _check_outputs(bk: BoxedKernel, spec, out, dev) -> None:
    od = bk.op
    specs = list(spec) if isinstance(spec, (tuple, list)) else [spec]
    outs = list(out) if isinstance(out, (tuple, list)) else [out]

    def fail(what: str) -> None:
        raise KernelContractError(
            f"{od.name}(): the kernel of backend '{bk.backend.device_type}' "
            f"({bk.backend.name}, {bk.how}) {what} ({CHECK_ENV} is set)")
    if len(specs) != len(outs):
        fail(f"returned {len(outs)} results, but the schema promises {len(specs)}")
    for k, (s, o) in enumerate(zip(specs, outs, strict=True)):
        where = f"result {k}" if len(outs) > 1 else "its result"
        if not isinstance(o, Tensor):
            fail(f"returned {type(o).__name__} as {where}, not a Tensor")
        d = o._data
        shape = tuple(s.shape)
        if len(shape) != len(d.shape) or "dynamic_shape" not in od.tags and any(
                w is not None and w >= 0 and w != g for w, g in zip(shape, d.shape, strict=True)):
            fail(f"returned shape {list(d.shape)} as {where}, but the schema promises "
                 f"{list(shape)}")
        if d.dtype != s.dtype.np:
            fail(f"returned dtype {d.dtype} as {where}, but the schema promises "
                 f"{s.dtype.name}")
        if o._device != dev and not od.cross_device:
            fail(f"returned {where} on {o._device}, but the call ran on {dev}")
