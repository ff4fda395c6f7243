"""How much longer ``import ember`` takes than ``import numpy`` (the bar: 60 ms).

    python benchmarks/import_time.py [--rounds 15] [--json out.json]

Each round starts fresh interpreters, one importing numpy and one importing ember (which
imports numpy itself), interleaved so that a busy machine slows both alike, and times
each whole process (``python -c "import ..."``: both pay the same interpreter start, so
the difference is ember's own import).  Before timing, one run checks that ember's
import loaded no optional package.  Printed: minimum and median of both and of
the difference.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

OPTIONAL = ("torch", "ml_dtypes", "safetensors", "tqdm", "matplotlib", "scipy", "sklearn",
            "pyopencl", "dpctl", "dpnp", "cupy", "hypothesis")


# Bytecode caching on, as for a user (an environment may switch it off; then every
# import would compile its modules and the figure would measure the compiler).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _time(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=ENV)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--json")
    args = ap.parse_args()

    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, ember; print(' '.join(m for m in "
         f"{OPTIONAL!r} if m in sys.modules))"], check=True, capture_output=True,
        text=True, env=ENV).stdout.split()  # (and writes the bytecode caches)
    if loaded:
        sys.exit(f"import ember loaded optional packages: {loaded}")

    numpy_s, ember_s = [], []
    for _ in range(args.rounds):
        numpy_s.append(_time("import numpy"))
        ember_s.append(_time("import ember"))
    diff = [e - n for n, e in zip(numpy_s, ember_s, strict=True)]
    row = {"numpy_ms": (1e3 * min(numpy_s), 1e3 * statistics.median(numpy_s)),
           "ember_ms": (1e3 * min(ember_s), 1e3 * statistics.median(ember_s)),
           "extra_ms": (1e3 * (min(ember_s) - min(numpy_s)), 1e3 * statistics.median(diff)),
           "rounds": args.rounds, "loadavg": os.getloadavg()[0]}
    print(f"{'process':<14}{'min ms':>9}{'median ms':>11}")
    for k in ("numpy_ms", "ember_ms", "extra_ms"):
        name = {"numpy_ms": "import numpy", "ember_ms": "import ember",
                "extra_ms": "ember - numpy"}[k]
        print(f"{name:<14}{row[k][0]:>9.1f}{row[k][1]:>11.1f}")
    print(f"(ratio ember/numpy: min {min(ember_s) / min(numpy_s):.2f}, "
          f"median {statistics.median(ember_s) / statistics.median(numpy_s):.2f}; "
          f"load average {row['loadavg']:.1f})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(row, f, indent=1)


if __name__ == "__main__":
    main()
