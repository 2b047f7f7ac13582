"""`python -m kco_emulator --host 127.0.0.1 --port 5001`: serve the emulator until Ctrl-C or SIGTERM.

With `--port 0` the OS picks a free port; the line `KCO emulator listening on http://HOST:PORT` (printed
once the socket is bound) carries the real one, which is what kco_emulator.testing's `EmulatorProcess`
waits for.

`--settings-from report.json` plays what a `kco-probe` report observed on a real playground: its
`emulator_settings` replace the behaviour settings of the environment, also after each reset
(docs/real-playground.md, "Settle what is inferred: kco-probe").
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from types import FrameType

from kco_emulator.store import Settings, SettingsError, with_behaviours

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
    parser.add_argument("--settings-from", type=Path, metavar="REPORT_JSON",
                        help="play the behaviour settings a kco-probe report observed")
    args = parser.parse_args(argv)

    try:
        settings = Settings.from_env()
        if args.settings_from is not None:
            settings = with_behaviours(settings, observed_settings(args.settings_from))
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


def observed_settings(report: Path) -> dict[str, object]:
    """The `emulator_settings` of a kco-probe report (kco.probe.report), or SettingsError saying why not."""
    try:
        observed = json.loads(report.read_text(encoding="utf-8")).get("emulator_settings")
    except (OSError, ValueError, AttributeError) as error:
        raise SettingsError(f"--settings-from {report}: not a kco-probe report ({error})") from None
    if not isinstance(observed, dict):
        raise SettingsError(f"--settings-from {report}: the report has no emulator_settings object")
    return observed


if __name__ == "__main__":
    sys.exit(main())
