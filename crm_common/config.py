"""Service configuration: one ``config.yml`` per service with ``${VAR:default}`` placeholders.

The file is read with nameko's own YAML rules, so ``nameko run --config`` and our tools
(migrations, CLI, tests) see the same values.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml
from nameko.cli.main import setup_yaml_parser

from crm_common.registry import REPO_ROOT, SERVICES_DIR

_parser_ready = False


def load_config(path: str | Path) -> dict[str, Any]:
    """Read a service's config.yml, substituting ``${VAR:default}`` from the environment."""
    global _parser_ready
    if not _parser_ready:
        setup_yaml_parser()
        _parser_ready = True
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


def service_config_path(service: str) -> Path:
    """``services/<service>/config.yml`` (the registry's ``Service.config_path``)."""
    return SERVICES_DIR / service / "config.yml"


def var_dir() -> Path:
    """Where the embedded defaults keep their files (SQLite databases, logs)."""
    path = Path(os.environ.get("CRM_VAR_DIR", REPO_ROOT / "var"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_url(service: str, config: dict[str, Any] | None = None) -> str:
    """The database URL of one service.

    In order: the service's own ``DB_URL`` from its config (``<SERVICE>_DB_URL``); else
    ``CRM_DB_URL`` naming a PostgreSQL server, where the service gets its own database
    ``crm_<service>``; else a SQLite file under ``var/``.
    """
    own = (config or {}).get("DB_URL") or os.environ.get(f"{service.upper()}_DB_URL")
    if own:
        return str(own)
    server = os.environ.get("CRM_DB_URL")
    if server:
        return with_database(server, f"crm_{service}")
    return f"sqlite:///{var_dir() / (service + '.db')}"


def with_database(url: str, database: str) -> str:
    """The same server URL pointing at another database."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, ""))


# A database that does not answer must cost a request seconds, not minutes: connecting, one
# statement, and noticing a dead connection are each bounded (see crm_common.db.make_engine).
DEFAULT_DB_CONNECT_TIMEOUT_SECONDS = 5.0
DEFAULT_DB_STATEMENT_TIMEOUT_SECONDS = 30.0


def database_timeouts(config: dict[str, Any] | None = None) -> tuple[float, float]:
    """(connect timeout, statement timeout) in seconds for a service's database.

    From the service config (``DB_CONNECT_TIMEOUT_SECONDS``, ``DB_STATEMENT_TIMEOUT_SECONDS``),
    else the environment (``CRM_DB_CONNECT_TIMEOUT_SECONDS``, ``CRM_DB_STATEMENT_TIMEOUT_SECONDS``),
    else 5 and 30 seconds.
    """
    config = config or {}

    def seconds(key: str, default: float) -> float:
        value = config.get(key) or os.environ.get("CRM_" + key)
        if value is None or value == "":
            return default
        return float(value)

    return (
        seconds("DB_CONNECT_TIMEOUT_SECONDS", DEFAULT_DB_CONNECT_TIMEOUT_SECONDS),
        seconds("DB_STATEMENT_TIMEOUT_SECONDS", DEFAULT_DB_STATEMENT_TIMEOUT_SECONDS),
    )
