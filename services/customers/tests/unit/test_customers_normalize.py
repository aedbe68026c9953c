"""The exact keys that decide 撞单: company names and phones."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from customers.normalize import (
    BRANCH_SEPARATOR,
    InvalidCompanyName,
    normalize_company_name,
    split_branch_key,
)

SAME_COMPANY = [
    # legal forms
    ("华为技术有限公司", "华为技术股份有限公司"),
    ("华为技术有限责任公司", "华为技术有限公司"),
    ("海尔集团公司", "海尔集团有限公司"),
    ("海尔集团股份有限公司", "海尔"),
    ("华为技术总公司", "华为技术"),
    ("中国工商银行股份有限公司", "中国工商银行"),
    ("万科企业股份有限公司", "万科企业"),
    ("深圳市前海某某投资合伙企业（有限合伙）", "前海某某投资"),
    ("長江實業（集團）有限公司", "長江實業集團"),
    # width, case, whitespace, punctuation
    ("ＡＢＣ贸易有限公司", "abc贸易有限公司"),
    ("ＨＵＡＷＥＩ", "huawei"),
    ("华为 技术 有限公司", "华为技术有限公司"),
    ("华为·技术有限公司。", "华为技术有限公司"),
    ("《读者》出版集团", "读者出版"),
    # bracketed parts
    ("某某（上海）有限公司", "某某有限公司"),
    ("阿里巴巴（中国）网络技术有限公司", "阿里巴巴网络技术有限公司"),
    ("【重点客户】腾讯科技有限公司", "腾讯科技"),
    ("腾讯科技(深圳)有限公司", "腾讯科技有限公司"),
    ("某某〔集团〕有限公司[旧名]", "某某有限公司"),
    # leading administrative regions
    ("深圳市华为技术有限公司", "华为技术有限公司"),
    ("广东省深圳市华为技术有限公司", "华为技术"),
    ("上海华为贸易有限公司", "深圳华为贸易有限公司"),
    ("北京市朝阳区华联商厦有限公司", "华联商厦有限公司"),
    ("上海市浦东新区金桥贸易有限公司", "金桥贸易"),
    ("苏州工业园区华为贸易有限公司", "华为贸易"),
    ("浙江省杭州市娃哈哈集团有限公司", "娃哈哈"),
    ("内蒙古自治区伊利实业集团股份有限公司", "伊利实业"),
    ("广西壮族自治区柳工机械股份有限公司", "广西柳工机械股份有限公司"),
    ("新疆维吾尔自治区特变电工股份有限公司", "特变电工"),
    ("温州市鹿城区新华服装厂", "新华服装厂"),
    ("合肥美的电冰箱有限公司", "美的电冰箱"),
    ("深圳市华为", "华为"),
    # English names
    ("Huawei Technologies Co., Ltd.", "HUAWEI TECHNOLOGIES CO LTD"),
    ("Acme Trading Company Limited", "Acme Trading Ltd."),
    ("Acme Inc.", "ACME Corporation"),
    ("Acme (China) Co., Ltd.", "Acme Co Ltd"),
    ("Shanghai Acme Trading Co., Ltd.", "Acme Trading LLC"),
    ("Siemens GmbH", "Siemens"),
    ("Acme Group Holdings Ltd", "acme group holdings"),
    # branch offices: the same branch however it is written
    ("华为技术有限公司北京分公司", "华为技术有限公司（北京分公司）"),
    ("中国银行北京分行", "中国银行北京市分行"),
    ("深圳市华为技术有限公司北京分公司", "华为技术股份有限公司北京分公司"),
    ("Acme Trading Co., Ltd. Beijing Branch", "ACME TRADING CO LTD - BEIJING BRANCH"),
]

DIFFERENT_COMPANIES = [
    # a region that is the trade name
    ("上海贸易有限公司", "北京贸易有限公司"),
    ("北京银行", "上海银行"),
    ("青岛啤酒股份有限公司", "重庆啤酒股份有限公司"),
    ("金华火腿有限公司", "义乌火腿有限公司"),
    ("上海国际贸易有限公司", "北京国际贸易有限公司"),
    ("上海市建筑工程有限公司", "天津市建筑工程有限公司"),
    ("Shanghai Trading Co., Ltd.", "Beijing Trading Co., Ltd."),
    ("深圳华为", "上海华为"),
    # branch offices are separate customers
    ("华为技术有限公司", "华为技术有限公司北京分公司"),
    ("华为技术有限公司北京分公司", "华为技术有限公司上海分公司"),
    ("中国银行", "中国银行北京分行"),
    ("Huawei Technologies Co Ltd Beijing Branch", "Huawei Technologies Co Ltd"),
    # sister companies and look-alikes
    ("华为技术有限公司", "荣耀终端有限公司"),
    ("华为技术有限公司", "华为投资控股有限公司"),
    ("海尔集团", "海信集团"),
    ("中国银行", "中国建设银行"),
    ("长城汽车股份有限公司", "长安汽车股份有限公司"),
    ("上海华为贸易有限公司", "上海华为科技有限公司"),
    ("华为", "华为技术"),
    ("ABC Trading", "ABD Trading"),
    ("Acme Holdings Ltd", "Acme Ltd"),
    # kept on purpose: a factory and a limited company are for the fuzzy scan
    ("新华服装厂", "新华服装有限公司"),
]


@pytest.mark.parametrize(("first", "second"), SAME_COMPANY)
def test_names_of_the_same_company_share_a_key(first, second):
    assert normalize_company_name(first) == normalize_company_name(second)


@pytest.mark.parametrize(("first", "second"), DIFFERENT_COMPANIES)
def test_names_of_different_companies_have_different_keys(first, second):
    assert normalize_company_name(first) != normalize_company_name(second)


def test_the_name_tables_are_large_enough():
    assert len(SAME_COMPANY) + len(DIFFERENT_COMPANIES) >= 40


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("深圳市华为技术有限公司", "华为技术"),
        ("某某（上海）有限公司", "某某"),
        ("北京银行股份有限公司", "北京银行"),
        ("上海贸易有限公司", "上海贸易"),
        ("华为技术有限公司北京分公司", "华为技术/北京分公司"),
        ("中国工商银行股份有限公司北京市海淀支行", "中国工商银行/北京海淀支行"),
        ("Shanghai Acme Trading Co., Ltd.", "acmetrading"),
        ("Acme Trading Co., Ltd. Beijing Branch", "acmetrading/beijingbranch"),
        ("华为控股有限公司", "华为控股"),
    ],
)
def test_key_keeps_trade_name_and_industry(name, key):
    assert normalize_company_name(name) == key


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("有限公司", "有限公司"),
        ("集团有限公司", "集团"),
        ("（上海）", "上海"),
        ("上海市", "上海市"),
        ("Limited", "limited"),
    ],
)
def test_a_name_that_is_only_what_gets_stripped_keeps_a_less_stripped_key(name, key):
    assert normalize_company_name(name) == key


@pytest.mark.parametrize("name", ["", "   ", "（）", "——！！", "()【】"])
def test_a_name_without_letters_or_digits_is_refused(name):
    with pytest.raises(InvalidCompanyName):
        normalize_company_name(name)


def test_branch_key_splits_into_head_office_and_branch():
    key = normalize_company_name("深圳市华为技术有限公司北京分公司")
    assert split_branch_key(key) == ("华为技术", "北京分公司")
    assert split_branch_key(normalize_company_name("华为技术有限公司")) == ("华为技术", None)


@given(st.text(min_size=1, max_size=40).filter(lambda text: any(char.isalnum() for char in text)))
def test_any_name_with_a_letter_or_digit_gets_a_non_empty_key(name):
    key = normalize_company_name(name)
    assert key.replace(BRANCH_SEPARATOR, "")


@given(
    st.sampled_from(["", "上海", "上海市", "广东省深圳市", "北京市朝阳区"]),
    st.sampled_from(["华为", "鑫源", "娃哈哈", "天成"]),
    st.sampled_from(["技术", "贸易", "电子科技", ""]),
    st.sampled_from(["", "有限公司", "股份有限公司", "集团有限公司", "（中国）有限公司"]),
)
def test_region_and_legal_form_do_not_change_the_key(region, trade_name, industry, legal_form):
    plain = normalize_company_name(trade_name + industry + "有限公司")
    assert normalize_company_name(region + trade_name + industry + legal_form) == plain or (
        # a bare region before a two-character name is kept: 上海华为 may be the trade name
        region == "上海" and len(trade_name + industry) < 3
    )
