"""Manager notices built from events, and the SMS retry policy."""

import pytest

from notify.domain import InvalidEventPayload
from notify.domain_notices import alarm_raised_notice, duplicate_suspected_notice
from notify.domain_sms import (
    SmsOutcome,
    SmsStep,
    backoff_delays,
    classify_provider_status,
    decide_after_attempt,
)


def envelope(**data: object) -> dict[str, object]:
    return {"event_id": "evt-1", "occurred_at": "2025-03-01T01:30:00+00:00", "version": 1, "data": data}


# --- alarm_raised


def test_alarm_notice_tells_the_manager_who_needs_help_with_which_customer() -> None:
    notice = alarm_raised_notice(
        envelope(
            alarm_id=9,
            title="客户要求降价 30%",
            problem="对方采购说竞品便宜三成",
            customer_id=5,
            customer_name="华为技术",
            raised_by_name="张三",
            team="华东一组",
        )
    )
    assert notice.title == "困难报警：张三需要帮助"
    assert "张三发起困难报警（客户「华为技术」）：客户要求降价 30%。" in notice.body
    assert "问题：对方采购说竞品便宜三成" in notice.body
    assert (notice.kind, notice.subject_type, notice.subject_id) == ("alarm_raised", "alarm", 9)
    assert (notice.event_id, notice.team) == ("evt-1", "华东一组")


def test_alarm_notice_without_optional_fields_still_reads() -> None:
    notice = alarm_raised_notice(envelope(alarm_id=9))
    assert notice.title == "困难报警：销售需要帮助"
    assert notice.body.startswith("销售发起困难报警：（无标题）。")
    assert "客户" not in notice.body.split("。")[0]


def test_long_alarm_problem_is_clipped() -> None:
    notice = alarm_raised_notice(envelope(alarm_id=9, problem="很长" * 200))
    assert "很长" * 60 + "…" in notice.body
    assert len(notice.body) < 200


@pytest.mark.parametrize("payload", [None, {}, {"data": None}, {"data": "x"}, "text"])
def test_event_without_data_is_refused(payload: object) -> None:
    with pytest.raises(InvalidEventPayload) as refused:
        alarm_raised_notice(payload)  # type: ignore[arg-type]
    assert refused.value.code == "invalid_event_payload"


# --- customer_duplicate_suspected


def test_duplicate_notice_names_both_customers_owners_score_and_reason() -> None:
    notice = duplicate_suspected_notice(
        envelope(
            customer_id=12,
            customer_name="华为技术有限公司",
            owner_name="李四",
            matches=[
                {
                    "customer_id": 5,
                    "customer_name": "华为技术",
                    "owner_name": "张三",
                    "score": 92,
                    "matched_on": "name",
                }
            ],
        )
    )
    assert notice.title == "疑似重复客户：华为技术有限公司"
    assert notice.body == (
        "李四新录入的客户「华为技术有限公司」与张三名下的「华为技术」疑似重复"
        "（相似度 92%，依据：公司名称相近）。请核实归属，避免撞单。"
    )
    assert (notice.subject_type, notice.subject_id) == ("customer", 12)


def test_duplicate_notice_reads_flat_match_fields_and_fractional_scores() -> None:
    notice = duplicate_suspected_notice(
        envelope(
            customer_id=12,
            customer_name="华为",
            matched_customer_name="华为技术",
            matched_owner_name="张三",
            score=0.875,
            reason="phone",
        )
    )
    assert "与张三名下的「华为技术」疑似重复（相似度 88%，依据：电话相同）" in notice.body
    assert notice.body.startswith("新录入的客户「华为」")


def test_duplicate_notice_with_only_the_new_customer_still_reads() -> None:
    notice = duplicate_suspected_notice(envelope(customer_id=12))
    assert notice.title == "疑似重复客户：（未命名客户）"
    assert notice.body == "新录入的客户「（未命名客户）」疑似与已有客户重复。请核实归属，避免撞单。"


def test_duplicate_notice_counts_further_matches() -> None:
    matches = [{"customer_name": name} for name in ("甲", "乙", "丙")]
    notice = duplicate_suspected_notice(envelope(customer_id=1, customer_name="甲公司", matches=matches))
    assert notice.body.endswith("另有 2 个相似客户。")


def test_unknown_match_reason_is_shown_as_given() -> None:
    notice = duplicate_suspected_notice(envelope(customer_id=1, reason="同一地址"))
    assert "依据：同一地址" in notice.body


# --- retry policy


def test_default_backoff_waits_1_2_4_seconds_between_four_tries() -> None:
    assert backoff_delays() == [1.0, 2.0, 4.0]


def test_backoff_is_capped() -> None:
    assert backoff_delays(attempts=8, base=1.0, factor=3.0, cap=30.0) == [
        1.0,
        3.0,
        9.0,
        27.0,
        30.0,
        30.0,
        30.0,
    ]


def test_single_attempt_has_no_waits() -> None:
    assert backoff_delays(attempts=1) == []


def test_zero_attempts_is_refused() -> None:
    with pytest.raises(ValueError):
        backoff_delays(attempts=0)


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, SmsOutcome.SENT),
        (201, SmsOutcome.SENT),
        (400, SmsOutcome.REJECTED),
        (401, SmsOutcome.REJECTED),
        (404, SmsOutcome.REJECTED),
        (429, SmsOutcome.TEMPORARY),
        (408, SmsOutcome.TEMPORARY),
        (500, SmsOutcome.TEMPORARY),
        (503, SmsOutcome.TEMPORARY),
        (None, SmsOutcome.TEMPORARY),
    ],
)
def test_provider_status_is_classified(status: int | None, outcome: SmsOutcome) -> None:
    assert classify_provider_status(status) == outcome


def test_accepted_sms_is_recorded_as_sent() -> None:
    assert decide_after_attempt(SmsOutcome.SENT, 1, [1.0, 2.0]).step == SmsStep.SENT


def test_bad_number_fails_at_once_without_retry() -> None:
    decision = decide_after_attempt(SmsOutcome.REJECTED, 1, [1.0, 2.0, 4.0])
    assert (decision.step, decision.permanent, decision.delay) == (SmsStep.FAILED, True, None)


def test_temporary_failure_retries_with_growing_waits_then_fails() -> None:
    delays = backoff_delays()
    steps = [decide_after_attempt(SmsOutcome.TEMPORARY, attempt, delays) for attempt in range(1, 5)]
    assert [(step.step, step.delay) for step in steps] == [
        (SmsStep.RETRY, 1.0),
        (SmsStep.RETRY, 2.0),
        (SmsStep.RETRY, 4.0),
        (SmsStep.FAILED, None),
    ]
    assert steps[-1].permanent is False
