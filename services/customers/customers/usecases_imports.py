"""Customer imports: submitting a file as a background job, reading jobs, and what the runner
(`customers.import_runner`) does with each batch — `check_rows` (the entry schema and
`prepare_fields`: no database) splits it into report lines the file decides and candidates;
`write_candidates` asks `find_matches` (the entry's own rules, regions included) for each
candidate and writes the new customers set-wise with their ``customer_created`` events."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import eventlet

from crm_common.caller import Caller
from crm_common.clock import utcnow
from crm_common.errors import InvalidInput
from customers import domain, importing
from customers.constants import MAX_IMPORT_BYTES, QUEUED
from customers.exceptions import MalformedImport
from customers.normalize import analyse_company_name
from customers.store import row_values, snapshot_of, stored
from customers.usecases_common import People, Settings, caller_as_owner
from customers.usecases_matching import duplicate_message
from customers.usecases_pool import room_for

REPORT_NAME_LENGTH = 200  # a name longer than the entry schema allows is shown cut
REPORT_ERROR_LENGTH = 300
YIELD_EVERY = 5  # rows parsed or checked between two yields to other greenthreads (~1 ms of CPU each)
FIRST_PAGE = {"status": None, "page": 1, "per_page": 500}


# --------------------------------------------------------------------------- submitting and reading


def import_owner(caller: Caller, owner_id: int | None, *, people: People) -> domain.Owner:
    """Who the imported customers are for: the caller, or a user the caller may assign to."""
    if owner_id is None or owner_id == caller.user_id:
        domain.check_may_own_import(caller)
        return caller_as_owner(caller, people)
    user = people.user(owner_id)
    domain.check_may_assign(caller, user, "import customers")
    assert user is not None  # check_may_assign refuses None
    return domain.Owner(user["id"], user["display_name"], user.get("team"))


def import_sheet(csv_base64: str) -> tuple[bytes, importing.ImportSheet]:
    """The file, decoded and checked as a whole; MalformedImport refuses it."""
    try:
        data = base64.b64decode(csv_base64 or "", validate=True)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise MalformedImport("the file must be sent base64-encoded") from exc
    if len(data) > MAX_IMPORT_BYTES:
        raise MalformedImport(f"the file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB: split it")
    try:
        return data, importing.open_import(data)
    except importing.MalformedImport as exc:
        raise MalformedImport(str(exc)) from exc


def import_customers(
    store: Any, caller: Caller, csv_base64: str, options: dict, *, people: People, settings: Settings
) -> dict:
    """Queue an import job for a file that passes the whole-file checks; the job with its first page."""
    owner = import_owner(caller, options["owner_id"], people=people)
    data, sheet = import_sheet(csv_base64)
    job = store.add_import_job(
        state=QUEUED,
        dry_run=bool(options.get("dry_run")),
        filename=options.get("filename"),
        content=data,
        phone_region=settings.phone_region,
        owner_id=owner.user_id,
        owner_name=owner.display_name,
        team=owner.team,
        submitted_by=caller.user_id,
        submitted_at=utcnow(),
        total_rows=sheet.row_count,
        rows_done=0,
        created=0,
        duplicates=0,
        invalid=0,
        attempts=0,
    )
    return store.import_job_report(job, FIRST_PAGE)  # type: ignore[no-any-return]


def get_import_job(store: Any, caller: Caller, job_id: int, query: dict) -> dict:
    return store.import_job_report(store.visible_import_job(caller, job_id), query)  # type: ignore[no-any-return]


def list_import_jobs(store: Any, caller: Caller, query: dict) -> dict:
    return store.import_jobs_page(caller, query)  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- checking a batch


@dataclass
class Candidate:
    """A row that passed every check of its own; the database decides created or duplicate."""

    line: dict[str, Any]
    fields: dict[str, Any]
    name_key: str
    phones: list[str]
    region: str | None = None  # the name's explicit region (normalize.CompanyName)


def report_line(row: importing.ImportRow, status: str, **values: Any) -> dict[str, Any]:
    name = row.fields["name"]
    return {
        "line": row.line_number,
        "status": status,
        "name": _cut(name, REPORT_NAME_LENGTH) if name is not None else None,
        "customer_id": None,
        # an error may quote the cell (an invalid phone …): a cell of any length stays a short line
        "errors": [_cut(error, REPORT_ERROR_LENGTH) for error in row.errors],
        "field_errors": row.field_errors,
        "duplicate_of": None,
        **values,
    }


def _cut(text: str, length: int) -> str:
    return text if len(text) <= length else text[:length] + "…"


def check_rows(
    rows: list[importing.ImportRow], phone_region: str, timezone: ZoneInfo
) -> tuple[list[dict[str, Any]], list[Candidate]]:
    """Split a batch into its report lines decided by the file alone and the candidates."""
    decided: list[dict[str, Any]] = []
    candidates: list[Candidate] = []
    for count, row in enumerate(rows, 1):
        if count % YIELD_EVERY == 0:
            eventlet.sleep(0)
        if not row.is_valid:
            decided.append(report_line(row, "duplicate" if row.valid_but_repeated else "invalid"))
            continue
        visit = row.fields["next_visit_at"]
        try:
            fields = domain.prepare_fields(
                {
                    **row.fields,
                    "referred_by": None,
                    "next_visit_at": datetime.fromisoformat(visit) if visit else None,
                },
                phone_region,
                timezone,
            )
        except InvalidInput as invalid:
            decided.append(report_line(row, "invalid", errors=[invalid.message, str(invalid.details)]))
            continue
        name = analyse_company_name(fields["name"])
        candidates.append(
            Candidate(
                report_line(row, "created"),
                fields,
                name.key,
                domain.all_phones(fields["phones"], fields["contacts"]),
                name.region,
            )
        )
    return decided, candidates


def _match_view(match: domain.Match, customer: Any) -> dict[str, Any]:
    return {
        "customer_id": customer.id,
        "name": customer.name,
        "owner": customer.owner_name,
        "owner_id": customer.owner_id,
        "status": customer.status,
        "matched_on": list(match.matched_on),
        "score": match.score,
        "reason": match.reason,
    }


def write_candidates(
    store: Any, job: Any, candidates: list[Candidate], event_data: Callable[[Any], dict[str, Any]]
) -> list[dict[str, Any]]:
    """The candidates' report lines: duplicates of stored customers, else created — set-wise: one
    lookup of every exact key (`batch_matches`), one multi-row insert per table, the
    ``customer_created`` events."""
    if not candidates:
        return []
    exact_of, summaries = batch_matches(store, candidates)
    lines: list[dict[str, Any]] = []
    new: list[Candidate] = []
    for candidate, exact in zip(candidates, exact_of, strict=True):
        if not exact:
            new.append(candidate)
            continue
        best = domain.rank_matches(candidate.name_key, candidate.phones, exact, [], region=candidate.region)[
            0
        ]
        customer = summaries.get(best.customer_id)
        lines.append(
            {
                **candidate.line,
                "status": "duplicate",
                "errors": [duplicate_message(customer)],
                "duplicate_of": _match_view(best, customer) if customer is not None else None,
            }
        )
    new, over_limit = _within_limit(store, job, new)
    lines += over_limit
    if job.dry_run or not new:
        return lines + [candidate.line for candidate in new]
    now = utcnow()
    values = [
        {
            **row_values({field: c.fields[field] for field in domain.AMENDABLE_FIELDS}),
            "owner_id": job.owner_id,
            "owner_name": job.owner_name,
            "team": job.team,
            "owned_since": now,
            "status": domain.ACTIVE,
            "revision": 1,
            "entered_by": job.submitted_by,
            "entered_at": now,
        }
        for c in new
    ]
    customers = store.insert_imported(
        values,
        [domain.exact_keys(c.name_key, c.phones, c.region) for c in new],
        [sorted(domain.candidate_keys(c.name_key, c.phones)) for c in new],
        [snapshot_of(_Row(row)) for row in values],
        job.owner_id,
        job.submitted_by,
        now,
    )
    store.emit_many("customer_created", [event_data(customer) for customer in customers])
    return lines + [
        {**c.line, "customer_id": customer.id} for customer, c in zip(customers, new, strict=True)
    ]


def batch_matches(
    store: Any, candidates: list[Candidate]
) -> tuple[list[dict[int, list[str]]], dict[int, Any]]:
    """The stored customers each candidate matches exactly, {customer id: matched kinds}, by the
    entry's own rules (`usecases_matching.find_matches` with ``similar=False``): a customer holding
    one of its `domain.name_block_keys` or phones, and one with the same name key in another region
    when `domain.blocks_same_name` says so (a name without region is blocked by every region).
    Set-wise: one query for the whole batch's keys, one for the summaries of what it found."""
    names = {key for c in candidates for _kind, key in domain.name_block_keys(c.name_key, c.region)}
    phones = {phone for c in candidates for phone in c.phones}
    held, same = store.batch_holders(names, phones, {c.name_key for c in candidates})
    # the first MAX_POSTINGS holders of a name key in other regions are enough (see find_matches)
    same = {name_key: ids[: domain.MAX_POSTINGS] for name_key, ids in same.items()}
    summaries = store.summaries(
        {cid for ids in held.values() for cid in ids} | {cid for ids in same.values() for cid in ids}
    )
    exact_of: list[dict[int, list[str]]] = []
    for candidate in candidates:
        exact: dict[int, list[str]] = {}
        keys = domain.name_block_keys(candidate.name_key, candidate.region)
        keys += [(domain.PHONE_KEY, phone) for phone in candidate.phones]
        for kind, key in keys:
            for customer_id in held.get((kind, key), ()):
                if kind not in (kinds := exact.setdefault(customer_id, [])):
                    kinds.append(kind)
        for customer_id in same.get(candidate.name_key, ()):
            other = summaries.get(customer_id)
            if other is None or not domain.blocks_same_name(candidate.region, stored(other).region):
                continue
            if domain.NAME_KEY not in (kinds := exact.setdefault(customer_id, [])):
                kinds.insert(0, domain.NAME_KEY)
        exact_of.append(exact)
    return exact_of, summaries


def _within_limit(store: Any, job: Any, new: list[Candidate]) -> tuple[list[Candidate], list[dict[str, Any]]]:
    """The candidates the owner may still hold by the team's pool rules (`usecases_pool`), and the
    report lines of the rest: refused like an entry beyond the limit (invalid, with the reason)."""
    room = room_for(store, job.owner_id, job.team)
    if len(new) <= room:
        return new, []
    message = f"客户数已达上限（customer_limit_reached）：{job.owner_name or job.owner_id} 不能再拥有更多客户"
    return new[:room], [{**c.line, "status": "invalid", "errors": [message]} for c in new[room:]]


class _Row:
    """A row's values read as attributes (what `snapshot_of` reads of a customer)."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)
