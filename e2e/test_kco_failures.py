"""Journey: KCO fails while the shopper changes the cart, and the shopper's browser goes offline.

Whatever goes wrong, the widget is resumed (a suspended widget is a checkout nobody can finish) and the page
ends in a state the shop agrees with:
- KCO answers the update with 503: the shop gives up that order and creates a new one; the page swaps the
  widget and the change goes through without bothering the shopper (notes §5.2, K-ERR).
- KCO cannot be reached at all: the shop keeps the change in the cart and says so; the page shows the
  message and the cart as the shop holds it.
- The shopper's browser is offline: nothing reached the shop, so the page puts the quantity back.
"""

import re
from pathlib import Path

from playwright.sync_api import expect

from e2e.journeys import Shopper, SyncEvents, assert_order_equals_cart, kco_operations

STATIC_JS = Path(__file__).resolve().parent.parent / "static" / "js"


def test_an_update_answered_503_moves_the_change_to_a_new_order(page, shop_server, emulator, screenshot):
    shopper = Shopper(page, shop_server.url)
    sync_events = SyncEvents(page)
    shopper.adds_to_cart("Enamel mug")
    shopper.opens_checkout()
    first_order_id = shopper.order_id()
    calls_before = len(kco_operations(emulator))
    emulator.fault("update", status=503)

    shopper.sets_quantity("Enamel mug", 4)
    shopper.waits_until_the_page_is_in_step()

    # The shop recovered with a new order, so the page's request succeeded; the new widget was resumed.
    sync_events.expect_resumed_after_each(("/api/cart", True))
    shopper.widget.expect_ready()
    expect(shopper.quantity_of("Enamel mug")).to_have_value("4")
    expect(shopper.widget.line("Enamel mug")).to_contain_text("4 × Enamel mug")
    screenshot("new-order")
    new_order_id = shopper.order_id()
    assert new_order_id != first_order_id
    assert kco_operations(emulator)[calls_before:] == ["update", "abort", "create"]
    assert_order_equals_cart(emulator.order(new_order_id), shopper.cart())


def test_unreachable_kco_leaves_the_widget_resumed_shows_a_message_and_keeps_the_cart(
        page, shop_server, emulator, screenshot):
    shopper = Shopper(page, shop_server.url)
    sync_events = SyncEvents(page)
    shopper.adds_to_cart("Enamel mug")
    shopper.opens_checkout()
    order_id = shopper.order_id()
    calls_before = len(kco_operations(emulator))
    emulator.fault("update", mode="disconnect")

    shopper.sets_quantity("Enamel mug", 5)
    shopper.waits_until_the_page_gives_up()

    expect(shopper.message).to_contain_text(re.compile("could not be reached", re.IGNORECASE))
    sync_events.expect_resumed_after_each(("/api/cart", False))
    shopper.widget.expect_ready()
    expect(shopper.quantity_of("Enamel mug")).to_have_value("5")
    screenshot("kco-unreachable")
    cart = shopper.cart()
    assert [(item["sku"], item["quantity"]) for item in cart["items"]] == [("mug-001", 5)]
    # The update may have reached KCO before the connection dropped: the shop keeps the order, never a second.
    assert shopper.order_id() == order_id
    assert "create" not in kco_operations(emulator)[calls_before:]


def test_an_offline_shopper_sees_a_message_and_the_cart_as_the_shop_holds_it(
        page, context, shop_server, emulator, screenshot):
    shopper = Shopper(page, shop_server.url)
    sync_events = SyncEvents(page)
    shopper.adds_to_cart("Enamel mug")
    shopper.opens_checkout()
    calls_before = kco_operations(emulator)
    context.set_offline(True)

    shopper.sets_quantity("Enamel mug", 6)
    shopper.waits_until_the_page_gives_up()

    expect(shopper.message).to_contain_text("offline")
    sync_events.expect_resumed_after_each(("/api/cart", False))
    shopper.widget.expect_ready()
    expect(shopper.quantity_of("Enamel mug")).to_have_value("1")
    screenshot("offline")
    context.set_offline(False)
    assert kco_operations(emulator) == calls_before
    assert shopper.cart()["items"][0]["quantity"] == 1


def test_every_suspend_in_the_page_scripts_is_resumed_in_a_finally():
    """The rule the journeys above rely on, checked in the source: suspend, try, and resume in finally."""
    for script in STATIC_JS.glob("*.js"):
        lines = script.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines):
            if "suspend(" not in line:
                continue
            following = "\n".join(lines[number + 1:number + 12])
            assert re.search(r"^\s*try \{.*\} finally \{\s*\n[^\n]*resume\(\)", following, re.S | re.M), (
                f"{script.name}:{number + 1} suspends the widget without resuming it in a finally")
