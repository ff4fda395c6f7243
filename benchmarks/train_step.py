"""Time one training step (forward, cross-entropy loss, backward, SGD-momentum update)
for ember, PyTorch (CPU) and a hand-written numpy version of the same math.

    python benchmarks/train_step.py [--devices cpu,rocm,xpu] [--threads 1] [--json out.json]

ember runs eagerly and traced (``ember.jit.trace``: the step recorded on its first
two calls, replayed after).  Models: three MLPs, (batch 16, 32->32->32->10), (64, 64->256->256->10),
(256, 784->1024->1024->10), and two CNNs of 3x3 convolutions (padding 1), each followed by
ReLU and 2x2 max-pooling, then a linear layer to 10 classes: cnn-small (batch 32, 1x16x16
input, conv 8 -> conv 16) and cnn-b64 (batch 64, 1x28x28, conv 16 -> conv 32, the CNN of
issue 15).  ``--threads 1,2`` runs every model at each thread count in one process.
Every framework starts from the same
weights and data, and must compute the same losses over the first two steps before
anything is timed; the table shows the best and the median time per step over
interleaved rounds and ember's ratios.
PyTorch runs only on the CPU (its role here is the reference, not a backend).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np

MLPS = [("mlp-small", 16, [32, 32, 32, 10]), ("mlp-medium", 64, [64, 256, 256, 10]),
        ("mlp-large", 256, [784, 1024, 1024, 10])]
#: name, batch, input shape (C, H, W), the two convolutions' output channels
CNNS = [("cnn-small", 32, (1, 16, 16), (8, 16)), ("cnn-b64", 64, (1, 28, 28), (16, 32))]
LR, MOMENTUM = 0.01, 0.9


# --- the shared starting point -------------------------------------------------------------

def mlp_weights(sizes, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for i, o in zip(sizes[:-1], sizes[1:], strict=True):
        b = 1 / np.sqrt(i)
        out += [rng.uniform(-b, b, (o, i)).astype(np.float32),
                rng.uniform(-b, b, o).astype(np.float32)]
    return out


def cnn_weights(spec, seed=0):
    (c, h, w), (c1, c2) = spec
    rng = np.random.default_rng(seed)
    shapes = [(c1, c, 3, 3), (c1,), (c2, c1, 3, 3), (c2,), (10, c2 * (h // 4) * (w // 4)),
              (10,)]
    out = []
    for s, fan_in in zip(shapes, [c * 9, c * 9, c1 * 9, c1 * 9, shapes[4][1], shapes[4][1]],
                         strict=True):
        b = 1 / np.sqrt(fan_in)
        out.append(rng.uniform(-b, b, s).astype(np.float32))
    return out


def cnn_layers(nn, weights):
    """The CNN (of ember.nn or torch.nn) whose weights have ``weights``' shapes."""
    c1, c, _, _ = weights[0].shape
    c2 = weights[2].shape[0]
    return nn.Sequential(nn.Conv2d(c, c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(weights[4].shape[1], 10))


def data(batch, shape, seed=1):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((batch,) + tuple(shape)).astype(np.float32),
            rng.integers(0, 10, batch).astype(np.int64))


# --- ember ------------------------------------------------------------------------------------

def model_with(lib, kind, weights):
    """The MLP or CNN of ``lib`` (``ember`` or ``torch``: the same code for both)
    holding ``weights``."""
    nn = lib.nn
    if kind == "mlp":
        layers = []
        for i in range(0, len(weights), 2):
            layers += [nn.Linear(weights[i].shape[1], weights[i].shape[0]), nn.ReLU()]
        model = nn.Sequential(*layers[:-1])
    else:
        model = cnn_layers(nn, weights)
    with lib.no_grad():
        for p, w in zip(model.parameters(), weights, strict=True):
            p.copy_(lib.tensor(w))
    return model


def ember_step(kind, weights, x, y, device, traced=False):
    import ember
    import ember.nn.functional as F
    model = model_with(ember, kind, weights)
    model.to(device)
    opt = ember.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    xt, yt = ember.tensor(x, device=device), ember.tensor(y, device=device)

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(xt), yt)
        loss.backward()
        opt.step()
        return loss.detach()

    def sync():
        ember.synchronize(device)
    if traced:  # ember.jit: calls 1-2 record (the loss check), later ones replay
        import ember.jit
        graph = ember.jit.trace(lambda x, y: step(), strict=True)
        return (lambda: graph(xt, yt)), sync
    return step, sync


# --- PyTorch ------------------------------------------------------------------------------------

def torch_step(kind, weights, x, y):
    import torch
    import torch.nn as nn
    model = model_with(torch, kind, weights)
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def step():
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(xt), yt)
        loss.backward()
        opt.step()
        return loss
    return step, lambda: None


# --- numpy, by hand -------------------------------------------------------------------------------

def _softmax_xent(logits, y):
    z = logits - logits.max(1, keepdims=True)
    e = np.exp(z)
    s = e.sum(1, keepdims=True)
    loss = float(np.mean(np.log(s[:, 0]) - z[np.arange(len(y)), y]))
    g = e / s
    g[np.arange(len(y)), y] -= 1
    return loss, g / len(y)


