"""Errors the knowledge service raises to its callers, and the one place where the domain's
refusals (:class:`knowledge.domain.KnowledgeRuleError`, plain ``ValueError``\\ s) become them."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from crm_common.errors import Conflict, CrmError, Forbidden, InvalidInput, NotFound
from knowledge import domain


class InvalidKind(InvalidInput):
    code = "invalid_kind"


class InvalidTags(InvalidInput):
    code = "invalid_tags"


class BlankField(InvalidInput):
    code = "blank_field"


class NotAuthor(Forbidden):
    code = "not_author"


class NotManager(Forbidden):
    code = "not_manager"


class NotInTeam(Forbidden):
    code = "not_in_team"


class NotRaiser(Forbidden):
    code = "not_raiser"


class OwnEntry(Forbidden):
    code = "own_entry"


class AlarmNotOpen(Conflict):
    code = "alarm_not_open"


class AnswerNotOfAlarm(Conflict):
    code = "answer_not_of_alarm"


class AlarmRequired(Conflict):
    code = "alarm_required"


class AlreadyVoted(Conflict):
    code = "already_voted"


class EntryNotFound(NotFound):
    code = "entry_not_found"


class AlarmNotFound(NotFound):
    code = "alarm_not_found"


_ERROR_FOR_RULE: dict[type[domain.KnowledgeRuleError], type[CrmError]] = {
    domain.InvalidKind: InvalidKind,
    domain.InvalidTags: InvalidTags,
    domain.BlankField: BlankField,
    domain.NotAuthor: NotAuthor,
    domain.NotManager: NotManager,
    domain.NotInTeam: NotInTeam,
    domain.NotRaiser: NotRaiser,
    domain.OwnEntry: OwnEntry,
    domain.AlarmNotOpen: AlarmNotOpen,
    domain.AnswerNotOfAlarm: AnswerNotOfAlarm,
    domain.AlarmRequired: AlarmRequired,
}


def service_error(refusal: domain.KnowledgeRuleError) -> CrmError:
    """The caller-facing error for a domain refusal: same code, same message and details."""
    error_type = _ERROR_FOR_RULE.get(type(refusal), Conflict)
    return error_type(refusal.message, refusal.details)


Method = TypeVar("Method", bound=Callable[..., Any])


def refusals_as_errors(method: Method) -> Method:
    """Let an entrypoint raise the domain's refusals as the errors above."""

    @functools.wraps(method)
    def translated(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except domain.KnowledgeRuleError as refusal:
            raise service_error(refusal) from refusal

    return translated  # type: ignore[return-value]
