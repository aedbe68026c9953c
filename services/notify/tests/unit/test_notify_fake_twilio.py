"""The fake Twilio server itself: what tests and the benchmark rely on."""

import contextlib
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from crm_common.config import REPO_ROOT
from tests.support.fake_twilio import FakeTwilio

PHONE = "+8613800138000"
SENDER = "+15005550006"

session = requests.Session()
session.trust_env = False  # never through a proxy: the fake is on 127.0.0.1


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio(stall_seconds=5) as server:
        yield server


def create(fake: FakeTwilio, body: str = "你好", auth: tuple[str, str] | None = None) -> requests.Response:
    return session.post(
        f"{fake.base_url}/2010-04-01/Accounts/{fake.account_sid}/Messages.json",
        data={"To": PHONE, "From": SENDER, "Body": body},
        auth=auth or (fake.account_sid, fake.auth_token),
        timeout=2,
    )


def test_created_message_looks_like_twilios(fake: FakeTwilio) -> None:
    response = create(fake)
    assert response.status_code == 201
    message = response.json()
    assert message["sid"].startswith("SM") and len(message["sid"]) == 34
    assert (message["status"], message["to"], message["from"], message["body"]) == (
        "queued",
        PHONE,
        SENDER,
        "你好",
    )
    assert message["date_created"].endswith("+0000") or message["date_created"].endswith("GMT")


def test_fetching_one_message_by_sid(fake: FakeTwilio) -> None:
    sid = create(fake).json()["sid"]
    response = session.get(
        f"{fake.base_url}/2010-04-01/Accounts/{fake.account_sid}/Messages/{sid}.json",
        auth=(fake.account_sid, fake.auth_token),
        timeout=2,
    )
    assert response.status_code == 200 and response.json()["sid"] == sid


def test_requests_without_the_right_credentials_are_refused(fake: FakeTwilio) -> None:
    response = create(fake, auth=(fake.account_sid, "nope"))
    assert response.status_code == 401
    assert response.json()["code"] == 20003
    assert fake.messages == []


def test_failure_mode_for_the_next_request_only(fake: FakeTwilio) -> None:
    fake.fail_next("error_500")
    assert create(fake).status_code == 500
    assert create(fake).status_code == 201
    assert len(fake.messages) == 1


def test_error_400_answers_twilios_invalid_number_error(fake: FakeTwilio) -> None:
    fake.mode = "error_400"
    response = create(fake)
    assert response.status_code == 400
    assert response.json()["code"] == 21211
    assert "'To'" in response.json()["message"]


def test_unknown_mode_is_refused(fake: FakeTwilio) -> None:
    with pytest.raises(ValueError):
        fake.mode = "explode"


def test_duplicates_are_counted_per_phone_and_body(fake: FakeTwilio) -> None:
    for body in ("甲", "甲", "甲", "乙"):
        create(fake, body)
    assert fake.duplicates() == {(PHONE, "甲"): 3}
    assert fake.stats()["duplicate_messages"] == 2


def test_concurrent_creates_are_all_recorded(fake: FakeTwilio) -> None:
    threads = [threading.Thread(target=create, args=(fake, f"第{number}条")) for number in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({message.sid for message in fake.messages}) == 20


def test_control_routes_switch_mode_and_report_stats(fake: FakeTwilio) -> None:
    assert session.post(f"{fake.base_url}/_fake/mode", json={"mode": "error_503", "times": 1}, timeout=2).ok
    assert create(fake).status_code == 503
    create(fake)
    stats = session.get(f"{fake.base_url}/_fake/stats", timeout=2).json()
    assert stats["accepted"] == 1
    assert stats["requests_by_mode"] == {"error_503": 1, "ok": 1}
    assert [row["body"] for row in session.get(f"{fake.base_url}/_fake/messages", timeout=2).json()] == [
        "你好"
    ]


def test_stopping_releases_a_stalled_request_at_once() -> None:
    fake = FakeTwilio(stall_seconds=30).start()
    fake.mode = "timeout"
    threading.Thread(target=_create_ignoring_errors, args=(fake,), daemon=True).start()
    time.sleep(0.2)
    started = time.monotonic()
    fake.stop()
    assert time.monotonic() - started < 3


def _create_ignoring_errors(fake: FakeTwilio) -> None:
    with contextlib.suppress(requests.RequestException):
        create(fake)


def test_fake_runs_from_the_command_line() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.fake_twilio", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )
    try:
        assert process.stdout is not None
        started = json.loads(process.stdout.readline())
        assert started["base_url"].startswith("http://127.0.0.1:")
        response = session.get(f"{started['base_url']}/_fake/stats", timeout=2)
        assert response.json()["accepted"] == 0
    finally:
        process.terminate()
        process.wait(timeout=5)
