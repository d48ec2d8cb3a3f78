# The two commands of the README: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
INSTALLED := $(VENV)/.installed
# The cluster executors' environment (profiles/slurm, profiles/kubernetes): see `cluster` below.
CLUSTER_VENV := .venv-cluster
CLUSTER_INSTALLED := $(CLUSTER_VENV)/.installed
# Removed from a .venv made before they moved to .venv-cluster (uv skips those not installed).
CLUSTER_PLUGINS := snakemake-executor-plugin-slurm snakemake-executor-plugin-slurm-jobstep \
	snakemake-executor-plugin-kubernetes snakemake-storage-plugin-fs
DEMO := data/raw/demo
CORES ?= 2

.PHONY: run test test-slow lint bench lab lock demo cluster clean help

help:
	@echo "make run   - set up .venv, generate the demo trial, run the pipeline, render the reports"
	@echo "make test  - run the test suite (quick tests; 'make test-slow' runs the end-to-end ones)"

run: $(INSTALLED) $(DEMO)/truth.json
	$(BIN)/psp-eval run --cores $(CORES)

test: $(INSTALLED) $(CLUSTER_INSTALLED)
	$(BIN)/python -m pytest -n $(CORES) --dist worksteal

test-slow: $(INSTALLED) $(CLUSTER_INSTALLED)
	$(BIN)/python -m pytest -m "slow or properties"

# Timings and ratios against a naive baseline, growth from 1k to 50k families (slow), and the
# need analysis on a million SSDA903 episodes (`benchmarks/pipeline.py --only need` alone).
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
	$(BIN)/uv pip uninstall --quiet --python $(BIN)/python $(CLUSTER_PLUGINS)
	touch $@

# The synthetic demo trial (raw data are read-only inputs; regenerated when the generator changes).
demo: $(DEMO)/truth.json
$(DEMO)/truth.json: src/psp_eval/data/demo.py config/hubs.tsv | $(INSTALLED)
	$(BIN)/psp-eval synth --out $(DEMO)

# The cluster executor plugins, in an environment of their own: Snakemake imports every plugin
# it finds at each start, and the SLURM plugin then runs `scontrol`, which waits ~10 s wherever
# SLURM's client is installed and no controller answers. In .venv-cluster only, local runs never
# pay that; `psp-eval run -- --profile profiles/slurm` switches to it (same pins as .venv).
cluster: $(CLUSTER_INSTALLED)
$(CLUSTER_INSTALLED): envs/requirements-cluster.lock pyproject.toml | $(INSTALLED)
	$(PYTHON) -m venv $(CLUSTER_VENV)
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(CLUSTER_VENV)/bin/python -r envs/requirements-cluster.lock
	$(BIN)/uv pip install --quiet --python $(CLUSTER_VENV)/bin/python --no-deps -e .
	touch $@

# JupyterLab is an optional extra: the pipeline never needs it.
lab: $(INSTALLED)
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r envs/requirements-lab.lock
	$(BIN)/jupyter lab notebooks/

# Recompile the locks after changing dependencies in pyproject.toml.
lock: $(INSTALLED)
	$(BIN)/uv pip compile pyproject.toml --extra test --python-version 3.11 --no-header -o envs/requirements.lock
	$(BIN)/uv pip compile pyproject.toml --extra test --extra lab --python-version 3.11 --no-header -o envs/requirements-lab.lock
	$(BIN)/uv pip compile pyproject.toml --extra cluster --constraint envs/requirements.lock --python-version 3.11 --no-header -o envs/requirements-cluster.lock

clean:
	rm -rf results logs reports/_site .snakemake
