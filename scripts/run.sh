#!/usr/bin/env bash
# make run: broker check, migrations, then every service and the gateway as its own process.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONWARNINGS=${PYTHONWARNINGS:-ignore}
export PATH="$PWD/.venv/bin:$PATH"  # the Procfile runs `nameko` from the virtualenv
scripts/ensure_rabbitmq.sh
python -m crm_common.migrate
python -m crm_common.declare_queues >/dev/null
echo
echo "Sales CRM: gateway on http://${GATEWAY_ADDRESS:-127.0.0.1:8000}/api/v1  (health: /api/v1/health, API: /api/v1/openapi.json)"
echo "Log in as admin (password: \$CRM_ADMIN_PASSWORD, 'admin' by default). Ctrl-C stops everything."
echo
exec honcho start -f Procfile
