"""``python -m crm_common.healthcheck <process>``: exit 0 when the process (a service, or one of its
own processes such as ``customers-scanner``) answers ``health`` over RabbitMQ within a few seconds
(container health checks), 1 otherwise."""

from __future__ import annotations

import sys

import eventlet

eventlet.monkey_patch()

from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402

from crm_common.config import load_config  # noqa: E402
from crm_common.registry import BACKEND_PROGRAMS  # noqa: E402

TIMEOUT = 5


def main(argv: list[str]) -> int:
    known = {program.name: program for program in BACKEND_PROGRAMS}
    if len(argv) != 1:
        print(f"usage: python -m crm_common.healthcheck <process>  ({' | '.join(known)})")
        return 2
    service = argv[0]
    if service not in known:
        print(f"unknown process {service!r}; known: {', '.join(known)}")
        return 2
    config = load_config(known[service].service.config_path)
    try:
        with eventlet.Timeout(TIMEOUT), ClusterRpcProxy(config) as cluster:
            answer = getattr(cluster, service).health()
    except (Exception, eventlet.Timeout) as exc:
        print(f"{service}: down ({exc!r})")
        return 1
    print(f"{service}: {answer.get('status')}")
    return 0 if answer.get("status") == "ok" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
