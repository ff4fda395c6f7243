"""Boxed kernels: how the dispatcher runs a backend's native kernel, a decomposition,
the meta shape rule, or the CPU fallback for one op.

A backend's native kernel sees native arrays only (numpy, cupy, pyopencl, dpnp …):
arguments arrive in schema order with every ``Tensor`` replaced by its native array,
inputs already cast to the op's computation dtype, a ``None`` dtype filled in from the
shape rule, and ``Generator`` replaced by the device's native generator state.  It
returns a native array (or a tuple of them); in-place kernels write into their first
argument and return nothing.  Validation, promotion, views, version counters and
wrapping into ``Tensor`` all happen here, once, for every backend.
"""

from __future__ import annotations

import math
import sys

from . import dtypes as _dt
from .dispatch import warn_fallback_once
from .errors import OutOfMemoryError
from .schema import Spec

_FRONTEND_ARGS = ("requires_grad", "pin_memory")


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


_FLAT = frozenset({int, type(None), slice, type(Ellipsis)})


Tensor = None  # bound by ember.tensor at import (avoids an import per call)


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
    """Native arguments for a kernel call."""
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


_NUMBERS = frozenset({int, float, bool})


def _finish(out, od, dev, args, info):
    res = _wrap(out, dev, od, args)
    if info["frontend"]:
        names = [a.name for a in od.args]
        if "requires_grad" in names and args[names.index("requires_grad")]:
            res.requires_grad_(True)
    return res


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


def _number_key(x):
    """A Python number's part of a validation key: its class (``1`` and ``1.0`` promote
    differently), and for ints and bools whether it is zero or negative, which rules
    depend on (pow refuses a negative int exponent for integer tensors; integer division
    refuses a zero divisor).  Its other values share one validation."""
    c = x.__class__
    return c if c is float or x > 0 else (c, x < 0)


def _validator(od, info):
    """``check(args) -> spec``: the op's shape rule, its outcome cached per key.

    A shape rule depends only on the shapes and dtypes of the tensors and on the other
    arguments' values (Scalars also by class: ``1`` and ``1.0`` give different dtypes),
    so the outcome of a validated call can be reused for every call with the same key.
    Unhashable arguments skip the cache; the cache is bounded.
    """
    meta = od.meta
    if meta is None:
        return None
    kinds = []
    for i, a in enumerate(od.args):
        if a.is_tensor:
            kinds.append((i, 1 if a.is_list else 0))
        elif a.type == "Any":
            kinds.append((i, 2))
        elif a.type == "Scalar":
            kinds.append((i, 3))
        elif a.type == "Generator":
            kinds.append((i, 4))
        else:
            kinds.append((i, 5))
    kinds = tuple(kinds)
    cache: dict = {}
    numbers = _NUMBERS

    def check(args):
        """Validate ``args``; the generated runners look ``cache`` up themselves with
        the same key (tensors by (shape, dtype), Scalars by (class, value))."""
        key = []
        for i, k in kinds:
            x = args[i]
            if k == 0:
                if x is None:
                    key.append(None)
                elif x.__class__ in numbers:
                    key.append(_number_key(x))
                else:
                    d = x._data
                    key.append((d.shape, d.dtype))
            elif k == 5:
                key.append(x)
            elif k == 3:
                key.append((x.__class__, x))
            elif k == 1:
                key.append(tuple([(t._data.shape, t._data.dtype) for t in x]))
            elif k == 2:
                key.append(_any_key(x))
            else:
                key.append(None)  # generators do not change shapes
        key = tuple(key)
        try:
            spec = cache.get(key)
        except TypeError:
            return meta(*args)
        if spec is None:
            spec = meta(*args)
            if len(cache) > 4096:
                cache.clear()
            cache[key] = spec
        return spec
    check.cache = cache
    return check


