"""Customers: one owner per customer — duplicate blocking, ownership, append-only records,
follow-ups, referrals, claims, near-duplicates, the team pool and imports.

Entrypoints validate (schemas), apply the rules (domain) and dump (schemas); reads and writes go
through `repository.Records`. Other services are asked before this worker writes anything, so no
transaction is held open across the network.
"""

from __future__ import annotations

import base64
import binascii
import logging
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from nameko.dependency_providers import Config
from nameko.events import event_handler
from nameko.rpc import rpc
from sqlalchemy.exc import IntegrityError

from crm_common.clock import Clock
from crm_common.db import Database
from crm_common.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    ServiceUnavailable,
    Unauthenticated,
)
from crm_common.events import handle_once
from crm_common.identity import CallerIdentity
from crm_common.service import HealthCheck
from crm_common.validation import load
from customers import domain, importing
from customers.dependencies import Directory, Knowledge
from customers.exceptions import (
    AlarmRequired,
    AlreadyDecided,
    ClaimExists,
    ConcurrentChange,
    CustomerArchived,
    CustomerInPool,
    DuplicateCustomer,
    ImmutableRecord,
    MalformedImport,
    NothingToAmend,
    NotInPool,
    NotYourCustomer,
    ReferralCycle,
)
from customers.models import Amendment, Base, Customer, Dispute, DuplicateSuspicion
from customers.normalize import InvalidPhone, normalize_company_name, normalize_phone
from customers.repository import Records, row_values, snapshot_of, stored
from customers.schemas import (
    AbandonSchema,
    AmendmentRequestSchema,
    AmendmentSchema,
    ArchiveSchema,
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
    HistorySchema,
    ImportQuerySchema,
    ImportReportSchema,
    ListQuerySchema,
    NewCustomerSchema,
    PoolEntrySchema,
    ReferralQuerySchema,
    ReferralsSchema,
    ResolveDisputeSchema,
    StatusQuerySchema,
    SuspicionSchema,
    TransferSchema,
)

log = logging.getLogger(__name__)

RECENT_FOLLOWUPS = 20
MAX_IMPORT_BYTES = 5 * 1024 * 1024
FOLLOWUP_CLOCK_SKEW = timedelta(minutes=10)
KEY_FIELDS = frozenset({"name", "phones", "contacts"})
ENTRY_ATTEMPTS = 3  # a lost race on a key is retried to name the winner; more means contention

customer_schema = CustomerSchema()
amendment_schema = AmendmentSchema()
followup_schema = FollowupOutSchema()
claim_schema = ClaimOutSchema()


