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
                    help="count primitives without a kernel (and without a decomposition), "
                         "and checks where no sample ran, as failures")
    group.addoption("--ember-cost", action="store_true", default=False,
                    help="add the cost columns (us per call, the CPU's, memory) to the table")
    group.addoption("--ember-fuzz", type=int, default=0, metavar="N",
                    help="differential fuzzing only: N random inputs per op against the "
                         "cpu backend (hypothesis)")
    group.addoption("--ember-seed", type=int, default=0, metavar="S",
                    help="the fuzzer's seed (the same seed draws the same inputs)")
    group.addoption("--ember-baseline", action="append", default=[], metavar="FILE",
                    help="known failing checks with reasons (see ember_conformance.baseline)"
                         "; they are reported 'known' instead of failing")


def pytest_configure(config) -> None:
    config.pluginmanager.register(Recorder(config), _RECORDER_NAME)
    from . import baseline
    config._ember_baseline = [e for path in config.getoption("--ember-baseline") or []
                              for e in baseline.load(path)]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing check listed in the baseline becomes an expected failure (``known``);
    a listed check that passes is marked, so the report says the file can shrink."""
    outcome = yield
    entries = getattr(item.config, "_ember_baseline", None)
    if not entries or call.when != "call":
        return
    report = outcome.get_result()
    from .baseline import match
    entry = match(entries, dict(item.user_properties))
    if entry is None:
        return
    if report.failed:
        failure = (getattr(report, "longreprtext", "") or "").strip().splitlines()
        _note(item, report, ("ember_failure", failure[0][:300] if failure else ""),
              ("ember_baseline", entry.reason))
        report.outcome = "skipped"
        report.wasxfail = f"known failing ({entry.where}): {entry.reason}"
    elif report.passed:
        _note(item, report, ("ember_baseline", f"{entry.where}: {entry.reason}"))


def _note(item, report, *props) -> None:
    # the report holds its own copy of the item's properties (JUnit XML reads it)
    for target in {id(item.user_properties): item.user_properties,
                   id(report.user_properties): report.user_properties}.values():
        target.extend(props)


def pytest_collection_modifyitems(config, items) -> None:
    """A fuzzing run (``--ember-fuzz N``) runs only the fuzz checks; other runs never
    do."""
    fuzzing = config.getoption("--ember-fuzz", 0) > 0
    keep, drop = [], []
    for item in items:
        module = getattr(getattr(item, "module", None), "__name__", "")
        is_fuzz = module == "ember_conformance.test_fuzz"
        if "ember_device" not in getattr(item, "fixturenames", ()):
            keep.append(item)
        else:
            (keep if is_fuzz == fuzzing else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_collection_finish(session) -> None:
    """Stop before running anything when a selected device cannot be created (its
    plugin failed to load, or it has no device): one message with the cause instead of
    a failure per check."""
    if not any("ember_device" in getattr(item, "fixturenames", ()) for item in session.items):
        return
    problems = []
    for device in selected_devices(session.config):
        why = device_problem(device)
        if why:
            problems.append(f"{device}: {why}")
    if problems:
        pytest.exit("ember-conformance cannot create the device(s) to check:\n  "
                    + "\n  ".join(problems), returncode=pytest.ExitCode.USAGE_ERROR)


def device_problem(device: str) -> str | None:
    """Why no tensor can be made on ``device`` (the plugin's load error, no device
    found ...), or ``None`` when one can."""
    import ember
    try:
        ember.zeros(1, device=device).cpu()
    except Exception as e:
        from ember.plugins import statuses
        kind = device.split(":")[0]
        cause = next((st.cause_text for st in statuses()
                      if kind in st.device_types and st.cause is not None), "")
        text = f"{type(e).__name__}: {e}"
        return text if not cause or cause in text else f"{text} (plugin error: {cause})"
    return None


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
