"""Birthday and revisit reminders: when, for whom, in which words."""

from datetime import UTC, date, datetime, timedelta

import pytest

from notify.domain import InvalidBirthday
from notify.domain_birthdays import (
    AnniversaryKind,
    WatchedBirthday,
    birthdays_to_remind,
    next_occurrence,
    revisit_reminder_at,
    revisit_reminder_text,
)


def watch(month: int, day: int, last_reminded_year: int | None = None, **changes: object) -> WatchedBirthday:
    values: dict[str, object] = {
        "customer_id": 5,
        "owner_id": 42,
        "customer_name": "华为技术",
        "month": month,
        "day": day,
        "last_reminded_year": last_reminded_year,
    }
    values.update(changes)
    return WatchedBirthday(**values)  # type: ignore[arg-type]


# --- next occurrence


def test_birthday_later_this_year_is_this_year() -> None:
    assert next_occurrence(6, 15, date(2025, 3, 1)) == date(2025, 6, 15)


def test_birthday_today_is_today() -> None:
    assert next_occurrence(3, 1, date(2025, 3, 1)) == date(2025, 3, 1)


def test_birthday_already_past_is_next_year() -> None:
    assert next_occurrence(1, 10, date(2025, 3, 1)) == date(2026, 1, 10)


def test_leap_day_birthday_falls_on_28_february_in_other_years() -> None:
    assert next_occurrence(2, 29, date(2025, 1, 1)) == date(2025, 2, 28)


def test_leap_day_birthday_stays_on_29_february_in_leap_years() -> None:
    assert next_occurrence(2, 29, date(2028, 1, 1)) == date(2028, 2, 29)


@pytest.mark.parametrize(("month", "day"), [(2, 30), (4, 31), (13, 1), (0, 5)])
def test_impossible_birthday_is_refused(month: int, day: int) -> None:
    with pytest.raises(InvalidBirthday) as refused:
        next_occurrence(month, day, date(2025, 1, 1))
    assert refused.value.code == "invalid_birthday"


# --- daily scan


def test_scan_reminds_the_owner_two_days_before_the_birthday() -> None:
    [due] = birthdays_to_remind([watch(6, 15)], date(2025, 6, 13), days_ahead=2)
    assert (due.customer_id, due.owner_id, due.occurrence, due.days_until) == (5, 42, date(2025, 6, 15), 2)
    assert due.remind_year == 2025


def test_scan_does_not_remind_three_days_ahead() -> None:
    assert birthdays_to_remind([watch(6, 15)], date(2025, 6, 12), days_ahead=2) == []


def test_missed_scan_still_reminds_the_next_day() -> None:
    [due] = birthdays_to_remind([watch(6, 15)], date(2025, 6, 14), days_ahead=2)
    assert due.days_until == 1


def test_scan_reminds_on_the_birthday_itself_if_all_earlier_scans_were_missed() -> None:
    [due] = birthdays_to_remind([watch(6, 15)], date(2025, 6, 15), days_ahead=2)
    assert due.days_until == 0
    assert "今天" in due.title


def test_customer_already_reminded_this_year_is_not_reminded_again() -> None:
    assert birthdays_to_remind([watch(6, 15, last_reminded_year=2025)], date(2025, 6, 14), 2) == []


def test_customer_reminded_last_year_is_reminded_again() -> None:
    assert len(birthdays_to_remind([watch(6, 15, last_reminded_year=2024)], date(2025, 6, 14), 2)) == 1


def test_new_year_birthday_counts_against_next_years_reminder() -> None:
    [due] = birthdays_to_remind([watch(1, 1, last_reminded_year=2025)], date(2025, 12, 30), 2)
    assert due.occurrence == date(2026, 1, 1)
    assert due.remind_year == 2026


def test_scan_skips_customers_with_impossible_dates_and_keeps_the_rest() -> None:
    reminders = birthdays_to_remind([watch(2, 30), watch(6, 15, customer_id=6)], date(2025, 6, 14), 2)
    assert [due.customer_id for due in reminders] == [6]


def test_birthday_reminder_is_in_chinese_and_names_the_customer() -> None:
    [due] = birthdays_to_remind([watch(6, 15, person_name="任总")], date(2025, 6, 13), 2)
    assert due.title == "生日提醒：华为技术 任总 06-15（2天后）"
    assert "6月15日生日" in due.content


def test_founding_day_reminder_says_founding_day() -> None:
    [due] = birthdays_to_remind([watch(9, 1, kind=AnniversaryKind.FOUNDING)], date(2025, 8, 31), 2)
    assert due.title.startswith("成立纪念日提醒：华为技术")
    assert "明天" in due.title


# --- revisits

NOW = datetime(2025, 3, 1, 1, 0, tzinfo=UTC)


def test_revisit_is_reminded_a_day_ahead_by_default() -> None:
    visit = NOW + timedelta(days=3)
    assert revisit_reminder_at(visit, now=NOW) == visit - timedelta(hours=24)


def test_revisit_lead_time_is_configurable() -> None:
    visit = NOW + timedelta(days=3)
    assert revisit_reminder_at(visit, timedelta(hours=2), now=NOW) == visit - timedelta(hours=2)


def test_revisit_inside_the_lead_time_is_reminded_now() -> None:
    assert revisit_reminder_at(NOW + timedelta(hours=3), now=NOW) == NOW


def test_past_revisit_gets_no_reminder() -> None:
    assert revisit_reminder_at(NOW - timedelta(minutes=1), now=NOW) is None
    assert revisit_reminder_at(NOW, now=NOW) is None


def test_revisit_time_with_an_offset_is_compared_as_the_same_instant() -> None:
    visit_shanghai = datetime.fromisoformat("2025-03-04T09:00:00+08:00")
    assert revisit_reminder_at(visit_shanghai, now=NOW) == datetime(2025, 3, 3, 1, 0, tzinfo=UTC)


def test_negative_lead_time_is_refused() -> None:
    with pytest.raises(ValueError):
        revisit_reminder_at(NOW + timedelta(days=1), timedelta(hours=-1), now=NOW)


def test_revisit_reminder_names_the_contact_and_title() -> None:
    title, content = revisit_reminder_text("华为技术", datetime(2025, 3, 4, 9, 0), "王经理", "采购总监")
    assert title == "回访提醒：华为技术 王经理（采购总监）"
    assert content == "计划于 03-04 09:00 拜访「华为技术」的王经理（采购总监），请提前准备。"


def test_revisit_reminder_without_a_contact_names_the_customer() -> None:
    title, content = revisit_reminder_text("华为技术", datetime(2025, 3, 4, 9, 0))
    assert title == "回访提醒：华为技术"
    assert "拜访「华为技术」，" in content
