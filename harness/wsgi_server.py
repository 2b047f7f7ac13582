"""A WSGI app served over HTTP from a thread of the test process, on a free loopback port.

For what must be reachable over a socket but is not worth a process of its own: the in-process shop that
the emulator's callbacks call back, and the pretend merchants of the emulator's own tests.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from werkzeug.serving import make_server


class WsgiServer:
    """Serves `app` until `close()`; `url` is http://127.0.0.1:PORT."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._thread.join()
