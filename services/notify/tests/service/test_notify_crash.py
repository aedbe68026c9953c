"""notify as `nameko run` starts it, killed with SIGKILL and started again: nothing pending is
lost, nothing fires twice, and an SMS Twilio took just before the crash is not sent again."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from nameko.standalone.rpc import ServiceRpcProxy

from crm_common.config import REPO_ROOT
from notify.models import Notification, Reminder, SmsMessage

from .conftest import SENDER, caller, wait_for

NAMEKO = Path(os.environ.get("VIRTUAL_ENV", REPO_ROOT / ".venv")) / "bin" / "nameko"


class NotifyProcess:
    """One `nameko run` of notify; ``kill()`` is SIGKILL: no shutdown code runs."""

    def __init__(self, env: dict, log_path: Path) -> None:
        self.env, self.log_path = env, log_path
        self.process: subprocess.Popen | None = None

    def start(self, config: dict) -> NotifyProcess:
        log = open(self.log_path, "a")  # noqa: SIM115 — the child owns it
        self.process = subprocess.Popen(
            [str(NAMEKO), "run", "--config", "services/notify/config.yml", "notify.service:NotifyService"],
            cwd=REPO_ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

        def answers():
            assert self.process is not None and self.process.poll() is None, self.log_path.read_text()[-3000:]
            try:
                with ServiceRpcProxy("notify", config, timeout=2) as notify:
                    return notify.ping() == "pong"
            except Exception:  # UnknownService until its queue exists, then timeouts while starting
                return False

        wait_for(answers, timeout=30, interval=0.2)
        return self

    def kill(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def notify_process(rabbit_config, db_url, migrated, accounts, fake_twilio, tmp_path):
    migrated("notify")
    env = {
        **os.environ,
        "AMQP_URI": rabbit_config["AMQP_URI"],
        "NOTIFY_DB_URL": db_url,
        "CRM_VAR_DIR": str(tmp_path),
        "PYTHONWARNINGS": "ignore",
        "NOTIFY_TICK_SECONDS": "0.1",
        "NOTIFY_LATE_GRACE_SECONDS": "1",
        "NOTIFY_ESCALATION_MINUTE_SECONDS": "1",  # escalate_after_minutes=1 means one second here
        "NOTIFY_SMS_LEASE_SECONDS": "2",
        "NOTIFY_SMS_RETRY_BASE_SECONDS": "0.5",
        "TWILIO_ACCOUNT_SID": fake_twilio.account_sid,
        "TWILIO_AUTH_TOKEN": fake_twilio.auth_token,
        "TWILIO_FROM": SENDER,
        "TWILIO_BASE_URL": fake_twilio.base_url,
        "TWILIO_TIMEOUT_SECONDS": "10",
    }
    process = NotifyProcess(env, tmp_path / "notify.log")
    yield process
    process.stop()


def create(rabbit_config, user_id, due_at, title):
    with ServiceRpcProxy("notify", rabbit_config, context_data=caller(user_id)) as notify:
        return notify.create_reminder(
            {"title": title, "due_at": due_at.isoformat(), "escalate_after_minutes": 1}
        )


def test_reminders_pending_when_notify_is_killed_each_fire_once_after_restart(
    notify_process, rabbit_config, database, fake_twilio
):
    notify_process.start(rabbit_config)
    start = datetime.now(UTC)
    created = [
        create(rabbit_config, (11, 12)[n % 2], start + timedelta(seconds=1.5 + n * 0.1), f"回访客户 {n}")
        for n in range(20)
    ]
    time.sleep(max(0.0, (start + timedelta(seconds=2.2) - datetime.now(UTC)).total_seconds()))
    notify_process.kill()
    killed_at = datetime.now(UTC)
    time.sleep(3)  # the rest fall due while notify is down
    restarted_at = datetime.now(UTC)
    notify_process.start(rabbit_config)

    wait_for(lambda: len(database.sms(SmsMessage.status == "sent")) == 20, timeout=30, interval=0.2)
    ids = sorted(r["id"] for r in created)
    assert sorted(n.reminder_id for n in database.notifications(Notification.kind == "reminder_due")) == ids
    assert len(fake_twilio.messages) == 20 and fake_twilio.duplicates() == {}
    reminders = database.rows(Reminder)
    assert {r.status for r in reminders} == {"escalated"}
    missed = [r for r in reminders if r.fired_at > killed_at]
    assert missed, "some reminders should have fallen due while notify was down"
    for reminder in missed:
        assert reminder.late is (reminder.due_at < restarted_at - timedelta(seconds=1))
    assert any(reminder.late for reminder in missed)


def test_an_sms_twilio_took_just_before_the_crash_is_recorded_after_restart_not_sent_again(
    notify_process, rabbit_config, database, fake_twilio
):
    fake_twilio.stall_seconds = 30
    fake_twilio.fail_next("accept_then_timeout")  # Twilio takes it, then our side hears nothing
    notify_process.start(rabbit_config)
    created = create(rabbit_config, 11, datetime.now(UTC), "签约前确认报价")
    [taken] = wait_for(lambda: fake_twilio.messages, timeout=15)
    [in_flight] = database.sms()
    assert in_flight.status == "sending" and in_flight.provider_id is None
    notify_process.kill()  # between Twilio's accept and our record

    notify_process.start(rabbit_config)
    [sms] = wait_for(lambda: database.sms(SmsMessage.status == "sent"), timeout=20, interval=0.2)
    assert sms.reminder_id == created["id"] and sms.provider_id == taken.sid and sms.attempts == 2
    assert len(fake_twilio.messages) == 1
