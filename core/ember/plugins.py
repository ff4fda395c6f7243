"""Finding, loading and reporting plugins (pluggy, entry-point group ``ember``).

Loading is lazy: ``import ember`` reads no entry points.  The first use of a device
type loads the plugin whose entry point carries that name; listing devices (or
``ember info``) loads them all.  A plugin that fails to import, declares an
incompatible API version, or raises while creating its backend is recorded with its
real cause and reported (a warning, ``ember info``); asking for its device raises the
cause.  Nothing here ever lets a plugin break ``import ember``.

Environment:

``EMBER_BACKENDS``  comma-separated device types to use, in order of preference
                    (others are not loaded); the first is the default device.
``EMBER_DISABLE``   comma-separated plugin names never to load.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from typing import Any

import pluggy

from . import hookspecs
from .backend import PLUGIN_API_VERSION, Backend, UnavailableBackend
from .errors import PluginError

__all__ = ["register", "unregister", "load_all", "statuses", "PluginStatus",
           "manager", "ENTRY_POINT_GROUP"]

ENTRY_POINT_GROUP = "ember"
#: Device types whose plugins this project ships, for install advice.
_KNOWN = {"cpu": "cpu", "cuda": "cuda", "rocm": "rocm", "xpu": "xpu", "jetson": "jetson"}


@dataclasses.dataclass
class PluginStatus:
    """What ``ember info`` reports about one plugin."""

    name: str
    distribution: str | None = None
    version: str | None = None
    api_version: str | None = None
    state: str = "not loaded"  # loaded | failed | disabled | not selected | not loaded
    cause: BaseException | None = None
    device_types: list = dataclasses.field(default_factory=list)

    @property
    def cause_text(self) -> str:
        return "" if self.cause is None else f"{type(self.cause).__name__}: {self.cause}"


manager = pluggy.PluginManager("ember")
manager.add_hookspecs(hookspecs)
_statuses: dict[str, PluginStatus] = {}
_entry_points: dict[str, Any] | None = None
_core_loaded = False


def _env_list(name: str) -> list[str]:
    return [t.strip() for t in os.environ.get(name, "").split(",") if t.strip()]


def _eps() -> dict[str, Any]:
    global _entry_points
    if _entry_points is None:
        import importlib.metadata
        _entry_points = {}
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            _entry_points.setdefault(ep.name, ep)
            st = _statuses.setdefault(ep.name, PluginStatus(ep.name))
            if ep.dist is not None:
                st.distribution, st.version = ep.dist.name, ep.dist.version
    return _entry_points


def _load_core() -> None:
    global _core_loaded
    if not _core_loaded:
        _core_loaded = True
        from . import meta
        register(meta, name="meta")


def _selected(name: str) -> str | None:
    """Why plugin ``name`` must not load, or ``None`` if it may."""
    if name in _env_list("EMBER_DISABLE"):
        return "disabled"
    order = _env_list("EMBER_BACKENDS")
    if order and name not in order and name != "meta":
        return "not selected"
    return None


def load_for(device_type: str) -> None:
    """Load the plugin providing ``device_type`` (by entry-point name), else all."""
    from .device import _backends
    _load_core()
    if device_type in _backends:
        return
    ep = _eps().get(device_type)
    if ep is not None:
        _load_entry_point(ep)
    if device_type not in _backends:
        load_all()


def load_all() -> None:
    """Load every installed, selected plugin (in ``EMBER_BACKENDS`` order if set)."""
    _load_core()
    eps = _eps()
    order = _env_list("EMBER_BACKENDS")
    names = sorted(eps, key=lambda n: (order.index(n) if n in order else len(order), n))
    for name in names:
        if _statuses[name].state == "not loaded":
            _load_entry_point(eps[name])


def _load_entry_point(ep) -> None:
    st = _statuses.setdefault(ep.name, PluginStatus(ep.name))
    if st.state != "not loaded":
        return
    why = _selected(ep.name)
    if why is not None:
        st.state = why
        return
    try:
        obj = ep.load()
    except BaseException as e:
        if isinstance(e, KeyboardInterrupt):
            raise
        _fail(st, e)
        return
    _register(obj, ep.name, st)


def register(obj: Any, name: str | None = None) -> list[Backend]:
    """Register a plugin object or module in-process (tests, notebooks).

    Returns the backends it created.  Raises ``PluginError`` if it fails, since the
    caller asked for it explicitly.
    """
    name = name or getattr(obj, "__name__", None) or type(obj).__name__
    st = _statuses.setdefault(name, PluginStatus(name))
    st.state = "not loaded"
    backends = _register(obj, name, st)
    if st.state == "failed":
        raise PluginError(f"plugin {name!r} failed: {st.cause_text}") from st.cause
    return backends


def unregister(name: str) -> None:
    """Remove an in-process plugin and the device types it created."""
    from .device import _backends
    from .dispatch import clear_cache
    st = _statuses.pop(name, None)
    plugin = manager.get_plugin(name)
    if plugin is not None:
        manager.unregister(plugin, name=name)
    if st is not None:
        for t in st.device_types:
            _backends.pop(t, None)
    clear_cache()


def _api_version(obj) -> str | None:
    v = getattr(obj, "EMBER_PLUGIN_API", None)
    if v is None:
        for impl in manager.hook.ember_plugin_api_version.get_hookimpls():
            if impl.plugin is obj:
                v = impl.function()
    return v


def _register(obj, name: str, st: PluginStatus) -> list[Backend]:
    from .device import _backends
    from .dispatch import clear_cache
    try:
        if manager.get_plugin(name) is None:
            manager.register(obj, name=name)
        api = _api_version(obj)
        st.api_version = api
        if api is None:
            raise PluginError(f"plugin {name!r} does not declare the plugin API it targets "
                              f"(set EMBER_PLUGIN_API = {PLUGIN_API_VERSION!r})")
        if str(api).split(".")[0] != PLUGIN_API_VERSION.split(".")[0]:
            raise PluginError(f"plugin {name!r} targets plugin API {api}, but this ember "
                              f"implements {PLUGIN_API_VERSION}; install a matching version")
        created: list[Backend] = []
        for impl in manager.hook.ember_backend_create.get_hookimpls():
            if impl.plugin is obj:
                res = impl.function()
                created += res if isinstance(res, list) else ([res] if res else [])
        for b in created:
            if not isinstance(b, Backend) or not b.device_type:
                raise PluginError(f"plugin {name!r} returned {b!r}, not an ember Backend "
                                  f"with a device_type")
            if str(b.api_version).split(".")[0] != PLUGIN_API_VERSION.split(".")[0]:
                raise PluginError(f"backend {b.device_type!r} targets plugin API "
                                  f"{b.api_version}, this ember implements {PLUGIN_API_VERSION}")
        for b in created:
            manager.hook.ember_kernels_register(backend=b)
        # A plugin that only extends others applies to backends that already exist.
        for impl in manager.hook.ember_kernels_register.get_hookimpls():
            if impl.plugin is obj:
                for b in list(_backends.values()):
                    if b not in created and not isinstance(b, UnavailableBackend):
                        impl.function(backend=b)
    except BaseException as e:
        if isinstance(e, KeyboardInterrupt):
            raise
        if manager.get_plugin(name) is not None:
            manager.unregister(name=name)
        _fail(st, e)
        return []
    from .tensor import OBSERVED_ALLOCATORS
    for b in created:
        _backends[b.device_type] = b
        st.device_types.append(b.device_type)
        if b.observes_allocations:
            # Observation itself starts on the first statistics query (ember.memory).
            OBSERVED_ALLOCATORS[b.device_type] = b.allocator(0)
    st.state = "loaded"
    clear_cache()
    return created


def _fail(st: PluginStatus, cause: BaseException) -> None:
    from .device import _backends
    st.state = "failed"
    st.cause = cause
    if st.name not in _backends:
        _backends[st.name] = UnavailableBackend(st.name, cause, st.name)
        st.device_types.append(st.name)
    warnings.warn(f"ember plugin {st.name!r} failed to load ({st.cause_text}); "
                  f"see `ember info`", RuntimeWarning, stacklevel=3)


def statuses() -> list[PluginStatus]:
    """Every known plugin's status (loads all plugins first)."""
    load_all()
    return list(_statuses.values())


def why_missing(device_type: str) -> str:
    """The message for using a device type no loaded plugin provides."""
    st = _statuses.get(device_type)
    if st is not None and st.state == "disabled":
        return (f"device type '{device_type}' is disabled (EMBER_DISABLE="
                f"{os.environ.get('EMBER_DISABLE', '')})")
    if st is not None and st.state == "not selected":
        return (f"device type '{device_type}' is not selected (EMBER_BACKENDS="
                f"{os.environ.get('EMBER_BACKENDS', '')})")
    hint = (f"install it with `pip install ember[{_KNOWN[device_type]}]`"
            if device_type in _KNOWN else
            "install a plugin that registers it (entry-point group 'ember')")
    return f"no ember plugin provides device type '{device_type}'; {hint}"
