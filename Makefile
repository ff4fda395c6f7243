# The README's two commands: `make demo` (train the model) and `make test` (all tests).
# Both install what they need first, so they work on a fresh machine; run them inside a
# virtualenv (they install into whatever $(PY) is).
PY ?= python3
LOGS := build/logs

.PHONY: install install-demo demo test lint bench

install:            ## everything: core, all plugins, runtimes, test tools
	bash scripts/install.sh

# Just what the demo needs (the core and the CPU plugin with the demo's extras), once:
# skipped when this checkout's ember and the demo's packages already import.
install-demo:
	@if $(PY) -c "import ember, ember_cpu, sklearn, tqdm, matplotlib, safetensors, sys; \
	    sys.exit(not ember.__file__.startswith('$(CURDIR)/core/'))" 2>/dev/null; then \
	  echo "ember and the demo's packages are installed ($(PY))"; \
	else \
	  mkdir -p $(LOGS); echo "installing ember, ember-cpu and the demo's packages into $(PY) ..."; \
	  $(PY) -m pip install -e ".[demo]" -e plugins/cpu > $(LOGS)/install-demo.log 2>&1 \
	    || { cat $(LOGS)/install-demo.log; exit 1; }; \
	fi

demo: install-demo
	$(PY) examples/train_digits.py $(ARGS)

test: install
	bash scripts/test.sh

lint:
	$(PY) -m ruff check .

bench:              ## timings against numpy and PyTorch; reports in build/bench/ (scripts/gen_docs.py)
	mkdir -p build/bench
	$(PY) benchmarks/ops.py --json build/bench/ops.json
	$(PY) benchmarks/train_step.py --json build/bench/train_step.json
