"""Per-op time on small tensors (ember vs numpy vs PyTorch CPU) and `import ember` time.

    python benchmarks/ops.py [--quick] [--json out.json]

Each op is timed with timeit in interleaved rounds (ember, numpy, torch, ember, ...) and the
best round is kept, so background load hurts all three alike.  Ratios are ember / peer:
below 1.0 ember is faster.  Targets (issue #2): small-op time <= 1.5x PyTorch's;
`import ember` <= 60 ms above `import numpy`.
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
    import torch

    import ember

    a_np = np.random.default_rng(0).standard_normal((4, 4)).astype(np.float32)
    b_np = np.random.default_rng(1).standard_normal((4, 4)).astype(np.float32)
    m_np = np.random.default_rng(2).standard_normal((64, 64)).astype(np.float32)
    ea, eb, em = ember.tensor(a_np), ember.tensor(b_np), ember.tensor(m_np)
    ta, tb, tm = torch.from_numpy(a_np), torch.from_numpy(b_np), torch.from_numpy(m_np)
    idx_np = np.array([0, 2])
    ei, ti = ember.tensor(idx_np), torch.from_numpy(idx_np)
    return [
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


def _best(fn, number: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=1)) / number


def bench_ops(rounds: int, number: int) -> list[dict]:
    rows = []
    for name, fe, fn, ft in _cases():
        for f in (fe, fn, ft):
            f()  # warm-up: first-call resolution and caches
        best = {"ember": float("inf"), "numpy": float("inf"), "torch": float("inf")}
        for _ in range(rounds):
            for key, f in (("ember", fe), ("numpy", fn), ("torch", ft)):
                best[key] = min(best[key], _best(f, number))
        rows.append({"op": name, **{k: v * 1e6 for k, v in best.items()}})
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
          f"{'ember/torch':>13}{'ember/numpy':>13}")
    for r in rows:
        print(f"{r['op']:<24}{r['ember']:>10.2f}{r['numpy']:>10.2f}{r['torch']:>10.2f}"
              f"{r['ember'] / r['torch']:>13.2f}{r['ember'] / r['numpy']:>13.2f}")
    worst = max(r["ember"] / r["torch"] for r in rows)
    print(f"\nworst ember/torch ratio: {worst:.2f} (target <= 1.5)")

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
