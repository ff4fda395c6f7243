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


@requires_cuda
def test_accumulating_writes_use_cupyx_scatter_add(monkeypatch):
    """scatter_add, index_add and max-pool's backward reach cupyx.scatter_add (the
    kit's implementations= entry), and agree with the cpu backend."""
    import cupyx

    from ember.dispatch import clear_cache
    calls = []
    real = cupyx.scatter_add
    entry = get_backend("cuda")._kit.implementations["index_put_"]
    assert entry.add_at is real
    monkeypatch.setattr(entry, "add_at", lambda *a: (calls.append(a[0].dtype), real(*a))[1])
    clear_cache()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 5)).astype(np.float32)
    idx = np.array([0, 5, 5, 1, 0])
    src = rng.standard_normal((6, 5)).astype(np.float32)
    for dev in ("cpu", "cuda"):
        got = ember.index_add(ember.tensor(x, device=dev), 1, ember.tensor(idx, device=dev),
                              ember.tensor(src, device=dev))
        if dev == "cpu":
            want = got.numpy()
    np.testing.assert_allclose(got.cpu().numpy(), want, rtol=1e-6)
    a = ember.tensor(rng.standard_normal((2, 3, 8, 8)).astype(np.float32), device="cuda",
                     requires_grad=True)
    ember.nn.functional.max_pool2d(a, 2).sum().backward()
    assert float(a.grad.sum().item()) == 2 * 3 * 4 * 4
    assert calls, "cupyx.scatter_add was not called"


def test_the_nccl_engine_is_offered_and_says_what_it_lacks():
    """ember-cuda offers ``nccl`` for cuda tensors; without cupy's NCCL, starting a
    process group with it names what to install."""
    from ember.distributed.engine import engine_specs
    spec = engine_specs()["nccl"]
    assert spec.device_types == ("cuda",) and not spec.host_staged
    code = ("import ember.distributed as d\n"
            "try:\n    d.init_process_group('nccl', rank=0, world_size=1)\n"
            "except RuntimeError as e:\n    print('ERROR:', e)\n")
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", MASTER_ADDR="127.0.0.1",
               MASTER_PORT="29531")
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("ERROR: init_process_group('nccl')"), r.stdout
    assert "cupy" in r.stdout or "CUDA device" in r.stdout


@requires_cuda
def test_nccl_collectives_and_a_ddp_step_in_a_group_of_one():
    """A single GPU cannot host two NCCL ranks: world size 1 checks the engine's calls
    (every collective leaves the data as one rank's reduction does) and a DDP step."""
    import ember.distributed as dist
    from ember.nn.parallel import DistributedDataParallel
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT="29533")
    dist.init_process_group("nccl", rank=0, world_size=1)
    try:
        t = ember.arange(6.0, device="cuda")
        for op in (dist.ReduceOp.SUM, dist.ReduceOp.MAX, dist.ReduceOp.AVG):
            dist.all_reduce(t, op=op)
        assert t.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
        dist.broadcast(t, src=0)
        out = ember.zeros(6, device="cuda")
        dist.all_gather_into_tensor(out, t)
        assert out.tolist() == t.tolist()
        w = dist.all_reduce(ember.ones(3, device="cuda", dtype=ember.bool), async_op=True)
        w.wait()
        model = DistributedDataParallel(ember.nn.Linear(4, 2).to("cuda"))
        x = ember.randn(8, 4, device="cuda")
        model(x).sum().backward()
        assert all(p.grad is not None for p in model.parameters())
    finally:
        dist.destroy_process_group()
