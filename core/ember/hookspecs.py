"""Hook specifications of ember's plugin API (pluggy).

A plugin is a module (or object) with functions marked ``@ember.hookimpl`` whose names
are listed here.  ember calls every hook through its plugin manager
(``ember.plugins.manager.hook.<name>``), never an implementation directly.

A *device plugin* is found through the entry-point group ``ember``; the entry point's
*name* is the device type it provides (and owns: no other distribution may provide
it), so ember can load just that plugin the first time the device type is used.  A
*command plugin* (entry-point group ``ember.cli``) adds subcommands to the ``ember``
command and is loaded only by that command.  Either kind can also be registered
in-process with ``ember.plugins.register(obj, name)``.

Every plugin declares the plugin-API version it was written for as a module attribute
``EMBER_PLUGIN_API = "1.2"`` (or implements ``ember_plugin_api_version``).  It loads
when its major number equals ``ember.PLUGIN_API_VERSION``'s and its minor number is at
most the core's (``ember.plugin_api.check``); otherwise it is refused, with that rule in
the message, before any other hook of it is called.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("ember")
hookimpl = pluggy.HookimplMarker("ember")


@hookspec(firstresult=True)
def ember_plugin_api_version() -> str:
    """Return the plugin-API version this plugin targets (``"1.1"``).

    Alternative to the module attribute ``EMBER_PLUGIN_API``.  It is asked before the
    plugin's other hooks are wired in, so it must not depend on them.  The major number
    must equal ``ember.PLUGIN_API_VERSION``'s; the minor number may be lower, never
    higher.
    """


@hookspec
def ember_backend_create() -> Backend | list[Backend] | None:  # noqa: F821
    """Return the plugin's backend: an ``ember.backend.Backend`` whose ``device_type``
    equals the plugin's name (its entry-point name), or ``None`` for a plugin that only
    adds kernels to other devices.

    Called once, for this plugin only, when it is loaded.  Raising here marks the
    plugin as failed (with this exception as the cause) without breaking
    ``import ember``.  A backend whose runtime is installed but which finds no device
    should still be returned: its ``device_count()`` is 0 and ``unavailable_reason()``
    says why.  A device type another plugin already provides is refused.
    """


@hookspec
def ember_kernels_register(backend: Backend) -> None:  # noqa: F821
    """Add or override kernels of ``backend`` (any plugin, any device type).

    Called for each backend once it is created (every plugin registered at that moment
    is told), and, for a plugin registered later, at its registration for every backend
    that exists then — so the order in which plugins load does not matter.  This is how
    a plugin extends another one's device or a library adds a fused kernel for an
    existing device: ``backend.kernels["softmax"] = my_softmax``.  (Not a pluggy
    *historic* hook: history cannot be retracted, and a backend removed with
    ``ember.plugins.unregister`` must not be handed to plugins registered afterwards.)
    """


@hookspec
def ember_info_report() -> list[str] | None:
    """Return extra lines for ``ember info`` (runtime versions, driver quirks)."""


@hookspec
def ember_cli_subcommands(subparsers) -> None:
    """Add subcommands to the ``ember`` command (plugin API >= 1.1).

    ``subparsers`` is the ``argparse`` sub-parser collection of ``ember``.  Add each
    command with ``p = subparsers.add_parser(name, help=...)``, its arguments on ``p``,
    and ``p.set_defaults(run=fn)``: ``ember <name> ...`` then calls ``fn(args)`` and
    exits with the ``int`` it returns.  Names are first come, first served; ``info``
    is the core's.  Command plugins are found through the entry-point group
    ``ember.cli`` (``ember-conformance`` adds ``ember conformance`` this way); the
    ``ember`` command loads them, ``import ember`` never does.
    """


@hookspec
def ember_distributed_engines() -> list[EngineSpec] | None:  # noqa: F821
    """Offer collective-communication engines for ``ember.distributed`` (plugin API >= 1.2).

    Return a list of ``ember.distributed.EngineSpec``: a name (what
    ``init_process_group(backend=...)`` takes, e.g. ``"nccl"``), the device types whose
    native arrays it moves, and ``create(rank, world_size, init_method, timeout)``, which
    joins the job and returns an object with the methods of
    ``ember.distributed.Engine`` (non-blocking operations on contiguous native arrays,
    each returning a request with ``wait()`` and ``test()``).  Called when
    ``init_process_group`` runs, after every plugin has loaded; ``mpi`` is built in.
    """


@hookspec(firstresult=True)
def ember_graph_executor(graph, device_type: str):
    """Take a whole ``ember.jit`` graph whose ops all run on ``device_type`` (plugin API
    >= 1.2): return ``fn(*inputs) -> tuple of output tensors`` that computes it (a
    fused or captured program), or ``None`` to leave it to the default executor, which
    replays each node's boxed kernel.  ``graph`` is an ``ember.jit.Graph``: read its
    ``nodes``, ``inputs``, ``captured``, ``constants``, ``outputs`` and ``grads``, and
    set each ``.grad`` the graph lists, as the default executor does."""


@hookspec(firstresult=True)
def ember_tensor_reduce(tensor, strategy: str) -> tuple | None:
    """Say how ``tensor`` crosses a process boundary (``ember.multiprocessing``), or
    return ``None`` when it is not on this plugin's device.

    Called by the ``multiprocessing`` pickler for every tensor put on a queue or pipe
    once ``ember.multiprocessing`` is imported.  Return what ``__reduce__`` returns:
    ``(rebuild, args)``, where ``rebuild`` is a module-level function the receiving
    process imports and calls with ``args`` to get the tensor back (the receiver has the
    plugin too).  ``strategy`` is the sending process's sharing strategy
    (``"file_descriptor"`` or ``"file_system"``, see ``ember.multiprocessing``).  A
    device with inter-process handles (CUDA IPC memory handles) returns them so the
    receiver maps the same device memory; the CPU plugin returns
    ``ember.multiprocessing.reductions.reduce_shared_host(tensor, strategy)`` (the same
    host pages, no copy).  When no plugin answers, the tensor travels as a copy through
    host shared memory (``reduce_via_host``): the receiver gets its own device copy.
    The first non-``None`` answer wins.  Optional: a plugin need not implement it.
    """


@hookspec
def ember_autocast_policy(device_type: str) -> dict | None:
    """Change ``ember.autocast``'s op policy on ``device_type`` (plugin API >= 1.2).

    Return ``None`` to leave it, or a dict with any of the keys ``"dtype"`` (the
    default low-precision dtype of ``autocast(device_type)``: ``"float16"`` or
    ``"bfloat16"``, or the ``ember`` dtype) and the policy kinds of
    ``ember.amp.policy.KINDS`` (``"lower_precision"``, ``"fp32"``,
    ``"fp32_set_opt_dtype"``, ``"promote"``, ``"banned"``), each an iterable of op
    names that then have that kind (and leave the kind they had).  Called with every
    registered plugin's answer, applied in pluggy's order, when an autocast region on
    ``device_type`` begins (cached until the set of plugins changes).  A runtime with
    fast bfloat16 but slow float16 returns ``{"dtype": "bfloat16"}``; one whose
    low-precision ``softmax`` is accurate returns ``{"lower_precision": ["softmax"]}``.
    """
