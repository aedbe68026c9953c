"""CSV import from spreadsheets: encodings, headers, per-row report, whole-file refusal."""

import pytest

from customers.importing import MalformedImport, parse_import

GBK_SHEET = (
    "公司名称,电话,手机,地址,行业,成立日,联系人,职位,联系人电话,决策级别,下次拜访\r\n"
    "深圳市华为技术有限公司,0755-28780808,13800138000,深圳市龙岗区,通信,1987-09-15,王总,总经理,13900139000,5,2024-06-01\r\n"
    "华为技术有限公司,,,深圳,通信,,,,,,\r\n"
    "鑫源贸易有限公司,12345,,,,02-30,李经理,采购经理,,7,明天\r\n"
    ",13700137000,,,,,,,,,\r\n"
    "天成机械厂,(021)12345678 转 8,,,,,张三,,13800138000,3,2024-06-02 14:30\r\n"
    ",,,,,,,,,,\r\n"
    "华为技术有限公司北京分公司,010-12345678,,,,05-03,,,,,\r\n"
)


@pytest.fixture
def gbk_report():
    return parse_import(GBK_SHEET.encode("gbk"))


def test_gbk_file_is_read_and_every_non_blank_row_is_reported(gbk_report):
    assert [row.line_number for row in gbk_report] == [2, 3, 4, 5, 6, 8]


def test_valid_row_is_normalised_into_a_new_customer(gbk_report):
    row = gbk_report[0]
    assert row.errors == []
    assert row.fields == {
        "name": "深圳市华为技术有限公司",
        "phones": ["+8675528780808", "+8613800138000"],
        "address": "深圳市龙岗区",
        "industry": "通信",
        "birthday": "1987-09-15",
        "next_visit_at": "2024-06-01T09:00:00",
        "next_visit_contact": "王总",
        "contacts": [{"name": "王总", "title": "总经理", "phone": "+8613900139000", "decision_level": 5}],
    }


def test_same_company_twice_in_the_file_is_marked_on_the_later_row(gbk_report):
    assert gbk_report[1].errors == ["与第 2 行是同一客户（名称相同）"]


def test_a_contact_phone_seen_earlier_marks_the_row_as_a_duplicate(gbk_report):
    tiancheng = gbk_report[4]
    assert tiancheng.fields["phones"] == ["+862112345678"]
    assert tiancheng.fields["next_visit_at"] == "2024-06-02T14:30:00"
    assert tiancheng.errors == ["与第 2 行是同一客户（电话 +8613800138000）"]


def test_invalid_values_are_each_reported_and_left_empty(gbk_report):
    row = gbk_report[2]
    assert len(row.errors) == 4
    assert "'12345'" in row.errors[0]
    assert "02-30" in row.errors[1]
    assert "明天" in row.errors[2]
    assert "决策级别" in row.errors[3]
    assert row.fields["phones"] == []
    assert row.fields["birthday"] is None
    assert row.fields["next_visit_at"] is None
    assert row.fields["contacts"] == [
        {"name": "李经理", "title": "采购经理", "phone": None, "decision_level": None}
    ]


def test_row_without_a_name_is_reported(gbk_report):
    assert gbk_report[3].errors == ["缺少客户名称"]
    assert gbk_report[3].fields["phones"] == ["+8613700137000"]


def test_branch_office_in_the_same_file_is_not_a_duplicate(gbk_report):
    branch = gbk_report[5]
    assert branch.is_valid
    assert branch.fields["birthday"] == "05-03"


def test_utf8_with_bom_and_english_headers_is_read():
    sheet = "\ufeffName,Phone,Contact Name,Contact_Title,Decision Level\nAcme Ltd,+1 650 253 0000,Bob,CTO,4\n"
    [row] = parse_import(sheet.encode("utf-8"))
    assert row.is_valid
    assert row.fields["name"] == "Acme Ltd"
    assert row.fields["phones"] == ["+16502530000"]
    assert row.fields["contacts"] == [{"name": "Bob", "title": "CTO", "phone": None, "decision_level": 4}]


def test_utf8_without_bom_with_tabs_and_decorated_headers_is_read():
    sheet = "客户名称*\t手机号(必填)\t备注\n鑫源贸易\t13800138000/010-12345678\t老客户\n"
    [row] = parse_import(sheet.encode("utf-8"))
    assert row.fields["name"] == "鑫源贸易"
    assert row.fields["phones"] == ["+8613800138000", "+861012345678"]


