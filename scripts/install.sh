#!/usr/bin/env bash
# Installs everything the demo and the tests need, on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python3}
$PY -m pip install --quiet --upgrade pip
$PY -m pip install --quiet -r requirements-dev.txt
