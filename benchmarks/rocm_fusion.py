"""Time rocm's fused graph executor: eager ember against the traced step replayed by the
default executor and by rocm's (pointwise chains fused into one OpenCL kernel).

    EMBER_ROCM_ANY_DEVICE=1 python benchmarks/rocm_fusion.py [--rounds 7] [--json out.json]

Cases: ``mlp-tanh``, train_step.py's mlp-medium step (batch 64, 64->256->256->10, SGD
with momentum) with Tanh instead of ReLU, whose backward ``(1 - y*y) * grad`` is a
three-op chain per layer; and ``gelu-tanh``, the tanh approximation of GELU written as
ember ops on a (256, 1024) tensor (a nine-op chain, no grad).  Each system must compute
the same result as eager mode before anything is timed; the table shows kernel
launches per step and the best and the median wall time per step over interleaved
rounds, and the process CPU time per step (all threads) likewise.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import time

import numpy as np
from train_step import LR, MOMENTUM, data, mlp_weights, timeit_interleaved


@contextlib.contextmanager
def _fusion(on: bool):
    old = os.environ.get("EMBER_ROCM_FUSE")
    os.environ["EMBER_ROCM_FUSE"] = "1" if on else "0"
    try:
        yield
    finally:
        if old is None:
            del os.environ["EMBER_ROCM_FUSE"]
        else:
            os.environ["EMBER_ROCM_FUSE"] = old


def mlp_tanh(mode: str):
    """``(step, sync)`` of the Tanh MLP step: ``eager``, ``traced`` or ``fused``."""
    import ember
    import ember.nn as nn
    import ember.nn.functional as F
    weights = mlp_weights([64, 256, 256, 10])
    x, y = data(64, (64,))
    layers = []
    for i in range(0, len(weights), 2):
        layers += [nn.Linear(weights[i].shape[1], weights[i].shape[0]), nn.Tanh()]
    model = nn.Sequential(*layers[:-1])
    with ember.no_grad():
        for p, w in zip(model.parameters(), weights, strict=True):
            p.copy_(ember.tensor(w))
    model.to("rocm")
    opt = ember.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    xt, yt = ember.tensor(x, device="rocm"), ember.tensor(y, device="rocm")

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.detach()
    return _runner(step, (xt, yt), mode)


def gelu_tanh(mode: str):
    """``(step, sync)`` of GELU's tanh approximation on a (256, 1024) tensor."""
    import ember
    x = ember.tensor(np.random.default_rng(0).standard_normal((256, 1024))
                     .astype(np.float32), device="rocm")

    def gelu(x):
        with ember.no_grad():
            inner = (x * x * x * 0.044715 + x) * 0.7978845608028654
            return (inner.tanh() + 1) * x * 0.5
    return _runner(gelu, (x,), mode)


def _runner(fn, args, mode):
    import ember
    import ember.jit

    def sync():
        ember.synchronize("rocm")
    if mode == "eager":
        return (lambda: fn(*args)), sync
    traced = ember.jit.trace(fn, strict=True)
    with _fusion(mode == "fused"):  # the executor is chosen when the graph is accepted
        for _ in range(3):
            traced(*args)
    return (lambda: traced(*args)), sync


def cpu_times(runners: dict, steps: int, rounds: int) -> dict:
    """Process CPU seconds per step (every thread: PoCL runs kernels on the host's
    cores), interleaved like ``timeit_interleaved``: what a step costs the machine, less
    disturbed than wall time when other processes load it."""
    times: dict = {k: [] for k in runners}
    for _ in range(rounds):
        for k, (step, sync) in runners.items():
            sync()
            t = time.process_time()
            for _ in range(steps):
                step()
            sync()
            times[k].append((time.process_time() - t) / steps)
    return times


def launches(step, sync) -> int:
    """OpenCL kernel launches of one call of ``step``."""
    import pyopencl._cl as _cl
    real = _cl.enqueue_nd_range_kernel
    n = [0]

    def counted(*a, **k):
        n[0] += 1
        return real(*a, **k)
    sync()
    _cl.enqueue_nd_range_kernel = counted
    try:
        step()
        sync()
    finally:
        _cl.enqueue_nd_range_kernel = real
    return n[0]


def main(argv=None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--min-time", type=float, default=0.3)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    rows = []
    for name, make in (("mlp-tanh", mlp_tanh), ("gelu-tanh", gelu_tanh)):
        runners = {m: make(m) for m in ("eager", "traced", "fused")}
        # fresh runners for the check (a training step trains): the traced ones took
        # three steps while being traced, so the reference's fourth step is compared
        eager = make("eager")[0]
        for _ in range(3):
            eager()
        ref = eager().cpu().numpy()
        for m in ("traced", "fused"):
            got = make(m)[0]().cpu().numpy()
            if not np.allclose(got, ref, rtol=1e-5, atol=1e-6):
                raise SystemExit(f"{name}: {m} computed {got}, eager {ref}")
        counts = {m: launches(*r) for m, r in runners.items()}
        times = timeit_interleaved(runners, args.min_time, args.rounds)
        cpu = cpu_times(runners, 20, args.rounds)
        row = {"case": name}
        for m in runners:
            row[f"{m}_launches"] = counts[m]
            row[f"{m}_min_ms"] = min(times[m]) * 1e3
            row[f"{m}_median_ms"] = statistics.median(times[m]) * 1e3
            row[f"{m}_cpu_min_ms"] = min(cpu[m]) * 1e3
            row[f"{m}_cpu_median_ms"] = statistics.median(cpu[m]) * 1e3
        rows.append(row)
        for m in runners:
            print(f"{name:10s} {m:6s} {counts[m]:3d} launches  wall {row[f'{m}_min_ms']:8.3f} "
                  f"ms (median {row[f'{m}_median_ms']:8.3f})  cpu "
                  f"{row[f'{m}_cpu_min_ms']:8.3f} ms (median "
                  f"{row[f'{m}_cpu_median_ms']:8.3f})", flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=2)
    return rows


if __name__ == "__main__":
    main()
