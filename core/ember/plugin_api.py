"""The versioned contract between the core and a backend plugin.

``PLUGIN_API_VERSION`` (``MAJOR.MINOR``) versions everything a plugin relies on: the
hooks of ``ember.hookspecs``, the ``Backend`` base class, the *primitive set* (the ops a
backend implements) and the kernel calling convention (each primitive's signature,
docs/architecture.md).  The rule, checked in one place (``check``):

* the plugin's major number must equal the core's (a major bump is an incompatible
  change: a primitive's signature changed, a hook or a primitive was removed);
* the plugin's minor number must be at most the core's (a minor bump only adds: a hook,
  a primitive).  A plugin written for an older minor keeps working: each primitive added
  since has a decomposition, or using it on that plugin's device raises
  ``NotImplementedForDevice`` saying which plugin-API version it needs (``too_old``).

History (``PRIMITIVES`` below holds the primitives each minor version added):

* 1.0 — the first contract: hooks ``ember_plugin_api_version``,
  ``ember_backend_create``, ``ember_kernels_register``, ``ember_info_report``.
* 1.1 — hook ``ember_cli_subcommands``; a backend's ``device_type`` must equal its
  plugin's name.  No new primitive.
* 1.2 — complex dtypes: primitives ``view_as_real``, ``view_as_complex`` and
  ``conj_physical`` (which has a decomposition); the DFT's ``_fft_c2c``,
  ``_fft_r2c`` and ``_fft_c2r``.  Optional hooks ``ember_autocast_policy`` (a backend
  changes autocast's op policy and default dtype on its device type),
  ``ember_distributed_engines`` (collective engines), ``ember_graph_executor`` (a
  backend takes a whole ``ember.jit`` graph) and ``ember_tensor_reduce`` (how a device's
  tensors cross processes).
* 1.3 — primitive ``_view_dtype`` (``Tensor.view(dtype)``: a tensor's bytes
  reinterpreted as another dtype; no decomposition can reinterpret bits, so a backend
  targeting 1.2 or older lacks it, with ``too_old``'s message).

Adding a primitive: bump the minor number here, list the op under the new version in
``PRIMITIVES`` and update ``SIGNATURES_DIGEST`` (``tests/test_plugin_api.py`` fails until
all three agree with the registry, and prints the new digest).
"""

from __future__ import annotations

from .errors import PluginError

__all__ = ["PLUGIN_API_VERSION", "PRIMITIVES", "SIGNATURES_DIGEST", "check", "parse",
           "since", "predates", "too_old", "signatures_digest"]

#: The plugin API this core implements.
PLUGIN_API_VERSION = "1.3"

#: The primitive ops each plugin-API version added (op names of the registry's ops not
#: tagged ``composite``).  A backend targeting version V owes the primitives of every
#: version up to V that have no decomposition.
PRIMITIVES: dict[str, frozenset[str]] = {
    "1.0": frozenset("""
        _cat _to_device abs abs_ add add_ addcdiv_ addcmul_ amax amin arange argmax argmin
        astype atan2 basic_index bitwise_and bitwise_and_ bitwise_left_shift bitwise_not
        bitwise_not_ bitwise_or bitwise_or_ bitwise_right_shift bitwise_xor bitwise_xor_
        ceil ceil_ clamp_ clamp_max_ clamp_min_ clone contiguous copy_ cos cos_ cumprod
        cumsum div_ eq erf exp exp_ expand expm1 floor floor_ floor_divide floor_divide_
        fmod full ge gt index index_add_ index_put_ le lerp_ linalg_cholesky linalg_det
        linalg_eigh linalg_inv linalg_qr linalg_slogdet linalg_solve linalg_svd log log10
        log1p log2 log_ logical_not_ lt masked_fill_ matmul maximum minimum mul mul_ ne neg
        neg_ nonzero permute pow pow_ prod rand randint randn reciprocal_ remainder
        remainder_ reshape round round_ rsqrt_ scatter_ scatter_add_ sigmoid sigmoid_ sign
        sign_ sin sin_ sort sqrt sqrt_ square_ sub sub_ sum tan tanh tanh_ true_divide
        true_divide_ trunc trunc_ unfold where
    """.split()),
    "1.1": frozenset(),
    "1.2": frozenset("""
        _fft_c2c _fft_c2r _fft_r2c conj_physical view_as_complex view_as_real
    """.split()),
    "1.3": frozenset({"_view_dtype"}),
}

#: ``signatures_digest()`` of the registry this version describes: the kernel calling
#: convention is the primitives' signatures, so changing one changes the contract.
SIGNATURES_DIGEST = "f6a43c7e25df5d18"


def parse(version: object, what: str = "version") -> tuple[int, int]:
    """``"1.2"`` -> ``(1, 2)``; a ``PluginError`` naming ``what`` for anything else."""
    major, dot, minor = str(version).strip().partition(".")
    if not (dot and major.isdigit() and minor.isdigit()):
        raise PluginError(f"{what} declares plugin API {version!r}; expected 'MAJOR.MINOR' "
                          f"such as {PLUGIN_API_VERSION!r}")
    return int(major), int(minor)


def check(declared: object, what: str) -> str:
    """Refuse ``what`` (``"plugin 'rocm'"``) unless its declared plugin-API version can
    run on this core; returns the version as ``"MAJOR.MINOR"``.  The one version check."""
    if declared is None:
        raise PluginError(f"{what} does not declare the plugin API it targets (set "
                          f"EMBER_PLUGIN_API = {PLUGIN_API_VERSION!r} in its module)")
    major, minor = parse(declared, what)
    core_major, core_minor = parse(PLUGIN_API_VERSION)
    if major != core_major or minor > core_minor:
        raise PluginError(
            f"{what} targets plugin API {major}.{minor}, but this ember implements "
            f"{PLUGIN_API_VERSION}: a plugin loads when its major version equals the "
            f"core's and its minor version is at most the core's; install versions of "
            f"ember and the plugin that match")
    return f"{major}.{minor}"


def since(op_name: str) -> str | None:
    """The plugin-API version whose primitive set added ``op_name`` (``None``: not a
    primitive of any version)."""
    for version, names in PRIMITIVES.items():
        if op_name in names:
            return version
    return None


def predates(op_name: str, backend) -> str | None:
    """The version that added primitive ``op_name`` when ``backend`` targets an older
    one, else ``None``.  The one rule for what a backend owes: every primitive of the
    versions up to the one it targets (its ``api_version``; the core's when unset)."""
    added = since(op_name)
    declared = getattr(backend, "api_version", None)
    if added is None or declared is None or parse(declared) >= parse(added):
        return None
    return added


def too_old(op_name: str, backend) -> str | None:
    """Why ``backend`` lacks primitive ``op_name`` if it predates it: ``"needs plugin
    API >= 1.2; backend 'x' targets 1.0 ..."``, else ``None``."""
    added = predates(op_name, backend)
    if added is None:
        return None
    declared = backend.api_version
    return (f"needs plugin API >= {added}, but backend '{backend.device_type}' targets "
            f"{declared} (it predates this primitive); upgrade the plugin or set "
            f"EMBER_CPU_FALLBACK=1 to run it on the CPU")


def signatures_digest(registry: dict) -> str:
    """A short digest of every primitive's signature in ``registry`` (the calling
    convention), for the test that keeps ``SIGNATURES_DIGEST`` honest."""
    import hashlib  # not at import time: `import ember` stays fast
    names = sorted(n for n, od in registry.items() if od.is_primitive)
    text = "\n".join(registry[n].signature for n in names)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
