"""Journey: the cart changes in another tab just before the shopper presses Complete purchase.

The widget still shows the old order, but the shop's validation callback (kco-rules: validation-callback)
compares the order with the cart the shop now holds, finds a difference and answers 303 to the checkout page
with an explanation. KCO sends the shopper there instead of completing the purchase; the page brings the order
in step with the new cart, and the shopper can check it and pay again.
"""

from playwright.sync_api import expect

from e2e.journeys import BrowserShopper, assert_order_equals_cart


def test_a_cart_changed_before_complete_purchase_sends_the_shopper_back_with_a_message(
        page, context, shop_server, emulator, screenshot):
    shopper = BrowserShopper(page, shop_server.url)
    shopper.adds_to_cart("Enamel mug")
    shopper.opens_checkout()
    order_id = shopper.order_id()
    shopper.widget.fills_in_the_test_person()

    BrowserShopper(context.new_page(), shop_server.url).adds_to_cart("Wool socks")
    shopper.widget.completes_purchase()

    page.wait_for_url("**/checkout?error=cart_changed")
    expect(shopper.message).to_have_text(shopper.says(
        "Your cart changed while you were paying, so the purchase was stopped. Please check your order and "
        "complete it again."))
    shopper.widget.expect_ready()
    expect(shopper.quantity_of("Wool socks")).to_have_value("1")
    expect(shopper.widget.line("Wool socks")).to_be_visible()
    screenshot("sent-back")
    order = emulator.order(order_id)
    assert order["status"] == "checkout_incomplete"
    assert_order_equals_cart(order, shopper.cart())
