"""Journey: a shopper puts two products in the cart and opens the checkout.

The checkout page is where the shop brings KCO in: the first visit creates one KCO order for the cart (and
makes no other KCO call), the page shows the cart editor, and KCO's widget renders the same lines and total.
"""

from playwright.sync_api import expect

from e2e.journeys import BrowserShopper, assert_order_equals_cart, kco_operations


def test_opening_the_checkout_creates_one_order_and_the_widget_shows_its_lines(
        page, shop_server, emulator, screenshot):
    shopper = BrowserShopper(page, shop_server.url)
    shopper.adds_to_cart("Enamel mug")
    shopper.adds_to_cart("Wool socks", times=2)

    shopper.opens_checkout()

    expect(shopper.quantity_of("Enamel mug")).to_have_value("1")
    expect(shopper.quantity_of("Wool socks")).to_have_value("2")
    expect(shopper.widget.line("Enamel mug")).to_be_visible()
    expect(shopper.widget.line("Wool socks")).to_be_visible()
    cart = shopper.cart()
    expect(shopper.widget.total).to_have_text(shopper.money(cart["order_amount"], cart))
    screenshot("checkout")

    assert kco_operations(emulator) == ["create"]
    assert_order_equals_cart(emulator.order(shopper.order_id()), cart)
