"""SMS escalation through the real twilio SDK against the local fake Twilio server, over real
HTTP: success, 5xx retried with backoff, timeouts, a 4xx refused for good, a message Twilio took
just before our side gave up, and Twilio's signed status callback through the gateway."""

from datetime import timedelta

import pytest
import requests

from gateway.auth import Tokens
from gateway.service import GatewayService
from notify.models import Notification, SmsMessage

from .conftest import wait_for

PHONE = "+8613900139000"  # lina's, in the accounts stand-in


@pytest.fixture
def escalating(start_notify, twilio_config, rpc, clock):
    """notify on Twilio (the fake), and a helper making one reminder of lina's go to SMS now."""
    start_notify(**twilio_config)

    def escalate(title="拜访华为", content="带上合同"):
        with rpc(11) as notify:
            created = notify.create_reminder(
                {
                    "title": title,
                    "content": content,
                    "due_at": clock.now().isoformat(),
                    "escalate_after_minutes": 1,
                }
            )
        clock.advance(minutes=1)
        return created

    return escalate


def sms_of(database, reminder_id):
    rows = database.sms(SmsMessage.reminder_id == reminder_id)
    return rows[0] if rows else None


def test_twilio_takes_the_sms_and_the_log_records_its_sid(escalating, database, fake_twilio):
    created = escalating()
    sms = wait_for(lambda: (row := sms_of(database, created["id"])) and row.status == "sent" and row)
    [message] = fake_twilio.messages
    assert (message.to, message.from_, message.body) == (PHONE, "+15005550006", sms.body)
    assert sms.body.startswith("【销售提醒】拜访华为 ") and sms.body.endswith("：带上合同")
    assert (sms.provider, sms.provider_id, sms.attempts) == ("twilio", message.sid, 1)


def test_a_500_is_retried_after_the_backoff_and_sent_once(escalating, database, fake_twilio, clock):
    fake_twilio.fail_next("error_500")
    created = escalating()
    retrying = wait_for(lambda: (row := sms_of(database, created["id"])) and row.status == "retrying" and row)
    assert retrying.error_code == 20500 and retrying.attempts == 1
    assert retrying.next_attempt_at == clock.now() + timedelta(seconds=10)
    clock.advance(seconds=9)
    wait_for(lambda: fake_twilio.stats()["requests_by_mode"].get("error_500") == 1)
    assert sms_of(database, created["id"]).status == "retrying"  # not before its time
    clock.advance(seconds=1)
    sent = wait_for(lambda: (row := sms_of(database, created["id"])) and row.status == "sent" and row)
    assert sent.attempts == 2 and len(fake_twilio.messages) == 1


def test_after_the_last_try_the_sms_has_failed_and_the_owner_is_told_in_the_app(
    escalating, database, fake_twilio, clock, listener, rpc
):
    fake_twilio.mode = "error_503"
    created = escalating()
    for attempt in (1, 2):
        wait_for(
            lambda a=attempt: (row := sms_of(database, created["id"]))
            and row.attempts == a
            and row.status == "retrying"
        )
        clock.advance(seconds=10 * 2 ** (attempt - 1))
    failed = wait_for(lambda: (row := sms_of(database, created["id"])) and row.status == "failed" and row)
    assert failed.attempts == 3 and "503" in failed.last_error and fake_twilio.messages == []
    [notice] = wait_for(lambda: database.notifications(Notification.kind == "sms_failed"))
    assert notice.user_id == 11 and notice.reminder_id == created["id"] and "拜访华为" in notice.body
    event = wait_for(lambda: [e for e in listener if e["event_type"] == "sms_failed"])[0]["data"]
    assert (event["sms_id"], event["reminder_id"], event["to"], event["status"]) == (
        failed.id,
        created["id"],
        PHONE,
        "failed",
    )
    with rpc(11) as notify:
        assert notify.list_notifications({"unread": True})["unread_count"] == 2  # due, then failed


def test_a_timeout_is_retried_and_the_retry_looks_for_an_earlier_copy_first(
    escalating, database, fake_twilio, clock
):
    fake_twilio.fail_next("timeout")
    created = escalating()
    wait_for(lambda: (row := sms_of(database, created["id"])) and row.status == "retrying")
    clock.advance(seconds=10)
    sent = wait_for(lambda: (row := sms_of(database, created["id"])) and row.status == "sent" and row)
    assert sent.attempts == 2 and len(fake_twilio.messages) == 1
    # the retry listed the account's messages before sending: timeout, list, list, create
    assert fake_twilio.stats()["requests_by_mode"] == {"timeout": 1, "ok": 3}


