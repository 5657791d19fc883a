# Two commands: `make run` and `make test`. Each sets up what it needs first.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
ARGS ?=

# Debian packages the tests and benchmarks drive: a real browser, a real load tool, Apache with
# mod_wsgi on Debian's own Python (the mod_wsgi mode), Redis and nginx (many viewers: docs/deploy.md),
# and iproute2 (`ip netns`: the test hosts of tests/hosts.py).
DEBIAN_PACKAGES := chromium wrk apache2 libapache2-mod-wsgi-py3 python3-venv redis-server nginx iproute2

.PHONY: run test lint format setup setup-dev system-packages extras mod-wsgi free-threaded bench dist clean

# The venv's packages and npm's browser libraries download side by side (-j2): ~2 s of a first run.
run:
	@$(MAKE) --no-print-directory -j2 setup
	$(PY) run.py $(ARGS)

# Two phases: the tests in two lanes at once (pytest-xdist; a file's tests share a lane, so its
# fixtures start once), then alone the `solo` ones, which judge CPU shares or time and would judge
# the other lane's load. Both run, whatever the first gives; pytest's exit 5 (no test selected) is
# a phase that PYTEST_ARGS (a file, -k) left empty.
test: setup-dev system-packages extras mod-wsgi free-threaded lint
	status=0; \
	$(PY) -m pytest -m "not solo" -n 2 --dist loadfile $(PYTEST_ARGS) || [ $$? -eq 5 ] || status=1; \
	$(PY) -m pytest -m solo $(PYTEST_ARGS) || [ $$? -eq 5 ] || status=1; \
	exit $$status

lint: setup-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-logo
	node_modules/.bin/eslint static/js
	$(VENV)/bin/mypy agent/threadpulse_agent/
	$(VENV)/bin/mypy dashboard/model/

format: setup-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

setup: $(VENV)/.runtime $(VENV)/.agent node_modules/.browser-libs

# ESLint's install first: it brings the browser libraries too, so `setup` finds them done.
setup-dev: node_modules/.dev-tools setup $(VENV)/.dev

# A venv without pip, then pip put in by $(PYTHON)'s own: 4 s where `venv` with its bundled pip and
# an upgrade took 8.5 (of a first `make run`'s ~19). The venv keeps pip: uWSGI's mode installs with
# it later. Pinned: 3.11's bundled 23.2 installed the requirements slower than it. A $(PYTHON)
# without pip (or one older than 22.3, without --python) takes the slow road.
PIP_VERSION := 26.3
$(VENV)/bin/python:
	@echo "== creating $(VENV) with $(PYTHON)"
	$(PYTHON) -m venv --without-pip $(VENV)
	$(PYTHON) -m pip --python $(PY) install --quiet --disable-pip-version-check pip==$(PIP_VERSION) \
	  || { $(PY) -m ensurepip --default-pip && $(PY) -m pip install --quiet pip==$(PIP_VERSION); }

$(VENV)/.runtime: requirements.txt | $(VENV)/bin/python
	@echo "== installing pinned requirements"
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

# The agent is a distribution of its own (agent/pyproject.toml; its wheel is what users install):
# here the checkout's dashboard, demo app, tests and tools import `threadpulse_agent` from agent/
# as they change it, by a .pth file in the venv, which is what an editable install leaves there.
# Making one with pip built it in an isolated environment it filled from the index first: 3.9 s
# of a first `make run` with pip's cache off (~19 s).
$(VENV)/.agent: $(VENV)/.runtime
	@echo "== putting the agent (agent/) on the venv's path"
	$(PY) -c 'import pathlib, sysconfig; pathlib.Path(sysconfig.get_path("purelib"), \
	  "threadpulse_agent_checkout.pth").write_text(str(pathlib.Path("agent").resolve()) + "\n")'
	touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	@echo "== installing pinned test tools"
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

system-packages:
	@missing=""; for pkg in $(DEBIAN_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$pkg 2>/dev/null | grep -q "ok installed" || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" -ne 0 ]; then \
	    echo "missing Debian packages:$$missing; install them with: sudo apt-get install -y$$missing" >&2; exit 1; \
	  fi; \
	  echo "== installing Debian packages:$$missing (about 30 s)"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq $$missing >/dev/null; \
	fi

# What modes need beyond `make run` (requirements-uwsgi.txt: uWSGI, compiled, ~20 s;
# requirements-granian.txt: Granian's 6.9 MB wheel), installed now rather than when each is first
# chosen (dashboard/servers/on_demand.py): the tests run every mode.
extras: setup
	$(PY) -c "from dashboard.servers.modes import REGISTRY; [m.prepare() for m in REGISTRY.values()]"

# The mod_wsgi mode's daemons run as www-data on Debian's Python: their own environment.
mod-wsgi: setup system-packages
	$(PY) -c "from dashboard.servers.modes.mod_wsgi import prepare; prepare()"

# The free-threaded CPython (--disable-gil) from Debian's python3.13 source package, built once
# into a cache outside the checkout (~4 min on 2 cores), and a venv of it: run.py --python free-threaded.
free-threaded: setup
	$(PY) -c "from dashboard.servers.free_threaded import prepare; prepare()"

# make run needs only the browser libraries (package.json's dependencies: 4 packages); the tests and
# lint need ESLint too (devDependencies: 95 packages, ~10 s of a first run). npm ci empties
# node_modules first, so each recipe leaves the stamps of what it installed, and only those.
node_modules/.browser-libs: package.json package-lock.json
	@echo "== installing the browser libraries from npm (lockfile)"
	npm ci --omit=dev --no-audit --no-fund
	touch $@

node_modules/.dev-tools: package.json package-lock.json
	@echo "== installing the browser libraries and ESLint from npm (lockfile)"
	npm ci --no-audit --no-fund
	touch node_modules/.browser-libs $@

# Both wheels into dist/: threadpulse (the dashboard, the agent bundled, the browser libraries built
# from the lockfile by npm ci) and threadpulse-agent (the agent alone, for users' apps).
dist: setup
	rm -rf dist
	$(PY) -m pip wheel --quiet --disable-pip-version-check --no-deps --wheel-dir dist . ./agent

bench: setup-dev system-packages extras mod-wsgi
	$(PY) -m bench.all

clean:
	rm -rf $(VENV) node_modules dist tests/artifacts .pytest_cache .ruff_cache
