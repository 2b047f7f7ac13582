"""The emulator's HTTP server: cheroot's WSGI server, in this one process (the orders live in its memory).

Real KCO keeps connections alive, and a merchant's `requests.Session` reuses them, so the emulator does too:
a shop measured against it pays for TCP connections as it would in production. Werkzeug's development
server cannot (it closes every connection). cheroot keeps HTTP/1.1 connections alive without a thread each
(an idle one waits in its selector), runs requests on a bounded pool of threads, listens with a real backlog,
and refuses a body over MAX_BODY_BYTES (413) or a Content-Length that is no number (400) before it reads the
body. Three things are added here: a new connection waits in the selector too until it sends something
(EmulatorServer.process_conn), a Content-Length must be one field of digits, or the request is refused with
400 (RFC 9110, section 8.6), and the WSGI environ carries the client's socket, which a "disconnect" fault
closes (kco_emulator.faults.drop_connection). A client that sends a request slowly holds a thread until it
is done or IDLE_SECONDS pass without a byte: at most MAX_THREADS such clients are served at once.
"""

from __future__ import annotations

import socket
from typing import Any, BinaryIO

from cheroot import server as cheroot_server
from cheroot import wsgi

from kco_emulator.faults import CLIENT_SOCKET

# An idle kept-alive connection is closed after this long; a client's pool notices and opens a new one.
IDLE_SECONDS = 60
# Far above the largest valid order (1000 order lines); a bigger body is refused before it is read.
MAX_BODY_BYTES = 10 * 1024 * 1024
# Requests run on this many threads at least and at most; more wait for a free one.
MIN_THREADS = 10
MAX_THREADS = 50
# Connections the OS holds while the server is busy (the kernel caps it at net.core.somaxconn).
BACKLOG = socket.SOMAXCONN


class ContentLengthHeaders(dict[bytes, bytes]):
    """Request headers as cheroot reads them, refusing a Content-Length sent twice or not made of digits."""

    def __setitem__(self, name: bytes, value: bytes) -> None:
        if name == b"Content-Length" and (name in self or not value.isdigit()):
            # cheroot answers a ValueError from the header reader with 400 Bad Request.
            raise ValueError("A request needs at most one Content-Length, made of digits")
        super().__setitem__(name, value)


class StrictHeaderReader(cheroot_server.HeaderReader):
    def __call__(self, rfile: BinaryIO, hdict: dict[bytes, bytes] | None = None) -> dict[bytes, bytes]:
        headers = super().__call__(rfile, ContentLengthHeaders())
        hdict = {} if hdict is None else hdict
        hdict.update(headers)
        return hdict


class StrictRequest(cheroot_server.HTTPRequest):
    header_reader = StrictHeaderReader()


class StrictConnection(cheroot_server.HTTPConnection):
    RequestHandlerClass = StrictRequest


class SocketGateway(wsgi.Gateway_10):
    """WSGI 1.0 as cheroot serves it, with the client's socket in the environ for the disconnect fault."""

    def get_environ(self) -> dict[str, Any]:
        environ = super().get_environ()
        environ[CLIENT_SOCKET] = self.req.conn.socket
        return environ


class EmulatorServer(wsgi.Server):
    ConnectionClass = StrictConnection

    def process_conn(self, conn: cheroot_server.HTTPConnection) -> None:
        """cheroot hands a newly accepted connection straight to a request thread, which then waits for its
        first request: a few hundred idle connections would hold every thread. So a new connection first
        waits in cheroot's selector, as a kept-alive one does between requests (ConnectionManager.put), and
        gets a thread once it has something to read. `last_used` is set by that manager only."""
        if conn.last_used is None:
            self._connections.put(conn)
            return
        super().process_conn(conn)


def make_server(host: str, port: int, app: Any) -> EmulatorServer:
    """The server for `app`; `prepare()` binds it (port 0: the OS picks one, `bind_addr` tells which),
    `serve()` runs it until `stop()`."""
    server = EmulatorServer((host, port), app, numthreads=MIN_THREADS, max=MAX_THREADS,
                            request_queue_size=BACKLOG, timeout=IDLE_SECONDS)
    server.gateway = SocketGateway
    server.max_request_body_size = MAX_BODY_BYTES
    return server
