# Two commands do all the set-up:  `make run` (default experiment) and `make test` (test suite).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
CORES ?= 2
SNAKEMAKE_ARGS ?=

.PHONY: env run test test-fast test-slurm mutation mutation-targeted smoke figures dryrun clean

$(BIN)/snakemake: pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip >/dev/null
	$(BIN)/pip install -e '.[test]'
	touch $(BIN)/snakemake

env: $(BIN)/snakemake

run: env
	$(BIN)/snakemake --cores $(CORES) $(SNAKEMAKE_ARGS)

smoke: env
	$(BIN)/snakemake --cores $(CORES) --configfile config/smoke.yaml $(SNAKEMAKE_ARGS)

figures: env
	$(BIN)/snakemake --cores 1 figures $(SNAKEMAKE_ARGS)

dryrun: env
	$(BIN)/snakemake -n $(SNAKEMAKE_ARGS)

test: env
	$(BIN)/python -m pytest -v -rs --durations=30 tests

test-fast: env
	$(BIN)/python -m pytest -q -m unit tests

mutation-targeted: env
	$(BIN)/python tests/mutation/targeted.py

mutation: env
	$(BIN)/python tests/mutation/mutmut_pass.py

test-slurm: env
	TRANSFERLAB_TEST_SLURM=1 $(BIN)/python -m pytest -v -s -m slurm tests

clean:
	rm -rf results .snakemake
