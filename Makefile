# Sales CRM — `make run` starts everything, `make test` runs the whole suite.
VENV   ?= .venv
PY     := $(VENV)/bin/python
PYTHON ?= python3
export PYTHONWARNINGS ?= ignore

# Typed and checked (the services' entrypoints are not): every service's business rules, use cases
# and stores, found by name so a new module is covered the day it is added, plus the older rule
# modules named below (each kept only while it exists).
SERVICE_PACKAGES := $(foreach dir,$(wildcard services/*),$(dir)/$(notdir $(dir)))
DOMAIN_MODULES := $(sort $(wildcard $(foreach pkg,$(SERVICE_PACKAGES),$(pkg)/domain*.py $(pkg)/usecases*.py $(pkg)/store*.py)) \
	services/customers/customers/normalize.py services/customers/customers/importing.py \
	services/pipeline/pipeline/stages.py services/pipeline/pipeline/forecast.py \
	services/pipeline/pipeline/funnel.py services/pipeline/pipeline/calibration.py \
	services/knowledge/knowledge/segment.py)

.PHONY: install run migrate test test-fast test-console lint format bench clean constraints console

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check "pip==25.3"
	$(PY) -m pip install -q --disable-pip-version-check -c constraints.txt -e ".[dev]"
	touch $@

run: install            ## build the console if it changed, migrate, start every service plus the gateway on :8000
	scripts/build_console.sh --if-able
	scripts/run.sh

console:                ## build the web console (web/dist) if its sources or lock file changed
	scripts/build_console.sh

migrate: install        ## apply every service's migrations
	$(PY) -m crm_common.migrate

test: install           ## the whole suite: unit, service (real RabbitMQ and DB), flows, the console's; two halves at once
	scripts/test.sh

test-console: install   ## the console alone: type check, vitest, then the browser tests (Chromium) on a real system
	scripts/test_console.sh

test-fast: install      ## unit tests of crm_common and every service (rules, use cases on fakes): no broker, no database
	$(PY) -m pytest -q -m "not flow" crm_common/tests/unit services/*/tests/unit

lint: install           ## ruff (check and format), mypy (shared package, rules, use cases, stores), import contracts
	@# every check runs, so one failure does not hide the others; any failure fails the target
	@status=0; \
	$(VENV)/bin/ruff check . || status=1; \
	$(VENV)/bin/ruff format --check . || status=1; \
	$(VENV)/bin/mypy crm_common $(DOMAIN_MODULES) || status=1; \
	$(VENV)/bin/lint-imports --no-cache || status=1; \
	exit $$status

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: install          ## benchmarks; results under bench/results/
	scripts/ensure_rabbitmq.sh --management
	scripts/ensure_browser.sh
	$(PY) -m bench.run

constraints:            ## re-pin the whole dependency tree after changing pyproject.toml
	$(PY) -m pip freeze --exclude-editable | grep -v '^-e' > constraints.txt

clean:
	rm -rf var .pytest_cache web/dist web/.build-stamp web/test-results
