# Two commands: `make run` and `make test`. Each sets up what it needs first.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
ARGS ?=

.PHONY: run test lint format setup setup-dev bench clean

run: setup
	$(PY) run.py $(ARGS)

test: setup-dev lint
	$(PY) -m pytest $(PYTEST_ARGS)

lint: setup-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

setup: $(VENV)/.runtime node_modules/.package-lock.json

setup-dev: setup $(VENV)/.dev

$(VENV)/bin/python:
	@echo "== creating $(VENV) with $(PYTHON)"
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(VENV)/bin/python
	@echo "== installing pinned requirements"
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	@echo "== installing pinned test tools"
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	@echo "== installing browser libraries from npm (lockfile)"
	npm ci --no-audit --no-fund

bench: setup-dev
	$(PY) -m bench.all

clean:
	rm -rf $(VENV) node_modules tests/artifacts .pytest_cache .ruff_cache