class CustomersService(HealthCheck):
    name = "customers"

    db = Database(Base.metadata)
    caller = CallerIdentity()
    clock = Clock()
    config = Config()
    people = Directory()
    alarms = Knowledge()

    # --- entry ---------------------------------------------------------------------------------

    @rpc(expected_exceptions=(Unauthenticated, InvalidInput))
    def check_duplicates(self, payload: dict) -> dict:
        """Whether a name and/or phone being typed is already a customer: ``{duplicate, matches:
        [{customer_id, name, owner, owner_id, status, matched_on, score, reason}]}``, exact matches
        first (``duplicate`` true: entering it would be refused), then near ones. Never contact
        details. InvalidInput without a name or phone, or for an invalid phone."""
        self.caller.require()
        typed = {
            field: value for field, value in load(CheckSchema(), payload).items() if value and value.strip()
        }
        fields = self._prepare(typed)
        name_key = normalize_company_name(fields["name"]) if fields.get("name") else None
        matches = find_matches(self._records, name_key, fields.get("phones", []), similar=True)
        return CheckResultSchema().dump(
            {"duplicate": any(match["exact"] for match in matches), "matches": matches}
        )

    @rpc(expected_exceptions=(Unauthenticated, InvalidInput, Conflict))
    def create_customer(self, payload: dict) -> dict:
        """Enter a customer owned by the caller; emits ``customer_created``. Returns the customer.

        InvalidInput for invalid fields, phones or an unknown ``referred_by``; DuplicateCustomer
        (409) when its name or any phone (its contacts' included) is already a customer's, with
        that customer's id, its owner's display name and what matched.
        """
        caller = self.caller.require()
        fields = self._prepare(load(NewCustomerSchema(), payload))
        owner = domain.Owner(
            caller.user_id,
            caller.display_name or self.people.display_name(caller.user_id, caller.username),
            caller.team,
        )
        for _attempt in range(ENTRY_ATTEMPTS):
            try:
                return self._dump(self._enter(fields, owner, entered_by=caller.user_id))
            except IntegrityError:
                self.db.session.rollback()  # another entry took a key first: the next pass names it
                log.info("entry of %r lost the race for its keys: checking again", fields["name"])
        raise ConcurrentChange("this customer is being entered by someone else right now: try again")

    @rpc(expected_exceptions=(Unauthenticated, Forbidden, InvalidInput, ServiceUnavailable, Conflict))
    def import_customers(self, csv_base64: str, options: dict | None = None) -> dict:
        """Import a CSV exported from a spreadsheet (UTF-8 or GBK, base64) for one owner
        (``options.owner_id``, default the caller; ``options.dry_run`` reports without creating).

        Every row goes through the checks of ``create_customer``. Returns ``{created, duplicates,
        invalid, rows: [{line, status, name, customer_id, errors, duplicate_of}]}``. MalformedImport
        (400) refuses the whole file, nothing imported; Forbidden for an owner outside the caller's
        team; ServiceUnavailable if accounts cannot name the owner.
        """
        caller = self.caller.require()
        options = load(ImportQuerySchema(), options or {})
        owner = self._import_owner(options["owner_id"])
        rows = self._parse_import(csv_base64)
        for _attempt in range(ENTRY_ATTEMPTS):
            try:
                report = self._import_rows(rows, owner, caller.user_id)
                break
            except IntegrityError:
                self.db.session.rollback()  # someone entered one of these customers meanwhile: again
        else:
            raise ConcurrentChange("customers in this file are being entered right now: import again")
        if options["dry_run"]:
            self.db.session.rollback()
        return ImportReportSchema().dump({**report, "owner_id": owner.user_id, "dry_run": options["dry_run"]})

    # --- reading -------------------------------------------------------------------------------

    @rpc(expected_exceptions=(Unauthenticated, NotFound, Forbidden))
    def get_customer(self, customer_id: int) -> dict:
        """The customer in full with its latest follow-ups (``id, name, owner_id, owner_name, team,
        status, phones, contacts, …``), for its owner, the team's manager or an admin.
        CustomerNotFound; NotYourCustomer (403) for anyone else."""
        customer = self._readable(customer_id)
        return self._dump(customer, followups=self._records.followups(customer.id, limit=RECENT_FOLLOWUPS))

    @rpc(expected_exceptions=(NotFound,))
    def get_customer_summary(self, customer_id: int) -> dict:
        """For other services (no caller check): ``{id, name, owner_id, team, status, birthday,
        next_visit_at, next_visit_contact}``. CustomerNotFound."""
        customer = self._records.require(customer_id)
        return {
            "id": customer.id,
            "name": customer.name,
            "owner_id": customer.owner_id,
            "team": customer.team,
            "status": customer.status,
            "birthday": customer.birthday,
            "next_visit_at": customer.next_visit_at.isoformat() if customer.next_visit_at else None,
            "next_visit_contact": customer.next_visit_contact,
        }

    @rpc(expected_exceptions=(Unauthenticated, InvalidInput))
    def list_customers(self, query: dict | None = None) -> dict:
        """The customers the caller may read (own, the team's, all), newest first:
        ``{items, total, page, per_page}``; ``q`` searches the name, or a phone when it is one."""
        caller = self.caller.require()
        query = load(ListQuerySchema(), query or {})
        query["phone"] = self._phone_in(query["q"])
        items, total = self._records.page(domain.listing_scope(caller), query)
        return CustomerPageSchema().dump(
            {"items": items, "total": total, "page": query["page"], "per_page": query["per_page"]}
        )

    @rpc(expected_exceptions=(Unauthenticated, NotFound, Forbidden))
    def get_history(self, customer_id: int) -> dict:
        """Every revision, ownership change, amendment and claim of a readable customer, each
        with who, when and why: ``{customer_id, revisions, ownership_changes, amendments, claims}``."""
        customer = self._readable(customer_id)
        records = self._records
        revisions = records.revisions(customer.id)
        changes = records.ownership_changes(customer.id)
        amendments = records.amendments(customer.id)
        claims = records.claims_of_customer(customer.id)
        names = self.people.display_names(
            [r.changed_by for r in revisions]
            + [user for c in changes for user in (c.from_owner_id, c.to_owner_id, c.changed_by)]
            + [user for a in amendments for user in (a.requested_by, a.decided_by)]
        )
        by_id = {amendment.id: amendment for amendment in amendments}
        return HistorySchema().dump(
            {
                "customer_id": customer.id,
                "revisions": [self._revision_view(r, by_id.get(r.amendment_id), names) for r in revisions],
                "ownership_changes": [
                    {
                        **_columns(change),
                        "from_owner_name": names.get(change.from_owner_id),
                        "to_owner_name": names.get(change.to_owner_id),
                        "changed_by_name": names.get(change.changed_by),
                    }
                    for change in changes
                ],
                "amendments": [_amendment_fields(a, names) for a in amendments],
                "claims": claims,
            }
        )

    @rpc(expected_exceptions=(Unauthenticated, NotFound, Forbidden, InvalidInput))
    def get_referrals(self, customer_id: int, query: dict | None = None) -> dict:
        """Who this customer referred (a tree, ``depth`` levels, default 5) and its chain of
        referrers, each with name and owner; cycle-safe (``cycle_detected``)."""
        customer = self._readable(customer_id)
        depth = load(ReferralQuerySchema(), query or {})["depth"]
        records = self._records
        view = domain.referral_tree(customer.id, records.referred_by, records.referrer_of, depth).as_dict()
        shown = records.by_ids(_tree_ids(view) | set(view["referrers"]))

        def described(customer_id: int) -> dict:
            known = shown.get(customer_id)
            return {
                "customer_id": customer_id,
                "name": known.name if known else None,
                "owner": known.owner_name if known else None,
            }

        def node(tree: dict) -> dict:
            return {
                **described(tree["customer_id"]),
                "truncated": tree["truncated"],
                "children": [node(child) for child in tree["children"]],
            }

        return ReferralsSchema().dump(
            {
                **node(view),
                "referrers": [described(cid) for cid in view["referrers"]],
                "referrers_truncated": view["referrers_truncated"],
                "cycle_detected": view["cycle_detected"],
            }
        )

    # --- append-only -----------------------------------------------------------------------------

    @rpc(expected_exceptions=(Unauthenticated, NotFound, Forbidden))
    def edit_customer(self, customer_id: int, action: str = "change") -> dict:
        """Always refused: customer records are append-only. ImmutableRecord (403) — corrections
        are amendment requests, and nothing is deleted (admins archive); CustomerNotFound."""
        self.caller.require()
        customer = self._records.require(customer_id)
        raise ImmutableRecord(
            "customer records are never deleted; an admin may archive one"
            if action == "delete"
            else "customer records cannot be edited: request an amendment, the manager approves it",
            {"customer_id": customer.id, "amend": f"/customers/{customer.id}/amendments"},
        )

    @rpc(expected_exceptions=(Unauthenticated, NotFound, Forbidden))
    def edit_followup(self, customer_id: int, followup_id: int, action: str = "change") -> dict:
        """Always refused: follow-ups are append-only. ImmutableRecord (403); NotFound."""
        self.caller.require()
        customer = self._records.require(customer_id)
        if self._records.followup(customer.id, followup_id) is None:
            raise NotFound(f"no follow-up {followup_id} of customer {customer_id}")
        raise ImmutableRecord(
            f"follow-ups cannot be {'deleted' if action == 'delete' else 'edited'}: record a new one",
            {"customer_id": customer.id, "followup_id": followup_id},
        )

    @rpc(expected_exceptions=(Unauthenticated, NotFound, Forbidden, InvalidInput, Conflict))
    def request_amendment(self, customer_id: int, payload: dict) -> dict:
        """Ask the team's manager to correct a customer: ``{changes, reason}``; emits
        ``amendment_requested``. Returns the pending amendment. NothingToAmend when nothing would
        change; DuplicateCustomer or ReferralCycle when the correction could never be approved."""
        caller = self.caller.require()
        request = load(AmendmentRequestSchema(), payload)
        customer = self._readable(customer_id)
        _require_active(customer)
        changes = self._prepare(request["changes"])
        current = snapshot_of(customer)
        changed = domain.changed_fields(current, changes)
        if not changed:
            raise NothingToAmend("the amendment changes nothing")
        self._check_correction(customer, domain.apply_amendment(current, changes), changed)
        amendment = self._records.add_amendment(
            customer_id=customer.id,
            changes={field: changes[field] for field in changed},
            reason=request["reason"],
            status="pending",
            base_revision=customer.revision,
            requested_by=caller.user_id,
            requested_at=self.clock.now(),
        )
        self.db.emit(
            "amendment_requested",
            {
                "amendment_id": amendment.id,
                "customer_id": customer.id,
                "name": customer.name,
                "owner_id": customer.owner_id,
                "team": customer.team,
                "requested_by": caller.user_id,
                "changed_fields": changed,
                "reason": amendment.reason,
            },
        )
        return self._amendment_view(amendment, {})

    @rpc(expected_exceptions=(Unauthenticated, NotFound, Forbidden, InvalidInput, Conflict))
    def approve_amendment(self, customer_id: int, amendment_id: int, payload: dict | None = None) -> dict:
        """The team's manager (or an admin) approves: the changes become a new revision; emits
        ``customer_amended``. Returns the amendment with its ``revision``. Forbidden; NotFound;
        AlreadyDecided; DuplicateCustomer / ReferralCycle if the correction now collides."""
        caller = self.caller.require()
        note = load(DecisionSchema(), payload or {})["note"]
        customer, amendment = self._pending_amendment(caller, customer_id, amendment_id, "approve amendments")
        names = self.people.display_names([amendment.requested_by, caller.user_id])  # asked before writing
        current = snapshot_of(customer)
        try:
            proposed = domain.apply_amendment(current, amendment.changes)
        except domain.NothingToAmend as exc:
            raise NothingToAmend(
                "the customer already reads like this", {"amendment_id": amendment.id}
            ) from exc
        changed = domain.changed_fields(current, amendment.changes)
        self._check_correction(customer, proposed, changed)
        now, revision = self.clock.now(), customer.revision + 1
        decided = {"decided_by": caller.user_id, "decided_at": now, "decision_note": note}
        if not self._records.decide_amendment(amendment.id, status="approved", revision=revision, **decided):
            raise AlreadyDecided("the amendment was decided meanwhile")
        if not self._records.update_customer(
            customer.id, {"revision": customer.revision}, {**row_values(proposed), "revision": revision}
        ):
            raise ConcurrentChange("the customer changed meanwhile: approve again")
        if KEY_FIELDS & set(changed):
            self._rekey(customer)
        self._records.add_revision(
            customer_id=customer.id,
            revision=revision,
            snapshot=proposed,
            changed_fields=changed,
            reason=amendment.reason,
            changed_by=amendment.requested_by,
            changed_at=now,
            amendment_id=amendment.id,
        )
        self.db.emit(
            "customer_amended", {**_event_data(customer), "revision": revision, "changed_fields": changed}
        )
        return self._amendment_view(amendment, names)

    @rpc(expected_exceptions=(Unauthenticated, NotFound, Forbidden, InvalidInput, Conflict))
    def reject_amendment(self, customer_id: int, amendment_id: int, payload: dict | None = None) -> dict:
        """The team's manager (or an admin) rejects; the request stays in the history.
        Forbidden; NotFound; AlreadyDecided."""
        caller = self.caller.require()
        note = load(DecisionSchema(), payload or {})["note"]
        _customer, amendment = self._pending_amendment(caller, customer_id, amendment_id, "reject amendments")
        names = self.people.display_names([amendment.requested_by, caller.user_id])  # asked before writing
        if not self._records.decide_amendment(
            amendment.id,
            status="rejected",
            decided_by=caller.user_id,
            decided_at=self.clock.now(),
            decision_note=note,
        ):
            raise AlreadyDecided("the amendment was decided meanwhile")
        return self._amendment_view(amendment, names)

    @rpc(expected_exceptions=(Unauthenticated, NotFound, Forbidden))
    def list_amendments(self, customer_id: int) -> list[dict]:
        """Every amendment request of a readable customer, oldest first."""
        customer = self._readable(customer_id)
        amendments = self._records.amendments(customer.id)
        names = self.people.display_names([u for a in amendments for u in (a.requested_by, a.decided_by)])
        return [self._amendment_view(amendment, names) for amendment in amendments]

    @rpc(expected_exceptions=(Unauthenticated,))
    def list_pending_amendments(self) -> list[dict]:
        """Pending amendments the caller decides (a manager: the team's; an admin: all) or made
        (a salesperson: their own)."""
        caller = self.caller.require()
        amendments = self._records.pending_amendments(domain.listing_scope(caller))
        names = self.people.display_names([amendment.requested_by for amendment in amendments])
        customers = self._records.by_ids(amendment.customer_id for amendment in amendments)
        return [
            {**self._amendment_view(a, names), "customer_name": customers[a.customer_id].name}
            for a in amendments
        ]

    @rpc(expected_exceptions=(Unauthenticated, NotFound, Forbidden, InvalidInput, Conflict))
    def archive_customer(self, customer_id: int, payload: dict) -> dict:
        """An admin archives a customer (never deletes it): it leaves every list and its name and
        phones may be entered again; emits ``customer_archived``. Forbidden; CustomerArchived."""
        caller = self.caller.require()
        caller.require_role("admin")
        reason = load(ArchiveSchema(), payload)["reason"]
        customer = self._records.require(customer_id)
        if customer.status == domain.ARCHIVED:
            raise CustomerArchived("the customer is already archived")
        before, now = (customer.owner_id, customer.status), self.clock.now()
        if not self._records.update_customer(
            customer.id, {"status": customer.status}, {"status": domain.ARCHIVED, "archived_at": now}
        ):
            raise ConcurrentChange("the customer changed meanwhile: try again")
        self._records.release_keys(customer.id)
        self._records.add_ownership_change(
            customer_id=customer.id,
            from_owner_id=before[0],
            to_owner_id=before[0],
            from_status=before[1],
            to_status=domain.ARCHIVED,
            reason="archived",
            note=reason,
            changed_by=caller.user_id,
            changed_at=now,
        )
        self._lapse_dispute(customer.id, now)
        self.db.emit(
            "customer_archived",
            {
                "customer_id": customer.id,
                "name": customer.name,
                "owner_id": customer.owner_id,
                "team": customer.team,
                "reason": reason,
                "archived_by": caller.user_id,
            },
        )
        return self._dump(customer)

    # --- follow-ups ----------------------------------------------------------------------------

    @rpc(expected_exceptions=(Unauthenticated, NotFound, Forbidden, InvalidInput, Conflict))
    def record_followup(self, customer_id: int, payload: dict) -> dict:
        """Record a call, visit, sample, quote or other contact (``occurred_at`` default now, never
        in the future). Returns the follow-up; it can never be changed."""
        caller = self.caller.require()
        request = load(FollowupSchema(), payload)
        customer = self._readable(customer_id)
        _require_active(customer)
        now = self.clock.now()
        occurred_at = domain.to_utc(request["occurred_at"], self._timezone) if request["occurred_at"] else now
        if occurred_at > now + FOLLOWUP_CLOCK_SKEW:
            raise InvalidInput("a follow-up records what happened", {"occurred_at": ["is in the future"]})
        followup = self._records.add_followup(
            customer_id=customer.id,
            kind=request["kind"],
            summary=request["summary"],
            contact=request["contact"],
            occurred_at=occurred_at,
            recorded_by=caller.user_id,
            recorded_at=now,
        )
        return followup_schema.dump(followup)

    @rpc(expected_exceptions=(Unauthenticated, NotFound, Forbidden))
    def list_followups(self, customer_id: int) -> list[dict]:
        """Every follow-up of a readable customer, latest first."""
        customer = self._readable(customer_id)
        return followup_schema.dump(self._records.followups(customer.id), many=True)

    # --- ownership: transfers, claims, disputes --------------------------------------------------

    @rpc(
        expected_exceptions=(Unauthenticated, NotFound, Forbidden, InvalidInput, ServiceUnavailable, Conflict)
    )
    def transfer_customer(self, customer_id: int, payload: dict) -> dict:
        """The team's manager (or an admin) hands a customer to another salesperson (one who left,
        a reorganisation); emits ``customer_transferred`` (reason "admin"). Forbidden; UnknownUser."""
        caller = self.caller.require()
        request = load(TransferSchema(), payload)
        customer = self._records.require(customer_id)
        domain.check_manages(caller, customer.team, "reassign customers")
        if customer.status == domain.ARCHIVED:
            raise CustomerArchived("the customer is archived")
        user = self.people.user(request["owner_id"])
        domain.check_may_assign(caller, user, "assign customers")
        if user["id"] == customer.owner_id:
            raise Conflict("that salesperson already owns the customer")
        owner = domain.Owner(user["id"], user["display_name"], user.get("team"))
        self._hand_over(customer, owner, "admin", request["reason"], caller.user_id)
        return self._dump(customer)

    @rpc(expected_exceptions=(Unauthenticated, NotFound, Forbidden, InvalidInput, Conflict))
    def claim_customer(self, customer_id: int, payload: dict) -> dict:
        """Claim another salesperson's customer, naming the contact you deal with and their
        decision level (1–5); opens (or joins) the customer's dispute for the manager; emits
        ``customer_claimed``. Returns the claim. ClaimExists; CustomerInPool; Forbidden."""
        caller = self.caller.require()
        request = load(ClaimSchema(), payload)
        claimant_name = caller.display_name or self.people.display_name(caller.user_id, caller.username)
        customer = self._records.require(customer_id)
        domain.check_may_claim(caller, customer.owner_id, customer.status)
        now = self.clock.now()
        dispute = self._open_dispute(customer, now)
        try:
            claim = self._records.add_claim(
                dispute_id=dispute.id,
                customer_id=customer.id,
                claimant_id=caller.user_id,
                claimant_name=claimant_name,
                claimant_team=caller.team,
                contact_name=request["contact_name"],
                decision_level=request["decision_level"],
                reason=request["reason"],
                claimed_at=now,
                status="open",
            )
        except IntegrityError as exc:
            self.db.session.rollback()
            raise ClaimExists("you already claimed this customer; the manager will decide") from exc
        self.db.emit(
            "customer_claimed",
            {
                "claim_id": claim.id,
                "dispute_id": dispute.id,
                "customer_id": customer.id,
                "name": customer.name,
                "owner_id": customer.owner_id,
                "team": customer.team,
                "claimant_id": caller.user_id,
                "claimant_name": claimant_name,
                "decision_level": claim.decision_level,
            },
        )
        return claim_schema.dump(claim)

    @rpc(expected_exceptions=(Unauthenticated, Forbidden, InvalidInput))
    def list_disputes(self, query: dict | None = None) -> list[dict]:
        """Disputes with ``status`` (default open) of the manager's team (an admin: all), each
        with its claims, the owner's standing and the proposed winner. Forbidden for salespeople."""
        caller = self.caller.require()
        status = load(StatusQuerySchema(), query or {})["status"]
        if not (caller.is_admin or caller.is_manager):
            raise Forbidden("disputes are for managers")
        return [self._dispute_view(d) for d in self._records.disputes(domain.listing_scope(caller), status)]

    @rpc(expected_exceptions=(Unauthenticated, NotFound, Forbidden))
    def get_dispute(self, dispute_id: int) -> dict:
        """One dispute, as in ``list_disputes``, for the team's manager or an admin."""
        caller = self.caller.require()
        dispute, customer = self._dispute(dispute_id)
        domain.check_manages(caller, customer.team, "see disputes")
        return self._dispute_view(dispute)

    @rpc(expected_exceptions=(Unauthenticated, NotFound, Forbidden, InvalidInput, Conflict))
    def resolve_dispute(self, dispute_id: int, payload: dict | None = None) -> dict:
        """The team's manager (or an admin) settles who owns the customer: ``winner_id`` (default
        the proposal: the more senior contact wins, a tie goes to the first entered). Every claim
        is kept, won or lost; a new owner emits ``customer_transferred`` (reason "claim")."""
        caller = self.caller.require()
        request = load(ResolveDisputeSchema(), payload or {})
        dispute, customer = self._dispute(dispute_id)
        domain.check_manages(caller, customer.team, "resolve disputes")
        if dispute.status != "open":
            raise AlreadyDecided("the dispute is already settled", {"status": dispute.status})
        _require_active(customer)
        claims = [claim for claim in self._records.claims_of_dispute(dispute.id) if claim.status == "open"]
        claimants = [_standing(customer)] + [
            domain.Claimant(c.claimant_id, c.contact_name, c.decision_level, c.claimed_at) for c in claims
        ]
        proposal = domain.propose_dispute_winner(claimants)
        winner = domain.choose_winner(proposal, claimants, request["winner_id"])
        now = self.clock.now()
        if not self._records.close_dispute(
            dispute.id,
            status="resolved",
            winner_id=winner.salesperson_id,
            resolved_by=caller.user_id,
            resolved_at=now,
            note=request["note"],
            proposed_winner_id=proposal.winner.salesperson_id,
            proposal_reason=proposal.reason,
        ):
            raise AlreadyDecided("the dispute was settled meanwhile")
        self._records.settle_claims(dispute.id, winner.salesperson_id)
        if winner.salesperson_id != customer.owner_id:
            won = next(claim for claim in claims if claim.claimant_id == winner.salesperson_id)
            owner = domain.Owner(won.claimant_id, won.claimant_name, won.claimant_team)
            self._hand_over(
                customer,
                owner,
                "claim",
                request["note"] or proposal.reason,
                caller.user_id,
                dispute_id=dispute.id,
            )
        return self._dispute_view(dispute)

    # --- near-duplicates -------------------------------------------------------------------------

    # requeue: a failed scan is almost always the database being away for a moment, and a scan
    # that never runs is a near-duplicate nobody is told about; the handler is idempotent.
    @event_handler("customers", "customer_created", requeue_on_error=True)
    @handle_once
    def scan_new_customer(self, event: dict) -> None:
        """Compare a new customer with its candidates; store and emit suspected pairs."""
        self._scan(event["data"]["customer_id"])

    @event_handler("customers", "customer_amended", requeue_on_error=True)
    @handle_once
    def scan_amended_customer(self, event: dict) -> None:
        """A corrected name or phone may resemble another customer now: scan again."""
        if KEY_FIELDS & set(event["data"].get("changed_fields", [])):
            self._scan(event["data"]["customer_id"])

    @rpc(expected_exceptions=(Unauthenticated, Forbidden, InvalidInput))
    def list_duplicates(self, query: dict | None = None) -> list[dict]:
        """Suspected duplicate pairs (``status`` default open) touching the manager's team (an
        admin: all), highest score first, each with score and reason. Forbidden for salespeople."""
        caller = self.caller.require()
        status = load(StatusQuerySchema(), query or {})["status"]
        if not (caller.is_admin or caller.is_manager):
            raise Forbidden("suspected duplicates are for managers")
        suspicions = self._records.suspicions(None if caller.is_admin else caller.team, status)
        customers = self._records.by_ids(
            cid for s in suspicions for cid in (s.customer_id, s.duplicate_of_id)
        )
        return [_suspicion_view(s, customers) for s in suspicions]

    @rpc(expected_exceptions=(Unauthenticated, NotFound, Forbidden, InvalidInput, Conflict))
    def dismiss_duplicate(self, suspicion_id: int, payload: dict | None = None) -> dict:
        """Not the same company: the pair leaves the list, kept as dismissed. Forbidden; AlreadyDecided."""
        caller = self.caller.require()
        note = load(DecisionSchema(), payload or {})["note"]
        suspicion, later, earlier = self._suspicion(caller, suspicion_id)
        if not self._records.decide_suspicion(
            suspicion.id,
            status="dismissed",
            decided_by=caller.user_id,
            decided_at=self.clock.now(),
            note=note,
        ):
            raise AlreadyDecided("the pair was decided meanwhile")
        return _suspicion_view(suspicion, {later.id: later, earlier.id: earlier})

    @rpc(expected_exceptions=(Unauthenticated, NotFound, Forbidden, InvalidInput, Conflict))
    def confirm_duplicate(self, suspicion_id: int, payload: dict | None = None) -> dict:
        """The same company: the later customer goes to the earlier one's owner (emits
        ``customer_transferred``, reason "duplicate_confirmed"). Forbidden; AlreadyDecided;
        CustomerInPool when the earlier customer has no owner."""
        caller = self.caller.require()
        note = load(DecisionSchema(), payload or {})["note"]
        suspicion, later, earlier = self._suspicion(caller, suspicion_id)
        if later.status == domain.ARCHIVED:
            raise CustomerArchived("the later customer is archived", {"customer_id": later.id})
        if earlier.status != domain.ACTIVE:
            raise CustomerInPool(
                "the earlier customer has no owner (pool or archived): take it from the pool instead",
                {"customer_id": earlier.id, "status": earlier.status},
            )
        if not self._records.decide_suspicion(
            suspicion.id,
            status="confirmed",
            decided_by=caller.user_id,
            decided_at=self.clock.now(),
            note=note,
        ):
            raise AlreadyDecided("the pair was decided meanwhile")
        if later.owner_id != earlier.owner_id or later.status != domain.ACTIVE:
            owner = domain.Owner(earlier.owner_id, earlier.owner_name or "", earlier.team)  # type: ignore[arg-type]
            self._hand_over(
                later,
                owner,
                "duplicate_confirmed",
                note or suspicion.reason,
                caller.user_id,
                suspicion_id=suspicion.id,
            )
        return _suspicion_view(suspicion, {later.id: later, earlier.id: earlier})

    # --- giving up a customer: the pool ----------------------------------------------------------

    @rpc(
        expected_exceptions=(Unauthenticated, NotFound, Forbidden, InvalidInput, ServiceUnavailable, Conflict)
    )
    def abandon_customer(self, customer_id: int, payload: dict) -> dict:
        """The owner gives up a customer to the team's pool: ``{reason, alarm_id}``; emits
        ``customer_abandoned``. AlarmRequired (409) unless knowledge confirms the difficulty alarm
        is about this customer and a manager answered it; ServiceUnavailable (503) when knowledge
        cannot say — never abandoned then. NotYourCustomer for anyone but the owner."""
        caller = self.caller.require()
        request = load(AbandonSchema(), payload)
        customer = self._records.require(customer_id)
        if customer.status == domain.IN_POOL:
            raise CustomerInPool("the customer is already in the pool")
        if customer.status != domain.ACTIVE or customer.owner_id != caller.user_id:
            raise NotYourCustomer("only the owner gives up a customer", {"owner_id": customer.owner_id})
        if request["alarm_id"] is None:
            raise AlarmRequired(
                "raise a difficulty alarm about this customer; a manager must answer it first"
            )
        domain.check_abandon_alarm(self.alarms.for_abandon(request["alarm_id"]), customer.id)
        now, former_owner = self.clock.now(), customer.owner_id
        if not self._records.update_customer(
            customer.id,
            {"owner_id": former_owner, "status": domain.ACTIVE},
            {
                "owner_id": None,
                "owner_name": None,
                "owned_since": None,
                "status": domain.IN_POOL,
                "pooled_at": now,
                "pooled_from": former_owner,
                "pool_reason": request["reason"],
            },
        ):
            raise ConcurrentChange("the customer changed meanwhile")
        self._records.add_ownership_change(
            customer_id=customer.id,
            from_owner_id=former_owner,
            to_owner_id=None,
            from_status=domain.ACTIVE,
            to_status=domain.IN_POOL,
            reason="abandoned",
            note=request["reason"],
            changed_by=caller.user_id,
            changed_at=now,
            alarm_id=request["alarm_id"],
        )
        self._lapse_dispute(customer.id, now)
        self.db.emit(
            "customer_abandoned",
            {
                "customer_id": customer.id,
                "name": customer.name,
                "owner_id": former_owner,
                "team": customer.team,
                "reason": request["reason"],
                "alarm_id": request["alarm_id"],
            },
        )
        return self._dump(customer)

    @rpc(expected_exceptions=(Unauthenticated,))
    def list_pool(self) -> list[dict]:
        """The caller's team's customers without an owner (an admin: every team's), latest first,
        with who gave each up and why — no contact details until taken."""
        caller = self.caller.require()
        if not caller.is_admin and caller.team is None:
            return []
        pool = self._records.pool(None if caller.is_admin else caller.team)
        names = self.people.display_names([customer.pooled_from for customer in pool])
        return [
            PoolEntrySchema().dump({**_columns(c), "pooled_from_name": names.get(c.pooled_from)})
            for c in pool
        ]

    @rpc(expected_exceptions=(Unauthenticated, NotFound, Forbidden, Conflict))
    def take_from_pool(self, customer_id: int) -> dict:
        """A salesperson of the pool's team takes a customer and owns it; recorded in the history,
        emits ``customer_transferred`` (reason "pool_take", from_owner_id null). NotInPool if
        someone took it first; Forbidden for another team."""
        caller = self.caller.require()
        name = caller.display_name or self.people.display_name(caller.user_id, caller.username)
        customer = self._records.require(customer_id)
        domain.check_may_take(caller, customer.team, customer.status)
        try:
            self._hand_over(
                customer, domain.Owner(caller.user_id, name, customer.team), "pool_take", None, caller.user_id
            )
        except ConcurrentChange as exc:
            raise NotInPool("someone took this customer from the pool first") from exc
        return self._dump(customer)

    # --- helpers ---------------------------------------------------------------------------------

    @property
    def _records(self) -> Records:
        return Records(self.db.session)

    @property
    def _timezone(self) -> ZoneInfo:
        return ZoneInfo(self.config.get("LOCAL_TIMEZONE") or "Asia/Shanghai")

    def _prepare(self, raw: dict) -> dict:
        return domain.prepare_fields(raw, self.config.get("PHONE_REGION") or "CN", self._timezone)

    def _readable(self, customer_id: int) -> Customer:
        caller = self.caller.require()
        customer = self._records.require(customer_id)
        domain.check_can_read(caller, customer.owner_id, customer.team, customer.status)
        return customer

    def _phone_in(self, text: str | None) -> str | None:
        if not text or sum(char.isdigit() for char in text) < 7:
            return None
        try:
            return normalize_phone(text, self.config.get("PHONE_REGION") or "CN")
        except InvalidPhone:
            return None

    def _refuse_duplicates(self, name_key: str, phones: list[str], exclude_id: int | None = None) -> None:
        matches = find_matches(self._records, name_key, phones, similar=False, exclude_id=exclude_id)
        if matches:
            first = matches[0]
            where = (
                "in the team pool: take it from there"
                if first["status"] == domain.IN_POOL
                else (f"owned by {first['owner']}")
            )
            raise DuplicateCustomer(
                f"this customer already exists ({where})",
                {
                    key: first[key]
                    for key in ("customer_id", "name", "owner", "owner_id", "status", "matched_on")
                }
                | {"matches": [_without(match, "exact") for match in matches]},
            )

    def _enter(self, fields: dict, owner: domain.Owner, entered_by: int) -> Customer:
        name_key = normalize_company_name(fields["name"])
        phones = domain.all_phones(fields["phones"], fields["contacts"])
        self._check_referrer(fields["referred_by"])
        self._refuse_duplicates(name_key, phones)
        now = self.clock.now()
        values = row_values({field: fields[field] for field in domain.AMENDABLE_FIELDS})
        customer = self._records.add_customer(
            {
                **values,
                "owner_id": owner.user_id,
                "owner_name": owner.display_name,
                "team": owner.team,
                "owned_since": now,
                "status": domain.ACTIVE,
                "revision": 1,
                "entered_by": entered_by,
                "entered_at": now,
            }
        )
        self._records.claim_keys(customer.id, domain.exact_keys(name_key, phones))
        self._records.index_for_scan(customer.id, domain.candidate_keys(name_key, phones))
        self._records.add_revision(
            customer_id=customer.id,
            revision=1,
            snapshot=snapshot_of(customer),
            changed_fields=[],
            reason="entered",
            changed_by=entered_by,
            changed_at=now,
        )
        self._records.add_ownership_change(
            customer_id=customer.id,
            to_owner_id=owner.user_id,
            to_status=domain.ACTIVE,
            reason="entered",
            changed_by=entered_by,
            changed_at=now,
        )
        self.db.emit("customer_created", _event_data(customer))
        return customer

    def _check_referrer(self, referrer_id: int | None) -> None:
        if referrer_id is not None and self._records.get(referrer_id) is None:
            raise InvalidInput("no such customer", {"referred_by": ["no such customer"]})

    def _check_correction(self, customer: Customer, proposed: dict, changed: list[str]) -> None:
        """Refuse a correction that would duplicate another customer or close a referral loop."""
        if "referred_by" in changed and proposed["referred_by"] is not None:
            self._check_referrer(proposed["referred_by"])
            if domain.would_create_cycle(customer.id, proposed["referred_by"], self._records.referrer_of):
                raise ReferralCycle(
                    "this customer (directly or through others) referred that one: the referral would loop",
                    {"referred_by": proposed["referred_by"]},
                )
        if KEY_FIELDS & set(changed):
            phones = domain.all_phones(proposed["phones"], proposed["contacts"])
            self._refuse_duplicates(normalize_company_name(proposed["name"]), phones, exclude_id=customer.id)

    def _rekey(self, customer: Customer) -> None:
        """Replace the customer's keys after its name or phones changed."""
        customer_id, name_key = customer.id, customer.name_key
        phones = domain.all_phones(customer.phones, customer.contacts)
        self._records.release_keys(customer_id)
        try:
            self._records.claim_keys(customer_id, domain.exact_keys(name_key, phones))
        except IntegrityError as exc:
            self.db.session.rollback()  # entered by someone else at this very moment
            self._refuse_duplicates(name_key, phones, exclude_id=customer_id)
            raise ConcurrentChange("the customer changed meanwhile: approve again") from exc
        self._records.index_for_scan(customer_id, domain.candidate_keys(name_key, phones))

    def _hand_over(
        self,
        customer: Customer,
        owner: domain.Owner,
        reason: str,
        note: str | None,
        by: int,
        **references: int,
    ) -> None:
        """Make ``owner`` the customer's owner (from its current owner or the pool); emits
        ``customer_transferred``. ConcurrentChange if the customer changed meanwhile."""
        former, status, now = customer.owner_id, customer.status, self.clock.now()
        if not self._records.update_customer(
            customer.id,
            {"owner_id": former, "status": status},
            {
                "owner_id": owner.user_id,
                "owner_name": owner.display_name,
                "team": owner.team,
                "owned_since": now,
                "status": domain.ACTIVE,
                "pooled_at": None,
                "pooled_from": None,
                "pool_reason": None,
            },
        ):
            raise ConcurrentChange("the customer changed meanwhile: try again")
        self._records.add_ownership_change(
            customer_id=customer.id,
            from_owner_id=former,
            to_owner_id=owner.user_id,
            from_status=status,
            to_status=domain.ACTIVE,
            reason=reason,
            note=note,
            changed_by=by,
            changed_at=now,
            **references,
        )
        if reason != "claim":
            self._lapse_dispute(customer.id, now)
        self.db.emit(
            "customer_transferred",
            {
                **_event_data(customer),
                "from_owner_id": former,
                "to_owner_id": owner.user_id,
                "to_owner_name": owner.display_name,
                "reason": reason,
            },
        )

    def _lapse_dispute(self, customer_id: int, now: datetime) -> None:
        """A customer that left its owner another way leaves its dispute without object."""
        dispute = self._records.open_dispute(customer_id)
        if dispute is not None and self._records.close_dispute(
            dispute.id, status="closed", resolved_at=now, note="the customer changed hands meanwhile"
        ):
            self._records.settle_claims(dispute.id, None, closed=True)

    def _open_dispute(self, customer: Customer, now: datetime) -> Dispute:
        dispute = self._records.open_dispute(customer.id)
        if dispute is not None:
            return dispute
        try:
            return self._records.add_dispute(
                customer_id=customer.id, status="open", owner_id=customer.owner_id, opened_at=now
            )
        except IntegrityError:
            self.db.session.rollback()  # opened by another claim at the same moment: join it
            dispute = self._records.open_dispute(customer.id)
            if dispute is None:
                raise ConcurrentChange("the dispute changed meanwhile: claim again") from None
            return dispute

    def _dispute(self, dispute_id: int) -> tuple[Dispute, Customer]:
        dispute = self._records.dispute(dispute_id)
        if dispute is None:
            raise NotFound(f"no dispute {dispute_id}")
        return dispute, self._records.require(dispute.customer_id)

    def _dispute_view(self, dispute: Dispute) -> dict:
        customer = self._records.require(dispute.customer_id)
        claims = self._records.claims_of_dispute(dispute.id)
        view = {
            **_columns(dispute),
            "customer_name": customer.name,
            "team": customer.team,
            "owner_name": customer.owner_name,
            "claims": claims,
            "owner_standing": None,
        }
        if dispute.status == "open" and customer.status == domain.ACTIVE:
            standing = _standing(customer)
            proposal = domain.propose_dispute_winner(
                [standing]
                + [
                    domain.Claimant(c.claimant_id, c.contact_name, c.decision_level, c.claimed_at)
                    for c in claims
                    if c.status == "open"
                ]
            )
            view |= {
                "owner_standing": standing,
                "proposed_winner_id": proposal.winner.salesperson_id,
                "proposal_reason": proposal.reason,
            }
        return DisputeSchema().dump(view)

    def _pending_amendment(self, caller: Any, customer_id: int, amendment_id: int, action: str) -> tuple:
        customer = self._records.require(customer_id)
        domain.check_manages(caller, customer.team, action)
        amendment = self._records.amendment(customer.id, amendment_id)
        if amendment is None:
            raise NotFound(f"no amendment {amendment_id} of customer {customer_id}")
        if amendment.status != "pending":
            raise AlreadyDecided(f"the amendment is already {amendment.status}", {"status": amendment.status})
        if customer.status == domain.ARCHIVED:
            raise CustomerArchived("the customer is archived")
        return customer, amendment

    def _amendment_view(self, amendment: Amendment, names: dict[int, str]) -> dict:
        return amendment_schema.dump(_amendment_fields(amendment, names))

    def _revision_view(self, revision: Any, amendment: Amendment | None, names: dict[int, str]) -> dict:
        approved_by = amendment.decided_by if amendment else None
        return {
            **_columns(revision),
            "changed_by_name": names.get(revision.changed_by),
            "approved_by": approved_by,
            "approved_by_name": names.get(approved_by),
        }

    def _suspicion(self, caller: Any, suspicion_id: int) -> tuple[DuplicateSuspicion, Customer, Customer]:
        suspicion = self._records.suspicion(suspicion_id)
        if suspicion is None:
            raise NotFound(f"no suspected duplicate {suspicion_id}")
        later = self._records.require(suspicion.customer_id)
        earlier = self._records.require(suspicion.duplicate_of_id)
        if not (caller.manages(later.team) or caller.manages(earlier.team)):
            raise Forbidden("only the teams' managers or an admin decide suspected duplicates")
        if suspicion.status != "open":
            raise AlreadyDecided(f"the pair is already {suspicion.status}", {"status": suspicion.status})
        return suspicion, later, earlier

    def _scan(self, customer_id: int) -> None:
        customer = self._records.get(customer_id)
        if customer is None or customer.status == domain.ARCHIVED:
            return
        suspects = suspected_duplicates(self._records, customer)
        known = self._records.known_pairs((later.id, earlier.id) for earlier, later, _ in suspects)
        now = self.clock.now()
        for earlier, later, suspicion in suspects:
            if (later.id, earlier.id) in known:
                continue
            row = self._records.add_suspicion(
                customer_id=later.id,
                duplicate_of_id=earlier.id,
                score=suspicion.score,
                reason=suspicion.reason,
                status="open",
                detected_at=now,
            )
            self.db.emit(
                "customer_duplicate_suspected",
                {
                    "suspicion_id": row.id,
                    "customer_id": later.id,
                    "name": later.name,
                    "owner_id": later.owner_id,
                    "duplicate_of_id": earlier.id,
                    "duplicate_of_name": earlier.name,
                    "duplicate_owner_id": earlier.owner_id,
                    "team": later.team,
                    "duplicate_team": earlier.team,
                    "score": suspicion.score,
                    "reason": suspicion.reason,
                },
            )

    def _import_owner(self, owner_id: int | None) -> domain.Owner:
        caller = self.caller.require()
        if owner_id is None or owner_id == caller.user_id:
            if caller.role not in ("sales", "manager"):
                raise InvalidInput("name the salesperson the customers are for", {"owner_id": ["required"]})
            return domain.Owner(
                caller.user_id,
                caller.display_name or self.people.display_name(caller.user_id, caller.username),
                caller.team,
            )
        user = self.people.user(owner_id)
        domain.check_may_assign(caller, user, "import customers")
        return domain.Owner(user["id"], user["display_name"], user.get("team"))  # type: ignore[index]

    def _parse_import(self, csv_base64: str) -> list[importing.ImportRow]:
        try:
            data = base64.b64decode(csv_base64 or "", validate=True)
        except (binascii.Error, ValueError, TypeError) as exc:
            raise MalformedImport("the file must be sent base64-encoded") from exc
        if len(data) > MAX_IMPORT_BYTES:
            raise MalformedImport(f"the file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB: split it")
        try:
            return importing.parse_import(data, self.config.get("PHONE_REGION") or "CN")
        except importing.MalformedImport as exc:
            raise MalformedImport(str(exc)) from exc

    def _import_rows(self, rows: list[importing.ImportRow], owner: domain.Owner, entered_by: int) -> dict:
        report: list[dict] = []
        for row in rows:
            line = {
                "line": row.line_number,
                "name": row.fields["name"],
                "errors": list(row.errors),
                "customer_id": None,
                "duplicate_of": None,
            }
            if not row.is_valid:
                status = "duplicate" if row.valid_but_repeated else "invalid"
                report.append({**line, "status": status})
                continue
            visit = row.fields["next_visit_at"]
            try:
                fields = self._prepare(
                    {
                        **row.fields,
                        "referred_by": None,
                        "next_visit_at": datetime.fromisoformat(visit) if visit else None,
                    }
                )
                customer = self._enter(fields, owner, entered_by)
            except DuplicateCustomer as duplicate:
                report.append(
                    {
                        **line,
                        "status": "duplicate",
                        "duplicate_of": duplicate.details["matches"][0],
                        "errors": [duplicate.message],
                    }
                )
                continue
            except InvalidInput as invalid:
                report.append(
                    {**line, "status": "invalid", "errors": [invalid.message, str(invalid.details)]}
                )
                continue
            report.append({**line, "status": "created", "customer_id": customer.id})
        counts = {
            status: sum(1 for line in report if line["status"] == status)
            for status in ("created", "duplicate", "invalid")
        }
        return {
            "created": counts["created"],
            "duplicates": counts["duplicate"],
            "invalid": counts["invalid"],
            "rows": report,
        }

    def _dump(self, customer: Customer, followups: list | None = None) -> dict:
        dumped = customer_schema.dump(customer)
        dumped["followups"] = followup_schema.dump(followups, many=True) if followups is not None else None
        return dumped


