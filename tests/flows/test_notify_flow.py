"""Reminders through HTTP against every service started as `make run` starts it: set one, see it
due in the app, leave it unacknowledged and find the SMS in the admin's log (console provider)."""

from datetime import UTC, datetime, timedelta

import pytest
import requests

from tests.support.system import api, eventually

pytestmark = pytest.mark.flow


@pytest.fixture(scope="module")
def team(system):
    admin = system.client("admin", system.admin_password)
    for user in (
        {
            "username": "boss",
            "password": "manager-pw-1",
            "display_name": "王芳",
            "role": "manager",
            "team": "华东",
            "phone": "13800138000",
        },
        {
            "username": "lina",
            "password": "sales-pw-12",
            "display_name": "李娜",
            "team": "华东",
            "manager": "boss",
            "phone": "+86 139 0013 9000",
            "escalate_after_minutes": 1,
        },
    ):
        reply = api(system, admin, "POST", "/users", json=user)
        assert reply.status_code == 201, reply.text
    return {
        "admin": admin,
        "boss": system.client("boss", "manager-pw-1"),
        "lina": system.client("lina", "sales-pw-12"),
    }


def test_an_unacknowledged_reminder_shows_in_the_app_then_goes_out_by_sms(system, team):
    lina = team["lina"]
    # due three minutes ago with lina's one-minute setting: fires late and escalates at once
    due_at = (datetime.now(UTC) - timedelta(minutes=3)).astimezone().isoformat()
    created = api(
        system,
        lina,
        "POST",
        "/reminders",
        json={"title": "拜访华为", "content": "带上合同", "due_at": due_at},
    )
    assert created.status_code == 201, created.text
    reminder = created.json()
    assert reminder["escalate_after_minutes"] == 1 and reminder["due_at"].endswith("+08:00")

    def due_notice():
        inbox = api(system, lina, "GET", "/notifications").json()
        return [n for n in inbox["notifications"] if n["reminder_id"] == reminder["id"]] and inbox

    inbox = eventually(due_notice)
    assert inbox, "the due reminder never showed in the app"
    assert inbox["unread_count"] >= 1 and inbox["notifications"][-1]["kind"] == "reminder_due"

    def logged_sms():
        log = api(system, team["admin"], "GET", "/sms", params={"reminder_id": reminder["id"]}).json()
        return [s for s in log if s["status"] == "sent"]

    [sms] = eventually(logged_sms)
    assert sms["to"] == "+8613900139000" and sms["provider"] == "console"
    assert sms["body"].startswith("【销售提醒】拜访华为 ") and sms["body"].endswith("：带上合同")
    escalated = api(system, lina, "GET", "/reminders", params={"status": "escalated"}).json()
    assert [r["id"] for r in escalated] == [reminder["id"]] and escalated[0]["late"] is True
    assert api(system, lina, "GET", "/sms").status_code == 403


def test_an_acknowledged_reminder_stays_quiet_and_the_manager_sees_the_team(system, team):
    lina, boss = team["lina"], team["boss"]
    later = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    reminder = api(system, lina, "POST", "/reminders", json={"title": "周会材料", "due_at": later}).json()
    assert api(system, boss, "POST", f"/reminders/{reminder['id']}/ack").status_code == 403
    assert reminder["id"] in [r["id"] for r in api(system, boss, "GET", "/reminders").json()]
    acked = api(system, lina, "POST", f"/reminders/{reminder['id']}/ack")
    assert acked.status_code == 200 and acked.json()["status"] == "acknowledged"
    cancel = api(system, lina, "POST", f"/reminders/{reminder['id']}/cancel")
    assert cancel.status_code == 409 and cancel.json()["error"]["code"] == "reminder_closed"

    bad = api(system, lina, "POST", "/reminders", json={"title": "x", "due_at": "2031-01-01T09:00:00"})
    assert bad.status_code == 400 and "due_at" in bad.json()["error"]["details"]
    assert api(system, lina, "GET", "/reminders/999999").status_code == 404


def test_team_settings_and_preferences_round_trip(system, team):
    boss = team["boss"]
    changed = api(system, boss, "PUT", "/notify/settings", json={"birthday_days_ahead": 3})
    assert changed.status_code == 200 and changed.json()["birthday_days_ahead"] == 3
    assert (
        api(system, team["lina"], "PUT", "/notify/settings", json={"birthday_days_ahead": 1}).status_code
        == 403
    )
    assert api(system, boss, "PUT", "/notify/preferences", json={"sms_for_notices": True}).json() == {
        "sms_for_notices": True
    }


def test_the_twilio_status_callback_needs_twilios_signature_not_a_token(system):
    unsigned = requests.post(
        system.base_url + "/sms/status-callback",
        data={"MessageSid": "SM" + "0" * 32, "MessageStatus": "delivered"},
        timeout=10,
    )
    assert unsigned.status_code == 403 and unsigned.json()["error"]["code"] == "invalid_signature"
    spec = requests.get(system.base_url + "/openapi.json", timeout=10).json()
    for path in ("/api/v1/reminders", "/api/v1/notifications", "/api/v1/sms", "/api/v1/sms/status-callback"):
        assert path in spec["paths"]
