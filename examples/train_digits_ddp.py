"""The digits CNN of train_digits.py, data-parallel over N processes.

    ember run -n 2 examples/train_digits_ddp.py [--epochs 12] [--batch-size 32]

Each rank trains a replica on its share of every epoch (``DistributedSampler``);
``DistributedDataParallel`` averages the gradients, so the replicas stay identical and the
run matches one process training on the whole batch (``batch-size`` is per rank).  Rank 0
prints the test accuracy per epoch and writes ``metrics.json`` to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import ember
import ember.distributed as dist
import ember.nn.functional as F
from ember.nn.parallel import DistributedDataParallel
from ember.utils.data import DataLoader, DistributedSampler, TensorDataset
from train_digits import DigitsCNN, evaluate, load_digits


def main(argv: list[str] | None = None) -> float:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--batch-size", type=int, default=32, help="per rank")
    p.add_argument("--lr", type=float, default=1e-2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="runs/digits-ddp")
    args = p.parse_args(argv)

    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    ember.manual_seed(args.seed)
    xtr, ytr, xte, yte = load_digits(args.seed, "cpu")
    model = DistributedDataParallel(DigitsCNN())
    opt = ember.optim.Adam(model.parameters(), lr=args.lr)
    sampler = DistributedSampler(TensorDataset(xtr, ytr), seed=args.seed)
    loader = DataLoader(TensorDataset(xtr, ytr), batch_size=args.batch_size, sampler=sampler)
    acc = 0.0
    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)
        model.train()
        for xb, yb in loader:
            opt.zero_grad()
            F.cross_entropy(model(xb), yb).backward()
            opt.step()
        loss, acc = evaluate(model.module, xte, yte)
        if rank == 0:
            print(f"epoch {epoch + 1:2d}: test loss {loss:.4f}, accuracy {acc:.4f} "
                  f"({world} ranks)", flush=True)
    if rank == 0:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "metrics.json"), "w") as f:
            json.dump({"ranks": world, "test_accuracy": acc, "epochs": args.epochs}, f)
    dist.destroy_process_group()
    return acc


if __name__ == "__main__":
    main()
