"""Finding, loading and reporting plugins (pluggy; entry-point groups ``ember`` and
``ember.cli``).

Loading is lazy: ``import ember`` reads no entry points.  The first use of a device
type loads the plugin whose entry point carries that name; listing devices (or
``ember info``) loads them all; the ``ember`` command also loads the command plugins
(``ember.cli``).  A plugin that fails to import, declares an incompatible API version,
claims a device type it does not own, or raises while creating its backend is recorded
with its real cause and reported (a warning, ``ember info``); asking for its device
raises the cause.  Nothing here ever lets a plugin break ``import ember``.

Every hook is called through ``manager.hook``.  A plugin's API version is read before
its hooks are wired in and checked by ``ember.plugin_api.check`` (the one version rule).

Device types are owned: a backend's ``device_type`` must equal its plugin's name (its
entry-point name), ``meta`` belongs to the core and ``cpu`` to ``ember-cpu``, a device
type two distributions claim is refused naming both, and a device type once provided is
never replaced, so existing tensors keep working whatever is installed later.

Environment (parsed by ``ember.environment``):

``EMBER_BACKENDS``  comma-separated device types to use, in order of preference
                    (others are not loaded); the first available one is the default
                    device.
``EMBER_DISABLE``   comma-separated plugin names never to load.
"""

from __future__ import annotations

import dataclasses
import os
import re
import warnings
from functools import partial
from typing import Any

import pluggy

from . import environment, hookspecs, plugin_api
from .backend import Backend, UnavailableBackend
from .errors import PluginError

__all__ = ["register", "unregister", "load_all", "load_commands", "statuses",
           "PluginStatus", "manager", "backend_order", "ENTRY_POINT_GROUP",
           "CLI_ENTRY_POINT_GROUP", "BUILTIN_DEVICE_TYPES"]

ENTRY_POINT_GROUP = "ember"
#: Command plugins: they add ``ember <subcommand>`` (hook ``ember_cli_subcommands``).
CLI_ENTRY_POINT_GROUP = "ember.cli"
#: Device types only one distribution may provide (``ember`` is the core itself).
BUILTIN_DEVICE_TYPES = {"meta": "ember", "cpu": "ember-cpu"}
#: Device types whose plugins this project ships, for install advice.
_KNOWN = {"cpu": "cpu", "cuda": "cuda", "rocm": "rocm", "xpu": "xpu", "jetson": "jetson"}


@dataclasses.dataclass
class PluginStatus:
    """What ``ember info`` reports about one plugin."""

    name: str
    distribution: str | None = None
    version: str | None = None
    api_version: str | None = None
    #: loaded | failed | refused | disabled | not selected | not loaded
    state: str = "not loaded"
    cause: BaseException | None = None
    device_types: list = dataclasses.field(default_factory=list)
    #: "device" (group ``ember``) or "command" (group ``ember.cli``)
    kind: str = "device"
    #: the module its entry point names (``ember_rocm``), to read its declared API
    module: str | None = None

    @property
    def cause_text(self) -> str:
        return "" if self.cause is None else f"{type(self.cause).__name__}: {self.cause}"

    @property
    def origin(self) -> str:
        """``"ember-rocm 0.1.0"``, or ``"in-process"``."""
        if not self.distribution:
            return "in-process"
        return f"{self.distribution} {self.version}" if self.version else self.distribution


manager = pluggy.PluginManager("ember")
manager.add_hookspecs(hookspecs)
_statuses: dict[str, PluginStatus] = {}
_refused: list[PluginStatus] = []  # entry points that lost a claim on a device type
_commands: dict[str, PluginStatus] = {}
_entry_points: dict[str, Any] | None = None
_core_loaded = False


# --- environment ------------------------------------------------------------------------

def _device_types(var: str) -> list[str]:
    """The device-type list ``var``, each entry checked against the device-type rule."""
    from .device import is_device_type
    entries = environment.names(var)
    for t in entries:
        if not is_device_type(t):
            raw = os.environ.get(var, "")
            kind, _, index = t.partition(":")
            hint = (f" names a device, not a device type: write {kind!r} (choose the index "
                    f"with ember.set_default_device({t!r}) or device={t!r})"
                    if index and is_device_type(kind) else " is not a device type name")
            raise ValueError(f"environment variable {var}={raw!r}: {t!r}{hint}")
    return entries


