"""A sales team's customers through HTTP, against every service running as `make run` starts it:
one owner per customer, append-only records, amendments, imports and near-duplicates."""

import time

import pytest
import requests

from tests.support.system import api, eventually

pytestmark = pytest.mark.flow

SHEET = (
    "公司名称,电话,地址,行业,联系人,职位,决策级别\r\n"
    "宏图包装材料有限公司,13600136000,杭州,包装,周总,总经理,5\r\n"
    "远航物流有限公司,0571-8888 6666,杭州,物流,,,\r\n"
    "宏图包装材料有限公司,,,,,,\r\n"
    "华为技术有限公司,,,,,,\r\n"
    "坏电话商行,12345,,,,,\r\n"
)


@pytest.fixture(scope="module")
def team(system):
    """An admin, the manager 王芳 and two salespeople of 华东, logged in."""
    admin = system.client("admin", system.admin_password)
    people = [
        {"username": "wangfang", "display_name": "王芳", "role": "manager", "password": "manager-pw-1"},
        {"username": "lina", "display_name": "李娜", "manager": "wangfang", "password": "sales-pw-12"},
        {"username": "zhangwei", "display_name": "张伟", "manager": "wangfang", "password": "sales-pw-34"},
    ]
    for person in people:
        reply = api(system, admin, "POST", "/users", json={"team": "华东", **person})
        assert reply.status_code == 201, reply.text
    return {person["username"]: system.client(person["username"], person["password"]) for person in people}


@pytest.fixture(scope="module")
def huawei(system, team):
    reply = api(
        system,
        team["lina"],
        "POST",
        "/customers",
        json={
            "name": "深圳市华为技术有限公司",
            "phone": "0755-2878 0808",
            "address": "深圳市龙岗区坂田",
            "industry": "通信",
            "birthday": "09-15",
            "contacts": [{"name": "王总", "title": "总经理", "phone": "13900139000", "decision_level": 5}],
        },
    )
    assert reply.status_code == 201, reply.text
    return reply.json()


def test_the_second_salesperson_is_told_who_owns_the_customer(system, team, huawei):
    zhang = team["zhangwei"]
    hint = api(system, zhang, "POST", "/customers/check", json={"name": "华为技术"})
    assert hint.status_code == 200 and hint.json()["duplicate"] is True
    assert hint.json()["matches"][0]["owner"] == "李娜"

    refused = api(system, zhang, "POST", "/customers", json={"name": "华为技术（深圳）有限公司"})
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert error["code"] == "duplicate_customer"
    assert error["details"]["customer_id"] == huawei["id"] and error["details"]["owner"] == "李娜"
    assert error["details"]["matched_on"] == ["name"]
    assert "13900139000" not in refused.text and "王总" not in refused.text

    by_phone = api(
        system, zhang, "POST", "/customers", json={"name": "别的公司", "phone": "+86 755 28780808"}
    )
    assert by_phone.status_code == 409 and by_phone.json()["error"]["details"]["matched_on"] == ["phone"]
    not_his = api(system, zhang, "GET", f"/customers/{huawei['id']}")
    assert not_his.status_code == 403


def test_records_are_append_only_and_an_approved_amendment_is_a_new_revision(system, team, huawei):
    lina, manager = team["lina"], team["wangfang"]
    path = f"/customers/{huawei['id']}"
    for method in ("PATCH", "PUT", "DELETE"):
        reply = api(system, lina, method, path, json={"address": "改掉"})
        assert reply.status_code == 403, (method, reply.text)
        assert reply.json()["error"]["code"] == "immutable_record"

    requested = api(
        system,
        lina,
        "POST",
        path + "/amendments",
        json={"changes": {"address": "深圳市南山区科技园"}, "reason": "客户搬迁"},
    )
    assert requested.status_code == 201, requested.text
    amendment = requested.json()
    assert amendment["status"] == "pending"
    assert api(system, lina, "POST", f"{path}/amendments/{amendment['id']}/approve").status_code == 403

    approved = api(system, manager, "POST", f"{path}/amendments/{amendment['id']}/approve")
    assert approved.status_code == 200, approved.text
    assert approved.json()["revision"] == 2

    customer = api(system, lina, "GET", path).json()
    assert customer["address"] == "深圳市南山区科技园" and customer["revision"] == 2
    history = api(system, lina, "GET", path + "/history").json()
    assert [r["snapshot"]["address"] for r in history["revisions"]] == [
        "深圳市龙岗区坂田",
        "深圳市南山区科技园",
    ]
    second = history["revisions"][1]
    assert second["reason"] == "客户搬迁" and second["changed_by_name"] == "李娜"
    assert second["approved_by_name"] == "王芳"


def finished_import(system, session, reply):
    """Follow an accepted import (202) through ``GET /customers/import/jobs/{id}`` to its end."""
    assert reply.status_code == 202, reply.text
    job = reply.json()
    assert job["state"] == "queued" and job["rows_done"] == 0
    path = f"/customers/import/jobs/{job['id']}"
    job = eventually(lambda: (j := api(system, session, "GET", path).json())["state"] == "finished" and j)
    assert job, api(system, session, "GET", path).text
    return job


def test_a_spreadsheet_is_imported_in_the_background_with_a_report_per_row(system, team, huawei):
    reply = api(
        system,
        team["lina"],
        "POST",
        "/customers/import",
        data=SHEET.encode("gbk"),
        headers={"Content-Type": "text/csv; charset=gbk"},
    )
    report = finished_import(system, team["lina"], reply)
    assert (report["total_rows"], report["rows_done"], report["created"]) == (5, 5, 2)
    assert [(row["line"], row["status"]) for row in report["rows"]] == [
        (2, "created"),
        (3, "created"),
        (4, "duplicate"),
        (5, "duplicate"),
        (6, "invalid"),
    ]
    assert report["rows"][3]["duplicate_of"]["customer_id"] == huawei["id"]
    me = api(system, team["lina"], "GET", "/me").json()
    listed = api(
        system, team["lina"], "GET", "/customers", params={"q": "宏图", "owner_id": str(me["id"])}
    ).json()
    assert [item["name"] for item in listed["items"]] == ["宏图包装材料有限公司"]
    invalid = api(
        system, team["lina"], "GET", f"/customers/import/jobs/{report['id']}", params={"status": "invalid"}
    ).json()
    assert [row["line"] for row in invalid["rows"]] == [6] and invalid["rows_matching"] == 1
    jobs = api(system, team["wangfang"], "GET", "/customers/import/jobs").json()
    assert report["id"] in [job["id"] for job in jobs["items"]]  # the manager follows the team's imports
    other = api(system, team["zhangwei"], "GET", f"/customers/import/jobs/{report['id']}")
    assert other.status_code == 404 and other.json()["error"]["code"] == "import_job_not_found"

    as_upload = api(
        system,
        team["zhangwei"],
        "POST",
        "/customers/import",
        params={"dry_run": "true"},
        files={"file": ("客户.csv", "公司名称,电话\r\n天成机械厂,13700137000\r\n".encode("gbk"), "text/csv")},
    )
    dry = finished_import(system, team["zhangwei"], as_upload)
    assert dry["created"] == 1 and dry["dry_run"] is True and dry["filename"] == "客户.csv"
    malformed = api(system, team["lina"], "POST", "/customers/import", data=b"\x00\x01binary")
    assert malformed.status_code == 400 and malformed.json()["error"]["code"] == "malformed_import"
    too_long = api(
        system, team["lina"], "POST", "/customers/import", data=("名称\n" + "甲" * 5000 + "\n").encode()
    )
    refused = finished_import(system, team["lina"], too_long)["rows"][0]
    assert refused["status"] == "invalid" and refused["field_errors"] == {
        "name": ["Length must be between 1 and 200."]
    }


def test_the_manager_sees_a_near_duplicate_after_the_scan(system, team, huawei):
    branch = api(
        system, team["zhangwei"], "POST", "/customers", json={"name": "深圳市华为技术有限公司北京分公司"}
    )
    assert branch.status_code == 201, branch.text
    deadline = time.monotonic() + 15
    pairs: list = []
    while time.monotonic() < deadline and not pairs:
        pairs = api(system, team["wangfang"], "GET", "/duplicates").json()
        time.sleep(0.3)
    assert [(p["customer"]["id"], p["duplicate_of"]["id"]) for p in pairs] == [
        (branch.json()["id"], huawei["id"])
    ]
    assert api(system, team["zhangwei"], "GET", "/duplicates").status_code == 403


def test_giving_up_a_customer_without_an_answered_alarm_is_refused(system, team, huawei):
    reply = api(system, team["lina"], "POST", f"/customers/{huawei['id']}/abandon", json={"reason": "太难跟"})
    assert reply.status_code == 409 and reply.json()["error"]["code"] == "alarm_required"
    assert api(system, team["lina"], "GET", "/pool").json() == []


def test_openapi_lists_the_customer_routes(system):
    paths = requests.get(system.base_url + "/openapi.json", timeout=10).json()["paths"]
    for path in (
        "/api/v1/customers",
        "/api/v1/customers/check",
        "/api/v1/customers/{customer_id}/history",
        "/api/v1/pool",
        "/api/v1/duplicates",
        "/api/v1/customers/import",
        "/api/v1/customers/import/jobs",
        "/api/v1/customers/import/jobs/{job_id}",
    ):
        assert path in paths
