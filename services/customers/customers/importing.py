"""Parse a CSV of customers exported from a spreadsheet (Excel, WPS) by a Chinese sales team.

The whole file is refused with `MalformedImport` — nothing is imported — when:

- it is empty, or not text (NUL bytes: an .xlsx, or Excel's UTF-16 "Unicode text");
- it decodes neither as UTF-8 (with or without BOM) nor as GB18030, the superset of GBK that
  Chinese Excel writes;
- the CSV itself is broken (e.g. a stray quote);
- the header (the first non-blank row) has no company-name column, or names one field
  twice. Several phone columns (电话 and 手机) are the one exception: their numbers are merged.
  Unknown columns are ignored. The delimiter is a comma, or a tab when the header has more tabs.

Otherwise every non-blank row becomes an `ImportRow`; ``line_number`` is the row number a
spreadsheet shows (the header of a plain file is row 1). Per-row problems go to ``errors``
and the row is still returned, so the report can list it: missing name, invalid phone,
birthday, decision level or next visit, contact details without a contact name, cells beyond
the header, anything the entry schema of ``POST /customers`` refuses (`NewCustomerSchema`:
lengths, NUL characters …; also in ``field_errors`` by field, as the JSON API reports them),
and a duplicate of an earlier row in the same file (same name key or a shared phone, the
contact's phone included; ``duplicate_of_line`` names it, and ``valid_but_repeated`` says
that is the row's only problem). A row is compared with every earlier row, valid or not; a
name the schema refuses is not compared (it never becomes a customer).

`open_import` does the whole-file checks alone (quick: decoding and the CSV reader), so a
refused file is answered at once; `ImportSheet.rows` then parses the rows lazily, in order.

``fields`` always has the same keys, in the shape of a new customer: ``name``, ``phones``
(E.164), ``address``, ``industry``, ``birthday`` ("MM-DD" or "YYYY-MM-DD"), ``next_visit_at``
(naive local ISO datetime; a date alone means `DEFAULT_VISIT_TIME`), ``next_visit_contact``
(the row's contact when a visit is set), ``contacts`` (zero or one ``{name, title, phone,
decision_level}``). An invalid value is left as None and quoted in the error.

The owner, the checks against existing customers and the creation are the service's job.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from marshmallow import ValidationError

from customers.domain import (
    InvalidBirthday,
    InvalidDecisionLevel,
    parse_birthday,
    validate_decision_level,
)
from customers.normalize import (
    DEFAULT_PHONE_REGION,
    CompanyName,
    InvalidCompanyName,
    InvalidPhone,
    analyse_company_name,
    normalize_phone,
    quoted,
    regions_differ,
)
from customers.schemas import NewCustomerSchema

DEFAULT_VISIT_TIME = time(9, 0)  # a visit planned for a day starts the working day

FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "name": (
        "公司名称", "客户名称", "企业名称", "单位名称", "公司", "客户", "名称",
        "name", "company", "company name", "customer", "customer name",
    ),
    "phones": (
        "电话", "手机", "手机号", "手机号码", "电话号码", "联系电话", "固话", "座机",
        "phone", "phones", "tel", "telephone", "mobile",
    ),
    "address": ("地址", "公司地址", "详细地址", "address"),
    "industry": ("行业", "所属行业", "industry"),
    "birthday": ("生日", "成立日", "成立日期", "生日/成立日", "birthday", "founded"),
    "contact_name": ("联系人", "联系人姓名", "contact", "contact name"),
    "contact_title": ("职位", "职务", "联系人职位", "title", "contact title"),
    "contact_phone": ("联系人电话", "联系人手机", "contact phone"),
    "decision_level": ("决策级别", "决策层级", "decision level"),
    "next_visit_at": ("下次拜访", "下次拜访时间", "下次拜访日期", "next visit", "next visit at"),
}  # fmt: skip
REQUIRED_FIELDS: tuple[str, ...] = ("name",)
MAX_HEADER_LENGTH = 100  # a longer column title names no field
MAX_VISIT_LENGTH = 40
MULTI_COLUMN_FIELDS: frozenset[str] = frozenset({"phones"})
# how the report names a field the entry schema refuses: the usual column title and the field
FIELD_LABELS: dict[str, str] = {
    "name": "公司名称", "phones": "电话", "address": "地址", "industry": "行业", "birthday": "成立日",
    "next_visit_at": "下次拜访", "next_visit_contact": "联系人", "contacts": "联系人",
}  # fmt: skip
CONTACT_LABELS: dict[str, str] = {
    "name": "联系人",
    "title": "职位",
    "phone": "联系人电话",
    "decision_level": "决策级别",
}
_ENTRY_SCHEMA = NewCustomerSchema()

_PHONE_SEPARATORS = re.compile(r"[/;；,，、|\n]+")
_SCIENTIFIC_NOTATION = re.compile(r"\d(?:\.\d+)?e\+?\d+", re.IGNORECASE)
_SPREADSHEET_FLOAT = re.compile(r"(\+?\d{5,})\.0+")
_DECISION_LEVEL = re.compile(r"(\d+)(?:\.0+)?")
_VISIT = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[\sT]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?"
)


class MalformedImport(ValueError):
    """The file as a whole cannot be read as a customer list; nothing in it is imported."""


@dataclass
class ImportRow:
    line_number: int
    fields: dict[str, Any]
    errors: list[str] = field(default_factory=list)
    field_errors: dict[str, Any] = field(default_factory=dict)  # the entry schema's, by field
    duplicate_of_line: int | None = None  # an earlier row of the same file is the same customer
    valid_but_repeated: bool = False  # the row's only problem is that an earlier row has it

    @property
    def is_valid(self) -> bool:
        return not self.errors


def _fold_header(text: str) -> str:
    if len(text) > MAX_HEADER_LENGTH:
        return ""  # no field's title; folding it would only cost time
    folded = unicodedata.normalize("NFKC", text).casefold()
    folded = re.sub(r"\([^)]*\)|\[[^\]]*\]|【[^】]*】", "", folded)  # 电话(必填), 名称【*】
    return "".join(char for char in folded if unicodedata.category(char)[0] not in "PSZC")


_FIELD_OF_HEADER: dict[str, str] = {
    _fold_header(alias): field_name for field_name, aliases in FIELD_ALIASES.items() for alias in aliases
}


def decode_import(data: bytes) -> str:
    """Decode the uploaded bytes: UTF-8 (BOM or not), else GB18030/GBK.

    Raises `MalformedImport` for an empty file, a binary one, or an unknown encoding.
    """
    if not data.strip():
        raise MalformedImport("文件为空")
    if data.startswith(b"PK\x03\x04") or b"\x00" in data:
        raise MalformedImport("不是 CSV 文本文件（可能是 .xlsx 或 UTF-16 文本）：请另存为 CSV")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise MalformedImport("无法识别文件编码：请另存为 UTF-8 或 GBK 编码的 CSV")


@dataclass
class ImportSheet:
    """A file that passed the whole-file checks: its records, header and column mapping."""

    records: list[list[str]]
    header_index: int
    columns: dict[int, str]

    @property
    def row_count(self) -> int:
        """How many rows `rows` yields (the non-blank rows below the header)."""
        return sum(1 for record in self.records[self.header_index + 1 :] if _has_content(record))

    def rows(self, phone_region: str = DEFAULT_PHONE_REGION) -> Iterator[ImportRow]:
        """One `ImportRow` per non-blank data row, in file order (parsed as it is asked for)."""
        header_width = len(self.records[self.header_index])
        first_row_of_name: dict[str, dict[str | None, int]] = {}
        first_row_of_phone: dict[str, int] = {}
        for index in range(self.header_index + 1, len(self.records)):
            record = self.records[index]
            if not _has_content(record):
                continue
            row, name_key = _parse_row(index + 1, record, self.columns, header_width, phone_region)
            _mark_duplicates(row, name_key, first_row_of_name, first_row_of_phone)
            yield row


def open_import(data: bytes) -> ImportSheet:
    """Decode and read the uploaded CSV and map its header, without parsing the rows.

    Raises `MalformedImport` when the file is refused whole (see the module docstring).
    """
    records = _read_records(decode_import(data))
    header_index = next((i for i, record in enumerate(records) if _has_content(record)), None)
    if header_index is None:
        raise MalformedImport("文件为空")
    return ImportSheet(records, header_index, _map_header(records[header_index]))


def parse_import(data: bytes, phone_region: str = DEFAULT_PHONE_REGION) -> list[ImportRow]:
    """Parse an uploaded CSV into one `ImportRow` per non-blank data row, errors included.

    Raises `MalformedImport` when the file is refused whole (see the module docstring).
    """
    return list(open_import(data).rows(phone_region))


def _has_content(record: list[str]) -> bool:
    return any(cell.strip() for cell in record)


def _read_records(text: str) -> list[list[str]]:
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if first_line.count("\t") > first_line.count(",") else ","
    try:
        return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))
    except csv.Error as error:
        raise MalformedImport(f"CSV 格式错误：{error}") from error


def _map_header(header: list[str]) -> dict[int, str]:
    columns: dict[int, str] = {}
    seen: dict[str, str] = {}
    for position, title in enumerate(header):
        field_name = _FIELD_OF_HEADER.get(_fold_header(title))
        if field_name is None:
            continue  # a column the customer record has no place for
        if field_name in seen and field_name not in MULTI_COLUMN_FIELDS:
            raise MalformedImport(f"表头中“{seen[field_name]}”和“{title.strip()}”表示同一字段 {field_name}")
        seen.setdefault(field_name, title.strip())
        columns[position] = field_name
    missing = [name for name in REQUIRED_FIELDS if name not in seen]
    if missing:
        expected = "、".join(alias for name in missing for alias in FIELD_ALIASES[name][:3])
        raise MalformedImport(f"表头缺少客户名称列（可用列名：{expected}、name）")
    return columns


def _parse_row(
    line_number: int,
    record: list[str],
    columns: dict[int, str],
    header_width: int,
    phone_region: str,
) -> tuple[ImportRow, CompanyName | None]:
    cells: dict[str, list[str]] = {}
    for position, field_name in columns.items():
        value = record[position].strip() if position < len(record) else ""
        if value:
            cells.setdefault(field_name, []).append(value)

    def cell(field_name: str) -> str | None:
        values = cells.get(field_name)
        return values[0] if values else None

    errors: list[str] = []
    if any(value.strip() for value in record[header_width:]):
        errors.append("本行的列比表头多")

    name = cell("name")
    if name is None:
        errors.append("缺少客户名称")

    phones: list[str] = []
    for phones_cell in cells.get("phones", []):
        for raw_phone in _PHONE_SEPARATORS.split(phones_cell):
            phone = _phone_or_error(raw_phone, phone_region, errors)
            if phone is not None and phone not in phones:
                phones.append(phone)

    birthday = None
    if (raw_birthday := cell("birthday")) is not None:
        try:
            birthday = str(parse_birthday(raw_birthday))
        except InvalidBirthday as error:
            errors.append(str(error))

    next_visit_at = None
    if (raw_visit := cell("next_visit_at")) is not None:
        next_visit_at = _parse_visit(raw_visit, errors)

    contacts = _contacts(cell, phone_region, errors)
    next_visit_contact = contacts[0]["name"] if contacts and next_visit_at else None
    fields: dict[str, Any] = {
        "name": name,
        "phones": phones,
        "address": cell("address"),
        "industry": cell("industry"),
        "birthday": birthday,
        "next_visit_at": next_visit_at,
        "next_visit_contact": next_visit_contact,
        "contacts": contacts,
    }
    field_errors = _entry_schema_errors(fields)
    errors.extend(_described(field_errors))
    name_key: CompanyName | None = None
    if name is not None and "name" not in field_errors:
        try:
            name_key = analyse_company_name(name)
        except InvalidCompanyName as error:
            errors.append(str(error))
            fields["name"] = None
    return ImportRow(line_number, fields, errors, field_errors), name_key


def _entry_schema_errors(fields: dict[str, Any]) -> dict[str, Any]:
    """What `NewCustomerSchema` (the entry schema of POST /customers) says about the row's
    values, by field; a missing name is already reported in the parser's words."""
    payload = {key: value for key, value in fields.items() if value is not None}
    try:
        _ENTRY_SCHEMA.load(payload, partial=("name",) if "name" not in payload else ())
    except ValidationError as error:
        return _json_keys(error.messages)  # type: ignore[arg-type]
    return {}


