"""The files that must list every service by hand agree with the registry (crm_common.registry).

supervisord.conf, docker-compose.yml, deploy/entrypoint.sh and pyproject.toml cannot import
Python; these tests fail the moment one of them and the registry disagree, naming what differs.
"""

from __future__ import annotations

import ast
import configparser
import re
import tomllib

import yaml

from crm_common.registry import (
    ALL_NAMES,
    BACKEND_NAMES,
    BACKEND_PROGRAMS,
    DATABASE_NAMES,
    PACKAGES,
    PROGRAM_NAMES,
    PROGRAMS,
    REPO_ROOT,
    SERVICES,
    SERVICES_DIR,
    Role,
    console_scripts,
    program,
    service,
)


def test_names_are_unique_and_each_kind_is_listed():
    assert len(set(ALL_NAMES)) == len(ALL_NAMES)
    assert [s.name for s in SERVICES if s.role is Role.HTTP] == ["gateway"]
    assert "gateway" not in BACKEND_NAMES and "gateway" not in DATABASE_NAMES
    assert service("customers").entrypoint == "customers.service:CustomersService"
    assert len(set(PROGRAM_NAMES)) == len(PROGRAM_NAMES) and set(ALL_NAMES) <= set(PROGRAM_NAMES)
    assert program("customers").entrypoint == service("customers").entrypoint
    assert program("customers-scanner").entrypoint == "customers.service_scanner:CustomersScannerService"
    assert program("customers-scanner").service is service("customers")


def test_each_extra_process_is_a_class_of_its_service_package_using_the_services_database():
    for proc in PROGRAMS:
        if proc.name == proc.service.name:
            continue
        source = (REPO_ROOT / proc.service.package_dir / f"{proc.module}.py").read_text(encoding="utf-8")
        tree = ast.parse(source)
        classes = {node.name for node in tree.body if isinstance(node, ast.ClassDef)}
        assert proc.service_class in classes, (proc.name, proc.service_class)
        # its own nameko name (its own queues), the service's database and outbox
        assert f'name = "{proc.name}"' in source, proc.name
        assert f'service="{proc.service.name}"' in source, proc.name


def test_an_unknown_name_is_refused_with_the_known_ones():
    try:
        service("nosuch")
    except KeyError as exc:
        assert "nosuch" in str(exc) and "knowledge" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("no KeyError")


def test_every_folder_under_services_is_registered_and_shaped_as_the_registry_says():
    folders = {p.name for p in SERVICES_DIR.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))}
    assert folders == set(ALL_NAMES), "services/ folders vs crm_common/registry.py SERVICES"
    for svc in SERVICES:
        assert svc.config_path.is_file(), svc.config_path
        assert (REPO_ROOT / svc.package_dir / "__init__.py").is_file(), svc.package_dir
        tree = ast.parse((REPO_ROOT / svc.package_dir / "service.py").read_text(encoding="utf-8"))
        classes = {node.name for node in tree.body if isinstance(node, ast.ClassDef)}
        assert svc.service_class in classes, (svc.name, svc.service_class)
        assert (svc.folder / "migrations").is_dir() == svc.database, svc.name
        if svc.role is Role.RPC:
            assert (REPO_ROOT / svc.package_dir / "exceptions.py").is_file(), svc.name


def test_supervisord_runs_every_service_from_its_registered_entrypoint():
    conf = configparser.RawConfigParser()
    conf.read(REPO_ROOT / "supervisord.conf", encoding="utf-8")
    assert conf.get("group:crm", "programs").split(",") == list(PROGRAM_NAMES), (
        "supervisord.conf: [group:crm]"
    )
    programs = {s.removeprefix("program:") for s in conf.sections() if s.startswith("program:")}
    assert programs == set(PROGRAM_NAMES), "supervisord.conf: one [program:<name>] per process"
    for proc in PROGRAMS:
        assert conf.get(f"program:{proc.name}", "command") == (
            f"nameko run --config services/{proc.service.name}/config.yml {proc.entrypoint}"
        )


