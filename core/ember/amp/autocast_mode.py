"""``ember.autocast``: regions where ops run in the dtypes of an op policy.

Entering a region turns the dispatcher's ``Autocast`` key on (``dispatch.state.keys``);
the calls made there reach :func:`autocast_kernel`, which looks the op up in the region
device type's table (:mod:`ember.amp.policy`), casts its floating-point tensor
arguments and runs the op below ``Autocast`` with the key off, so the op's own inner
ops (a decomposition's) are not cast again.  Ops the table does not name run as they
are (their inner ops still see the key, like PyTorch's composite ops).  Outside a
region the key is off and the dispatcher's fast path does not change.

The casts are ordinary ``astype`` calls, recorded by autograd, so the backward pass runs
in the dtypes the forward used and gradients reach the float32 parameters in float32;
backward itself runs with autocast off (``ember.autograd.engine``).  Casts of float32
leaf tensors that require grad (parameters) to the low-precision dtype are cached until
the outermost region ends, as PyTorch does: a weight used by several ops is cast once.
"""

from __future__ import annotations

import functools
import inspect
import threading
import warnings
from collections.abc import Callable

from .. import dispatch as _dispatch
from .. import dtypes as _dt
from ..errors import OpError
from .policy import NAMED, policy_for

__all__ = ["autocast", "autocast_kernel", "is_autocast_enabled", "get_autocast_dtype",
           "is_autocast_cache_enabled", "clear_autocast_cache", "autocast_state"]

_state = _dispatch.state
_KEY = "Autocast"
_LOW = ("float16", "bfloat16")


class _Local(threading.local):
    """Per-thread autocast state."""

    def __init__(self) -> None:
        # device type -> (dtype, {op name: kind}) of the innermost enabled region
        self.active: dict = {}
        self.depth = 0  # regions entered (enabled or not); the cache lives while > 0
        self.cache_enabled = True
        self.cache: dict = {}  # (id(tensor), dtype) -> (tensor, cast)


_local = _Local()


def is_autocast_enabled(device_type: str = "cpu") -> bool:
    """Whether an enabled autocast region for ``device_type`` is active (this thread)."""
    return device_type in _local.active


def get_autocast_dtype(device_type: str = "cpu"):
    """The low-precision dtype of the active region for ``device_type``, else the
    default one autocast would use there."""
    cfg = _local.active.get(device_type)
    if cfg is not None:
        return cfg[0]
    return getattr(_dt, policy_for(device_type).dtype)


def autocast_state() -> tuple:
    """The active regions of this thread as ``((device type, dtype name), ...)``, empty
    outside any region: what a traced graph's casts depend on (``ember.jit``'s guards)."""
    active = _local.active
    if not active:
        return ()
    return tuple(sorted((d, cfg[0].name) for d, cfg in active.items()))


def is_autocast_cache_enabled() -> bool:
    """Whether the innermost region caches weight casts."""
    return _local.cache_enabled


def clear_autocast_cache() -> None:
    """Drop the cached weight casts (done when the outermost region ends)."""
    _local.cache.clear()


class autocast:
    """Run ops in lower precision where it is safe: ``with ember.autocast("cpu"): ...``.

    ``device_type`` names the device type whose tensors are affected (``"cpu"``,
    ``"cuda"``, ``"rocm"``, ``"xpu"`` ...); ``dtype`` the low-precision dtype
    (default: the policy's, float16 on accelerators and bfloat16 on the CPU, unless the
    backend's ``ember_autocast_policy`` hook says otherwise); ``enabled=False`` turns
    autocast off inside an enclosing region; ``cache_enabled`` caches weight casts
    within the region.  Works as a decorator too (``@ember.autocast("cpu")``).
    Regions are thread-local and nest; leaving one restores the enclosing state.
    """

    def __init__(self, device_type: str, dtype=None, enabled: bool = True,
                 cache_enabled: bool = True) -> None:
        if not isinstance(device_type, str):
            raise TypeError(f"autocast(): argument 'device_type' must be a str such as "
                            f"'cpu' or 'cuda', got {type(device_type).__name__}")
        if ":" in device_type:
            raise ValueError(f"autocast(): argument 'device_type' must be a device type "
                             f"without an index ('cuda', not {device_type!r})")
        if dtype is not None:
            dtype = _dt.as_dtype(dtype, op="autocast")
        if not isinstance(enabled, bool):
            raise TypeError(f"autocast(): argument 'enabled' must be a bool, got "
                            f"{type(enabled).__name__}")
        self.device = device_type
        self.fast_dtype = dtype
        self._enabled = enabled
        self._cache_enabled = bool(cache_enabled)
        self._saved: list = []

    def _resolve(self):
        """(dtype, kinds) for this region, or ``None`` when it is disabled."""
        if not self._enabled:
            return None
        from ..device import is_available
        if self.device not in ("cpu", "meta") and not is_available(self.device):
            # PyTorch warns and disables too: code written for a GPU still runs
            warnings.warn(f"autocast(): device type {self.device!r} is not available "
                          f"here; autocast is disabled for this region", UserWarning,
                          stacklevel=3)
            return None
        policy = policy_for(self.device)  # (loading the plugin first: it may change it)
        dtype = self.fast_dtype or getattr(_dt, policy.dtype)
        if dtype.name not in _LOW:
            warnings.warn(f"autocast(): dtype {dtype} is not supported (expected "
                          f"ember.float16 or ember.bfloat16); autocast is disabled for "
                          f"this region", UserWarning, stacklevel=3)
            return None
        return dtype, policy.kinds()

    def __enter__(self) -> autocast:
        loc = _local
        cfg = self._resolve()
        self._saved.append((loc.active.get(self.device), loc.cache_enabled))
        if cfg is None:
            loc.active.pop(self.device, None)
        else:
            loc.active[self.device] = cfg
        loc.cache_enabled = self._cache_enabled
        loc.depth += 1
        _set_key(bool(loc.active))
        return self

    def __exit__(self, *exc) -> None:
        loc = _local
        prev, loc.cache_enabled = self._saved.pop()
        if prev is None:
            loc.active.pop(self.device, None)
        else:
            loc.active[self.device] = prev
        loc.depth -= 1
        if loc.depth == 0:
            loc.cache.clear()
        _set_key(bool(loc.active))

    def __call__(self, func: Callable) -> Callable:
        """Decorate ``func``: every call runs inside a region like this one."""
        def region():
            return autocast(self.device, self.fast_dtype, self._enabled,
                            self._cache_enabled)

        if inspect.isgeneratorfunction(func):
            raise TypeError("autocast(): decorating a generator function is not supported "
                            "(the region would span its yields)")

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with region():
                return func(*args, **kwargs)
        return wrapper


