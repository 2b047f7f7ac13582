"""pytest plugin (entry point `pytest11`): a local KCO emulator for a shop's tests.

Nothing starts until a test asks for a fixture:

- `kco_emulator`: a `kco_emulator.testing.KcoEmulator`, reset for this test, over one emulator process per
  test session (per xdist worker) on a free port. Point your shop's KCO base URL at `kco_emulator.url`.
- `kco_emulator_settings`: the settings applied after the reset; by default those of the nearest
  `@pytest.mark.kco_emulator_settings(name=value, ...)`. Override the fixture for a whole folder.
- `kco_emulator_environment` (session): environment variables the process starts with
  (`KCO_EMULATOR_*`); override it in a conftest.py to change a default for every test.
- `kco_emulator_server` (session): the process itself (`url`, `output`).

Without the package's emulator extra the process does not start, and the error says `pip install
'kco-sync[emulator]'`. The plugin also hides pytest-base-url's deprecation warning (BASE_URL_WARNING).

docs/testing-your-shop.md shows a whole test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from kco_emulator.testing import EmulatorProcess, KcoEmulator

SETTINGS_MARKER = "kco_emulator_settings"
# pytest-base-url (pulled in by pytest-playwright, which kco_emulator.playwright works with) defines its
# `base_url` fixture in a way pytest 9 warns about on every test that uses it; nothing a merchant can fix.
BASE_URL_WARNING = ("ignore:Session-scoped fixtures defined as instance methods"
                    ":pytest.PytestRemovedIn10Warning")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{SETTINGS_MARKER}(**settings): emulator settings for this test, applied after the reset "
        "(e.g. validation_timeout_seconds=1)",
    )
    config.addinivalue_line("filterwarnings", BASE_URL_WARNING)


@pytest.fixture(scope="session")
def kco_emulator_environment() -> dict[str, str]:
    return {}


@pytest.fixture(scope="session")
def kco_emulator_server(kco_emulator_environment: dict[str, str]) -> Iterator[EmulatorProcess]:
    with EmulatorProcess(env=kco_emulator_environment) as process:
        yield process


@pytest.fixture
def kco_emulator_settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    # Outermost first, so a test's own marker wins over its class's or module's.
    for marker in reversed(list(request.node.iter_markers(SETTINGS_MARKER))):
        settings.update(marker.kwargs)
    return settings


@pytest.fixture
def kco_emulator(kco_emulator_server: EmulatorProcess, kco_emulator_settings: dict[str, Any]) -> KcoEmulator:
    emulator = KcoEmulator(kco_emulator_server.url)
    emulator.reset()
    if kco_emulator_settings:
        emulator.settings(**kco_emulator_settings)
    return emulator
