"""What every op-level test does first: record its identity for the report, and skip
combinations the backend does not support (or fail them under ``--ember-strict``)."""

from __future__ import annotations

import zlib

import pytest

from ember.dispatch import how_implemented
from ember.schema import registry

from .harness import NO_KERNEL, unsupported_reason


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
        if strict and reason == NO_KERNEL:  # (not a primitive newer than its plugin API)
            pytest.fail(f"{op}(): {reason} on {device} (--ember-strict)")
        pytest.skip(f"unsupported: {reason}")
    import ember
    record_property("ember_impl", how_implemented(registry[op], ember.device(device).type))
    # Random ops draw the same numbers whichever checks ran before (a result that
    # depended on the test order could not be reproduced).
    ember.manual_seed(zlib.crc32(f"{op}/{dtype}/{check}".encode()))


def unsupported_at_runtime(op: str, device: str, error: Exception, strict: bool = False):
    """A decomposition reached a primitive the device lacks (a failure under
    ``--ember-strict``, as a missing kernel of the op itself is, unless the primitive is
    newer than the plugin API the backend targets: ``plugin_api.too_old``'s message)."""
    message = f"{op}() on {device} needs an op the backend lacks: {error}"
    if strict and "needs plugin API >= " not in str(error):
        pytest.fail(f"{message} (--ember-strict)", pytrace=False)
    pytest.skip(f"unsupported: {message}")


def run_checks(request, device: str, op: str, dtype: str, check: str, strict: bool,
               checker, not_applicable: str) -> None:
    """One op-level test: ``begin``, then ``checker(entry, device, dtype)``, which
    returns ``(ran, failures)`` or ``(ran, failures, refused)`` (``harness.Outcome``).

    Failures fail the test.  A run where nothing ran is skipped as not applicable when
    the op's schema refused samples (``refused``); when no sample was even offered,
    the cell has no evidence either way: skipped, and a failure under ``strict``."""
    from ember.errors import NotImplementedForDevice

    from . import opdb
    begin(request, device, op, dtype, check, strict)
    try:
        result = checker(opdb.entry(op), device, dtype)
    except NotImplementedForDevice as e:
        unsupported_at_runtime(op, device, e, strict)
    ran, failures = result[0], result[1]
    refused = result[2] if len(result) > 2 else 0
    if failures:
        pytest.fail("\n".join(failures), pytrace=False)
    if not ran:
        if strict and not refused:
            pytest.fail(f"{op}() [{check}] on {device}, dtype {dtype}: no sample ran and "
                        f"the schema refused none (--ember-strict): {not_applicable}",
                        pytrace=False)
        pytest.skip(not_applicable)
