"""What crosses the pipeline service's boundary. Money is a decimal string in CNY (crm_common.fields.Money),
dates ISO 8601."""

from __future__ import annotations

from decimal import Decimal

from marshmallow import Schema, ValidationError, fields, validate

from crm_common.fields import Date, DecimalText, Money, MoneyInput, check_moment
from pipeline.constants import CURRENCIES, MAX_AMOUNT, MAX_ID, STATUSES, period_bounds

_CENT = Decimal("0.01")

TEAM = validate.Length(min=1, max=64)
ID = validate.Range(min=1, max=MAX_ID)


def _money(minimum: Decimal, what: str):
    def check(value: Decimal) -> None:
        if not minimum <= value <= MAX_AMOUNT:
            low = "more than 0" if minimum > 0 else "at least 0"
            raise ValidationError(f"{what} must be {low} and at most {MAX_AMOUNT}")
        if value != value.quantize(_CENT):
            raise ValidationError(f"{what} has at most two decimal places (fen)")

    return check


def _period(value: str) -> None:
    try:
        start, _end = period_bounds(value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc
    check_moment(start)  # the same years as every date: 1900–2199


def _not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("must not be blank")


# ---- stage sets ---------------------------------------------------------------------------------


class StageSchema(Schema):
    key = fields.String(
        required=True,
        validate=validate.Length(min=1, max=32),
        metadata={"description": "stable identifier; deals refer to it, so it survives renames"},
    )
    name = fields.String(required=True, validate=validate.Length(min=1, max=64))
    probability = fields.Integer(
        required=True, strict=True, metadata={"description": "whole percent, 0–100, increasing"}
    )
    in_forecast = fields.Boolean(
        load_default=None,
        allow_none=True,
        metadata={"description": "counts in the forecast; when left out: 25 ≤ probability ≤ 90"},
    )


class StageSetInputSchema(Schema):
    team = fields.String(
        load_default=None,
        allow_none=True,
        validate=TEAM,
        metadata={
            "description": "default: the caller's team; an admin without one edits the company default"
        },
    )
    stages = fields.List(fields.Nested(StageSchema), required=True, validate=validate.Length(min=1, max=30))


class StagesQuerySchema(Schema):
    team = fields.String(validate=TEAM)
    version = fields.Integer(validate=ID, metadata={"description": "an older version of the set"})


class StageSetSchema(Schema):
    version = fields.Integer(metadata={"description": "a new version on every edit"})
    team = fields.String(allow_none=True, metadata={"description": "whose set; null: the company default"})
    for_team = fields.String(allow_none=True, metadata={"description": "the team asked about"})
    inherited = fields.Boolean(
        metadata={"description": "the team has no set of its own and uses the default"}
    )
    current = fields.Boolean(metadata={"description": "false for an older version"})
    created_at = fields.DateTime()
    created_by = fields.Integer(allow_none=True)
    stages = fields.List(fields.Nested(StageSchema))


# ---- opportunities ------------------------------------------------------------------------------


class NewOpportunitySchema(Schema):
    customer_id = fields.Integer(required=True, strict=True, validate=ID)
    title = fields.String(required=True, validate=[validate.Length(min=1, max=200), _not_blank])
    amount = MoneyInput(required=True, validate=_money(_CENT, "amount"))
    currency = fields.String(
        load_default="CNY",
        validate=validate.OneOf(CURRENCIES),
        metadata={"description": "CNY (the one currency forecasts add up for now)"},
    )
    stage = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=32),
        metadata={"description": "a stage key of the team's set; default: the first stage"},
    )
    expected_close_date = Date(
        load_default=None,
        allow_none=True,
        metadata={"description": "without one the deal counts in the current period"},
    )


class MoveSchema(Schema):
    stage = fields.String(required=True, validate=validate.Length(min=1, max=32))


class CloseSchema(Schema):
    reason = fields.String(required=True, validate=[validate.Length(min=1, max=1000), _not_blank])