def test_compose_has_a_container_and_a_health_check_per_service():
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    containers = set(compose["services"]) - {"rabbitmq", "postgres"}
    assert containers == set(PROGRAM_NAMES), "docker-compose.yml: one container per process"
    for proc in PROGRAMS:
        container = compose["services"][proc.name]
        assert container["command"] == [proc.name]
        if proc.role is Role.RPC:
            assert container["healthcheck"]["test"] == [
                "CMD",
                "python",
                "-m",
                "crm_common.healthcheck",
                proc.name,
            ]
        else:
            assert "healthcheck" in container


def test_the_container_entrypoint_runs_each_service_from_its_registered_entrypoint():
    script = (REPO_ROOT / "deploy" / "entrypoint.sh").read_text(encoding="utf-8")
    cases = dict(re.findall(r"^\s*([a-z_-]+)\)\s+(.+?)\s*;;\s*$", script, re.MULTILINE))
    for proc in BACKEND_PROGRAMS:
        expected = f"run_service {proc.service.name} {proc.service_class}" + (
            f" {proc.module}" if proc.module != "service" else ""
        )
        assert cases.get(proc.name) == expected, f"deploy/entrypoint.sh: no `{proc.name}) {expected} ;;`"
    for svc in SERVICES:
        if svc.role is Role.HTTP:
            assert cases.get(svc.name) == (
                f"exec nameko run --config services/{svc.name}/config.yml {svc.entrypoint}"
            )
    assert set(cases) - {"migrate", "*"} == set(PROGRAM_NAMES)
    assert 'nameko run --config "services/$1/config.yml" "$1.${3:-service}:$2"' in script


def test_pyproject_installs_every_package_and_script_the_registry_lists():
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    setuptools = pyproject["tool"]["setuptools"]
    assert setuptools["packages"] == list(PACKAGES), "pyproject.toml: [tool.setuptools] packages"
    assert setuptools["package-dir"] == {
        "crm_common": "crm_common",
        **{svc.package: svc.package_dir for svc in SERVICES},
    }, "pyproject.toml: [tool.setuptools.package-dir]"
    assert pyproject["tool"]["ruff"]["lint"]["isort"]["known-first-party"] == list(PACKAGES), (
        "pyproject.toml: [tool.ruff.lint.isort] known-first-party"
    )
    assert pyproject["project"]["scripts"] == console_scripts(), "pyproject.toml: [project.scripts]"


def test_the_import_contracts_cover_every_registered_service_and_every_domain_module():
    contracts = configparser.ConfigParser()
    contracts.read(REPO_ROOT / ".importlinter", encoding="utf-8")

    def modules(section: str, option: str) -> list[str]:
        return contracts.get(f"importlinter:contract:{section}", option).split()

    assert contracts.get("importlinter", "root_packages").split() == list(PACKAGES), (
        ".importlinter: root_packages"
    )
    # schemas.py split by part (schemas_<part>.py, re-exported by schemas.py) is a leaf too
    schema_parts = {
        f"{path.parent.name}.{path.stem}"
        for name in BACKEND_NAMES
        for path in (SERVICES_DIR / name / name).glob("schemas_*.py")
    }
    for name in BACKEND_NAMES:
        used = f"{name}-used-only-through-its-contract"
        assert modules(used, "source_modules") == [p for p in PACKAGES if p != name]
        assert modules(used, "forbidden_modules") == [name]
        leaves = f"{name}-contract-modules-are-leaves"
        assert modules(leaves, "forbidden_modules") == [f"{name}.*"]
        assert set(modules(leaves, "source_modules")) == {
            *(f"{other}.{leaf}" for other in BACKEND_NAMES for leaf in ("schemas", "exceptions")),
            *schema_parts,
            "*.constants",
        }, f"{leaves}: every schemas, schemas_<part> and exceptions module of every service"
    assert set(modules("crm-common-imports-no-service", "forbidden_modules")) == set(ALL_NAMES)
    domain_modules = {
        f"{path.parent.name}.{path.stem}"
        for path in SERVICES_DIR.glob("*/*/domain*.py")
        if path.stem != "domain"
    }
    assert domain_modules <= set(modules("domain-is-plain-python", "source_modules")), (
        "add each domain_<area> module to the domain-is-plain-python contract in .importlinter"
    )
