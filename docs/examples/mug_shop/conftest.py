"""The shop on a free port, talking to the plugin's emulator, and the browser the tests use.

Set up once, in the project's virtual environment:

    pip install '/path/to/this/repository[emulator]' pytest-playwright gunicorn
    playwright install chromium   # or set CHROMIUM to the system's browser, e.g. CHROMIUM=/usr/bin/chromium
"""

import os
import sys

import pytest

from kco_emulator.testing import ServerProcess, WsgiServer
from mug_shop import create_app


@pytest.fixture
def shop_url(kco_emulator):
    app = create_app({"KCO_API_URL": kco_emulator.url})  # your shop, pointed at the emulator
    with WsgiServer(app) as shop:  # from kco_emulator.testing: served from a thread, on a free port
        yield shop.url


@pytest.fixture(scope="session")
def gunicorn_shop_url(kco_emulator_server):
    argv = [sys.executable, "-m", "gunicorn", "--bind", "127.0.0.1:0", "mug_shop:create_app()"]
    with ServerProcess("shop", argv, env={"KCO_API_URL": kco_emulator_server.url}) as shop:
        yield shop.url


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    # CHROMIUM names the system's browser (e.g. Debian's /usr/bin/chromium) where Playwright's own is missing.
    if os.environ.get("CHROMIUM"):
        return {**browser_type_launch_args, "executable_path": os.environ["CHROMIUM"],
                "args": ["--no-sandbox"]}
    return browser_type_launch_args
