"""The gateway serves the built console at / beside /api/v1 (a real container over a real broker)."""

import gzip

import pytest
import requests

from gateway.service import GatewayService

INDEX = '<!doctype html><html><head><script src="/assets/index-3f2a9c.js"></script></head></html>'
SCRIPT = "console.log('销售工作台');\n" * 200


@pytest.fixture(autouse=True)
def token_secret(monkeypatch):
    monkeypatch.setenv("CRM_JWT_SECRET", "console-test-secret")


@pytest.fixture
def built(tmp_path):
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text(INDEX, encoding="utf-8")
    (tmp_path / "assets" / "index-3f2a9c.js").write_text(SCRIPT, encoding="utf-8")
    return tmp_path


def start(container_factory, rabbit_config, web_config, console_dir):
    config = {**rabbit_config, **web_config, "CONSOLE_DIR": str(console_dir)}
    container_factory(GatewayService, config).start()
    return "http://127.0.0.1:" + web_config["WEB_SERVER_ADDRESS"].split(":")[1]


@pytest.fixture
def site(container_factory, rabbit_config, web_config, built):
    return start(container_factory, rabbit_config, web_config, built)


def test_the_root_is_the_console_and_is_never_cached(site):
    reply = requests.get(site + "/", timeout=10)
    assert reply.status_code == 200
    assert reply.text == INDEX
    assert reply.headers["Content-Type"].startswith("text/html")
    assert reply.headers["Cache-Control"] == "no-cache"


@pytest.mark.parametrize("path", ["/login", "/customers", "/customers/12", "/admin/users", "/alarms/3"])
def test_client_routes_fall_back_to_the_console(site, path):
    reply = requests.get(site + path, timeout=10)
    assert reply.status_code == 200
    assert reply.text == INDEX
    assert reply.headers["Cache-Control"] == "no-cache"


def test_hashed_assets_are_cached_for_a_year_and_sent_gzipped(site):
    reply = requests.get(site + "/assets/index-3f2a9c.js", timeout=10)
    assert reply.status_code == 200
    assert reply.text == SCRIPT  # requests undoes the gzip
    assert reply.headers["Content-Encoding"] == "gzip"
    assert "javascript" in reply.headers["Content-Type"]
    assert reply.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    raw = requests.get(site + "/assets/index-3f2a9c.js", headers={"Accept-Encoding": "identity"}, timeout=10)
    assert "Content-Encoding" not in raw.headers
    assert raw.content == SCRIPT.encode()
    again = requests.get(
        site + "/assets/index-3f2a9c.js", headers={"If-None-Match": reply.headers["ETag"]}, timeout=10
    )
    assert again.status_code == 304


def test_a_missing_asset_is_404_not_the_console(site):
    reply = requests.get(site + "/assets/gone-000000.js", timeout=10)
    assert reply.status_code == 404
    assert reply.text != INDEX


def test_a_path_outside_the_build_is_never_served(site):
    reply = requests.get(site + "/assets/..%2F..%2Fetc%2Fpasswd", timeout=10)
    assert reply.status_code == 404


def test_api_paths_never_get_the_console(site):
    reply = requests.get(site + "/api/v1/no-such-route", timeout=10)
    assert reply.status_code == 404
    assert reply.json()["error"]["code"] == "not_found"
    spec = requests.get(site + "/api/v1/openapi.json", timeout=10)
    assert spec.status_code == 200 and "paths" in spec.json()


def test_unknown_top_level_paths_are_json_404s(site):
    reply = requests.get(site + "/wp-admin/setup.php", timeout=10)
    assert reply.status_code == 404
    assert reply.json()["error"]["code"] == "not_found"


def test_without_a_build_the_console_says_how_to_build_it(
    container_factory, rabbit_config, web_config, tmp_path
):
    site = start(container_factory, rabbit_config, web_config, tmp_path / "never-built")
    reply = requests.get(site + "/customers", timeout=10)
    assert reply.status_code == 503
    assert "npm ci" in reply.text and "make console" in reply.text
    assert requests.get(site + "/api/v1/openapi.json", timeout=10).status_code == 200


def test_gzip_is_smaller_than_the_file(site):
    reply = requests.get(site + "/assets/index-3f2a9c.js", stream=True, timeout=10)
    compressed = reply.raw.read()
    assert len(compressed) < len(SCRIPT.encode()) / 5
    assert gzip.decompress(compressed) == SCRIPT.encode()
