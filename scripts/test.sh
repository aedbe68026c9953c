#!/usr/bin/env bash
# make test: the suite against a real RabbitMQ (a vhost per test) and, where CRM_TEST_DB_URL
# names a PostgreSQL server, against PostgreSQL as well as SQLite.
#
# With arguments: one pytest with them (`scripts/test.sh services/notify -k sms`).
# Without: the whole suite in two halves at once: the services' own tests (crm_common, services/)
# in one; the flows and faults across real processes (tests/), then the console's tests
# (scripts/test_console.sh), in the other. Much of the suite's time is spent waiting (for the
# broker, for processes to start, for timers), so the halves on two cores take little more than the
# longer one. pytest-xdist is not used: its workers hang under eventlet.
# Each test already has its own vhost, its own SQLite file or PostgreSQL schema and its own ports,
# so the halves cannot see each other. Each half's output is kept and printed when both end.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONWARNINGS=${PYTHONWARNINGS:-ignore}
scripts/ensure_rabbitmq.sh --management
PYTEST=(.venv/bin/python -m pytest -q)

if [ $# -gt 0 ]; then
  exec "${PYTEST[@]}" "$@"
fi

# the browser tests and the console's quick bench need Debian's Chromium: installed when missing
scripts/ensure_browser.sh
logs=$(mktemp -d "${TMPDIR:-/tmp}/crm-test.XXXXXX")
trap 'kill $(jobs -p) 2>/dev/null || true' INT TERM

"${PYTEST[@]}" --basetemp="$logs/services" crm_common/tests services >"$logs/services.log" 2>&1 &
services=$!
(
  set +e
  "${PYTEST[@]}" --basetemp="$logs/flows" tests
  flows_status=$?
  scripts/test_console.sh
  console_status=$?
  [ $flows_status -eq 0 ] && [ $console_status -eq 0 ]
) >"$logs/flows.log" 2>&1 &
flows=$!

status=0
wait $services || status=1
echo "=== crm_common and services (unit and service tests) ==="
cat "$logs/services.log"
wait $flows || status=1
echo "=== tests/: flows and faults across real processes; then the console ==="
cat "$logs/flows.log"
[ $status -eq 0 ] && rm -rf "$logs"
exit $status
