"""Journey: the shopper switches the shop's Country from Sweden to Germany to the United Kingdom.

Each switch is one KCO update that moves the order to the new market: country, currency, the country's
default language, the merchant's prices in that currency and that country's VAT. The page, the widget and the
KCO order all follow (kco-rules: market-change: update the ongoing order rather than start a new one).
"""

import pytest
from playwright.sync_api import expect

from e2e.journeys import BrowserShopper, assert_order_equals_cart, count_of

MARKETS = [
    # country name, alpha-2, currency, default locale, the mug's price there (shop/catalogue.py), VAT rate
    ("Germany", "DE", "EUR", "de-DE", 1790, 1900),
    ("United Kingdom", "GB", "GBP", "en-GB", 1500, 2000),
]


@pytest.fixture
def shopper_at_checkout(page, shop_server, emulator) -> BrowserShopper:
    shopper = BrowserShopper(page, shop_server.url)
    shopper.adds_to_cart("Enamel mug", times=2)
    shopper.opens_checkout()
    return shopper


def test_switching_country_moves_page_widget_and_order_to_the_new_market(
        shopper_at_checkout, emulator, screenshot):
    shopper = shopper_at_checkout
    order_id = shopper.order_id()

    for name, country, currency, locale, mug_price, vat_rate in MARKETS:
        updates_before = count_of(emulator, "update")

        shopper.chooses_country(name)
        shopper.waits_until_the_page_is_in_step()
        shopper.widget.expect_ready()

        cart = shopper.cart()
        assert (cart["country"], cart["currency"], cart["locale"]) == (country, currency, locale)
        expect(shopper.language).to_have_value(locale)
        expect(shopper.page.locator("[data-kco-unit-price]")).to_have_text(shopper.money(mug_price, cart))
        expect(shopper.order_amount).to_have_text(shopper.money(cart["order_amount"], cart))
        expect(shopper.order_tax_amount).to_have_text(shopper.money(cart["order_tax_amount"], cart))
        expect(shopper.widget.total).to_have_text(shopper.money(cart["order_amount"], cart))
        expect(shopper.widget.language).to_have_attribute("lang", locale.split("-")[0])
        screenshot(country)

        assert count_of(emulator, "update") == updates_before + 1
        order = emulator.order(order_id)
        assert_order_equals_cart(order, cart)
        # The tax was recomputed with the new country's VAT, not carried over (basis points,
        # kco-rules: order-line-fields).
        assert {line["tax_rate"] for line in order["order_lines"]} == {vat_rate}
