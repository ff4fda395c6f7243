# The README's two commands: `make demo` (train the model) and `make test` (all tests).
# Both install what they need first, so they work on a fresh machine.
PY ?= python3

.PHONY: install install-demo demo test lint bench

install:            ## everything: core, all plugins, runtimes, test tools
	bash scripts/install.sh

install-demo:       ## just what the demo needs: the core and the CPU plugin
	$(PY) -m pip install --quiet -e ".[demo,io]" -e plugins/cpu

demo: install-demo
	$(PY) examples/train_digits.py $(ARGS)

test: install
	bash scripts/test.sh

lint:
	$(PY) -m ruff check .

bench:
	$(PY) benchmarks/ops.py
	$(PY) benchmarks/train_step.py
