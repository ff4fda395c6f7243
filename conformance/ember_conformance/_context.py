"""What every op-level test does first: record its identity for the report, and skip
combinations the backend does not support (or fail them under ``--ember-strict``)."""

from __future__ import annotations

import pytest

from ember.dispatch import how_implemented
from ember.schema import registry

from .harness import unsupported_reason


def begin(request, device: str, op: str | None, dtype: str | None, check: str,
          strict: bool = False) -> None:
    # Straight into the item's user properties: the report reads them, JUnit XML (xunit1)
    # carries them, and pytest's record_property fixture would warn under xunit2.
    record_property = request.node.user_properties.append

    def record(name, value):
        record_property((name, value))
    _begin(record, device, op, dtype, check, strict)


def _begin(record_property, device, op, dtype, check, strict) -> None:
    record_property("ember_device", device)
    record_property("ember_check", check)
    if op is None:
        return
    record_property("ember_op", op)
    record_property("ember_dtype", dtype or "-")
    reason = unsupported_reason(device, op, dtype)
    if reason is not None:
        if strict and "no kernel" in reason:
            pytest.fail(f"{op}(): {reason} on {device} (--ember-strict)")
        pytest.skip(f"unsupported: {reason}")
    import ember
    record_property("ember_impl", how_implemented(registry[op], ember.device(device).type))


def unsupported_at_runtime(op: str, device: str, error: Exception):
    """A decomposition reached a primitive the device lacks."""
    pytest.skip(f"unsupported: {op}() on {device} needs an op the backend lacks: {error}")


def run_checks(request, device: str, op: str, dtype: str, check: str, strict: bool,
               checker, not_applicable: str) -> None:
    """One op-level test: ``begin``, then ``checker(entry, device, dtype) -> (ran,
    failures)``; failures fail the test, a run with nothing applicable skips it."""
    from ember.errors import NotImplementedForDevice

    from . import opdb
    begin(request, device, op, dtype, check, strict)
    try:
        ran, failures = checker(opdb.entry(op), device, dtype)
    except NotImplementedForDevice as e:
        unsupported_at_runtime(op, device, e)
    if failures:
        pytest.fail("\n".join(failures), pytrace=False)
    if not ran:
        pytest.skip(not_applicable)
