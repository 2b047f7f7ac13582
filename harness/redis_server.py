"""A throwaway Redis for the scale-out tests and the load benchmark: Debian's `redis-server`, in memory only.

Redis cannot pick its own port and report it the way our servers do (`--port 0` turns TCP off), so a free
port is taken from the OS first; if another process grabs it in between, Redis exits and we try another.
Readiness is Redis's own "Ready to accept connections" line, never a sleep.
"""

from __future__ import annotations

import re
import shutil
import socket
from pathlib import Path

from kco_emulator.testing import ServerNotReady, ServerProcess

READY = re.compile(r"Ready to accept connections")
ATTEMPTS = 3


def redis_server_binary() -> str | None:
    return shutil.which("redis-server")


def start_redis(work_dir: Path) -> ServerProcess:
    """Start redis-server on a free loopback port, without persistence; `.url` is its redis:// URL."""
    binary = redis_server_binary()
    if binary is None:
        raise ServerNotReady("redis-server is not installed (apt-get install redis-server)")
    failure: ServerNotReady | None = None
    for _ in range(ATTEMPTS):
        port = _free_port()
        server = ServerProcess(
            "redis",
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(work_dir)],
            ready=READY, url=f"redis://127.0.0.1:{port}/0",
        )
        try:
            server.start()
            return server
        except ServerNotReady as error:
            failure = error
    assert failure is not None
    raise failure


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
