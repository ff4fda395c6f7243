"""Helpers of ember-xpu's tests: they run on a real SYCL device and skip, with the
runtime's own reason, where there is none."""

from __future__ import annotations

import pytest

import ember
from ember.device import get_backend


def _reason() -> str | None:
    try:
        b = get_backend("xpu")
    except ember.BackendUnavailableError as e:
        return str(e)
    return b.unavailable_reason()


XPU_MISSING = _reason()
requires_xpu = pytest.mark.skipif(XPU_MISSING is not None,
                                  reason=f"no SYCL device: {XPU_MISSING}")

