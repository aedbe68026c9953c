"""Errors the knowledge service raises to its callers (the domain raises them directly).

A leaf module: it imports only ``crm_common.errors``, so another service (customers) or the
gateway may import it to receive these errors as themselves."""

from __future__ import annotations

from crm_common.errors import Conflict, Forbidden, InvalidInput, NotFound


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


class AlreadyVoted(Conflict):
    code = "already_voted"


class EntryNotFound(NotFound):
    code = "entry_not_found"


class AlarmNotFound(NotFound):
    code = "alarm_not_found"
