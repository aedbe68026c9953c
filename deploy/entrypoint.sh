#!/bin/sh
# Container entrypoint: `<service>` migrates that service's database and runs it;
# `customers-scanner` runs customers' fuzzy duplicate scan (customers' database and config);
# `gateway` runs the HTTP gateway; `migrate [service …]` only migrates; anything else is exec'd.
set -e
cd /app
target=${1:-gateway}
[ $# -gt 0 ] && shift

# run_service <service> <ServiceClass> [module]: the class in <service>.<module> (default: service)
run_service() {
  python -m crm_common.migrate "$1"
  python -m crm_common.declare_queues >/dev/null
  exec nameko run --config "services/$1/config.yml" "$1.${3:-service}:$2"
}

case "$target" in
  accounts)  run_service accounts AccountsService ;;
  customers) run_service customers CustomersService ;;
  customers-scanner) run_service customers CustomersScannerService service_scanner ;;
  pipeline)  run_service pipeline PipelineService ;;
  notify)    run_service notify NotifyService ;;
  knowledge) run_service knowledge KnowledgeService ;;
  appraisal) run_service appraisal AppraisalService ;;
  gateway)   exec nameko run --config services/gateway/config.yml gateway.service:GatewayService ;;
  migrate)   exec python -m crm_common.migrate "$@" ;;
  *)         exec "$target" "$@" ;;
esac
