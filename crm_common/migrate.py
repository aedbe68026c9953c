"""``python -m crm_common.migrate [service ...]``: migrate the named services (default: all)."""

from __future__ import annotations

import logging
import sys

from crm_common.config import SERVICE_NAMES
from crm_common.migrations import upgrade


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    services = argv or list(SERVICE_NAMES)
    unknown = sorted(set(services) - set(SERVICE_NAMES))
    if unknown:
        print(f"unknown service(s): {', '.join(unknown)}; known: {', '.join(SERVICE_NAMES)}")
        return 2
    for service in services:
        upgrade(service)
        print(f"migrated {service}")
    return 0


def main_cli() -> int:
    return main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