class OpportunitiesQuerySchema(Schema):
    owner = fields.Integer(validate=ID)
    team = fields.String(validate=TEAM)
    customer_id = fields.Integer(validate=ID)
    status = fields.String(validate=validate.OneOf(STATUSES))
    stage = fields.String(validate=validate.Length(min=1, max=32))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=10_000_000))


class StageChangeSchema(Schema):
    kind = fields.String(metadata={"description": "created, moved, won or team_changed"})
    from_stage = fields.String(allow_none=True)
    to_stage = fields.String()
    probability = fields.Integer(metadata={"description": "of to_stage, in the set then in force"})
    stage_set_version = fields.Integer(attribute="stage_set_id")
    changed_by = fields.Integer(allow_none=True, metadata={"description": "null: the system"})
    changed_at = fields.DateTime()


class OpportunitySchema(Schema):
    id = fields.Integer()
    customer_id = fields.Integer()
    owner_id = fields.Integer()
    team = fields.String(allow_none=True)
    title = fields.String()
    amount = Money()
    currency = fields.String()
    stage = fields.String()
    status = fields.String(metadata={"description": "open, won or lost"})
    expected_close_date = fields.Date(allow_none=True)
    close_reason = fields.String(allow_none=True)
    created_at = fields.DateTime()
    created_by = fields.Integer()
    updated_at = fields.DateTime()
    closed_at = fields.DateTime(allow_none=True)
    closed_by = fields.Integer(allow_none=True)
    history = fields.List(fields.Nested(StageChangeSchema), metadata={"description": "oldest first"})


# ---- targets ------------------------------------------------------------------------------------


class TargetInputSchema(Schema):
    owner = fields.Integer(
        load_default=None,
        allow_none=True,
        strict=True,
        validate=ID,
        metadata={"description": "the salesperson's user id; null for a team target"},
    )
    team = fields.String(load_default=None, allow_none=True, validate=TEAM)
    period = fields.String(
        required=True, validate=_period, metadata={"description": "a month 2026-12 or a quarter 2026-Q4"}
    )
    amount = MoneyInput(required=True, validate=_money(Decimal(0), "amount"))


class TargetsQuerySchema(Schema):
    owner = fields.Integer(validate=ID)
    team = fields.String(validate=TEAM)
    period = fields.String(validate=_period)


class TargetSchema(Schema):
    id = fields.Integer()
    owner_id = fields.Integer(allow_none=True)
    team = fields.String(allow_none=True)
    period = fields.String()
    amount = Money()
    set_by = fields.Integer()
    set_at = fields.DateTime()


# ---- forecast, funnel, calibration --------------------------------------------------------------


class ReportQuerySchema(Schema):
    owner = fields.Integer(validate=ID, metadata={"description": "one salesperson (default: yourself)"})
    team = fields.String(validate=TEAM, metadata={"description": "a team (managers: default their own)"})
    period = fields.String(
        validate=_period, metadata={"description": "2026-12 or 2026-Q4; default: the current month"}
    )


class ForecastStageSchema(Schema):
    stage = fields.String()
    name = fields.String()
    probability = fields.Integer()
    count = fields.Integer()
    amount = Money()
    weighted = Money(metadata={"description": "amount × probability"})


class IntervalSchema(Schema):
    low = Money()
    high = Money()
    level = fields.Float(metadata={"description": "confidence, 0.90 by default"})
    method = fields.String(
        metadata={
            "description": "normal: E ± z·σ (reliable samples); chebyshev: E ± σ/√(1−level) "
            "(fewer deals); σ² = Σ amount²·p·(1−p), each deal won in full or not at all"
        }
    )


class ForecastFiguresSchema(Schema):
    weighted_total = Money(metadata={"description": "Σ amount × probability over the forecast stages"})
    stages = fields.List(fields.Nested(ForecastStageSchema))
    sample_size = fields.Integer(metadata={"description": "open deals in the forecast stages"})
    min_sample = fields.Integer()
    reliable = fields.Boolean(metadata={"description": "sample_size ≥ min_sample"})
    interval = fields.Nested(IntervalSchema)
    standard_deviation = Money()
    pipeline_amount = Money(metadata={"description": "Σ amount over the forecast stages"})
    target = Money(allow_none=True)
    gap = Money(allow_none=True, metadata={"description": "target − weighted_total"})
    target_above_forecast_pct = DecimalText(allow_none=True)


