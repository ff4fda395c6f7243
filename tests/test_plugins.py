"""The plugin system: lazy discovery, failure isolation, API versions, selection by
environment, in-process registration of a third-party device type."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import textwrap

import numpy as np
import pluggy
import pytest

import ember
from ember.backend import Backend
from ember.device import backends, get_backend

CORE = pathlib.Path(ember.__file__).resolve().parent


def _run(code: str, *, env: dict | None = None, path: list | None = None,
         isolated: bool = False) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter (plugins are discovered per process)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("EMBER_")}
    full_env.update(env or {})
    if path:
        # In front of the caller's path, which may hold the ember under test.
        full_env["PYTHONPATH"] = os.pathsep.join(
            [*map(str, path), *filter(None, [os.environ.get("PYTHONPATH")])])
    args = [sys.executable]
    if isolated:
        # -I -S: no site-packages, so no installed distributions (hence no ember-cpu);
        # the given path supplies just the core and its two dependencies.
        args += ["-I", "-S", "-c", f"import sys; sys.path[:0] = {[str(p) for p in path]!r}\n"
                 + code]
    else:
        args += ["-c", code]
    return subprocess.run(args, capture_output=True, text=True, env=full_env, timeout=120)


# -- only the core installed --------------------------------------------------------------

@pytest.fixture(scope="module")
def core_only(tmp_path_factory) -> pathlib.Path:
    """A sys.path holding the real core, numpy and pluggy, and nothing else."""
    root = tmp_path_factory.mktemp("core_only")
    site = pathlib.Path(np.__file__).resolve().parent.parent
    for name in ("numpy", "numpy.libs"):
        if (site / name).exists():
            (root / name).symlink_to(site / name)
    (root / "pluggy").symlink_to(pathlib.Path(pluggy.__file__).resolve().parent)
    (root / "ember").symlink_to(CORE)
    return root


def test_core_alone_imports_and_runs_meta_tensors(core_only):
    r = _run("""
import ember
a = ember.zeros(2, 3, device="meta")
b = (a + 1).sum(dim=1)
print(tuple(b.shape), b.dtype, b.device)
""", path=[core_only], isolated=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "(2,) ember.float32 meta"


def test_core_alone_says_to_install_the_cpu_plugin(core_only):
    r = _run("""
import ember
try:
    ember.zeros(2)
except ember.BackendUnavailableError as e:
    print("ERR", e)
""", path=[core_only], isolated=True)
    assert r.returncode == 0, r.stderr
    assert "ERR" in r.stdout and "pip install ember[cpu]" in r.stdout


# -- a broken plugin beside the CPU plugin ----------------------------------------------------

def _plugin_dir(root: pathlib.Path, name: str, module_source: str, *,
                entry_point: str | None = None, group: str = "ember",
                module: str | None = None) -> pathlib.Path:
    """A real installed distribution ``ember-<name>``: a module plus a .dist-info with
    its entry point (named ``entry_point``, default ``name``, in ``group``)."""
    root.mkdir(parents=True, exist_ok=True)
    module = module or f"{name}_plugin"
    (root / f"{module}.py").write_text(textwrap.dedent(module_source))
    info = root / f"ember_{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: ember-{name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[{group}]\n{entry_point or name} = {module}\n")
    return root


def test_broken_plugin_never_breaks_import_and_is_reported(tmp_path):
    d = _plugin_dir(tmp_path / "p", "broken", """
        raise ImportError("libbroken.so: cannot open shared object file")
    """)
    r = _run("""
import warnings
import ember
x = ember.ones(3) * 2          # the CPU still works (only its plugin was loaded)
print("SUM", x.sum().item())
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    try:
        ember.zeros(2, device="broken")
    except ember.BackendUnavailableError as e:
        print("ERR", e)
        print("CAUSE", type(e.__cause__).__name__)
    print("WARNED", any("broken" in str(m.message) for m in w))
from ember.cli import info
info()
""", path=[d])
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "SUM 6.0" in out
    assert "ERR device type 'broken' is unavailable" in out
    assert "libbroken.so: cannot open shared object file" in out
    assert "CAUSE ImportError" in out
    assert "WARNED True" in out
    # ember info lists the plugin as failed, with its real cause, and the CPU as loaded
    assert "broken     failed" in out
    assert "cause: ImportError: libbroken.so" in out
    assert "cpu        loaded" in out


def test_plugin_targeting_another_major_api_is_refused(tmp_path):
    d = _plugin_dir(tmp_path / "p", "future", """
        import ember
        EMBER_PLUGIN_API = "2.0"

        @ember.hookimpl
        def ember_backend_create():
            raise AssertionError("must not be called")
    """)
    r = _run("""
