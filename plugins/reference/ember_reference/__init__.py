"""ember-reference: the reference backend, device type ``reference``.

Built with ``ember.kit`` on ``array-api-strict``, which refuses anything outside the
Python Array API standard, so it shows that ember's primitives need nothing more than
the standard.  It is kept for testing (ember's OpenReg): the conformance suite runs
against it in CI, and ``docs/writing-a-backend.md`` uses it as the worked example.

Two devices (``reference:0``, ``reference:1``) map to array-api-strict's
``CPU_DEVICE`` and ``device1``, which refuse to mix arrays, so device bugs show.
Storage is numpy's (under array-api-strict); from the first memory query on, every
array is accounted through an ``AccountingAllocator`` so ``ember.memory`` works,
including out-of-memory under a ``limit``.  There is no float16 or bfloat16 (the
standard has neither).
"""

from __future__ import annotations

import array_api_strict

import ember
from ember.kit import ArrayAPIBackend

EMBER_PLUGIN_API = "1.2"
__version__ = "0.1.0"
__all__ = ["ReferenceBackend", "EMBER_PLUGIN_API"]


class ReferenceBackend(ArrayAPIBackend):
    """``ArrayAPIBackend`` over array-api-strict, with two devices."""

    def __init__(self) -> None:
        super().__init__(
            array_api_strict, device_type="reference",
            name=f"array-api-strict {array_api_strict.__version__} (ember.kit)",
            devices=[array_api_strict.Device("CPU_DEVICE"), array_api_strict.Device("device1")])


@ember.hookimpl
def ember_backend_create():
    return ReferenceBackend()
