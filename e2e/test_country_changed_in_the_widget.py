"""Journey: the shopper changes the country inside the KCO widget, not on the shop's page.

KCO asks the shop first, through the country_change callback (notes §7.1): the shop answers with the order
in the new market (currency, language, prices, VAT) and KCO applies it. The widget then tells the page through
its client-side events (alpha-3 country, notes §9.2); kco-sync.js asks the shop for the cart in that market
and shows it, so the page's Country select and totals follow. That costs no KCO update (the order is already
in step) and sends nothing twice: no loop between the page and the widget.
"""

from playwright.sync_api import Request, expect

from e2e.journeys import Shopper, assert_order_equals_cart, count_of


def test_a_country_chosen_in_the_widget_moves_the_page_to_that_market_without_a_kco_update(
        page, shop_server, emulator, screenshot):
    shopper = Shopper(page, shop_server.url)
    shopper.adds_to_cart("Enamel mug")
    shopper.opens_checkout()
    market_posts: list[Request] = []
    page.on("request", lambda request: market_posts.append(request)
            if request.method == "POST" and request.url.endswith("/api/market") else None)

    shopper.widget.chooses_country("Germany")

    expect(shopper.country).to_have_value("DE")
    shopper.waits_until_the_page_is_in_step()
    shopper.widget.expect_ready()
    cart = shopper.cart()
    assert (cart["country"], cart["currency"], cart["locale"]) == ("DE", "EUR", "de-DE")
    expect(shopper.language).to_have_value("de-DE")
    expect(shopper.order_amount).to_have_text(shopper.money(cart["order_amount"], cart))
    expect(shopper.widget.total).to_have_text(shopper.money(cart["order_amount"], cart))
    screenshot("germany-chosen-in-widget")

    assert len(market_posts) == 1
    assert count_of(emulator, "update") == 0
    assert_order_equals_cart(emulator.order(shopper.order_id()), cart)
