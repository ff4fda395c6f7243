#!/usr/bin/env bash
# Runs the whole test suite (core, plugins, conformance). `make test` calls it.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python3}
$PY -m ruff check .
$PY -m pytest -q tests
# The conformance suite against the CPU and the reference backend (prints the coverage
# summary; reports under build/conformance/<device>).
$PY -m ember conformance --device cpu --report build/conformance/cpu
$PY -m ember conformance --device reference --report build/conformance/reference
$PY -m pytest -q plugins/xpu/tests
# xpu over Intel's OpenCL CPU runtime (SYCL kernels compile once, then load from the
# persistent kernel cache)
$PY -m ember conformance --device xpu --report build/conformance/xpu
# cuda / jetson: no GPU in CI, so these check the no-runtime path and skip the rest
$PY -m pytest -q plugins/cuda/tests plugins/jetson/tests
# rocm over PoCL (EMBER_ROCM_ANY_DEVICE=1 lets it drive a CPU OpenCL device): its tests,
# then the whole conformance suite (coverage table in docs/rocm.md)
$PY -m pytest -q plugins/rocm/tests
EMBER_ROCM_ANY_DEVICE=1 $PY -m ember conformance --device rocm --report build/conformance/rocm
