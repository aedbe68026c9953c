"""The owner's warning before the pool rules return a customer to the team's pool (customers'
``customer_return_warning``): the words, and the one notice per event on the fake store."""

from datetime import UTC, datetime, timedelta

from notify import usecases_notices, usecases_watching
from notify.domain_notices import return_warning_notice
from services.notify.tests.fakes import FakeStore

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
RETURN_AT = datetime(2026, 12, 2, 18, 0, tzinfo=UTC)  # 3 December in Shanghai


def warning(**data: object) -> dict:
    return {
        "event_id": "evt-w1",
        "event_type": "customer_return_warning",
        "occurred_at": NOW.isoformat(),
        "version": 1,
        "data": {
            "customer_id": 501,
            "name": "恒发五金",
            "owner_id": 11,
            "owner_name": "李娜",
            "team": "east",
            "reason": "no_followup",
            "days": 30,
            "return_at": RETURN_AT.isoformat(),
            "days_left": 2,
            **data,
        },
    }


def test_the_warning_says_the_rule_the_local_day_and_what_keeps_the_customer() -> None:
    notice = return_warning_notice(501, "恒发五金", "no_followup", 30, RETURN_AT, NOW, "Asia/Shanghai")
    assert notice.title == "客户即将退回公海：恒发五金"
    assert notice.body == (
        "客户「恒发五金」超过 30 天没有跟进记录，将于 12 月 3 日（3 天后）自动退回团队公海。添加一条跟进记录即可保留。"
    )
    won = return_warning_notice(501, "恒发五金", "no_won_deal", 90, RETURN_AT, NOW, "Asia/Shanghai")
    assert "超过 90 天没有成交" in won.body and "赢下一个商机即可保留" in won.body


def test_a_part_of_a_day_left_counts_as_a_day_and_none_left_is_today() -> None:
    def when(now: datetime) -> str:
        return return_warning_notice(501, "恒发五金", None, 30, RETURN_AT, now, "UTC").body

    assert "12 月 2 日（1 天后）" in when(RETURN_AT - timedelta(hours=23, minutes=59))
    assert "12 月 2 日（2 天后）" in when(RETURN_AT - timedelta(days=1, seconds=1))
    assert "12 月 2 日（今天）" in when(RETURN_AT) and "（今天）" in when(RETURN_AT + timedelta(hours=1))


def test_the_owner_gets_one_notice_per_warning_linked_to_the_customer() -> None:
    store = FakeStore()
    usecases_notices.warn_owner_of_return(store, warning(), NOW, "Asia/Shanghai")
    usecases_notices.warn_owner_of_return(store, warning(), NOW, "Asia/Shanghai")  # redelivered
    [notice] = store.rows
    assert (notice.user_id, notice.kind, notice.subject_type, notice.subject_id) == (
        11,
        "customer_return_warning",
        "customer",
        "501",
    )
    assert notice.title == "客户即将退回公海：恒发五金"


def test_an_unreadable_warning_is_dropped_with_a_log_line(caplog) -> None:
    store = FakeStore()
    for bad in (
        warning(owner_id=None),
        warning(customer_id="501"),
        warning(return_at="next week"),
        warning(reason="bored"),
        warning(name=""),
        {**warning(), "data": None},
    ):
        usecases_notices.warn_owner_of_return(store, bad, NOW, "Asia/Shanghai")
    assert store.rows == []
    assert caplog.text.count("customer_return_warning evt-w1 unreadable") == 6


def transferred(at: datetime, from_owner: int = 11, to_owner: int = 12) -> dict:
    return {
        "event_id": f"evt-t-{at.isoformat()}",
        "event_type": "customer_transferred",
        "occurred_at": at.isoformat(),
        "version": 1,
        "data": {
            "customer_id": 501,
            "name": "恒发五金",
            "from_owner_id": from_owner,
            "to_owner_id": to_owner,
        },
    }


def created(at: datetime, owner: int = 11) -> dict:
    return {
        "event_id": "evt-c",
        "event_type": "customer_created",
        "occurred_at": at.isoformat(),
        "version": 1,
        "data": {"customer_id": 501, "name": "恒发五金", "owner_id": owner, "team": "east"},
    }


def test_a_warning_that_arrives_after_the_customer_changed_hands_is_dropped(caplog) -> None:
    caplog.set_level("INFO", logger="notify.usecases_notices")
    store = FakeStore()
    usecases_watching.watch_customer(store, created(NOW - timedelta(days=27)), NOW)
    usecases_watching.watch_customer(store, transferred(NOW + timedelta(minutes=5)), NOW)
    usecases_notices.warn_owner_of_return(store, warning(), NOW + timedelta(minutes=6), "Asia/Shanghai")
    assert store.rows == []
    assert "changed owner since it was sent: dropped" in caplog.text


def test_a_warning_already_shown_is_withdrawn_from_the_former_owner_when_the_customer_moves() -> None:
    store = FakeStore()
    usecases_watching.watch_customer(store, created(NOW - timedelta(days=27)), NOW)
    usecases_notices.warn_owner_of_return(store, warning(), NOW, "Asia/Shanghai")
    assert store.unread_count(11) == 1
    usecases_watching.watch_customer(
        store, transferred(NOW + timedelta(minutes=5)), NOW + timedelta(minutes=5)
    )
    assert store.unread_count(11) == 0
    [notice] = store.rows
    assert notice.read_at == NOW + timedelta(minutes=5)


def test_a_warning_for_the_owner_of_record_is_kept_whatever_came_before() -> None:
    store = FakeStore()
    usecases_watching.watch_customer(store, created(NOW - timedelta(days=60), owner=12), NOW)
    usecases_watching.watch_customer(store, transferred(NOW - timedelta(days=27), 12, 11), NOW)
    usecases_notices.warn_owner_of_return(store, warning(), NOW, "Asia/Shanghai")
    assert [row.user_id for row in store.rows] == [11]
