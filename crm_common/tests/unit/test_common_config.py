from crm_common.config import database_url, load_config, with_database


def test_config_placeholders_take_the_environment_or_the_default(tmp_path, monkeypatch):
    path = tmp_path / "config.yml"
    path.write_text("AMQP_URI: ${TEST_AMQP:amqp://default/}\nDB_URL: ${TEST_DB:}\nWORKERS: ${TEST_W:10}\n")
    monkeypatch.delenv("TEST_AMQP", raising=False)
    monkeypatch.setenv("TEST_W", "3")
    config = load_config(path)
    assert config == {"AMQP_URI": "amqp://default/", "DB_URL": None, "WORKERS": 3}


def test_each_service_gets_its_own_database_on_one_postgresql_server(monkeypatch):
    monkeypatch.delenv("CUSTOMERS_DB_URL", raising=False)
    monkeypatch.setenv("CRM_DB_URL", "postgresql://crm:pw@db:5432/postgres")
    assert database_url("customers") == "postgresql://crm:pw@db:5432/crm_customers"
    assert database_url("notify") == "postgresql://crm:pw@db:5432/crm_notify"


def test_a_service_url_overrides_the_server(monkeypatch):
    monkeypatch.setenv("CRM_DB_URL", "postgresql://db/postgres")
    assert database_url("pipeline", {"DB_URL": "sqlite:///x.db"}) == "sqlite:///x.db"


def test_sqlite_under_var_is_the_default(monkeypatch, tmp_path):
    monkeypatch.delenv("CRM_DB_URL", raising=False)
    monkeypatch.delenv("ACCOUNTS_DB_URL", raising=False)
    monkeypatch.setenv("CRM_VAR_DIR", str(tmp_path))
    assert database_url("accounts") == f"sqlite:///{tmp_path / 'accounts.db'}"


def test_with_database_keeps_the_server_and_options():
    assert (
        with_database("postgresql://u@h:5/x?sslmode=require", "y") == "postgresql://u@h:5/y?sslmode=require"
    )
