"""Matching rules of issue 12, one by one, without broker or database: the region rule, the
keys it stores, homophones, traditional characters, English names, and bounded work."""

import pytest

from customers.domain import (
    MAX_CANDIDATE_KEYS,
    assess_duplicate,
    blocks_same_name,
    candidate_keys,
    choose_candidates,
    exact_keys,
    name_block_keys,
    same_name_key,
    trade_name,
    trade_sound,
)
from customers.importing import parse_import
from customers.normalize import (
    KEY_VERSION,
    MAX_KEY_LENGTH,
    MAX_NAME_LENGTH,
    analyse_company_name,
    exact_name_key,
    pinyin_readings,
    pinyin_syllables,
    regions_differ,
    to_simplified,
)


def analysed(name):
    return analyse_company_name(name)


def suspicion_of(stored, typed, phones_a=(), phones_b=()):
    a, b = analysed(typed), analysed(stored)
    return assess_duplicate(a.key, b.key, phones_a, phones_b, region_a=a.region, region_b=b.region)


def found(stored, typed):
    """Whether the scan's indexed lookup of ``typed`` reaches ``stored``."""
    a, b = analysed(stored).key, analysed(typed).key
    stored_keys = candidate_keys(a)
    return 1 in choose_candidates({key: [1] for key in candidate_keys(b) if key in stored_keys})


# --- regions --------------------------------------------------------------------------------


def test_key_version_is_bumped_for_the_region_rule():
    assert KEY_VERSION == 2


@pytest.mark.parametrize(
    ("name", "key", "region"),
    [
        ("深圳市恒发五金有限公司", "恒发五金", "广东/深圳"),
        ("广东省深圳市恒发五金有限公司", "恒发五金", "广东/深圳"),
        ("深圳恒发五金有限公司", "恒发五金", "广东/深圳"),
        ("深圳市南山区恒发五金有限公司", "恒发五金", "广东/深圳/南山区"),
        ("北京市朝阳区恒发五金有限公司", "恒发五金", "北京/朝阳区"),
        ("长春市朝阳区恒发五金有限公司", "恒发五金", "吉林/长春/朝阳区"),
        ("昆山市恒发五金有限公司", "恒发五金", "江苏/苏州/昆山市"),
        ("恒发五金（广州）有限公司", "恒发五金", "广东/广州"),
        ("恒发五金有限公司(广州市)", "恒发五金", "广东/广州"),
        ("Shenzhen Hengfa Hardware Co., Ltd.", "hengfahardware", "广东/深圳"),
        ("Hengfa Hardware (Guangzhou) Co., Ltd.", "hengfahardware", "广东/广州"),
        ("恒发五金有限公司", "恒发五金", None),
        ("北京银行股份有限公司", "北京银行", None),  # the region is the trade name: no region
        ("深圳华为", "深圳华为", None),
        ("深圳市华为技术有限公司北京分公司", "华为技术/北京分公司", "广东/深圳"),  # the head office's
    ],
)
def test_the_explicit_region_of_a_name(name, key, region):
    assert (analysed(name).key, analysed(name).region) == (key, region)


def test_two_regions_differ_only_when_both_are_given_and_not_equal():
    assert regions_differ("广东/深圳", "广东/广州")
    assert regions_differ("广东", "广东/深圳")  # a province-level and a city-level registration
    assert not regions_differ("广东/深圳", "广东/深圳")
    assert not regions_differ(None, "广东/深圳") and not regions_differ("广东/深圳", None)
    assert not regions_differ(None, None)


@pytest.mark.parametrize(
    ("stored", "typed", "blocks"),
    [
        ("深圳市恒发五金有限公司", "广州市恒发五金有限公司", False),
        ("深圳市恒发五金有限公司", "恒发五金有限公司", True),
        ("恒发五金有限公司", "广州市恒发五金有限公司", True),
        ("深圳市华为技术有限公司", "华为技术有限公司", True),
        ("深圳市恒发五金有限公司", "广东省深圳市恒发五金有限公司", True),
        ("深圳市恒发五金有限公司", "恒发五金（深圳）有限公司", True),
        ("深圳市南山区恒发五金有限公司", "深圳市福田区恒发五金有限公司", False),
    ],
)
def test_the_same_key_blocks_unless_both_regions_are_given_and_differ(stored, typed, blocks):
    a, b = analysed(stored), analysed(typed)
    assert a.key == b.key
    assert blocks_same_name(b.region, a.region) is blocks


