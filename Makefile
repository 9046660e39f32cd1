# The two commands: `make serve` and `make test`. Both create .venv and install into it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ARGS ?=

.PHONY: serve test example ts-check lint bench dist clean pds pds-install

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[test]' 2>&1 | grep -v "^WARNING: Location" || true
	@$(BIN)/python -c "import mockserver, atproto, pytest" || (echo "install failed" >&2; exit 1)
	@touch $(STAMP)

serve: $(STAMP)
	$(BIN)/bsky-chat-mock serve $(ARGS)

# chat service mode for real (docs/pds.md): a PLC on 2582, a PDS on 2583 and the mock on 2584
pds: $(STAMP) pds-install
	tests/pds/run-network.sh $(ARGS)

# node 22, @atproto/pds and @did-plc/server into the ignored .cache/pds/ (tests/pds/ needs them)
pds-install:
	@tests/pds/install.sh >/dev/null

test: $(STAMP)
	$(BIN)/python -m pytest $(ARGS)

example: $(STAMP)
	cd examples/downstream && ../../$(BIN)/python -m pytest -q

# the commands behind bench/RESULTS.md, with its arguments (the scale run needs ~4 GB and a few minutes)
bench: $(STAMP)
	@$(BIN)/python -c "import pytest_httpserver" 2>/dev/null || $(BIN)/python -m pip install -q -e '.[test,bench]'
	$(BIN)/python bench/startup.py --runs 5
	$(BIN)/python bench/scenario_load.py --repeat 3
	$(BIN)/python bench/fixture_cost.py -n 200 --rounds 5
	$(BIN)/python bench/load.py --requests 2000 --repeat 3
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; } || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
	$(BIN)/python bench/wrk.py --seconds 3 --repeat 3 --floor
	$(BIN)/python bench/scale.py --groups 10000 --members 50 --messages 100 --actors 100000
	$(BIN)/python bench/scale_journal.py --groups 10000 --actors 100000
	FUZZ_SCALE=6 $(BIN)/python -m pytest -q -s tests/reliability/test_fuzz.py
	$(BIN)/python -m pytest -q -s tests/reliability --ignore=tests/reliability/test_fuzz.py

ts-check: $(STAMP)
	tests/js/run.sh

lint: $(STAMP)
	$(BIN)/ruff check mockserver pytest_plugin scenarios tests bench
	$(BIN)/ruff format --check mockserver pytest_plugin scenarios tests bench
	$(BIN)/mypy

# a release: the wheel and the sdist in dist/, each installed into a fresh venv and tested there
dist: $(STAMP)
	.ci/dist-check

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