def _sgd(params, grads, bufs, first):
    for p, g, b in zip(params, grads, bufs, strict=True):
        if first[0]:
            b[...] = g
        else:
            b *= MOMENTUM
            b += g
        p -= LR * b
    first[0] = False


def numpy_mlp_step(weights, x, y):
    params = [w.copy() for w in weights]
    bufs = [np.zeros_like(w) for w in weights]
    first = [True]

    def step():
        acts = [x]
        h = x
        n = len(params) // 2
        for i in range(n):
            h = h @ params[2 * i].T + params[2 * i + 1]
            if i < n - 1:
                h = np.maximum(h, 0)
            acts.append(h)
        loss, g = _softmax_xent(h, y)
        grads = [None] * len(params)
        for i in reversed(range(n)):
            grads[2 * i] = g.T @ acts[i]
            grads[2 * i + 1] = g.sum(0)
            if i:
                g = (g @ params[2 * i]) * (acts[i] > 0)
        _sgd(params, grads, bufs, first)
        return loss
    return step, lambda: None


def _im2col(x, k=3, p=1):
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(2, 3))
    n, c, h, w = x.shape
    return win.transpose(0, 2, 3, 1, 4, 5).reshape(n * h * w, c * k * k)


def _col2im(cols, shape, k=3, p=1):
    n, c, h, w = shape
    cols = cols.reshape(n, h, w, c, k, k)
    out = np.zeros((n, c, h + 2 * p, w + 2 * p), cols.dtype)
    for i in range(k):
        for j in range(k):
            out[:, :, i:i + h, j:j + w] += cols[:, :, :, :, i, j].transpose(0, 3, 1, 2)
    return out[:, :, p:p + h, p:p + w]


def _conv(x, w, b):
    n, _, h, wd = x.shape
    cols = _im2col(x)
    out = (cols @ w.reshape(w.shape[0], -1).T + b).reshape(n, h, wd, -1).transpose(0, 3, 1, 2)
    return out, cols


def _pool(x):
    n, c, h, w = x.shape
    r = x.reshape(n, c, h // 2, 2, w // 2, 2)
    m = r.max(axis=(3, 5))
    return m, (r == m[:, :, :, None, :, None])


def numpy_cnn_step(weights, x, y):
    params = [w.copy() for w in weights]
    bufs = [np.zeros_like(w) for w in weights]
    first = [True]

    def step():
        w1, b1, w2, b2, w3, b3 = params
        c1, cols1 = _conv(x, w1, b1)
        r1 = np.maximum(c1, 0)
        p1, m1 = _pool(r1)
        c2, cols2 = _conv(p1, w2, b2)
        r2 = np.maximum(c2, 0)
        p2, m2 = _pool(r2)
        f = p2.reshape(len(x), -1)
        logits = f @ w3.T + b3
        loss, g = _softmax_xent(logits, y)
        gw3, gb3 = g.T @ f, g.sum(0)
        gp2 = (g @ w3).reshape(p2.shape)
        gr2 = (m2 * gp2[:, :, :, None, :, None]).reshape(r2.shape) * (c2 > 0)
        g2 = gr2.transpose(0, 2, 3, 1).reshape(-1, w2.shape[0])
        gw2, gb2 = (g2.T @ cols2).reshape(w2.shape), g2.sum(0)
        gp1 = _col2im(g2 @ w2.reshape(w2.shape[0], -1), p1.shape)
        gr1 = (m1 * gp1[:, :, :, None, :, None]).reshape(r1.shape) * (c1 > 0)
        g1 = gr1.transpose(0, 2, 3, 1).reshape(-1, w1.shape[0])
        gw1, gb1 = (g1.T @ cols1).reshape(w1.shape), g1.sum(0)
        _sgd(params, [gw1, gb1, gw2, gb2, gw3, gb3], bufs, first)
        return loss
    return step, lambda: None


# --- timing ---------------------------------------------------------------------------------------

def _calibrate(step, sync, min_time: float) -> int:
    """Warm up (filling dispatch caches) and pick a step count lasting ``min_time``."""
    for _ in range(3):
        step()
    sync()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < min_time or n < 3:
        step()
        n += 1
    sync()
    return n


def timeit_interleaved(runners: dict, min_time: float, rounds: int) -> dict:
    """Seconds per step of each ``name -> (step, sync)`` in each of ``rounds`` rounds, the
    frameworks taking turns within each round, so that a change in machine load hits all
    of them alike (this machine is shared; the minimum is the least disturbed estimate,
    the median the typical one)."""
    counts = {k: _calibrate(*r, min_time) for k, r in runners.items()}
    times: dict = {k: [] for k in runners}
    for _ in range(rounds):
        for k, (step, sync) in runners.items():
            n = counts[k]
            t = time.perf_counter()
            for _ in range(n):
                step()
            sync()
            times[k].append((time.perf_counter() - t) / n)
    return times


def check_same_losses(runners: dict, steps: int = 2) -> None:
    """Every system computes the same losses over the first ``steps`` steps (the second
    one after an SGD update) before anything is timed."""
    losses: dict = {k: [] for k in runners}
    for k, (step, _) in runners.items():
        for _ in range(steps):
            r = step()
            losses[k].append(float(r.item()) if hasattr(r, "item") else float(r))
    ref = losses["numpy"]
    for k, got in losses.items():
        if not np.allclose(got, ref, rtol=1e-4, atol=1e-5):
            raise SystemExit(f"{k} computed losses {got}, the numpy reference {ref}")


def _thread_counts(text: str) -> list[int]:
    try:
        counts = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        counts = []
    if not counts or min(counts) < 0:
        raise SystemExit(f"--threads: expected comma-separated counts >= 0, got {text!r}")
    return counts


def main(argv=None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", default="cpu", help="ember devices, comma-separated")
    ap.add_argument("--threads", default="1",
                    help="BLAS/intra-op threads for numpy and PyTorch alike, comma-separated "
                         "to run each count in turn (0: the libraries' defaults)")
    ap.add_argument("--min-time", type=float, default=0.2,
                    help="seconds per measurement (per framework and round)")
    ap.add_argument("--rounds", type=int, default=7, help="rounds; the best one counts")
    ap.add_argument("--only", default="", help="comma-separated model names to run")
    ap.add_argument("--json", default=None, help="also write the results here")
    args = ap.parse_args(argv)
    import torch
    from threadpoolctl import threadpool_limits
    devices = [d.strip() for d in args.devices.split(",") if d.strip()]
    cases = [(name, "mlp", b, sizes) for name, b, sizes in MLPS] + [
        (name, "cnn", b, (shape, chans)) for name, b, shape, chans in CNNS]
    if args.only:
        keep = set(args.only.split(","))
        cases = [c for c in cases if c[0] in keep]
    counts = _thread_counts(args.threads)
    default_torch_threads = torch.get_num_threads()
    rows = []
    for threads in counts:
        with threadpool_limits(threads or None):
            torch.set_num_threads(threads or default_torch_threads)
            rows += _run_cases(cases, devices, threads, args)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"threads": counts, "rows": rows}, fh, indent=2)
    return rows