def _json_keys(messages: dict[Any, Any]) -> dict[str, Any]:
    # marshmallow keys a list's errors by int index; the report crosses RPC as JSON
    return {
        str(key): _json_keys(value) if isinstance(value, dict) else value for key, value in messages.items()
    }


def _described(field_errors: dict[str, Any], path: tuple[str, ...] = ()) -> list[str]:
    """``公司名称（name）：Length must be between 1 and 200.`` for each message, nested ones too."""
    described = []
    for key, value in field_errors.items():
        where = (*path, key)
        if isinstance(value, dict):
            described.extend(_described(value, where))
            continue
        if where[0] == "contacts" and len(where) == 3:
            label = CONTACT_LABELS.get(where[2], "联系人")
        else:
            label = FIELD_LABELS.get(where[0], where[0])
        described.extend(f"{label}（{'.'.join(where)}）：{message}" for message in value)
    return described


def _phone_or_error(raw: str, region: str, errors: list[str]) -> str | None:
    raw = unicodedata.normalize("NFKC", raw).strip()
    if not raw:
        return None
    if _SCIENTIFIC_NOTATION.fullmatch(raw):
        errors.append(f"电话号码被表格软件写成了科学计数法：{quoted(raw)}，请把该列设为文本后重新导出")
        return None
    if spreadsheet_float := _SPREADSHEET_FLOAT.fullmatch(raw):
        raw = spreadsheet_float.group(1)  # 13800138000.0: a number column exported as float
    try:
        return normalize_phone(raw, region)
    except InvalidPhone as error:
        errors.append(str(error))
        return None


