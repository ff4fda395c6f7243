"""ember-cuda: runs on an NVIDIA GPU through cupy, and skips with the reason where
there is none (CI has none: only the no-runtime behaviour is checked there)."""

from __future__ import annotations

import gc
import os
import subprocess
import sys

import numpy as np
import pytest

import ember
from ember.device import get_backend


def _reason():
    try:
        return get_backend("cuda").unavailable_reason()
    except ember.BackendUnavailableError as e:
        return str(e)


MISSING = _reason()
requires_cuda = pytest.mark.skipif(MISSING is not None, reason=f"no CUDA device: {MISSING}")


def test_without_a_gpu_cuda_says_why():
    code = ("import ember\n"
            "try:\n    ember.zeros(2, device='cuda')\n"
            "except ember.BackendUnavailableError as e:\n    print('ERROR:', e)\n"
            "print(ember.is_available('cuda'), ember.zeros(2).tolist())\n")
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="")  # hides any GPU from CUDA
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "False [0.0, 0.0]" in r.stdout
    msg = r.stdout.splitlines()[0]
    assert msg.startswith("ERROR:") and "cuda" in msg
    assert "cupy is not installed" in msg or "no usable CUDA device" in msg \
        or "reports no device" in msg


@requires_cuda
def test_ops_match_numpy():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((5, 3)).astype(np.float32)
    b = rng.standard_normal((3, 4)).astype(np.float32)
    x, y = ember.tensor(a, device="cuda"), ember.tensor(b, device="cuda")
    np.testing.assert_allclose((x @ y).cpu().numpy(), a @ b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose((x * 2 + 1).exp().sum(dim=0).cpu().numpy(),
                               np.exp(a * 2 + 1).sum(0), rtol=1e-5)


@requires_cuda
def test_cupy_allocations_are_counted_and_cached():
    gc.collect()
    before = ember.memory.memory_allocated("cuda")
    t = ember.ones(1 << 18, device="cuda")  # 1 MiB
    assert ember.memory.memory_allocated("cuda") >= before + (1 << 20)
    del t
    gc.collect()
    ember.synchronize("cuda")
    assert ember.memory.memory_allocated("cuda") == before
    assert ember.memory.memory_reserved("cuda") >= 1 << 20  # cached for reuse
    ember.memory.empty_cache("cuda")
    assert ember.memory.memory_reserved("cuda") == ember.memory.memory_allocated("cuda")
