"""SMS text: Chinese wording, segment counting and careful shortening."""

from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notify.domain_sms import SMS_PREFIX, compose_sms, sms_segments

NINE_THIRTY = datetime(2025, 3, 1, 9, 30)

# whole visible characters, several of them multi-code-point emoji sequences
GRAPHEMES = [
    "客",
    "户",
    "a",
    " ",
    "😀",  # outside the BMP: a surrogate pair in UTF-16
    "👍🏽",  # with a skin tone modifier
    "👨\u200d👩\u200d👧",  # ZWJ family
    "🇨🇳",  # flag: two regional indicators
    "1️⃣",  # keycap
    "é",  # e + combining acute
    "，",
]


def test_short_reminder_reads_prefix_title_time_and_content() -> None:
    assert compose_sms("拜访华为", NINE_THIRTY, "带上合同") == "【销售提醒】拜访华为 03-01 09:30：带上合同"


def test_reminder_without_content_has_no_trailing_colon() -> None:
    assert compose_sms("拜访华为", NINE_THIRTY, "  ") == "【销售提醒】拜访华为 03-01 09:30"


def test_notice_without_a_time_leaves_the_time_out() -> None:
    assert compose_sms("困难报警", None, "请回复") == "【销售提醒】困难报警：请回复"


def test_plain_ascii_fits_160_in_one_segment() -> None:
    assert sms_segments("a" * 160) == 1
    assert sms_segments("a" * 161) == 2


def test_concatenated_gsm_segments_hold_153() -> None:
    assert sms_segments("a" * 306) == 2
    assert sms_segments("a" * 307) == 3


def test_gsm_extension_characters_count_double() -> None:
    assert sms_segments("€" * 80) == 1
    assert sms_segments("€" * 81) == 2


def test_chinese_fits_70_in_one_segment_and_67_when_concatenated() -> None:
    assert sms_segments("中" * 70) == 1
    assert sms_segments("中" * 71) == 2
    assert sms_segments("中" * 134) == 2
    assert sms_segments("中" * 135) == 3


def test_one_chinese_character_turns_the_whole_text_into_ucs2() -> None:
    assert sms_segments("a" * 70 + "中") == 2


def test_emoji_outside_the_bmp_costs_two_units_and_is_never_split() -> None:
    assert sms_segments("😀" * 35) == 1
    # 66 units then an emoji that would straddle the segment border moves whole to the next
    assert sms_segments("中" * 66 + "😀" + "中" * 66) == 3


def test_empty_text_is_no_segment() -> None:
    assert sms_segments("") == 0


def test_long_content_is_shortened_to_three_segments_ending_with_ellipsis() -> None:
    text = compose_sms("拜访华为", NINE_THIRTY, "请带上合同和报价单。" * 40)
    assert sms_segments(text) == 3
    assert text.startswith("【销售提醒】拜访华为 03-01 09:30：请带上合同")
    assert text.endswith("…")


def test_shortening_uses_the_room_it_has() -> None:
    text = compose_sms("拜访", NINE_THIRTY, "中" * 500)
    # 3 × 67 = 201 units: nothing but the ellipsis could be added
    assert len(text) == 201


def test_max_segments_of_one_keeps_the_text_to_70_units() -> None:
    text = compose_sms("拜访华为", NINE_THIRTY, "中" * 100, max_segments=1)
    assert sms_segments(text) == 1
    assert len(text) == 70


def test_cut_content_never_ends_in_half_an_emoji() -> None:
    head = "【销售提醒】拜访 03-01 09:30："
    content = "中" * (70 - len(head) - 2) + "😀" + "中" * 40
    text = compose_sms("拜访", NINE_THIRTY, content, max_segments=1)
    assert text == head + "中" * (70 - len(head) - 2) + "…"


@pytest.mark.parametrize(
    "grapheme",
    ["e\u0301", "🇨🇳", "👨\u200d👩\u200d👧", "👍🏽", "1️⃣"],
    ids=["combining-accent", "flag", "zwj-family", "skin-tone", "keycap"],
)
@pytest.mark.parametrize("lead", range(4))
def test_cut_never_splits_a_multi_code_point_character(grapheme: str, lead: int) -> None:
    head = "【销售提醒】拜访 03-01 09:30："
    text = compose_sms("拜访", NINE_THIRTY, "中" * lead + grapheme * 60, max_segments=1)
    kept = text[len(head) : -1]
    assert kept[lead:] == grapheme * ((len(kept) - lead) // len(grapheme))


def test_very_long_title_is_cut_but_prefix_and_time_stay() -> None:
    text = compose_sms("很长的标题" * 100, NINE_THIRTY, "内容")
    assert text.startswith(SMS_PREFIX + "很长的标题")
    assert text.endswith("… 03-01 09:30")
    assert sms_segments(text) <= 3


def test_max_segments_below_one_is_refused() -> None:
    with pytest.raises(ValueError):
        compose_sms("t", NINE_THIRTY, "c", max_segments=0)


@settings(max_examples=300, deadline=None)
@given(
    title=st.text(min_size=1, max_size=30).filter(lambda text: text.strip() != ""),
    content=st.text(max_size=600),
    max_segments=st.integers(min_value=1, max_value=5),
)
def test_composed_sms_never_exceeds_its_segments(title: str, content: str, max_segments: int) -> None:
    text = compose_sms(title, NINE_THIRTY, content, max_segments=max_segments)
    assert sms_segments(text) <= max_segments
    assert text.startswith(SMS_PREFIX)
    text.encode("utf-16")  # no lone surrogates


@settings(max_examples=300, deadline=None)
@given(
    tokens=st.lists(st.sampled_from(GRAPHEMES), min_size=30, max_size=400),
    max_segments=st.integers(min_value=1, max_value=4),
)
def test_shortened_content_keeps_every_emoji_whole(tokens: list[str], max_segments: int) -> None:
    content = "".join(tokens)
    head = "【销售提醒】拜访 03-01 09:30："
    text = compose_sms("拜访", NINE_THIRTY, content, max_segments=max_segments)
    if not content.strip():
        assert text == head[:-1]
        return
    assert text.startswith(head)
    kept = text[len(head) :]
    if kept.endswith("…"):
        kept = kept[:-1]
        whole_prefixes = {"".join(tokens[:count]).strip() for count in range(len(tokens) + 1)}
        assert kept in whole_prefixes
    else:
        assert kept == content.strip()
    assert sms_segments(text) <= max_segments


@settings(max_examples=200, deadline=None)
@given(content=st.text(max_size=400))
def test_text_that_fits_is_sent_unchanged(content: str) -> None:
    full = (
        f"【销售提醒】拜访 03-01 09:30：{content.strip()}"
        if content.strip()
        else "【销售提醒】拜访 03-01 09:30"
    )
    text = compose_sms("拜访", NINE_THIRTY, content, max_segments=10)
    if sms_segments(full) <= 10:
        assert text == full
