"""Environment switches: one boolean parser for every switch, EMBER_BACKENDS validated
and read as an order of preference."""

from __future__ import annotations

import importlib.util
import pathlib

import pytest

import ember
from ember import environment
from ember.dispatch import cpu_fallback_enabled

from test_plugins import _plugin_dir, _run


@pytest.mark.parametrize("raw, expected", [
    ("1", True), ("true", True), ("TRUE", True), ("Yes", True), (" on ", True),
    ("0", False), ("false", False), ("No", False), ("OFF", False),
])
def test_flag_accepts_the_usual_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("EMBER_TEST_SWITCH", raw)
    assert environment.flag("EMBER_TEST_SWITCH") is expected
    assert environment.flag("EMBER_TEST_SWITCH", default=not expected) is expected


@pytest.mark.parametrize("raw", [None, "", "  "])
def test_flag_unset_or_empty_is_the_default(monkeypatch, raw):
    if raw is None:
        monkeypatch.delenv("EMBER_TEST_SWITCH", raising=False)
    else:
        monkeypatch.setenv("EMBER_TEST_SWITCH", raw)
    assert environment.flag("EMBER_TEST_SWITCH") is False
    assert environment.flag("EMBER_TEST_SWITCH", default=True) is True


@pytest.mark.parametrize("raw", ["garbage", "2", "enabled", "y", "-1"])
def test_flag_refuses_anything_else_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv("EMBER_TEST_SWITCH", raw)
    with pytest.raises(ValueError, match=f"EMBER_TEST_SWITCH={raw!r} is not a boolean: use "
                                         f"one of 1/0, true/false, yes/no, on/off"):
        environment.flag("EMBER_TEST_SWITCH")


def test_cpu_fallback_off_means_off(monkeypatch):
    monkeypatch.setenv("EMBER_CPU_FALLBACK", "off")
    assert cpu_fallback_enabled() is False
    monkeypatch.setenv("EMBER_CPU_FALLBACK", "On")
    assert cpu_fallback_enabled() is True
    monkeypatch.setenv("EMBER_CPU_FALLBACK", "garbage")
    with pytest.raises(ValueError, match="EMBER_CPU_FALLBACK='garbage'"):
        cpu_fallback_enabled()


@pytest.mark.skipif(importlib.util.find_spec("ember_rocm") is None,
                    reason="ember-rocm is not installed")
def test_rocm_any_device_garbage_is_refused(monkeypatch):
    from ember_rocm.backend import _any_device
    monkeypatch.setenv("EMBER_ROCM_ANY_DEVICE", "garbage")
    with pytest.raises(ValueError, match="EMBER_ROCM_ANY_DEVICE='garbage'"):
        _any_device()
    monkeypatch.setenv("EMBER_ROCM_ANY_DEVICE", "off")
    assert _any_device() is False
    monkeypatch.setenv("EMBER_ROCM_ANY_DEVICE", "YES")
    assert _any_device() is True


def test_names_splits_and_drops_blanks(monkeypatch):
    monkeypatch.setenv("EMBER_TEST_LIST", " rocm, ,cpu,")
    assert environment.names("EMBER_TEST_LIST") == ["rocm", "cpu"]


# -- EMBER_BACKENDS ------------------------------------------------------------------------

_DEFAULT = """
import warnings, ember
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    try:
        print("DEFAULT", ember.get_default_device(), ember.zeros(1).device)
    except (ValueError, ember.BackendUnavailableError) as e:
        print("ERR", type(e).__name__, e)
for m in w:
    print("WARN", m.message)
"""


@pytest.mark.parametrize("value, message", [
    ("cpu:1", "EMBER_BACKENDS='cpu:1': 'cpu:1' names a device, not a device type: write "
              "'cpu' (choose the index with ember.set_default_device('cpu:1')"),
    ("cpu,rocm:0", "'rocm:0' names a device, not a device type: write 'rocm'"),
    ("cpu;rocm", "EMBER_BACKENDS='cpu;rocm': 'cpu;rocm' is not a device type name"),
])
def test_backends_entries_are_validated(value, message):
    r = _run(_DEFAULT, env={"EMBER_BACKENDS": value})
    assert r.returncode == 0, r.stderr
    assert "ERR ValueError" in r.stdout and message in r.stdout, r.stdout


def test_disable_entries_are_validated():
    r = _run(_DEFAULT, env={"EMBER_DISABLE": "rocm:0"})
    assert r.returncode == 0, r.stderr
    assert "ERR ValueError environment variable EMBER_DISABLE='rocm:0': 'rocm:0' names a " \
           "device, not a device type: write 'rocm'" in r.stdout, r.stdout


@pytest.fixture(scope="module")
def nodev(tmp_path_factory) -> pathlib.Path:
    """An installed plugin whose runtime is present but finds no device."""
    return _plugin_dir(tmp_path_factory.mktemp("nodev"), "nodev", """
        import ember
        from ember_cpu import CPUBackend
        EMBER_PLUGIN_API = "1.0"

        class NoDevice(CPUBackend):
            device_type = "nodev"

            def device_count(self):
                return 0

            def unavailable_reason(self):
                return "no nodev card in this machine"

        @ember.hookimpl
        def ember_backend_create():
            return NoDevice()
    """)


def test_the_first_available_backend_is_the_default(nodev):
    r = _run(_DEFAULT, env={"EMBER_BACKENDS": "nodev,cpu"}, path=[nodev])
    assert r.returncode == 0, r.stderr
    assert "DEFAULT cpu cpu" in r.stdout
    assert ("WARN EMBER_BACKENDS='nodev,cpu': skipping unavailable nodev (no nodev card in "
            "this machine); the default device is cpu") in r.stdout


def test_no_available_backend_is_a_clear_error(nodev):
    r = _run(_DEFAULT, env={"EMBER_BACKENDS": "nodev"}, path=[nodev])
    assert r.returncode == 0, r.stderr
    assert ("ERR BackendUnavailableError EMBER_BACKENDS='nodev': none of its device types is "
            "available: nodev (no nodev card in this machine)") in r.stdout


@pytest.mark.skipif(importlib.util.find_spec("ember_cuda") is None
                    or ember.is_available("cuda"), reason="needs ember-cuda without a GPU")
def test_cuda_then_cpu_without_cuda_defaults_to_cpu():
    r = _run(_DEFAULT, env={"EMBER_BACKENDS": "cuda,cpu"})
    assert r.returncode == 0, r.stderr
    assert "DEFAULT cpu cpu" in r.stdout
    assert "skipping unavailable cuda (" in r.stdout


def test_unknown_backends_are_named():
    r = _run(_DEFAULT, env={"EMBER_BACKENDS": "cdua,cpu"})
    assert r.returncode == 0, r.stderr
    assert "DEFAULT cpu cpu" in r.stdout
    assert "EMBER_BACKENDS='cdua,cpu' names 'cdua', which no installed plugin provides " \
           "(installed: " in r.stdout
    assert "skipping unavailable cdua (no ember plugin provides device type 'cdua'" \
        in r.stdout
