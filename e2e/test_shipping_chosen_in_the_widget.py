"""Journey: the shopper picks express delivery inside the KCO widget.

KCO asks the shop through the shipping_option_update callback (kco-rules: refine-callbacks), and the shop
answers with the express shipping line, so the widget's total grows. The widget reports its new total
(order_total_change, kco-rules: widget-events); kco-sync.js sees that it differs from what the page shows and
fetches the cart from the shop, so the page's shipping line and totals agree with the widget again. No KCO
update is needed: KCO already has it.
"""

from playwright.sync_api import expect

from e2e.journeys import BrowserShopper, assert_order_equals_cart, count_of

EXPRESS_IN_SEK = 12900  # shop/catalogue.py


def test_express_shipping_chosen_in_the_widget_shows_in_the_pages_totals(
        page, shop_server, emulator, screenshot):
    shopper = BrowserShopper(page, shop_server.url)
    shopper.adds_to_cart("Steel water bottle")
    shopper.opens_checkout()
    with_standard = shopper.cart()

    express = shopper.says("Express delivery")
    shopper.widget.chooses_shipping(express)

    expect(shopper.shipping_amount).to_have_text(shopper.money(EXPRESS_IN_SEK, with_standard))
    expect(shopper.shipping_name).to_have_text(express)
    shopper.waits_until_the_page_is_in_step()
    cart = shopper.cart()
    assert cart["shipping"]["id"] == "express"
    expect(shopper.order_amount).to_have_text(shopper.money(cart["order_amount"], cart))
    expect(shopper.widget.total).to_have_text(shopper.money(cart["order_amount"], cart))
    screenshot("express")
    products = with_standard["order_amount"] - with_standard["shipping"]["total_amount"]
    assert cart["order_amount"] == products + EXPRESS_IN_SEK
    assert count_of(emulator, "update") == 0
    assert_order_equals_cart(emulator.order(shopper.order_id()), cart)
