# `make run` and `make test` set up .venv on first use, so each works on a fresh machine by itself.
# `make test` first checks the system packages its tests start (scripts/system-deps.sh): as root it installs the
# missing ones, otherwise it stops at once with the one command that does.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test system-deps bench lint

run: $(VENV)/.installed
	@echo "== simulating the AI3 quick start for a year (a few seconds): the table, then quickstart.png"
	$(BIN)/evolver simulate ai3_quickstart --plot quickstart.png
	@echo "== evolving players for the ai3_plugins slot with local:gp (no key, no network; a few seconds)"
	$(BIN)/evolver evolve ai3_plugins
	@echo "== the command line is $(BIN)/evolver; \`source $(BIN)/activate\` puts \`evolver\` on your PATH"

# system-deps first, so that a machine without the packages stops before the install, not after it.
test: system-deps $(VENV)/.installed
	$(BIN)/python -m pytest

system-deps:
	@bash scripts/system-deps.sh

bench: $(VENV)/.installed
	$(BIN)/python -m bench.simulate && $(BIN)/python -m bench.sandbox && $(BIN)/python -m bench.evolve && $(BIN)/python -m bench.queue && $(BIN)/python -m bench.api && $(BIN)/python -m bench.cli

lint: $(VENV)/.installed
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

$(VENV)/.installed: pyproject.toml
	@echo "== creating $(VENV) with $(PYTHON) and upgrading its pip (seconds)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	@echo "== installing evolver and its dependencies into $(VENV): 1 to 3 minutes the first time (pip's progress below)"
	$(BIN)/python -m pip install -e '.[dev]'
	@touch $@
	@echo "== $(VENV) is ready"
