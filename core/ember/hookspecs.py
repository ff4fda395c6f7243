"""Hook specifications of ember's plugin API (pluggy).

A plugin is a module (or object) with functions marked ``@ember.hookimpl`` whose names
are listed here.  It is found through the entry-point group ``ember`` — the entry
point's *name* is the device type it provides, so ember can load just that plugin the
first time the device type is used — or registered in-process with
``ember.plugins.register(obj)``.

Every plugin must also declare the plugin-API version it was written for as a module
attribute ``EMBER_PLUGIN_API = "1.0"`` (or implement ``ember_plugin_api_version``); a
different major version is refused with a clear message.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("ember")
hookimpl = pluggy.HookimplMarker("ember")


@hookspec
def ember_plugin_api_version() -> str:
    """Return the plugin-API version this plugin targets (``"1.0"``).

    Alternative to the module attribute ``EMBER_PLUGIN_API``.  The major number must
    equal ``ember.PLUGIN_API_VERSION``'s; the minor number may be lower.
    """


@hookspec
def ember_backend_create() -> Backend | list[Backend] | None:  # noqa: F821
    """Return the plugin's backend(s): ``ember.backend.Backend`` instances, one per
    device type it drives.

    Called once, when the plugin is loaded.  Raising here marks the plugin as failed
    (with this exception as the cause) without breaking ``import ember``.  A backend
    whose runtime is installed but which finds no device should still be returned:
    its ``device_count()`` is 0 and ``unavailable_reason()`` says why.
    """


@hookspec
def ember_kernels_register(backend: Backend) -> None:  # noqa: F821
    """Add or override kernels of ``backend`` (any plugin, any device type).

    Called for every backend after all plugins' ``ember_backend_create``.  This is how
    a plugin extends another one's device (``ember-jetson`` over ``ember-cuda``) or a
    library adds a fused kernel for an existing device:
    ``backend.kernels["softmax"] = my_softmax``.
    """


@hookspec
def ember_info_report() -> list[str] | None:
    """Return extra lines for ``ember info`` (runtime versions, driver quirks)."""
