"""What ember.kit costs per op on small arrays, with numpy and with PyTorch tensors as
the vendor's library (issue #13: kit overhead <= 1.5x the raw library's call).

    python benchmarks/kit_overhead.py [--quick] [--json out.json]

Both libraries become ember devices in this process, as a vendor's plugin makes them,
with the documented kit API's defaults (``kitnumpy``: numpy, whose arrays the kit uses
as they are; ``kittorch``: ``array_api_compat.torch``, whose arrays the kit wraps in
``KitArray`` because torch's dtypes are not numpy's).  For each op on a 4x4 float32
input, these calls, all in the same run, interleaved round by round (the best round
of each is kept, so background load hurts all alike):

``raw``     **the raw call**: the library's own call a user would write on its own
            arrays (``a + b``, ``torch.exp(a)``, ``a * 2.0`` ...).
``ns``      the Array API namespace's function named for the op (``xp.add(a, b)``;
            a Python number as a 0-d array made once): for numpy the same function as
            raw; for torch, array_api_compat.torch's wrapper (type promotion fixes;
            matmul's costs 3x torch's), which the kit's kernels call only for mixed
            dtypes: on one dtype they call torch's own function (ember.kit.backend's
            ``_native``), so kernel / ns may be below 1.
``kernel``  **the kit's call**: ``backend.kernels[op](*natives)``, the kit's kernel on
            ember's natives for the same arrays (numpy arrays; ``KitArray`` for torch),
            exactly what the core calls: argument translation, the bool and number
            handling, and for torch the ``KitArray`` wrap of the result.
            **The 1.5x target is kernel / raw**; kernel / ns is the kit's own share.
``ember``   the ember op on the kit device (``ember.add(t, u)``): the kernel plus the
            core's dispatcher, validation cache, autograd check and ``Tensor``
            creation.  ``core`` = ember - kernel is that part: every backend pays it,
            ember's own ``cpu`` too, so it is reported beside the kit's, not in it.
``cpu``     the same ember op on ember's own ``cpu`` backend, for scale: ember / cpu
            is what a kit backend costs beyond the core's own per-op cost.

Results are checked equal across all of them before anything is timed.  Printed: per
op the times in microseconds and the ratios; per library the min, median and max of
each ratio over the ops.  Memory is not counted in these runs (no statistics query:
the kit counts arrays only from the first ``ember.memory`` query on, see
ember.kit.AccountingAllocator); ``--counting`` times the kernels with counting on.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import timeit

import numpy as np


def _devices():
    """Register ``kitnumpy`` and ``kittorch`` (as a vendor plugin would)."""
    import array_api_compat.torch as xt

    import ember
    from ember.kit import ArrayAPIBackend

    class Plugin:
        EMBER_PLUGIN_API = "1.0"

        def __init__(self, xp, name):
            self.xp, self.name = xp, name

        @ember.hookimpl
        def ember_backend_create(self):
            return ArrayAPIBackend(self.xp, device_type=self.name, name=self.name)

    for xp, name in ((np, "kitnumpy"), (xt, "kittorch")):
        ember.plugins.register(Plugin(xp, name), name=name)
    return ("kitnumpy", "kittorch")


def _to_numpy(x):
    import torch
    if isinstance(x, torch.Tensor):
        return x.numpy()
    if hasattr(x, "cpu"):  # an ember Tensor
        return x.cpu().numpy()
    if hasattr(x, "x"):  # a KitArray
        x = x.x
        return x.numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    return np.asarray(x)


def _cases(device: str):
    """(name, raw, ns, kernel, ember, cpu) callables for one kit device."""
    import torch

    import ember
    from ember.device import get_backend

    backend = get_backend(device)
    k = backend.kernels
    rng = np.random.default_rng(0)
    a_np = rng.standard_normal((4, 4)).astype(np.float32)
    b_np = rng.standard_normal((4, 4)).astype(np.float32)
    ea, eb = ember.tensor(a_np, device=device), ember.tensor(b_np, device=device)
    ca, cb = ember.tensor(a_np), ember.tensor(b_np)
    na, nb = ea._data, eb._data                   # the kit's natives
    xp = backend.ns.xp
    if device == "kittorch":
        ra, rb = torch.from_numpy(a_np.copy()), torch.from_numpy(b_np.copy())
        exp, lib_sum, where = torch.exp, torch.sum, torch.where
    else:
        ra, rb = a_np.copy(), b_np.copy()
        exp, lib_sum, where = np.exp, np.sum, np.where
    two = xp.asarray(2.0, dtype=ra.dtype)  # the kit caches such constants too
    zero = xp.asarray(0.0, dtype=ra.dtype)
    # Every function is looked up before timing, as the core holds its kernels (a
    # dict lookup per call would be the benchmark's, not the kit's, cost).
    kadd, kmul, kexp, kneg, klt, ksum, kmm, kwhere, kgt = (
        k[n] for n in ("add", "mul", "exp", "neg", "lt", "sum", "matmul", "where", "gt"))
    xadd, xmul, xexp, xneg, xless, xsum, xmm, xwhere, xgt = (
        xp.add, xp.multiply, xp.exp, xp.negative, xp.less, xp.sum, xp.matmul, xp.where,
        xp.greater)
    ewhere = ember.where
    return [
        ("add", lambda: ra + rb, lambda: xadd(ra, rb), lambda: kadd(na, nb, 1),
         lambda: ea + eb, lambda: ca + cb),
        ("mul scalar", lambda: ra * 2.0, lambda: xmul(ra, two), lambda: kmul(na, 2.0),
         lambda: ea * 2.0, lambda: ca * 2.0),
        ("exp", lambda: exp(ra), lambda: xexp(ra), lambda: kexp(na), lambda: ea.exp(),
         lambda: ca.exp()),
        ("neg", lambda: -ra, lambda: xneg(ra), lambda: kneg(na), lambda: -ea, lambda: -ca),
        ("lt", lambda: ra < rb, lambda: xless(ra, rb), lambda: klt(na, nb),
         lambda: ea < eb, lambda: ca < cb),
        ("sum dim=1", lambda: lib_sum(ra, 1), lambda: xsum(ra, axis=1),
         lambda: ksum(na, 1, False, None), lambda: ea.sum(1), lambda: ca.sum(1)),
        ("matmul", lambda: ra @ rb, lambda: xmm(ra, rb), lambda: kmm(na, nb),
         lambda: ea @ eb, lambda: ca @ cb),
        ("where", lambda: where(ra > 0, ra, rb), lambda: xwhere(xgt(ra, zero), ra, rb),
         lambda: kwhere(kgt(na, 0.0), na, nb), lambda: ewhere(ea > 0, ea, eb),
         lambda: ewhere(ca > 0, ca, cb)),
    ]


def _check(name, fns) -> None:
    outs = [_to_numpy(f()) for f in fns]
    for o in outs[1:]:
        np.testing.assert_allclose(o, outs[0], rtol=1e-6, atol=1e-6,
                                   err_msg=f"{name}: results differ")


def bench(rounds: int, number: int, counting: bool = False) -> dict:
    from ember.device import get_backend
    out = {}
    for device in _devices():
        if counting:
            get_backend(device).allocator(0)  # starts counting, as ember.memory would
        rows = []
        for name, *fns in _cases(device):
            _check(name, fns)
            best = [float("inf")] * len(fns)
            for _ in range(rounds):
                for i, f in enumerate(fns):
                    t = min(timeit.repeat(f, number=number, repeat=1)) / number
                    best[i] = min(best[i], t)
            raw, ns, kernel, em, cpu = best
            rows.append({"op": name, "raw_us": raw * 1e6, "ns_us": ns * 1e6,
                         "kernel_us": kernel * 1e6, "ember_us": em * 1e6,
                         "core_us": (em - kernel) * 1e6,
                         "cpu_us": cpu * 1e6, "kernel/raw": kernel / raw,
                         "kernel/ns": kernel / ns, "ember/raw": em / raw,
                         "ember/cpu": em / cpu})
        out[device] = rows
    return out


def _print(results: dict) -> None:
    for device, rows in results.items():
        print(f"\n{device}  (4x4 float32; microseconds per call)")
        print(f"{'op':12s} {'raw':>7s} {'ns':>7s} {'kernel':>7s} {'ember':>7s} {'core':>7s} "
              f"{'cpu':>7s} {'kern/raw':>9s} {'kern/ns':>8s} {'emb/raw':>8s} {'emb/cpu':>8s}")
        for r in rows:
            print(f"{r['op']:12s} {r['raw_us']:7.2f} {r['ns_us']:7.2f} {r['kernel_us']:7.2f} "
                  f"{r['ember_us']:7.2f} {r['core_us']:7.2f} {r['cpu_us']:7.2f} "
                  f"{r['kernel/raw']:9.2f} "
                  f"{r['kernel/ns']:8.2f} {r['ember/raw']:8.2f} {r['ember/cpu']:8.2f}")
        for key in ("kernel/raw", "kernel/ns", "ember/raw", "ember/cpu"):
            vals = [r[key] for r in rows]
            print(f"  {key:10s} min {min(vals):5.2f}  median {statistics.median(vals):5.2f}"
                  f"  max {max(vals):5.2f}")
        ratios = {r["op"]: r["kernel/raw"] for r in rows}
        med = statistics.median(ratios.values())
        worst = max(ratios, key=ratios.get)
        print(f"  target kernel/raw <= 1.5: median {'met' if med <= 1.5 else 'NOT met'}; "
              f"every op {'met' if ratios[worst] <= 1.5 else 'NOT met'} "
              f"(worst {worst} {ratios[worst]:.2f})")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run)")
    p.add_argument("--json", help="also write the figures to this file")
    p.add_argument("--counting", action="store_true",
                   help="time with the kit's memory counting on (as after a statistics query)")
    args = p.parse_args(argv)
    # many short loops, the best kept: the per-call cost without the interruptions of
    # a shared machine (a long loop rarely runs undisturbed there)
    rounds, number = (5, 200) if args.quick else (40, 300)
    results = bench(rounds, number, args.counting)
    _print(results)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
