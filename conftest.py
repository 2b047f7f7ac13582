"""Shared fixtures: the emulator and the shop as real processes on free ports.

Each server is started once per test run (port 0, so the OS picks a free port and the server
reports it); tests get a clean emulator through `emulator`, which resets it first.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from harness.devserver import ServerProcess, emulator_process, shop_process
from harness.emulator_control import EmulatorControl

# The test servers inherit this process's environment: a developer's exported shop or KCO settings (a real
# KCO host, a Redis, a database) must not leak into them. Tests that need such a setting pass it explicitly.
SHOP_SETTINGS = ("PUBLIC_BASE_URL", "REDIS_URL", "DATABASE_URL", "SECRET_KEY", "INSTANCE_PATH",
                 "SESSION_COOKIE_SECURE")
for _name in list(os.environ):
    if (_name.startswith("KCO_") and _name != "KCO_REFERENCE_DIR") or _name in SHOP_SETTINGS:
        del os.environ[_name]

# Short push retries keep callback tests fast; the emulator's defaults are a few seconds.
EMULATOR_ENV = {"KCO_EMULATOR_PUSH_RETRY_SECONDS": "0.3,0.6,1.2"}
SHOP_SECRET_KEY = "test-only-secret-key-not-for-production"


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[ServerProcess]:
    server = emulator_process(port=0, env=EMULATOR_ENV)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def emulator(emulator_server: ServerProcess) -> EmulatorControl:
    control = EmulatorControl(emulator_server.url)
    control.reset()
    return control


@pytest.fixture(scope="session")
def shop_server(emulator_server: ServerProcess, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[ServerProcess]:
    instance = tmp_path_factory.mktemp("shop-instance")
    server = shop_process(emulator_server.url, port=0, env={
        "SECRET_KEY": SHOP_SECRET_KEY,
        "INSTANCE_PATH": str(instance),
        "KCO_USERNAME": "demo",
        "KCO_PASSWORD": "demo",
    })
    server.start()
    yield server
    server.stop()
