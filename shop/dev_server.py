"""`python app.py --host 127.0.0.1 --port 5000`: the shop on Werkzeug's threaded server, for development.

Production runs the same `create_app()` in a WSGI server, e.g. `gunicorn 'app:create_app()'`
(docs/production.md).
With port 0 the operating system picks a free port; the server prints `Shop listening on http://HOST:PORT`
once its socket accepts connections, which is what the test and benchmark harness waits for.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import load_dotenv
from flask import Flask
from werkzeug.serving import make_server

from kco.client import LOCAL_HOSTS
from kco.errors import KCOError


def run(create_app: Callable[[], Flask]) -> None:
    sys.exit(_serve(create_app))


def load_env_file(path: Path | None = None) -> None:
    """Reads `.env` (default: in the working directory, as `flask run` does) into os.environ, as .env.example
    promises. A variable already set in the environment wins over the file (override=False)."""
    load_dotenv(path or Path.cwd() / ".env", override=False)


def missed_port(public_base_url: str, port: int) -> str | None:
    """Why KCO's callbacks will miss this server: a loopback PUBLIC_BASE_URL naming another port."""
    parts = urlsplit(public_base_url)
    if parts.hostname not in LOCAL_HOSTS or (parts.port or 80) == port:
        return None
    return (f"PUBLIC_BASE_URL ({public_base_url}) names port {parts.port or 80}, but the shop listens on "
            f"{port}: KCO's callbacks will not reach it. Unset PUBLIC_BASE_URL, or make it name port {port}.")


def _serve(create_app: Callable[[], Flask]) -> int:
    parser = argparse.ArgumentParser(description="Run the shop (development server).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Werkzeug's lines (the access log) carry their own time and client address: printed as they are.
    werkzeug_handler = logging.StreamHandler()
    werkzeug_handler.setFormatter(logging.Formatter("%(message)s"))
    logging.getLogger("werkzeug").addHandler(werkzeug_handler)
    logging.getLogger("werkzeug").propagate = False
    load_env_file()
    try:
        app = create_app()
    except (ValueError, KCOError) as error:
        print(f"Configuration error: {error}", file=sys.stderr, flush=True)
        return 1
    server = make_server(args.host, args.port, app, threaded=True)
    if not app.config["PUBLIC_BASE_URL"]:
        # Unset PUBLIC_BASE_URL: KCO's callbacks come back to this very server (fine for the emulator).
        app.config["PUBLIC_BASE_URL"] = f"http://{args.host}:{server.port}"
    warning = missed_port(app.config["PUBLIC_BASE_URL"], server.port)
    if warning:
        print(f"Warning: {warning}", file=sys.stderr, flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop cleanly, as on Ctrl-C
    print(f"Shop listening on http://{args.host}:{server.port}", flush=True)
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()
    return 0
