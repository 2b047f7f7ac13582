"""Journey: the shopper reloads the checkout, and changes the cart in another tab.

A reload with an unchanged cart costs one KCO read and nothing more: the shop compares what KCO holds with the
cart and finds nothing to update. When the cart changed elsewhere (a second tab on the catalogue, which makes
no KCO call), the next load of the checkout reads once and updates once, and shows the new cart.
"""

from playwright.sync_api import expect

from e2e.journeys import BrowserShopper, assert_order_equals_cart, kco_operations


def test_reloading_with_the_same_cart_reads_once_and_never_updates(page, shop_server, emulator):
    shopper = BrowserShopper(page, shop_server.url)
    shopper.adds_to_cart("Enamel mug")
    shopper.opens_checkout()
    shopper.waits_until_the_page_is_quiet()
    calls_before = len(kco_operations(emulator))

    shopper.reloads_checkout()
    # Counted only once the page has nothing left to send, so a late follow-up request would be counted too.
    shopper.waits_until_the_page_is_quiet()

    assert kco_operations(emulator)[calls_before:] == ["read"]
    expect(shopper.widget.line("Enamel mug")).to_be_visible()


def test_a_cart_changed_in_another_tab_is_updated_once_on_the_next_load(
        page, context, shop_server, emulator, screenshot):
    shopper = BrowserShopper(page, shop_server.url)
    shopper.adds_to_cart("Enamel mug")
    shopper.opens_checkout()
    calls_before = len(kco_operations(emulator))

    other_tab = BrowserShopper(context.new_page(), shop_server.url)
    other_tab.adds_to_cart("Steel water bottle")
    assert kco_operations(emulator)[calls_before:] == []
    shopper.reloads_checkout()

    expect(shopper.quantity_of("Steel water bottle")).to_have_value("1")
    expect(shopper.widget.line("Steel water bottle")).to_be_visible()
    screenshot("reloaded")
    shopper.waits_until_the_page_is_quiet()
    assert kco_operations(emulator)[calls_before:] == ["read", "update"]
    assert_order_equals_cart(emulator.order(shopper.order_id()), shopper.cart())
