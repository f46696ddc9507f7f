# ganapps — the two set-up commands of the README, plus helpers.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -e '.[test]'
	touch $(STAMP)

## demo: create the environment, train cgan on the shipped digits, draw threes
demo: $(STAMP)
	rm -rf runs/demo
	$(BIN)/ganapps run cgan --epochs 3 --out runs/demo
	$(BIN)/ganapps generate runs/demo -n 64 --label 3 --out runs/demo/threes.png
	@echo "open runs/demo/report.html and runs/demo/threes.png"

## test: create the environment and run linters and the test suite (CPU, ~minutes)
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## bench: engine-overhead benchmark (results go to bench/RESULTS.md by hand, with the command)
bench: $(STAMP)
	$(BIN)/python bench/engine_overhead.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
