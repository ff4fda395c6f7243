"""Does PyTorch meet ember's memory cost contract?  (issue #13)

    python benchmarks/torch_cost_bound.py [--sizes 1024,4096,262144] [--json out.json]

The conformance suite's memory contract (conformance/ember_conformance/cost.py) bounds
the peak bytes an op's forward and backward allocate above the baseline by::

    FACTOR * (bytes of inputs, outputs, upstream gradients and gradients)
      + PER_TENSOR * (how many tensors those are) + SLACK

and its docstring claims that PyTorch's kernels meet it.  This script measures that
claim: the same kinds of ops the contract runs (the scatter family and the backward of
every pick op, convolution, pooling, normalisation, softmax, losses, sorting, matmul),
forward and backward with ones as upstream gradients, in PyTorch on the CPU, at the
contract's sizes (``n`` = 1024 input elements and ``4n``) and at a large size, where
the ``FACTOR`` term, not ``SLACK``, decides.

**How the peak is measured.**  ``torch.profiler`` with ``profile_memory=True`` records
every allocation and free of PyTorch's CPU allocator (c10's, which every CPU tensor and
every kernel workspace goes through) with its time; the peak is the largest running sum
of those events inside the measured region, i.e. exactly the bytes PyTorch asked for
above the baseline.  Not ``tracemalloc`` (it sees only Python's allocator, never
PyTorch's) and not ``/proc`` RSS (glibc keeps freed pages mapped and reuses them, so an
op's temporaries may not show at all, and the page granularity hides small ones).  What
it does not see: memory a kernel's library takes outside c10 (oneDNN/MKL scratch from
their own pools), which ember's ``tracemalloc`` on numpy does not see either.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np


def _peak_bytes(fn) -> tuple[int, int]:
    """(peak, net) bytes of PyTorch's CPU allocator while ``fn()`` runs."""
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as p:
        fn()
    events = sorted((e.start_ns(), e.nbytes()) for e in p.profiler.kineto_results.events()
                    if e.name() == "[memory]")
    cur = top = 0
    for _, b in events:
        cur += b
        top = max(top, cur)
    return top, cur


def _cases():
    """name -> make(n) returning (inputs, fn(*inputs) -> output tensor or tuple)."""
    import torch
    import torch.nn.functional as F

    def r(*shape):
        return torch.randn(*shape, requires_grad=True)

    def side(n, c=4):
        return max(2, int((n / c) ** 0.5) // 2 * 2)

    def idx(high, k):
        return torch.randint(0, high, (k,))

    return {
        "scatter_add": lambda n: ((r(n), idx(n, n), r(n)),
                                  lambda x, i, s: x.scatter_add(0, i, s)),
        "index_add": lambda n: ((r(n // 4, 4), idx(n // 4, n // 4), r(n // 4, 4)),
                                lambda x, i, s: x.index_add(0, i, s)),
        "index_put accumulate": lambda n: ((r(n), idx(n, n), r(n)),
                                           lambda x, i, v: x.index_put((i,), v, True)),
        "gather": lambda n: ((r(n // 8, 8), torch.randint(0, 8, (n // 8, 8))),
                             lambda x, i: x.gather(1, i)),
        "index_select": lambda n: ((r(n // 4, 4), idx(n // 4, n // 4)),
                                   lambda x, i: x.index_select(0, i)),
        "embedding": lambda n: ((r(n // 8, 8), idx(n // 8, n // 8)),
                                lambda w, i: F.embedding(i, w)),
        "max_pool2d": lambda n: ((r(1, 4, side(n), side(n)),),
                                 lambda x: F.max_pool2d(x, 2)),
        "avg_pool2d": lambda n: ((r(1, 4, side(n), side(n)),),
                                 lambda x: F.avg_pool2d(x, 2)),
        "conv2d 3x3": lambda n: ((r(1, 4, side(n), side(n)), r(4, 4, 3, 3)),
                                 lambda x, w: F.conv2d(x, w, padding=1)),
        "softmax": lambda n: ((r(n // 16, 16),), lambda x: F.softmax(x, -1)),
        "log_softmax": lambda n: ((r(n // 16, 16),), lambda x: F.log_softmax(x, -1)),
        "layer_norm": lambda n: ((r(n // 16, 16),), lambda x: F.layer_norm(x, (16,))),
        "batch_norm": lambda n: ((r(n // 8, 8),),
                                 lambda x: F.batch_norm(x, None, None, training=True)),
        "cross_entropy": lambda n: ((r(n // 10, 10), idx(10, n // 10)),
                                    lambda x, t: F.cross_entropy(x, t)),
        "mse_loss": lambda n: ((r(n), r(n)), lambda a, b: F.mse_loss(a, b)),
        "matmul": lambda n: ((r(n // 32, 32), r(32, 32)), lambda a, b: a @ b),
        "cumsum": lambda n: ((r(n),), lambda x: x.cumsum(0)),
        "sort": lambda n: ((r(n),), lambda x: x.sort()[0]),
        "topk": lambda n: ((r(n),), lambda x: x.topk(max(1, n // 8))[0]),
        "where": lambda n: ((r(n) > 0, r(n), r(n)), lambda c, a, b: torch.where(c, a, b)),
    }


def measure(sizes=(1024, 4096), names=None) -> list[dict]:
    """One row per (op, size): bytes of the contract's terms, the peak, the bound."""
    import torch

    from ember_conformance.cost import FACTOR, PER_TENSOR, SLACK
    torch.manual_seed(0)
    rows = []
    for name, make in _cases().items():
        if names is not None and name not in names:
            continue
        for n in sizes:
            inputs, f = make(n)
            leaves = [t for t in inputs if t.requires_grad]
            kept = {}

            def run(f=f, inputs=inputs, leaves=leaves, kept=kept):
                out = f(*inputs)
                ups = torch.ones_like(out)
                grads = torch.autograd.grad(out, leaves, ups, allow_unused=True)
                kept["t"] = [out, ups] + [g for g in grads if g is not None]
            run()  # warm up (oneDNN primitive caches, thread pools)
            kept.clear()
            peak, _ = _peak_bytes(run)
            ts = list(inputs) + kept.pop("t")
            io = sum(t.numel() * t.element_size() for t in ts)
            bound = FACTOR * io + PER_TENSOR * len(ts) + SLACK
            rows.append({"op": name, "elements": sum(t.numel() for t in inputs),
                         "io_bytes": io, "tensors": len(ts), "peak": peak,
                         "bound": bound, "peak/io": peak / io, "ok": peak <= bound})
    return rows


def _print(rows) -> None:
    print(f"{'op':22s} {'elements':>9s} {'io KiB':>9s} {'peak KiB':>9s} {'bound KiB':>10s} "
          f"{'peak/io':>8s}  verdict")
    for r in rows:
        print(f"{r['op']:22s} {r['elements']:9d} {r['io_bytes'] / 1024:9.1f} "
              f"{r['peak'] / 1024:9.1f} {r['bound'] / 1024:10.1f} {r['peak/io']:8.2f}  "
              f"{'within' if r['ok'] else 'OVER'}")
    worst = max(rows, key=lambda r: r["peak/io"])
    print(f"\nworst peak/io: {worst['peak/io']:.2f} ({worst['op']}, {worst['elements']} "
          f"elements); over the bound: {sum(not r['ok'] for r in rows)} of {len(rows)}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="1024,4096,262144",
                   help="input elements per run, comma-separated")
    p.add_argument("--json", help="also write the rows to this file")
    args = p.parse_args(argv)
    rows = measure(tuple(int(s) for s in args.sizes.split(",")))
    _print(rows)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())
