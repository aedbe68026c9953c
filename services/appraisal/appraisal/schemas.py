"""What crosses the appraisal service's boundary: RPC (and through the gateway, HTTP) and the data
of its events (docs/CONTRACTS.md, docs/events.md). A leaf module: marshmallow, crm_common and
:mod:`appraisal.constants` only, so the gateway may import it. Ranges that need the whole scheme
(weights summing to 100, a score 0–100 with its indicator) are the domain's to check."""

from marshmallow import Schema, fields, validate

from appraisal.constants import MAX_COMMENT, MAX_ID, MAX_INDICATORS, RATINGS, Metric, State
from crm_common.fields import Date, DateTime, DecimalText

METRICS = [m.value for m in Metric]
TEAM = validate.Length(min=1, max=64)
PERIOD = validate.Regexp(r"^\d{4}(-Q[1-4])?$", error='a quarter "2026-Q3" or a year "2026"')
COMMENT = validate.Length(min=1, max=MAX_COMMENT)
SCORE = validate.Range(min=0, max=100)


# --- in


class TermSchema(Schema):
    metric = fields.String(required=True, validate=validate.OneOf(METRICS))
    par = DecimalText(required=True, validate=validate.Range(min=0, min_inclusive=False, max=10**9))
    weight = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100))


class IndicatorInputSchema(Schema):
    key = fields.String(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_]{0,31}$"))
    name = fields.String(required=True, validate=validate.Length(min=1, max=32))
    weight = fields.Integer(required=True, validate=validate.Range(min=0, max=100))
    manager_share = fields.Integer(required=True, validate=validate.Range(min=0, max=100))
    metrics = fields.List(fields.Nested(TermSchema), load_default=list, validate=validate.Length(max=8))


class BandsSchema(Schema):
    excellent = DecimalText(required=True, validate=SCORE)
    good = DecimalText(required=True, validate=SCORE)
    # "pass" is a Python keyword: the key is "pass" on the wire
    pass_ = DecimalText(required=True, validate=SCORE, data_key="pass", attribute="pass")


class SchemeInputSchema(Schema):
    team = fields.String(load_default=None, allow_none=True, validate=TEAM)
    indicators = fields.List(
        fields.Nested(IndicatorInputSchema),
        required=True,
        validate=validate.Length(min=1, max=MAX_INDICATORS),
    )
    bands = fields.Nested(BandsSchema, load_default=None, allow_none=True)


class TeamQuerySchema(Schema):
    team = fields.String(load_default=None, allow_none=True, validate=TEAM)


class ComputeSchema(Schema):
    team = fields.String(load_default=None, allow_none=True, validate=TEAM)
    period = fields.String(required=True, validate=PERIOD)


class TeamCardsQuerySchema(ComputeSchema):
    pass


class MyCardsQuerySchema(Schema):
    period = fields.String(load_default=None, allow_none=True, validate=PERIOD)


class ManagerScoreSchema(Schema):
    indicator = fields.String(required=True, validate=validate.Length(min=1, max=32))
    score = DecimalText(required=True, validate=SCORE)
    comment = fields.String(required=True, validate=COMMENT)


class ScoresSchema(Schema):
    scores = fields.List(
        fields.Nested(ManagerScoreSchema), required=True, validate=validate.Length(min=1, max=MAX_INDICATORS)
    )


class DisputeSchema(Schema):
    reason = fields.String(required=True, validate=COMMENT)


class ReviewSchema(Schema):
    note = fields.String(required=True, validate=COMMENT)
    scores = fields.List(
        fields.Nested(ManagerScoreSchema), load_default=list, validate=validate.Length(max=MAX_INDICATORS)
    )


class NoteSchema(Schema):
    body = fields.String(required=True, validate=COMMENT)


class EvidenceQuerySchema(Schema):
    metric = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(METRICS))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_ID))


# --- out


class TermOutSchema(Schema):
    metric = fields.String(required=True)
    par = fields.String(required=True)
    weight = fields.Integer(required=True)


class IndicatorOutSchema(Schema):
    key = fields.String(required=True)
    name = fields.String(required=True)
    weight = fields.Integer(required=True)
    manager_share = fields.Integer(required=True)
    metrics = fields.List(fields.Nested(TermOutSchema), required=True)


class BandsOutSchema(Schema):
    excellent = fields.String(required=True)
    good = fields.String(required=True)
    pass_ = fields.String(required=True, data_key="pass", attribute="pass")


class SchemeSchema(Schema):
    team = fields.String(required=True)
    default = fields.Boolean(required=True)
    indicators = fields.List(fields.Nested(IndicatorOutSchema), required=True)
    bands = fields.Nested(BandsOutSchema, required=True)


class MetricScoreSchema(Schema):
    metric = fields.String(required=True)
    value = DecimalText(required=True, allow_none=True, places=4)
    score = DecimalText(required=True, allow_none=True)


class IndicatorScoreSchema(Schema):
    key = fields.String(required=True)
    name = fields.String(required=True)
    weight = fields.Integer(required=True)
    manager_share = fields.Integer(required=True)
    objective = DecimalText(required=True, allow_none=True)
    manager_score = DecimalText(required=True, allow_none=True)
    manager_comment = fields.String(required=True, allow_none=True)
    score = DecimalText(required=True, allow_none=True)
    metrics = fields.List(fields.Nested(MetricScoreSchema), required=True)


class NoteOutSchema(Schema):
    id = fields.Integer(required=True)
    author_id = fields.Integer(required=True)
    author_name = fields.String(required=True)
    body = fields.String(required=True)
    created_at = DateTime(required=True)


class ScorecardSchema(Schema):
    id = fields.Integer(required=True)
    person_id = fields.Integer(required=True)
    person_name = fields.String(required=True)
    role = fields.String(required=True)
    team = fields.String(required=True)
    period = fields.String(required=True)
    state = fields.String(required=True, validate=validate.OneOf([s.value for s in State]))
    total = DecimalText(required=True, allow_none=True)
    rating = fields.String(required=True, allow_none=True, validate=validate.OneOf(RATINGS))
    rank = fields.Integer(required=True, allow_none=True)
    missing = fields.List(fields.String(), required=True)
    won_amount = fields.String(required=True, allow_none=True)
    target = fields.String(required=True, allow_none=True)
    indicators = fields.List(fields.Nested(IndicatorScoreSchema), required=True)
    computed_at = DateTime(required=True)
    published_at = DateTime(required=True, allow_none=True)
    acknowledged_at = DateTime(required=True, allow_none=True)
    disputed_at = DateTime(required=True, allow_none=True)
    dispute_reason = fields.String(required=True, allow_none=True)
    reviewed_at = DateTime(required=True, allow_none=True)
    reviewed_by = fields.Integer(required=True, allow_none=True)
    review_note = fields.String(required=True, allow_none=True)
    notes = fields.List(fields.Nested(NoteOutSchema))


class EvidenceSchema(Schema):
    kind = fields.String(required=True)
    ref_id = fields.Integer(required=True)
    related_id = fields.Integer(required=True, allow_none=True)
    amount = DecimalText(required=True, allow_none=True)
    label = fields.String(required=True, allow_none=True)
    day = Date(required=True)
    occurred_at = DateTime(required=True)
    source_event_id = fields.String(required=True)
    accepted = fields.Boolean(required=True, allow_none=True)
