"""The local stack: the KCO emulator and the demo shop side by side, as `make run` starts them.

Both print one line `... listening on http://HOST:PORT` once their socket accepts connections; the
`ServerProcess` of kco_emulator.testing waits for that line, so neither this script nor the tests need to
guess when a server is ready. The tests and benchmarks start the shop with `shop_process` and
`gunicorn_shop_process` too. Ctrl-C or SIGTERM stops both.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Mapping
from pathlib import Path

from kco_emulator.testing import EmulatorProcess, ServerNotReady, ServerProcess
from shop.dev_server import load_env_file

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WORKERS = 2


def shop_process(kco_api_url: str, host: str = "127.0.0.1", port: int = 5000,
                 env: Mapping[str, str] | None = None, echo: bool = False) -> ServerProcess:
    """The shop as `python app.py` runs it: Werkzeug's development server (shop/dev_server.py)."""
    argv = [sys.executable, "app.py", "--host", host, "--port", str(port)]
    return ServerProcess("shop", argv, {"KCO_API_URL": kco_api_url, **(env or {})}, echo, cwd=ROOT)


def gunicorn_shop_process(kco_api_url: str, bind: str = "127.0.0.1:0", workers: int = DEFAULT_WORKERS,
                          threads: int = 1, env: Mapping[str, str] | None = None, echo: bool = False,
                          pass_fds: tuple[int, ...] = (), name: str = "shop") -> ServerProcess:
    """The shop as production runs it: gunicorn workers around `create_app()`.

    `bind` may be `fd://N` for a socket the caller already listens on (then its port is known before the
    shop starts, e.g. to set PUBLIC_BASE_URL to it); pass the same N in `pass_fds`.
    """
    argv = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--threads", str(threads),
            "--bind", bind, "app:create_app()"]
    return ServerProcess(name, argv, {"KCO_API_URL": kco_api_url, **(env or {})}, echo, pass_fds=pass_fds,
                         cwd=ROOT)


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
            emulator = EmulatorProcess(host=args.host, port=args.emulator_port, echo=True)
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
