"""A TCP forwarder on 127.0.0.1 that a test can cut and restore: a broker outage on demand."""

from __future__ import annotations

import socket
from contextlib import suppress

import eventlet


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.listener = eventlet.listen(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = True
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
                eventlet.spawn(self._pipe, client, upstream),
                eventlet.spawn(self._pipe, upstream, client),
            ]

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except Exception:  # a cut connection ends its pipe, whatever the error
            pass
        finally:
            for sock in (source, sink):
                with suppress(OSError):
                    sock.close()

    def cut(self) -> None:
        """Refuse new connections and drop the open ones."""
        self.up = False
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
        self.cut()
        self._acceptor.kill()
        # a pipe left waiting on a closed fd would collide with whatever socket reuses the number
        for pipe in self._pipes:
            pipe.kill()
        with suppress(Exception):
            self.listener.close()
