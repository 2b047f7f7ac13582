"""The emulator's HTTP server: threaded, one process (the orders live in its memory), HTTP/1.1 keep-alive.

Real KCO keeps connections alive, and a merchant's `requests.Session` reuses them, so the emulator does too:
a shop measured against it pays for TCP connections as it would in production. Werkzeug's development
server cannot: it answers every request with `Connection: close` and drains the socket afterwards. So this
is the standard library's wsgiref, looping over the requests of one connection. Each request body is read
whole before the app runs, so an answer that ignores the body (a fault, a 401) leaves none of it on the
connection for the next request to trip over.
"""

from __future__ import annotations

import io
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer

# An idle connection is closed after this long; a client's pool notices and opens a new one.
IDLE_SECONDS = 60
MAX_REQUEST_LINE = 65536


class KeepAliveServer(ThreadingMixIn, WSGIServer):
    """One thread per connection; the threads never delay the process's exit."""

    daemon_threads = True
    block_on_close = False


class OneAnswer(ServerHandler):
    """wsgiref's handler for one request on a kept-alive connection: an answer without Content-Length (a
    stream) ends the connection, because wsgiref does not chunk and only the close marks the body's end."""

    keeps_connection = True

    def cleanup_headers(self) -> None:
        super().cleanup_headers()
        if "Content-Length" not in self.headers:
            self.headers["Connection"] = "close"
            self.keeps_connection = False


class KeepAliveHandler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = IDLE_SECONDS
    disable_nagle_algorithm = True  # an answer goes out at once, not after the client's delayed ACK

    def handle(self) -> None:
        self.close_connection = True
        self.handle_one_request()
        while not self.close_connection:
            self.handle_one_request()

    def handle_one_request(self) -> None:
        try:
            self.raw_requestline = self.rfile.readline(MAX_REQUEST_LINE + 1)
        except (TimeoutError, OSError):
            self.close_connection = True
            return
        if not self.raw_requestline or len(self.raw_requestline) > MAX_REQUEST_LINE:
            self.close_connection = True
            return
        if not self.parse_request():  # answers the error itself; sets close_connection from the headers
            return
        length = self.headers.get("Content-Length", "")
        if self.headers.get("Transfer-Encoding") or (length and not length.isdigit()):
            self.send_error(411, "A request body needs a Content-Length")
            self.close_connection = True
            return
        body = self.rfile.read(int(length)) if length else b""
        environ = self.get_environ()
        environ["REMOTE_PORT"] = str(self.client_address[1])
        environ["werkzeug.socket"] = self.connection  # kco_emulator.faults.drop_connection closes it
        handler = OneAnswer(io.BytesIO(body), self.wfile, self.get_stderr(), environ, multithread=True)
        handler.http_version = "1.1"
        handler.request_handler = self  # type: ignore[attr-defined]  # wsgiref logs the request through it
        try:
            handler.run(self.server.get_app())  # type: ignore[attr-defined]
        except OSError:
            self.close_connection = True
            return
        if not handler.keeps_connection:
            self.close_connection = True
        try:
            self.wfile.flush()
        except OSError:
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the request log is the control API's /_emulator/requests


def make_keep_alive_server(host: str, port: int, app: Any) -> KeepAliveServer:
    server = KeepAliveServer((host, port), KeepAliveHandler)
    server.set_app(app)
    return server
