"""All of the pipeline's SQL: stage sets, deals and their moves, targets (here) and the report
aggregates (``store_reports``), through one worker's UnitOfWork (``Store(self.db)``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from pipeline.constants import OPEN
from pipeline.domain import Scope
from pipeline.exceptions import ConcurrentChange
from pipeline.models import Opportunity, StageChange, StageRow, StageSet, Target
from pipeline.stages import Stage
from pipeline.store_reports import ReportQueries


@dataclass(frozen=True)
class OpportunityFilter:
    """What a deal listing asks for besides its scope; ``None`` is any."""

    customer_id: int | None = None
    status: str | None = None
    stage: str | None = None


class Store(ReportQueries):
    """The pipeline's tables through one worker's session; ``emit`` writes to the outbox."""

    def emit(self, event_type: str, data: dict[str, Any]) -> None:
        """An event published only if the worker's transaction commits."""
        self.uow.emit(event_type, data)

    # ---- stage sets -----------------------------------------------------------------------------

    def current_stage_set(self, team: str | None) -> StageSet:
        """The newest set of ``team``, or the company default's newest when the team has none."""
        return self._newest_set(team) or self._newest_set(None) or self._oldest_default()

    def stage_set_at(self, team: str | None, instant: datetime) -> StageSet:
        """The set that was in force for ``team`` at ``instant`` (for backtests)."""
        return self._newest_set(team, instant) or self._newest_set(None, instant) or self._oldest_default()

    def stage_set(self, version: int) -> StageSet | None:
        return self.session.get(StageSet, version)

    def _newest_set(self, team: str | None, before: datetime | None = None) -> StageSet | None:
        query = select(StageSet).where(StageSet.team.is_(None) if team is None else StageSet.team == team)
        if before is not None:
            query = query.where(StageSet.created_at <= before)
        return self.session.scalar(query.order_by(StageSet.id.desc()).limit(1))

    def _oldest_default(self) -> StageSet:
        # the migration seeds version 1: a database without it was not migrated
        return self.session.scalars(
            select(StageSet).where(StageSet.team.is_(None)).order_by(StageSet.id).limit(1)
        ).one()

    @staticmethod
    def stages_of(stage_set: StageSet) -> tuple[Stage, ...]:
        return tuple(Stage(row.key, row.name, row.probability, row.in_forecast) for row in stage_set.stages)

    def add_stage_set(
        self, team: str | None, stages: Iterable[Stage], created_at: datetime, created_by: int
    ) -> StageSet:
        """A new version of ``team``'s stages (None: the company default)."""
        stage_set = StageSet(
            team=team,
            created_at=created_at,
            created_by=created_by,
            stages=[
                StageRow(
                    position=position,
                    key=stage.key,
                    name=stage.name,
                    probability=stage.probability,
                    in_forecast=stage.in_forecast,
                )
                for position, stage in enumerate(stages)
            ],
        )
        self.session.add(stage_set)
        self.session.flush()
        return stage_set

    def open_deals_in(self, team: str | None, keys: Iterable[str]) -> dict[str, int]:
        """How many open deals using ``team``'s stage set sit in each of ``keys`` (those with any)."""
        keys = list(keys)
        if not keys:
            return {}
        if team is not None:
            uses_set = Opportunity.team == team
        else:  # the default serves deals without a team and teams without a set of their own
            own = select(StageSet.team).where(StageSet.team.is_not(None))
            uses_set = or_(Opportunity.team.is_(None), Opportunity.team.not_in(own))
        rows = self.session.execute(
            select(Opportunity.stage, func.count())
            .where(uses_set, Opportunity.status == OPEN, Opportunity.stage.in_(keys))
            .group_by(Opportunity.stage)
        )
        return {key: count for key, count in rows}

    # ---- opportunities --------------------------------------------------------------------------

    def add_opportunity(self, **fields: Any) -> Opportunity:
        """A new deal, flushed so that it has its id."""
        opportunity = Opportunity(**fields)
        self.session.add(opportunity)
        self.session.flush()
        return opportunity

    def opportunity(self, opportunity_id: int) -> Opportunity | None:
        return self.session.get(Opportunity, opportunity_id)

    def opportunities(
        self, scope: Scope, wanted: OpportunityFilter, limit: int, offset: int
    ) -> list[Opportunity]:
        """Deals in ``scope`` matching ``wanted``, newest first."""
        found = select(Opportunity)
        if scope.owner_id is not None:
            found = found.where(Opportunity.owner_id == scope.owner_id)
        if scope.team is not None:
            found = found.where(Opportunity.team == scope.team)
        if wanted.customer_id is not None:
            found = found.where(Opportunity.customer_id == wanted.customer_id)
        if wanted.status is not None:
            found = found.where(Opportunity.status == wanted.status)
        if wanted.stage is not None:
            found = found.where(Opportunity.stage == wanted.stage)
        found = found.order_by(Opportunity.id.desc()).limit(limit).offset(offset)
        return list(self.session.scalars(found))

    def open_deals_of(self, customer_id: int) -> list[Opportunity]:
        return list(
            self.session.scalars(
                select(Opportunity)
                .where(Opportunity.customer_id == customer_id, Opportunity.status == OPEN)
                .order_by(Opportunity.id)
            )
        )

    def history(self, opportunity_id: int) -> list[StageChange]:
        """The deal's stage changes, oldest first."""
        return list(
            self.session.scalars(
                select(StageChange)
                .where(StageChange.opportunity_id == opportunity_id)
                .order_by(StageChange.id)
            )
        )

    def add_change(self, **fields: Any) -> StageChange:
        change = StageChange(**fields)
        self.session.add(change)
        return change

    def save(self) -> None:
        """Write the changes made to loaded deals; ConcurrentChange when another worker changed one
        of them meanwhile (optimistic locking, ``Opportunity.row_version``)."""
        try:
            self.session.flush()
        except StaleDataError as exc:
            raise ConcurrentChange("the deal was changed at the same moment; read it again") from exc

    # ---- targets --------------------------------------------------------------------------------

    def put_target(
        self,
        owner_id: int | None,
        team: str | None,
        period: str,
        amount: Decimal,
        set_by: int,
        set_at: datetime,
    ) -> Target:
        """Set (or replace) a salesperson's target (``owner_id``) or a team's (None) for a period;
        ConcurrentChange when another worker set the same one at the same moment."""
        subject = Target.owner_id == owner_id if owner_id is not None else Target.owner_id.is_(None)
        if owner_id is None:
            subject = subject & (Target.team == team)
        target = self.session.scalar(select(Target).where(subject, Target.period == period))
        if target is None:
            target = Target(owner_id=owner_id, period=period)
            self.session.add(target)
        target.team = team
        target.amount = amount
        target.set_by = set_by
        target.set_at = set_at
        try:
            self.session.flush()
        except IntegrityError as exc:  # set at the same moment by someone else
            raise ConcurrentChange("the target was set at the same moment; try again") from exc
        return target

    def targets(self, scope: Scope, period: str | None) -> list[Target]:
        """Targets in ``scope`` (of ``period``), by period, then members before the team's."""
        found = select(Target)
        if scope.owner_id is not None:
            found = found.where(Target.owner_id == scope.owner_id)
        if scope.team is not None:
            found = found.where(Target.team == scope.team)
        if period is not None:
            found = found.where(Target.period == period)
        found = found.order_by(Target.period, Target.owner_id.is_(None), Target.owner_id)
        return list(self.session.scalars(found))
