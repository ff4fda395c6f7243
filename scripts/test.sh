#!/usr/bin/env bash
# Runs every check (lint, core tests, plugins' tests, the conformance suite on each
# device here, the demo in a fresh virtualenv). `make test` and CI call it.
#
# Two lanes run side by side on two cores; every line a part prints is shown as it
# comes, prefixed with the part's name, and the end lists each part's time and status.
# All parts run even when one fails; the exit status is non-zero if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python3}
export PYTHONUNBUFFERED=1  # stream the parts' output instead of block-buffering it
LOGS=build/logs
mkdir -p "$LOGS"
rm -f "$LOGS"/part-*.status

# part NAME CMD...: run CMD with its lines prefixed by [NAME]; record time and status.
part() {
  local name=$1 start=$SECONDS rc
  shift
  echo "[$name] $*"
  "$@" 2>&1 | sed -u "s/^/[$name] /"
  rc=${PIPESTATUS[0]}
  echo "$name $((SECONDS - start)) $rc" > "$LOGS/part-$name.status"
  echo "[$name] finished in $((SECONDS - start)) s, exit $rc"
}

# Lane 1: the core, the host-side backends and the demo.
lane_core() {
  part ruff $PY -m ruff check .
  part tests $PY -m pytest -q -m "not slow" tests
  # cuda / jetson: no GPU in CI, so these check the no-runtime path and skip the rest
  part cuda-tests $PY -m pytest -q plugins/cuda/tests plugins/jetson/tests
  part demo-fresh-venv bash scripts/demo_fresh_venv.sh
  # the conformance suite: each device's summary; reports, JUnit XML and the op x dtype
  # table under build/conformance/<device>
  part conformance-cpu $PY -m ember conformance --device cpu --report build/conformance/cpu
  # (the baselines list known failing cells with their reasons; a listed cell that starts
  # passing is reported so the file can shrink)
  part conformance-reference $PY -m ember conformance --device reference \
      --baseline conformance/baselines/reference.txt --report build/conformance/reference
  # differential fuzzing against the cpu backend (hypothesis, seeded: reproducible)
  part fuzz-reference $PY -m ember conformance --device reference --fuzz 50 --seed 0 \
      --baseline conformance/baselines/reference.txt --report build/conformance/reference-fuzz
}

# Lane 2: xpu (SYCL on Intel's OpenCL CPU runtime) and rocm (OpenCL on PoCL); both
# single-threaded, and a cold run spends much of its time compiling kernels.
# EMBER_ROCM_ANY_DEVICE=1 lets ember-rocm drive PoCL's CPU device.
lane_devices() {
  # the core's slow tests (a whole conformance run on a PyTorch-tensor backend built from
  # a temporary folder, the digits demo under DDP on two MPI ranks ...) balance the lanes
  part tests-slow $PY -m pytest -q -m slow tests
  part xpu-tests $PY -m pytest -q plugins/xpu/tests
  part rocm-tests env EMBER_ROCM_ANY_DEVICE=1 $PY -m pytest -q plugins/rocm/tests
  # differential fuzzing against the cpu backend (hypothesis, seeded: reproducible)
  part fuzz-xpu $PY -m ember conformance --device xpu --fuzz 50 --seed 0 \
      --baseline conformance/baselines/xpu.txt --report build/conformance/xpu-fuzz
  part conformance-xpu $PY -m ember conformance --device xpu \
      --baseline conformance/baselines/xpu.txt --report build/conformance/xpu
  part conformance-rocm env EMBER_ROCM_ANY_DEVICE=1 $PY -m ember conformance --device rocm \
      --report build/conformance/rocm
}

start=$SECONDS
lane_core &
core=$!
lane_devices &
devices=$!
wait "$core" "$devices"

echo
echo "part                       seconds  status"
passed=0 failed=0
for f in "$LOGS"/part-*.status; do
  read -r name secs rc < "$f"
  printf '%-26s %7s  %s\n' "$name" "$secs" "$([ "$rc" = 0 ] && echo ok || echo "FAILED ($rc)")"
  if [ "$rc" = 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
done
echo "total: $((SECONDS - start)) s wall"
echo "parts: $passed passed, $failed failed"
[ "$failed" = 0 ]
