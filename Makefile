# Two entry points: `make demo` (install, then the quickstart flow) and `make test` (install, then tests).
# The install is idempotent: it reruns only when pyproject.toml or requirements/ change.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install --quiet --constraint requirements/constraints.txt
STAMP  := $(VENV)/.installed
# The board's Python for the driver tests: 3.10 with numpy 1.x and pynq (pyenv's, else python3.10 on PATH).
BOARD_VENV  ?= .venv-board
PYENV_ROOT  ?= $(shell pyenv root 2>/dev/null || echo $(HOME)/.pyenv)
PY310       ?= $(firstword $(wildcard $(PYENV_ROOT)/versions/3.10.*/bin/python3.10) $(shell command -v python3.10))
BOARD_STAMP := $(BOARD_VENV)/.installed
# The same Python with numpy 2 and no pynq: what `hwcompress doctor --host` must catch.
DRIFTED_VENV  ?= .venv-board-drifted
DRIFTED_STAMP := $(DRIFTED_VENV)/.installed

.PHONY: install demo test test-all lint bench clean

install: $(STAMP) $(BOARD_STAMP) $(DRIFTED_STAMP)

$(STAMP): pyproject.toml requirements/finn-plus.txt requirements/constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) torch==2.13.0
	$(PIP) -r requirements/finn-plus.txt
	$(PIP) --no-deps finn-plus==1.6.1
	$(PIP) -e '.[dev]'
	touch $(STAMP)

$(BOARD_STAMP): requirements/board.txt
	@if [ -z "$(PY310)" ]; then \
	  echo "note: no Python 3.10 found: the tests that need the board's Python will skip (pyenv install 3.10)"; \
	else \
	  $(PY310) -m venv $(BOARD_VENV) && $(BOARD_VENV)/bin/python -m pip install --quiet -r requirements/board.txt \
	    && touch $@; \
	fi

$(DRIFTED_STAMP): requirements/board-drifted.txt
	@if [ -n "$(PY310)" ]; then \
	  $(PY310) -m venv $(DRIFTED_VENV) && $(DRIFTED_VENV)/bin/python -m pip install --quiet \
	    -r requirements/board-drifted.txt && touch $@; \
	fi

demo: install
	$(BIN)/hwcompress run flows/quickstart.yaml

test: install
	$(BIN)/ruff check hwcompress tests bench
	$(BIN)/lint-imports
	$(BIN)/hadolint docker/Dockerfile
	$(BIN)/shellcheck docker/*.sh
	$(BIN)/python -m pytest -q

test-all: install
	$(BIN)/python -m pytest -q -m ''

lint: install
	$(BIN)/ruff check hwcompress tests bench
	$(BIN)/lint-imports
	$(BIN)/hadolint docker/Dockerfile
	$(BIN)/shellcheck docker/*.sh

bench: install
	$(BIN)/python bench/train_sfc.py

clean:
	rm -rf $(VENV) $(BOARD_VENV) $(DRIFTED_VENV) runs .pytest_cache .import_linter_cache
