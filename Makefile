# Agora: `make demo` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export AGORA_HOME ?= $(CURDIR)/var

.PHONY: install system-deps demo test test-fast lint bench bench-national clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Debian packages the tests need (Chromium for the browser tests, Java and Maven
# for the search-server test node). Installed when missing and possible.
system-deps:
	@./tools/install-system-deps.sh

demo: install
	$(BIN)/agora demo

# The suite runs on TEST_WORKERS processes (pytest-xdist; 0: in this process). Each
# worker starts its own PostgreSQL, search nodes and Chromium; a test file stays on one
# worker, so its module fixtures are built once.
TEST_WORKERS ?= 2
PYTEST := $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

test: install system-deps lint
	$(PYTEST)

test-fast: install lint
	$(PYTEST) -m "not browser and not elasticsearch and not slow"

# ruff (style, import order, imports at the top), mypy on the packages, the layers
lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: install
	$(BIN)/python benchmarks/crawl.py
	$(BIN)/python benchmarks/matching_replicas.py
	$(BIN)/python benchmarks/matching_public.py
	$(BIN)/python benchmarks/matching_probe.py
	$(BIN)/python benchmarks/incremental.py
	$(BIN)/python benchmarks/overlap.py
	$(BIN)/python benchmarks/search.py
	$(BIN)/python benchmarks/load.py
	$(BIN)/python benchmarks/catalog.py
	$(BIN)/python benchmarks/national.py --listings 200000

# The national benchmark at the size issue 14 names (about 30 min and 11 GB on 2 cores).
bench-national: install
	$(BIN)/python benchmarks/national.py --listings 1000000 --sqlite-max 250000

clean:
	rm -rf $(VENV) var test-output .pytest_cache
