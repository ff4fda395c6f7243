"""Dispatch keys and the dispatcher.

Keys, highest first: ``Autocast > Tracer > Autograd > <backend>`` (autocast first, so
that the tracer records its casts and a traced graph keeps them).  The backend key is
the device type string of the call's tensors (open-ended: plugins add them).  The
keyset of a call comes from its arguments (device, ``requires_grad``) and thread-local
state (grad mode, autocast, tracing).  The highest key with a kernel wins;
functionality kernels (Autograd, Autocast, Tracer) do their work and
:func:`redispatch` below themselves.

Resolution is cached per op: ``od.cache[device_type]`` holds the op's boxed kernel on
that backend (:mod:`ember.kernels`), and ``od.cache[keyset]`` the callable for a keyset
with functionality keys.  After the first call of an op on a device the hot path is:
look at the tensor arguments, one dictionary lookup, run the boxed kernel.  The
generated entry points inline that path from :func:`fast_path_source`; autograd and
``Tensor.__getitem__`` call :func:`backend_kernel`.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable

from . import schema as _schema
from .device import get_default_device, tensor_device
from .errors import DeviceError, OpError

__all__ = ["FUNCTIONALITY_KEYS", "register_kernel", "register_fallback", "dispatch",
           "redispatch", "state", "cpu_fallback_enabled", "clear_cache"]

#: Functionality keys, highest priority first.  Backend keys (device types) sit below.
FUNCTIONALITY_KEYS = ("Autocast", "Tracer", "Autograd")
_PRIORITY = {k: i for i, k in enumerate(FUNCTIONALITY_KEYS)}

#: Environment variable that lets ops missing on a device run on the CPU.
CPU_FALLBACK_ENV = "EMBER_CPU_FALLBACK"


class _State(threading.local):
    """Thread-local dispatch state.  Class attributes are the per-thread defaults."""

    grad_enabled = True
    inference_mode = False
    # Functionality keys turned on by context managers (autocast, tracing), ordered.
    keys: tuple = ()


state = _State()

#: key -> boxed kernel ``fn(op, device, args)`` used for every op lacking its own.
_fallbacks: dict[str, Callable] = {}


def register_kernel(op_name: str, key: str, kernel: Callable) -> None:
    """Register a functionality kernel ``kernel(op, device, args)`` for one op."""
    od = _schema.get_op(op_name)
    od.kernels[key] = kernel
    clear_cache(od)


def register_fallback(key: str, kernel: Callable) -> None:
    """Register a boxed kernel for a functionality key, used by every op (except those
    for which its optional attribute ``passes(od)`` is true: they skip the key)."""
    if key not in _PRIORITY:
        raise ValueError(f"{key!r} is not a functionality key ({FUNCTIONALITY_KEYS})")
    _fallbacks[key] = kernel
    clear_cache()


def clear_cache(od=None) -> None:
    """Forget cached resolutions (after kernels or plugins change)."""
    for o in ([od] if od is not None else _schema.registry.values()):
        o.cache.clear()


# --- the hot path -----------------------------------------------------------------

def dispatch(od, args: tuple):
    """Run op ``od`` on ``args`` (already in schema order)."""
    dev = None
    rg = False
    for i in od.tensor_args:
        t = args[i]
        cls = t.__class__
        if cls is _Tensor or (cls is not list and cls not in _NUMBERS and t is not None
                              and isinstance(t, _Tensor)):
            d = t._device
            if dev is None:
                dev = d
                first = i
            elif d is not dev and not od.cross_device:
                _mixed(od, args, first, i)
            if t._requires_grad:
                rg = True
        elif cls is list and od.args[i].is_list:  # (Tensor[]; a list elsewhere is refused)
            for x in t:
                d = x._device
                if dev is None:
                    dev = d
                    first = i
                elif d is not dev and not od.cross_device:
                    _mixed(od, args, first, i)
                if x._requires_grad:
                    rg = True
        elif t is None:
            if not od.args[i].optional:
                raise TypeError(f"{od.name}(): argument '{od.args[i].name}' must be "
                                f"Tensor, not None")
        elif cls in _NUMBERS and "pointwise" in od.tags:
            pass  # a Python number in a pointwise op (PyTorch's "wrapped number")
        else:
            if "pointwise" in od.tags and getattr(t, "ndim", None) == 0 \
                    and isinstance(getattr(t, "item", None), Callable):
                # a numpy scalar (np.float32(2)): a Python number, as PyTorch treats it
                return dispatch(od, args[:i] + (t.item(),) + args[i + 1:])
            raise TypeError(f"{od.name}(): argument '{od.args[i].name}' must be Tensor, "
                            f"not {cls.__name__}")
    if dev is None:
        dev = _factory_device(od, args)
    st = state
    if not (rg or st.keys):  # the common case: only the backend key
        k = od.cache.get(dev.type)
        if k is None:
            k = backend_kernel(od, dev.type)
        return k.run(od, dev, args)
    key = (st.keys, rg and st.grad_enabled, dev.type)
    kernel = od.cache.get(key)
    if kernel is None:
        kernel = _resolve(od, key)
    return kernel(od, dev, args)


_NUMBERS = frozenset({int, float, bool, complex})
_Tensor = None  # the Tensor class (see bind_tensor_class)


def bind_tensor_class(cls: type) -> None:
    """The one seam between the layers: ``ember.tensor`` hands its ``Tensor`` class
    down once, at import.  The dispatcher's hot path compares classes with it, and
    the code generated by ``schema`` (entry points, converters) and ``kernels`` (boxed
    kernels) reads it from here instead of importing the layer above."""
    global _Tensor
    _Tensor = cls
    _schema.bind_tensor_class(cls)


def _mixed(od, args, i, j):
    a, b = od.args[i], od.args[j]
    da, db = _devices_of(args[i]), _devices_of(args[j])
    raise DeviceError(
        f"{od.name}(): expected all tensors to be on the same device, but found at "
        f"least two devices, {da} (argument '{a.name}') and {db} (argument '{b.name}'); "
        f"move them with .to(device) first")


def _devices_of(x):
    if isinstance(x, list):
        return ", ".join(sorted({str(t._device) for t in x}))
    return str(x._device)


_canonical: dict = {}


def _factory_device(od, args):
    """The device of a call without tensor arguments (factories): its ``device``
    argument, else the default device; canonical (``rocm`` -> ``rocm:0``)."""
    pos = od.__dict__.get("_device_pos", -1)
    if pos == -1:
        pos = od._device_pos = next((i for i, a in enumerate(od.args) if a.type == "Device"),
                                    None)
    if pos is None:
        raise TypeError(f"{od.name}(): expected at least one Tensor argument")
    d = args[pos]
    if d is None:
        d = get_default_device()
    c = _canonical.get(d)
    if c is None:
        c = _canonical[d] = tensor_device(d)
    return c


def backend_kernel(od, device_type: str):
    """The :class:`~ember.kernels.BoxedKernel` of ``od`` on a backend, resolved once
    and cached per op (the dispatcher's hot path reads the same cache entry)."""
    k = od.cache.get(device_type)
    if k is None:
        from . import kernels as _k
        from .device import _usable_backend
        k = od.cache[device_type] = _k.resolve(od, _usable_backend(device_type))
    return k


def how_implemented(od, device_type: str) -> str:
    """``native``, ``decomposition``, ``cpu_fallback`` or ``missing`` (for reports):
    the boxed kernel's own answer (:func:`ember.kernels.implementation`)."""
    from .device import get_backend
    from .kernels import implementation
    return implementation(od, get_backend(device_type))


def _resolve(od, key):
    """The callable for a keyset: the highest functionality kernel, else the backend's
    boxed kernel."""
    keys, grad, dtype_ = key
    active = list(keys)
    if grad:
        active.append("Autograd")
    active.sort(key=_PRIORITY.__getitem__)
    kernel = None
    for k in active:
        kernel = _kernel_for(od, k)
        if kernel is not None:
            break
    if kernel is None:
        kernel = backend_kernel(od, dtype_).run
    od.cache[key] = kernel
    return kernel


def _kernel_for(od, key):
    """The kernel of functionality ``key`` for ``od``: its own, else the fallback
    unless the fallback passes ``od`` through (``fallback.passes(od)``: the
    Autocast fallback for ops no policy names, so they pay nothing for it)."""
    kernel = od.kernels.get(key)
    if kernel is None:
        kernel = _fallbacks.get(key)
        passes = getattr(kernel, "passes", None)
        if passes is not None and passes(od):
            return None
    return kernel


def redispatch(od, dev, args, below: str):
    """Run ``od`` with only the keys strictly below functionality key ``below``."""
    rank = _PRIORITY[below]
    for k in state.keys:
        if _PRIORITY[k] > rank:
            kern = _kernel_for(od, k)
            if kern is not None:
                return kern(od, dev, args)
    if rank < _PRIORITY["Autograd"] and state.grad_enabled and _any_requires_grad(od, args):
        kern = od.kernels.get("Autograd") or _fallbacks.get("Autograd")
        if kern is not None:
            return kern(od, dev, args)
    k = od.cache.get(dev.type)
    if k is None:
        k = backend_kernel(od, dev.type)
    return k.run(od, dev, args)


def _any_requires_grad(od, args) -> bool:
    for i in od.tensor_args:
        t = args[i]
        if isinstance(t, list):
            if any(x._requires_grad for x in t):
                return True
        elif isinstance(t, _Tensor) and t._requires_grad:
            return True
    return False


def fast_path_source(tensors: list[str], args: str, optional: tuple = ()) -> list[str]:
    """The dispatcher's common case as source lines for a generated entry point
    (``schema`` inlines them): plain tensors ``tensors`` on one device (those in
    ``optional`` may be ``None``; the first may not), none requiring grad (or grad mode
    off: backward formulas, optimizer steps), no functionality key -> the cached boxed
    kernel of the backend; the same with grad -> its prebuilt Autograd kernel
    (``BoxedKernel.autograd``).  Anything else falls through to :func:`dispatch`.
    Names used: ``_T`` (Tensor), ``_st`` (state), ``_cache`` (the op's resolution
    cache), ``_od``."""
    t0 = tensors[0]

    def opt(t: str, test: str) -> str:
        return f"({t} is None or {test})" if t in optional else test
    same = "".join(opt(t, f"{t}._device is _dv") + " and " for t in tensors[1:])
    grad = " or ".join(f"{t} is not None and {t}._requires_grad" if t in optional
                       else f"{t}._requires_grad" for t in tensors)
    return ["    if " + " and ".join(opt(t, f"{t}.__class__ is _T") for t in tensors) + ":",
            f"        _dv = {t0}._device",
            f"        if {same}not _st.keys:",
            "            _k = _cache.get(_dv.type)",
            "            if _k is not None:",
            f"                if not (({grad}) and _st.grad_enabled):",
            f"                    return _k.run(_od, _dv, {args})",
            # recording: the op's Autograd kernel prebuilt for this backend (once the
            # first recorded call through dispatch() has built it)
            "                _a = _k.autograd",
            "                if _a is not None:",
            f"                    return _a(_od, _dv, {args})"]


def cpu_fallback_enabled() -> bool:
    """Whether ops missing on a device may run on the CPU (``EMBER_CPU_FALLBACK=1``)."""
    from .kernels import cpu_fallback_enabled as enabled
    return enabled()


_warned: set = set()


def warn_fallback_once(od, device_type):
    if (od.name, device_type) not in _warned:
        _warned.add((od.name, device_type))
        warnings.warn(f"{od.name}(): no kernel on '{device_type}', running on the CPU "
                      f"({CPU_FALLBACK_ENV} is set)", RuntimeWarning, stacklevel=4)


def check(cond: bool, od_name: str, message: str) -> None:
    """Raise ``OpError(f"{op}(): {message}")`` unless ``cond`` (for shape rules)."""
    if not cond:
        raise OpError(f"{od_name}(): {message}")
