"""Time the B64 MLP training step on the accelerator backends against the same math
written by hand for each runtime, and a warm rocm process's first step.

    python benchmarks/accel_step.py [--devices xpu,rocm] [--rounds 7] [--json out.json]
    python benchmarks/accel_step.py --first-step rocm [--warm-core] [--processes 7]
                                                         # first vs steady step

The model is ``train_step.py``'s mlp-medium (batch 64, 64->256->256->10, ReLU,
cross-entropy, SGD with momentum 0.9), from the same weights and data.

* xpu: ember against a hand-written ``dpnp`` step on the same SYCL queue: oneMKL
  matmuls, in-place updates, the softmax cross-entropy in five array expressions
  (what a dpnp user would write; nothing deliberately slow, nothing fused by hand
  beyond what dpnp offers).
* rocm: ember against a hand-written ``pyopencl`` step on ember's context and queue of
  the OpenCL device (its own buffers and kernels): a register-blocked GEMM (4x4
  outputs per work item, operands read through their strides so transposes cost
  nothing; the same algorithm as ember's, so the ratio measures the framework, not the
  GEMM), a bias(+ReLU) kernel, one work-group softmax cross-entropy kernel (loss and
  gradient), a column-sum, a ReLU mask and one SGD kernel per parameter: 23 launches
  per step (ember's step: 20 and one buffer copy, see docs/rocm.md).

Every system must compute the numpy reference's losses over the first two steps before
anything is timed; each timed step ends by reading its loss (see ``_reading_loss``);
the table shows the best and the median seconds per step over interleaved rounds and
ember's ratios.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
from train_step import LR, MOMENTUM, check_same_losses, data, mlp_weights, numpy_mlp_step, \
    timeit_interleaved
from train_step import ember_step as _ember_step

SIZES = [64, 256, 256, 10]
BATCH = 64


def ember_step(weights, x, y, device):
    """train_step.py's ember step (eager) for the MLP."""
    return _ember_step("mlp", weights, x, y, device)


def dpnp_step(weights, x, y):
    import dpnp
    from dpctl.utils import SequentialOrderManager

    from ember.device import get_backend
    q = get_backend("xpu").queue(0)
    params = [dpnp.asarray(w, sycl_queue=q) for w in weights]
    bufs = [dpnp.zeros_like(p) for p in params]
    xd, yd = dpnp.asarray(x, sycl_queue=q), dpnp.asarray(y, sycl_queue=q)
    classes = dpnp.arange(SIZES[-1], sycl_queue=q)
    first = [True]
    n = len(params) // 2

    def step():
        acts = [xd]
        h = xd
        for i in range(n):
            h = dpnp.matmul(h, params[2 * i].T)
            h += params[2 * i + 1]
            if i < n - 1:
                h = dpnp.maximum(h, 0)
            acts.append(h)
        z = h - h.max(axis=1, keepdims=True)
        e = dpnp.exp(z)
        s = e.sum(axis=1, keepdims=True)
        onehot = classes == yd[:, None]
        loss = (dpnp.log(s[:, 0]) - (z * onehot).sum(axis=1)).mean()
        g = (e / s - onehot) * (1.0 / len(y))
        grads = [None] * len(params)
        for i in reversed(range(n)):
            grads[2 * i] = dpnp.matmul(g.T, acts[i])
            grads[2 * i + 1] = g.sum(axis=0)
            if i:
                g = dpnp.matmul(g, params[2 * i])
                g *= acts[i] > 0
        for p, gr, b in zip(params, grads, bufs, strict=True):
            if first[0]:
                b[...] = gr
            else:
                b *= MOMENTUM
                b += gr
            p -= LR * b
        first[0] = False
        return loss

    def sync():
        SequentialOrderManager[q].wait()
        q.wait()
    return step, sync


# --- pyopencl, by hand -----------------------------------------------------------------------

