"""What an import job decides about a batch before it asks the database."""

from zoneinfo import ZoneInfo

import pytest

from customers.import_runner import RunnerSettings
from customers.importing import parse_import
from customers.usecases_imports import REPORT_ERROR_LENGTH, REPORT_NAME_LENGTH, check_rows

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_a_batch_is_split_into_rows_the_file_decides_and_candidates_for_the_database():
    sheet = (
        "公司名称,电话,下次拜访\n"
        "深圳市华为技术有限公司,0755-28780808,2024-06-01 14:30\n"
        "华为技术有限公司,,\n"
        "坏电话商行," + "1" * 5000 + ",\n" + "甲" * 300 + ",,\n"
    )
    decided, candidates = check_rows(parse_import(sheet.encode()), "CN", SHANGHAI)
    assert [(line["line"], line["status"]) for line in decided] == [
        (3, "duplicate"),
        (4, "invalid"),
        (5, "invalid"),
    ]
    # an oversized cell is quoted by its start only: no report line outgrows the cap
    assert all(len(error) <= REPORT_ERROR_LENGTH + 1 for line in decided for error in line["errors"])
    assert decided[2]["name"] == "甲" * REPORT_NAME_LENGTH + "…"
    assert decided[2]["field_errors"] == {"name": ["Length must be between 1 and 200."]}
    [huawei] = candidates
    assert (huawei.name_key, huawei.phones) == ("华为技术", ["+8675528780808"])
    assert huawei.fields["next_visit_at"] == "2024-06-01T06:30:00+00:00"  # local time, stored in UTC
    assert huawei.line["status"] == "created" and huawei.line["customer_id"] is None


def test_a_runner_rests_after_each_batch_so_its_share_of_the_instance_stays_bounded():
    half = RunnerSettings.from_config({"IMPORT_SHARE": "0.5"})
    assert half.rest_after(0.2) == pytest.approx(0.2)  # busy 0.2 s, rests 0.2 s: half the time
    assert RunnerSettings.from_config({"IMPORT_SHARE": 0.8}).rest_after(0.4) == pytest.approx(0.1)
    assert RunnerSettings.from_config({"IMPORT_SHARE": 1}).rest_after(0.4) == 0.0  # an import-only instance
    assert RunnerSettings.from_config({}).share == 0.5
    for wrong in ("0", "-1", "1.5"):
        with pytest.raises(ValueError, match="IMPORT_SHARE"):
            RunnerSettings.from_config({"IMPORT_SHARE": wrong})