def _set_key(on: bool) -> None:
    keys = _state.keys
    if on and _KEY not in keys:
        order = _dispatch.FUNCTIONALITY_KEYS
        _state.keys = tuple(sorted((*keys, _KEY), key=order.index))
    elif not on and _KEY in keys:
        _state.keys = tuple(k for k in keys if k != _KEY)


def autocast_kernel(od, dev, args):
    """The ``Autocast`` key's boxed kernel (the fallback of every op)."""
    cfg = _local.active.get(dev.type)
    kind = None if cfg is None else cfg[1].get(od.name)
    if kind is None:
        return _dispatch.redispatch(od, dev, args, below=_KEY)
    if kind == "banned":
        hint = (" (a sigmoid before it saturates in float16: combine the two as "
                "binary_cross_entropy_with_logits, which is safe to autocast)"
                if od.name == "binary_cross_entropy" else "")
        raise OpError(f"{od.name}(): unsafe to autocast on '{dev.type}'; call it outside "
                      f"the autocast region{hint}")
    keys = _state.keys
    _state.keys = tuple(k for k in keys if k != _KEY)  # inner ops are not cast again
    try:
        target = _target(od, kind, cfg[0], args, dev)
        if target is not None:
            args = _cast_args(od, args, target, dev, promote=kind == "promote")
        return _dispatch.redispatch(od, dev, args, below=_KEY)
    finally:
        _state.keys = keys


def _target(od, kind, low, args, dev):
    """The dtype the op's floating-point arguments are cast to (``None``: leave them)."""
    if kind == "lower_precision":
        return low
    if kind == "fp32":
        return _dt.float32
    if kind == "fp32_set_opt_dtype":
        pos = _dtype_pos(od)
        return None if pos is not None and args[pos] is not None else _dt.float32
    widest = None  # promote: the widest floating dtype among the arguments
    for t in _tensors(od, args):
        d = t.dtype
        if d.is_floating_point and t._device.type == dev.type:
            widest = d if widest is None else _dt.promote_types(widest, d)
    return widest


def _dtype_pos(od):
    pos = od.__dict__.get("_autocast_dtype_pos", -1)
    if pos == -1:
        pos = od._autocast_dtype_pos = next(
            (i for i, a in enumerate(od.args) if a.name == "dtype"), None)
    return pos


def _tensors(od, args):
    Tensor = _dispatch._Tensor
    for i in od.tensor_args:
        a = args[i]
        if isinstance(a, list):
            yield from (x for x in a if isinstance(x, Tensor))
        elif isinstance(a, Tensor):
            yield a


def _cast_args(od, args, target, dev, promote):
    out = list(args)
    for i in od.tensor_args:
        a = args[i]
        if od.args[i].alias == "a!":
            continue  # never cast what the op writes into
        if isinstance(a, list):
            out[i] = [_cast(x, target, dev, promote) for x in a]
        elif a is not None and isinstance(a, _dispatch._Tensor):
            out[i] = _cast(a, target, dev, promote)
    return tuple(out)


def _cast(t, target, dev, promote):
    """``t`` in ``target`` if autocast may cast it: a floating tensor on the region's
    device type, not float64 (which autocast never lowers, except to promote)."""
    d = t.dtype
    if d is target or not d.is_floating_point or t._device.type != dev.type \
            or (d is _dt.float64 and not promote):
        return t
    loc = _local
    if loc.cache_enabled and t._requires_grad and t.grad_fn is None \
            and d is _dt.float32 and target.name in _LOW and _state.grad_enabled:
        key = (id(t), target)
        hit = loc.cache.get(key)
        if hit is not None and hit[0] is t:
            return hit[1]
        c = t.astype(target)
        loc.cache[key] = (t, c)  # holding t keeps its id from being reused
        return c
    return t.astype(target)


def _passes(od) -> bool:
    """Ops no table names skip the Autocast key altogether (its cost inside a region
    is then the dispatcher's general path only).  Their inner ops still see it."""
    return od.name not in NAMED


autocast_kernel.passes = _passes
_dispatch.register_fallback(_KEY, autocast_kernel)