def test_quoted_cells_with_commas_and_line_breaks_keep_the_spreadsheet_row_number():
    sheet = '名称,地址\n"甲公司","北京市,\n朝阳区"\n乙公司,上海\n'
    rows = parse_import(sheet.encode("gb18030"))
    assert [(row.line_number, row.fields["address"]) for row in rows] == [(2, "北京市,\n朝阳区"), (3, "上海")]


def test_phone_exported_as_scientific_notation_gets_a_helpful_error():
    [row] = parse_import("名称,电话\n甲公司,1.38001E+10\n".encode())
    assert "科学计数法" in row.errors[0]


def test_phone_exported_as_a_float_is_read():
    [row] = parse_import("名称,电话,决策级别,联系人\n甲公司,13800138000.0,3.0,王总\n".encode())
    assert row.is_valid
    assert row.fields["phones"] == ["+8613800138000"]
    assert row.fields["contacts"][0]["decision_level"] == 3


def test_contact_details_without_a_contact_name_are_reported():
    [row] = parse_import("名称,职位,决策级别\n甲公司,总经理,5\n".encode())
    assert row.errors == ["有联系人信息但缺少联系人姓名"]
    assert row.fields["contacts"] == []


def test_cells_beyond_the_header_are_reported_but_trailing_empty_ones_are_not():
    rows = parse_import("名称,电话\n甲公司,13800138000,,\n乙公司,13900139000,多余\n".encode())
    assert rows[0].errors == []
    assert rows[1].errors == ["本行的列比表头多"]


def test_phone_region_applies_to_numbers_without_country_code():
    [row] = parse_import(b"name,phone\nAcme,650-253-0000\n", phone_region="US")
    assert row.fields["phones"] == ["+16502530000"]


def test_header_only_file_gives_an_empty_report():
    assert parse_import("公司名称,电话\n".encode("gbk")) == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "空"),
        (b"\r\n ,, \r\n", "空"),
        ("电话,地址\n13800138000,北京\n".encode("gbk"), "客户名称"),
        (b"PK\x03\x04\x14\x00\x06\x00", "CSV"),
        ("名称,电话\n甲公司,1\n".encode("utf-16"), "CSV"),
        (b"name,phone\n\x80\x80\xff,1\n", "编码"),
        ('名称,地址\n甲公司,"北京"朝阳\n'.encode(), "CSV"),
        ("公司名称,客户名称\n甲,乙\n".encode(), "同一字段"),
        (b"<html><body>not a csv</body></html>", "客户名称"),
    ],
)
def test_malformed_file_is_refused_whole(data, message):
    with pytest.raises(MalformedImport) as caught:
        parse_import(data)
    assert message in str(caught.value)


def test_a_row_the_entry_schema_refuses_is_invalid_with_the_field_error():
    """Issue 9.1: the import applies the same entry schema as POST /customers (a name of at
    most 200 characters), so a 100,000-character name is an invalid row, not a customer."""
    sheet = (
        "公司名称,地址,联系人,职位\n"
        + "甲" * 100_000
        + ",深圳\n乙公司,"
        + "路" * 301
        + ",王总,"
        + "总" * 101
        + "\n"
    )
    long_name, long_address = parse_import(sheet.encode("utf-8"))
    assert not long_name.is_valid
    assert long_name.field_errors == {"name": ["Length must be between 1 and 200."]}
    assert long_name.errors == ["公司名称（name）：Length must be between 1 and 200."]
    assert not long_address.is_valid
    assert long_address.field_errors == {
        "address": ["Longer than maximum length 300."],
        "contacts": {"0": {"title": ["Longer than maximum length 100."]}},
    }
    assert "地址（address）：Longer than maximum length 300." in long_address.errors
    assert "职位（contacts.0.title）：Longer than maximum length 100." in long_address.errors


def test_a_name_refused_by_the_schema_does_not_make_a_later_row_a_duplicate():
    sheet = "公司名称\n" + "甲" * 201 + "\n" + "甲" * 201 + "\n"
    first, second = parse_import(sheet.encode("utf-8"))
    assert first.field_errors and second.field_errors
    assert second.duplicate_of_line is None


def test_eleven_phones_in_a_row_are_more_than_an_entry_takes():
    phones = "/".join(f"138001380{n:02d}" for n in range(11))
    (row,) = parse_import(f"公司名称,电话\r\n鑫源贸易有限公司,{phones}\r\n".encode())
    assert not row.is_valid
    assert list(row.field_errors) == ["phones"]
