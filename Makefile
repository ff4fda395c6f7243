# The README's two commands: `make demo` (train the model) and `make test`.
PY ?= python3
PIP ?= $(PY) -m pip

.PHONY: install demo test lint bench

install:
	bash scripts/install.sh

demo: install
	$(PY) examples/train_digits.py

test: install
	bash scripts/test.sh

lint:
	$(PY) -m ruff check .

bench:
	$(PY) benchmarks/run_all.py
