# The two commands of the README: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
INSTALLED := $(VENV)/.installed
DEMO := data/raw/demo
CORES ?= 2

.PHONY: run test test-slow lint bench lab lock demo clean help

help:
	@echo "make run   - set up .venv, generate the demo trial, run the pipeline, render the reports"
	@echo "make test  - run the test suite (quick tests; 'make test-slow' runs the end-to-end ones)"

run: $(INSTALLED) $(DEMO)/truth.json
	$(BIN)/psp-eval run --cores $(CORES)

test: $(INSTALLED)
	$(BIN)/python -m pytest

test-slow: $(INSTALLED)
	$(BIN)/python -m pytest -m "slow or properties"

# Timings and ratios against a naive baseline, and growth from 1k to 50k families (slow).
bench: $(INSTALLED)
	$(BIN)/python benchmarks/pipeline.py

lint: $(INSTALLED)
	$(BIN)/snakefmt --check Snakefile rules
	$(BIN)/snakemake --lint --cores 1
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

# The pinned environment: uv installs the lock in seconds; pip only bootstraps uv. Bytecode is
# compiled at install, so no run (and no notebook kernel) pays for it, even where Python may
# not write it (PYTHONDONTWRITEBYTECODE).
$(INSTALLED): envs/requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -r envs/requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $@

# The synthetic demo trial (raw data are read-only inputs; regenerated when the generator changes).
demo: $(DEMO)/truth.json
$(DEMO)/truth.json: src/psp_eval/data/demo.py config/hubs.tsv | $(INSTALLED)
	$(BIN)/psp-eval synth --out $(DEMO)

# JupyterLab is an optional extra: the pipeline never needs it.
lab: $(INSTALLED)
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r envs/requirements-lab.lock
	$(BIN)/jupyter lab notebooks/

# Recompile the locks after changing dependencies in pyproject.toml.
lock: $(INSTALLED)
	$(BIN)/uv pip compile pyproject.toml --extra test --python-version 3.11 --no-header -o envs/requirements.lock
	$(BIN)/uv pip compile pyproject.toml --extra test --extra lab --python-version 3.11 --no-header -o envs/requirements-lab.lock

clean:
	rm -rf results logs reports/_site .snakemake
