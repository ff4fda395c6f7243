"""Finding the SYCL runtime: the OpenCL ICD fix-up, lazy loading, and what ember says
when there is no runtime or no device."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from ember_xpu import runtime

from xpu_support import requires_xpu


def _run(code: str, **env_changes) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    for k, v in env_changes.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env,
                          capture_output=True, text=True, timeout=120)


def test_user_setting_wins(monkeypatch):
    monkeypatch.setenv("OCL_ICD_FILENAMES", "/somewhere/libmine.so")
    assert runtime.configure_opencl_icd() is None
    assert os.environ["OCL_ICD_FILENAMES"] == "/somewhere/libmine.so"


@pytest.mark.skipif(runtime.find_intel_opencl() is None,
                    reason="Intel's OpenCL CPU runtime (intel-opencl-rt) is not installed")
def test_icd_fixup_points_at_the_environment_library(monkeypatch):
    monkeypatch.delenv("OCL_ICD_FILENAMES", raising=False)
    lib = runtime.find_intel_opencl()
    set_to = runtime.configure_opencl_icd()
    if runtime._registered_intel_icd() is None:
        assert set_to == lib and os.environ["OCL_ICD_FILENAMES"] == lib
        assert os.path.exists(lib)
    else:  # a conda or system install registers it already: nothing to change
        assert set_to is None and "OCL_ICD_FILENAMES" not in os.environ


def test_import_ember_loads_no_sycl_runtime():
    r = _run("""
        import sys, ember
        t = ember.ones(3) + 1
        assert float(t.sum()) == 6.0
        print(sorted(m for m in ("dpctl", "dpnp") if m in sys.modules))
    """)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


@requires_xpu
def test_plugin_sets_icd_before_dpctl_starts():
    r = _run("""
        import os, ember
        x = ember.arange(4, device="xpu")
        print(os.environ.get("OCL_ICD_FILENAMES"), x.cpu().tolist())
    """, OCL_ICD_FILENAMES=None)
    assert r.returncode == 0, r.stderr
    path, _, data = r.stdout.strip().partition(" ")
    assert data == "[0, 1, 2, 3]"
    if runtime._registered_intel_icd() is None:
        assert path == runtime.find_intel_opencl()


_NO_DEVICE = """
    import ember
    assert not ember.is_available("xpu") and ember.device_count("xpu") == 0
    try:
        ember.zeros(2, device="xpu")
    except ember.BackendUnavailableError as e:
        print("ERROR:", e)
    else:
        raise SystemExit("no error")
    print("cpu still works:", ember.zeros(2).tolist())
"""


def test_without_an_opencl_icd_xpu_says_why():
    # The loader finds no ICD at all: no SYCL device (Level Zero has no GPU driver here).
    r = _run(_NO_DEVICE, OCL_ICD_FILENAMES="/nonexistent/libnothing.so",
             OCL_ICD_VENDORS="/nonexistent", ONEAPI_DEVICE_SELECTOR="opencl:*")
    assert r.returncode == 0, r.stderr
    assert "cpu still works: [0.0, 0.0]" in r.stdout
    msg = r.stdout.splitlines()[0]
    assert "xpu" in msg and "found no device" in msg
    assert "OCL_ICD_FILENAMES=/nonexistent/libnothing.so" in msg


def test_selector_that_matches_nothing_says_why():
    r = _run(_NO_DEVICE, ONEAPI_DEVICE_SELECTOR="level_zero:gpu",
             ZE_ENABLE_LOADER_DEBUG_TRACE=None)
    assert r.returncode == 0, r.stderr
    if "no error" in r.stdout + r.stderr:
        pytest.skip("this machine has a Level Zero GPU")
    assert "ONEAPI_DEVICE_SELECTOR=level_zero:gpu" in r.stdout


def test_without_dpctl_xpu_says_how_to_install():
    # ``sys.modules[name] = None`` is Python's way to make an import fail, as it does
    # on a machine where dpctl is not installed.
    r = _run("import sys; sys.modules['dpctl'] = None\n" + textwrap.dedent(_NO_DEVICE))
    assert r.returncode == 0, r.stderr
    msg = r.stdout.splitlines()[0]
    assert "dpctl is not installed" in msg and "pip install ember-xpu[cpu-runtime]" in msg


@requires_xpu
def test_devices_follow_sycl_listing(xpu):
    import dpctl
    listed = runtime.discover_devices(dpctl)
    assert xpu.device_count() == len(listed) >= 1
    kinds = [d.device_type.name for d in listed]
    assert kinds == sorted(kinds, key=lambda k: runtime._TYPE_RANK[k])  # GPUs first
    assert any("xpu:0" in line for line in xpu.describe())
