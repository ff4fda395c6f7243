#!/usr/bin/env bash
# Runs the whole test suite (core, plugins, conformance). `make test` calls it.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python3}
mkdir -p build/logs

$PY -m ruff check .
$PY -m pytest -q tests
# cuda / jetson: no GPU in CI, so these check the no-runtime path and skip the rest
$PY -m pytest -q plugins/cuda/tests plugins/jetson/tests
$PY -m pytest -q plugins/xpu/tests
# rocm over PoCL (EMBER_ROCM_ANY_DEVICE=1 lets it drive a CPU OpenCL device)
EMBER_ROCM_ANY_DEVICE=1 $PY -m pytest -q plugins/rocm/tests

# The conformance suite (prints each device's coverage summary; reports, JUnit XML and
# the op x dtype table under build/conformance/<device>).
$PY -m ember conformance --device cpu --report build/conformance/cpu
$PY -m ember conformance --device reference --report build/conformance/reference
# xpu (Intel's OpenCL CPU runtime) and rocm (PoCL) are single-threaded and spend much of
# a cold run compiling kernels: run them side by side on the two cores.
EMBER_ROCM_ANY_DEVICE=1 $PY -m ember conformance --device rocm \
    --report build/conformance/rocm > build/logs/conformance-rocm.log 2>&1 &
rocm=$!
status=0
$PY -m ember conformance --device xpu --report build/conformance/xpu || status=$?
wait "$rocm" || status=$?
cat build/logs/conformance-rocm.log
exit "$status"