def _parse_visit(raw: str, errors: list[str]) -> str | None:
    match = (
        None if len(raw) > MAX_VISIT_LENGTH else _VISIT.fullmatch(unicodedata.normalize("NFKC", raw).strip())
    )
    if match is not None:
        year, month, day, hour, minute, second = match.groups()
        try:
            visit_time = (
                time(int(hour), int(minute), int(second or 0)) if hour is not None else DEFAULT_VISIT_TIME
            )
            moment = datetime.combine(date(int(year), int(month), int(day)), visit_time)
        except ValueError:
            pass
        else:
            return moment.isoformat()
    errors.append(f"下次拜访时间无效：{quoted(raw)}（格式 YYYY-MM-DD 或 YYYY-MM-DD HH:MM）")
    return None


def _contacts(
    cell: Callable[[str], str | None], phone_region: str, errors: list[str]
) -> list[dict[str, Any]]:
    contact_name = cell("contact_name")
    title = cell("contact_title")
    raw_phone = cell("contact_phone")
    raw_level = cell("decision_level")

    phone = None
    if raw_phone is not None:
        phone = _phone_or_error(raw_phone, phone_region, errors)

    decision_level = None
    if raw_level is not None:
        level_match = _DECISION_LEVEL.fullmatch(unicodedata.normalize("NFKC", raw_level))
        try:
            if level_match is None:
                raise InvalidDecisionLevel(f"决策级别必须是 1–5 的整数：{quoted(raw_level)}")
            decision_level = validate_decision_level(int(level_match.group(1)))
        except InvalidDecisionLevel as error:
            errors.append(str(error))

    if contact_name is None:
        if any(value is not None for value in (title, raw_phone, raw_level)):
            errors.append("有联系人信息但缺少联系人姓名")
        return []
    return [
        {
            "name": contact_name,
            "title": title,
            "phone": phone,
            "decision_level": decision_level,
        }
    ]