def adapt(od, fn, backend):
    """Box a backend's native kernel ``fn`` for op ``od``."""
    info = _layout(od)
    if od.promotion is not None and "pointwise" in od.tags and not od.is_inplace:
        return _pointwise(od, fn, backend, info)
    check = _validator(od, info)
    # Fill values (full, fill_, masked_fill, pad): the schema refused every value that
    # does not fit the dtype (dtypes.check_fits) but uint8's -255..-1, which the backend
    # gets wrapped as C casts them (numpy, array-api-strict and OpenCL hosts refuse them).
    scalars = tuple(i for i, a in enumerate(od.args)
                    if a.type == "Scalar" and a.name in ("fill_value", "value"))

    if od.is_inplace:
        mutated = info["mutated"] or (0,)
        pointwise = "pointwise" in od.tags

        def run_inplace(od, dev, args):
            if check is not None:
                check(args)  # raises before anything is written
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

    if check is not None and not info["frontend"] \
            and (od.returns in ("Tensor", "Tensor(a)") or _n_plain_outputs(od)) \
            and info["device"] is None and not info["tensor_list"] \
            and info["generator"] is None:
        return _generated_runner(od, fn, check, scalars)

    if "creation" in od.tags:
        def run_creation(od, dev, args):
            spec = check(args) if check is not None else None
            if scalars and spec.__class__ is Spec:
                args = _fit_scalars(args, scalars, spec.dtype)
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

    def run(od, dev, args):
        spec = check(args) if check is not None else None
        if scalars and spec.__class__ is Spec:
            args = _fit_scalars(args, scalars, spec.dtype)
        return _finish(fn(*_prepare(od, dev, args, spec, backend, info)), od, dev, args, info)
    return run


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


def _n_plain_outputs(od) -> int:
    """How many tensors an op returning a tuple of plain (not view) tensors returns,
    e.g. 3 for ``(Tensor, Tensor, Tensor)``; 0 for every other kind of return."""
    if not od.returns_tuple or od.is_view or any(a.name == "dtype" for a in od.args):
        return 0  # (a dtype argument would be filled from one spec; tuples have several)
    parts = [p.strip() for p in od.returns.strip("()").split(",")]
    return len(parts) if all(p == "Tensor" for p in parts) else 0


def _generated_runner(od, fn, check, scalars=()):
    """A kernel runner generated for one op's signature: unpack the arguments, build
    the validation key inline, look it up, call the kernel, wrap the result.  (The
    generic ``check`` loop costs as much as a small numpy kernel.)"""
    n = len(od.args)
    names = [f"a{i}" for i in range(n)]
    lines = ["def run(od, dev, args):", f"    {', '.join(names)}{',' if n == 1 else ''} = args"]
    key, call = [], []
    dpos = next((i for i, a in enumerate(od.args) if a.name == "dtype"), None)
    pointwise = "pointwise" in od.tags
    for i, a in enumerate(od.args):
        v = names[i]
        if a.is_tensor and pointwise:  # a Python number may stand for a tensor
            lines.append(f"    n{i} = {v} if {v}.__class__ in _N or {v} is None "
                         f"else {v}._data")
            key.append(f"None if {v} is None else _nk({v}) if n{i} is {v} "
                       f"else (n{i}.shape, n{i}.dtype)")
            call.append(f"n{i}")
        elif a.is_tensor:
            if a.optional or a.has_default:
                lines.append(f"    n{i} = None if {v} is None else {v}._data")
                key.append(f"None if n{i} is None else (n{i}.shape, n{i}.dtype)")
            else:
                lines.append(f"    n{i} = {v}._data")
                key.append(f"(n{i}.shape, n{i}.dtype)")
            call.append(f"n{i}")
        elif a.type == "Scalar":
            key.append(f"({v}.__class__, {v})")
            call.append(v)
        elif a.type == "Any":  # index tuples: may hold tensors and (unhashable) slices
            key.append(f"_any_key({v})")
            call.append(f"_unwrap_any({v})")
        else:
            key.append(v)
            call.append(v)
    lines.append(f"    key = ({', '.join(key)},)")
    lines.append("    try:")
    lines.append("        spec = cache.get(key)")
    lines.append("    except TypeError:")
    lines.append("        spec = check(args)")
    lines.append("    if spec is None:")
    lines.append("        spec = check(args)")
    if dpos is not None:
        lines.append(f"    if a{dpos} is None:")
        lines.append(f"        a{dpos} = spec.dtype")
    for i in scalars:  # (see adapt: an int fill value wrapped into the dtype)
        lines.append(f"    if a{i}.__class__ is int and spec.__class__ is _Spec:")
        lines.append(f"        a{i} = _fit_scalars((a{i},), (0,), spec.dtype)[0]")
    lines.append(f"    out = fn({', '.join(call)})")
    first = next((i for i, a in enumerate(od.args) if a.is_tensor), None)
    n_out = _n_plain_outputs(od)
    if n_out:  # a tuple of new tensors: wrap each (no aliasing, no identity shortcut)
        outs = ", ".join(f"make(out[{k}], dev)" for k in range(n_out))
        lines.append(f"    return ({outs})")
    else:
        if first is not None:
            lines.append(f"    if out is n{first}:")
            lines.append(f"        return a{first}  # e.g. contiguous() of a contiguous tensor")
        if od.is_view:  # the output shares memory and the version counter with the input
            lines.append("    t = make(out, dev)")
            lines.append("    _alias(t, a0)")
            lines.append("    return t")
        else:
            lines.append("    return make(out, dev)")
    # ``check`` fills its own cache; share it so hits need no second lookup.
    env = {"fn": fn, "check": check, "cache": check.cache, "make": Tensor._make,
           "_any_key": _any_key, "_unwrap_any": _unwrap_any, "_alias": _alias,
           "_N": _NUMBERS, "_nk": _number_key, "_Spec": Spec,
           "_fit_scalars": _fit_scalars}
    exec(compile("\n".join(lines) + "\n", f"<ember runner {od.name}>", "exec"), env)
    run = env["run"]
    run.native = fn  # for front ends that inline the dispatcher (Tensor.__getitem__)
    return run


