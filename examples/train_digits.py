"""Train a small CNN on scikit-learn's bundled 8x8 digits with ember.

    python examples/train_digits.py [--device cpu] [--epochs 12] [--workers 0]
                                    [--out runs/digits-<device>]

Shows a progress bar on a terminal (one line per epoch in a log), reaches >= 95% test
accuracy in well under a minute on a CPU, saves a checkpoint (``ember.save``) and a plot
of loss and accuracy, then loads the checkpoint into a fresh model and re-evaluates it to
the same accuracy.  The dataset ships with scikit-learn: nothing is downloaded.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.utils.data import DataLoader, TensorDataset

#: Devices tried, best first, when --device is not given.
PREFERENCE = ("cuda", "rocm", "xpu", "cpu")


def best_device() -> str:
    """The first device of ``PREFERENCE`` that is available, is real accelerator hardware
    (an accelerator runtime driving the host CPU, such as Intel's OpenCL CPU device
    behind ``xpu``, is no faster than ember-cpu) and can run this model."""
    from ember.device import get_backend
    for d in PREFERENCE[:-1]:
        try:
            if not ember.is_available(d) or any(
                    ":cpu" in line for line in get_backend(d).describe()):
                continue
            model = DigitsCNN().to(d)
            F.cross_entropy(model(ember.zeros(2, 1, 8, 8, device=d)),
                            ember.zeros(2, dtype=ember.int64, device=d)).backward()
            return d
        except Exception as e:  # a backend lacking an op: say so and try the next one
            print(f"note: skipping {d}: {type(e).__name__}: {str(e)[:120]}", file=sys.stderr)
    return "cpu"


class DigitsCNN(nn.Module):
    """Two conv blocks and a two-layer classifier for 1x8x8 images."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # 16x4x4
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 32x2x2
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(32 * 2 * 2, 64), nn.ReLU(), nn.Dropout(0.1),
            nn.Linear(64, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.features(x))


def load_digits(seed: int, device: str):
    """Train/test tensors: images scaled to [0, 1] as (N, 1, 8, 8), int64 labels."""
    from sklearn.datasets import load_digits as sk_digits
    from sklearn.model_selection import train_test_split
    data = sk_digits()
    x = (data.images / 16.0).astype(np.float32)[:, None]
    y = data.target.astype(np.int64)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.2, random_state=seed, stratify=y)
    to = lambda a: ember.tensor(a, device=device)
    return to(xtr), to(ytr), to(xte), to(yte)


def evaluate(model: nn.Module, x, y, batch_size: int = 512) -> tuple[float, float]:
    """(mean loss, accuracy) of ``model`` on ``x``, ``y``."""
    model.eval()
    total_loss, correct = 0.0, 0
    with ember.no_grad():
        for i in range(0, x.shape[0], batch_size):
            xb, yb = x[i:i + batch_size], y[i:i + batch_size]
            logits = model(xb)
            total_loss += F.cross_entropy(logits, yb, reduction="sum").item()
            correct += int((logits.argmax(1) == yb).sum().item())
    n = x.shape[0]
    return total_loss / n, correct / n


def accuracy_floor(history: dict) -> float:
    """The accuracy axis' lower end: it shows the range the model spends its training in
    (the first epoch may start far lower; 0-1 would squash the part worth reading)."""
    accs = history["train_acc"][1:] + history["test_acc"][1:] or \
        history["train_acc"] + history["test_acc"]
    return max(0.0, min(0.9, np.floor(min(accs) * 20) / 20 - 0.05))


def plot(history: dict, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    epochs = range(1, len(history["train_loss"]) + 1)
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    a.plot(epochs, history["train_loss"], label="train")
    a.plot(epochs, history["test_loss"], label="test")
    a.set_xlabel("epoch")
    a.set_ylabel("cross-entropy loss")
    a.set_title("Loss")
    a.legend(loc="upper right")  # the curves fall towards the lower right
    b.plot(epochs, history["train_acc"], label="train")
    b.plot(epochs, history["test_acc"], label="test")
    b.set_xlabel("epoch")
    b.set_ylabel("accuracy")
    b.set_title("Accuracy")
    b.set_ylim(accuracy_floor(history), 1.005)  # (1.0 itself stays visible)
    b.legend(loc="lower right")  # the curves rise towards the upper right
    fig.suptitle("ember: small CNN on scikit-learn digits")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default=None,
                   help=f"device to train on (default: best available of {PREFERENCE})")
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None,
                   help="output folder (default: runs/digits-<device>)")
    p.add_argument("--threads", type=int, default=1,
                   help="BLAS threads for CPU math (the matrices here are small: one thread "
                        "avoids threading overhead; 0 leaves the library default)")
    p.add_argument("--workers", type=int, default=0,
                   help="DataLoader worker processes (0: load batches in this process; "
                        "the batches come back through shared memory and move to the "
                        "device here)")
    p.add_argument("--no-progress", action="store_true",
                   help="hide the progress bar (it shows only on a terminal anyway)")
    args = p.parse_args(argv)

    limits = None
    if args.threads:
        from threadpoolctl import threadpool_limits  # ships with scikit-learn
        limits = threadpool_limits(args.threads)
    try:
        return train(args)
    finally:
        if limits is not None:
            limits.restore_original_limits()


