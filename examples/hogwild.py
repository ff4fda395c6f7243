"""Hogwild!: several processes train one model whose weights live in shared memory.

    python examples/hogwild.py [--num-processes 2] [--epochs 6] [--compare]

As PyTorch's ``mnist_hogwild`` example: the model's parameters are moved into shared
memory (``model.share_memory()``), each process runs its own optimizer and data order
over scikit-learn's 8x8 digits, and every update lands in the same weights, without
locks.  ``--compare`` also trains the same model in one process for the same epochs and
prints both test accuracies.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import ember
import ember.multiprocessing as mp
import ember.nn as nn
import ember.nn.functional as F
from ember.utils.data import DataLoader, TensorDataset


class Net(nn.Module):
    """A two-layer perceptron for flattened 8x8 images."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(64, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


def load_digits(seed: int = 0):
    """(x_train, y_train, x_test, y_test) as ember tensors, pixels scaled to [0, 1]."""
    from sklearn.datasets import load_digits as sk_digits
    from sklearn.model_selection import train_test_split
    data = sk_digits()
    x = (data.data / 16.0).astype(np.float32)
    y = data.target.astype(np.int64)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.25, random_state=seed,
                                          stratify=y)
    return tuple(ember.tensor(a) for a in (xtr, ytr, xte, yte))


def train(rank: int, args: argparse.Namespace, model: Net, data: tuple) -> None:
    """One process's share of the work: ``args.epochs`` epochs over the training set in
    its own order, updating the shared ``model`` in place."""
    ember.manual_seed(args.seed + rank)
    xtr, ytr = data[0], data[1]
    loader = DataLoader(TensorDataset(xtr, ytr), batch_size=args.batch_size, shuffle=True,
                        generator=ember.Generator().manual_seed(args.seed + rank))
    opt = ember.optim.SGD(model.parameters(), lr=args.lr, momentum=0.5)
    for _ in range(args.epochs):
        for xb, yb in loader:
            opt.zero_grad()
            F.cross_entropy(model(xb), yb).backward()
            opt.step()


def accuracy(model: Net, x, y) -> float:
    with ember.no_grad():
        return float((model(x).argmax(1) == y).float().mean().item())


def hogwild(args: argparse.Namespace, data: tuple) -> float:
    """Train one shared model with ``args.num_processes`` processes; its test accuracy."""
    ember.manual_seed(args.seed)
    model = Net()
    model.share_memory()  # the processes below update these very pages
    ctx = mp.get_context(args.start_method)
    procs = [ctx.Process(target=train, args=(rank, args, model, data))
             for rank in range(args.num_processes)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
        if p.exitcode != 0:
            raise RuntimeError(f"hogwild: training process {p.pid} exited with code "
                               f"{p.exitcode}")
    return accuracy(model, data[2], data[3])


def single(args: argparse.Namespace, data: tuple) -> float:
    """The same model trained in this process alone for the same epochs."""
    ember.manual_seed(args.seed)
    model = Net()
    train(0, args, model, data)
    return accuracy(model, data[2], data[3])


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--num-processes", type=int, default=2)
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--start-method", default="fork" if "fork" in
                   mp.get_all_start_methods() else "spawn",
                   help="how the training processes start (fork, spawn, forkserver)")
    p.add_argument("--compare", action="store_true",
                   help="also train in a single process and print both accuracies")
    args = p.parse_args(argv)
    data = load_digits(args.seed)
    t0 = time.perf_counter()
    result = {"hogwild_accuracy": hogwild(args, data),
              "hogwild_seconds": time.perf_counter() - t0}
    print(f"hogwild ({args.num_processes} processes, {args.epochs} epochs each): "
          f"test accuracy {result['hogwild_accuracy']:.4f} "
          f"in {result['hogwild_seconds']:.1f} s")
    if args.compare:
        t0 = time.perf_counter()
        result["single_accuracy"] = single(args, data)
        result["single_seconds"] = time.perf_counter() - t0
        print(f"single process ({args.epochs} epochs): test accuracy "
              f"{result['single_accuracy']:.4f} in {result['single_seconds']:.1f} s")
    return result


if __name__ == "__main__":
    main()
