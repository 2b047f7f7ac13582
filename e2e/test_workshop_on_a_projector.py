"""Journey: a presenter shows the checkout and its KCO inspector on a 1280×720 projector (docs/workshop.md).

Browser zoom is emulated the way Chromium applies it: zoom z leaves a CSS viewport of 1280/z × 720/z px,
drawn at z device pixels per CSS px (the context's device_scale_factor), so 125% is 1024×576 at 1.25 and 150%
853×480 at 1.5. At each, with the inspector open, a click on a quantity field lands on the field (Playwright
refuses a click that another element would receive) and at least five timeline entries are in view; so too at
the presenter text size, which sets every text of the inspector to 18 px or more and which the tab remembers.

The screenshots of docs/workshop.md are taken here: into e2e/screenshots/ on every run, and over
docs/images/ with `make screenshots` (README_SCREENSHOTS=1), as e2e/test_workshop_inspector.py takes the
README's.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from e2e.journeys import BrowserShopper

PROJECTOR = (1280, 720)
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
DOC_IMAGES = Path(__file__).resolve().parent.parent / "docs" / "images"
REFRESH_DOC_SCREENSHOTS = os.environ.get("README_SCREENSHOTS") == "1"
PRESENTER_TEXT_PX = 18

# Timeline entries wholly in view: inside the timeline's own scroll box and inside the viewport.
ENTRIES_IN_VIEW = """timeline => {
  const box = timeline.getBoundingClientRect();
  const top = Math.max(box.top, 0);
  const bottom = Math.min(box.bottom, window.innerHeight);
  return [...timeline.children].filter((entry) => {
    const shown = entry.getBoundingClientRect();
    return shown.top >= top && shown.bottom <= bottom;
  }).length;
}"""
# The smallest font size (px) of any text in the inspector: elements with text of their own, and controls.
SMALLEST_TEXT_PX = """panel => Math.min(...[panel, ...panel.querySelectorAll("*")]
  .filter((element) => element.matches("button, select, option")
    || [...element.childNodes].some((node) => node.nodeType === Node.TEXT_NODE && node.textContent.trim()))
  .map((element) => parseFloat(getComputedStyle(element).fontSize)))"""


@pytest.fixture
def zoom() -> int:
    """Browser zoom in percent; a test parametrizes it."""
    return 100


@pytest.fixture
def browser_context_args(browser_context_args: dict[str, Any], zoom: int) -> dict[str, Any]:
    scale = zoom / 100
    width, height = PROJECTOR
    viewport = {"width": round(width / scale), "height": round(height / scale)}
    return {**browser_context_args, "viewport": viewport, "device_scale_factor": scale}


def smallest_inspector_text_px(page: Page) -> float:
    return page.locator("[data-kco-inspector]").evaluate(SMALLEST_TEXT_PX)


def doc_screenshot(page: Page, name: str) -> None:
    """The inspector as the projector shows it, for docs/workshop.md: only its part of the viewport."""
    SCREENSHOTS.mkdir(exist_ok=True)
    taken = SCREENSHOTS / f"{name}.png"
    shown = page.locator("[data-kco-inspector]").evaluate("""panel => {
      const box = panel.getBoundingClientRect();
      const top = Math.max(box.top, 0);
      return {x: box.left, y: top, width: box.width, height: Math.min(box.bottom, window.innerHeight) - top};
    }""")
    page.screenshot(path=str(taken), clip=shown)
    if REFRESH_DOC_SCREENSHOTS:
        (DOC_IMAGES / f"{name}.png").write_bytes(taken.read_bytes())


@pytest.mark.parametrize(("zoom", "presenter", "picture"), [
    (100, False, None),
    (125, False, "workshop-125"),
    (150, False, None),
    (100, True, "workshop-presenter"),
], ids=["100%", "125%", "150%", "100% at the presenter size"])
def test_the_open_inspector_leaves_the_quantity_fields_clickable_and_five_entries_in_view(
        page, shop_server, emulator, zoom, presenter, picture):
    shopper = BrowserShopper(page, shop_server.url)
    shopper.adds_to_cart("Enamel mug")
    shopper.adds_to_cart("Steel water bottle")
    page.goto(f"{shop_server.url}/checkout{'?presenter=1' if presenter else ''}")
    shopper.widget.kco.wait_ready()
    page.get_by_text("KCO inspector", exact=True).click()
    # The longest story a step tells: an update refused, a read, two retries, an abort and a new order.
    page.get_by_role("button", name="Fail next update (503)").click()
    expect(page.locator("[data-inspector-status]")).to_contain_text("answered 503")

    shopper.quantity_of("Enamel mug").click()
    shopper.sets_quantity("Enamel mug", 2)
    timeline = page.locator("[data-inspector-timeline]")
    expect(timeline.locator('[data-operation="read"]')).to_have_count(2)  # the second: the new order's page
    shopper.widget.expect_ready()
    shopper.quantity_of("Steel water bottle").click()

    timeline.evaluate("timeline => timeline.closest('[data-kco-inspector]').scrollIntoView()")
    assert timeline.locator("li").count() > 5
    assert timeline.evaluate(ENTRIES_IN_VIEW) >= 5
    if picture:
        # The doc's picture shows the story from the refused update on: its retries' stamps, the new order.
        refused = timeline.locator("li", has=page.locator('[data-status="503"]')).first
        refused.evaluate("entry => { entry.parentElement.scrollTop += entry.getBoundingClientRect().top"
                         " - entry.parentElement.getBoundingClientRect().top; }")
        doc_screenshot(page, picture)


def test_the_presenter_size_sets_every_inspector_text_to_18_px_and_the_tab_remembers_it(
        page, context, shop_server, emulator):
    shopper = BrowserShopper(page, shop_server.url)
    shopper.adds_to_cart("Enamel mug")
    page.goto(f"{shop_server.url}/checkout?presenter=1")
    shopper.widget.kco.wait_ready()
    page.get_by_text("KCO inspector", exact=True).click()
    presenter_size = page.get_by_role("button", name="Presenter text size")
    expect(page.locator('[data-inspector-timeline] [data-operation="create"]')).to_have_count(1)

    expect(presenter_size).to_have_attribute("aria-pressed", "true")
    assert smallest_inspector_text_px(page) >= PRESENTER_TEXT_PX
    expect(page).to_have_url(f"{shop_server.url}/checkout")  # the flag is taken: the tab remembers it
    shopper.reloads_checkout()
    assert smallest_inspector_text_px(page) >= PRESENTER_TEXT_PX

    other_tab = context.new_page()
    other_tab.goto(f"{shop_server.url}/checkout")
    assert smallest_inspector_text_px(other_tab) < PRESENTER_TEXT_PX
    presenter_size.click()
    expect(presenter_size).to_have_attribute("aria-pressed", "false")
    assert smallest_inspector_text_px(page) < PRESENTER_TEXT_PX
    shopper.reloads_checkout()
    assert smallest_inspector_text_px(page) < PRESENTER_TEXT_PX
