# Two entry points: `make demo` (install, then the quickstart flow) and `make test` (install, then tests).
# The install is idempotent: it reruns only when pyproject.toml or requirements/ change.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install --quiet --constraint requirements/constraints.txt
STAMP  := $(VENV)/.installed

.PHONY: install demo test test-all lint bench clean

install: $(STAMP)

$(STAMP): pyproject.toml requirements/finn-plus.txt requirements/constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) torch==2.13.0
	$(PIP) -r requirements/finn-plus.txt
	$(PIP) --no-deps finn-plus==1.6.1
	$(PIP) -e '.[dev]'
	touch $(STAMP)

demo: install
	$(BIN)/hwcompress run flows/quickstart.yaml

test: install
	$(BIN)/ruff check hwcompress tests bench
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q

test-all: install
	$(BIN)/python -m pytest -q -m ''

lint: install
	$(BIN)/ruff check hwcompress tests bench
	$(BIN)/lint-imports

bench: install
	$(BIN)/python bench/train_sfc.py

clean:
	rm -rf $(VENV) runs .pytest_cache .import_linter_cache
