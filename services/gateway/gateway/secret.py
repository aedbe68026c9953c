"""The token secret of a machine without CRM_JWT_SECRET: random, made once, kept under var/.

`make run` (scripts/run.sh) calls ``python -m gateway.secret``: it creates ``var/jwt_secret``
(mode 0600) on the first start, reuses it afterwards, and prints its path for
CRM_JWT_SECRET_FILE. Production sets CRM_JWT_SECRET instead (docker-compose.yml requires it).
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

from crm_common.config import var_dir

SECRET_FILE_NAME = "jwt_secret"


def ensure_secret_file(folder: Path) -> Path:
    """``folder/jwt_secret``: created with 32 random bytes, readable by the owner only, if absent."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / SECRET_FILE_NAME
    try:
        # O_EXCL: two starts at once cannot both write; the mode is set at creation, never wider.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secrets.token_urlsafe(32) + "\n")
    return path


if __name__ == "__main__":
    sys.stdout.write(f"{ensure_secret_file(var_dir())}\n")
