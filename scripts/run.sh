#!/usr/bin/env bash
# make run: broker check, migrations, then every service and the gateway as its own process.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONWARNINGS=${PYTHONWARNINGS:-ignore}
scripts/ensure_rabbitmq.sh
.venv/bin/python -m crm_common.migrate
echo
echo "Sales CRM: gateway on http://${GATEWAY_ADDRESS:-127.0.0.1:8000}/api/v1  (health: /api/v1/health, API: /api/v1/openapi.json)"
echo "Log in as admin (password: \$CRM_ADMIN_PASSWORD, 'admin' by default). Ctrl-C stops everything."
echo
exec .venv/bin/honcho start -f Procfile
