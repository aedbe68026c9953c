"""Import jobs in the database: the `Store` mixin for submitting, reading and writing a batch
set-wise (see `customers.store`), and `ImportLeases`, the runner's claims on jobs (its own short
transactions on the engine, outside any worker)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Engine, Table, and_, bindparam, func, insert, literal, or_, select, union_all, update
from sqlalchemy.orm import Session

from crm_common.caller import Caller
from customers import domain
from customers.constants import FAILED, FINISHED, QUEUED, RUNNING
from customers.exceptions import ImportJobNotFound
from customers.models import (
    Customer,
    CustomerKey,
    FuzzyKey,
    ImportJob,
    ImportJobRow,
    OwnershipChange,
    Revision,
)
from customers.store_customers import rowcount

__all__ = ["FAILED", "FINISHED", "QUEUED", "RUNNING", "ImportLeases", "ImportRecords"]

HIDDEN_JOB_COLUMNS = ("content", "claim_token", "lease_until", "attempts", "phone_region")
_SAME_NAME = "same_name"  # marks the ``k:`` postings in a batch lookup

# the exact keys and whole-name postings of a whole batch, in one round trip (see `batch_holders`)
_BATCH_HOLDERS = union_all(
    select(CustomerKey.kind, CustomerKey.key, CustomerKey.customer_id).where(
        CustomerKey.kind == domain.NAME_KEY, CustomerKey.key.in_(bindparam("names", expanding=True))
    ),
    select(CustomerKey.kind, CustomerKey.key, CustomerKey.customer_id).where(
        CustomerKey.kind == domain.PHONE_KEY, CustomerKey.key.in_(bindparam("phones", expanding=True))
    ),
    select(literal(_SAME_NAME).label("kind"), FuzzyKey.key, FuzzyKey.customer_id).where(
        FuzzyKey.key.in_(bindparam("same_names", expanding=True))
    ),
)


def _table(model: Any) -> Table:
    return cast(Table, model.__table__)


def job_fields(job: ImportJob) -> dict[str, Any]:
    """What callers see of a job (never its file, lease or token)."""
    return {
        column.key: getattr(job, column.key)
        for column in _table(ImportJob).columns
        if column.key not in HIDDEN_JOB_COLUMNS
    }


def _visible_to(caller: Caller) -> Any:
    if caller.is_admin:
        return None
    mine = or_(ImportJob.submitted_by == caller.user_id, ImportJob.owner_id == caller.user_id)
    if caller.is_manager and caller.team:
        return or_(mine, ImportJob.team == caller.team)
    return mine


class ImportRecords:
    """Import jobs and their rows (a mixin of `customers.store.Store`)."""

    session: Session

    def add_import_job(self, **values: Any) -> ImportJob:
        job = ImportJob(**values)
        self.session.add(job)
        self.session.flush()
        return job

    def visible_import_job(self, caller: Caller, job_id: int) -> ImportJob:
        """The job if the caller submitted it, it is for them, or they manage its team (admins:
        any); ImportJobNotFound otherwise."""
        statement = select(ImportJob).where(ImportJob.id == job_id)
        if (visible := _visible_to(caller)) is not None:
            statement = statement.where(visible)
        job = self.session.scalar(statement) if 0 < job_id <= domain.MAX_ID else None
        if job is None:
            raise ImportJobNotFound(f"no import job {job_id}", {"job_id": job_id})
        return job

    def import_job_report(self, job: ImportJob, query: dict[str, Any]) -> dict[str, Any]:
        """The job with one page of its report rows (file order), optionally of one status."""
        condition = ImportJobRow.job_id == job.id
        if query.get("status"):
            condition = and_(condition, ImportJobRow.status == query["status"])
        matching = self.session.scalar(select(func.count()).select_from(ImportJobRow).where(condition)) or 0
        rows = self.session.scalars(
            select(ImportJobRow)
            .where(condition)
            .order_by(ImportJobRow.line)
            .offset((query["page"] - 1) * query["per_page"])
            .limit(query["per_page"])
        )
        return {
            **job_fields(job),
            "rows": [
                {
                    "line": row.line,
                    "status": row.status,
                    "name": row.name,
                    "customer_id": row.customer_id,
                    "errors": row.errors,
                    "field_errors": row.field_errors,
                    "duplicate_of": row.duplicate_of,
                }
                for row in rows
            ],
            "page": query["page"],
            "per_page": query["per_page"],
            "rows_matching": matching,
        }

    def import_jobs_page(self, caller: Caller, query: dict[str, Any]) -> dict[str, Any]:
        """The imports the caller may see, newest first."""
        statement = select(ImportJob)
        if (visible := _visible_to(caller)) is not None:
            statement = statement.where(visible)
        total = self.session.scalar(select(func.count()).select_from(statement.subquery())) or 0
        jobs = self.session.scalars(
            statement.order_by(ImportJob.id.desc())
            .offset((query["page"] - 1) * query["per_page"])
            .limit(query["per_page"])
        )
        return {
            "items": [job_fields(job) for job in jobs],
            "total": total,
            "page": query["page"],
            "per_page": query["per_page"],
        }

    def batch_holders(
        self, names: Collection[str], phones: Collection[str], name_keys: Collection[str]
    ) -> tuple[dict[tuple[str, str], list[int]], dict[str, list[int]]]:
        """For a whole batch, in one query: the customers holding each exact key — the name keys
        ``names`` and the ``phones`` — as {(kind, key): [customer ids]}, and the customers whose
        whole name key is one of ``name_keys`` in any region (their ``k:`` posting), as
        {name key: [customer ids]}, ids ascending."""
        if not (names or phones or name_keys):
            return {}, {}
        same_names = {domain.same_name_key(name_key): name_key for name_key in name_keys}
        held: dict[tuple[str, str], list[int]] = {}
        same: dict[str, list[int]] = {}
        rows = self.session.execute(
            _BATCH_HOLDERS,
            {"names": sorted(set(names)), "phones": sorted(set(phones)), "same_names": sorted(same_names)},
        )
        for kind, key, customer_id in sorted(rows, key=lambda row: row[2]):
            if kind == _SAME_NAME:
                same.setdefault(same_names[key], []).append(customer_id)
            else:
                held.setdefault((kind, key), []).append(customer_id)
        return held, same

    def insert_imported(
        self,
        values: Sequence[dict[str, Any]],
        keys: Sequence[list[tuple[str, str]]],
        fuzzy: Sequence[Sequence[str]],
        snapshots: Sequence[dict[str, Any]],
        owner_id: int,
        entered_by: int,
        now: datetime,
    ) -> list[Customer]:
        """Enter customers set-wise, one multi-row INSERT per table: the rows (``values``), their
        exact ``keys`` (raises IntegrityError if one is taken), their ``fuzzy`` keys, revision 1
        (``snapshots`` of each, computed from its row) and the ownership change "entered"."""
        table = _table(Customer)
        # one multi-row INSERT … RETURNING id, ids in the order of the rows (Core: no unit of work)
        ids = self.session.scalars(
            insert(table).returning(table.c.id, sort_by_parameter_order=True), list(values)
        ).all()
        customers = [Customer(id=customer_id, **row) for customer_id, row in zip(ids, values, strict=True)]
        self.session.execute(
            insert(_table(CustomerKey)),
            [
                {"kind": kind, "key": key, "customer_id": customer.id}
                for customer, held in zip(customers, keys, strict=True)
                for kind, key in held
            ],
        )
        fuzzy_rows = [
            {"key": key, "customer_id": customer.id}
            for customer, indexed in zip(customers, fuzzy, strict=True)
            for key in indexed
        ]
        if fuzzy_rows:
            self.session.execute(insert(_table(FuzzyKey)), fuzzy_rows)
        self.session.execute(
            insert(_table(Revision)),
            [
                {
                    "customer_id": customer.id,
                    "revision": 1,
                    "snapshot": snapshot,
                    "changed_fields": [],
                    "reason": "entered",
                    "changed_by": entered_by,
                    "changed_at": now,
                }
                for customer, snapshot in zip(customers, snapshots, strict=True)
            ],
        )
        self.session.execute(
            insert(_table(OwnershipChange)),
            [
                {
                    "customer_id": customer.id,
                    "to_owner_id": owner_id,
                    "to_status": domain.ACTIVE,
                    "reason": "entered",
                    "changed_by": entered_by,
                    "changed_at": now,
                }
                for customer in customers
            ],
        )
        return customers

    def add_import_rows(self, job_id: int, lines: Sequence[dict[str, Any]]) -> None:
        self.session.execute(insert(_table(ImportJobRow)), [{"job_id": job_id, **line} for line in lines])

    def advance_import_job(
        self,
        job_id: int,
        token: str,
        rows_done: int,
        batch_rows: int,
        counts: dict[str, int],
        lease_until: datetime,
        now: datetime,
    ) -> bool:
        """Count a batch done, if this runner (``token``) still holds the job at ``rows_done``."""
        moved = self.session.execute(
            update(ImportJob)
            .where(ImportJob.id == job_id, ImportJob.claim_token == token, ImportJob.rows_done == rows_done)
            .values(
                rows_done=rows_done + batch_rows,
                created=ImportJob.created + counts["created"],
                duplicates=ImportJob.duplicates + counts["duplicate"],
                invalid=ImportJob.invalid + counts["invalid"],
                lease_until=lease_until,
                updated_at=now,
                attempts=0,
            )
            .execution_options(synchronize_session=False)
        )
        return rowcount(moved) == 1

    def end_import_job(
        self, job_id: int, token: str, state: str, rows_done: int | None, error: str | None, now: datetime
    ) -> ImportJob | None:
        """Finish (or fail) the job if this runner still holds it (at ``rows_done``, when given):
        its file is dropped. None when another runner holds it now."""
        conditions = [ImportJob.id == job_id, ImportJob.claim_token == token]
        if rows_done is not None:
            conditions.append(ImportJob.rows_done == rows_done)
        ended = self.session.execute(
            update(ImportJob)
            .where(*conditions)
            .values(
                state=state,
                error=error,
                content=None,
                claim_token=None,
                lease_until=None,
                finished_at=now,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        if rowcount(ended) != 1:
            return None
        return self.session.get(ImportJob, job_id)


class ImportLeases:
    """The runner's leases on import jobs, each in a short transaction of its own."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def claim(self, lease: timedelta, now: datetime) -> tuple[int, str, int] | None:
        """Lease the oldest job nobody works on (queued, or running with an expired lease):
        (job id, token, attempts) or None."""
        table = _table(ImportJob)
        token = str(uuid.uuid4())
        claimable = and_(
            table.c.state.in_((QUEUED, RUNNING)),
            or_(table.c.lease_until.is_(None), table.c.lease_until < now),
        )
        candidates = select(table.c.id).where(claimable).order_by(table.c.id).limit(1)
        if self.engine.dialect.name == "postgresql":
            candidates = candidates.with_for_update(skip_locked=True)
        with self.engine.begin() as conn:
            conn.execute(
                update(table)
                .where(table.c.id.in_(candidates), claimable)
                .values(
                    state=RUNNING,
                    claim_token=token,
                    lease_until=now + lease,
                    attempts=table.c.attempts + 1,
                    started_at=func.coalesce(table.c.started_at, now),
                    updated_at=now,
                )
            )
            row = conn.execute(
                select(table.c.id, table.c.attempts).where(table.c.claim_token == token)
            ).first()
        return None if row is None else (row.id, token, row.attempts)

    def load(self, job_id: int) -> ImportJob:
        """The job, detached (its file included)."""
        with Session(self.engine) as session:
            job = session.get(ImportJob, job_id)
            assert job is not None
            session.expunge(job)
        return job

    def renew(self, job_id: int, token: str, until: datetime) -> bool:
        with self.engine.begin() as conn:
            renewed = conn.execute(
                update(_table(ImportJob))
                .where(ImportJob.id == job_id, ImportJob.claim_token == token)
                .values(lease_until=until)
            )
        return rowcount(renewed) == 1

    def give_back(self, job_id: int, token: str, error: str | None, lease_until: datetime | None) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(_table(ImportJob))
                .where(ImportJob.id == job_id, ImportJob.claim_token == token)
                .values(claim_token=None, lease_until=lease_until, error=error)
            )


# the states of a job, re-exported for the runner
STATES = (QUEUED, RUNNING, FINISHED, FAILED)
