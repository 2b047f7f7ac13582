"""Journey: the shopper comes back to an open checkout after two days and changes a quantity.

KCO forgets an order 48 hours after its last update or shopper interaction (kco-rules: expiry-48h); the
emulator's clock is moved 49 hours on. The shop's update gets 404, so it creates a new order with the cart and
answers with its order id; the page, showing another order, reloads into the new widget
(kco-rules: page-follows-order). The shopper sees the new quantity in a working widget and no error.
"""

import re

from playwright.sync_api import expect

from e2e.journeys import BrowserShopper, assert_order_equals_cart, kco_operations


def test_a_change_to_an_expired_order_creates_a_new_order_and_reloads_into_its_widget(
        page, shop_server, emulator, screenshot):
    shopper = BrowserShopper(page, shop_server.url)
    shopper.adds_to_cart("Dotted notebook")
    shopper.opens_checkout()
    expired_order_id = shopper.order_id()
    calls_before = len(kco_operations(emulator))
    emulator.advance(hours=49)

    with page.expect_navigation():
        shopper.sets_quantity("Dotted notebook", 2)
    shopper.waits_until_the_page_is_in_step()

    new_order_id = shopper.order_id()
    assert new_order_id != expired_order_id
    new_frame = shopper.widget.container.locator("iframe")
    expect(new_frame).to_have_attribute("src", re.compile(re.escape(new_order_id)))
    shopper.widget.expect_ready()
    expect(shopper.widget.line("Dotted notebook")).to_contain_text("2 × Dotted notebook")
    expect(shopper.message).to_have_text("")
    screenshot("new-order")
    assert kco_operations(emulator)[calls_before:] == ["update", "create", "read"]  # read: the reload
    assert_order_equals_cart(emulator.order(new_order_id), shopper.cart())