class OwnerForecastSchema(ForecastFiguresSchema):
    owner_id = fields.Integer()
    display_name = fields.String(allow_none=True)


class ForecastSchema(ForecastFiguresSchema):
    owner_id = fields.Integer(allow_none=True, metadata={"description": "null for a team forecast"})
    team = fields.String(allow_none=True)
    period = fields.String()
    period_start = fields.Date()
    period_end = fields.Date()
    period_rule = fields.String()
    stage_set_version = fields.Integer()
    suggested_target = Money(metadata={"description": "20 % above the weighted total"})
    by_owner = fields.List(
        fields.Nested(OwnerForecastSchema), metadata={"description": "team forecasts: each salesperson"}
    )


class FunnelStageSchema(Schema):
    stage = fields.String()
    name = fields.String()
    probability = fields.Integer()
    count = fields.Integer(metadata={"description": "open deals; the won stage: won in the period"})
    amount = Money()


class AdviceSchema(Schema):
    kind = fields.String(metadata={"description": "prospect, push or pile_up"})
    from_stage = fields.String(allow_none=True, metadata={"description": "null: new customers"})
    to_stage = fields.String()
    count = fields.Integer()
    message = fields.String()


class OwnerFunnelSchema(Schema):
    owner_id = fields.Integer()
    display_name = fields.String(allow_none=True)
    stages = fields.List(fields.Nested(FunnelStageSchema))
    advice = fields.List(fields.Nested(AdviceSchema))


class StageComparisonSchema(Schema):
    stage = fields.String(attribute="stage_key")
    name = fields.String()
    probability = fields.Integer()
    median = fields.Float()
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())
    far_below = fields.List(fields.Integer())
    far_above = fields.List(fields.Integer())


class FunnelSchema(Schema):
    owner_id = fields.Integer(allow_none=True)
    team = fields.String(allow_none=True)
    period = fields.String()
    stage_set_version = fields.Integer()
    stages = fields.List(fields.Nested(FunnelStageSchema))
    advice = fields.List(fields.Nested(AdviceSchema))
    by_owner = fields.List(fields.Nested(OwnerFunnelSchema))
    comparison = fields.List(fields.Nested(StageComparisonSchema))


class CalibrationQuerySchema(Schema):
    team = fields.String(validate=TEAM)
    periods = fields.Integer(
        load_default=6, validate=validate.Range(min=1, max=24), metadata={"description": "months to backtest"}
    )


class StageCalibrationSchema(Schema):
    stage = fields.String(attribute="stage_key")
    name = fields.String()
    configured_probability = fields.Integer()
    reached = fields.Integer(metadata={"description": "closed deals whose history shows this stage"})
    won = fields.Integer()
    observed_rate = fields.Float(allow_none=True, metadata={"description": "percent"})
    low = fields.Float(allow_none=True)
    high = fields.Float(allow_none=True)
    suggested_probability = fields.Integer(allow_none=True)
    disagrees = fields.Boolean(metadata={"description": "the configured value is outside the interval"})


class BacktestRowSchema(Schema):
    period = fields.String()
    stage_set_version = fields.Integer()
    forecast = Money(metadata={"description": "the weighted forecast at the period's start"})
    actual = Money(metadata={"description": "won during the period"})
    error = Money()
    error_pct = DecimalText(allow_none=True)
    low = Money()
    high = Money()
    within_interval = fields.Boolean()


class CalibrationSchema(Schema):
    team = fields.String(allow_none=True)
    stage_set_version = fields.Integer()
    level = fields.Float()
    method = fields.String()
    stages = fields.List(fields.Nested(StageCalibrationSchema))
    backtest = fields.List(fields.Nested(BacktestRowSchema))
    backtest_mean_absolute_error_pct = DecimalText(allow_none=True)
