"""SMS providers: console, and Twilio through the real SDK against the local fake server."""

import logging
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import eventlet
import pytest
from twilio.rest import Client

from notify.sms import (
    BaseUrlHttpClient,
    ConsoleSms,
    SmsRejected,
    SmsTemporaryFailure,
    TwilioSms,
    validate_twilio_signature,
)
from tests.support.fake_twilio import FakeTwilio

PHONE = "+8613800138000"
SENDER = "+15005550006"
BODY = "【销售提醒】拜访华为 03-01 09:30：带上合同"


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio(stall_seconds=5) as server:
        yield server


@pytest.fixture
def twilio(fake: FakeTwilio) -> TwilioSms:
    return TwilioSms(
        fake.account_sid, fake.auth_token, from_number=SENDER, base_url=fake.base_url, timeout=0.5
    )


def an_hour_ago() -> datetime:
    return datetime.now(UTC) - timedelta(hours=1)


# --- console


def test_console_logs_the_message_and_returns_an_id(caplog: pytest.LogCaptureFixture) -> None:
    console = ConsoleSms()
    with caplog.at_level(logging.INFO, logger="notify.sms"):
        result = console.send(PHONE, BODY, "reminder-7")
    assert result.provider_id.startswith("console-")
    assert result.status == "sent"
    assert BODY in caplog.text and PHONE in caplog.text


def test_console_sends_a_key_only_once() -> None:
    console = ConsoleSms()
    first = console.send(PHONE, BODY, "reminder-7")
    assert console.send(PHONE, BODY, "reminder-7") == first
    assert console.sent_count == 1


def test_console_finds_what_it_sent_since_a_time() -> None:
    clock = datetime(2025, 3, 1, 1, 40, tzinfo=UTC)
    console = ConsoleSms(clock=lambda: clock)
    result = console.send(PHONE, BODY, "reminder-7")
    assert console.find_sent("reminder-7", PHONE, clock - timedelta(minutes=1), BODY) == result
    assert console.find_sent("reminder-7", PHONE, clock + timedelta(minutes=1), BODY) is None
    assert console.find_sent("reminder-8", PHONE, clock - timedelta(minutes=1), BODY) is None
    assert console.find_sent("reminder-7", "+8613900000000", clock - timedelta(minutes=1), BODY) is None


# --- Twilio through the SDK


def test_twilio_send_reaches_the_fake_through_the_sdk(fake: FakeTwilio, twilio: TwilioSms) -> None:
    result = twilio.send(PHONE, BODY, "reminder-7")
    assert result.provider_id.startswith("SM") and len(result.provider_id) == 34
    assert result.status == "queued"
    [message] = fake.messages
    assert (message.sid, message.to, message.from_, message.body) == (result.provider_id, PHONE, SENDER, BODY)


def test_twilio_sends_through_a_messaging_service(fake: FakeTwilio) -> None:
    sms = TwilioSms(
        fake.account_sid, fake.auth_token, messaging_service_sid="MG" + "1" * 32, base_url=fake.base_url
    )
    sms.send(PHONE, BODY, "k")
    [message] = fake.messages
    assert (message.messaging_service_sid, message.from_) == ("MG" + "1" * 32, None)


def test_twilio_passes_the_status_callback(fake: FakeTwilio) -> None:
    callback = "http://127.0.0.1:8000/api/v1/twilio/status"
    sms = TwilioSms(
        fake.account_sid,
        fake.auth_token,
        from_number=SENDER,
        base_url=fake.base_url,
        status_callback=callback,
    )
    sms.send(PHONE, BODY, "k")
    assert fake.messages[0].status_callback == callback


def test_twilio_server_error_is_temporary(fake: FakeTwilio, twilio: TwilioSms) -> None:
    fake.fail_next("error_500")
    with pytest.raises(SmsTemporaryFailure) as failed:
        twilio.send(PHONE, BODY, "reminder-7")
    assert failed.value.http_status == 500
    assert fake.messages == []


