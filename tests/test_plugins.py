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

CORE = pathlib.Path(ember.__file__).resolve().parent


def _run(code: str, *, env: dict | None = None, path: list | None = None,
         isolated: bool = False) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter (plugins are discovered per process)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("EMBER_")}
    full_env.update(env or {})
    if path:
        full_env["PYTHONPATH"] = os.pathsep.join(map(str, path))
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

def _plugin_dir(root: pathlib.Path, name: str, module_source: str) -> pathlib.Path:
    """A real installed distribution: a module plus a .dist-info with its entry point."""
    root.mkdir(parents=True, exist_ok=True)
    (root / f"{name}_plugin.py").write_text(textwrap.dedent(module_source))
    info = root / f"ember_{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: ember-{name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[ember]\n{name} = {name}_plugin\n")
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
    assert "targets plugin API 2.0, but this ember implements 1.0" in r.stdout


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
    assert "plugin API 1.0" in r.stdout
    assert "cpu        loaded" in r.stdout
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
