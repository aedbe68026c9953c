"""The import runner: background import jobs (`customers.import_jobs`) worked through beside the
RPC workers.

``import_customers`` only checks the file as a whole (`importing.open_import`: encoding, CSV,
header), stores it in ``import_jobs`` and answers with the job. An `ImportRunner` — a few
greenthreads per service instance (``IMPORT_WORKERS``, default 1), outside nameko's worker pool,
so a job never takes a slot an RPC or an event needs — claims queued jobs and works through them:

- **Claim with a lease.** A runner takes a job with a token and ``lease_until`` (``FOR UPDATE SKIP
  LOCKED`` on PostgreSQL, a conditional UPDATE on SQLite), as the outbox relay claims rows; with
  several instances one works on a job at a time. A runner renews the lease with every batch; a
  killed one's job is taken again when its lease runs out, a stopped one gives its job back.
- **Batches.** ``IMPORT_BATCH_ROWS`` rows are parsed and checked (entry schema, `prepare_fields`)
  before the transaction starts, then their exact keys are looked up in one query, and the new
  customers, keys, fuzzy keys, revisions, ownership changes, ``customer_created`` outbox rows,
  report rows and the job's progress are written set-wise and committed together. The progress
  update is conditional on the token and on ``rows_done``, so a runner that lost its lease
  commits nothing, and a resumed job (the file parsed again up to ``rows_done``, which rebuilds
  the in-file duplicate state) creates nothing twice.
- **Fairness.** The runner yields to other greenthreads while parsing and between batches, and
  holds a database connection only for a batch's writes (SQLite has one per process). Its share of
  the instance is bounded: after a batch during which the process used ``t`` seconds of CPU (the
  batch's own and whatever else ran meanwhile), a runner rests ``t * (1 - share) / share``
  (``IMPORT_SHARE``, default 0.5): a job takes at most half of the instance's CPU, and backs off
  further while RPCs and events keep the process busy.
- The end of a job is a ``customer_import_finished`` event with its counts (also on failure).
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import eventlet
from eventlet.queue import Empty, Full, LightQueue
from nameko.extensions import DependencyProvider
from sqlalchemy import Engine

from crm_common.clock import utcnow
from crm_common.db import Database, UnitOfWork
from crm_common.localtime import DEFAULT_TIMEZONE, timezone_name
from customers import importing
from customers.constants import FAILED, FINISHED, FINISHED_EVENT
from customers.models import Customer, ImportJob
from customers.store import ImportLeases, Store, retry_on_race
from customers.usecases_imports import YIELD_EVERY, check_rows, write_candidates

log = logging.getLogger(__name__)

RENEW_EVERY = 2000  # rows parsed again on resuming between two renewals of the lease
BATCH_ATTEMPTS = 3  # a batch that lost a race for a key is checked again; more means contention


class LeaseLost(RuntimeError):
    """Another runner holds the job now (this one was too slow or was presumed dead)."""


@dataclass(frozen=True)
class RunnerSettings:
    workers: int = 1
    batch_rows: int = 500
    lease: timedelta = timedelta(seconds=60)
    poll_seconds: float = 2.0
    max_attempts: int = 5
    stop_seconds: float = 10.0
    share: float = 0.5
    phone_region: str = "CN"
    timezone: str = DEFAULT_TIMEZONE

    def rest_after(self, busy_seconds: float) -> float:
        """How long a runner rests after a batch during which the process used ``busy_seconds``
        of CPU: the job's share of the instance stays at most ``share``."""
        return max(busy_seconds, 0.0) * (1.0 - self.share) / self.share

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> RunnerSettings:
        return cls(
            workers=int(config.get("IMPORT_WORKERS", 1)),
            batch_rows=int(config.get("IMPORT_BATCH_ROWS", 500)),
            lease=timedelta(seconds=float(config.get("IMPORT_LEASE_SECONDS", 60))),
            poll_seconds=float(config.get("IMPORT_POLL_SECONDS", 2.0)),
            max_attempts=int(config.get("IMPORT_MAX_ATTEMPTS", 5)),
            share=_share(config.get("IMPORT_SHARE", 0.5)),
            phone_region=config.get("PHONE_REGION") or "CN",
            timezone=timezone_name(config),
        )


def _share(value: Any) -> float:
    share = float(value)
    if not 0.0 < share <= 1.0:
        raise ValueError(f"IMPORT_SHARE must be in (0, 1], not {value!r}")
    return share


