#!/usr/bin/env bash
# The README as a newcomer follows it, on a fresh copy of this checkout (its tracked and
# new files, as a clone would have them) in a fresh virtualenv: first the README's example
# after the install it names (`pip install -e . -e plugins/cpu`), then the main job,
# `make demo`, which installs the rest it needs.  Fails if either fails or the demo
# leaves no checkpoint or plot.
# CI runs it (scripts/test.sh): a green suite in a fully installed environment can hide
# an install step the demo needs.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python3}
work=$(mktemp -d "${TMPDIR:-/tmp}/ember-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT

mkdir "$work/ember"
git ls-files -z --cached --others --exclude-standard | xargs -0 -r sh -c \
  'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh | tar -c --null -T - -f - \
  | tar -x -C "$work/ember" -f -
$PY -m venv "$work/venv"
echo "fresh checkout in $work/ember, fresh virtualenv $work/venv"

# The README's example, as written, after exactly the install the README names for it.
(cd "$work/ember" && "$work/venv/bin/python" -m pip install --quiet -e . -e plugins/cpu \
   > "$work/install-core.log" 2>&1) || { cat "$work/install-core.log"; exit 1; }
"$work/venv/bin/python" - "$work/ember/README.md" > "$work/example.py" <<'PY'
import re, sys
blocks = re.findall(r"```python\n(.*?)```", open(sys.argv[1]).read(), re.S)
sys.exit("README.md has no python example") if not blocks else print(blocks[0])
PY
(cd "$work" && "$work/venv/bin/python" example.py)
echo "README example: OK"

make -C "$work/ember" demo PY="$work/venv/bin/python" ARGS="--device cpu"

out="$work/ember/runs/digits-cpu"
for f in checkpoint.safetensors training.png metrics.json; do
  if [ ! -s "$out/$f" ]; then
    echo "FAIL: the demo left no $out/$f" >&2
    exit 1
  fi
done
echo "demo in a fresh virtualenv: OK ($(cd "$out" && ls | tr '\n' ' '))"
