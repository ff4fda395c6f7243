"""ember.distributed against mpi4py on the same MPI ranks, and DDP's step overhead.

    python benchmarks/distributed.py [-n 4] [--mb 64] [--rounds 15] [--json out.json]

Starts ``-n`` ranks with ``ember run`` (mpiexec).  (1) ``all_reduce`` of an ``--mb`` MB
float32 tensor: ember's ``dist.all_reduce`` against mpi4py's own ``Allreduce`` (in place)
on the same buffer; both must produce the same sums before anything is timed; rounds
alternate the two, each starting from a barrier.  (2) An MLP training step (batch 64 per
rank, 784->512->512->10, SGD) with ``DistributedDataParallel`` on every rank, against the
same step without DDP in the same process: DDP's overhead is the difference.  Rank 0
prints the minimum and median of each and the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time


def _stats(ts: list[float]) -> tuple[float, float]:
    return min(ts), statistics.median(ts)


def _slowest(comm, MPI, ts: list[float]) -> list[float]:
    """Per round, the slowest rank's time (a collective is done when its last rank is)."""
    import numpy as np
    a = np.array(ts)
    comm.Allreduce(MPI.IN_PLACE, a, op=MPI.MAX)
    return a.tolist()


def ranks(args) -> None:
    import numpy as np
    from mpi4py import MPI

    import ember
    import ember.distributed as dist
    from ember import nn
    from ember.nn.parallel import DistributedDataParallel

    dist.init_process_group("mpi")
    comm = MPI.COMM_WORLD
    r, n = comm.rank, comm.size
    count = args.mb * 1024 * 1024 // 4
    start = np.arange(count, dtype=np.float32) % 7 + r
    t = ember.from_numpy(start.copy())
    buf = t.numpy()  # the same memory: both sides reduce one buffer

    buf[:] = start
    dist.all_reduce(t)
    ours = buf.copy()
    buf[:] = start
    comm.Allreduce(MPI.IN_PLACE, buf)
    if not np.array_equal(ours, buf):
        raise SystemExit(f"rank {r}: ember and mpi4py sums differ")

    times = {"ember": [], "mpi4py": []}
    for _ in range(args.rounds):
        for side in times:
            buf[:] = start
            comm.Barrier()
            t0 = time.perf_counter()
            if side == "ember":
                dist.all_reduce(t)
            else:
                comm.Allreduce(MPI.IN_PLACE, buf)
            times[side].append(time.perf_counter() - t0)
    # The slowest rank decides when a collective is done.
    worst = {k: _slowest(comm, MPI, v) for k, v in times.items()}

    def model():
        ember.manual_seed(0)
        return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                             nn.Linear(512, 10))
    rng = np.random.default_rng(r)
    x = ember.tensor(rng.standard_normal((64, 784)).astype(np.float32))
    y = ember.tensor(rng.integers(0, 10, 64))
    loss_fn = nn.CrossEntropyLoss()
    single, ddp = model(), DistributedDataParallel(model())
    steps = {"single": [], "ddp": []}
    for m, key in ((single, "single"), (ddp, "ddp")) * (args.rounds + 2):
        opt = ember.optim.SGD(m.parameters(), lr=0.01)
        comm.Barrier()
        t0 = time.perf_counter()
        opt.zero_grad()
        loss_fn(m(x), y).backward()
        opt.step()
        steps[key].append(time.perf_counter() - t0)
    steps = {k: _slowest(comm, MPI, v[2:]) for k, v in steps.items()}
    if r == 0:
        e, m = _stats(worst["ember"]), _stats(worst["mpi4py"])
        s, d = _stats(steps["single"]), _stats(steps["ddp"])
        print(f"all_reduce {args.mb} MB float32 over {n} ranks (ms, min / median):")
        print(f"  ember  {e[0] * 1e3:8.2f} / {e[1] * 1e3:8.2f}")
        print(f"  mpi4py {m[0] * 1e3:8.2f} / {m[1] * 1e3:8.2f}")
        print(f"  ratio  {e[0] / m[0]:8.2f} / {e[1] / m[1]:8.2f}  (target <= 1.2)")
        print("MLP step, batch 64 per rank (ms, min / median):")
        print(f"  single process {s[0] * 1e3:8.2f} / {s[1] * 1e3:8.2f}")
        print(f"  DDP, {n} ranks   {d[0] * 1e3:8.2f} / {d[1] * 1e3:8.2f}  "
              f"(overhead {d[0] / s[0]:.2f}x / {d[1] / s[1]:.2f}x)")
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"ranks": n, "mb": args.mb,
                           "all_reduce_ms": {"ember": e, "mpi4py": m},
                           "all_reduce_ratio": [e[0] / m[0], e[1] / m[1]],
                           "mlp_step_ms": {"single": s, "ddp": d}}, f, indent=1)
    dist.destroy_process_group()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-n", type=int, default=4)
    p.add_argument("--mb", type=int, default=64)
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--json", default=None)
    p.add_argument("--rank", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.rank:
        ranks(args)
        return 0
    from ember.distributed.run import launch
    rest = ["--mb", str(args.mb), "--rounds", str(args.rounds), "--rank"]
    if args.json:
        rest += ["--json", os.path.abspath(args.json)]
    return launch(args.n, [os.path.abspath(__file__), *rest])


if __name__ == "__main__":
    sys.exit(main())
