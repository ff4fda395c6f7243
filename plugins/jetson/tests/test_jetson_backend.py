"""ember-jetson: runs on a Jetson's integrated GPU and skips with the reason elsewhere
(CI has no Jetson: only the no-device behaviour is checked there)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import ember
from ember.device import get_backend


def _reason():
    try:
        return get_backend("jetson").unavailable_reason()
    except ember.BackendUnavailableError as e:
        return str(e)


MISSING = _reason()


def test_without_a_jetson_jetson_says_why():
    code = ("import ember\n"
            "try:\n    ember.zeros(2, device='jetson')\n"
            "except ember.BackendUnavailableError as e:\n    print('ERROR:', e)\n"
            "else:\n    print('ERROR: none')\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    if MISSING is None:
        pytest.skip("this machine is a Jetson")
    msg = r.stdout.strip()
    assert msg.startswith("ERROR:") and "jetson" in msg
    assert any(s in msg for s in ("cupy is not installed", "no usable CUDA device",
                                  "not a Jetson", "reports no device"))


@pytest.mark.skipif(MISSING is not None, reason=f"no Jetson: {MISSING}")
def test_unified_memory_ops_match_numpy():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    x = ember.tensor(a, device="jetson")
    assert get_backend("jetson").allocator(0)._managed
    np.testing.assert_allclose((x @ x.permute(1, 0)).cpu().numpy(), a @ a.T, rtol=1e-6)
    assert ember.memory.memory_allocated("jetson") > 0
