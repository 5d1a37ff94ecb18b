# Two commands: `make run` starts the platform, `make test` runs the whole suite.
# Both set everything up first on a fresh machine.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
HOST ?= 127.0.0.1
STAMP := $(VENV)/.installed

.PHONY: run test install browser lint format migrate clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(PY) manage.py migrate --noinput

run: migrate
	@echo ""
	@echo "  The platform is starting on http://$(HOST):$(PORT)/"
	@echo "  Sign up at http://$(HOST):$(PORT)/accounts/signup/ , then create an API token"
	@echo "  at http://$(HOST):$(PORT)/accounts/tokens/ . Stop with Ctrl-C."
	@echo ""
	@PORT=$(PORT) $(PY) manage.py serve --host $(HOST) --port $(PORT)

# Debian's Chromium for the browser tests (Playwright drives it; it cannot download browsers).
browser:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "warning: could not install chromium; browser tests will fail"; \
	  else echo "warning: chromium is missing; install Debian's chromium package for the browser tests"; fi; \
	fi

test: install browser
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) data .pytest_cache
