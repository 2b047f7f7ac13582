"""Journey: the shopper keeps their country but switches the checkout's language (Swedish to English).

The language is part of the KCO order (`locale`), so it is one KCO update, but only the language changes:
the currency, the prices and the amounts stay as they are (kco-rules: locales: the locale never changes
country or currency). The shop's own words in the order follow the language: the shipping line's name.
"""

from playwright.sync_api import expect

from e2e.journeys import BrowserShopper, assert_order_equals_cart, count_of


def test_switching_language_changes_only_the_orders_locale(page, shop_server, emulator, screenshot):
    shopper = BrowserShopper(page, shop_server.url)
    shopper.adds_to_cart("Organic cotton T-shirt")
    shopper.opens_checkout()
    before = shopper.cart()
    order_before = emulator.order(shopper.order_id())
    expect(shopper.widget.language).to_have_attribute("lang", "sv")

    shopper.chooses_language("en-SE")
    shopper.waits_until_the_page_is_in_step()
    shopper.widget.expect_ready()

    expect(shopper.widget.language).to_have_attribute("lang", "en")
    cart = shopper.cart()
    expect(shopper.order_amount).to_have_text(shopper.money(before["order_amount"], cart))
    screenshot("english")
    assert (cart["country"], cart["currency"], cart["locale"]) == ("SE", "SEK", "en-SE")
    assert count_of(emulator, "update") == 1
    order = emulator.order(shopper.order_id())
    assert_order_equals_cart(order, cart)
    assert order["order_amount"] == order_before["order_amount"]
    unnamed = [({**line, "name": None}) for line in order["order_lines"]]
    assert unnamed == [({**line, "name": None}) for line in order_before["order_lines"]]
    assert [line["name"] for line in order["order_lines"]] == ["Organic cotton T-shirt", "Standard delivery"]