def _amendment_fields(amendment: Amendment, names: dict[int, str]) -> dict:
    return {
        **_columns(amendment),
        "changed_fields": sorted(amendment.changes),
        "requested_by_name": names.get(amendment.requested_by),
        "decided_by_name": names.get(amendment.decided_by),
    }


def find_matches(
    records: Records, name_key: str | None, phones: list[str], similar: bool, exclude_id: int | None = None
) -> list[dict]:
    """What an entry matches, best first: exact keys always, near duplicates when ``similar``."""
    keys = ([(domain.NAME_KEY, name_key)] if name_key else []) + [(domain.PHONE_KEY, p) for p in phones]
    near = similar and name_key is not None
    holders, postings = records.lookup(
        keys,
        domain.abbreviation_keys(name_key) if near else (),  # type: ignore[arg-type]
        domain.candidate_keys(name_key, phones) if near else (),  # type: ignore[arg-type]
    )
    exact: dict[int, list[str]] = {}
    abbreviated: list[int] = []
    for customer_id, kind, key in holders:
        if (kind, key) in keys:
            exact.setdefault(customer_id, []).append(kind)
        else:
            abbreviated.append(customer_id)
    exact.pop(exclude_id, None)  # type: ignore[arg-type]
    candidate_ids = domain.choose_candidates(postings, exclude_id) + abbreviated if near else []
    shown = records.summaries([*exact, *candidate_ids])
    candidates = [stored(shown[cid]) for cid in dict.fromkeys(candidate_ids) if cid in shown]
    ranked = domain.rank_matches(name_key, phones, exact, candidates)
    return [_match_view(match, shown[match.customer_id]) for match in ranked]


