#!/usr/bin/env bash
# The web console's tests: vitest (its own logic), then the browser tests against a real system.
# The browser tests run in a pytest of their own without the root conftest, so without eventlet
# (Playwright's sync API hangs under eventlet's monkey-patching).
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONWARNINGS=${PYTHONWARNINGS:-ignore}
scripts/build_console.sh
(cd web && npx vue-tsc --noEmit && npx vitest run)
scripts/ensure_rabbitmq.sh --management
scripts/ensure_browser.sh
exec .venv/bin/python -m pytest -q --confcutdir=tests/e2e tests/e2e "$@"
