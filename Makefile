# The two commands a newcomer needs: `make run` and `make test`. Both set everything up first.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000
export CIVICBRAIN_DATABASE_URL ?= sqlite:///var/civicbrain.db

.PHONY: run test install browser system-packages lint bench-core clean

$(STAMP): pyproject.toml
	@$(MAKE) --no-print-directory system-packages
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,all]'
	touch $(STAMP)

install: $(STAMP)

## make run: set up, migrate, seed the demo city and serve portal + API on http://127.0.0.1:$(PORT)
run: $(STAMP)
	$(BIN)/civicbrain db upgrade
	$(BIN)/civicbrain demo seed
	$(BIN)/civicbrain serve --port $(PORT)

## make test: set up (including Debian's Chromium for the browser tests) and run the whole suite
test: $(STAMP) browser
	$(BIN)/pytest

# PyICU (name transliteration in the credit service) compiles against the system's ICU.
system-packages:
	@pkg-config --exists icu-uc 2>/dev/null || { \
	  echo "installing ICU development files (libicu-dev) for PyICU"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq libicu-dev pkg-config >/dev/null; }

# Browser tests drive Debian's Chromium; Playwright cannot download its own browser here.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports
	$(BIN)/mypy

bench-core: $(STAMP)
	$(BIN)/python bench/core_bench.py

clean:
	rm -rf $(VENV) var .pytest_cache
