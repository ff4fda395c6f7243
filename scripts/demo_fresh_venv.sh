#!/usr/bin/env bash
# The main job as a newcomer runs it: `make demo` on a fresh copy of this checkout (its
# tracked and new files, as a clone would have them) in a fresh virtualenv holding only
# what that command installs.  Fails if the demo fails or leaves no checkpoint or plot.
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
make -C "$work/ember" demo PY="$work/venv/bin/python" ARGS="--device cpu"

out="$work/ember/runs/digits-cpu"
for f in checkpoint.safetensors training.png metrics.json; do
  if [ ! -s "$out/$f" ]; then
    echo "FAIL: the demo left no $out/$f" >&2
    exit 1
  fi
done
echo "demo in a fresh virtualenv: OK ($(cd "$out" && ls | tr '\n' ' '))"