def suspected_duplicates(records: Records, customer: Any) -> list[tuple[Any, Any, domain.DuplicateSuspicion]]:
    """The fuzzy scan of one customer: (earlier, later, suspicion) for each near-duplicate."""
    me = stored(customer)
    holders, postings = records.lookup(
        [], domain.abbreviation_keys(me.name_key), domain.candidate_keys(me.name_key, me.phones)
    )
    candidate_ids = domain.choose_candidates(postings, me.customer_id)
    candidate_ids += [customer_id for customer_id, _kind, _key in holders if customer_id != me.customer_id]
    others = records.summaries(candidate_ids)
    pairs = []
    for suspect, suspicion in domain.find_suspects(
        me, [stored(others[cid]) for cid in dict.fromkeys(candidate_ids) if cid in others]
    ):
        earlier, later = sorted((customer, others[suspect.customer_id]), key=lambda c: (c.entered_at, c.id))
        pairs.append((earlier, later, suspicion))
    return pairs


def _require_active(customer: Customer) -> None:
    if customer.status == domain.IN_POOL:
        raise CustomerInPool("the customer is in the pool: take it first")
    if customer.status == domain.ARCHIVED:
        raise CustomerArchived("the customer is archived")


def _standing(customer: Customer) -> domain.Claimant:
    return domain.owner_standing(
        customer.owner_id, customer.contacts, customer.owned_since or customer.entered_at
    )  # type: ignore[arg-type]