_CL = """
#define RB 4
#define CB 4
// C (M x N, contiguous) = A @ B, A and B read through (row, column) strides
__kernel void gemm(const int M, const int N, const int K, __global float* C,
                   __global const float* A, const int asm_, const int ask,
                   __global const float* B, const int bsk, const int bsn) {
    const int c0 = get_global_id(0) * CB, r0 = get_global_id(1) * RB;
    if (r0 >= M || c0 >= N) return;
    int ar[RB], bc[CB];
    for (int i = 0; i < RB; ++i) ar[i] = min(r0 + i, M - 1) * asm_;
    for (int j = 0; j < CB; ++j) bc[j] = min(c0 + j, N - 1) * bsn;
    float acc[RB][CB];
    for (int i = 0; i < RB; ++i) for (int j = 0; j < CB; ++j) acc[i][j] = 0;
    for (int k = 0; k < K; ++k) {
        float av[RB], bv[CB];
        for (int i = 0; i < RB; ++i) av[i] = A[ar[i] + k * ask];
        for (int j = 0; j < CB; ++j) bv[j] = B[bc[j] + k * bsk];
        for (int i = 0; i < RB; ++i) for (int j = 0; j < CB; ++j) acc[i][j] += av[i] * bv[j];
    }
    for (int i = 0; i < RB; ++i) for (int j = 0; j < CB; ++j)
        if (r0 + i < M && c0 + j < N) C[(r0 + i) * N + c0 + j] = acc[i][j];
}
__kernel void bias(__global float* h, __global const float* b, const int N, const int relu) {
    const int i = get_global_id(0);
    const float v = h[i] + b[i % N];
    h[i] = relu ? fmax(v, 0.0f) : v;
}
// one work group, one row per work item: softmax cross-entropy, its mean and gradient
__kernel void xent(__global const float* z, __global const long* y, const int B, const int C,
                   __global float* grad, __global float* loss, __local float* part) {
    const int r = get_local_id(0);
    float l = 0;
    if (r < B) {
        float m = -INFINITY;
        for (int c = 0; c < C; ++c) m = fmax(m, z[r * C + c]);
        float s = 0;
        for (int c = 0; c < C; ++c) s += exp(z[r * C + c] - m);
        const long t = y[r];
        l = log(s) + m - z[r * C + t];
        for (int c = 0; c < C; ++c)
            grad[r * C + c] = (exp(z[r * C + c] - m) / s - (c == t)) / B;
    }
    part[r] = l;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int w = get_local_size(0) / 2; w > 0; w /= 2) {
        if (r < w) part[r] += part[r + w];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (r == 0) loss[0] = part[0] / B;
}
__kernel void colsum(__global const float* g, const int B, const int N, __global float* out) {
    const int j = get_global_id(0);
    if (j >= N) return;
    float s = 0;
    for (int r = 0; r < B; ++r) s += g[r * N + j];
    out[j] = s;
}
__kernel void relu_mask(__global float* g, __global const float* act) {
    const int i = get_global_id(0);
    if (act[i] <= 0) g[i] = 0;
}
__kernel void sgd(__global float* p, __global const float* g, __global float* b,
                  const float lr, const float momentum, const int first) {
    const int i = get_global_id(0);
    const float v = first ? g[i] : b[i] * momentum + g[i];
    b[i] = v;
    p[i] -= lr * v;
}
"""