def backend_order() -> list[str]:
    """``EMBER_BACKENDS``, validated: the device types to load, in order of preference
    (empty: all).  Raises ``ValueError`` naming the variable for a malformed entry."""
    return _device_types("EMBER_BACKENDS")


# --- discovery --------------------------------------------------------------------------

def _dist_key(name: str | None) -> str:
    return re.sub(r"[-_.]+", "-", name or "").lower()


def _status_of(ep) -> PluginStatus:
    st = PluginStatus(ep.name, module=ep.module)
    if ep.dist is not None:
        st.distribution, st.version = ep.dist.name, ep.dist.version
    return st


def _eps() -> dict[str, Any]:
    """The device plugins' entry points by name, after refusing contested names."""
    global _entry_points
    if _entry_points is not None:
        return _entry_points
    import importlib.metadata
    claims: dict[str, dict[str, Any]] = {}
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        # One distribution seen twice (on two sys.path entries) is one claim.
        dist = _dist_key(ep.dist.name if ep.dist is not None else None)
        claims.setdefault(ep.name, {}).setdefault(dist, ep)
    _entry_points = {}
    for name, by_dist in claims.items():
        owner = BUILTIN_DEVICE_TYPES.get(name)
        keep = by_dist.pop(_dist_key(owner), None) if owner else (
            by_dist.popitem()[1] if len(by_dist) == 1 else None)
        if keep is not None:
            _entry_points[name] = keep
            _statuses.setdefault(name, _status_of(keep))
        rivals = [_status_of(ep) for ep in by_dist.values()]
        for st in rivals:
            if owner:
                why = (f"device type {name!r} belongs to {owner}; {st.origin} may not "
                       f"provide it (uninstall {st.distribution})")
            else:
                others = " and ".join(r.origin for r in rivals)
                why = (f"device type {name!r} is claimed by {others}; uninstall all but "
                       f"one of them")
            st.state, st.cause = "refused", PluginError(why)
            _refused.append(st)
            warnings.warn(f"ember plugin {name!r} from {st.origin} refused: {why}",
                          RuntimeWarning, stacklevel=4)
        if keep is None and not owner:
            # Nobody gets a contested name: using it reports the clash.
            st = _statuses.setdefault(name, PluginStatus(
                name, " and ".join(r.distribution or "?" for r in rivals)))
            _fail(st, _refused[-1].cause, placeholder=True, warn=False)
    unknown = [t for t in backend_order() if t not in _entry_points and t != "meta"]
    if unknown:
        warnings.warn(
            f"EMBER_BACKENDS={os.environ.get('EMBER_BACKENDS', '')!r} names "
            f"{', '.join(map(repr, unknown))}, which no installed plugin provides "
            f"(installed: {', '.join(sorted(_entry_points)) or 'none'})",
            RuntimeWarning, stacklevel=4)
    return _entry_points


def _load_core() -> None:
    global _core_loaded
    if not _core_loaded:
        _core_loaded = True
        from . import __version__, meta
        st = _statuses.setdefault("meta", PluginStatus("meta", "ember", __version__))
        _register(meta, "meta", st)


def _selected(name: str) -> str | None:
    """Why plugin ``name`` must not load, or ``None`` if it may."""
    if name in _device_types("EMBER_DISABLE"):
        return "disabled"
    order = backend_order()
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
    order = backend_order()
    names = sorted(eps, key=lambda n: (order.index(n) if n in order else len(order), n))
    for name in names:
        if _statuses[name].state == "not loaded":
            _load_entry_point(eps[name])


def load_commands() -> None:
    """Load the command plugins (entry-point group ``ember.cli``).  Only the ``ember``
    command needs them; a failure is reported like a device plugin's."""
    import importlib.metadata
    _load_core()
    for ep in importlib.metadata.entry_points(group=CLI_ENTRY_POINT_GROUP):
        if ep.name in _commands:
            continue
        st = _commands[ep.name] = _status_of(ep)
        st.kind = "command"
        try:
            obj = ep.load()
        except Exception as e:
            _fail(st, e, placeholder=False)
            continue
        # Their own pluggy namespace: a command may share a name with a device type.
        _register(obj, f"{CLI_ENTRY_POINT_GROUP}:{ep.name}", st)