def _run_cases(cases, devices, threads, args) -> list[dict]:
    rows = []
    for name, kind, batch, spec in cases:
        if kind == "mlp":
            weights = mlp_weights(spec)
            x, y = data(batch, (spec[0],))
            ref = numpy_mlp_step(weights, x, y)
        else:
            weights = cnn_weights(spec)
            x, y = data(batch, spec[0])
            ref = numpy_cnn_step(weights, x, y)
        runners = {"torch": torch_step(kind, weights, x, y), "numpy": ref}
        for dev in devices:
            try:
                runners[dev] = ember_step(kind, weights, x, y, dev)
                runners[f"{dev} traced"] = ember_step(kind, weights, x, y, dev, traced=True)
            except Exception as e:  # a backend lacking an op: report it, keep going
                print(f"{name:11s} {dev:6s} skipped: {type(e).__name__}: {str(e)[:100]}")
        check_same_losses(runners)
        times = timeit_interleaved(runners, args.min_time, args.rounds)
        best = {k: min(t) for k, t in times.items()}
        med = {k: statistics.median(t) for k, t in times.items()}
        for dev in devices:
            if dev not in times:
                continue
            rows.append({"model": name, "device": dev, "batch": batch, "threads": threads,
                         "ember_ms": best[dev] * 1e3, "torch_ms": best["torch"] * 1e3,
                         "numpy_ms": best["numpy"] * 1e3,
                         "ember/torch": best[dev] / best["torch"],
                         "ember/numpy": best[dev] / best["numpy"],
                         "ember/torch median": med[dev] / med["torch"],
                         "ember/numpy median": med[dev] / med["numpy"],
                         "traced_ms": best[f"{dev} traced"] * 1e3,
                         "traced/eager": best[f"{dev} traced"] / best[dev],
                         "traced/numpy": best[f"{dev} traced"] / best["numpy"],
                         "traced/numpy median": med[f"{dev} traced"] / med["numpy"]})
            r = rows[-1]
            print(f"{name:10s} {dev:5s} b{batch:<4d} {threads}t: ember {r['ember_ms']:8.3f} ms"
                  f"  torch {r['torch_ms']:8.3f} ms  numpy {r['numpy_ms']:8.3f} ms  "
                  f"ember/torch {r['ember/torch']:5.2f} (median {r['ember/torch median']:5.2f})"
                  f"  ember/numpy {r['ember/numpy']:5.2f} "
                  f"(median {r['ember/numpy median']:5.2f})\n{'':24s} traced "
                  f"{r['traced_ms']:8.3f} ms  traced/eager {r['traced/eager']:5.2f}  "
                  f"traced/numpy {r['traced/numpy']:5.2f} "
                  f"(median {r['traced/numpy median']:5.2f})", flush=True)
    return rows


if __name__ == "__main__":
    main()
