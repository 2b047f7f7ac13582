"""A throwaway PostgreSQL for the production-shape tests: Debian's `postgresql` binaries, a new cluster in a
temporary folder, trust authentication on loopback only, gone when stopped.

Debian keeps the binaries in /usr/lib/postgresql/<version>/bin (not on PATH); `make test` installs the
package when missing. PostgreSQL refuses to run as root, so under root the cluster belongs to the `postgres`
user the package creates, and each binary runs as that user (`setpriv`, which execs, so a SIGTERM reaches
the server itself). Readiness is the server's own "ready to accept connections" line, never a sleep.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from kco_emulator.testing import ServerNotReady, ServerProcess

READY = re.compile(r"database system is ready to accept connections")
USER = "shop"
DATABASE = "postgres"
ATTEMPTS = 3


def postgres_bin_dir() -> Path | None:
    """The newest /usr/lib/postgresql/<version>/bin holding initdb and postgres, or None."""
    found = [path.parent for path in Path("/usr/lib/postgresql").glob("*/bin/initdb")
             if (path.parent / "postgres").exists()]
    return max(found, key=lambda path: int(re.sub(r"\D", "", path.parent.name) or 0)) if found else None


class PostgresServer:
    """One cluster and its server process; `url` is its SQLAlchemy URL (psycopg 3)."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.folder = Path(tempfile.mkdtemp(prefix="shop-postgres-"))
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
            self.as_user = ["setpriv", f"--reuid={owner.pw_uid}", f"--regid={owner.pw_gid}", "--init-groups"]
        self.data = self.folder / "data"
        self.server: ServerProcess | None = None
        self.url = ""

    def start(self) -> PostgresServer:
        subprocess.run([*self.as_user, str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", USER,
                        "-A", "trust", "-E", "UTF8", "--no-sync"],
                       check=True, capture_output=True, cwd=self.folder)
        failure: ServerNotReady | None = None
        for _ in range(ATTEMPTS):
            port = _free_port()
            server = ServerProcess(
                "postgres",
                [*self.as_user, str(self.bin_dir / "postgres"), "-D", str(self.data), "-p", str(port),
                 "-h", "127.0.0.1", "-k", str(self.folder), "-c", "fsync=off"],
                ready=READY, url=f"postgresql+psycopg://{USER}@127.0.0.1:{port}/{DATABASE}", cwd=self.folder)
            try:
                server.start()
            except ServerNotReady as error:
                failure = error
                continue
            self.server, self.url = server, server.url
            return self
        assert failure is not None
        raise failure

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def start_postgres() -> PostgresServer:
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        raise ServerNotReady("PostgreSQL is not installed (apt-get install postgresql)")
    return PostgresServer(bin_dir).start()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
