# flowmart — two commands: `make run` (the main job on DuckDB + the sample organisation), `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install lint dagster clean

# uv (from PyPI) installs the ~150 packages in seconds; plain pip is the fallback. Bytecode is compiled
# at install: where PYTHONDONTWRITEBYTECODE is set, Python would otherwise compile dbt's modules from
# source on every start (about 2 s of each dbt invocation on a 2-core machine). pip compiles by default.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv || true
	if [ -x $(BIN)/uv ]; then $(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -e ".[dev,spark]"; \
	else $(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev,spark]"; fi
	touch $(STAMP)

install: $(STAMP)

## Load every configured source (the sample organisation when none is), dbt build, print a summary.
run: $(STAMP)
	$(BIN)/flowmart run

## The whole test suite: loaders over HTTP, dbt on DuckDB, on a throwaway PostgreSQL and on local Spark, Dagster.
test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check pipelines orchestration tests

## The Dagster UI on http://127.0.0.1:3000 (`dg dev`, [tool.dg] in pyproject.toml). Runs, logs and schedule
## state persist in .dagster_home/ (git-ignored); its dagster.yaml lets one run at a time (DuckDB has one writer).
DAGSTER_HOME_DIR := $(CURDIR)/.dagster_home
dagster: $(STAMP) $(DAGSTER_HOME_DIR)/dagster.yaml
	cd dbt_project && PATH="$(CURDIR)/$(BIN):$$PATH" ../$(BIN)/dbt parse --profiles-dir .. --quiet
	DAGSTER_HOME="$(DAGSTER_HOME_DIR)" VIRTUAL_ENV="$(CURDIR)/$(VENV)" PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/dg dev

$(DAGSTER_HOME_DIR)/dagster.yaml:
	mkdir -p $(DAGSTER_HOME_DIR)
	printf '%s\n' "# flowmart's Dagster instance (make dagster): runs, logs and schedule state stay here." \
	  "concurrency:" "  runs:" "    max_concurrent_runs: 1  # DuckDB has one writer" > $@

clean:
	rm -rf warehouse dbt_project/target dbt_project/logs
