"""What accounts runs beside its entrypoints: the first admin, made when the service starts."""

from __future__ import annotations

import os

from nameko.extensions import DependencyProvider

from accounts import passwords, usecases
from accounts.store import Store
from crm_common.clock import utcnow
from crm_common.db import Database, UnitOfWork


class FirstAdmin(DependencyProvider):
    """On start with no users, creates ``admin`` with the password in CRM_ADMIN_PASSWORD."""

    def start(self) -> None:
        passwords.stand_in_hash()  # made now, so that the first unknown user costs no more than the next
        database = next(d for d in self.container.extensions if isinstance(d, Database))
        password = os.environ.get("CRM_ADMIN_PASSWORD") or "admin"
        uow = UnitOfWork(database.sessions, self.container.service_name)
        try:
            created = usecases.create_first_admin(Store(uow), password, utcnow())
            if created:
                uow.commit()
        finally:
            uow.close()
        if not created:
            return
        shown = password if "CRM_ADMIN_PASSWORD" not in os.environ else "(from CRM_ADMIN_PASSWORD)"
        print(f"accounts: created the first user: admin / {shown} — change it for production", flush=True)
