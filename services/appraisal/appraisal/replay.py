"""``crm-appraisal-replay --since 2026-10-01``: rebuild the appraisal's evidence from that day (and
pipeline's targets) by asking the owning services over RPC, as a system caller (an admin), into the
appraisal's database (``APPRAISAL_DB_URL`` / ``CRM_DB_URL`` / var/, as the service finds it).

Rows already there (from the bus, or an earlier replay) are kept: evidence is keyed by kind, source
reference and person, so the replay adds only what is missing and can be run again. One line per
kind; a kind the owners cannot fully give is marked NOT REBUILT with the reason. Exit status 0 when
everything was rebuilt, 2 when some evidence could not be, 1 on bad arguments or an owner down."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from typing import Any

from nameko.exceptions import RpcTimeout
from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy.orm import sessionmaker

from appraisal.store import Store
from appraisal.usecases_replay import KindReport, replay
from crm_common.caller import Caller
from crm_common.config import database_timeouts, database_url, load_config, service_config_path
from crm_common.db import UnitOfWork, make_engine
from crm_common.errors import CrmError
from crm_common.localtime import zone

# who the owners see asking: an admin reads every team's records
SYSTEM_CALLER = Caller(user_id=0, username="appraisal-replay", role="admin", display_name="绩效重放")
PAGE = 500


class RpcSources:
    """The owners' list RPCs, paged to the end."""

    def __init__(self, cluster: Any) -> None:
        self.cluster = cluster

    def opportunities(self, status: str) -> Iterator[Mapping[str, Any]]:
        offset = 0
        while True:
            page = self.cluster.pipeline.list_opportunities(
                {"status": status, "limit": PAGE, "offset": offset}
            )
            yield from page
            if len(page) < PAGE:
                return
            offset += PAGE

    def targets(self) -> list[Mapping[str, Any]]:
        return list(self.cluster.pipeline.list_targets({}))

    def reminders(self) -> Iterator[Mapping[str, Any]]:
        offset = 0
        while True:
            page = self.cluster.notify.list_reminders({"limit": PAGE, "offset": offset})
            yield from page
            if len(page) < PAGE:
                return
            offset += PAGE

    def alarms(self) -> list[Mapping[str, Any]]:
        return list(self.cluster.knowledge.list_alarms({}))

    def answers(self, alarm_id: int) -> list[Mapping[str, Any]]:
        return list(self.cluster.knowledge.get_alarm(alarm_id).get("answers") or [])

    def _since(self, method: Any, since: datetime) -> Iterator[Mapping[str, Any]]:
        """An owner's ``…_since`` list, paged to the end."""
        offset = 0
        while True:
            page = method({"since": since.isoformat(), "offset": offset, "limit": PAGE})
            yield from page
            if len(page) < PAGE:
                return
            offset += PAGE

    def entries(self, since: datetime) -> Iterator[Mapping[str, Any]]:
        return self._since(self.cluster.knowledge.entries_since, since)

    def votes(self, since: datetime) -> Iterator[Mapping[str, Any]]:
        return self._since(self.cluster.knowledge.votes_since, since)

    def reads(self, since: datetime) -> Iterator[Mapping[str, Any]]:
        return self._since(self.cluster.knowledge.reads_since, since)

    def customers(self, since: datetime) -> Iterator[Mapping[str, Any]]:
        return self._since(self.cluster.customers.entered_since, since)

    def followups(self, since: datetime) -> Iterator[Mapping[str, Any]]:
        return self._since(self.cluster.customers.followups_since, since)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crm-appraisal-replay", description=__doc__.split("\n\n")[0])
    parser.add_argument("--since", required=True, type=date.fromisoformat, help="YYYY-MM-DD, a local day")
    parser.add_argument("--amqp-uri", help="default: AMQP_URI of services/appraisal/config.yml")
    return parser


def describe(report: KindReport) -> str:
    line = f"{report.kind:<20} found {report.found:>8}  added {report.added:>8}"
    if report.complete:
        return line + "  rebuilt"
    return line + "  NOT REBUILT: " + "; ".join(report.missing)


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    config = load_config(service_config_path("appraisal"))
    if args.amqp_uri:
        config["AMQP_URI"] = args.amqp_uri
    engine = make_engine(database_url("appraisal", config), *database_timeouts(config))
    uow = UnitOfWork(sessionmaker(bind=engine, expire_on_commit=False), "appraisal")
    timeout = float(config.get("RPC_TIMEOUT_SECONDS") or 10) * 6
    try:
        with ClusterRpcProxy(config, context_data=SYSTEM_CALLER.to_context(), timeout=timeout) as cluster:
            reports = replay(Store(uow), RpcSources(cluster), args.since, zone=zone(config))
        uow.commit()
    except (CrmError, RpcTimeout) as exc:
        uow.rollback()
        print(f"crm-appraisal-replay: an owner refused or did not answer: {exc!r}", file=sys.stderr)
        return 1
    finally:
        uow.close()
        engine.dispose()
    for report in reports:
        print(describe(report))
    return 0 if all(r.complete for r in reports) else 2


def main_cli() -> int:
    return main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
