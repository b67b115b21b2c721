# Two commands for a fresh machine: `make run` and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
RUN_STAMP := $(VENV)/.installed-base

.PHONY: test test-fast lint run install clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[train,dev]"
	touch $(STAMP)

install: $(STAMP)

# The checks that keep the layout honest (CONTRIBUTING.md): lint and format, the import contracts of
# pyproject.toml (layers, torch only under train), the type check of core, inference and apps.
lint: $(STAMP)
	$(BIN)/ruff check src tests scripts benchmarks
	$(BIN)/ruff format --check src tests scripts benchmarks
	$(BIN)/lint-imports
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest -q -n 2 --dist worksteal --durations=25  # the slowest 25 in the log: where suite time goes

# The quick loop while editing: everything but the tests marked slow (browser, training runs, GPU sweep).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

# The web app needs only the base install (no torch): http://127.0.0.1:8000 with the shipped model.
$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $(RUN_STAMP)

run: $(RUN_STAMP)
	$(BIN)/emolens serve --host 127.0.0.1 --port 8000  # model: EMOLENS_MODEL, else the shipped "default"

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
