"""Journey: KCO fails while the shopper changes the cart, and the shopper's browser goes offline.

Whatever goes wrong, the widget is resumed (a suspended widget is a checkout nobody can finish) and the page
ends in a state the shop agrees with:
- KCO answers the update with 503, and again on both of the shop's retries: the shop gives up that order and
  creates a new one; the page reloads into the new widget and the change goes through without bothering the
  shopper (kco-rules: retry-refused-update, new-order-on-error, page-follows-order).
- KCO cannot be reached at all: the shop keeps the change in the cart and says so; the page shows the
  message and the cart as the shop holds it.
- The shopper's browser is offline: nothing reached the shop, so the page puts the quantity back.
"""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from e2e.journeys import BrowserShopper, SyncEvents, assert_order_equals_cart, kco_operations
from kco.markets import MARKETS

STATIC_JS = Path(__file__).resolve().parent.parent / "static" / "js"


def test_an_update_answered_503_three_times_moves_the_change_to_a_new_order(page, shop_server, emulator,
                                                                          screenshot):
    shopper = BrowserShopper(page, shop_server.url)
    shopper.adds_to_cart("Enamel mug")
    shopper.opens_checkout()
    first_order_id = shopper.order_id()
    calls_before = len(kco_operations(emulator))
    emulator.fail_next("update", status=503, times=3)  # the update and both retries (kco/checkout.py)

    with page.expect_navigation():  # another order than the page shows: the page reloads into it
        shopper.sets_quantity("Enamel mug", 4)
    shopper.waits_until_the_page_is_in_step()

    # The shop recovered with a new order, so the page's request succeeded; then the page reloaded.
    shopper.widget.expect_ready()
    expect(shopper.sync_root).to_have_attribute("data-kco-order-id", shopper.order_id())
    expect(shopper.quantity_of("Enamel mug")).to_have_value("4")
    expect(shopper.widget.line("Enamel mug")).to_contain_text("4 × Enamel mug")
    screenshot("new-order")
    new_order_id = shopper.order_id()
    assert new_order_id != first_order_id
    # The page load after the reload reads the new order once.
    assert kco_operations(emulator)[calls_before:] == [
        "update", "read", "update", "update", "abort", "create", "read"]
    assert_order_equals_cart(emulator.order(new_order_id), shopper.cart())


@pytest.mark.expected_console_errors("the server responded with a status of 503")  # the shop's answer
def test_unreachable_kco_leaves_the_widget_resumed_shows_a_message_and_keeps_the_cart(
        page, shop_server, emulator, screenshot):
    shopper = BrowserShopper(page, shop_server.url)
    sync_events = SyncEvents(page)
    shopper.adds_to_cart("Enamel mug")
    shopper.opens_checkout()
    order_id = shopper.order_id()
    calls_before = len(kco_operations(emulator))
    emulator.disconnect_next("update")

    shopper.sets_quantity("Enamel mug", 5)
    shopper.waits_until_the_page_gives_up()

    expect(shopper.message).to_have_text(shopper.says(
        "The checkout could not be reached just now; nothing is lost. Please try again in a moment."))
    sync_events.expect_resumed_after_each(("/api/cart", False))
    shopper.widget.expect_ready()
    expect(shopper.quantity_of("Enamel mug")).to_have_value("5")
    screenshot("kco-unreachable")
    cart = shopper.cart()
    assert [(item["sku"], item["quantity"]) for item in cart["items"]] == [("mug-001", 5)]
    # The update may have reached KCO before the connection dropped: the shop keeps the order, never a second.
    assert shopper.order_id() == order_id
    assert "create" not in kco_operations(emulator)[calls_before:]


@pytest.mark.expected_console_errors("net::ERR_INTERNET_DISCONNECTED")  # every request while offline
def test_an_offline_shopper_sees_a_message_and_the_cart_as_the_shop_holds_it(
        page, context, shop_server, emulator, screenshot):
    shopper = BrowserShopper(page, shop_server.url)
    sync_events = SyncEvents(page)
    shopper.adds_to_cart("Enamel mug")
    shopper.opens_checkout()
    calls_before = kco_operations(emulator)
    context.set_offline(True)

    shopper.sets_quantity("Enamel mug", 6)
    shopper.waits_until_the_page_gives_up()

    # No answer from the shop to show: the page's own words (static/js/kco-sync-messages.js), in the cart's
    # language (the Swedish market's sv-SE).
    expect(shopper.message).to_have_text("Du verkar vara offline. Varukorgen är som den visas; försök igen.")
    sync_events.expect_resumed_after_each(("/api/cart", False))
    shopper.widget.expect_ready()
    expect(shopper.quantity_of("Enamel mug")).to_have_value("1")
    screenshot("offline")
    context.set_offline(False)
    assert kco_operations(emulator) == calls_before
    assert shopper.cart()["items"][0]["quantity"] == 1


def test_every_suspend_in_the_page_scripts_is_resumed_in_a_finally():
    """The rule the journeys above rely on, checked in the source: suspend, try, and resume in finally."""
    suspends = 0
    for script in sorted(STATIC_JS.rglob("*.js")):
        lines = script.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines):
            if "suspend(" not in line:
                continue
            suspends += 1
            # A try opens within a few lines of the suspend; its own finally (same indentation) resumes first.
            opening = next((at for at in range(number + 1, number + 5) if lines[at].strip() == "try {"),
                           None)
            assert opening is not None, f"{script.name}:{number + 1} suspends the widget outside a try"
            indent = lines[opening][:len(lines[opening]) - len(lines[opening].lstrip())]
            finally_line = f"{indent}}} finally {{"
            closing = next((at for at in range(opening + 1, len(lines)) if lines[at] == finally_line), None)
            assert closing is not None and "resume()" in lines[closing + 1], (
                f"{script.name}:{number + 1} suspends the widget without resuming it in a finally")
    # No suspend at all would make the loop above pass on anything, e.g. after a rename of the scripts.
    assert suspends > 0, f"no suspend( in {STATIC_JS}: the page no longer suspends the widget for an update"


def test_the_pages_own_failure_messages_cover_every_language_the_shop_sells_in():
    """Timeouts and offline have no answer from the shop to show: the page's table speaks each language."""
    table = (STATIC_JS / "kco-sync-messages.js").read_text(encoding="utf-8")
    entries = dict(re.findall(r"^  ([a-z]{2}): \{(.*?)^  \},", table, re.S | re.M))
    languages = {locale.split("-")[0] for market in MARKETS.values() for locale in market.locales}
    assert languages <= set(entries), f"no messages for {sorted(languages - set(entries))}"
    for language, entry in entries.items():
        keys = sorted(re.findall(r"^    (\w+):", entry, re.M))
        assert keys == ["cannotComplete", "failed", "offline", "shippingFailed", "timeout"], language
