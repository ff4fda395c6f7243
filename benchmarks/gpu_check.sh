#!/usr/bin/env bash
# The device check: one command on an NVIDIA GPU machine, within 6 minutes from a cold
# start, installing nothing from the network.
#
#   here:           bash scripts/gpu_wheels.sh          (wheels of ember into .whl/)
#   on the GPU:     bash benchmarks/gpu_check.sh        (logs into $OUT or build/gpu_check)
#
# Parts, each with its own time limit, each logged to its own file (a failing part does
# not stop the rest): the machine and cupy; the cuda and jetson plugin tests; the
# conformance suite on cuda; the digits demo on cuda; ember against PyTorch on the same
# GPU (benchmarks/device_vs_torch.py: small ops, bandwidth, MLP/CNN steps eager, traced
# and under autocast, peak memory); NCCL in a process group of one rank.  The summary
# lists each part's exit code and time.  DEVICE=cpu runs the same parts on the CPU, to
# check the script itself where there is no GPU.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python3}
DEVICE=${DEVICE:-cuda}
LOGS=${OUT:-build/gpu_check}
mkdir -p "$LOGS"
export PYTHONUNBUFFERED=1
if [ -d .whl ]; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
      --target /tmp/ember-site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/ember-site${PYTHONPATH:+:$PYTHONPATH}
fi
summary=()
part() {  # part NAME SECONDS COMMAND...
  local name=$1 limit=$2 start rc
  shift 2
  start=$(date +%s)
  echo "== $name (limit ${limit} s)"
  timeout "$limit" "$@" > "$LOGS/$name.log" 2>&1
  rc=$?
  tail -n 25 "$LOGS/$name.log"
  summary+=("$name: exit $rc in $(( $(date +%s) - start )) s")
}

part machine 60 bash -c "nvidia-smi --query-gpu=name,memory.total,driver_version \
  --format=csv 2>&1 | head -3; $PY -c 'import sys, numpy, torch, ember; \
print(sys.version.split()[0], \"numpy\", numpy.__version__, \"torch\", torch.__version__, \
\"ember\", ember.__version__, ember.__file__)'; $PY -m ember info"
part plugin-tests 90 $PY -m pytest -q -p no:cacheprovider plugins/cuda/tests plugins/jetson/tests
part conformance 150 $PY -m ember conformance --device "$DEVICE" --table --cost
part demo 60 $PY examples/train_digits.py --device "$DEVICE" --epochs 6 --no-progress \
  --out /tmp/ember-gpu-check-demo
part bench 120 $PY benchmarks/device_vs_torch.py --device "$DEVICE" --json "$LOGS/bench.json"
part nccl 45 $PY - "$DEVICE" <<'PYEOF'
# NCCL (through cupy) in a process group of one rank: a single GPU cannot host two.
import os, sys
import ember, ember.distributed as dist
device = sys.argv[1]
os.environ.update(RANK="0", WORLD_SIZE="1", MASTER_ADDR="127.0.0.1", MASTER_PORT="29517")
dist.init_process_group("nccl" if device == "cuda" else "mpi")
t = ember.arange(8.0, device=device)
dist.all_reduce(t)
print("all_reduce over 1 rank:", t.tolist(), "backend", dist.get_backend())
dist.destroy_process_group()
PYEOF

echo "== summary"
printf '%s\n' "${summary[@]}" | tee "$LOGS/summary.txt"
