"""The shop on a free port, talking to the plugin's emulator, and the browser the tests use."""

import os

import pytest

from kco_emulator.testing import WsgiServer
from mug_shop import create_app


@pytest.fixture
def shop_url(kco_emulator):
    app = create_app(kco_emulator.url, *kco_emulator.credentials)
    with WsgiServer(app) as shop:
        yield shop.url


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    # CHROMIUM names the system's browser (e.g. Debian's /usr/bin/chromium) where Playwright's own is missing.
    if os.environ.get("CHROMIUM"):
        return {**browser_type_launch_args, "executable_path": os.environ["CHROMIUM"],
                "args": ["--no-sandbox"]}
    return browser_type_launch_args