def train(args: argparse.Namespace) -> dict:
    """Train, evaluate, checkpoint, plot, reload and re-evaluate."""
    from tqdm import tqdm
    device = args.device or best_device()
    out = args.out or os.path.join("runs", f"digits-{ember.device(device).type}")
    os.makedirs(out, exist_ok=True)
    ember.manual_seed(args.seed)
    xtr, ytr, xte, yte = load_digits(args.seed, device)
    model = DigitsCNN().to(device)
    opt = ember.optim.Adam(model.parameters(), lr=args.lr)
    sched = ember.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs)
    # Workers index host copies (a device runtime does not survive fork); each batch
    # moves to the device in the loop (a no-op when the data is already there).  Not
    # persistent_workers: like PyTorch's, a persistent loader draws its workers' base
    # seed once, which shifts the shuffling of later epochs; this way --workers N
    # trains on exactly the batches of --workers 0.
    train_set = TensorDataset(xtr.cpu(), ytr.cpu()) if args.workers else \
        TensorDataset(xtr, ytr)
    loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True,
                        generator=ember.Generator().manual_seed(args.seed),
                        num_workers=args.workers)
    history = {"train_loss": [], "train_acc": [], "test_loss": [], "test_acc": []}
    print(f"training DigitsCNN on {device}: {xtr.shape[0]} train / {xte.shape[0]} test "
          f"images, {args.epochs} epochs"
          + (f", {args.workers} loader workers" if args.workers else ""))
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        model.train()
        # A bar only on a terminal: in a log, tqdm would write a line per batch.
        bar = tqdm(loader, desc=f"epoch {epoch:2d}/{args.epochs}", leave=False,
                   disable=args.no_progress or not sys.stdout.isatty(), file=sys.stdout)
        for xb, yb in bar:
            xb, yb = xb.to(device), yb.to(device)
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            bar.set_postfix(loss=f"{loss.item():.4f}")
        sched.step()
        tr_loss, tr_acc = evaluate(model, xtr, ytr)
        te_loss, te_acc = evaluate(model, xte, yte)
        for k, v in zip(history, (tr_loss, tr_acc, te_loss, te_acc), strict=True):
            history[k].append(v)
        print(f"epoch {epoch:2d}: train loss {tr_loss:.4f} acc {tr_acc:.4f} | "
              f"test loss {te_loss:.4f} acc {te_acc:.4f}")
    elapsed = time.perf_counter() - start

    ckpt = os.path.join(out, "checkpoint.safetensors")
    ember.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict(), "epoch": args.epochs, "history": history,
                "test_accuracy": history["test_acc"][-1]}, ckpt)
    fig = os.path.join(out, "training.png")
    plot(history, fig)

    # Reload into a fresh model and check the accuracy is reproduced exactly.
    restored = DigitsCNN().to(device)
    state = ember.load(ckpt, map_location=device)
    restored.load_state_dict(state["model"])
    _, re_acc = evaluate(restored, xte, yte)
    result = {"device": device, "epochs": args.epochs, "seconds": round(elapsed, 2),
              "test_accuracy": history["test_acc"][-1], "reloaded_test_accuracy": re_acc,
              "workers": args.workers, "history": history, "checkpoint": ckpt,
              "plot": fig}
    with open(os.path.join(out, "metrics.json"), "w") as fh:
        json.dump(result, fh, indent=2)
    print(f"trained in {elapsed:.1f}s; test accuracy {history['test_acc'][-1]:.4f}; "
          f"reloaded from {ckpt}: {re_acc:.4f}; plot: {fig}")
    if re_acc != history["test_acc"][-1]:
        raise SystemExit("reloaded checkpoint does not reproduce the test accuracy")
    return result


if __name__ == "__main__":
    main()
