"""Importing a team's spreadsheet: a background job with progress, every row checked like an
entry, a per-row report, and a malformed file refused whole."""

import base64
import time

import eventlet
import pytest

from crm_common.errors import Forbidden
from customers import cli
from customers.exceptions import MalformedImport

SHEET = (
    "公司名称,电话,地址,行业,成立日,联系人,职位,联系人电话,决策级别,下次拜访\r\n"
    "深圳市华为技术有限公司,0755-28780808,深圳市龙岗区,通信,1987-09-15,王总,总经理,13900139000,5,2024-06-01\r\n"
    "华为技术有限公司,,深圳,通信,,,,,,\r\n"
    "鑫源贸易有限公司,12345,,,,李经理,采购经理,,3,\r\n"
    "天成机械厂,(021)12345678 转 8,,,,,,,,\r\n"
    ",13700137000,,,,,,,,\r\n"
    "宏图包装材料有限公司,13600136000,杭州,包装,05-03,周总,,,4,2024-06-02 14:30\r\n"
)


def encoded(text, encoding="gbk"):
    return base64.b64encode(text.encode(encoding)).decode("ascii")


def finished(service, job, timeout=30):
    """The job once it has ended, with every row of its report."""
    deadline = time.monotonic() + timeout
    while True:
        job = service.get_import_job(job["id"], {"per_page": 5000})
        if job["state"] in ("finished", "failed"):
            return job
        assert time.monotonic() < deadline, f"import job still {job['state']}: {job}"
        eventlet.sleep(0.1)


def imported(service, data, options=None):
    job = service.import_customers(data, options)
    assert job["state"] == "queued" and job["rows_done"] == 0
    return finished(service, job)


@pytest.fixture
def zhangs_customer(as_user, users):
    with as_user(users.zhang) as service:
        return service.create_customer({"name": "天成机械厂"})


def test_a_gbk_sheet_is_imported_with_a_report_of_created_duplicate_and_invalid_rows(
    as_user, users, zhangs_customer, events
):
    with as_user(users.lina) as service:
        report = imported(service, encoded(SHEET))
        mine = service.list_customers()
    assert (report["created"], report["duplicates"], report["invalid"]) == (2, 2, 2)
    assert report["state"] == "finished" and report["total_rows"] == report["rows_done"] == 6
    assert report["owner_id"] == users.lina["id"] and report["dry_run"] is False
    by_line = {row["line"]: row for row in report["rows"]}
    assert [by_line[line]["status"] for line in range(2, 8)] == [
        "created",
        "duplicate",
        "invalid",
        "duplicate",
        "invalid",
        "created",
    ]
    assert by_line[3]["errors"] == ["与第 2 行是同一客户（名称相同）"]
    assert "'12345'" in by_line[4]["errors"][0]
    assert by_line[5]["duplicate_of"]["customer_id"] == zhangs_customer["id"]
    assert by_line[5]["duplicate_of"]["owner"] == "张伟"
    assert by_line[6]["errors"] == ["缺少客户名称"]

    assert {item["name"] for item in mine["items"]} == {"深圳市华为技术有限公司", "宏图包装材料有限公司"}
    hongtu = next(item for item in mine["items"] if item["name"] == "宏图包装材料有限公司")
    assert hongtu["next_visit_at"] == "2024-06-02T06:30:00+00:00" and hongtu["next_visit_contact"] == "周总"
    assert hongtu["birthday"] == "05-03" and hongtu["contacts"][0]["decision_level"] == 4
    created = events.wait_for("customer_created", customer_id=by_line[7]["customer_id"])
    assert created["data"]["owner_name"] == "李娜"


def test_a_malformed_file_is_refused_whole_and_nothing_is_imported(as_user, users):
    broken = SHEET.replace("公司名称", "备注")  # no company-name column
    with as_user(users.lina) as service:
        with pytest.raises(MalformedImport):
            service.import_customers(encoded(broken))
        with pytest.raises(MalformedImport):
            service.import_customers("not base64!")
        assert service.list_customers()["total"] == 0


def test_a_dry_run_reports_without_creating(as_user, users):
    with as_user(users.lina) as service:
        report = imported(service, encoded(SHEET, "utf-8-sig"), {"dry_run": True})
        assert report["created"] == 3 and report["dry_run"] is True
        assert service.list_customers()["total"] == 0


def test_a_manager_imports_for_a_salesperson_of_the_team_only(as_user, users):
    with as_user(users.wang) as service:
        report = imported(service, encoded(SHEET), {"owner_id": users.lina["id"]})
    assert report["owner_id"] == users.lina["id"] and report["created"] == 3
    with as_user(users.zhao) as service, pytest.raises(Forbidden):
        service.import_customers(encoded(SHEET), {"owner_id": users.lina["id"]})
    with as_user(users.zhang) as service, pytest.raises(Forbidden):
        service.import_customers(encoded(SHEET), {"owner_id": users.lina["id"]})


def test_the_command_line_tool_imports_as_the_logged_in_user(
    as_user, users, service_config, tmp_path, capsys
):
    sheet = tmp_path / "客户.csv"
    sheet.write_bytes(SHEET.encode("gbk"))
    amqp = ["--amqp-uri", service_config["AMQP_URI"]]
    status = cli.main(["import", str(sheet), "--username", "wang", "--owner", "lina", *amqp], "secret-pw-1")
    output = capsys.readouterr()
    printed = output.out
    assert status == 0
    assert "import job #" in output.err and "] " in output.err
    assert "     6/6 rows  created 3, duplicates 1, invalid 2" in output.err
    assert "第    2 行  已创建" in printed and "created 3, duplicates 1, invalid 2 (owner #11)" in printed

    broken = tmp_path / "broken.csv"
    broken.write_bytes(b"\xff\xfe\x00\x00")
    assert cli.main(["import", str(broken), "--username", "wang", *amqp], "secret-pw-1") == 1
    assert "refused" in capsys.readouterr().err
    assert cli.main(["import", str(sheet), "--username", "wang", *amqp], "wrong-password") == 1


def test_a_batch_is_checked_set_wise_by_the_entrys_rules_regions_and_phones_included(as_user, users):
    with as_user(users.zhang) as service:
        beijing = service.create_customer({"name": "北京华为技术有限公司", "phones": ["13900139000"]})
    regions = (
        "公司名称,电话\r\n上海华为技术有限公司,\r\n北京华为技术有限公司,\r\n远大物流有限公司,13900139000\r\n"
    )
    with as_user(users.lina) as service:
        first = {row["line"]: row for row in imported(service, encoded(regions))["rows"]}
        # a name without region is blocked by the same name in any region (here two of them)
        bare = imported(service, encoded("公司名称\r\n华为技术有限公司\r\n"))["rows"]
    assert [first[line]["status"] for line in (2, 3, 4)] == ["created", "duplicate", "duplicate"]
    assert first[3]["duplicate_of"]["customer_id"] == beijing["id"]
    assert first[3]["duplicate_of"]["matched_on"] == ["name"]
    assert first[4]["duplicate_of"]["customer_id"] == beijing["id"]
    assert first[4]["duplicate_of"]["matched_on"] == ["phone"]
    assert first[4]["duplicate_of"]["owner"] == "张伟"
    assert [(row["status"], row["duplicate_of"]["matched_on"]) for row in bare] == [("duplicate", ["name"])]
    assert bare[0]["duplicate_of"]["customer_id"] in (beijing["id"], first[2]["customer_id"])