import ember
try:
    ember.zeros(1, device="future")
except ember.BackendUnavailableError as e:
    print("ERR", e)
""", path=[d])
    assert r.returncode == 0, r.stderr
    assert f"targets plugin API 2.0, but this ember implements {ember.PLUGIN_API_VERSION}" \
        in r.stdout


def test_import_loads_no_plugin():
    r = _run("""
import sys, ember
print("cpu" in ember.plugins._statuses, "ember_cpu" in sys.modules)
ember.zeros(1)
print("ember_cpu" in sys.modules)
""")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["False", "False", "True"]


def test_disable_and_select_by_environment():
    r = _run("""
import ember
try:
    ember.zeros(1)
except ember.BackendUnavailableError as e:
    print("ERR", e)
""", env={"EMBER_DISABLE": "cpu"})
    assert "device type 'cpu' is disabled (EMBER_DISABLE=cpu)" in r.stdout, r.stderr
    r = _run("""
import ember
print(ember.get_default_device(), ember.zeros(2).device)
""", env={"EMBER_BACKENDS": "meta"})
    assert r.stdout.split() == ["meta", "meta"], r.stderr


def test_ember_info_command_runs():
    r = subprocess.run([sys.executable, "-m", "ember", "info"], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    # the core's plugin API, and the one each plugin declares
    assert f"ember {ember.__version__} (plugin API {ember.PLUGIN_API_VERSION})" in r.stdout
    import ember_cpu
    assert f"cpu        loaded       ember-cpu 0.1.0, API {ember_cpu.EMBER_PLUGIN_API}" \
        in r.stdout
    assert "default device: cpu" in r.stdout
    assert "devices:" in r.stdout


# -- a third-party device type, registered in-process --------------------------------------

class HostArray:
    """A third party's native array: its own type over host memory, so nothing in the
    core can mistake it for a numpy array."""

    def __init__(self, data: np.ndarray) -> None:
        self.data = data

    @property
    def shape(self):
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype


class ToyBackend(Backend):
    """A backend written outside the core: a handful of primitives."""

    device_type = "toy"
    name = "toy (third-party test backend)"

    def __init__(self) -> None:
        super().__init__()
        w = HostArray
        self.kernels.update({
            "full": lambda size, v, dtype, device: w(np.full(size, v, dtype.np)),
            "astype": lambda a, dtype: w(a.data.astype(dtype.np)),
            "add": lambda a, b, alpha=1: w(np.asarray(_d(a) + alpha * _d(b))),
            "mul": lambda a, b: w(np.asarray(_d(a) * _d(b))),
            "true_divide": lambda a, b: w(np.asarray(_d(a) / _d(b))),
            "sum": lambda a, dim, keepdim, dtype: w(np.asarray(
                a.data.sum(axis=None if dim is None else dim, keepdims=keepdim,
                           dtype=dtype.np))),
            "copy_": lambda a, b, nb=False: np.copyto(a.data, _d(b), casting="unsafe"),
        })

    def device_count(self) -> int:
        return 2

    def from_host(self, array, index=0):
        return HostArray(np.array(array))

    def to_host(self, native):
        return native.data


def _d(x):
    return x.data if isinstance(x, HostArray) else x


class ToyPlugin:
    EMBER_PLUGIN_API = "1.0"

    @ember.hookimpl
    def ember_backend_create(self):
        return ToyBackend()


@pytest.fixture
def toy():
    ember.plugins.register(ToyPlugin(), name="toy")
    yield
    ember.plugins.unregister("toy")


def test_third_party_device_runs_ops(toy):
    assert ember.device_count("toy") == 2 and ember.is_available("toy")
    a = ember.tensor([[1.0, 2.0], [3.0, 4.0]], device="toy")
    assert a.device == ember.device("toy:0") and isinstance(a._data, HostArray)
    b = (a + a * 3).sum(dim=0)
    assert b.device.type == "toy"
    np.testing.assert_array_equal(b.cpu().numpy(), np.array([16.0, 24.0], np.float32))
    # a composite op runs through its decomposition on a backend that lacks it
    m = a.mean()
    assert m.item() == pytest.approx(2.5)
    # device index 1 exists, index 2 does not
    assert ember.ones(1, device="toy:1").device == ember.device("toy", 1)
    with pytest.raises(ember.BackendUnavailableError, match="toy:2 does not exist"):
        ember.ones(1, device="toy:2")


def test_mixing_devices_is_a_clear_error(toy):
    a = ember.ones(2, device="toy")
    b = ember.ones(2)
    with pytest.raises(ember.DeviceError, match=r"add\(\): expected all tensors to be on "
                                                 r"the same device.*toy:0.*cpu"):
        a + b


def test_missing_kernel_names_op_and_device_and_the_fallback(toy, monkeypatch):
    a = ember.ones(2, 2, device="toy")
    monkeypatch.delenv("EMBER_CPU_FALLBACK", raising=False)
    with pytest.raises(ember.NotImplementedForDevice,
                       match=r"matmul\(\): not implemented for device type 'toy'.*"
                             r"EMBER_CPU_FALLBACK=1"):
        a @ a
    monkeypatch.setenv("EMBER_CPU_FALLBACK", "1")
    ember.dispatch.clear_cache()
    with pytest.warns(RuntimeWarning, match="matmul.*running on the CPU"):
        out = a @ a
    assert out.device.type == "toy"
    np.testing.assert_array_equal(out.cpu().numpy(), np.full((2, 2), 2.0, np.float32))
    ember.dispatch.clear_cache()


# -- pluggy as designed: hooks through the manager, one version rule ------------------------

def test_hooks_are_called_through_the_plugin_manager():
    """A hook-call monitor sees every call, which it cannot when an implementation is
    called directly."""
    calls: list[str] = []
    undo = ember.plugins.manager.add_hookcall_monitoring(
        lambda name, impls, kwargs: calls.append(name), lambda *a: None)
    try:
        ember.plugins.register(ToyPlugin(), name="toy")
        ember.plugins.unregister("toy")
    finally:
        undo()
    assert "ember_backend_create" in calls and "ember_kernels_register" in calls


class _Extender:
    """A plugin that only adds kernels, to whichever backends exist."""

    EMBER_PLUGIN_API = "1.0"

    def __init__(self) -> None:
        self.seen: list[str] = []

    @ember.hookimpl
    def ember_kernels_register(self, backend):
        self.seen.append(backend.device_type)


def test_kernels_register_reaches_late_and_early_plugins_once():
    ember.zeros(1)  # the CPU backend exists before the extender
    ext = _Extender()
    ember.plugins.register(ext, name="extender")
    try:
        assert "cpu" in ext.seen and "meta" in ext.seen  # told about earlier backends
        ember.plugins.register(ToyPlugin(), name="toy")
        assert ext.seen.count("toy") == 1  # and about one created after it
        ember.plugins.unregister("toy")
        late = _Extender()
        ember.plugins.register(late, name="late")
        ember.plugins.unregister("late")
        assert "cpu" in late.seen and "toy" not in late.seen  # a removed one is forgotten
    finally:
        ember.plugins.unregister("extender")


def _versioned(api: str, created: list):
    class Versioned:
        EMBER_PLUGIN_API = api

        @ember.hookimpl
        def ember_backend_create(self):
            created.append(api)
            return ToyBackend()
    return Versioned()


def test_a_newer_minor_than_the_core_is_refused_with_the_rule():
    created: list = []
    with pytest.raises(ember.PluginError) as info:
        ember.plugins.register(_versioned("1.9", created), name="toy")
    msg = str(info.value)
    assert f"targets plugin API 1.9, but this ember implements {ember.PLUGIN_API_VERSION}" \
        in msg
    assert "major version equals the core's and its minor version is at most" in msg
    assert created == []  # refused before any other hook of it ran
    assert "toy" not in backends()


@pytest.mark.parametrize("api", ["1.0", ember.PLUGIN_API_VERSION])
def test_same_major_and_a_minor_up_to_the_cores_loads(api):
    created: list = []
    try:
        (b,) = ember.plugins.register(_versioned(api, created), name="toy")
        assert created == [api] and b.api_version == api
        assert ember.ones(2, device="toy").sum().item() == 2.0
    finally:
        ember.plugins.unregister("toy")


@pytest.mark.parametrize("api", ["one", "1", "2.0", "0.9"])
def test_a_malformed_or_other_major_version_is_refused(api):
    with pytest.raises(ember.PluginError, match=f"plugin API {api}|'{api}'"):
        ember.plugins.register(_versioned(api, []), name="toy")


def test_the_version_hook_is_asked_before_anything_else():
    created: list = []

    class ByHook:
        @ember.hookimpl
        def ember_plugin_api_version(self):
            return "1.9"

        @ember.hookimpl
        def ember_backend_create(self):
            created.append(1)
            return ToyBackend()

    with pytest.raises(ember.PluginError, match="targets plugin API 1.9"):
        ember.plugins.register(ByHook(), name="toy")
    assert created == [] and ember.plugins.manager.get_plugin("toy") is None


def test_a_failed_in_process_registration_leaves_no_device_type():
    class Broken:
        EMBER_PLUGIN_API = "1.0"

        @ember.hookimpl
        def ember_backend_create(self):
            raise RuntimeError("driver said no")

    with pytest.raises(ember.PluginError, match="driver said no"):
        ember.plugins.register(Broken(), name="toy")
    assert "toy" not in backends()
    assert "toy" not in {s.name for s in ember.plugins.statuses()}
    with pytest.raises(ember.BackendUnavailableError, match="no ember plugin provides "
                                                            "device type 'toy'"):
        ember.zeros(1, device="toy")
    # the name is free again
    ember.plugins.register(ToyPlugin(), name="toy")
    try:
        assert ember.ones(1, device="toy").item() == 1.0
    finally:
        ember.plugins.unregister("toy")


def test_a_misspelled_hook_is_refused_not_ignored():
    class Typo:
        EMBER_PLUGIN_API = "1.0"

        @ember.hookimpl
        def ember_backend_creat(self):
            return ToyBackend()

    with pytest.raises(ember.PluginError, match="unknown hook 'ember_backend_creat'"):
        ember.plugins.register(Typo(), name="toy")
    assert ember.plugins.manager.get_plugin("toy") is None


# -- device names are owned ---------------------------------------------------------------

class _ClaimsCPU:
    EMBER_PLUGIN_API = "1.0"

    @ember.hookimpl
    def ember_backend_create(self):
        b = ToyBackend()
        b.device_type = "cpu"
        return b


def test_an_in_process_plugin_cannot_take_over_cpu():
    x = ember.ones(3)
    cpu = get_backend("cpu")
    with pytest.raises(ember.PluginError, match=r"creates a backend for device type 'cpu', "
                                                r"which belongs to ember-cpu.*must equal"):
        ember.plugins.register(_ClaimsCPU(), name="imposter")
    with pytest.raises(ember.PluginError, match="device type 'cpu' belongs to ember-cpu"):
        ember.plugins.register(_ClaimsCPU(), name="cpu")
    with pytest.raises(ember.PluginError, match="device type 'meta' belongs to ember"):
        ember.plugins.register(ToyPlugin(), name="meta")
    assert get_backend("cpu") is cpu
    assert (x + 1).sum().item() == 6.0  # existing tensors keep working


def test_a_device_type_of_another_distribution_is_refused_naming_both(tmp_path):
    evil = """
        import ember
        from ember_cpu import CPUBackend
        EMBER_PLUGIN_API = "1.0"

        @ember.hookimpl
        def ember_backend_create():
            class Evil(CPUBackend):
                name = "evil"
            return Evil()
    """
    # 1) the backend says 'cpu' under its own entry-point name
    d1 = _plugin_dir(tmp_path / "a", "evil", evil)
    # 2) the entry point itself is named 'cpu'
    d2 = _plugin_dir(tmp_path / "b", "evil", evil, entry_point="cpu")
    code = """
