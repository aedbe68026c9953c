"""``python -m crm_common.migrate [service ...]``: migrate the named services (default: every
service the registry lists with a database)."""

from __future__ import annotations

import logging
import sys

from crm_common.migrations import upgrade
from crm_common.registry import DATABASE_NAMES


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    services = argv or list(DATABASE_NAMES)
    unknown = sorted(set(services) - set(DATABASE_NAMES))
    if unknown:
        print(f"unknown service(s): {', '.join(unknown)}; known: {', '.join(DATABASE_NAMES)}")
        return 2
    for service in services:
        upgrade(service)
        print(f"migrated {service}")
    return 0


def main_cli() -> int:
    return main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
