# The whole set-up is two commands: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(CURDIR)/$(VENV)/bin
PIP_FLAGS ?= --quiet --disable-pip-version-check
CHURN := projects/churn
TRIPS := projects/trips
DEMO_CUSTOMERS ?= 5000

.PHONY: demo demo-trips test test-fast lint bench reference clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("hydraops needs Python >= 3.11") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install $(PIP_FLAGS) --upgrade pip
	$(BIN)/python -m pip install $(PIP_FLAGS) -e '.[dev]'
	touch $@

## demo: the churn project end to end on the embedded defaults (data → validate → plan → apply: features, train,
## promote, build the bento → serve it, call it (valid, invalid, explained), stop it → score a file in batch),
## then the closed loop: the last month's data arrives drifted → serve traffic (the prediction log) → monitor
## (a breach: exit 3, report.html) → retrain (materialize → train → promote through the gates) → the bento of the
## champion (new if promoted) → lineage of a request
demo: $(VENV)/.installed
	cd $(CHURN) && $(BIN)/python generate_data.py --customers $(DEMO_CUSTOMERS) --last-month previous
	cd $(CHURN) && $(BIN)/hydraops validate
	cd $(CHURN) && $(BIN)/hydraops plan
	cd $(CHURN) && $(BIN)/hydraops apply
	cd $(CHURN) && $(BIN)/hydraops features training-table
	cd $(CHURN) && $(BIN)/hydraops features check-skew sample=200
	cd $(CHURN) && $(BIN)/hydraops registry show
	cd $(CHURN) && $(BIN)/python serve_demo.py
	cd $(CHURN) && $(BIN)/hydraops score input=data/to_score.parquet output=artifacts/scored.parquet
	cd $(CHURN) && $(BIN)/hydraops apply
	cd $(CHURN) && $(BIN)/python generate_data.py --customers $(DEMO_CUSTOMERS) --last-month previous --drift-after last-month
	cd $(CHURN) && $(BIN)/hydraops features materialize
	cd $(CHURN) && $(BIN)/python serve_demo.py --traffic 600
	cd $(CHURN) && $(BIN)/hydraops monitor window=1h || test $$? -eq 3
	cd $(CHURN) && $(BIN)/hydraops retrain || test $$? -eq 1
	cd $(CHURN) && $(BIN)/hydraops build
	cd $(CHURN) && $(BIN)/hydraops lineage $$(cat artifacts/request_id)

## demo-trips: the second template, trips (regression over zone and driver features), end to end the same way
demo-trips: $(VENV)/.installed
	cd $(TRIPS) && $(BIN)/python generate_data.py
	cd $(TRIPS) && $(BIN)/hydraops validate
	cd $(TRIPS) && $(BIN)/hydraops apply
	cd $(TRIPS) && $(BIN)/hydraops features training-table
	cd $(TRIPS) && $(BIN)/hydraops apply

## test: the lint, then the whole test suite, as CI runs it
test: lint
	$(BIN)/python -m pytest

## lint: ruff's format check and lint rules (pyproject.toml [tool.ruff]); `ruff check --fix` and `ruff format` repair most
lint: $(VENV)/.installed
	$(BIN)/ruff format --check src tests benchmarks projects
	$(BIN)/ruff check src tests benchmarks projects

## test-fast: everything but the tests marked slow
test-fast: $(VENV)/.installed
	$(BIN)/python -m pytest -m "not slow"

## bench: side-by-side timings, results in benchmarks/results/
bench: $(VENV)/.installed
	$(BIN)/python benchmarks/cli.py

## reference: regenerate docs/reference/config.md from the schemas
reference: $(VENV)/.installed
	$(BIN)/python -m hydraops.config.reference

clean:
	rm -rf $(VENV) build dist $(CHURN)/data $(CHURN)/outputs $(CHURN)/multirun $(CHURN)/artifacts
	rm -rf $(TRIPS)/data $(TRIPS)/outputs $(TRIPS)/multirun $(TRIPS)/artifacts
