#!/usr/bin/env bash
# Runs the whole test suite (core, plugins, conformance). `make test` calls it.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python3}
$PY -m ruff check .
$PY -m pytest -q tests
$PY -m pytest -q plugins/xpu/tests
