"""Browser settings for the end-to-end suite.

Playwright's own Chromium is used where it is installed; otherwise Debian's `chromium`
(`apt-get install -y chromium`), since `playwright install` cannot download everywhere.
The flags keep Chromium from calling home, which a closed network answers with errors.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

SCREENSHOTS = Path(__file__).parent / "screenshots"
QUIET_CHROMIUM = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _bundled_chromium_installed() -> bool:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        return Path(playwright.chromium.executable_path).exists()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    args = {**browser_type_launch_args, "args": QUIET_CHROMIUM}
    if not _bundled_chromium_installed():
        system_chromium = shutil.which("chromium")
        if system_chromium is None:
            pytest.skip("no Chromium: run `apt-get install -y chromium` (make test does this as root)")
        args["executable_path"] = system_chromium
    return args


@pytest.fixture
def screenshot(page: Any, request: pytest.FixtureRequest):
    """Save a named screenshot of the page to e2e/screenshots/ (ignored by git) for debugging."""
    SCREENSHOTS.mkdir(exist_ok=True)

    def take(name: str) -> Path:
        path = SCREENSHOTS / f"{request.node.name}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
