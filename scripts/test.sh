#!/usr/bin/env bash
# make test: the suite against a real RabbitMQ (a vhost per test) and, where CRM_TEST_DB_URL
# names a PostgreSQL server, against PostgreSQL as well as SQLite.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONWARNINGS=${PYTHONWARNINGS:-ignore}
scripts/ensure_rabbitmq.sh --management
exec .venv/bin/python -m pytest -q "$@"
