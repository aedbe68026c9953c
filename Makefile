# Sales CRM — `make run` starts everything, `make test` runs the whole suite.
VENV   ?= .venv
PY     := $(VENV)/bin/python
PYTHON ?= python3
export PYTHONWARNINGS ?= ignore

# Plain-Python business rules: typed and checked (the services' entrypoints are not).
DOMAIN_MODULES := $(wildcard services/*/*/domain.py) \
	services/customers/customers/normalize.py services/customers/customers/importing.py \
	services/pipeline/pipeline/stages.py services/pipeline/pipeline/forecast.py \
	services/pipeline/pipeline/funnel.py services/pipeline/pipeline/calibration.py \
	services/knowledge/knowledge/segment.py

.PHONY: install run migrate test test-fast lint format bench clean constraints

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check "pip==25.3"
	$(PY) -m pip install -q --disable-pip-version-check -c constraints.txt -e ".[dev]"
	touch $@

run: install            ## migrate and start every service plus the gateway on :8000
	scripts/run.sh

migrate: install        ## apply every service's migrations
	$(PY) -m crm_common.migrate

test: install           ## the whole suite: unit, service (real RabbitMQ and DB), flows
	scripts/test.sh

test-fast: install      ## domain tests only: no broker, no database
	$(PY) -m pytest -q -m "not flow" crm_common/tests/unit services/*/tests/unit

lint: install           ## ruff (check and format) and mypy on the shared package and domain modules
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy crm_common $(DOMAIN_MODULES)

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: install          ## benchmarks; results under bench/results/
	scripts/ensure_rabbitmq.sh --management
	$(PY) -m bench.run

constraints:            ## re-pin the whole dependency tree after changing pyproject.toml
	$(PY) -m pip freeze --exclude-editable | grep -v '^-e' > constraints.txt

clean:
	rm -rf var .pytest_cache
