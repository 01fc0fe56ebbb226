# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.svdkit-installed

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/svdkit explain

test: $(STAMP)
	$(BIN)/ruff check svdkit tests bench
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check svdkit tests bench

bench: $(STAMP)
	$(BIN)/python bench/front_door.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .hypothesis
