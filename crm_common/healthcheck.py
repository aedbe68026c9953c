"""``python -m crm_common.healthcheck <service>``: exit 0 when the service answers ``health``
over RabbitMQ within a few seconds (container health checks), 1 otherwise."""

from __future__ import annotations

import sys

import eventlet

eventlet.monkey_patch()

from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402

from crm_common.config import load_config, service_config_path  # noqa: E402

TIMEOUT = 5


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m crm_common.healthcheck <service>")
        return 2
    service = argv[0]
    config = load_config(service_config_path(service))
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
