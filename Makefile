# The commands the README gives. Each target creates .venv and installs what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STACK  ?= staging

RUNTIME := $(VENV)/.runtime-installed
DEV     := $(VENV)/.dev-installed

.PHONY: preview test lint docs clean

$(RUNTIME): requirements.txt constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	touch $@

$(DEV): $(RUNTIME) requirements-dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	touch $@

## preview: print what STACK (default staging) would create, offline
preview: $(RUNTIME)
	$(BIN)/python -m offline preview --stack $(STACK)

## test: the whole test suite (Pulumi mocks, no network)
test: $(DEV)
	$(BIN)/python -m pytest

## lint: ruff and mypy
lint: $(DEV)
	$(BIN)/ruff check .
	$(BIN)/mypy

## docs: regenerate the README's config reference from the settings models
docs: $(RUNTIME)
	$(BIN)/python -m offline docs

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache
