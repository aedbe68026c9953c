"""Idempotency-Key over HTTP, through the real gateway, accounts and knowledge: a client that
retries a write with the same key creates nothing twice and gets the first answer again."""

import uuid
from datetime import timedelta

import pytest
import requests
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import create_engine, text

from accounts.service import AccountsService
from gateway.auth import Tokens
from gateway.service import GatewayService
from knowledge.service import KnowledgeService
from tests.support.callers import as_caller
from tests.support.databases import service_databases

SECRET = "idempotency-http-test-secret"
ENTRY = {"kind": "solution", "title": "报价前先问预算", "solution": "问清预算再给两档报价"}


@pytest.fixture
def system(container_factory, rabbit_config, web_config, db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_JWT_SECRET", SECRET)
    monkeypatch.setenv("CRM_ADMIN_PASSWORD", "idem-admin-pw")
    with service_databases(db_url, ("accounts", "knowledge"), tmp_path) as urls:
        for name, cls in (("accounts", AccountsService), ("knowledge", KnowledgeService)):
            container_factory(cls, {**rabbit_config, "DB_URL": urls[name]}).start()
        container_factory(GatewayService, {**rabbit_config, **web_config}).start()
        yield urls


@pytest.fixture
def people(system, rabbit_config):
    with ServiceRpcProxy("accounts", rabbit_config, context_data=as_caller(1, "admin")) as accounts:
        return [
            accounts.create_user(
                {
                    "username": name,
                    "password": "pw-12345678",
                    "display_name": name,
                    "role": "sales",
                    "team": "east",
                }
            )
            for name in ("lina", "zhang")
        ]


@pytest.fixture
def post(web_config, people):
    base = f"http://127.0.0.1:{web_config['WEB_SERVER_ADDRESS'].split(':')[1]}/api/v1"
    tokens = Tokens(SECRET, timedelta(hours=1))

    def call(person, path, body, key=None):
        headers = {"Authorization": "Bearer " + tokens.issue(person)["access_token"]}
        if key is not None:
            headers["Idempotency-Key"] = key
        return requests.post(base + path, json=body, headers=headers, timeout=15)

    return call


def entries(system):
    engine = create_engine(system["knowledge"])
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM entries")).scalar()
    finally:
        engine.dispose()


def test_a_retry_with_the_same_key_creates_nothing_and_gets_the_same_201(system, people, post):
    lina = people[0]
    key = str(uuid.uuid4())
    first = post(lina, "/knowledge", ENTRY, key)
    again = post(lina, "/knowledge", ENTRY, key)
    assert first.status_code == again.status_code == 201, first.text
    assert again.content == first.content
    assert entries(system) == 1


def test_without_a_key_each_post_is_a_new_write(system, people, post):
    for _ in range(2):
        assert post(people[0], "/knowledge", ENTRY).status_code == 201
    assert entries(system) == 2


def test_the_same_key_with_another_body_is_409(system, people, post):
    key = str(uuid.uuid4())
    assert post(people[0], "/knowledge", ENTRY, key).status_code == 201
    reused = post(people[0], "/knowledge", {**ENTRY, "title": "另一条"}, key)
    assert reused.status_code == 409
    assert reused.json()["error"]["code"] == "idempotency_key_reused"
    assert entries(system) == 1


def test_a_key_belongs_to_its_user(system, people, post):
    key = "order-2026-001"
    lina, zhang = people
    mine, theirs = post(lina, "/knowledge", ENTRY, key), post(zhang, "/knowledge", ENTRY, key)
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["id"] != theirs.json()["id"]
    assert entries(system) == 2


def test_a_malformed_key_is_400_before_anything_is_written(system, people, post):
    for key in ("", "two words", "\u00e9t\u00e9", "x" * 256):
        refused = post(people[0], "/knowledge", ENTRY, key)
        assert refused.status_code == 400, key
        assert refused.json()["error"]["code"] == "invalid_idempotency_key"
    assert entries(system) == 0
