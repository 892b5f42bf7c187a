# GenomeGate: `make demo` runs a demo node on http://127.0.0.1:8000 (with one background worker), `make test` runs
# the whole suite.
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000
export GENOMEGATE_DATA_DIR ?= .genomegate

.PHONY: install demo demo-data test lint clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/.installed

demo-data: install
	$(BIN)/python examples/make_example_data.py examples/data
	$(BIN)/genomegate db upgrade
	$(BIN)/genomegate demo --examples examples/data

demo: demo-data
	$(BIN)/genomegate serve --host $(HOST) --port $(PORT) --with-worker

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy

test: install lint
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) .genomegate examples/data .pytest_cache