import warnings, ember
from ember.device import backends, get_backend
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    x = ember.ones(3)
    try:
        ember.zeros(1, device="evil")
    except ember.BackendUnavailableError as e:
        print("ERR", e)
    backends()
    for m in w:
        print("WARN", m.message)
print("CPU", type(get_backend("cpu")).__module__.split(".")[0], (x + 1).sum().item())
"""
    r = _run(code, path=[d1])
    assert r.returncode == 0, r.stderr
    assert ("plugin 'evil' (ember-evil 0.1) creates a backend for device type 'cpu', which "
            "belongs to ember-cpu") in r.stdout
    assert "CPU ember_cpu 6.0" in r.stdout
    r = _run(code, path=[d2])
    assert r.returncode == 0, r.stderr
    assert "device type 'cpu' belongs to ember-cpu; ember-evil 0.1 may not provide it" \
        in r.stdout
    assert "CPU ember_cpu 6.0" in r.stdout


def test_a_device_type_claimed_by_two_distributions_is_given_to_neither(tmp_path):
    src = """
        import ember
        from ember_cpu import CPUBackend
        EMBER_PLUGIN_API = "1.0"

        @ember.hookimpl
        def ember_backend_create():
            class Twin(CPUBackend):
                device_type = "twin"
            return Twin()
    """
    d = _plugin_dir(tmp_path / "p", "twina", src, entry_point="twin")
    _plugin_dir(d, "twinb", src, entry_point="twin")
    r = _run("""
