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

## make test: the whole test suite (real Mosquitto when installed, PostgreSQL when HALL_TEST_PG_URL is set)
test: $(VENV)/.installed
	$(PY) -m pytest -q

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

.PHONY: demo test lint