def test_a_message_twilio_took_before_our_side_gave_up_is_recorded_not_sent_again(
    escalating, database, fake_twilio, clock
):
    fake_twilio.fail_next("accept_then_timeout")
    created = escalating()
    wait_for(lambda: (row := sms_of(database, created["id"])) and row.status == "retrying")
    [taken] = fake_twilio.messages
    clock.advance(seconds=10)
    sent = wait_for(lambda: (row := sms_of(database, created["id"])) and row.status == "sent" and row)
    assert sent.provider_id == taken.sid
    assert len(fake_twilio.messages) == 1 and fake_twilio.duplicates() == {}


def test_a_400_bad_number_is_recorded_without_retry(escalating, database, fake_twilio, clock, users):
    users[11]["phone"] = "+86139"  # accounts let a broken number through
    created = escalating()
    failed = wait_for(lambda: (row := sms_of(database, created["id"])) and row.status == "failed" and row)
    assert (
        failed.error_code == 21211
        and failed.attempts == 1
        and "not a valid phone number" in failed.last_error
    )
    clock.advance(hours=1)
    wait_for(lambda: database.notifications(Notification.kind == "sms_failed"))
    assert sum(fake_twilio.stats()["requests_by_mode"].values()) == 1


GATEWAY_SECRET = "notify-sms-test-secret"


@pytest.fixture
def gateway(container_factory, rabbit_config, web_config, monkeypatch, fake_twilio):
    """The gateway in a container, checking Twilio signatures with the fake's auth token."""
    host, port = web_config["WEB_SERVER_ADDRESS"].split(":")
    base = f"http://127.0.0.1:{port}/api/v1"
    monkeypatch.setenv("TWILIO_STATUS_CALLBACK_URL", base + "/sms/status-callback")
    monkeypatch.setenv("CRM_JWT_SECRET", GATEWAY_SECRET)
    container = container_factory(GatewayService, {**rabbit_config, **web_config})
    container.start()
    return base


def test_twilio_status_callbacks_update_the_log_and_forged_ones_are_refused(
    start_notify, twilio_config, gateway, rpc, clock, database, fake_twilio
):
    start_notify(**twilio_config, TWILIO_STATUS_CALLBACK_URL=gateway + "/sms/status-callback")
    with rpc(11) as notify:
        created = notify.create_reminder(
            {"title": "拜访华为", "due_at": clock.now().isoformat(), "escalate_after_minutes": 1}
        )
    clock.advance(minutes=1)
    sent = wait_for(lambda: (row := sms_of(database, created["id"])) and row.status == "sent" and row)
    assert fake_twilio.messages[0].status_callback == gateway + "/sms/status-callback"

    assert fake_twilio.send_status_callback(sent.provider_id, "delivered") == 204
    assert fake_twilio.send_status_callback(sent.provider_id, "sent") == 204  # late and out of order
    admin = Tokens(GATEWAY_SECRET, timedelta(hours=1)).issue({"id": 1, "username": "admin", "role": "admin"})
    headers = {"Authorization": "Bearer " + admin["access_token"]}
    [logged] = requests.get(gateway + "/sms", headers=headers, timeout=10).json()
    assert (logged["status"], logged["provider_status"], logged["to"]) == ("sent", "delivered", PHONE)

    forged = requests.post(
        gateway + "/sms/status-callback",
        data={"MessageSid": sent.provider_id, "MessageStatus": "undelivered"},
        headers={"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"},
        timeout=10,
    )
    assert forged.status_code == 403 and forged.json()["error"]["code"] == "invalid_signature"
    assert sms_of(database, created["id"]).provider_status == "delivered"

    sales = Tokens(GATEWAY_SECRET, timedelta(hours=1)).issue({"id": 11, "username": "lina", "role": "sales"})
    refused = requests.get(
        gateway + "/sms", headers={"Authorization": "Bearer " + sales["access_token"]}, timeout=10
    )
    assert refused.status_code == 403


def test_a_carrier_failure_reported_later_tells_the_owner(
    start_notify, twilio_config, gateway, rpc, clock, database, fake_twilio
):
    start_notify(**twilio_config, TWILIO_STATUS_CALLBACK_URL=gateway + "/sms/status-callback")
    with rpc(11) as notify:
        created = notify.create_reminder(
            {"title": "拜访华为", "due_at": clock.now().isoformat(), "escalate_after_minutes": 1}
        )
    clock.advance(minutes=1)
    sent = wait_for(lambda: (row := sms_of(database, created["id"])) and row.status == "sent" and row)
    assert fake_twilio.send_status_callback(sent.provider_id, "undelivered") == 204
    [notice] = wait_for(lambda: database.notifications(Notification.kind == "sms_failed"))
    assert notice.user_id == 11 and "undelivered" in notice.body
