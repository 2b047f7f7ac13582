"""Shared fixtures: the emulator and the shop as real processes on free ports.

Each server is started once per test run (port 0, so the OS picks a free port and the server
reports it). The emulator is the one of the installed pytest plugin (kco_emulator.pytest_plugin, as a
merchant's tests get it); `emulator` is its `kco_emulator` fixture, reset for the test, driven through the
public names of kco_emulator.testing's `KcoEmulator`, as docs/testing-your-shop.md shows a merchant.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from harness.local_stack import shop_process
from kco_emulator.testing import EmulatorProcess, KcoEmulator, ServerProcess

# The test servers inherit this process's environment: a developer's exported shop or KCO settings (a real
# KCO host, a Redis, a database) must not leak into them. Tests that need such a setting pass it explicitly.
SHOP_SETTINGS = ("PUBLIC_BASE_URL", "REDIS_URL", "DATABASE_URL", "SECRET_KEY", "INSTANCE_PATH",
                 "SESSION_COOKIE_SECURE")
for _name in list(os.environ):
    if (_name.startswith("KCO_") and _name != "KCO_REFERENCE_DIR") or _name in SHOP_SETTINGS:
        del os.environ[_name]
# Every test shopper comes from 127.0.0.1 and the suite creates hundreds of KCO orders: far more than the
# shop's per-client budgets (shop/budgets.py). tests/test_hardening.py sets small ones where it tests them.
os.environ["CHECKOUT_CREATION_LIMIT"] = "100000 per hour"

# Short push retries keep callback tests fast; the emulator's defaults are a few seconds.
EMULATOR_ENV = {"KCO_EMULATOR_PUSH_RETRY_SECONDS": "0.3,0.6,1.2"}
SHOP_SECRET_KEY = "test-only-secret-key-not-for-production"


@pytest.fixture(scope="session")
def kco_emulator_environment() -> dict[str, str]:
    return EMULATOR_ENV


@pytest.fixture(scope="session")
def emulator_server(kco_emulator_server: EmulatorProcess) -> EmulatorProcess:
    return kco_emulator_server


@pytest.fixture
def emulator(kco_emulator: KcoEmulator) -> KcoEmulator:
    return kco_emulator


@pytest.fixture(scope="session")
def shop_server(emulator_server: EmulatorProcess, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[ServerProcess]:
    instance = tmp_path_factory.mktemp("shop-instance")
    with shop_process(emulator_server.url, port=0, env={
        "SECRET_KEY": SHOP_SECRET_KEY,
        "INSTANCE_PATH": str(instance),
        "KCO_USERNAME": "demo",
        "KCO_PASSWORD": "demo",
        "KCO_INSPECTOR": "1",  # workshop mode, as `make run` starts the shop beside its emulator
    }) as server:
        yield server
