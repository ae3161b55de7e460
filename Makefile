# Vafa: two commands. `make run` starts the club; `make test` checks it.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python

.PHONY: run test install install-dev lint format messages ci clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/activate
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/activate
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## make run: install, migrate, seed demo data once, start web + worker (Ctrl-C stops both)
run: install
	DEBUG=$${DEBUG:-1} $(PY) manage.py migrate --noinput
	@if [ ! -f var/.demo-seeded ]; then DEBUG=$${DEBUG:-1} $(PY) manage.py seed_demo && touch var/.demo-seeded; fi
	DEBUG=$${DEBUG:-1} PYTHONUNBUFFERED=1 $(BIN)/honcho start -f Procfile.dev

## make test: install dev tools, lint, check migrations, run the whole suite
## (browser tests run in their own pytest process: Playwright's sync API wants a clean thread)
test: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DEBUG=1 $(PY) manage.py makemigrations --check --dry-run
	$(BIN)/pytest -n $${PYTEST_WORKERS:-auto} -m "not browser" $(PYTEST_ARGS)
	$(BIN)/pytest -m browser $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## make messages: refresh and compile translations (needs GNU gettext)
messages: install
	DEBUG=1 $(PY) manage.py makemessages -l fa -l ar -l ru --no-obsolete --ignore=.venv --ignore=staticfiles --ignore=var
	DEBUG=1 $(PY) manage.py makemessages -d djangojs -l fa -l ar -l ru --no-obsolete --ignore=.venv --ignore=staticfiles --ignore=var --ignore=static/vendor
	DEBUG=1 $(PY) manage.py compilemessages --ignore=.venv

ci:
	.ci/run

clean:
	rm -rf $(VENV) var staticfiles