import warnings, ember
warnings.simplefilter("ignore")
try:
    ember.zeros(1, device="twin")
except ember.BackendUnavailableError as e:
    print("ERR", e)
""", path=[d])
    assert r.returncode == 0, r.stderr
    assert "device type 'twin' is claimed by" in r.stdout
    assert "ember-twina 0.1" in r.stdout and "ember-twinb 0.1" in r.stdout


# -- command plugins: `ember <subcommand>` ---------------------------------------------------

def test_a_command_plugin_adds_a_subcommand(tmp_path):
    d = _plugin_dir(tmp_path / "p", "hello", """
        import ember
        EMBER_PLUGIN_API = "1.1"

        @ember.hookimpl
        def ember_cli_subcommands(subparsers):
            p = subparsers.add_parser("hello", help="say hello")
            p.add_argument("--name", default="world")
            p.set_defaults(run=lambda args: print("hello", args.name) or 3)
    """, group="ember.cli")
    r = _run("import sys, ember.cli; sys.exit(ember.cli.main(['hello', '--name', 'ember']))",
             path=[d])
    assert r.stdout.strip() == "hello ember", r.stderr
    assert r.returncode == 3  # the command's own exit status
    r = _run("import ember.cli; ember.cli.main(['info'])", path=[d])
    assert "hello      loaded       ember-hello 0.1, API 1.1 (command)" in r.stdout, r.stderr


def test_the_core_cli_does_not_import_the_conformance_suite():
    assert "ember_conformance" not in (CORE / "cli.py").read_text()


def test_ember_conformance_still_runs():
    """Found through ember-conformance's `ember.cli` entry point (needs it installed:
    `pip install -e conformance`)."""
    r = subprocess.run([sys.executable, "-m", "ember", "conformance", "--device", "cpu",
                        "-k", "test_ops and abs and float32"],
                       capture_output=True, text=True, timeout=300)
    assert "invalid choice: 'conformance'" not in r.stderr, (
        "ember-conformance's `ember.cli` entry point is not installed: reinstall it "
        "(pip install --no-deps -e conformance)")
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "ember-conformance cpu:" in r.stdout and "PASS" in r.stdout


# -- `ember info`: the API each plugin targets, loaded or not --------------------------------

def test_ember_info_reads_the_api_of_plugins_it_does_not_load(tmp_path):
    d = _plugin_dir(tmp_path / "p", "fails", """
        EMBER_PLUGIN_API = "1.0"
        raise ImportError("libfails.so: cannot open shared object file")
    """)
    _plugin_dir(d, "hooked", """
        import ember

        @ember.hookimpl
        def ember_plugin_api_version():
            return "1.0"
        raise ImportError("libhooked.so: cannot open shared object file")
    """)
    r = _run("""
import sys, ember.cli
ember.cli.main(["info"])
print("IMPORTED", sorted(m for m in ("ember_rocm", "ember_xpu", "ember_cuda")
                        if m in sys.modules))
""", path=[d], env={"EMBER_BACKENDS": "cpu,fails,hooked"})
    assert r.returncode == 0, r.stderr
    out = r.stdout
    import ember_cpu
    assert f"cpu        loaded       ember-cpu 0.1.0, API {ember_cpu.EMBER_PLUGIN_API}\n" in out
    # not selected: read from the module's source, which is not imported
    import ember_rocm  # (here, not in the subprocess that must not import it)
    assert f"rocm       not selected ember-rocm 0.1.0, API {ember_rocm.EMBER_PLUGIN_API} " \
           f"(declared in ember_rocm, not loaded)" in out, out
    assert "IMPORTED []" in out
    # failed to import: its source still says which API it targets
    assert "fails      failed       ember-fails 0.1, API 1.0 (declared in fails_plugin, " \
           "not loaded)" in out, out
    # declared by a hook only: unknown until loaded, and the line says why
    assert "hooked     failed       ember-hooked 0.1, API ? (not loaded, and hooked_plugin " \
           "sets no literal EMBER_PLUGIN_API" in out, out
