# GenomeGate: `make demo` runs a demo node on http://127.0.0.1:8000 (`make demo PORT=9000` elsewhere) with one
# background worker, `make test` runs the whole suite.
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000
export GENOMEGATE_DATA_DIR ?= .genomegate
# Tokens name the node they come from: the URL the demo prints and issues them for follows HOST and PORT.
export GENOMEGATE_PUBLIC_BASE_URL ?= http://$(HOST):$(PORT)

.PHONY: install demo demo-data test lint clean messages

$(BIN)/.installed: pyproject.toml
	@echo "==> creating the virtual environment in $(VENV)"
	$(PYTHON) -m venv $(VENV)
	@echo "==> updating pip"
	$(BIN)/pip install --quiet --upgrade pip
	@echo "==> installing GenomeGate and its dependencies (about 2 minutes the first time)..."
	$(BIN)/pip install --quiet -e '.[dev]'
	@echo "==> installed"
	touch $@

install: $(BIN)/.installed

demo-data: install
	@echo "==> writing the example data (examples/data)"
	$(BIN)/python examples/make_example_data.py examples/data
	@echo "==> creating or upgrading the database in $(GENOMEGATE_DATA_DIR)"
	$(BIN)/genomegate db upgrade
	@echo "==> loading the demo organisation, DAC, users and datasets"
	$(BIN)/genomegate demo --examples examples/data

demo: demo-data
	@echo "==> serving $(GENOMEGATE_PUBLIC_BASE_URL) with one background worker (Ctrl-C stops both)"
	$(BIN)/genomegate serve --host $(HOST) --port $(PORT) --with-worker

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy

# The pages' translations: extract the messages of web/ (keywords as in web/i18n.py EXTRACT_KEYWORDS) and merge
# them into each language's web/locale/<lang>/LC_MESSAGES/messages.po; then translate the new entries there.
messages: install
	$(BIN)/pybabel extract --mapping-file babel.cfg \
	  --keywords N_ --no-location --sort-output --omit-header --output-file web/locale/messages.pot web
	$(BIN)/pybabel update --input-file web/locale/messages.pot --output-dir web/locale --domain messages \
	  --no-fuzzy-matching --ignore-obsolete --omit-header
	rm web/locale/messages.pot

test: install lint
	$(BIN)/python -m pytest -n auto --dist loadfile -m "not serial"
	$(BIN)/python -m pytest -m serial  # tests of latency, alone: another worker's load would time them

clean:
	rm -rf $(VENV) .genomegate examples/data .pytest_cache
