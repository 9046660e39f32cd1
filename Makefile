# The two commands: `make serve` and `make test`. Both create .venv and install into it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ARGS ?=

.PHONY: serve test example ts-check lint bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[test]' 2>&1 | grep -v "^WARNING: Location" || true
	@$(BIN)/python -c "import mockserver, atproto, pytest" || (echo "install failed" >&2; exit 1)
	@touch $(STAMP)

serve: $(STAMP)
	$(BIN)/bsky-chat-mock serve $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest $(ARGS)

example: $(STAMP)
	cd examples/downstream && ../../$(BIN)/python -m pytest -q

bench: $(STAMP)
	@$(BIN)/python -c "import pytest_httpserver" 2>/dev/null || $(BIN)/python -m pip install -q -e '.[test,bench]' 2>&1 | grep -v "^WARNING: Location" || true
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/scenario_load.py
	$(BIN)/python bench/fixture_cost.py
	$(BIN)/python bench/load.py
	$(BIN)/python bench/scale.py

ts-check: $(STAMP)
	tests/js/run.sh

lint: $(STAMP)
	$(BIN)/ruff check mockserver pytest_plugin scenarios tests bench
	$(BIN)/ruff format --check mockserver pytest_plugin scenarios tests bench
	$(BIN)/mypy

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