class FakeTime:
    """A clock that moves only when something sleeps on it: waits are counted, not timed."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


def paced_twilio(fake: FakeTwilio, fake_time: FakeTime, **options: Any) -> TwilioSms:
    return TwilioSms(
        fake.account_sid,
        fake.auth_token,
        from_number=SENDER,
        base_url=fake.base_url,
        timeout=2,
        clock=fake_time.clock,
        sleep=fake_time.sleep,
        **options,
    )


def test_twilio_429_pauses_the_sender_for_its_retry_after_then_sends_once(fake: FakeTwilio) -> None:
    fake.retry_after = 0.25
    fake.fail_next("error_429", times=2)
    fake_time = FakeTime()
    result = paced_twilio(fake, fake_time).send(PHONE, BODY, "reminder-7")
    [message] = fake.messages
    assert message.sid == result.provider_id
    assert fake.rate_limited == 2
    assert fake_time.sleeps == [0.25, 0.25], "each 429 waited what Twilio asked"


def test_twilio_429_without_retry_after_backs_off_doubling(fake: FakeTwilio) -> None:
    fake.fail_next("error_429", times=3)
    fake_time = FakeTime()
    paced_twilio(fake, fake_time, rate_limit_backoff=0.1).send(PHONE, BODY, "reminder-7")
    assert fake_time.sleeps == [0.1, 0.2, 0.4]
    assert len(fake.messages) == 1


def test_twilio_429_that_does_not_end_is_temporary_and_creates_nothing(fake: FakeTwilio) -> None:
    fake.mode = "error_429"
    fake_time = FakeTime()
    sms = paced_twilio(fake, fake_time, rate_limit_retries=2, rate_limit_backoff=0.1)
    with pytest.raises(SmsTemporaryFailure) as failed:
        sms.send(PHONE, BODY, "reminder-7")
    assert failed.value.http_status == 429
    assert fake.rate_limited == 3 and fake.messages == []


def test_a_send_whose_turn_would_outlast_its_wait_is_temporary_and_not_sent(fake: FakeTwilio) -> None:
    fake.retry_after = 30  # longer than the send may wait (its claim's lease would run out)
    fake.fail_next("error_429")
    fake_time = FakeTime()
    sms = paced_twilio(fake, fake_time, max_wait=5, rate_limit_cap=60)
    with pytest.raises(SmsTemporaryFailure):
        sms.send(PHONE, BODY, "reminder-7")
    assert fake.messages == [] and fake_time.sleeps == []


def test_a_sender_is_paced_to_its_messages_per_second(fake: FakeTwilio) -> None:
    fake_time = FakeTime()
    sms = paced_twilio(fake, fake_time, max_per_second=4)
    for number in range(5):
        sms.send(PHONE, f"{BODY} {number}", f"reminder-{number}")
    assert fake_time.sleeps == [0.25] * 4
    assert len(fake.messages) == 5


def send_concurrently(sms: TwilioSms, count: int) -> None:
    pool = eventlet.GreenPool(6)
    list(pool.imap(lambda number: sms.send(PHONE, f"{BODY} {number}", f"reminder-{number}"), range(count)))


def test_concurrent_senders_within_the_rate_are_never_refused() -> None:
    with FakeTwilio(max_per_second=8) as fake:  # the account allows 8/s; we keep to 5/s
        sms = TwilioSms(
            fake.account_sid, fake.auth_token, from_number=SENDER, base_url=fake.base_url, max_per_second=5
        )
        send_concurrently(sms, 12)
        assert fake.rate_limited == 0
        assert len(fake.messages) == 12 and fake.duplicates() == {}


def test_concurrent_senders_over_the_rate_back_off_and_each_message_goes_once() -> None:
    with FakeTwilio(max_per_second=4, retry_after=0.3) as fake:  # the account allows less than we think
        sms = TwilioSms(
            fake.account_sid, fake.auth_token, from_number=SENDER, base_url=fake.base_url, max_per_second=7
        )
        send_concurrently(sms, 12)
        assert fake.rate_limited > 0 and sms.rate_limited == fake.rate_limited
        assert sorted(message.body for message in fake.messages) == sorted(f"{BODY} {n}" for n in range(12))


def test_twilio_reuses_one_connection_for_its_messages(fake: FakeTwilio, twilio: TwilioSms) -> None:
    for number in range(10):
        twilio.send(PHONE, f"{BODY} {number}", f"reminder-{number}")
    twilio.find_sent("reminder-0", PHONE, an_hour_ago(), f"{BODY} 0")
    assert fake.connections == 1


def test_twilio_timeout_is_temporary_and_quick(fake: FakeTwilio, twilio: TwilioSms) -> None:
    fake.fail_next("timeout")
    started = time.monotonic()
    with pytest.raises(SmsTemporaryFailure):
        twilio.send(PHONE, BODY, "reminder-7")
    assert time.monotonic() - started < 2.0  # client timeout 0.5 s, fake stalls 5 s


def test_twilio_unreachable_is_temporary() -> None:
    with FakeTwilio() as stopped:
        base_url, sid, token = stopped.base_url, stopped.account_sid, stopped.auth_token
    sms = TwilioSms(sid, token, from_number=SENDER, base_url=base_url, timeout=0.5)
    with pytest.raises(SmsTemporaryFailure):
        sms.send(PHONE, BODY, "reminder-7")


def test_twilio_bad_number_is_rejected_for_good(fake: FakeTwilio, twilio: TwilioSms) -> None:
    fake.fail_next("error_400")
    with pytest.raises(SmsRejected) as rejected:
        twilio.send(PHONE, BODY, "reminder-7")
    assert (rejected.value.http_status, rejected.value.code) == (400, 21211)


def test_twilio_malformed_number_is_rejected_by_the_fake_like_twilio(twilio: TwilioSms) -> None:
    with pytest.raises(SmsRejected) as rejected:
        twilio.send("138-0013-8000", BODY, "reminder-7")
    assert rejected.value.code == 21211


def test_twilio_wrong_credentials_are_rejected(fake: FakeTwilio) -> None:
    sms = TwilioSms(fake.account_sid, "wrong-token", from_number=SENDER, base_url=fake.base_url)
    with pytest.raises(SmsRejected) as rejected:
        sms.send(PHONE, BODY, "k")
    assert (rejected.value.http_status, rejected.value.code) == (401, 20003)
    assert fake.messages == []


def test_find_sent_returns_the_message_twilio_accepted(twilio: TwilioSms) -> None:
    since = datetime.now(UTC)
    sent = twilio.send(PHONE, BODY, "reminder-7")
    found = twilio.find_sent("reminder-7", PHONE, since, BODY)
    assert found is not None and found.provider_id == sent.provider_id


def test_find_sent_sees_a_message_still_queued_without_a_send_date(
    fake: FakeTwilio, twilio: TwilioSms
) -> None:
    fake.deliver_on_read = False
    sent = twilio.send(PHONE, BODY, "reminder-7")
    found = twilio.find_sent("reminder-7", PHONE, datetime.now(UTC), BODY)
    assert found is not None
    assert (found.provider_id, found.status) == (sent.provider_id, "queued")


def test_find_sent_finds_nothing_when_twilio_never_accepted(fake: FakeTwilio, twilio: TwilioSms) -> None:
    fake.fail_next("error_500")
    since = datetime.now(UTC)
    with pytest.raises(SmsTemporaryFailure):
        twilio.send(PHONE, BODY, "reminder-7")
    assert twilio.find_sent("reminder-7", PHONE, since, BODY) is None


def test_find_sent_finds_a_message_accepted_before_the_answer_timed_out(
    fake: FakeTwilio, twilio: TwilioSms
) -> None:
    fake.fail_next("accept_then_timeout")
    since = datetime.now(UTC)
    with pytest.raises(SmsTemporaryFailure):
        twilio.send(PHONE, BODY, "reminder-7")
    found = twilio.find_sent("reminder-7", PHONE, since, BODY)
    assert found is not None and found.provider_id == fake.messages[0].sid


def test_find_sent_ignores_other_bodies_and_other_phones(twilio: TwilioSms) -> None:
    since = datetime.now(UTC)
    twilio.send(PHONE, "【销售提醒】另一条提醒", "reminder-8")
    twilio.send("+8613900000000", BODY, "reminder-9")
    assert twilio.find_sent("reminder-7", PHONE, since, BODY) is None


def test_find_sent_ignores_messages_from_before_the_intent(fake: FakeTwilio, twilio: TwilioSms) -> None:
    twilio.send(PHONE, BODY, "reminder-7")
    fake.messages[0].date_created -= timedelta(hours=2)
    fake.messages[0].date_sent = None
    assert twilio.find_sent("reminder-7", PHONE, datetime.now(UTC), BODY) is None


def test_find_sent_returns_the_oldest_of_several_matches(fake: FakeTwilio, twilio: TwilioSms) -> None:
    first = twilio.send(PHONE, BODY, "reminder-7")
    twilio.send(PHONE, BODY, "reminder-7")
    fake.messages[1].date_created += timedelta(seconds=5)
    found = twilio.find_sent("reminder-7", PHONE, an_hour_ago(), BODY)
    assert found is not None and found.provider_id == first.provider_id


def test_find_sent_on_a_failing_twilio_is_temporary(fake: FakeTwilio, twilio: TwilioSms) -> None:
    fake.mode = "error_503"
    with pytest.raises(SmsTemporaryFailure):
        twilio.find_sent("reminder-7", PHONE, an_hour_ago(), BODY)


def test_twilio_needs_a_sender_or_messaging_service() -> None:
    with pytest.raises(ValueError):
        TwilioSms("AC" + "0" * 32, "token")


def test_base_url_client_rewrites_only_twilio_hosts() -> None:
    client = BaseUrlHttpClient("http://127.0.0.1:8099", timeout=1)
    assert (
        client.rewrite("https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json?To=%2B86")
        == "http://127.0.0.1:8099/2010-04-01/Accounts/AC1/Messages.json?To=%2B86"
    )
    assert client.rewrite("https://api.dublin.ie1.twilio.com/x") == "http://127.0.0.1:8099/x"
    assert client.rewrite("https://example.org/x") == "https://example.org/x"


def test_sdk_follows_paging_links_through_the_fake(fake: FakeTwilio) -> None:
    client = Client(
        fake.account_sid, fake.auth_token, http_client=BaseUrlHttpClient(fake.base_url, timeout=2)
    )
    for number in range(7):
        client.messages.create(to=PHONE, from_=SENDER, body=f"第{number}条")
    listed = client.messages.list(to=PHONE, page_size=3)
    assert sorted(message.body for message in listed) == sorted(f"第{number}条" for number in range(7))


# --- status-callback signatures


class _CallbackReceiver:
    """A local endpoint standing in for the gateway's status-callback route."""

    def __init__(self) -> None:
        received: list[dict[str, Any]] = []
        self.received = received

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"])).decode()
                received.append(
                    {
                        "path": self.path,
                        "signature": self.headers.get("X-Twilio-Signature"),
                        "params": {key: values[-1] for key, values in parse_qs(raw).items()},
                    }
                )
                self.send_response(204)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/v1/twilio/status?r=7"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def signed_callback(fake: FakeTwilio) -> Iterator[tuple[str, dict[str, str], str]]:
    receiver = _CallbackReceiver()
    try:
        sms = TwilioSms(
            fake.account_sid,
            fake.auth_token,
            from_number=SENDER,
            base_url=fake.base_url,
            status_callback=receiver.url,
        )
        sent = sms.send(PHONE, BODY, "reminder-7")
        assert fake.send_status_callback(sent.provider_id, "delivered") == 204
        [callback] = receiver.received
        yield receiver.url, callback["params"], callback["signature"]
    finally:
        receiver.close()


