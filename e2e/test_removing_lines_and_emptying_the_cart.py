"""Journey: the shopper removes a line, then the last one.

Removing a line is a cart change like any other: one KCO update, and KCO's order equals the smaller cart.
Removing the last line empties the cart: the page says so and drops the widget, and the shop makes no KCO call
at all, because an empty cart needs no order (not even when the page is reloaded).
"""

from playwright.sync_api import expect

from e2e.journeys import BrowserShopper, assert_order_equals_cart, kco_operations


def test_removing_a_line_updates_the_order_to_the_remaining_lines(page, shop_server, emulator, screenshot):
    shopper = BrowserShopper(page, shop_server.url)
    shopper.adds_to_cart("Enamel mug")
    shopper.adds_to_cart("Dotted notebook")
    shopper.opens_checkout()
    calls_before = len(kco_operations(emulator))

    shopper.removes("Enamel mug")
    shopper.waits_until_the_page_is_in_step()

    expect(shopper.quantity_of("Enamel mug")).to_have_count(0)
    expect(shopper.widget.line("Enamel mug")).to_have_count(0)
    expect(shopper.widget.line("Dotted notebook")).to_be_visible()
    screenshot("one-line-left")
    assert kco_operations(emulator)[calls_before:] == ["update"]
    cart = shopper.cart()
    assert [item["sku"] for item in cart["items"]] == ["notebook-005"]
    assert_order_equals_cart(emulator.order(shopper.order_id()), cart)


def test_emptying_the_cart_shows_the_empty_state_and_makes_no_kco_call(
        page, shop_server, emulator, screenshot):
    shopper = BrowserShopper(page, shop_server.url)
    shopper.adds_to_cart("Canvas tote bag")
    shopper.opens_checkout()
    calls_before = kco_operations(emulator)

    shopper.removes("Canvas tote bag")
    shopper.waits_until_the_page_is_in_step()

    expect(shopper.empty_cart_note).to_be_visible()
    expect(shopper.widget.container).to_have_count(0)
    screenshot("empty")
    page.reload()
    expect(shopper.empty_cart_note).to_be_visible()
    expect(shopper.widget.container).to_have_count(0)
    assert kco_operations(emulator) == calls_before
    assert shopper.cart()["items"] == []


def test_emptying_the_cart_keeps_the_page_it_happened_on(page, shop_server, kco_emulator):
    shopper = BrowserShopper(page, shop_server.url)
    shopper.adds_to_cart("Canvas tote bag")
    shopper.opens_checkout()
    shopper.waits_until_the_page_is_quiet()
    # A reload would look the same; a mark on this document's window would not survive it.
    page.evaluate("window.emptiedHere = true")

    shopper.removes("Canvas tote bag")
    shopper.waits_until_the_page_is_in_step()

    expect(shopper.empty_cart_note).to_be_visible()
    assert page.evaluate("window.emptiedHere === true"), "the page was loaded again"