# --------------------------------------------------------------------------- the runner


@dataclass
class ClaimedJob:
    id: int
    token: str
    attempts: int


class ImportRunner(DependencyProvider):
    """Runs import jobs in this service instance, outside the worker pool (see the module doc).

    ``event_data`` turns a created customer into its ``customer_created`` payload (the service's).
    """

    def __init__(self, event_data: Callable[[Customer], dict[str, Any]]) -> None:
        self.event_data = event_data
        self._threads: list[Any] = []
        self._running = False

    def setup(self) -> None:
        self.settings = RunnerSettings.from_config(self.container.config)
        self.database: Database = next(
            dependency for dependency in self.container.dependencies if isinstance(dependency, Database)
        )
        self.timezone = ZoneInfo(self.settings.timezone)
        self._nudges: LightQueue = LightQueue(maxsize=max(self.settings.workers, 1))

    def start(self) -> None:
        self._running = True
        for number in range(self.settings.workers):
            self._threads.append(
                self.container.spawn_managed_thread(self.run, identifier=f"import-runner-{number}")
            )

    def stop(self) -> None:
        """Let each runner finish its batch and give its job back, so a restart resumes at once."""
        self._running = False
        for _ in self._threads:
            self.nudge()
        for thread in self._threads:
            with eventlet.Timeout(self.settings.stop_seconds, False):
                thread.wait()
        self._threads = []

    def kill(self) -> None:
        self._running = False  # the container kills the threads; the leases run out

    def get_dependency(self, worker_ctx: Any) -> ImportRunner:
        return self

    def worker_result(self, worker_ctx: Any, result: Any = None, exc_info: Any = None) -> None:
        # called after the entrypoint's transaction committed: the new job is there to claim
        if worker_ctx.entrypoint.method_name == "import_customers" and exc_info is None:
            self.nudge()

    def nudge(self) -> None:
        with suppress(Full):
            self._nudges.put_nowait(True)

    @property
    def engine(self) -> Engine:
        return self.database.engine

    # --- the loop ----------------------------------------------------------------------------

    def run(self) -> None:
        """Claim a job, work through it, look again; wait for a nudge or the poll when idle."""
        backoff = self.settings.poll_seconds
        while self._running:
            try:
                claimed = self.claim()
            except Exception as exc:  # database away: try again later
                log.warning("import runner could not claim a job (%s); retrying in %.1fs", exc, backoff)
                eventlet.sleep(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            backoff = self.settings.poll_seconds
            if claimed is None:
                with suppress(Empty):
                    self._nudges.get(timeout=self.settings.poll_seconds)
                continue
            try:
                self.run_job(claimed)
            except LeaseLost:
                log.warning("import job %s: lease lost, another runner has it", claimed.id)
            except Exception as exc:
                log.exception("import job %s stopped on an error; it is retried", claimed.id)
                with suppress(Exception):
                    self._give_back(claimed, str(exc), retry_in=self.settings.poll_seconds * claimed.attempts)

    def claim(self) -> ClaimedJob | None:
        """Lease the oldest job nobody works on (queued, or running with an expired lease)."""
        row = ImportLeases(self.engine).claim(self.settings.lease, utcnow())
        if row is None:
            return None
        claimed = ClaimedJob(*row)
        if claimed.attempts > self.settings.max_attempts:
            self._end(
                claimed, FAILED, error=f"stopped after {claimed.attempts - 1} attempts without progress"
            )
            return None
        return claimed

    def run_job(self, claimed: ClaimedJob) -> None:
        job = ImportLeases(self.engine).load(claimed.id)
        content, rows_done, phone_region = job.content or b"", job.rows_done, job.phone_region
        log.info("import job %s: claimed at row %s of %s", claimed.id, rows_done, job.total_rows)
        try:
            sheet = importing.open_import(content)
        except importing.MalformedImport as exc:  # checked at submit: only a changed parser gets here
            self._end(claimed, FAILED, error=str(exc))
            return
        rows = _yielding(sheet.rows(phone_region))
        # the rows already done are parsed again (it rebuilds the in-file duplicate state), keeping
        # the lease while that takes long
        for count, _row in enumerate(itertools.islice(rows, rows_done), 1):
            if count % RENEW_EVERY == 0:
                self._renew(claimed)
        while True:
            if not self._running:
                self._give_back(claimed, None, retry_in=0)
                return
            cpu_before = time.process_time()
            batch = list(itertools.islice(rows, self.settings.batch_rows))
            if not batch:
                break
            rows_done = self.commit_batch(claimed, job, rows_done, batch)
            eventlet.sleep(self.settings.rest_after(time.process_time() - cpu_before))
        self._end(claimed, FINISHED, rows_done=rows_done)

    def commit_batch(
        self, claimed: ClaimedJob, job: ImportJob, rows_done: int, batch: list[importing.ImportRow]
    ) -> int:
        """Check, create and report one batch, with the job's progress, in one transaction."""
        decided, candidates = check_rows(batch, job.phone_region, self.timezone)
        eventlet.sleep(0)

        def attempt() -> dict[str, int]:
            unit = UnitOfWork(self.database.sessions, self.container.service_name)
            attempts.append(unit)
            store = Store(unit)
            lines = decided + write_candidates(store, job, candidates, self.event_data)
            counts = {
                status: sum(1 for line in lines if line["status"] == status)
                for status in ("created", "duplicate", "invalid")
            }
            store.add_import_rows(job.id, lines)
            now = utcnow()
            if not store.advance_import_job(
                job.id, claimed.token, rows_done, len(batch), counts, now + self.settings.lease, now
            ):
                unit.rollback()
                raise LeaseLost(job.id)
            unit.commit()
            return counts

        def rollback() -> None:  # someone entered one of these customers meanwhile: look again
            attempts[-1].rollback()
            log.info("import job %s: a key of this batch was just taken; checking again", job.id)

        attempts: list[UnitOfWork] = []
        try:
            counts = retry_on_race(
                attempt,
                attempts=BATCH_ATTEMPTS,
                rollback=rollback,
                gave_up=lambda: LeaseLost(
                    f"job {job.id}: the batch after row {rows_done} kept losing races; retried later"
                ),
            )
        finally:
            for unit in attempts:
                unit.close()
        if counts["created"] and not job.dry_run and self.database.relay is not None:
            self.database.relay.nudge()
        return rows_done + len(batch)

    def _end(
        self, claimed: ClaimedJob, state: str, rows_done: int | None = None, error: str | None = None
    ) -> None:
        """Finish (or fail) the job if this runner still holds it, with its event."""
        unit = UnitOfWork(self.database.sessions, self.container.service_name)
        try:
            now = utcnow()
            job = Store(unit).end_import_job(claimed.id, claimed.token, state, rows_done, error, now)
            if job is None:
                raise LeaseLost(claimed.id)
            unit.emit(
                FINISHED_EVENT,
                {
                    "job_id": job.id,
                    "state": state,
                    "dry_run": job.dry_run,
                    "filename": job.filename,
                    "owner_id": job.owner_id,
                    "owner_name": job.owner_name,
                    "team": job.team,
                    "submitted_by": job.submitted_by,
                    "total_rows": job.total_rows,
                    "rows_done": job.rows_done,
                    "created": job.created,
                    "duplicates": job.duplicates,
                    "invalid": job.invalid,
                    "error": error,
                    "finished_at": now.isoformat(),
                },
            )
            unit.commit()
        except BaseException:
            unit.rollback()
            raise
        finally:
            unit.close()
        if self.database.relay is not None:
            self.database.relay.nudge()
        log.info("import job %s %s", claimed.id, state)

    def _renew(self, claimed: ClaimedJob) -> None:
        if not ImportLeases(self.engine).renew(claimed.id, claimed.token, utcnow() + self.settings.lease):
            raise LeaseLost(claimed.id)

    def _give_back(self, claimed: ClaimedJob, error: str | None, retry_in: float) -> None:
        """Release the job (stopping, or after an error: to be retried in ``retry_in`` s)."""
        ImportLeases(self.engine).give_back(
            claimed.id, claimed.token, error, utcnow() + timedelta(seconds=retry_in) if retry_in else None
        )


def _yielding(rows: Iterator[importing.ImportRow]) -> Iterator[importing.ImportRow]:
    """The rows, letting other greenthreads run every few rows: parsing is pure CPU."""
    for count, row in enumerate(rows, 1):
        if count % YIELD_EVERY == 0:
            eventlet.sleep(0)
        yield row