def pyopencl_step(weights, x, y):
    import pyopencl as cl
    import pyopencl.array as cla

    from ember.device import get_backend
    # ember's context and in-order queue of the device (PoCL schedules the two
    # systems' kernels alike); the buffers and kernels are the step's own
    state = get_backend("rocm").state(0)
    ctx, queue = state.context, state.queue
    prg = cl.Program(ctx, _CL).build()
    gemm, bias, xent = prg.gemm, prg.bias, prg.xent
    colsum, relu_mask, sgd = prg.colsum, prg.relu_mask, prg.sgd
    gemm.set_scalar_arg_dtypes([np.int32] * 3 + [None, None, np.int32, np.int32, None,
                                                 np.int32, np.int32])
    bias.set_scalar_arg_dtypes([None, None, np.int32, np.int32])
    xent.set_scalar_arg_dtypes([None, None, np.int32, np.int32, None, None, None])
    colsum.set_scalar_arg_dtypes([None, np.int32, np.int32, None])
    sgd.set_scalar_arg_dtypes([None, None, None, np.float32, np.float32, np.int32])
    params = [cla.to_device(queue, w) for w in weights]
    bufs = [cla.zeros_like(p) for p in params]
    grads = [cla.empty_like(p) for p in params]
    xd, yd = cla.to_device(queue, x), cla.to_device(queue, y)
    B, n = len(y), len(params) // 2
    acts = [xd] + [cla.empty(queue, (B, o), np.float32) for o in SIZES[1:]]
    gouts = [cla.empty(queue, (B, o), np.float32) for o in SIZES[:-1]]
    glog = cla.empty(queue, (B, SIZES[-1]), np.float32)
    loss = cla.empty(queue, (1,), np.float32)
    first = [1]

    def mm(out, M, N, K, a, asm_, ask, b, bsk, bsn):
        gs = ((N + 3) // 4 + 7) // 8 * 8, ((M + 3) // 4 + 7) // 8 * 8
        gemm(queue, gs, (8, 8), M, N, K, out.data, a.data, asm_, ask, b.data, bsk, bsn)

    def step():
        for i in range(n):
            w, (o, k) = params[2 * i], weights[2 * i].shape
            mm(acts[i + 1], B, o, k, acts[i], k, 1, w, 1, k)  # h @ W.T
            bias(queue, (B * o,), None, acts[i + 1].data, params[2 * i + 1].data, o,
                 int(i < n - 1))
        C = SIZES[-1]
        xent(queue, (B,), (B,), acts[-1].data, yd.data, B, C, glog.data, loss.data,
             cl.LocalMemory(4 * B))
        g = glog
        for i in reversed(range(n)):
            o, k = weights[2 * i].shape
            mm(grads[2 * i], o, k, B, g, 1, o, acts[i], k, 1)  # g.T @ a
            colsum(queue, (o,), None, g.data, B, o, grads[2 * i + 1].data)
            if i:
                gx = gouts[i]
                mm(gx, B, k, o, g, o, 1, params[2 * i], k, 1)  # g @ W
                relu_mask(queue, (B * k,), None, gx.data, acts[i].data)
                g = gx
        for p, gr, b in zip(params, grads, bufs, strict=True):
            sgd(queue, (p.size,), None, p.data, gr.data, b.data, LR, MOMENTUM, first[0])
        first[0] = 0
        return loss

    def result():
        return float(loss.get()[0])
    return (lambda: (step(), _Lazy(result))[1]), queue.finish


class _Lazy:
    """A loss read back only when asked (``.item()``), as ember's and dpnp's are."""

    def __init__(self, get) -> None:
        self.get = get

    def item(self) -> float:
        return self.get()


def _reading_loss(step):
    """``step`` ending with the loss read to the host, as a training loop that logs it
    does.  Every system then runs one step at a time: PoCL runs a deep queue of a few
    hundred pending launches slower than a shallow one (the pyopencl step took 2.5x
    longer per step unsynchronised).  On rocm that read is also where cross-entropy's
    target check, made on the device, reports; on xpu the value rule still reads the
    targets' range mid-step."""
    def run():
        loss = step()
        loss.item()
        return loss
    return run


# --- a warm process's first step --------------------------------------------------------------

def first_step(device: str, steady_steps: int = 20, warm_core: bool = False) -> dict:
    """Seconds of this process's first ember step on ``device`` (imports and device
    start excluded) and the median of the next steps.

    With ``warm_core`` one step on the cpu runs first, so that what remains is the
    device's own first-use cost (programs, first launches), not the core's
    once-per-process Python work (lazy imports, generated entry points) that a first
    step on any device pays."""
    import ember
    weights = mlp_weights(SIZES)
    x, y = data(BATCH, (SIZES[0],))
    if warm_core:
        step, _ = ember_step(weights, x, y, "cpu")
        step().item()
    ember.device(device)
    ember.tensor(np.zeros(1, np.float32), device=device)  # the device is up
    ember.synchronize(device)
    step, sync = ember_step(weights, x, y, device)
    sync()
    t = time.perf_counter()
    step().item()
    first = time.perf_counter() - t
    times = []
    for _ in range(steady_steps):
        t = time.perf_counter()
        step().item()
        times.append(time.perf_counter() - t)
    steady = statistics.median(times)
    return {"device": device, "warm_core": warm_core, "first_s": first, "steady_s": steady,
            "ratio": first / steady}


def _first_step_processes(device: str, n: int, warm_core: bool) -> dict:
    """``first_step`` in ``n`` fresh processes: min and median of each figure."""
    import subprocess
    import sys
    runs = []
    for _ in range(n):
        out = subprocess.run(
            [sys.executable, __file__, "--first-step", device, "--json", "/dev/stdout"]
            + (["--warm-core"] if warm_core else []),
            check=True, capture_output=True, text=True).stdout
        runs.append(json.loads(out[out.index("["):])[0])
    r = {"device": device, "warm_core": warm_core, "processes": n}
    for key in ("first_s", "steady_s", "ratio"):
        vals = [x[key] for x in runs]
        r[key + "_min"], r[key + "_median"] = min(vals), statistics.median(vals)
    print(f"{device}{' (core warm)' if warm_core else ''}, {n} processes: first step "
          f"{r['first_s_min'] * 1e3:.1f} ms (median {r['first_s_median'] * 1e3:.1f}), steady "
          f"{r['steady_s_min'] * 1e3:.2f} ms (median {r['steady_s_median'] * 1e3:.2f}), "
          f"first/steady min {r['ratio_min']:.1f}x, median {r['ratio_median']:.1f}x")
    return r


def main(argv=None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", default="xpu,rocm", help="xpu and/or rocm")
    ap.add_argument("--min-time", type=float, default=0.2,
                    help="seconds per measurement (per system and round)")
    ap.add_argument("--rounds", type=int, default=7, help="rounds; the best one counts")
    ap.add_argument("--first-step", default=None, metavar="DEVICE",
                    help="only time this process's first step on DEVICE against its steady "
                         "step (run it in a fresh process, with the kernel caches warm)")
    ap.add_argument("--warm-core", action="store_true",
                    help="with --first-step: run one cpu step first (see first_step)")
    ap.add_argument("--processes", type=int, default=1,
                    help="with --first-step: run it in this many fresh processes, one after "
                         "the other, and report the minimum and median (a busy machine "
                         "scatters single runs)")
    ap.add_argument("--json", default=None, help="also write the results here")
    args = ap.parse_args(argv)
    if args.first_step and args.processes > 1:
        rows = [_first_step_processes(args.first_step, args.processes, args.warm_core)]
    elif args.first_step:
        r = first_step(args.first_step, warm_core=args.warm_core)
        print(f"{r['device']}{' (core warm)' if r['warm_core'] else ''}: first step "
              f"{r['first_s'] * 1e3:.1f} ms, steady "
              f"{r['steady_s'] * 1e3:.2f} ms, first/steady {r['ratio']:.1f}x")
        rows = [r]
    else:
        from threadpoolctl import threadpool_limits
        threadpool_limits(1)  # the numpy reference only checks losses here
        weights = mlp_weights(SIZES)
        x, y = data(BATCH, (SIZES[0],))
        hand = {"xpu": ("dpnp", dpnp_step), "rocm": ("pyopencl", pyopencl_step)}
        rows = []
        for dev in [d.strip() for d in args.devices.split(",") if d.strip()]:
            label, make = hand[dev]
            runners = {"numpy": numpy_mlp_step(weights, x, y),
                       f"ember-{dev}": ember_step(weights, x, y, dev),
                       label: make(weights, x, y)}
            check_same_losses(runners)
            del runners["numpy"]
            runners = {k: (_reading_loss(step), sync) for k, (step, sync) in runners.items()}
            times = timeit_interleaved(runners, args.min_time, args.rounds)
            e, h = times[f"ember-{dev}"], times[label]
            r = {"device": dev, "hand": label, "ember_min_ms": min(e) * 1e3,
                 "ember_median_ms": statistics.median(e) * 1e3,
                 "hand_min_ms": min(h) * 1e3, "hand_median_ms": statistics.median(h) * 1e3}
            r["ratio_min"] = r["ember_min_ms"] / r["hand_min_ms"]
            r["ratio_median"] = r["ember_median_ms"] / r["hand_median_ms"]
            rows.append(r)
            print(f"mlp B{BATCH} {dev:4s}: ember {r['ember_min_ms']:7.3f} ms (median "
                  f"{r['ember_median_ms']:7.3f})  {label} {r['hand_min_ms']:7.3f} ms (median "
                  f"{r['hand_median_ms']:7.3f})  ember/{label} {r['ratio_min']:.2f} "
                  f"(median {r['ratio_median']:.2f})", flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=2)
    return rows


if __name__ == "__main__":
    main()
