"""Rules added for the service: birthdays as customers send them, delivery reports that arrive
out of order, the failure notice, shortened escalation minutes, and choosing the SMS provider."""

from datetime import UTC, datetime, timedelta

import pytest

from notify import domain, domain_birthdays, domain_notices, domain_sms
from notify.dependencies import NotifySettings, build_sms_provider
from notify.sms import ConsoleSms, TwilioSms


@pytest.mark.parametrize(
    ("text", "expected"),
    [("03-08", (3, 8)), ("1990-12-31", (12, 31)), ("2-29", (2, 29)), (None, None), ("  ", None)],
)
def test_birthdays_are_read_as_customers_sends_them(text, expected):
    assert domain_birthdays.parse_birthday(text) == expected


@pytest.mark.parametrize("text", ["02-30", "13-01", "tomorrow", "1990/12/31", "12-31-1990", 1231])
def test_a_birthday_that_is_no_calendar_day_is_refused(text):
    with pytest.raises(domain.InvalidBirthday):
        domain_birthdays.parse_birthday(text)


@pytest.mark.parametrize(
    ("current", "reported", "kept"),
    [
        (None, "queued", "queued"),
        ("queued", "sent", "sent"),
        ("sent", "delivered", "delivered"),
        ("delivered", "sent", "delivered"),  # a late callback does not undo delivery
        ("queued", "undelivered", "undelivered"),
        ("delivered", "read", "read"),
        ("sent", "Delivered ", "delivered"),
        ("sent", "some_new_status", "some_new_status"),
    ],
)
def test_a_delivery_status_only_moves_forward(current, reported, kept):
    assert domain_sms.advance_delivery_status(current, reported) == kept


def test_the_failure_notice_names_the_reminder_and_why():
    title, body = domain_sms.sms_failed_notice("拜访华为", "Twilio 400: The 'To' number is not valid")
    assert title == "短信提醒发送失败"
    assert "拜访华为" in body and "Twilio 400" in body
    assert "短信通知" in domain_sms.sms_failed_notice(None, None)[1]


def test_a_shortened_escalation_minute_moves_the_escalation_time():
    due = datetime(2031, 3, 1, 1, 30, tzinfo=UTC)
    assert domain.escalation_at(due, 10) == due + timedelta(minutes=10)
    assert domain.escalation_at(due, 10, minute=timedelta(seconds=1)) == due + timedelta(seconds=10)


def test_a_suspected_duplicate_names_the_existing_customer_from_customers_contract():
    notice = domain_notices.duplicate_suspected_notice(
        {
            "event_id": "e1",
            "data": {
                "customer_id": 502,
                "name": "华为技术有限公司",
                "owner_name": "张伟",
                "duplicate_of_name": "华为技术",
                "duplicate_owner_name": "李娜",
                "score": 92,
                "reason": "name",
                "team": "east",
            },
        }
    )
    assert "李娜名下的「华为技术」" in notice.body and notice.team == "east"


def test_settings_are_read_from_config_with_sensible_defaults():
    assert NotifySettings.from_config({}) == NotifySettings()
    settings = NotifySettings.from_config(
        {
            "ESCALATION_MINUTE_SECONDS": 1,
            "SMS_MAX_ATTEMPTS": 3,
            "SMS_RETRY_BASE_SECONDS": "0.5",
            "BIRTHDAY_REMIND_AT": "08:30",
            "TIMEZONE": "Asia/Urumqi",
        }
    )
    assert settings.escalation_minute == timedelta(seconds=1)
    assert settings.sms_retry_delays == [0.5, 1.0]
    assert (settings.birthday_remind_at.hour, settings.birthday_remind_at.minute) == (8, 30)
    assert settings.timezone == "Asia/Urumqi"


def test_without_twilio_credentials_sms_go_to_the_console():
    name, provider = build_sms_provider({}, {})
    assert name == "console" and isinstance(provider, ConsoleSms)


def test_twilio_is_used_when_its_credentials_and_a_sender_are_set():
    environ = {
        "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
        "TWILIO_AUTH_TOKEN": "secret",
        "TWILIO_FROM": "+15005550006",
    }
    name, provider = build_sms_provider({"TWILIO_BASE_URL": "http://127.0.0.1:9"}, environ)
    assert name == "twilio" and isinstance(provider, TwilioSms) and provider.from_number == "+15005550006"
    name, provider = build_sms_provider(
        {"TWILIO_MESSAGING_SERVICE_SID": "MG" + "2" * 32},
        {"TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "TWILIO_AUTH_TOKEN": "secret"},
    )
    assert name == "twilio" and provider.messaging_service_sid == "MG" + "2" * 32
    assert provider.rate.max_per_second is None, "no pace of our own unless configured"


def test_twilio_sender_rate_and_wait_come_from_config():
    environ = {"TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "TWILIO_AUTH_TOKEN": "x", "TWILIO_FROM": "+15005550006"}
    _, provider = build_sms_provider({"SMS_MAX_PER_SECOND": "30", "SMS_LEASE_SECONDS": "45"}, environ)
    assert provider.rate.max_per_second == 30 and provider.max_wait == 15
    with pytest.raises(ValueError, match="positive"):
        build_sms_provider({"SMS_MAX_PER_SECOND": "-1"}, environ)


@pytest.mark.parametrize(
    "environ",
    [
        {"TWILIO_ACCOUNT_SID": "AC" + "1" * 32},
        {"TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "TWILIO_AUTH_TOKEN": "x"},
    ],
)
def test_a_half_configured_twilio_stops_the_service_rather_than_drop_sms(environ):
    with pytest.raises(ValueError, match="half configured"):
        build_sms_provider({}, environ)
