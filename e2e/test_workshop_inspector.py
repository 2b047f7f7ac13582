"""Journey: a workshop presenter opens the KCO inspector, changes a quantity, then expires the order.

The panel lists each KCO call the shop made for this session with its status. A quantity change shows up as
one update answered 200, between kco-sync's suspend and resume; after "Expire order" (the emulator's clock
moves 49 hours on, kco-rules: expiry-48h) the next change shows the update answered 404 and the create that
replaced the order. On the way it takes the README's screenshot (after the update): into e2e/screenshots/ on
every run, and over docs/images/checkout-inspector.png with `make screenshots` (README_SCREENSHOTS=1), so the
picture in the README is always one this test made. That the widget swaps to the new order is
e2e/test_expired_order.py's subject, not this test's.
"""

import os
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from e2e.journeys import BrowserShopper

README_SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "images" / "checkout-inspector.png"
REFRESH_README_SCREENSHOT = os.environ.get("README_SCREENSHOTS") == "1"


def inspector_calls(page: Page, operation: str) -> Locator:
    """The inspector's rows for KCO calls of one operation (create, read, update, ...), oldest first."""
    return page.locator(f'[data-kco-inspector] [data-source="KCO call"][data-operation="{operation}"]')


# The expired order's widget still asks KCO for its state until the page loads the new one: 404.
@pytest.mark.expected_console_errors("/widget/orders/")
def test_the_inspector_shows_the_update_and_after_expiry_the_create_that_replaced_the_order(
        page, shop_server, emulator, screenshot):
    page.set_viewport_size({"width": 1400, "height": 1300})  # the whole page, for the screenshot
    shopper = BrowserShopper(page, shop_server.url)
    shopper.adds_to_cart("Enamel mug")
    shopper.opens_checkout()
    first_order_id = shopper.order_id()

    page.get_by_text("KCO inspector", exact=True).click()
    expect(inspector_calls(page, "create")).to_have_count(1)

    shopper.sets_quantity("Enamel mug", 2)
    shopper.waits_until_the_page_is_in_step()
    update = inspector_calls(page, "update")
    expect(update).to_have_count(1)
    expect(update.locator(".status")).to_have_text("200")
    expect(update.locator(".changes")).to_contain_text("quantity 1 → 2")
    # Interleaved with the page's events: kco-sync suspended the widget before the update, resumed it after.
    resume = page.locator('[data-inspector-timeline] > li[data-source="kco-sync"]', has_text="resume")
    expect(resume).to_have_count(1)
    timeline = page.locator("[data-inspector-timeline] > li").evaluate_all(
        "rows => rows.map(row => `${row.dataset.source} ${row.querySelector('.what').textContent}`)")
    the_update = f"KCO call POST /checkout/v3/orders/{first_order_id}"
    assert timeline.index("kco-sync suspend") < timeline.index(the_update) < timeline.index("kco-sync resume")
    shopper.widget.expect_ready()
    page.evaluate("window.scrollTo(0, 0)")  # the open panel is fixed to the viewport's top
    taken = screenshot("inspector-open")
    if REFRESH_README_SCREENSHOT:
        README_SCREENSHOT.write_bytes(taken.read_bytes())

    page.get_by_role("button", name="Expire order").click()
    expect(page.locator("[data-inspector-status]")).to_contain_text("the order has expired")
    shopper.sets_quantity("Enamel mug", 3)
    shopper.waits_until_the_page_is_in_step()

    expect(inspector_calls(page, "update").last.locator(".status")).to_have_text("404")
    replacing = inspector_calls(page, "create").last
    expect(replacing.locator(".status")).to_have_text("201")
    expect(replacing).to_contain_text(f"replaces {first_order_id}")
    expect(inspector_calls(page, "create")).to_have_count(2)