def test_the_stored_name_key_carries_the_region_and_the_lookup_finds_both_forms():
    assert exact_name_key("恒发五金", None) == "恒发五金"
    assert exact_name_key("恒发五金", "广东/深圳") == "恒发五金@广东/深圳"
    assert exact_keys("恒发五金", ["+8613800138000"], "广东/深圳") == [
        ("name", "恒发五金@广东/深圳"),
        ("phone", "+8613800138000"),
    ]
    assert name_block_keys("恒发五金", "广东/深圳") == [("name", "恒发五金"), ("name", "恒发五金@广东/深圳")]
    assert name_block_keys("恒发五金", None) == [("name", "恒发五金")]


def test_a_long_qualified_key_stays_within_the_key_column():
    long_key = "恒" * MAX_KEY_LENGTH
    assert len(exact_name_key(long_key, "广东/深圳")) <= MAX_KEY_LENGTH
    assert exact_name_key(long_key, "广东/深圳") != exact_name_key(long_key, "广东/广州")
    assert len(same_name_key(long_key)) <= MAX_KEY_LENGTH


def test_the_same_trade_name_in_another_city_is_flagged_with_its_reason():
    suspicion = suspicion_of("深圳市恒发五金有限公司", "广州市恒发五金有限公司")
    assert suspicion is not None and suspicion.score == 95.0
    assert suspicion.reason == "同字号，不同地区（广东·广州）"  # only what was typed is quoted
    assert found("深圳市恒发五金有限公司", "广州市恒发五金有限公司")


def test_an_import_applies_the_region_rule_within_the_file():
    sheet = "客户名称\n深圳市恒发五金有限公司\n广州市恒发五金有限公司\n恒发五金有限公司\n广东省深圳市恒发五金有限公司\n"
    rows = parse_import(sheet.encode())
    assert [row.duplicate_of_line for row in rows] == [None, None, 2, 2]


# --- homophones, traditional characters, English names ---------------------------------------


@pytest.mark.parametrize(
    ("stored", "typed", "reason"),
    [
        ("阿里巴巴网络技术有限公司", "阿里吧吧网络技术有限公司", "同音"),
        ("永昌塑胶有限公司", "永长塑胶有限公司", "同音"),  # 长 read chang as well as zhang
        ("华为技术有限公司", "華為技術有限公司", "繁简"),
        ("华为技术有限公司", "Huawei Technologies Co., Ltd.", "中英文名"),
        ("阿里巴巴网络技术有限公司", "Alibaba Network Technology Co., Ltd.", "中英文名"),
    ],
)
def test_each_variant_is_found_through_the_index_and_named_in_words(stored, typed, reason):
    suspicion = suspicion_of(stored, typed)
    assert suspicion is not None and suspicion.reason.startswith(reason), suspicion
    assert found(stored, typed)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("鑫源贸易有限公司", "鑫达贸易有限公司"),
        ("恒发五金有限公司", "恒发电子有限公司"),
        ("华为技术有限公司", "荣耀终端有限公司"),
    ],
)
def test_similar_sounds_of_different_companies_are_not_suspected(first, second):
    assert suspicion_of(first, second) is None


def test_pinyin_is_toneless_and_read_character_by_character():
    assert pinyin_syllables("阿里巴巴") == ["a", "li", "ba", "ba"]
    assert pinyin_syllables("ab华") == ["a", "b", "hua"]
    assert set(pinyin_readings("长")) == {"zhang", "chang"}
    assert to_simplified("華為技術") == "华为技术"


def test_the_trade_name_drops_industry_words_from_the_end():
    assert trade_name("华为技术") == "华为" and trade_sound("华为技术") == "huawei"
    assert trade_name("阿里巴巴网络技术") == "阿里巴巴"
    assert trade_name("huaweitechnologies") == "huawei"
    assert trade_name("五金") == "五金"  # never less than two characters
    assert trade_sound("华为") == "huawei" and trade_sound("ab") is None


def test_an_english_name_reason_quotes_only_the_typed_name():
    assert suspicion_of("华为技术有限公司", "Huawei Technologies Co., Ltd.").reason == "中英文名（huawei）"
    assert (
        suspicion_of("Huawei Technologies Co., Ltd.", "华为技术有限公司").reason
        == "中英文名（华为，读作 huawei）"
    )


# --- bounded work ----------------------------------------------------------------------------


def test_every_key_function_gives_bounded_output_on_the_longest_name():
    longest = "".join(chr(0x4E00 + i * 37) for i in range(MAX_NAME_LENGTH - 4)) + "有限公司"
    key = analysed(longest).key
    keys = candidate_keys(key, ["+8613800138000"])
    assert len(keys) <= MAX_CANDIDATE_KEYS + 1 and max(map(len, keys)) <= MAX_KEY_LENGTH
    assert len(pinyin_syllables(key)) == len(key)
    assert suspicion_of(longest, longest).reason == "名称相同"
    assert suspicion_of(longest, longest[:-6] + "贸易有限公司").score >= 85  # compared on cut keys
