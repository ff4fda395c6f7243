#!/usr/bin/env bash
# Builds what benchmarks/gpu_check.sh installs on a GPU machine that has no network:
# wheels of the core, the cpu/cuda/jetson plugins and the conformance suite, plus the
# pure-Python dependencies that machine lacks (array-api-compat, for ember-cuda), into
# .whl/ (ignored by git; the device tool carries it).  Everything else the check needs
# (cupy, numpy, PyTorch, pluggy, pytest, safetensors, scikit-learn, tqdm, matplotlib,
# ml_dtypes, mpi4py) is already on that machine.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python3}
rm -rf .whl && mkdir -p .whl
for d in . plugins/cpu plugins/cuda plugins/jetson conformance; do
  $PY -m pip wheel --quiet --no-deps --no-build-isolation -w .whl "./$d"
done
$PY -m pip download --quiet --no-deps --only-binary=:all: -d .whl "array-api-compat>=1.11"
ls -1 .whl
