"""Journey: on the checkout page, the shopper changes how many of a product they want.

kco-sync.js suspends the widget (so nobody can pay for the old cart), posts the whole cart to the shop, the
shop updates the KCO order directly (one update, no read first), the page shows the new totals, and the widget
is resumed and shows them too. Afterwards KCO's order is exactly the shop's cart.
"""

from playwright.sync_api import expect

from e2e.journeys import BrowserShopper, SyncEvents, assert_order_equals_cart, kco_operations


def test_changing_a_quantity_suspends_the_widget_and_shows_the_new_total(
        page, shop_server, emulator, screenshot):
    shopper = BrowserShopper(page, shop_server.url)
    sync_events = SyncEvents(page)
    shopper.adds_to_cart("Steel water bottle")
    shopper.opens_checkout()
    calls_before = len(kco_operations(emulator))
    # KCO answers the update slowly, so the suspended widget can be seen while the shop waits for it.
    emulator.fail_next("update", status=None, delay_ms=1000)

    shopper.sets_quantity("Steel water bottle", 3)

    shopper.widget.expect_suspended()
    # Without auto-resume: KCO would otherwise wake the widget after 10 s, update or not (kco-rules:
    # suspend-resume).
    expect(shopper.widget.container).to_have_attribute("data-kco-auto-resume", "off")
    screenshot("suspended")
    shopper.waits_until_the_page_is_in_step()
    sync_events.expect_resumed_after_each(("/api/cart", True))
    shopper.widget.expect_ready()
    cart = shopper.cart()
    assert [(item["sku"], item["quantity"]) for item in cart["items"]] == [("bottle-003", 3)]
    expect(shopper.order_amount).to_have_text(shopper.money(cart["order_amount"], cart))
    expect(shopper.page.locator("[data-kco-line-total]")).to_have_text(
        shopper.money(3 * cart["items"][0]["unit_price"], cart))
    expect(shopper.widget.line("Steel water bottle")).to_contain_text("3 × Steel water bottle")
    expect(shopper.widget.total).to_have_text(shopper.money(cart["order_amount"], cart))
    screenshot("resumed")

    # The marks a benchmark reads: from the shopper's change until the widget was resumed.
    assert page.evaluate("performance.getEntriesByName('kco-sync:change-to-resumed').length") == 1
    assert kco_operations(emulator)[calls_before:] == ["update"]
    assert_order_equals_cart(emulator.order(shopper.order_id()), cart)

