# `make run` and `make test` set up .venv on first use, so each works on a fresh machine by itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test bench lint

run: $(VENV)/.installed
	$(BIN)/evolver simulate ai3_quickstart --plot quickstart.png
	$(BIN)/evolver evolve ai3_plugins

test: $(VENV)/.installed
	$(BIN)/python -m pytest

bench: $(VENV)/.installed
	$(BIN)/python -m bench.simulate && $(BIN)/python -m bench.sandbox && $(BIN)/python -m bench.evolve && $(BIN)/python -m bench.queue && $(BIN)/python -m bench.api

lint: $(VENV)/.installed
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@
