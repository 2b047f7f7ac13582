"""The shop on a free port, talking to the plugin's emulator, and the browser the tests use."""

import os
import threading

import pytest
from werkzeug.serving import make_server

from mug_shop import create_app


@pytest.fixture
def shop_url(kco_emulator):
    app = create_app(kco_emulator.url, *kco_emulator.credentials)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    # CHROMIUM names the system's browser (e.g. Debian's /usr/bin/chromium) where Playwright's own is missing.
    if os.environ.get("CHROMIUM"):
        return {**browser_type_launch_args, "executable_path": os.environ["CHROMIUM"],
                "args": ["--no-sandbox"]}
    return browser_type_launch_args
