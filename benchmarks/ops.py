"""Per-op time on small tensors (ember vs numpy vs PyTorch CPU) and `import ember` time.

    python benchmarks/ops.py [--quick] [--json out.json]

Each op is first checked to compute the same values on all three sides, then timed with
timeit in interleaved rounds (ember, numpy, torch, ember, ...), so background load hurts
all three alike; the minimum and the median round are reported.  Rows marked ``grad:``
run on leaf tensors that require grad (ember and PyTorch record the op for autograd).
Ratios are ember / peer: below 1.0 ember is faster.  Targets: small-op time <= 1.5x
PyTorch's; `import ember` <= 60 ms above `import numpy`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import timeit

import numpy as np


def _cases():
    """(name, ember, numpy, torch) callables; the ``requires_grad`` cases run the same op on
    leaf tensors that require grad (ember and PyTorch record it for autograd; numpy does
    the same math without)."""
    import torch

    import ember

    a_np = np.random.default_rng(0).standard_normal((4, 4)).astype(np.float32)
    b_np = np.random.default_rng(1).standard_normal((4, 4)).astype(np.float32)
    m_np = np.random.default_rng(2).standard_normal((64, 64)).astype(np.float32)
    ea, eb, em = ember.tensor(a_np), ember.tensor(b_np), ember.tensor(m_np)
    ta, tb, tm = torch.from_numpy(a_np), torch.from_numpy(b_np), torch.from_numpy(m_np)
    idx_np = np.array([0, 2])
    ei, ti = ember.tensor(idx_np), torch.from_numpy(idx_np)
    cases = [
        ("add 4x4 + 4x4", lambda: ea + eb, lambda: a_np + b_np, lambda: ta + tb),
        ("mul 4x4 * scalar", lambda: ea * 2.0, lambda: a_np * 2.0, lambda: ta * 2.0),
        ("add broadcast 4x4 + 4", lambda: ea + eb[0], lambda: a_np + b_np[0],
         lambda: ta + tb[0]),
        ("matmul 4x4 @ 4x4", lambda: ea @ eb, lambda: a_np @ b_np, lambda: ta @ tb),
        ("matmul 64x64 @ 64x64", lambda: em @ em, lambda: m_np @ m_np, lambda: tm @ tm),
        ("sum 4x4 (all)", lambda: ea.sum(), lambda: a_np.sum(), lambda: ta.sum()),
        ("sum 4x4 dim=1", lambda: ea.sum(1), lambda: a_np.sum(1), lambda: ta.sum(1)),
        ("index t[1]", lambda: ea[1], lambda: a_np[1], lambda: ta[1]),
        ("index t[:, 1:3]", lambda: ea[:, 1:3], lambda: a_np[:, 1:3], lambda: ta[:, 1:3]),
        ("index t[int tensor]", lambda: ea[ei], lambda: a_np[idx_np], lambda: ta[ti]),
        ("exp 4x4", lambda: ea.exp(), lambda: np.exp(a_np), lambda: ta.exp()),
    ]
    ga, gb = ember.tensor(a_np, requires_grad=True), ember.tensor(b_np, requires_grad=True)
    ua = torch.tensor(a_np, requires_grad=True)
    ub = torch.tensor(b_np, requires_grad=True)
    cases += [
        ("grad: add", lambda: ga + gb, lambda: a_np + b_np, lambda: ua + ub),
        ("grad: mul", lambda: ga * gb, lambda: a_np * b_np, lambda: ua * ub),
        ("grad: relu", lambda: ga.relu(), lambda: np.maximum(a_np, 0), lambda: ua.relu()),
        ("grad: sum", lambda: ga.sum(), lambda: a_np.sum(), lambda: ua.sum()),
        ("grad: matmul", lambda: ga @ gb, lambda: a_np @ b_np, lambda: ua @ ub),
        ("grad: t[1]", lambda: ga[1], lambda: a_np[1], lambda: ua[1]),
        ("grad: t[:, 1:3]", lambda: ga[:, 1:3], lambda: a_np[:, 1:3], lambda: ua[:, 1:3]),
        ("grad: view", lambda: ga.view(16), lambda: a_np.reshape(16), lambda: ua.view(16)),
    ]
    return cases


def _check_same(name: str, fe, fn, ft) -> None:
    """All three sides compute the same values before anything is timed."""
    want = np.asarray(fn(), dtype=np.float64)
    for side, got in (("ember", fe().detach().numpy()), ("torch", ft().detach().numpy())):
        if got.shape != want.shape or not np.allclose(got, want, rtol=1e-5, atol=1e-6):
            raise SystemExit(f"{name}: {side} computed {got!r}, numpy {want!r}")


def _best(fn, number: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=1)) / number


def bench_ops(rounds: int, number: int) -> list[dict]:
    """Per op and side: the minimum and the median over ``rounds`` interleaved rounds."""
    rows = []
    for name, fe, fn, ft in _cases():
        _check_same(name, fe, fn, ft)
        for f in (fe, fn, ft):
            f()  # warm-up: first-call resolution and caches
        times: dict = {"ember": [], "numpy": [], "torch": []}
        for _ in range(rounds):
            for key, f in (("ember", fe), ("numpy", fn), ("torch", ft)):
                times[key].append(_best(f, number) * 1e6)
        row = {"op": name}
        for key, t in times.items():
            row[key] = min(t)
            row[key + "_median"] = statistics.median(t)
        rows.append(row)
    return rows


def _import_times(stmts: list[str], runs: int) -> list[tuple[float, float]]:
    """(best, median) milliseconds of each statement in fresh interpreters, the
    statements taking turns so that background load hits them alike."""
    import os
    # Installed packages have their bytecode compiled (pip does it; a source checkout
    # writes it on first import).  Measure that state: a shell with
    # PYTHONDONTWRITEBYTECODE set would otherwise recompile every changed module each
    # time and time the compiler.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    for stmt in stmts:
        subprocess.run([sys.executable, "-c", stmt], env=env, check=True)
    times: list[list[float]] = [[] for _ in stmts]
    for _ in range(runs):
        for k, stmt in enumerate(stmts):
            code = ("import time; t = time.perf_counter(); " + stmt +
                    "; print(time.perf_counter() - t)")
            out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                                 text=True, check=True, env=env)
            times[k].append(float(out.stdout) * 1e3)
    return [(min(t), statistics.median(t)) for t in times]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="fewer rounds (smoke run)")
    p.add_argument("--json", help="also write the results to this file")
    args = p.parse_args()
    rounds, number, runs = (3, 2000, 3) if args.quick else (7, 20000, 11)

    rows = bench_ops(rounds, number)
    print(f"{'op (float32)':<24}{'ember us':>10}{'numpy us':>10}{'torch us':>10}"
          f"{'ember/torch min med':>21}{'ember/numpy min med':>21}")
    for r in rows:
        print(f"{r['op']:<24}{r['ember']:>10.2f}{r['numpy']:>10.2f}{r['torch']:>10.2f}"
              f"{r['ember'] / r['torch']:>15.2f}{r['ember_median'] / r['torch_median']:>6.2f}"
              f"{r['ember'] / r['numpy']:>15.2f}{r['ember_median'] / r['numpy_median']:>6.2f}")
    plain = [r for r in rows if not r["op"].startswith("grad:")]
    grad = [r for r in rows if r["op"].startswith("grad:")]
    worst = max(r["ember"] / r["torch"] for r in plain)
    print(f"\nworst ember/torch ratio without grad (minimums): {worst:.2f} (target <= 1.5)")
    if grad:
        geo = statistics.geometric_mean(r["ember"] / r["torch"] for r in grad)
        print(f"requires_grad ops, geometric mean ember/torch (minimums): {geo:.2f}")

    (t_np, m_np), (t_em, m_em), (t_em_cpu, _) = _import_times(
        ["import numpy", "import ember", "import ember; ember.zeros(1)"], runs)
    print(f"\nimport numpy: {t_np:.1f} ms   import ember: {t_em:.1f} ms "
          f"(+{t_em - t_np:.1f} ms best of {runs}, +{m_em - m_np:.1f} ms by medians; "
          f"target <= +60)\nimport ember + first CPU op (loads the cpu plugin): "
          f"{t_em_cpu:.1f} ms")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"ops": rows, "import_numpy_ms": t_np, "import_ember_ms": t_em,
                       "import_ember_first_op_ms": t_em_cpu}, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
