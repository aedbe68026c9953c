"""The test suite's TcpProxy: a cut drops every connection and leaves no greenthread waiting on a
closed socket (one did, and the next file given the same fd number — supervisorctl's pipe in the
database-cut fault test — failed with eventlet's "Second simultaneous read")."""

import os

import eventlet
from eventlet.green import os as green_os

from tests.support.tcp_proxy import TcpProxy


def test_after_a_cut_a_new_file_on_a_reused_fd_number_can_be_read():
    server = eventlet.listen(("127.0.0.1", 0))
    held = []
    acceptor = eventlet.spawn(lambda: held.append(server.accept()[0]) or eventlet.sleep(60))
    proxy = TcpProxy("127.0.0.1", server.getsockname()[1])
    try:
        client = eventlet.connect(("127.0.0.1", proxy.port))
        eventlet.sleep(0.2)  # the proxy has accepted, connected upstream and started its pipes
        proxy.cut()
        eventlet.sleep(0)
        reader, writer = os.pipe()  # takes the lowest free fd numbers: the ones the cut freed
        os.write(writer, b"ok")
        assert green_os.read(reader, 2) == b"ok"  # "Second simultaneous read" before the fix
        os.close(reader)
        os.close(writer)
        client.close()
    finally:
        proxy.close()
        acceptor.kill()
        server.close()
