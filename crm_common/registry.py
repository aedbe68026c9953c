"""The one list of the system's services: what each is called, where it lives, what it needs.

Everything that acts on "every service" reads it: migrations (``crm_common.migrate``), the
event queues (``crm_common.declare_queues``), the health check (``crm_common.healthcheck`` and the
gateway's ``/health``), the gateway's error types, the test system. Files that cannot read Python
(``supervisord.conf``, ``docker-compose.yml``, ``deploy/entrypoint.sh``, ``pyproject.toml``) are
checked against it by ``crm_common/tests/unit/test_common_registry.py``, so they cannot drift.

A service may run part of its work in processes of its own, which ops scale separately
(``Service.processes``: customers' fuzzy duplicate scan runs in ``customers-scanner``); such a
process uses its service's package, config and database, and is listed wherever processes are
(``PROCESSES``): supervisord, compose, the container entrypoint, the queue declarations.

Adding a service starts here (docs/DEVELOPING.md, "Add a service"). This module is a leaf: stdlib
only, so anything (tools, tests, the gateway) can import it without pulling a service in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SERVICES_DIR = REPO_ROOT / "services"


class Role(Enum):
    RPC = "rpc"  # a back-end service: RPC and events over RabbitMQ, its own database
    HTTP = "http"  # the gateway: the only HTTP surface (the API and the web console)


@dataclass(frozen=True)
class Process:
    """A process a service runs beside its main one: some of the service's entrypoints (its event
    handlers, say) in a nameko service class of their own, scaled on its own. ``name`` is at
    once its nameko service name (its own RPC and handler queues), its supervisord program, its
    compose container and its case in ``deploy/entrypoint.sh``; it runs with the service's
    config and database (the class's ``Database(..., service=<service>)``)."""

    name: str
    module: str  # the module of the service's package holding the class
    service_class: str
    # the process whose handlers it took over (an upgrade empties their old queues into its own)
    took_over_from: str | None = None


@dataclass(frozen=True)
class Service:
    """One nameko service. ``name`` is at once its nameko name, its Python package and its folder
    under ``services/``."""

    name: str
    service_class: str  # the nameko service class in ``<name>.service``
    role: Role = Role.RPC
    database: bool = True  # its own database, migrated by Alembic from services/<name>/migrations
    # console scripts it ships: (script name, "module:function")
    scripts: tuple[tuple[str, str], ...] = field(default=())
    # processes of its own beside the main one (see Process)
    processes: tuple[Process, ...] = field(default=())

    @property
    def package(self) -> str:
        return self.name

    @property
    def folder(self) -> Path:
        return SERVICES_DIR / self.name

    @property
    def package_dir(self) -> str:
        """The package's folder relative to the repository root (pyproject's package-dir)."""
        return f"services/{self.name}/{self.name}"

    @property
    def config_path(self) -> Path:
        return self.folder / "config.yml"

    @property
    def migrations_dir(self) -> Path | None:
        return self.folder / "migrations" if self.database else None

    @property
    def entrypoint(self) -> str:
        """What ``nameko run`` is given: ``<name>.service:<ServiceClass>``."""
        return f"{self.name}.service:{self.service_class}"

    @property
    def exceptions_module(self) -> str:
        """The module holding its typed errors (its contract with callers)."""
        return f"{self.name}.exceptions"


SERVICES: tuple[Service, ...] = (
    Service("accounts", "AccountsService"),
    Service(
        "customers",
        "CustomersService",
        scripts=(
            ("crm-import-customers", "customers.cli:main_cli"),
            ("crm-customers-rekey", "customers.rekey:main_cli"),
        ),
        # the fuzzy duplicate scan of new and corrected customers: creates never wait behind it
        processes=(
            Process(
                "customers-scanner", "service_scanner", "CustomersScannerService", took_over_from="customers"
            ),
        ),
    ),
    Service("pipeline", "PipelineService"),
    Service("notify", "NotifyService"),
    Service("knowledge", "KnowledgeService"),
    Service(
        "appraisal", "AppraisalService", scripts=(("crm-appraisal-replay", "appraisal.replay:main_cli"),)
    ),
    Service("gateway", "GatewayService", role=Role.HTTP, database=False),
)

# The shared package's own console scripts (one tool for every service).
PLATFORM_SCRIPTS: tuple[tuple[str, str], ...] = (
    ("crm-migrate", "crm_common.migrate:main_cli"),
    ("crm-dead-letters", "crm_common.dead_letters:main_cli"),
    ("crm-declare-queues", "crm_common.declare_queues:main_cli"),
)

BY_NAME: dict[str, Service] = {service.name: service for service in SERVICES}


@dataclass(frozen=True)
class Program:
    """One process to run: a service's main process or one of its `Process`es."""

    name: str  # supervisord program, compose container, nameko service name
    service: Service  # whose package, config and database it uses
    module: str
    service_class: str
    took_over_from: str | None = None  # see Process

    @property
    def entrypoint(self) -> str:
        """What ``nameko run`` is given: ``<package>.<module>:<ServiceClass>``."""
        return f"{self.service.package}.{self.module}:{self.service_class}"

    @property
    def role(self) -> Role:
        return self.service.role


# Every process to run, each service's own first and its extra processes after it, in
# registry order: what supervisord, compose and the container entrypoint run.
PROGRAMS: tuple[Program, ...] = tuple(
    program
    for svc in SERVICES
    for program in (
        Program(svc.name, svc, "service", svc.service_class),
        *(Program(p.name, svc, p.module, p.service_class, p.took_over_from) for p in svc.processes),
    )
)
PROGRAM_NAMES: tuple[str, ...] = tuple(p.name for p in PROGRAMS)
# The back-end processes (every one but the gateway): answer ``health`` over RPC, consume events.
BACKEND_PROGRAMS: tuple[Program, ...] = tuple(p for p in PROGRAMS if p.role is Role.RPC)

# The back-end services (RPC, events, a database each), in start order: the gateway asks these.
BACKENDS: tuple[Service, ...] = tuple(s for s in SERVICES if s.role is Role.RPC)
BACKEND_NAMES: tuple[str, ...] = tuple(s.name for s in BACKENDS)
# The services with a database and migrations (what ``crm-migrate`` migrates by default).
WITH_DATABASE: tuple[Service, ...] = tuple(s for s in SERVICES if s.database)
DATABASE_NAMES: tuple[str, ...] = tuple(s.name for s in WITH_DATABASE)
# Every service's name, the gateway's included (PROGRAM_NAMES adds their extra processes).
ALL_NAMES: tuple[str, ...] = tuple(s.name for s in SERVICES)
# Every Python package the project installs.
PACKAGES: tuple[str, ...] = ("crm_common", *(s.package for s in SERVICES))


def service(name: str) -> Service:
    """The service called ``name``; KeyError (naming the known ones) if there is none."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown service {name!r}; known: {', '.join(ALL_NAMES)}") from None


def program(name: str) -> Program:
    """The process called ``name`` (a service's or one of its extra processes); KeyError naming
    the known ones if there is none."""
    for candidate in PROGRAMS:
        if candidate.name == name:
            return candidate
    raise KeyError(f"unknown process {name!r}; known: {', '.join(PROGRAM_NAMES)}")


def console_scripts() -> dict[str, str]:
    """Every console script the project installs: the platform's, then each service's."""
    return dict(PLATFORM_SCRIPTS + tuple(s for svc in SERVICES for s in svc.scripts))