def _mark_duplicates(
    row: ImportRow,
    name_key: CompanyName | None,
    first_row_of_name: dict[str, dict[str | None, int]],
    first_row_of_phone: dict[str, int],
) -> None:
    """Mark a row that repeats an earlier one: the same name (by the rule of the entry: the
    same key, unless both rows carry a region and the regions differ) or a shared phone."""
    valid_before = not row.errors
    if name_key is not None:
        regions = first_row_of_name.setdefault(name_key.key, {})
        earlier = [line for region, line in regions.items() if not regions_differ(region, name_key.region)]
        if earlier:
            row.errors.append(f"与第 {min(earlier)} 行是同一客户（名称相同）")
            row.duplicate_of_line = min(earlier)
        else:
            regions[name_key.region] = row.line_number
    row_phones = list(row.fields["phones"])
    row_phones += [contact["phone"] for contact in row.fields["contacts"] if contact["phone"]]
    for phone in row_phones:
        if phone in first_row_of_phone and first_row_of_phone[phone] != row.line_number:
            row.errors.append(f"与第 {first_row_of_phone[phone]} 行是同一客户（电话 {phone}）")
            if row.duplicate_of_line is None:
                row.duplicate_of_line = first_row_of_phone[phone]
            break
    for phone in row_phones:
        first_row_of_phone.setdefault(phone, row.line_number)
    row.valid_but_repeated = valid_before and row.duplicate_of_line is not None
