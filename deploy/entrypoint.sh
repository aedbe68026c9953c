#!/bin/sh
# Container entrypoint: `<service>` migrates that service's database and runs it;
# `gateway` runs the HTTP gateway; `migrate [service …]` only migrates; anything else is exec'd.
set -e
cd /app
target=${1:-gateway}
[ $# -gt 0 ] && shift

run_service() {
  python -m crm_common.migrate "$1"
  python -m crm_common.declare_queues >/dev/null
  exec nameko run --config "services/$1/config.yml" "$1.service:$2"
}

case "$target" in
  accounts)  run_service accounts AccountsService ;;
  customers) run_service customers CustomersService ;;
  pipeline)  run_service pipeline PipelineService ;;
  notify)    run_service notify NotifyService ;;
  knowledge) run_service knowledge KnowledgeService ;;
  gateway)   exec nameko run --config services/gateway/config.yml gateway.service:GatewayService ;;
  migrate)   exec python -m crm_common.migrate "$@" ;;
  *)         exec "$target" "$@" ;;
esac
