"""The accounts service's fixed vocabulary (stdlib only: schemas, domain and use cases share it)."""

ROLES = ("sales", "manager", "admin")
DEFAULT_ESCALATE_AFTER_MINUTES = 10
FIRST_ADMIN_USERNAME = "admin"
MAX_ID = 2**31 - 1  # ids are 32-bit integers: a larger one names nobody
