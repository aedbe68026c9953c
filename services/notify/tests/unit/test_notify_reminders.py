"""Reminder rules: input, timing, state transitions (no clock, no database)."""

from datetime import UTC, datetime, timedelta

import pytest
from marshmallow import ValidationError

from notify.domain import (
    InvalidEscalateAfter,
    NotOwner,
    Reminder,
    ReminderClosed,
    ReminderStatus,
    acknowledge,
    as_utc,
    cancel,
    escalation_at,
    is_late,
    local_time_to_utc,
    resolve_escalate_after,
    to_local,
)
from notify.schemas import NewReminderSchema

DUE = datetime(2025, 3, 1, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai


def reminder(**changes: object) -> Reminder:
    values: dict[str, object] = {
        "id": 7,
        "owner_id": 42,
        "title": "拜访华为",
        "content": "带上合同",
        "due_at": DUE,
        "escalate_after_minutes": 10,
    }
    values.update(changes)
    return Reminder(**values)  # type: ignore[arg-type]


# --- input rules


def parse_due_at(value: object) -> datetime:
    return NewReminderSchema().load({"title": "拜访华为", "due_at": value})["due_at"]


def test_due_at_with_shanghai_offset_is_stored_in_utc() -> None:
    assert parse_due_at("2025-03-01T09:30:00+08:00") == DUE
    assert parse_due_at("2025-03-01T09:30:00+08:00").tzinfo == UTC


def test_due_at_with_z_suffix_is_accepted() -> None:
    assert parse_due_at("2025-03-01T01:30:00Z") == DUE


@pytest.mark.parametrize("value", ["2025-03-01T09:30:00", "2025-03-01", datetime(2025, 3, 1, 9, 30)])
def test_due_at_without_offset_is_refused(value: object) -> None:
    with pytest.raises(ValidationError) as refused:
        parse_due_at(value)
    assert "due_at" in refused.value.messages


@pytest.mark.parametrize("value", ["tomorrow 9am", "", "2025-13-01T09:30:00+08:00", 1740792600])
def test_due_at_that_is_no_iso_datetime_is_refused(value: object) -> None:
    with pytest.raises(ValidationError):
        parse_due_at(value)


def test_rule_errors_are_value_errors_with_a_code() -> None:
    with pytest.raises(ValueError) as refused:
        resolve_escalate_after(0)
    assert refused.value.code == "invalid_escalate_after"  # type: ignore[attr-defined]


def test_escalation_minutes_default_to_the_owners_setting() -> None:
    assert resolve_escalate_after(None, owner_setting=25) == 25


def test_escalation_minutes_default_to_ten_without_an_owner_setting() -> None:
    assert resolve_escalate_after(None) == 10


def test_escalation_minutes_given_on_the_reminder_win_over_the_owners_setting() -> None:
    assert resolve_escalate_after(3, owner_setting=25) == 3


@pytest.mark.parametrize("minutes", [1, 1440])
def test_escalation_minutes_accept_the_range_limits(minutes: int) -> None:
    assert resolve_escalate_after(minutes) == minutes


@pytest.mark.parametrize("minutes", [0, -5, 1441, 2.5, 10.0, "10", True])
def test_escalation_minutes_outside_whole_1_to_1440_are_refused(minutes: object) -> None:
    with pytest.raises(InvalidEscalateAfter) as refused:
        resolve_escalate_after(minutes)
    assert refused.value.code == "invalid_escalate_after"


def test_utc_time_is_shown_in_shanghai_by_default() -> None:
    local = to_local(DUE)
    assert (local.hour, local.minute, local.utcoffset()) == (9, 30, timedelta(hours=8))


def test_naive_times_from_the_database_are_read_as_utc() -> None:
    assert to_local(datetime(2025, 3, 1, 1, 30), "Asia/Shanghai").hour == 9
    assert as_utc(datetime(2025, 3, 1, 1, 30)) == DUE


def test_local_wall_clock_time_converts_to_utc() -> None:
    morning = local_time_to_utc(datetime(2025, 3, 1).date(), datetime(2025, 3, 1, 9).time())
    assert morning == datetime(2025, 3, 1, 1, 0, tzinfo=UTC)


# --- timing


def test_escalation_time_is_due_at_plus_the_configured_minutes() -> None:
    assert escalation_at(DUE, 10) == DUE + timedelta(minutes=10)


def test_reminder_fired_within_a_minute_is_on_time_and_later_is_late() -> None:
    assert not is_late(DUE, DUE + timedelta(seconds=60))
    assert is_late(DUE, DUE + timedelta(seconds=61))


def test_late_grace_can_be_changed() -> None:
    assert is_late(DUE, DUE + timedelta(seconds=6), grace=timedelta(seconds=5))


# --- transitions


def test_owner_acknowledges_a_due_reminder() -> None:
    acked = acknowledge(reminder(status=ReminderStatus.DUE), user_id=42, now=DUE + timedelta(minutes=3))
    assert acked.status == ReminderStatus.ACKNOWLEDGED
    assert acked.acknowledged_at == DUE + timedelta(minutes=3)


def test_owner_id_from_the_token_matches_even_as_text() -> None:
    assert acknowledge(reminder(), user_id="42", now=DUE).status == ReminderStatus.ACKNOWLEDGED


def test_someone_else_cannot_acknowledge_the_reminder() -> None:
    with pytest.raises(NotOwner) as refused:
        acknowledge(reminder(status=ReminderStatus.DUE), user_id=43, now=DUE)
    assert refused.value.code == "not_owner"


def test_acknowledging_twice_keeps_the_first_acknowledgement() -> None:
    first = acknowledge(reminder(), 42, DUE)
    assert acknowledge(first, 42, DUE + timedelta(hours=1)) == first


def test_escalated_reminder_can_still_be_acknowledged_and_keeps_its_escalation() -> None:
    escalated = reminder(status=ReminderStatus.ESCALATED, escalated_at=DUE + timedelta(minutes=10))
    acked = acknowledge(escalated, 42, DUE + timedelta(minutes=12))
    assert acked.status == ReminderStatus.ACKNOWLEDGED
    assert acked.escalated_at == DUE + timedelta(minutes=10)


def test_cancelled_reminder_cannot_be_acknowledged() -> None:
    with pytest.raises(ReminderClosed) as refused:
        acknowledge(cancel(reminder(), 42, DUE), 42, DUE)
    assert refused.value.code == "reminder_closed"


def test_owner_cancels_a_pending_reminder() -> None:
    cancelled = cancel(reminder(), 42, DUE - timedelta(hours=1))
    assert cancelled.status == ReminderStatus.CANCELLED
    assert cancelled.cancelled_at == DUE - timedelta(hours=1)


def test_someone_else_cannot_cancel_the_reminder() -> None:
    with pytest.raises(NotOwner):
        cancel(reminder(), 99, DUE)


def test_acknowledged_reminder_cannot_be_cancelled() -> None:
    with pytest.raises(ReminderClosed):
        cancel(acknowledge(reminder(), 42, DUE), 42, DUE)


def test_reminder_reads_from_any_row_with_the_same_attributes() -> None:
    class Row:
        id, owner_id, title, content = 1, 42, "t", "c"
        due_at, escalate_after_minutes, status = DUE, 5, "due"
        unrelated_column = "ignored"

    loaded = Reminder.from_attributes(Row())
    assert (loaded.owner_id, loaded.status, loaded.escalate_after_minutes) == (42, "due", 5)
