"""Start the local KCO emulator and the shop side by side: what `make run` calls.

Both servers print one line `... listening on http://HOST:PORT` once their socket accepts
connections; `ServerProcess` waits for that line, so neither this script nor the tests need to
guess when a server is ready. The test fixtures use the same class. Ctrl-C or SIGTERM stops both.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path

from shop.dev_server import load_env_file

ROOT = Path(__file__).resolve().parent.parent
# Our servers print "listening on URL"; gunicorn prints "Listening at: URL (pid)".
LISTENING = re.compile(r"[Ll]istening (?:on|at:) (http://[^\s)]+)")
DEFAULT_WORKERS = 2


class ServerNotReady(RuntimeError):
    """The process exited, or never said where it listens."""


class ServerProcess:
    """One server in a child process; its output is kept in `output` (and echoed if asked).

    It is ready once a line matches `ready`; the pattern's first group, if it has one, is the URL (else
    `url` is given up front, e.g. for Redis). `pass_fds` hands an already listening socket to the child;
    `cwd` is where it runs (the repository unless given).
    """

    def __init__(self, name: str, argv: list[str], env: Mapping[str, str] | None = None,
                 echo: bool = False, ready: re.Pattern[str] = LISTENING, url: str = "",
                 pass_fds: tuple[int, ...] = (), cwd: Path = ROOT) -> None:
        self.name = name
        self.cwd = cwd
        self.argv = argv
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.echo = echo
        self.ready = ready
        self.pass_fds = pass_fds
        self.output: list[str] = []
        self.url = url
        self._matched = False
        self._process: subprocess.Popen[str] | None = None
        self._ready = threading.Event()

    def start(self, timeout: float = 20.0) -> str:
        self._process = subprocess.Popen(
            self.argv, cwd=self.cwd, env=self.env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            pass_fds=self.pass_fds,
        )
        threading.Thread(target=self._read_output, daemon=True).start()
        if not self._ready.wait(timeout) or not self._matched:
            self.stop()
            raise ServerNotReady(f"{self.name} did not start:\n" + "".join(self.output[-40:]))
        return self.url

    def _read_output(self) -> None:
        assert self._process and self._process.stdout
        for line in self._process.stdout:
            self.output.append(line)
            if self.echo:
                sys.stdout.write(f"[{self.name}] {line}")
            if not self._matched and (match := self.ready.search(line)):
                if self.ready.groups:
                    self.url = match.group(1).rstrip("/")
                self._matched = True
                self._ready.set()
        self._ready.set()  # the process ended: wake a waiting start()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int:
        assert self._process
        return self._process.pid

    def wait(self, timeout: float | None = None) -> int:
        assert self._process
        return self._process.wait(timeout)

    def stop(self) -> None:
        if self._process is None or self._process.poll() is not None:
            return
        self._process.send_signal(signal.SIGTERM)
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def emulator_process(host: str = "127.0.0.1", port: int = 5001, env: Mapping[str, str] | None = None,
                     echo: bool = False) -> ServerProcess:
    argv = [sys.executable, "-m", "kco_emulator", "--host", host, "--port", str(port)]
    return ServerProcess("emulator", argv, env, echo)


def shop_process(kco_api_url: str, host: str = "127.0.0.1", port: int = 5000,
                 env: Mapping[str, str] | None = None, echo: bool = False) -> ServerProcess:
    argv = [sys.executable, "app.py", "--host", host, "--port", str(port)]
    return ServerProcess("shop", argv, {"KCO_API_URL": kco_api_url, **(env or {})}, echo)


def gunicorn_shop_process(kco_api_url: str, bind: str = "127.0.0.1:0", workers: int = DEFAULT_WORKERS,
                          threads: int = 1, env: Mapping[str, str] | None = None, echo: bool = False,
                          pass_fds: tuple[int, ...] = (), name: str = "shop") -> ServerProcess:
    """The shop as production runs it: gunicorn workers around `create_app()`.

    `bind` may be `fd://N` for a socket the caller already listens on (then its port is known before the
    shop starts, e.g. to set PUBLIC_BASE_URL to it); pass the same N in `pass_fds`.
    """
    argv = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--threads", str(threads),
            "--bind", bind, "app:create_app()"]
    return ServerProcess(name, argv, {"KCO_API_URL": kco_api_url, **(env or {})}, echo, pass_fds=pass_fds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--emulator-port", type=int, default=5001)
    parser.add_argument("--shop-port", type=int, default=5000)
    args = parser.parse_args()

    # A process manager, `kill` or a CI runner stops us with SIGTERM: stop the children then too, as on
    # Ctrl-C, instead of leaving them running as orphans.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    load_env_file()  # before the host is chosen; both children inherit what it set
    servers: list[ServerProcess] = []
    # A KCO host of your own (see .env.example) replaces the emulator; with none, the emulator is the host.
    use_emulator = not any(os.environ.get(name) for name in ("KCO_API_URL", "KCO_ENVIRONMENT", "KCO_REGION"))
    try:
        kco_api_url = os.environ.get("KCO_API_URL", "")
        if use_emulator:
            emulator = emulator_process(args.host, args.emulator_port, echo=True)
            servers.append(emulator)
            kco_api_url = emulator.start()
        # Workshop mode (docs/workshop.md) belongs to the emulator started here, and only to it.
        workshop = {"KCO_INSPECTOR": os.environ.get("KCO_INSPECTOR") or "1"} if use_emulator else {}
        shop = shop_process(kco_api_url, args.host, args.shop_port, env=workshop, echo=True)
        servers.append(shop)
        print(f"\n  The shop is ready: {shop.start()}\n  Ctrl-C stops everything.\n", flush=True)
        for server in servers:
            server.wait()
    except KeyboardInterrupt:
        print("\nStopping.", flush=True)
    except ServerNotReady as error:
        print(error, file=sys.stderr)
        return 1
    finally:
        # A second Ctrl-C or SIGTERM must not cut the stopping short and leave a child behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for server in servers:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
