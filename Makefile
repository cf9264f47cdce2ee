VENV ?= .venv
PY = $(VENV)/bin/python

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

## make demo: a whole hall on one machine (embedded broker, SQLite, simulated devices)
demo: $(VENV)/.installed
	$(VENV)/bin/hall demo

## make test: the whole suite; installs the Debian packages it needs first (scripts/setup-system.sh)
test: $(VENV)/.installed system
	$(PY) -m pytest -q

## make test-fast: the domain, contract and config tests only (no broker, database server, Qt or browser)
test-fast: $(VENV)/.installed
	$(PY) -m pytest -q -m fast

## make system: the Debian packages the tests need (mosquitto, postgresql, espeak-ng, a CJK font, chromium …)
system:
	@scripts/setup-system.sh

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

.PHONY: demo test test-fast system lint