def _load_entry_point(ep) -> None:
    st = _statuses.setdefault(ep.name, _status_of(ep))
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


# --- registration -----------------------------------------------------------------------

def register(obj: Any, name: str | None = None) -> list[Backend]:
    """Register a plugin object or module in-process (tests, notebooks).

    ``name`` (default: the object's ``__name__``) is the plugin's name, which is also
    the device type its backend must have.  Returns the backends it created.  Raises
    ``PluginError`` if it fails, since the caller asked for it explicitly, and then
    leaves nothing behind (no device type, no status, no hooks).
    """
    name = name or getattr(obj, "__name__", None) or type(obj).__name__
    owner = BUILTIN_DEVICE_TYPES.get(name)
    if owner is None and name in _eps():
        owner = _statuses[name].origin
    if owner is not None:
        raise PluginError(f"plugin {name!r} (in-process) cannot be registered: device type "
                          f"{name!r} belongs to {owner}")
    if name in _statuses or manager.get_plugin(name) is not None:
        raise PluginError(f"a plugin named {name!r} is already registered "
                          f"(ember.plugins.unregister({name!r}) first)")
    _load_core()
    st = _statuses[name] = PluginStatus(name)
    backends = _register(obj, name, st, in_process=True)
    if st.state == "failed":
        del _statuses[name]
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


def declared_api(st: PluginStatus) -> tuple[str | None, str]:
    """``(version, how it is known)`` of the plugin API plugin ``st`` targets.

    A loaded plugin's version is the one checked when it loaded.  For one that is not
    loaded (not selected, disabled, failed to import, refused) the version is read from
    the source of its entry point's module, ``EMBER_PLUGIN_API = "1.0"`` at module level,
    without importing it (no GPU runtime starts); ``None`` with the reason when the
    source cannot tell (the version comes from its ``ember_plugin_api_version`` hook)."""
    if st.api_version is not None:
        return st.api_version, "checked when it loaded"
    if not st.module:
        return None, "not loaded, and registered in-process"
    path = _module_source(st.module)
    if path is None:
        return None, f"not loaded, and the source of {st.module} was not found"
    import ast
    try:
        tree = ast.parse(open(path, encoding="utf-8").read(), path)
    except (OSError, SyntaxError, ValueError) as e:
        return None, f"not loaded, and {path} cannot be read ({type(e).__name__})"
    for node in tree.body:
        target = node.targets[0] if isinstance(node, ast.Assign) and \
            len(node.targets) == 1 else getattr(node, "target", None)
        if isinstance(target, ast.Name) and target.id == "EMBER_PLUGIN_API":
            value = getattr(node, "value", None)
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                return value.value, f"declared in {st.module}, not loaded"
    return None, (f"not loaded, and {st.module} sets no literal EMBER_PLUGIN_API (its "
                  f"hook says, once loaded)")


def _module_source(module: str) -> str | None:
    """The source file of ``module``, found without importing it or its packages."""
    import importlib.machinery
    import importlib.util
    top, _, rest = module.partition(".")
    try:
        spec = importlib.util.find_spec(top)  # a top-level name: finding imports nothing
        for part in rest.split(".") if rest else ():
            if spec is None or not spec.submodule_search_locations:
                return None
            spec = importlib.machinery.PathFinder.find_spec(
                f"{spec.name}.{part}", list(spec.submodule_search_locations))
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.has_location or not str(spec.origin).endswith(".py"):
        return None
    return spec.origin


def _declared_api(obj) -> object:
    """The plugin-API version ``obj`` declares, read before it joins ``manager``: a
    scratch manager asks its ``ember_plugin_api_version`` hook, so a refused plugin is
    never called with anything."""
    declared = getattr(obj, "EMBER_PLUGIN_API", None)
    if declared is not None:
        return declared
    probe = pluggy.PluginManager("ember")
    probe.add_hookspecs(hookspecs)
    probe.register(obj)
    return probe.hook.ember_plugin_api_version()


