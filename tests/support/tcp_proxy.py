"""A TCP forwarder on 127.0.0.1 that a test can cut and restore: a broker outage on demand."""

from __future__ import annotations

import socket
from collections.abc import Callable
from contextlib import suppress

import eventlet


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.listener = eventlet.listen(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = True
        self.delay = 0.0  # seconds each client → target chunk is held (set it to slow the link)
        self._connections: list[socket.socket] = []
        self._pipes: list = []
        self._acceptor = eventlet.spawn(self._accept)

    def _accept(self) -> None:
        while True:
            client, _ = self.listener.accept()
            if not self.up:
                client.close()
                continue
            try:
                upstream = eventlet.connect(self.target)
            except OSError:
                client.close()
                continue
            self._connections += [client, upstream]
            self._pipes += [
                eventlet.spawn(self._forward, client, upstream),
                eventlet.spawn(self._pipe, upstream, client),
            ]

    def _forward(self, source: socket.socket, sink: socket.socket) -> None:
        """Client → target, each chunk held ``delay`` seconds (a congested link)."""
        self._pipe(source, sink, lambda: self.delay)

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket, delay: Callable[[], float] = lambda: 0.0) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if pause := delay():
                    eventlet.sleep(pause)
                sink.sendall(data)
        except Exception:  # a cut connection ends its pipe, whatever the error
            pass
        finally:
            for sock in (source, sink):
                with suppress(OSError):
                    sock.close()

    def cut(self) -> None:
        """Refuse new connections and drop the open ones.

        The pipes are killed before their sockets close: a greenthread left waiting in recv() on a
        closed socket keeps its fd registered with the hub, and the next file that gets that fd
        number (a subprocess' pipe, a new connection) fails with "Second simultaneous read"; the
        database-cut fault test met it in supervisorctl's pipe."""
        self.up = False
        pipes, self._pipes = self._pipes, []
        for pipe in pipes:
            pipe.kill()
        for sock in self._connections:
            try:
                sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            except OSError:
                pass
        self._connections = []

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        self.cut()  # kills the pipes too: see cut()
        self._acceptor.kill()
        with suppress(Exception):
            self.listener.close()