def _pointwise(od, fn, backend, info):
    """The hot path of elementwise ops.  Validation and promotion depend only on the
    operands' shapes and dtypes (and which are Python numbers), so their outcome is
    cached per such key: a repeated call is a key, a lookup, the kernel and a wrap."""
    from .ops._rules import pointwise_dtypes
    meta = od.meta
    tpos = info["tensor"]
    cache: dict = {}
    cast = backend.kernels.get("astype")
    fill = backend.kernels.get("full")
    make = Tensor._make
    numbers = _NUMBERS
    # where()'s condition selects; it takes no part in the computation dtype.
    no_cast = frozenset(i for i in tpos if od.args[i].name == "condition")

    def slow(args, key):
        meta(*args)  # raises the op's clear error for bad shapes or dtypes
        ops = [args[i] for i in tpos if args[i] is not None]
        compute, _ = pointwise_dtypes(od, ops)
        casts = tuple(i for i in tpos if args[i] is not None and i not in no_cast
                      and args[i].__class__ not in numbers and args[i]._data.dtype != compute.np)
        # Only Python numbers take part (where(c, 0.0, 1.0)): see run_pointwise.
        numbers_only = all(args[i].__class__ in numbers for i in tpos
                           if args[i] is not None and i not in no_cast)
        fit = None
        if compute._kind == "i" and any(args[i].__class__ is int for i in tpos):
            info = _dt.iinfo(compute)
            fit = (info.min, info.max, compute)
        hit = cache[key] = (compute, casts, numbers_only, fit)
        return hit

    # A Python int beyond the computation dtype: PyTorch casts it as C does (int8 + 1000
    # adds -24), or, for the ops that say so (pow's exponent, where's values), refuses it
    # by the rule of tensor() (dtypes.check_fits).  Done here, once, for every backend.
    refuse = {i for i in tpos
              if od.args[i].name in getattr(od, "refuse_out_of_range_numbers", ())}

    def fitted(args, fit):
        low, high, d = fit
        out = list(args)
        for i in tpos:
            x = out[i]
            if x.__class__ is int and not low <= x <= high:
                if not -2 ** 63 <= x < 2 ** 63:  # (no 64-bit integer holds it)
                    raise OverflowError(f"{od.name}(): the number {x} does not fit in int64")
                if i in refuse:
                    _dt.check_fits(od.name, x, d)
                out[i] = _dt.as_c_int(x, d)
        return out

    def natives(args, hit):
        nat = list(args)
        for i in tpos:
            x = nat[i]
            if x is not None and x.__class__ not in numbers:
                nat[i] = x._data
        compute, casts = hit[0], hit[1]
        for i in casts:
            nat[i] = cast(nat[i], compute)
        return nat

    if tpos == (0,):
        def run_unary(od, dev, args):
            a = args[0]._data
            key = (a.shape, a.dtype)
            hit = cache.get(key)
            if hit is None:
                hit = slow(args, key)
            if hit[1]:
                return make(fn(*natives(args, hit)), dev)
            if len(args) == 1:
                return make(fn(a), dev)
            return make(fn(a, *args[1:]), dev)
        return run_unary

    # Two tensors of one dtype and one shape need no promotion, cast or broadcast check
    # under these promotion kinds: skip even the key (the common case in training).
    trivial = getattr(meta, "generic", False) and od.promotion in ("default", "always_bool")
    if tpos == (0, 1):
        nargs = len(od.args)  # 2, or 3 for add/sub's alpha: no star-args on the hot path

        def run_binary(od, dev, args):
            a = args[0]
            b = args[1]
            if trivial and a.__class__ is Tensor and b.__class__ is Tensor:
                x = a._data
                y = b._data
                if x.dtype is y.dtype and x.shape == y.shape:
                    if nargs == 2:
                        return make(fn(x, y), dev)
                    if nargs == 3:
                        return make(fn(x, y, args[2]), dev)
                    return make(fn(x, y, *args[2:]), dev)
            if a.__class__ in numbers:
                ka = _number_key(a)
            else:
                a = a._data
                ka = (a.shape, a.dtype)
            if b.__class__ in numbers:
                kb = _number_key(b)
            else:
                b = b._data
                kb = (b.shape, b.dtype)
            key = (ka, kb)
            hit = cache.get(key)
            if hit is None:
                hit = slow(args, key)
            fit = hit[3]
            if fit is not None and (a.__class__ is int and not fit[0] <= a <= fit[1] or
                                    b.__class__ is int and not fit[0] <= b <= fit[1]):
                return make(fn(*natives(fitted(args, fit), hit)), dev)
            if hit[1]:
                return make(fn(*natives(args, hit)), dev)
            if nargs == 2:
                return make(fn(a, b), dev)
            if nargs == 3:
                return make(fn(a, b, args[2]), dev)
            return make(fn(a, b, *args[2:]), dev)
        return run_binary

    def run_pointwise(od, dev, args):
        key = tuple(None if x is None else _number_key(x) if x.__class__ in numbers
                    else (x._data.shape, x._data.dtype) for x in (args[i] for i in tpos))
        hit = cache.get(key)
        if hit is None:
            hit = slow(args, key)
        if hit[3] is not None:
            args = fitted(args, hit[3])
        nat = natives(args, hit)
        if hit[2] and fill is not None:
            # Only Python numbers take part (where(c, 0.0, 1.0)): the backend gets them
            # as 0-d arrays of the promoted dtype, not typed by its own rules (numpy's
            # float64) nor refused (array-api-strict takes no two numbers).
            for i in tpos:
                if args[i].__class__ in numbers and i not in no_cast:
                    nat[i] = fill((), args[i], hit[0], dev)
        out = fn(*nat)
        if hit[2] and out.dtype != hit[0].np:
            out = cast(out, hit[0])
        return make(out, dev)
    return run_pointwise


