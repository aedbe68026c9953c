"""Customers: one owner per customer — duplicate blocking, ownership, append-only records,
follow-ups, referrals, claims, near-duplicates, the team pool and imports.

Entrypoints only (the pool rules' in ``service_pool``, offboarding's in ``service_offboarding``,
mixed in; the fuzzy duplicate scan runs in a process of its own, ``service_scanner``): each
validates (schemas), calls one use case (``usecases_<area>``: entry,
reading, amendments, ownership, claims, duplicates, imports) with the `Store` (all SQL), the
caller, the clock and the other services' clients, and dumps (schemas). Other services are asked
before this worker writes anything, so no transaction is held open across the network.
"""

from __future__ import annotations

from nameko.dependency_providers import Config
from nameko.rpc import rpc

from crm_common.clock import Clock
from crm_common.db import Database, Transactions, read_only
from crm_common.directory import Directory
from crm_common.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    ServiceUnavailable,
    Unauthenticated,
)
from crm_common.idempotency import idempotent
from crm_common.identity import CallerIdentity
from crm_common.localtime import zone
from crm_common.service import HealthCheck
from crm_common.validation import load
from customers import import_runner
from customers import usecases_amendments as amendments
from customers import usecases_claims as claims
from customers import usecases_duplicates as duplicates
from customers import usecases_entry as entry
from customers import usecases_imports as import_cases
from customers import usecases_ownership as ownership
from customers import usecases_pool as pool
from customers import usecases_reading as reading
from customers.dependencies import Knowledge
from customers.models import Base, Customer
from customers.schemas import (
    AbandonSchema,
    AmendmentRequestSchema,
    AmendmentSchema,
    CheckResultSchema,
    CheckSchema,
    ClaimOutSchema,
    ClaimSchema,
    CustomerPageSchema,
    CustomerSchema,
    DecisionSchema,
    DisputeSchema,
    FollowupOutSchema,
    FollowupSchema,
    FollowupsSinceSchema,
    HistorySchema,
    ImportJobPageSchema,
    ImportJobQuerySchema,
    ImportJobSchema,
    ImportJobsQuerySchema,
    ImportQuerySchema,
    ListQuerySchema,
    NewCustomerSchema,
    ReferralsSchema,
    ResolveDisputeSchema,
    StatusQuerySchema,
    SuspicionSchema,
    TransferSchema,
)
from customers.service_offboarding import OffboardingEntrypoints
from customers.service_pool import PoolEntrypoints
from customers.store import Store
from customers.usecases_common import Settings, event_data

customer_schema = CustomerSchema()
amendment_schema = AmendmentSchema()
followup_schema = FollowupOutSchema()
claim_schema = ClaimOutSchema()


