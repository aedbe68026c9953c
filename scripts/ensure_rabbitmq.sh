#!/usr/bin/env bash
# Make sure a RabbitMQ answers at AMQP_URI (and, with --management, its management API on
# 15672, which nameko's test fixtures use). Starts a local rabbitmq-server if one is installed.
set -euo pipefail
AMQP_URI=${AMQP_URI:-amqp://guest:guest@localhost:5672/}
hostport=$(python3 - "$AMQP_URI" <<'PY'
import sys
from urllib.parse import urlsplit
u = urlsplit(sys.argv[1])
print(f"{u.hostname or 'localhost'} {u.port or 5672}")
PY
)
read -r host port <<<"$hostport"

answers() { python3 -c "import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 2)" "$1" "$2" 2>/dev/null; }

if ! answers "$host" "$port"; then
  if [[ "$host" =~ ^(localhost|127\.0\.0\.1)$ ]] && command -v rabbitmq-server >/dev/null; then
    echo "RabbitMQ is not answering at $host:$port: starting rabbitmq-server" >&2
    rabbitmq-server -detached >/dev/null 2>&1 || true
    for _ in $(seq 1 60); do answers "$host" "$port" && break; sleep 1; done
  fi
fi
if ! answers "$host" "$port"; then
  cat >&2 <<MSG
No RabbitMQ answers at $host:$port (AMQP_URI=$AMQP_URI).
Start one, then run the command again:
  - Debian/Ubuntu:  sudo apt-get install rabbitmq-server && sudo rabbitmq-server -detached
  - Docker:         docker run -d -p 5672:5672 -p 15672:15672 rabbitmq:3-management
  - or point AMQP_URI at a running broker: AMQP_URI=amqp://user:pass@host:5672/ make run
MSG
  exit 1
fi

if [[ "${1:-}" == "--management" ]]; then
  if ! answers "$host" 15672; then
    if command -v rabbitmq-plugins >/dev/null; then
      echo "enabling the RabbitMQ management plugin (nameko's test fixtures use its API)" >&2
      rabbitmq-plugins enable rabbitmq_management >/dev/null
      for _ in $(seq 1 30); do answers "$host" 15672 && break; sleep 1; done
    fi
  fi
  answers "$host" 15672 || { echo "RabbitMQ's management API does not answer on $host:15672: run 'rabbitmq-plugins enable rabbitmq_management'" >&2; exit 1; }
fi
