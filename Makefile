# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.svdkit-installed

.PHONY: run test lint bench clean latex

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first and pinned: the local CPU wheel; anything newer pulls GBs of CUDA
	$(BIN)/python -m pip install --quiet 'torch==2.13.0'
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/svdkit explain --figures svdkit-figures

# The LaTeX report is compiled by the tests: install pdflatex when it is missing.
latex:
	@command -v pdflatex >/dev/null 2>&1 || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    texlive-latex-base texlive-latex-recommended texlive-fonts-recommended >/dev/null; }

test: $(STAMP) latex
	$(BIN)/ruff check svdkit tests bench
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check svdkit tests bench

bench: $(STAMP)
	$(BIN)/python bench/front_door.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .hypothesis