def _columns(row: Any) -> dict:
    return {column.key: getattr(row, column.key) for column in row.__table__.columns}


def _without(mapping: dict, key: str) -> dict:
    return {k: v for k, v in mapping.items() if k != key}


def _tree_ids(tree: dict) -> set[int]:
    return {tree["customer_id"]}.union(*(_tree_ids(child) for child in tree["children"]))


def _match_view(match: domain.Match, customer: Any) -> dict:
    return {
        "customer_id": customer.id,
        "name": customer.name,
        "owner": customer.owner_name,
        "owner_id": customer.owner_id,
        "status": customer.status,
        "matched_on": list(match.matched_on),
        "score": match.score,
        "reason": match.reason,
        "exact": match.exact,
    }


def _suspicion_view(suspicion: DuplicateSuspicion, customers: dict[int, Customer]) -> dict:
    return SuspicionSchema().dump(
        {
            **_columns(suspicion),
            "customer": customers[suspicion.customer_id],
            "duplicate_of": customers[suspicion.duplicate_of_id],
        }
    )


def _event_data(customer: Customer) -> dict:
    """What other services need to act on a customer: owner, team, birthday, next visit."""
    contact = next((c for c in customer.contacts or [] if c.get("name") == customer.next_visit_contact), None)
    return {
        "customer_id": customer.id,
        "name": customer.name,
        "owner_id": customer.owner_id,
        "owner_name": customer.owner_name,
        "team": customer.team,
        "status": customer.status,
        "industry": customer.industry,
        "entered_by": customer.entered_by,
        "entered_at": customer.entered_at.isoformat(),
        "birthday": customer.birthday,
        "next_visit_at": customer.next_visit_at.isoformat() if customer.next_visit_at else None,
        "next_visit_contact": customer.next_visit_contact,
        "next_visit_contact_phone": contact.get("phone") if contact else None,
        "referred_by": customer.referred_by,
        "revision": customer.revision,
    }
