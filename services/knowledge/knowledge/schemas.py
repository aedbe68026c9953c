"""What crosses the knowledge service's boundary: RPC (and through the gateway, HTTP) and the
data of the events it emits (docs/CONTRACTS.md, docs/events.md). A leaf module: marshmallow and
:mod:`knowledge.constants` only, so the gateway may import it."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from crm_common.fields import DateTime
from knowledge.constants import MAX_ID, MAX_TAGS, MAX_TITLE_LENGTH, AlarmStatus, EntryKind

KINDS = [kind.value for kind in EntryKind]
ALARM_STATUSES = [status.value for status in AlarmStatus]
TEXT = validate.Length(max=20_000)
# the domain checks each tag (length, blanks); this only bounds the request
TAG_LIST = validate.Length(max=MAX_TAGS * 5)
ID = validate.Range(min=1, max=MAX_ID)


# --- in


class NewEntrySchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    title = fields.String(required=True, validate=validate.Length(min=1, max=MAX_TITLE_LENGTH))
    problem = fields.String(load_default="", validate=TEXT)
    solution = fields.String(required=True, validate=[validate.Length(min=1), TEXT])
    tags = fields.List(fields.String(validate=validate.Length(max=100)), load_default=list, validate=TAG_LIST)
    customer_id = fields.Integer(load_default=None, allow_none=True, validate=ID)
    industry = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))


class EntryEditSchema(Schema):
    title = fields.String(validate=validate.Length(min=1, max=MAX_TITLE_LENGTH))
    problem = fields.String(validate=TEXT)
    solution = fields.String(validate=[validate.Length(min=1), TEXT])
    tags = fields.List(fields.String(validate=validate.Length(max=100)), validate=TAG_LIST)

    @validates_schema
    def something_changes(self, data: dict, **kwargs: object) -> None:
        if not data:
            raise ValidationError("give at least one of title, problem, solution, tags", "_schema")


class SearchQuerySchema(Schema):
    q = fields.String(load_default=None, validate=validate.Length(max=200))
    tag = fields.String(load_default=None, validate=validate.Length(min=1, max=100))
    kind = fields.String(load_default=None, validate=validate.OneOf(KINDS))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=10_000))
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class PinSchema(Schema):
    pinned = fields.Boolean(load_default=True)


class ArchiveSchema(Schema):
    archived = fields.Boolean(load_default=True)


class OnboardingQuerySchema(Schema):
    per_tag = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10))


class NewAlarmSchema(Schema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=MAX_TITLE_LENGTH))
    problem = fields.String(required=True, validate=[validate.Length(min=1), TEXT])
    customer_id = fields.Integer(load_default=None, allow_none=True, validate=ID)


class NewAnswerSchema(Schema):
    body = fields.String(required=True, validate=[validate.Length(min=1), TEXT])


class ResolveSchema(Schema):
    answer_id = fields.Integer(required=True, validate=ID)
    publish = fields.Boolean(
        load_default=False, metadata={"description": "publish the accepted answer as a knowledge entry"}
    )
    tags = fields.List(fields.String(validate=validate.Length(max=100)), load_default=list, validate=TAG_LIST)


class AlarmListQuerySchema(Schema):
    scope = fields.String(
        load_default=None,
        validate=validate.OneOf(["mine", "team"]),
        metadata={"description": "default: mine for salespeople, team for managers (admins: all)"},
    )
    status = fields.String(load_default=None, validate=validate.OneOf(ALARM_STATUSES))


class StaleQuerySchema(Schema):
    days = fields.Integer(load_default=3, validate=validate.Range(min=0, max=365))


class SinceQuerySchema(Schema):
    """A page of what happened from ``since`` on (``votes_since``, ``reads_since``, ``entries_since``), oldest first."""

    since = DateTime(required=True, require_offset=True)
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_ID))
    limit = fields.Integer(load_default=500, validate=validate.Range(min=1, max=1000))


# --- out


class EntrySchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    title = fields.String()
    problem = fields.String()
    solution = fields.String()
    tags = fields.List(fields.String())
    author_id = fields.Integer()
    author_name = fields.String()
    team = fields.String(allow_none=True)
    customer_id = fields.Integer(allow_none=True)
    industry = fields.String(allow_none=True)
    alarm_id = fields.Integer(allow_none=True, metadata={"description": "the alarm it was published from"})
    version = fields.Integer()
    views = fields.Integer()
    useful_votes = fields.Integer()
    pinned = fields.Boolean()
    archived = fields.Boolean()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class EntryVersionSchema(Schema):
    version = fields.Integer()
    title = fields.String()
    problem = fields.String()
    solution = fields.String()
    tags = fields.List(fields.String())
    edited_by = fields.Integer()
    edited_at = fields.DateTime()


class HighlightsSchema(Schema):
    title = fields.String(metadata={"description": "HTML: hits in <mark>, the rest escaped"})
    problem = fields.String()
    solution = fields.String()


class SearchHitSchema(EntrySchema):
    relevance = fields.Integer(metadata={"description": "how many distinct query terms the entry has"})
    highlights = fields.Nested(HighlightsSchema)


class SearchResultSchema(Schema):
    q = fields.String(allow_none=True)
    terms = fields.List(fields.String(), metadata={"description": "the query as segmented"})
    items = fields.List(fields.Nested(SearchHitSchema))
    offset = fields.Integer()
    limit = fields.Integer()
    has_more = fields.Boolean()


class OnboardingItemSchema(Schema):
    reason = fields.String(metadata={"description": "pinned or most_useful"})
    tag = fields.String(allow_none=True)
    entry = fields.Nested(EntrySchema)


class OnboardingSchema(Schema):
    items = fields.List(fields.Nested(OnboardingItemSchema))


class AnswerSchema(Schema):
    id = fields.Integer()
    alarm_id = fields.Integer()
    author_id = fields.Integer()
    author_name = fields.String()
    body = fields.String()
    by_manager = fields.Boolean()
    answered_at = fields.DateTime()


class SimilarEntrySchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    title = fields.String()
    useful_votes = fields.Integer()
    score = fields.Float()
    matched_terms = fields.List(fields.String())


class SimilarAlarmSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    status = fields.String()
    entry_id = fields.Integer(allow_none=True)
    raised_at = fields.DateTime()
    score = fields.Float()
    matched_terms = fields.List(fields.String())


class AlarmSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    problem = fields.String()
    customer_id = fields.Integer(allow_none=True)
    customer_name = fields.String(allow_none=True)
    raised_by = fields.Integer()
    raised_by_name = fields.String()
    team = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "open, answered or resolved"})
    manager_answered = fields.Boolean()
    accepted_answer_id = fields.Integer(allow_none=True)
    entry_id = fields.Integer(allow_none=True, metadata={"description": "the entry published from it"})
    raised_at = fields.DateTime()
    resolved_at = fields.DateTime(allow_none=True)
    answer_count = fields.Integer()


class AlarmDetailSchema(AlarmSchema):
    answers = fields.List(fields.Nested(AnswerSchema))
    similar_entries = fields.List(fields.Nested(SimilarEntrySchema))
    similar_alarms = fields.List(fields.Nested(SimilarAlarmSchema))


class ResolvedAlarmSchema(AlarmSchema):
    entry = fields.Nested(EntrySchema, allow_none=True, metadata={"description": "the published entry"})


class AlarmForAbandonSchema(Schema):
    alarm_id = fields.Integer()
    customer_id = fields.Integer(allow_none=True)
    raised_by = fields.Integer()
    team = fields.String(allow_none=True)
    status = fields.String()
    manager_answered = fields.Boolean()


# --- events (data of the envelope; dumped from the views the use cases answer with)


class AlarmRaisedSchema(Schema):
    alarm_id = fields.Integer(attribute="id")
    title = fields.String()
    problem = fields.String()
    customer_id = fields.Integer(allow_none=True)
    customer_name = fields.String(allow_none=True)
    raised_by = fields.Integer()
    raised_by_name = fields.String()
    team = fields.String(allow_none=True)


class AlarmAnsweredSchema(Schema):
    alarm_id = fields.Integer()
    answer_id = fields.Integer(attribute="id")
    answered_by = fields.Integer(attribute="author_id")
    answered_by_name = fields.String(attribute="author_name")
    by_manager = fields.Boolean()
    team = fields.String(allow_none=True, metadata={"description": "the alarm's"})
    raised_by = fields.Integer()
    customer_id = fields.Integer(allow_none=True)


class AlarmResolvedSchema(Schema):
    alarm_id = fields.Integer(attribute="id")
    answer_id = fields.Integer(attribute="accepted_answer_id")
    answered_by = fields.Integer(metadata={"description": "the accepted answer's author"})
    entry_id = fields.Integer(allow_none=True)
    team = fields.String(allow_none=True)
    raised_by = fields.Integer()
    customer_id = fields.Integer(allow_none=True)


class EntryPublishedSchema(Schema):
    entry_id = fields.Integer(attribute="id")
    title = fields.String()
    kind = fields.String()
    author_id = fields.Integer()
    alarm_id = fields.Integer(allow_none=True)
    tags = fields.List(fields.String())
    team = fields.String(allow_none=True)


class EntryVotedSchema(Schema):
    """``entry_voted``: a colleague found the entry useful (also a row of ``votes_since``)."""

    entry_id = fields.Integer()
    title = fields.String()
    author_id = fields.Integer()
    voter_id = fields.Integer()
    team = fields.String(allow_none=True, metadata={"description": "the entry's"})
    voted_at = fields.DateTime()


class EntryReadSchema(Schema):
    """``entry_read``: someone other than its author opened the entry."""

    entry_id = fields.Integer(attribute="id")
    title = fields.String()
    author_id = fields.Integer()
    reader_id = fields.Integer()
    team = fields.String(allow_none=True, metadata={"description": "the entry's"})
    pinned = fields.Boolean(metadata={"description": "pinned for newcomers (onboarding)"})


class EntryReadRowSchema(EntryReadSchema):
    """A row of ``reads_since``: what one ``entry_read`` said, its id and when it happened."""

    event_id = fields.String(metadata={"description": "the entry_read event's id"})
    read_at = fields.DateTime(metadata={"description": "the event's occurred_at"})


class EntryWrittenSchema(Schema):
    """A row of ``entries_since``: every entry written, archived ones too."""

    entry_id = fields.Integer(attribute="id")
    title = fields.String()
    kind = fields.String()
    author_id = fields.Integer()
    alarm_id = fields.Integer(allow_none=True)
    team = fields.String(allow_none=True)
    archived = fields.Boolean()
    created_at = fields.DateTime()
