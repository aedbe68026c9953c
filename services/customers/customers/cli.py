"""Import a spreadsheet's customers from the command line, as a user of the CRM.

    python -m customers.cli import customers.csv --username wangfang [--owner lina] [--dry-run]

The password comes from ``CRM_PASSWORD`` or a prompt. The tool logs in through accounts and
calls customers over RabbitMQ with that user's identity, so it may do exactly what the user may
do over HTTP: a salesperson imports for themself, a manager for the team's salespeople, an admin
for anyone. The import runs as a background job in the customers service: the tool submits it,
shows a progress bar on stderr until it ends, then prints the per-row report and the summary.
Interrupting the tool does not stop the job. The exit status is 0 when the job finished (even
with duplicate or invalid rows), 1 when the file was refused as a whole, the user may not import
or the job failed.
"""

from __future__ import annotations

import argparse
import base64
import getpass
import os
import sys
import time
from pathlib import Path
from typing import Any

from nameko.standalone.rpc import ServiceRpcProxy

from crm_common.caller import Caller
from crm_common.config import load_config, service_config_path
from crm_common.errors import CrmError

RPC_TIMEOUT_SECONDS = 60
LOGIN_TIMEOUT_SECONDS = 30
POLL_SECONDS = 0.5
REPORT_PAGE = 5000
BAR_WIDTH = 30
STATUS_LABELS = {"created": "已创建", "duplicate": "重复", "invalid": "无效"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m customers.cli", description="Customers from the command line"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    imports = commands.add_parser("import", help="import a CSV (UTF-8 or GBK) exported from a spreadsheet")
    imports.add_argument("file", type=Path)
    imports.add_argument(
        "--username", required=True, help="who imports (logs in with CRM_PASSWORD or a prompt)"
    )
    imports.add_argument("--owner", help="username of the salesperson the customers are for (default: you)")
    imports.add_argument("--dry-run", action="store_true", help="check every row, create nothing")
    imports.add_argument("--amqp-uri", help="default: AMQP_URI of services/customers/config.yml")
    return parser


def main(argv: list[str], password: str | None = None) -> int:
    args = build_parser().parse_args(argv)
    config = {"AMQP_URI": args.amqp_uri or load_config(service_config_path("customers"))["AMQP_URI"]}
    try:
        data = args.file.read_bytes()
    except OSError as exc:
        print(f"cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 1
    password = password or os.environ.get("CRM_PASSWORD") or getpass.getpass(f"password of {args.username}: ")
    try:
        caller = _log_in(config, args.username, password)
        owner_id = _user_id(config, caller, args.owner) if args.owner else None
        with ServiceRpcProxy(
            "customers", config, context_data=caller.to_context(), timeout=RPC_TIMEOUT_SECONDS
        ) as customers:
            job = customers.import_customers(
                base64.b64encode(data).decode("ascii"),
                {"owner_id": owner_id, "dry_run": args.dry_run, "filename": args.file.name[:200]},
            )
            print(f"import job #{job['id']}: {job['total_rows']} rows", file=sys.stderr)
            job = _follow(customers, job)
    except CrmError as exc:
        print(f"refused: {exc.message}", file=sys.stderr)
        if isinstance(exc.details, dict):
            for field, problems in exc.details.items():
                print(f"  {field}: {problems}", file=sys.stderr)
        return 1
    if job["state"] == "failed":
        print(f"import job #{job['id']} failed: {job['error']}", file=sys.stderr)
        return 1
    print(render_report(job))
    return 0


def _follow(customers: Any, job: dict[str, Any]) -> dict[str, Any]:
    """Show the job's progress until it ends; return it with every row of its report."""
    shown = None
    while job["state"] not in ("finished", "failed"):
        time.sleep(POLL_SECONDS)
        job = customers.get_import_job(job["id"], {"per_page": 1})
        shown = _show_progress(job, shown)
    _show_progress(job, shown)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    rows: list[dict[str, Any]] = []
    page = 1
    while True:
        report = customers.get_import_job(job["id"], {"page": page, "per_page": REPORT_PAGE})
        rows += report["rows"]
        if len(rows) >= report["rows_matching"] or not report["rows"]:
            return {**report, "rows": rows}
        page += 1


def progress_bar(job: dict[str, Any]) -> str:
    """``[#######.......]  1200/5000 rows  created 1100, duplicates 60, invalid 40``"""
    total = job["total_rows"]
    filled = BAR_WIDTH if not total else BAR_WIDTH * job["rows_done"] // total
    return (
        f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {job['rows_done']:>6}/{total} rows"
        f"  created {job['created']}, duplicates {job['duplicates']}, invalid {job['invalid']}"
    )


def _show_progress(job: dict[str, Any], shown: str | None) -> str:
    bar = progress_bar(job)
    if bar != shown:
        # a terminal gets one line redrawn; a log gets a line per change
        print(
            ("\r" + bar) if sys.stderr.isatty() else bar,
            end="" if sys.stderr.isatty() else "\n",
            file=sys.stderr,
        )
        sys.stderr.flush()
    return bar


def render_report(report: dict[str, Any]) -> str:
    """The per-row report as a spreadsheet user reads it: row number, outcome, name, why."""
    lines = []
    for row in report["rows"]:
        why = "；".join(row["errors"])
        duplicate = row.get("duplicate_of")
        if duplicate:
            why = f"已是 {duplicate['owner'] or '公海'} 的客户 #{duplicate['customer_id']}（{why}）"
        elif row["customer_id"]:
            why = f"#{row['customer_id']}"
        lines.append(f"第 {row['line']:>4} 行  {STATUS_LABELS[row['status']]:<4} {row['name'] or '—'}  {why}")
    verb = "would create" if report["dry_run"] else "created"
    lines.append(
        f"{verb} {report['created']}, duplicates {report['duplicates']}, invalid {report['invalid']}"
        f" (owner #{report['owner_id']})"
    )
    return "\n".join(lines)


def _log_in(config: dict, username: str, password: str) -> Caller:
    with ServiceRpcProxy("accounts", config, timeout=LOGIN_TIMEOUT_SECONDS) as accounts:
        user = accounts.authenticate(username, password)
    return Caller(user_id=user["id"], username=user["username"], role=user["role"], team=user.get("team"))


def _user_id(config: dict, caller: Caller, username: str) -> int:
    with ServiceRpcProxy(
        "accounts", config, context_data=caller.to_context(), timeout=LOGIN_TIMEOUT_SECONDS
    ) as accounts:
        for user in accounts.list_users():
            if user["username"] == username:
                return int(user["id"])
    raise CrmError(f"no user {username!r} that you may see", {"owner": ["unknown"]})


def main_cli() -> int:
    return main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main_cli())