def test_signature_of_a_genuine_status_callback_is_accepted(
    fake: FakeTwilio, twilio: TwilioSms, signed_callback: tuple[str, dict[str, str], str]
) -> None:
    url, params, signature = signed_callback
    assert params["MessageStatus"] == "delivered"
    assert twilio.validate_signature(url, params, signature)
    assert validate_twilio_signature(fake.auth_token, url, params, signature)


def test_status_callback_with_forged_status_is_rejected(
    twilio: TwilioSms, signed_callback: tuple[str, dict[str, str], str]
) -> None:
    url, params, signature = signed_callback
    assert not twilio.validate_signature(url, {**params, "MessageStatus": "failed"}, signature)


def test_status_callback_signed_with_another_token_is_rejected(
    fake: FakeTwilio, signed_callback: tuple[str, dict[str, str], str]
) -> None:
    url, params, signature = signed_callback
    other = TwilioSms(fake.account_sid, "someone-elses-token", from_number=SENDER, base_url=fake.base_url)
    assert not other.validate_signature(url, params, signature)


def test_status_callback_for_another_url_or_without_signature_is_rejected(
    twilio: TwilioSms, signed_callback: tuple[str, dict[str, str], str]
) -> None:
    url, params, signature = signed_callback
    assert not twilio.validate_signature(url.replace("r=7", "r=8"), params, signature)
    assert not twilio.validate_signature(url, params, None)
    assert not twilio.validate_signature(url, params, "")
