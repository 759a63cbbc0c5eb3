# safecredit — `make help` lists the targets.
SHELL := /bin/bash
UV_VERSION := 0.13.8
VENV := .venv
BOOT := .bootstrap
UV := $(BOOT)/bin/uv
RUN := $(UV) run --frozen

.DEFAULT_GOAL := help
.PHONY: help env demo test browser bench lint format clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(UV):
	python3 -m venv $(BOOT)
	$(BOOT)/bin/pip install --quiet uv==$(UV_VERSION)

env: $(UV) ## create .venv with the locked dependencies
	$(UV) sync --frozen --quiet

demo: env ## simulate a province, load it and run the whole product on 127.0.0.1:8000
	$(RUN) safecredit demo

test: env browser ## run the whole test suite (SQLite and PostgreSQL at 127.0.0.1:5432)
	$(RUN) pytest -q

browser: ## install Debian's chromium, chromedriver and a CJK font for the page test
	bash tests/browser/install.sh

bench: env ## print speed figures as ratios measured side by side (installs Debian's wrk)
	bash experiments/install-wrk.sh
	$(RUN) python -m experiments.bench

lint: env ## ruff (lint and format check) and mypy
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy

format: env ## apply ruff's fixes and formatting
	$(RUN) ruff check --fix .
	$(RUN) ruff format .

clean: ## remove the environment and everything under var/
	rm -rf $(VENV) $(BOOT) var
