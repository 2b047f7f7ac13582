"""Journey: the shopper clicks a quantity up ten times in quick succession.

kco-sync.js waits for a short pause before sending and never has two requests in flight, so the clicks are
coalesced: KCO sees at most three updates, the last state the shopper made wins, and KCO's order ends up
exactly equal to the cart on the page.
"""

from playwright.sync_api import expect

from e2e.journeys import BrowserShopper, assert_order_equals_cart, count_of


def test_ten_quick_clicks_end_in_the_final_cart_with_at_most_three_updates(
        page, shop_server, emulator, screenshot):
    shopper = BrowserShopper(page, shop_server.url)
    shopper.adds_to_cart("Wool socks")
    shopper.opens_checkout()
    quantity = shopper.quantity_of("Wool socks")

    for _ in range(10):
        quantity.press("ArrowUp")
    shopper.waits_until_the_page_is_in_step()
    shopper.widget.expect_ready()

    expect(quantity).to_have_value("11")
    cart = shopper.cart()
    assert [(item["sku"], item["quantity"]) for item in cart["items"]] == [("socks-004", 11)]
    expect(shopper.widget.line("Wool socks")).to_contain_text("11 × Wool socks")
    expect(shopper.widget.total).to_have_text(shopper.money(cart["order_amount"], cart))
    screenshot("after-ten-clicks")
    assert 1 <= count_of(emulator, "update") <= 3
    assert_order_equals_cart(emulator.order(shopper.order_id()), cart)
