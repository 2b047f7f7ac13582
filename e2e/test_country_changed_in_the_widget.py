"""Journey: the shopper changes the country inside the KCO widget, not on the shop's page.

KCO asks the shop first, through the country_change callback (kco-rules: refine-callbacks): the shop answers
with the order in the new market (currency, language, prices, VAT) and KCO applies it. The widget then tells
the page through its client-side events (alpha-3 country, kco-rules: widget-events); kco-sync.js asks the shop
for its cart (GET /api/cart), which is now in that market, and shows it, so the page's Country select and
totals follow. That costs no KCO call and sends no change of its own: no loop between the page and the widget.
"""

from playwright.sync_api import Request, expect

from e2e.journeys import BrowserShopper, assert_order_equals_cart


def test_a_country_chosen_in_the_widget_moves_the_page_to_that_market_without_a_kco_update(
        page, shop_server, emulator, screenshot):
    shopper = BrowserShopper(page, shop_server.url)
    shopper.adds_to_cart("Enamel mug")
    shopper.opens_checkout()
    calls = emulator.calls()
    shop_requests: list[Request] = []
    page.on("request", lambda request: shop_requests.append(request)
            if request.url.endswith(("/api/cart", "/api/market")) else None)

    shopper.widget.chooses_country("DE")

    expect(shopper.country).to_have_value("DE")
    shopper.waits_until_the_page_is_in_step()
    shopper.widget.expect_ready()
    cart = shopper.cart()
    assert (cart["country"], cart["currency"], cart["locale"]) == ("DE", "EUR", "de-DE")
    expect(shopper.language).to_have_value("de-DE")
    expect(shopper.order_amount).to_have_text(shopper.money(cart["order_amount"], cart))
    expect(shopper.widget.total).to_have_text(shopper.money(cart["order_amount"], cart))
    screenshot("germany-chosen-in-widget")

    asked = {(request.method, request.url.rsplit("/", 1)[-1]) for request in shop_requests}
    assert asked == {("GET", "cart")}  # the page asked the shop and sent no change of its own
    assert emulator.calls() == calls  # the callback moved the order; the page added no KCO call
    assert_order_equals_cart(emulator.order(shopper.order_id()), cart)
