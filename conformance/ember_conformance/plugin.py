"""The pytest plugin (entry point ``pytest11``): ``--ember-device`` and the reports.

``pytest --pyargs ember_conformance --ember-device rocm [--ember-report DIR]`` runs the
suite in a vendor's existing CI (add ``--junitxml`` for JUnit XML).  Without
``--ember-device`` every installed device type with a device is checked.  The plugin
is loaded in every pytest run once installed, so it does nothing unless the suite's
tests are collected.
"""

from __future__ import annotations

import pytest

from .report import Recorder

_RECORDER_NAME = "ember-conformance-recorder"


def pytest_addoption(parser) -> None:
    group = parser.getgroup("ember-conformance", "ember conformance suite")
    group.addoption("--ember-device", action="append", default=[], metavar="TYPE",
                    help="device type to check (repeatable; default: every installed "
                         "device type with a device)")
    group.addoption("--ember-report", default=None, metavar="DIR",
                    help="write report.json and coverage.txt (op x dtype table) to DIR")
    group.addoption("--ember-table", action="store_true", default=False,
                    help="print the op x dtype coverage table at the end")
    group.addoption("--ember-strict", action="store_true", default=False,
                    help="count primitives without a kernel (and without a decomposition) "
                         "as failures instead of reporting them unsupported")


def pytest_configure(config) -> None:
    config.pluginmanager.register(Recorder(config), _RECORDER_NAME)


def selected_devices(config) -> list[str]:
    """The device types the session checks."""
    chosen = [d.strip() for opt in config.getoption("--ember-device") or []
              for d in opt.split(",") if d.strip()]
    if chosen:
        return chosen
    from .harness import device_types
    return device_types()


def pytest_generate_tests(metafunc) -> None:
    if "ember_device" in metafunc.fixturenames:
        devices = selected_devices(metafunc.config)
        metafunc.parametrize("ember_device", devices, scope="session")


@pytest.fixture(scope="session", autouse=False)
def ember_strict(request) -> bool:
    """Whether missing primitives fail (``--ember-strict``)."""
    return bool(request.config.getoption("--ember-strict"))
