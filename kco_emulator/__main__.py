"""`python -m kco_emulator --host 127.0.0.1 --port 5001`: serve the emulator until Ctrl-C or SIGTERM.

With `--port 0` the OS picks a free port; the line `KCO emulator listening on http://HOST:PORT` (printed
once the socket is bound) carries the real one, which is what kco_emulator.testing's `EmulatorProcess`
waits for.
"""

from __future__ import annotations

import argparse
import signal
import sys
from types import FrameType

from kco_emulator.store import Settings, SettingsError

# Flask and cheroot come with the package's emulator extra, not with the `kco` library: without them, say how
# to get them instead of a traceback (the pytest plugin shows this line when the emulator does not start).
try:
    from kco_emulator.app import create_app
    from kco_emulator.server import make_server
except ModuleNotFoundError as missing:
    sys.exit(f"KCO emulator: the package {missing.name!r} is missing: pip install 'kco-sync[emulator]'")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kco_emulator", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5001)
    args = parser.parse_args(argv)

    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"KCO emulator: {error}", file=sys.stderr)
        return 2
    server = make_server(args.host, args.port, create_app(settings))

    def stop(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    server.prepare()
    print(f"KCO emulator listening on http://{args.host}:{server.bind_addr[1]}", flush=True)
    try:
        server.serve()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