class CustomersService(PoolEntrypoints, OffboardingEntrypoints, HealthCheck):
    name = "customers"

    db = Database(Base.metadata)
    caller = CallerIdentity()
    clock = Clock()
    config = Config()
    people = Directory()
    alarms = Knowledge()
    imports = import_runner.ImportRunner(event_data=event_data)
    transactions = Transactions()

    # --- entry ---------------------------------------------------------------------------------

    @rpc(expected_exceptions=(Unauthenticated, InvalidInput))
    @read_only
    def check_duplicates(self, payload: dict) -> dict:
        """Whether a name and/or phone being typed is already a customer: ``{duplicate, matches:
        [{customer_id, name, owner, owner_id, status, matched_on, score, reason}]}``, exact matches
        first (``duplicate`` true: entering it would be refused), then near ones. Never contact
        details; the stored ``name`` only of a customer the caller may read or whose name key is
        the typed one (null otherwise: fragments must not list the customer base).
        InvalidInput without a name or phone, or for an invalid phone."""
        caller = self.caller.require()
        typed = load(CheckSchema(), payload)
        return CheckResultSchema().dump(
            entry.check_duplicates(self._store, caller, typed, settings=self._settings)
        )

    @rpc(expected_exceptions=(Unauthenticated, InvalidInput, Conflict))
    @idempotent(read_first=False)  # a repeat collides on its own keys: the log is read only then
    def create_customer(self, payload: dict) -> dict:
        """Enter a customer owned by the caller; emits ``customer_created``. Returns the customer.

        InvalidInput for invalid fields, phones or an unknown ``referred_by``; DuplicateCustomer
        (409) when its name or any phone (its contacts' included) is already a customer's, with
        that customer's id, its owner's display name and what matched. A manager or admin lets
        such an entry through with ``override: {reason}`` (Forbidden for anyone else): recorded in
        the history (ownership change ``duplicate_overridden``) and emitted as
        ``customer_duplicate_overridden``; the keys already held stay with their holders.
        """
        caller = self.caller.require()
        request = load(NewCustomerSchema(), payload)
        customer = pool.create_customer(
            self._store, caller, request, clock=self.clock, people=self.people, settings=self._settings
        )
        return self._dump(customer)

    @rpc(expected_exceptions=(Unauthenticated, Forbidden, InvalidInput, ServiceUnavailable, Conflict))
    @idempotent
    def import_customers(self, csv_base64: str, options: dict | None = None) -> dict:
        """Start importing a CSV exported from a spreadsheet (UTF-8 or GBK, base64) for one owner
        (``options.owner_id``, default the caller; ``options.dry_run`` reports without creating;
        ``options.filename`` names it in the job list), as a background job.

        Returns the queued job at once (see `get_import_job`); every row then goes through the
        checks of ``create_customer``. MalformedImport (400) refuses the whole file, nothing
        queued; Forbidden for an owner outside the caller's team; ServiceUnavailable if accounts
        cannot name the owner.
        """
        caller = self.caller.require()
        options = load(ImportQuerySchema(), options or {})
        job = import_cases.import_customers(
            self._store, caller, csv_base64, options, people=self.people, settings=self._settings
        )
        return ImportJobSchema().dump(job)

    @rpc(expected_exceptions=(Unauthenticated, NotFound, InvalidInput))
    def get_import_job(self, job_id: int, query: dict | None = None) -> dict:
        """An import job: ``state`` (queued, running, finished, failed), ``total_rows``,
        ``rows_done``, ``created``, ``duplicates``, ``invalid``, and one page of the per-row report
        done so far (``rows``, file order; ``query``: ``status``, ``page``, ``per_page``;
        ``rows_matching`` counts all pages). ImportJobNotFound (404) unless the caller submitted
        it, it is for them, or they manage its team."""
        caller = self.caller.require()
        query = load(ImportJobQuerySchema(), query or {})
        return ImportJobSchema().dump(import_cases.get_import_job(self._store, caller, job_id, query))

    @rpc(expected_exceptions=(Unauthenticated, InvalidInput))
    def list_import_jobs(self, query: dict | None = None) -> dict:
        """The imports the caller submitted or that are for them (managers: the team's; admins:
        all), newest first, without their rows: ``{items, total, page, per_page}``."""
        caller = self.caller.require()
        query = load(ImportJobsQuerySchema(), query or {})
        return ImportJobPageSchema().dump(import_cases.list_import_jobs(self._store, caller, query))

    # --- reading -------------------------------------------------------------------------------

    @rpc(expected_exceptions=(Unauthenticated, NotFound, Forbidden))
    @read_only
    def get_customer(self, customer_id: int) -> dict:
        """The customer in full with its latest follow-ups (``id, name, owner_id, owner_name, team,
        status, phones, contacts, …``), for its owner, the team's manager or an admin.
        CustomerNotFound; NotYourCustomer (403) for anyone else."""
        customer, followups = reading.get_customer(self._store, self.caller.require(), customer_id)
        return self._dump(customer, followups=followups)

    @rpc(expected_exceptions=(NotFound,))
    @read_only
    def get_customer_summary(self, customer_id: int) -> dict:
        """For other services (no caller check): ``{id, name, owner_id, team, status, birthday,
        next_visit_at, next_visit_contact}``. CustomerNotFound."""
        return reading.customer_summary(self._store, customer_id)

    @rpc(expected_exceptions=(Unauthenticated, NotFound, Forbidden))
    @read_only
    def require_readable(self, customer_id: int) -> dict:
        """For other services that let the caller refer to a customer (reminders, alarms,
        knowledge entries): ``{id, name, owner_id, team, status}`` when the caller (from the
        context data) may read it in full, as ``get_customer`` decides. CustomerNotFound (404);
        NotYourCustomer (403)."""
        return reading.require_readable(self._store, self.caller.require(), customer_id)

    @rpc(expected_exceptions=(Unauthenticated, InvalidInput))
    def list_customers(self, query: dict | None = None) -> dict:
        """The customers the caller may read (own, the team's, all), newest first:
        ``{items, total, page, per_page}``; ``q`` searches the name, or a phone when it is one."""
        caller = self.caller.require()
        query = load(ListQuerySchema(), query or {})
        return CustomerPageSchema().dump(
            reading.list_customers(self._store, caller, query, settings=self._settings)
        )

    @rpc(expected_exceptions=(Unauthenticated, NotFound, Forbidden))
    def get_history(self, customer_id: int) -> dict:
        """Every revision, ownership change, amendment and claim of a readable customer, each
        with who, when and why: ``{customer_id, revisions, ownership_changes, amendments, claims}``."""
        history = reading.get_history(self._store, self.caller.require(), customer_id, people=self.people)
        return HistorySchema().dump(history)

    @rpc(expected_exceptions=(Unauthenticated, NotFound, Forbidden, InvalidInput))
    def get_referrals(self, customer_id: int, query: dict | None = None) -> dict:
        """Who this customer referred (a tree, ``depth`` levels, default 5) and its chain of
        referrers; cycle-safe (``cycle_detected``). Each node has its id and ``readable``; name
        and owner only where the caller may read that customer (null otherwise)."""
        caller = self.caller.require()
        return ReferralsSchema().dump(reading.get_referrals(self._store, caller, customer_id, query or {}))

    # --- append-only -----------------------------------------------------------------------------

    @rpc(expected_exceptions=(Unauthenticated, NotFound, Forbidden))
    def edit_customer(self, customer_id: int, action: str = "change") -> dict:
        """Always refused: customer records are append-only. ImmutableRecord (403) — corrections
        are amendment requests, and nothing is deleted (admins archive); CustomerNotFound."""
        self.caller.require()
        reading.refuse_edit(self._store, customer_id, action)

    @rpc(expected_exceptions=(Unauthenticated, NotFound, Forbidden))
    def edit_followup(self, customer_id: int, followup_id: int, action: str = "change") -> dict:
        """Always refused: follow-ups are append-only. ImmutableRecord (403); NotFound."""
        self.caller.require()
        reading.refuse_followup_edit(self._store, customer_id, followup_id, action)

    @rpc(expected_exceptions=(Unauthenticated, NotFound, Forbidden, InvalidInput, Conflict))
    @idempotent
    def request_amendment(self, customer_id: int, payload: dict) -> dict:
        """Ask the team's manager to correct a customer: ``{changes, reason}``; emits
        ``amendment_requested``. Returns the pending amendment. NothingToAmend when nothing would
        change; DuplicateCustomer or ReferralCycle when the correction could never be approved."""
        caller = self.caller.require()
        request = load(AmendmentRequestSchema(), payload)
        view = amendments.request_amendment(
            self._store, caller, customer_id, request, clock=self.clock, settings=self._settings
        )
        return amendment_schema.dump(view)

    @rpc(expected_exceptions=(Unauthenticated, NotFound, Forbidden, InvalidInput, Conflict))
    @idempotent
    def approve_amendment(self, customer_id: int, amendment_id: int, payload: dict | None = None) -> dict:
        """The team's manager (or an admin) approves: the changes become a new revision; emits
        ``customer_amended``. Returns the amendment with its ``revision``. Forbidden; NotFound;
        AlreadyDecided; DuplicateCustomer / ReferralCycle if the correction now collides."""
        caller = self.caller.require()
        note = load(DecisionSchema(), payload or {})["note"]
        view = amendments.approve_amendment(
            self._store, caller, customer_id, amendment_id, note, clock=self.clock, people=self.people
        )
        return amendment_schema.dump(view)

    @rpc(expected_exceptions=(Unauthenticated, NotFound, Forbidden, InvalidInput, Conflict))
    @idempotent
    def reject_amendment(self, customer_id: int, amendment_id: int, payload: dict | None = None) -> dict:
        """The team's manager (or an admin) rejects; the request stays in the history.
        Forbidden; NotFound; AlreadyDecided."""
        caller = self.caller.require()
        note = load(DecisionSchema(), payload or {})["note"]
        view = amendments.reject_amendment(
            self._store, caller, customer_id, amendment_id, note, clock=self.clock, people=self.people
        )
        return amendment_schema.dump(view)

    @rpc(expected_exceptions=(Unauthenticated, NotFound, Forbidden))
    def list_amendments(self, customer_id: int) -> list[dict]:
        """Every amendment request of a readable customer, oldest first."""
        views = amendments.list_amendments(
            self._store, self.caller.require(), customer_id, people=self.people
        )
        return amendment_schema.dump(views, many=True)

    @rpc(expected_exceptions=(Unauthenticated,))
    def list_pending_amendments(self) -> list[dict]:
        """Pending amendments the caller decides (a manager: the team's; an admin: all) or made
        (a salesperson: their own)."""
        views = amendments.list_pending_amendments(self._store, self.caller.require(), people=self.people)
        return [{**amendment_schema.dump(view), "customer_name": view["customer_name"]} for view in views]

    @rpc(expected_exceptions=(Unauthenticated, NotFound, Forbidden, InvalidInput, Conflict))
    @idempotent
    def archive_customer(self, customer_id: int, payload: dict) -> dict:
        """An admin archives a customer (never deletes it): it leaves every list and its name and
        phones may be entered again; emits ``customer_archived``. Forbidden; CustomerArchived."""
        caller = self.caller.require()
        return self._dump(
            ownership.archive_customer(self._store, caller, customer_id, payload, clock=self.clock)
        )

    # --- follow-ups ----------------------------------------------------------------------------

    @rpc(expected_exceptions=(Unauthenticated, NotFound, Forbidden, InvalidInput, Conflict))
    @idempotent
    def record_followup(self, customer_id: int, payload: dict) -> dict:
        """Record a call, visit, sample, quote or other contact (``occurred_at`` default now, never
        in the future). Returns the follow-up; it can never be changed."""
        caller = self.caller.require()
        request = load(FollowupSchema(), payload)
        followup = reading.record_followup(
            self._store, caller, customer_id, request, clock=self.clock, settings=self._settings
        )
        return followup_schema.dump(followup)

    @rpc(expected_exceptions=(Unauthenticated, NotFound, Forbidden))
    def list_followups(self, customer_id: int) -> list[dict]:
        """Every follow-up of a readable customer, latest first."""
        followups = reading.list_followups(self._store, self.caller.require(), customer_id)
        return followup_schema.dump(followups, many=True)

    @rpc(expected_exceptions=(Unauthenticated, Forbidden, InvalidInput))
    def followups_since(self, query: dict) -> list[dict]:
        """For the appraisal's replay (a system call, or an admin): ``{since, offset, limit}`` →
        the follow-ups that happened from ``since`` on, oldest first, as ``followup_recorded``
        said them."""
        page = load(FollowupsSinceSchema(), query)
        return reading.followups_since(self._store, self.caller.current, page, self._settings)  # type: ignore[no-any-return]

    @rpc(expected_exceptions=(Unauthenticated, Forbidden, InvalidInput))
    def entered_since(self, query: dict) -> list[dict]:
        """For the appraisal's replay (a system call, or an admin): ``{since, offset, limit}`` →
        the customers entered from ``since`` on, oldest first, with the owner ``customer_created``
        named (the one at entry, whoever owns them now)."""
        page = load(FollowupsSinceSchema(), query)
        return reading.entered_since(self._store, self.caller.current, page)  # type: ignore[no-any-return]

    # --- ownership: transfers, claims, disputes --------------------------------------------------

    @rpc(
        expected_exceptions=(Unauthenticated, NotFound, Forbidden, InvalidInput, ServiceUnavailable, Conflict)
    )
    @idempotent
    def transfer_customer(self, customer_id: int, payload: dict) -> dict:
        """The team's manager (or an admin) hands a customer to another salesperson (one who left,
        a reorganisation); emits ``customer_transferred`` (reason "admin"). Forbidden; UnknownUser."""
        caller = self.caller.require()
        request = load(TransferSchema(), payload)
        customer = ownership.transfer_customer(
            self._store, caller, customer_id, request, clock=self.clock, people=self.people
        )
        return self._dump(customer)

    @rpc(expected_exceptions=(Unauthenticated, NotFound, Forbidden, InvalidInput, Conflict))
    @idempotent
    def claim_customer(self, customer_id: int, payload: dict) -> dict:
        """Claim another salesperson's customer, naming the contact you deal with and their
        decision level (1–5); opens (or joins) the customer's dispute for the manager; emits
        ``customer_claimed``. Returns the claim. ClaimExists; CustomerInPool; Forbidden."""
        caller = self.caller.require()
        request = load(ClaimSchema(), payload)
        claim = claims.claim_customer(
            self._store, caller, customer_id, request, clock=self.clock, people=self.people
        )
        return claim_schema.dump(claim)

    @rpc(expected_exceptions=(Unauthenticated, Forbidden, InvalidInput))
    def list_disputes(self, query: dict | None = None) -> list[dict]:
        """Disputes with ``status`` (default open) of the manager's team (an admin: all), each
        with its claims, the owner's standing and the proposed winner. Forbidden for salespeople."""
        caller = self.caller.require()
        status = load(StatusQuerySchema(), query or {})["status"]
        return DisputeSchema().dump(claims.list_disputes(self._store, caller, status), many=True)

    @rpc(expected_exceptions=(Unauthenticated, NotFound, Forbidden))
    def get_dispute(self, dispute_id: int) -> dict:
        """One dispute, as in ``list_disputes``, for the team's manager or an admin."""
        return DisputeSchema().dump(claims.get_dispute(self._store, self.caller.require(), dispute_id))

    @rpc(expected_exceptions=(Unauthenticated, NotFound, Forbidden, InvalidInput, Conflict))
    @idempotent
    def resolve_dispute(self, dispute_id: int, payload: dict | None = None) -> dict:
        """The team's manager (or an admin) settles who owns the customer: ``winner_id`` (default
        the proposal: the more senior contact wins, a tie goes to the first entered). Every claim
        is kept, won or lost; a new owner emits ``customer_transferred`` (reason "claim")."""
        caller = self.caller.require()
        request = load(ResolveDisputeSchema(), payload or {})
        return DisputeSchema().dump(
            claims.resolve_dispute(self._store, caller, dispute_id, request, clock=self.clock)
        )

    # --- near-duplicates -------------------------------------------------------------------------

    # the fuzzy scan of new and corrected customers runs in its own process: service_scanner

    @rpc(expected_exceptions=(Unauthenticated, Forbidden, InvalidInput))
    def list_duplicates(self, query: dict | None = None) -> list[dict]:
        """Suspected duplicate pairs (``status`` default open) touching the manager's team (an
        admin: all), highest score first, each with score and reason. Forbidden for salespeople."""
        caller = self.caller.require()
        status = load(StatusQuerySchema(), query or {})["status"]
        return SuspicionSchema().dump(duplicates.list_duplicates(self._store, caller, status), many=True)

    @rpc(expected_exceptions=(Unauthenticated, NotFound, Forbidden, InvalidInput, Conflict))
    @idempotent
    def dismiss_duplicate(self, suspicion_id: int, payload: dict | None = None) -> dict:
        """Not the same company: the pair leaves the list, kept as dismissed. Forbidden; AlreadyDecided."""
        caller = self.caller.require()
        note = load(DecisionSchema(), payload or {})["note"]
        view = duplicates.dismiss_duplicate(self._store, caller, suspicion_id, note, clock=self.clock)
        return SuspicionSchema().dump(view)

    @rpc(expected_exceptions=(Unauthenticated, NotFound, Forbidden, InvalidInput, Conflict))
    @idempotent
    def confirm_duplicate(self, suspicion_id: int, payload: dict | None = None) -> dict:
        """The same company: the later customer goes to the earlier one's owner (emits
        ``customer_transferred``, reason "duplicate_confirmed"). Forbidden; AlreadyDecided;
        CustomerInPool when the earlier customer has no owner."""
        caller = self.caller.require()
        note = load(DecisionSchema(), payload or {})["note"]
        view = duplicates.confirm_duplicate(self._store, caller, suspicion_id, note, clock=self.clock)
        return SuspicionSchema().dump(view)

    # --- giving up a customer: the pool ----------------------------------------------------------

    @rpc(
        expected_exceptions=(Unauthenticated, NotFound, Forbidden, InvalidInput, ServiceUnavailable, Conflict)
    )
    @idempotent
    def abandon_customer(self, customer_id: int, payload: dict) -> dict:
        """The owner gives up a customer to the team's pool: ``{reason, alarm_id}``; emits
        ``customer_abandoned``. AlarmRequired (409) unless knowledge confirms the difficulty alarm
        is about this customer and a manager answered it; ServiceUnavailable (503) when knowledge
        cannot say — never abandoned then. NotYourCustomer for anyone but the owner."""
        caller = self.caller.require()
        request = load(AbandonSchema(), payload)
        customer = ownership.abandon_customer(
            self._store, caller, customer_id, request, clock=self.clock, alarms=self.alarms
        )
        return self._dump(customer)

    # --- helpers ---------------------------------------------------------------------------------

    @property
    def _store(self) -> Store:
        return Store(self.db)

    @property
    def _settings(self) -> Settings:
        return Settings(self.config.get("PHONE_REGION") or "CN", zone(self.config))

    def _dump(self, customer: Customer, followups: list | None = None) -> dict:
        dumped = customer_schema.dump(customer)
        dumped["followups"] = followup_schema.dump(followups, many=True) if followups is not None else None
        return dumped
