"""Browser settings for the end-to-end suite.

Playwright's own Chromium is used where it is installed; otherwise Debian's `chromium`
(`apt-get install -y chromium`), since `playwright install` cannot download everywhere.
The flags keep Chromium from calling home, which a closed network answers with errors.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

SCREENSHOTS = Path(__file__).parent / "screenshots"
DOCS_IMAGES = Path(__file__).parent.parent / "docs" / "images"
# `make screenshots` sets it: the journeys that take the docs' screenshots write them over docs/images/.
REFRESH_DOCS_IMAGES = os.environ.get("README_SCREENSHOTS") == "1"
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


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "expected_console_errors(*fragments): console errors this test provokes on purpose, each "
        "matched by a fragment of its text or URL; any other console error fails the test")


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


@pytest.fixture
def docs_screenshot(page: Any):
    """A screenshot for the docs: what a 1280×720 window shows (Playwright's default viewport), into
    e2e/screenshots/ on every run and over docs/images/<name>.png with `make screenshots`."""

    def take(name: str) -> Path:
        assert page.viewport_size == {"width": 1280, "height": 720}
        SCREENSHOTS.mkdir(exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path))
        if REFRESH_DOCS_IMAGES:
            shutil.copyfile(path, DOCS_IMAGES / f"{name}.png")
        return path

    return take


@pytest.fixture
def page(page: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """Playwright's page, failing the test at teardown on a console error (in any tab of its context) that the
    test did not declare with @pytest.mark.expected_console_errors: a journey that passes with a broken
    resource or an uncaught exception in the console is not a clean journey."""
    errors: list[str] = []

    def on_console(message: Any) -> None:
        if message.type == "error":
            errors.append(f"{message.text} ({message.location.get('url', '')})")

    page.context.on("console", on_console)
    page.context.on("weberror", lambda web_error: errors.append(f"uncaught: {web_error.error}"))
    yield page
    expected = [fragment for marker in request.node.iter_markers("expected_console_errors")
                for fragment in marker.args]
    unexpected = [error for error in errors if not any(fragment in error for fragment in expected)]
    if unexpected:
        pytest.fail("console errors the test did not expect:\n" + "\n".join(unexpected), pytrace=False)