def _owner_of(device_type: str) -> str:
    """Who provides ``device_type`` now, for messages."""
    for st in _statuses.values():
        if device_type in st.device_types:
            return f"plugin {st.name!r} ({st.origin})"
    return BUILTIN_DEVICE_TYPES.get(device_type) or "another plugin"


def _check_backend(b: object, name: str, st: PluginStatus) -> None:
    """Refuse a backend that is not one, or whose device type ``name`` does not own."""
    from .device import _backends
    what = f"plugin {name!r} ({st.origin})"
    if not isinstance(b, Backend) or not b.device_type:
        raise PluginError(f"{what} returned {b!r}, not an ember Backend with a device_type")
    t = b.device_type
    owner = BUILTIN_DEVICE_TYPES.get(t)
    if t != name:
        belongs = f", which belongs to {owner}" if owner else ""
        raise PluginError(f"{what} creates a backend for device type {t!r}{belongs}: a "
                          f"backend's device_type must equal its plugin's (entry-point) "
                          f"name {name!r}")
    current = _backends.get(t)
    if current is not None and not (isinstance(current, UnavailableBackend)
                                    and current.plugin == name):
        raise PluginError(f"{what} cannot provide device type {t!r}: {_owner_of(t)} "
                          f"already does, and its tensors must keep working")
    b.api_version = plugin_api.check(b.api_version or st.api_version,
                                     f"backend {t!r} of {what}")


def _register(obj, name: str, st: PluginStatus, in_process: bool = False) -> list[Backend]:
    from .device import _backends
    from .dispatch import clear_cache
    created: list[Backend] = []
    try:
        st.api_version = plugin_api.check(_declared_api(obj), f"plugin {name!r} "
                                                              f"({st.origin})")
        manager.register(obj, name=name)
        manager.check_pending()  # a misspelled hook fails here instead of never running
        # The plugin's own hooks only: a caller without the other plugins.
        alone = partial(manager.subset_hook_caller,
                        remove_plugins=[p for p in manager.get_plugins() if p is not obj])
        # A plugin that extends devices hears of every backend created before it ...
        for b in list(_backends.values()):
            if not isinstance(b, UnavailableBackend):
                alone("ember_kernels_register")(backend=b)
        for res in alone("ember_backend_create")():
            created += res if isinstance(res, list) else [res]
        for b in created:
            _check_backend(b, name, st)
        for b in created:
            # ... and every plugin of a backend created after it.  (Not a historic hook:
            # pluggy cannot retract history, and unregister() must forget a backend.)
            manager.hook.ember_kernels_register(backend=b)
    except BaseException as e:
        if isinstance(e, KeyboardInterrupt):
            raise
        if manager.get_plugin(name) is obj:
            manager.unregister(obj, name=name)
        _fail(st, e, placeholder=not in_process, warn=not in_process)
        return []
    from .tensor import OBSERVED_ALLOCATORS
    for b in created:
        _backends[b.device_type] = b
        st.device_types.append(b.device_type)
        if b.observes_allocations:
            # Observation itself starts on the first statistics query (ember.memory).
            OBSERVED_ALLOCATORS[b.device_type] = b.allocator(0)
    st.state, st.cause = "loaded", None
    clear_cache()
    return created


def _fail(st: PluginStatus, cause: BaseException, placeholder: bool = True,
          warn: bool = True) -> None:
    """Record ``st``'s failure; a ``placeholder`` backend makes using its device type
    raise the cause (entry-point plugins; an in-process caller gets the exception)."""
    from .device import _backends
    st.state = "failed"
    st.cause = cause
    if placeholder and st.name not in _backends:
        _backends[st.name] = UnavailableBackend(st.name, cause, st.name)
        st.device_types.append(st.name)
    if warn:
        warnings.warn(f"ember plugin {st.name!r} failed to load ({st.cause_text}); "
                      f"see `ember info`", RuntimeWarning, stacklevel=3)


# --- reporting --------------------------------------------------------------------------

def statuses() -> list[PluginStatus]:
    """Every known plugin's status (loads all device plugins first): device plugins,
    entry points refused for claiming a device type they do not own, and the command
    plugins loaded so far."""
    load_all()
    return [*_statuses.values(), *_refused, *_commands.values()]


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
