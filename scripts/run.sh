#!/usr/bin/env bash
# make run: broker check, migrations, then every service and the gateway as its own process.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONWARNINGS=${PYTHONWARNINGS:-ignore}
export PATH="$PWD/.venv/bin:$PATH"  # supervisord.conf runs `nameko` from the virtualenv
export CRM_VAR_DIR="${CRM_VAR_DIR:-$PWD/var}"
mkdir -p "$CRM_VAR_DIR"
scripts/ensure_rabbitmq.sh
# Migrations (the databases) and queue declarations (the broker) do not depend on each other: side by
# side they cost the slower of the two. Both must succeed before any service starts.
python -m crm_common.migrate &
migrating=$!
python -m crm_common.declare_queues >/dev/null &
declaring=$!
trap 'kill "$migrating" "$declaring" 2>/dev/null || true; exit 130' INT TERM
wait "$migrating"
wait "$declaring"
trap - INT TERM
if [ -z "${CRM_JWT_SECRET:-}" ] && [ -z "${CRM_JWT_SECRET_FILE:-}" ]; then
  # No secret given: a random one, made on the first start under var/ (mode 0600) and reused.
  CRM_JWT_SECRET_FILE=$(python -m gateway.secret)
  export CRM_JWT_SECRET_FILE
fi
echo
echo "Sales CRM: gateway on http://${GATEWAY_ADDRESS:-127.0.0.1:8000}/api/v1  (health: /api/v1/health, API: /api/v1/openapi.json)"
echo "Log in as admin (password: \$CRM_ADMIN_PASSWORD, 'admin' by default). Ctrl-C stops everything."
echo
# supervisord restarts a service that dies (with backoff), keeps the others running, and
# stops everything on Ctrl-C. `supervisorctl -c supervisord.conf status` shows each process.
exec supervisord -c supervisord.conf
