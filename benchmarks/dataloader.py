"""Time one epoch of a DataLoader over a dataset with a CPU-heavy transform, with 0 and
with N worker processes.

    python benchmarks/dataloader.py [--workers 2] [--samples 256] [--rounds 3] [--sleep S]
                                    [--json out.json]

Each sample is a 64x64 float32 image put through a transform that costs a few ms of
single-threaded numpy (repeated 3x3 box blurs and a nonlinearity: elementwise work, so
BLAS threads do not blur the comparison).  Each round times a full epoch (batch size
16) with 0 workers and with N workers, interleaved; the workers' start-up (fork, one
per epoch) is inside the timing.  The batches of both are checked to be identical first.
The speedup is best(0 workers) / best(N workers).  On a machine shared with other work
the ratio is lower than on a quiet one: report the load (``os.getloadavg``) with it.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

import ember
from ember.utils.data import DataLoader, Dataset


class HeavyTransformDataset(Dataset):
    """Sample i: a seeded 64x64 image after ``passes`` blur-and-squash passes."""

    def __init__(self, n: int, passes: int = 40, sleep: float = 0.0) -> None:
        self.n, self.passes, self.sleep = n, passes, sleep

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        x = np.random.default_rng(i).random((64, 64), dtype=np.float32)
        if self.sleep:  # waiting instead of computing (see --sleep)
            time.sleep(self.sleep)
            return ember.from_numpy(x[None]), i % 10
        for _ in range(self.passes):
            p = np.pad(x, 1, mode="edge")
            x = (p[:-2, :-2] + p[:-2, 1:-1] + p[:-2, 2:] + p[1:-1, :-2] + p[1:-1, 1:-1]
                 + p[1:-1, 2:] + p[2:, :-2] + p[2:, 1:-1] + p[2:, 2:]) / 9.0
            x = np.tanh(2.0 * x - 0.5)
        return ember.from_numpy(x[None]), i % 10


def _cpu_seconds() -> float:
    t = os.times()  # children: the workers of finished epochs (joined at their end)
    return t.user + t.system + t.children_user + t.children_system


def epoch_seconds(loader: DataLoader) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process and its workers) of one epoch."""
    c0, t0 = _cpu_seconds(), time.perf_counter()
    for _ in loader:
        pass
    return time.perf_counter() - t0, _cpu_seconds() - c0


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--samples", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--sleep", type=float, default=0.0,
                    help="replace the transform by sleeping this many seconds per sample "
                         "(I/O-like: shows the loader's overlap when the CPUs are busy "
                         "with other work)")
    ap.add_argument("--json", default=None, help="also write the results here")
    args = ap.parse_args(argv)
    ds = HeavyTransformDataset(args.samples, sleep=args.sleep)
    loaders = {0: DataLoader(ds, batch_size=16),
               args.workers: DataLoader(ds, batch_size=16, num_workers=args.workers)}
    a, b = ([x[0].numpy().copy() for x in dl] for dl in loaders.values())
    if not all(np.array_equal(x, y) for x, y in zip(a, b, strict=True)):
        raise SystemExit("batches differ between 0 and N workers")
    load_before = os.getloadavg()
    times: dict[int, list[float]] = {k: [] for k in loaders}
    cores: dict[int, list[float]] = {k: [] for k in loaders}
    for _ in range(args.rounds):
        for k, dl in loaders.items():
            wall, cpu = epoch_seconds(dl)
            times[k].append(wall)
            cores[k].append(cpu / wall)
    best = {k: min(v) for k, v in times.items()}
    # CPUs this program actually got: near 1 and near N on a quiet machine; far less
    # when other work holds the cores (then the speedup measures the machine's load).
    got = {k: max(v) for k, v in cores.items()}
    result = {"samples": args.samples, "sleep": args.sleep, "workers": args.workers,
              "seconds_0_workers": best[0], f"seconds_{args.workers}_workers":
              best[args.workers], "speedup": best[0] / best[args.workers],
              "all_seconds": {str(k): v for k, v in times.items()},
              "cpus_used": {str(k): v for k, v in got.items()},
              "cpus": os.cpu_count(), "loadavg_before": load_before,
              "loadavg_after": os.getloadavg()}
    kind = f"sleep {args.sleep * 1e3:g} ms" if args.sleep else "heavy transform"
    print(f"{args.samples} samples, {kind}: 0 workers {best[0]:.3f} s, "
          f"{args.workers} workers {best[args.workers]:.3f} s -> "
          f"{result['speedup']:.2f}x; CPUs used {got[0]:.2f} and "
          f"{got[args.workers]:.2f} ({os.cpu_count()} CPUs, load average "
          f"{load_before[0]:.1f} before, {result['loadavg_after'][0]:.1f} after)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == "__main__":
    main()
