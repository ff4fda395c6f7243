#!/usr/bin/env bash
# Runs every check (lint, core tests, plugins' tests, the conformance suite on each
# device here, the demo in a fresh virtualenv). `make test` and CI call it.
#
# Two workers run parts side by side on two cores; every line a part prints is shown as it
# comes, prefixed with the part's name, and the end lists each part's time and status.
# All parts run even when one fails; the exit status is non-zero if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python3}
export PYTHONUNBUFFERED=1  # stream the parts' output instead of block-buffering it
LOGS=build/logs
mkdir -p "$LOGS"
rm -f "$LOGS"/part-*.status "$LOGS"/part-*.log

# part NAME CMD...: run CMD with its lines prefixed by [NAME]; record time and status.
part() {
  local name=$1 start=$SECONDS rc
  shift
  echo "[$name] $*"
  "$@" 2>&1 | tee "$LOGS/part-$name.log" | sed -u "s/^/[$name] /"
  rc=${PIPESTATUS[0]}
  echo "$name $((SECONDS - start)) $rc" > "$LOGS/part-$name.status"
  echo "[$name] finished in $((SECONDS - start)) s, exit $rc"
}

# The parts, one function each.
p_ruff() { $PY -m ruff check .; }
p_tests() { $PY -m pytest -q -m "not slow" tests; }
# the core's slow tests (a whole conformance run on a PyTorch-tensor backend built from a
# temporary folder, the digits demo under DDP on two MPI ranks ...)
p_tests_slow() { $PY -m pytest -q -m slow tests; }
# cuda / jetson: no GPU in CI, so these check the no-runtime path and skip the rest
p_cuda_tests() { $PY -m pytest -q plugins/cuda/tests plugins/jetson/tests; }
p_xpu_tests() { $PY -m pytest -q plugins/xpu/tests; }
# EMBER_ROCM_ANY_DEVICE=1 lets ember-rocm drive PoCL's CPU device.
p_rocm_tests() { EMBER_ROCM_ANY_DEVICE=1 $PY -m pytest -q plugins/rocm/tests; }
p_demo_fresh_venv() { bash scripts/demo_fresh_venv.sh; }
# the conformance suite: each device's summary; reports, JUnit XML and the op x dtype
# table under build/conformance/<device>.  The baselines list known failing cells with
# their reasons; a listed cell that starts passing is reported so the file can shrink.
p_conformance_cpu() { $PY -m ember conformance --device cpu --report build/conformance/cpu; }
p_conformance_reference() {
  $PY -m ember conformance --device reference \
    --baseline conformance/baselines/reference.txt --report build/conformance/reference
}
p_conformance_xpu() {
  $PY -m ember conformance --device xpu \
    --baseline conformance/baselines/xpu.txt --report build/conformance/xpu
}
p_conformance_rocm() {
  EMBER_ROCM_ANY_DEVICE=1 $PY -m ember conformance --device rocm --report build/conformance/rocm
}
# differential fuzzing against the cpu backend (hypothesis, seeded: reproducible)
p_fuzz_reference() {
  $PY -m ember conformance --device reference --fuzz 50 --seed 0 \
    --baseline conformance/baselines/reference.txt --report build/conformance/reference-fuzz
}
p_fuzz_xpu() {
  $PY -m ember conformance --device xpu --fuzz 50 --seed 0 \
    --baseline conformance/baselines/xpu.txt --report build/conformance/xpu-fuzz
}

# Two workers (the machine has two cores) take parts from one queue, longest first (the
# order is from measured CI times), so neither idles while the other has a backlog.  The
# two xpu parts come one after the other: the second finds the kernels the first compiled
# in SYCL's persistent cache.
QUEUE=$LOGS/queue
printf '%s\n' tests-slow fuzz-xpu conformance-xpu conformance-rocm fuzz-reference \
  conformance-reference tests conformance-cpu demo-fresh-venv xpu-tests rocm-tests \
  cuda-tests ruff > "$QUEUE"

# take: print the next part's name and drop it from the queue (under a lock).
take() {
  (
    flock 9
    local name
    name=$(head -n 1 "$QUEUE")
    [ -n "$name" ] || exit 1
    sed -i 1d "$QUEUE"
    echo "$name"
  ) 9> "$QUEUE.lock"
}

worker() {
  local name
  while name=$(take); do
    part "$name" "p_${name//-/_}"
  done
}

start=$SECONDS
worker &
first=$!
worker &
second=$!
wait "$first" "$second"

# A failed part's last lines again, so that the end of the log (all a CI page may keep)
# says why it failed.
for f in "$LOGS"/part-*.status; do
  read -r name secs rc < "$f"
  if [ "$rc" != 0 ]; then
    echo; echo "--- $name failed; its last lines:"
    tail -n 40 "$LOGS/part-$name.log"
  fi
done

echo
echo "part                       seconds  status"
passed=0 failed=0
for f in "$LOGS"/part-*.status; do
  read -r name secs rc < "$f"
  printf '%-26s %7s  %s\n' "$name" "$secs" "$([ "$rc" = 0 ] && echo ok || echo "FAILED ($rc)")"
  if [ "$rc" = 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
done
echo
echo "total: $((SECONDS - start)) s wall"
echo "parts: $passed passed, $failed failed"
[ "$failed" = 0 ]
