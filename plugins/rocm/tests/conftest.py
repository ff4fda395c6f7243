"""Fixtures of the rocm backend's tests.

They drive any OpenCL device (``EMBER_ROCM_ANY_DEVICE=1``): in CI that is PoCL, a CPU
OpenCL implementation.  Without one, every test that needs a device is skipped with
the backend's own reason.
"""

import os

os.environ.setdefault("EMBER_ROCM_ANY_DEVICE", "1")

import numpy as np
import pytest

import ember


def rocm_reason() -> str | None:
    """Why rocm cannot run here, or ``None``."""
    try:
        b = ember.device_count("rocm")
    except Exception as e:  # plugin not installed or broken: say so in the skip
        return f"rocm backend unusable: {type(e).__name__}: {e}"
    if b:
        return None
    from ember.device import get_backend
    try:
        return f"no rocm device: {get_backend('rocm').unavailable_reason()}"
    except Exception as e:
        return f"rocm backend not installed: {e}"


needs_rocm = pytest.mark.skipif(rocm_reason() is not None, reason=str(rocm_reason()))


@pytest.fixture(autouse=True)
def _seed():
    ember.manual_seed(0)
    np.random.seed(0)
    yield