def value_checked(od, run):
    """``run`` preceded by the op's value rule (``od.values``, see ``OpDef``), after its
    shape rule so that the value rule sees well-formed arguments; ``run`` itself when
    the op has none.  The one place value rules run below Autograd."""
    values = od.values
    if values is None:
        return run
    shapes = _validator(od, _layout(od))

    def run_checked(od, dev, args):
        if dev.type != "meta":  # meta tensors have no values
            shapes(args)
            values(*args)
        return run(od, dev, args)
    # Autograd recognises re-entrant kernels (decompositions) by name.
    run_checked.__name__ = run.__name__
    run_checked.__dict__.update(run.__dict__)
    return run_checked


def decomposed(od):
    """Run ``od`` through its decomposition into other ember ops."""
    meta = od.meta
    decomp = od.decomposition

    def run_decomposed(od, dev, args):
        if meta is not None:
            meta(*args)
        return decomp(*args)
    return run_decomposed


def meta_kernel(od):
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


def cpu_fallback(od, backend):
    """Run ``od`` on the CPU and move the results back (``EMBER_CPU_FALLBACK=1``)."""
    from .device import device as _device
    from .dispatch import backend_kernel
    cpu = _device("cpu")

    def move(x, dev):
        if isinstance(x, Tensor):
            return x.to(dev)
        if isinstance(x, (list, tuple)):
            return type(x)(move(v, dev) for v in x)
        return x

    def run_on_cpu(od, dev, args):
        warn_fallback_once(od, dev.type)
        cargs = tuple(move(a, cpu) for a in args)
        info = _layout(od)
        j = info["device"]
        if j is not None:
            cargs = cargs[:j] + (cpu,) + cargs[j + 1:]
        out = backend_kernel(od, "cpu")(od, cpu, cargs)
        if od.is_inplace:
            for i in info["mutated"] or (0,):
                args[i].copy_(cargs[i])
            return args[(info["mutated"] or (0,))[0]]
        return move(out, dev)
    return run_on_cpu


def promote(*xs) -> _dt.dtype:
    """Result dtype of operands by PyTorch's rules (re-exported for kernels)."""
    return _dt.result_type(*xs)
