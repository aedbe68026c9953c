"""What the notify service plugs into nameko: the SMS provider, its settings, the pool that sends SMS, and timers whose interval comes from config."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

import eventlet
from eventlet.queue import Empty, LightQueue
from nameko.extensions import DependencyProvider
from nameko.timer import Timer

from crm_common.db import TransactionFactory, service_database
from crm_common.directory import Directory
from crm_common.localtime import timezone_name
from notify import domain, domain_birthdays, domain_sms
from notify.sms import ConsoleSms, SmsProvider, SmsResult, TwilioSms
from notify.usecases_delivery import record_outcomes

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- settings


def _number(config: Mapping[str, Any], key: str, default: float) -> float:
    value = config.get(key)
    if value is None or value == "":
        return default
    return float(value)


@dataclass(frozen=True)
class NotifySettings:
    """The service's knobs, read once from config.yml (tests pass their own)."""

    timezone: str = domain.DEFAULT_TZ
    late_grace: timedelta = domain.LATE_GRACE
    # how long one escalation minute lasts: 60 s, shortened only by tests and benchmarks
    escalation_minute: timedelta = domain.MINUTE
    batch_size: int = 500
    sms_max_attempts: int = 5
    sms_retry_base_seconds: float = 2.0
    sms_retry_cap_seconds: float = 300.0
    sms_lease: timedelta = timedelta(seconds=60)
    birthday_remind_at: time = time(9, 0)
    default_birthday_days_ahead: int = domain_birthdays.DEFAULT_BIRTHDAY_DAYS_AHEAD
    default_revisit_lead_hours: int = int(domain_birthdays.DEFAULT_REVISIT_LEAD.total_seconds() // 3600)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> NotifySettings:
        remind_at = str(config.get("BIRTHDAY_REMIND_AT") or "09:00")
        hour, _, minute = remind_at.partition(":")
        return cls(
            timezone=timezone_name(config),
            late_grace=timedelta(seconds=_number(config, "LATE_GRACE_SECONDS", 60)),
            escalation_minute=timedelta(seconds=_number(config, "ESCALATION_MINUTE_SECONDS", 60)),
            batch_size=int(_number(config, "BATCH_SIZE", 500)),
            sms_max_attempts=int(_number(config, "SMS_MAX_ATTEMPTS", 5)),
            sms_retry_base_seconds=_number(config, "SMS_RETRY_BASE_SECONDS", 2),
            sms_retry_cap_seconds=_number(config, "SMS_RETRY_CAP_SECONDS", 300),
            sms_lease=timedelta(seconds=_number(config, "SMS_LEASE_SECONDS", 60)),
            birthday_remind_at=time(int(hour), int(minute or 0)),
            default_birthday_days_ahead=int(
                _number(config, "BIRTHDAY_DAYS_AHEAD", domain_birthdays.DEFAULT_BIRTHDAY_DAYS_AHEAD)
            ),
            default_revisit_lead_hours=int(_number(config, "REVISIT_LEAD_HOURS", 24)),
        )

    @property
    def sms_retry_delays(self) -> list[float]:
        return domain_sms.backoff_delays(
            self.sms_max_attempts, self.sms_retry_base_seconds, cap=self.sms_retry_cap_seconds
        )


class Settings(DependencyProvider):
    """Injects the NotifySettings built from the container's config."""

    def setup(self) -> None:
        self.settings = NotifySettings.from_config(self.container.config)

    def get_dependency(self, worker_ctx: Any) -> NotifySettings:
        return self.settings


# --------------------------------------------------------------------------- accounts


class Accounts(Directory):
    """crm_common's accounts client with notify's deadline (``ACCOUNTS_TIMEOUT_SECONDS``, 3 s:
    a timer that asks must not hold its worker long) and no cache: an escalation texts the
    phone accounts knows now, and a reassigned manager hears of the next notice."""

    def __init__(self) -> None:
        super().__init__(ttl_seconds=0.0)

    def setup(self) -> None:
        super().setup()
        self.timeout_seconds = _number(self.container.config, "ACCOUNTS_TIMEOUT_SECONDS", 3)


# --------------------------------------------------------------------------- SMS


class SmsChannel:
    """What workers get as ``self.sms``: ``send(phone, text, key)`` and ``find_sent(...)``."""

    def __init__(self, provider: SmsProvider, provider_name: str) -> None:
        self._provider = provider
        self.provider_name = provider_name

    def signed_by_provider(self, url: str, params: Mapping[str, Any], signature: str | None) -> bool:
        """True when ``signature`` is the provider's signature of a status callback posted to
        ``url`` with ``params``. Twilio signs the URL it was given (``TWILIO_STATUS_CALLBACK_URL``),
        which behind a proxy is not the one the gateway saw; a provider that signs nothing (the
        console) never sends callbacks, so any that claims to come from it is refused."""
        if not isinstance(self._provider, TwilioSms):
            return False
        return self._provider.validate_signature(self._provider.status_callback or url, params, signature)

    def send(self, phone: str, text: str, key: str) -> SmsResult:
        """Hand one message to the provider; SmsRejected (4xx) or SmsTemporaryFailure otherwise."""
        return self._provider.send(phone, text, idempotency_key=key)

    def find_sent(self, key: str, phone: str, since: datetime, text: str) -> SmsResult | None:
        """The message the provider already took for this send (after a crash or timeout), or None."""
        return self._provider.find_sent(key, phone, since, text)


def build_sms_provider(config: Mapping[str, Any], environ: Mapping[str, str]) -> tuple[str, SmsProvider]:
    """Twilio when its credentials are in the environment, else the console provider.

    Account SID and auth token come only from the environment (secrets); sender, messaging
    service, base URL (the local fake) and status-callback URL from config or the environment.
    ``SMS_MAX_PER_SECOND`` paces this instance's sender (empty: no pace of its own); a send waits
    for its turn or a 429's pause at most a third of ``SMS_LEASE_SECONDS``, so no other instance
    takes its message over meanwhile.
    Raises ValueError for a half-configured Twilio (or a rate that is not a positive number):
    better not to start than to log SMS nobody gets.
    """

    def setting(key: str) -> str:
        return str(config.get(key) or environ.get(key) or "").strip()

    account_sid, auth_token = environ.get("TWILIO_ACCOUNT_SID", ""), environ.get("TWILIO_AUTH_TOKEN", "")
    sender, service_sid = setting("TWILIO_FROM"), setting("TWILIO_MESSAGING_SERVICE_SID")
    if not (account_sid or auth_token or sender or service_sid):
        return "console", ConsoleSms()
    if not (account_sid and auth_token and (sender or service_sid)):
        raise ValueError(
            "Twilio is half configured: set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM "
            "or TWILIO_MESSAGING_SERVICE_SID (or none of them for the console provider)"
        )
    provider = TwilioSms(
        account_sid,
        auth_token,
        from_number=sender or None,
        messaging_service_sid=service_sid or None,
        base_url=setting("TWILIO_BASE_URL") or None,
        timeout=float(setting("TWILIO_TIMEOUT_SECONDS") or 5),
        status_callback=setting("TWILIO_STATUS_CALLBACK_URL") or None,
        connections=int(_number(config, "SMS_CONCURRENCY", 16)),
        max_per_second=_number(config, "SMS_MAX_PER_SECOND", 0) or None,
        max_wait=_number(config, "SMS_LEASE_SECONDS", 60) / 3,
    )
    return "twilio", provider


class Sms(DependencyProvider):
    """Injects an SmsChannel over the provider chosen at start (console or Twilio)."""

    def setup(self) -> None:
        name, provider = build_sms_provider(self.container.config, os.environ)
        self.channel = SmsChannel(provider, name)
        log.info("notify sends SMS through the %s provider", name)

    def get_dependency(self, worker_ctx: Any) -> SmsChannel:
        return self.channel


# --------------------------------------------------------------------------- the SMS senders


class OutcomeQueue:
    """Outcomes of sends on their way to the log, written in batches by one recorder."""

    def __init__(self) -> None:
        self._queue: LightQueue = LightQueue()

    def put(self, outcome: Any) -> None:
        self._queue.put(outcome)

    def take(self, most: int, wait: float) -> list[Any]:
        """Up to ``most`` outcomes: waits ``wait`` seconds for the first, not for the rest."""
        try:
            batch = [self._queue.get(timeout=wait)]
        except Empty:
            return []
        while len(batch) < most:
            try:
                batch.append(self._queue.get_nowait())
            except Empty:
                break
        return batch

    def empty(self) -> bool:
        return self._queue.empty()


class SenderPool:
    """A bounded pool of greenthreads sending SMS, so one slow provider call delays no other."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.pool = eventlet.GreenPool(size)
        self.outcomes = OutcomeQueue()

    def free(self) -> int:
        """How many senders are idle now."""
        return self.pool.free()

    def spawn(self, send: Callable[..., Any], *args: Any) -> None:
        """Run ``send(*args)`` in a sender greenthread; waits while every sender is busy."""

        def guarded() -> None:
            try:
                send(*args)
            except Exception:  # the row's lease runs out and another pass retries it
                log.exception("sending an SMS failed unexpectedly")

        self.pool.spawn_n(guarded)


RECORD_BATCH = 200
RECORD_TRIES = 5


class Senders(DependencyProvider):
    """Injects the service's SenderPool (``SMS_CONCURRENCY`` greenthreads, default 16) and runs
    the recorder that writes their outcomes to the SMS log, many per transaction.

    An outcome lost with the process (a kill, or the database away for good) leaves its row
    ``sending``: when the lease runs out another sender reconciles with the provider first.
    """

    def setup(self) -> None:
        self.senders = SenderPool(int(_number(self.container.config, "SMS_CONCURRENCY", 16)))
        self.transactions = TransactionFactory(service_database(self.container))
        self.recording = False

    def start(self) -> None:
        self.recording = True
        self.recorder = self.container.spawn_managed_thread(self._record, identifier="sms-recorder")

    def _record(self) -> None:
        outcomes = self.senders.outcomes
        while self.recording or not outcomes.empty():
            batch = outcomes.take(RECORD_BATCH, wait=0.2)
            for attempt in range(1, RECORD_TRIES + 1) if batch else ():
                try:
                    record_outcomes(self.transactions, batch)
                    break
                except Exception:
                    log.exception("recording %d SMS outcomes failed (try %d)", len(batch), attempt)
                    eventlet.sleep(min(2.0**attempt, 10.0))

    def stop(self) -> None:
        self.senders.pool.waitall()  # each send is bounded by the provider's timeout
        self.recording = False
        self.recorder.wait()

    def kill(self) -> None:
        for thread in list(self.senders.pool.coroutines_running):
            thread.kill()
        self.recording = False

    def get_dependency(self, worker_ctx: Any) -> SenderPool:
        return self.senders


# --------------------------------------------------------------------------- timers


class ConfiguredTimer(Timer):
    """nameko's timer with its interval read from config at setup: ``@every("TICK_SECONDS", 0.5)``."""

    def __init__(self, config_key: str, default: float, eager: bool = False, **kwargs: Any) -> None:
        self.config_key = config_key
        self.default_interval = default
        super().__init__(interval=default, eager=eager, **kwargs)

    def setup(self) -> None:
        self.interval = _number(self.container.config, self.config_key, self.default_interval)


every = ConfiguredTimer.decorator
