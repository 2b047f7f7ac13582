"""Fixtures for the shop's HTTP tests: a fresh shopper (own cookies) and a counter of KCO calls."""

from __future__ import annotations

import pytest

from devserver import ServerProcess
from tests.emulator_control import EmulatorControl
from tests.shop_client import KCOCalls, Shopper


@pytest.fixture
def shopper(shop_server: ServerProcess, emulator: EmulatorControl) -> Shopper:
    return Shopper(shop_server.url)


@pytest.fixture
def calls(emulator: EmulatorControl) -> KCOCalls:
    return KCOCalls(emulator)
