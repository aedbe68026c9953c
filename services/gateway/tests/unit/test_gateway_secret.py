"""The token secret: never a constant in the code; `make run` makes a random one, kept owner-only."""

import stat
from datetime import timedelta

import pytest

from gateway.auth import InvalidToken, MissingSecret, Tokens, configured_secret
from gateway.secret import ensure_secret_file

# What the gateway signed with before, when CRM_JWT_SECRET was unset: it must open nothing now.
OLD_CONSTANT = "dev-only-secret-set-CRM_JWT_SECRET-in-production"


def test_the_secret_file_is_created_random_and_readable_by_the_owner_only(tmp_path):
    path = ensure_secret_file(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    secret = path.read_text().strip()
    assert len(secret) >= 43 and secret != OLD_CONSTANT
    other = ensure_secret_file(tmp_path / "elsewhere")
    assert other.read_text() != path.read_text()


def test_a_later_start_reuses_the_secret(tmp_path):
    first = ensure_secret_file(tmp_path).read_text()
    assert ensure_secret_file(tmp_path).read_text() == first


def test_a_secret_file_others_can_read_is_refused(tmp_path):
    path = ensure_secret_file(tmp_path)
    path.chmod(0o644)
    with pytest.raises(MissingSecret, match="0600"):
        configured_secret({"CRM_JWT_SECRET_FILE": str(path)})


def test_the_gateway_has_no_secret_without_the_environment():
    with pytest.raises(MissingSecret, match="CRM_JWT_SECRET"):
        configured_secret({})


def test_the_environment_secret_wins_then_the_file(tmp_path):
    path = ensure_secret_file(tmp_path)
    assert configured_secret({"CRM_JWT_SECRET": "from-env", "CRM_JWT_SECRET_FILE": str(path)}) == "from-env"
    assert configured_secret({"CRM_JWT_SECRET_FILE": str(path)}) == path.read_text().strip()


def test_a_token_signed_with_the_old_constant_is_refused(tmp_path):
    secret = ensure_secret_file(tmp_path).read_text().strip()
    forged = Tokens(OLD_CONSTANT, timedelta(hours=1)).issue({"id": 1, "username": "admin", "role": "admin"})
    with pytest.raises(InvalidToken):
        Tokens(secret, timedelta(hours=1)).verify("Bearer " + forged["access_token"])
