"""Journey: the shopper typed an address in the widget, then switches the shop's country; the page keeps it.

Once the shopper has typed an address, KCO keeps it and ignores address updates (kco-rules:
typed-address-kept), so the widget goes on reporting the old billing country in its events (kco-rules:
widget-events), also on every later load. Only a change of the country the widget reports is the shopper
choosing one inside it; a repeat must not pull the page back to the old country.
"""

from playwright.sync_api import Request, expect

from e2e.journeys import BrowserShopper, count_of, wait_for


def test_a_reload_after_switching_country_keeps_the_country_the_shopper_chose_on_the_page(
        page, shop_server, emulator, screenshot):
    shopper = BrowserShopper(page, shop_server.url)
    shopper.adds_to_cart("Enamel mug")
    shopper.opens_checkout()
    shopper.widget.fills_in_the_test_person()
    wait_for(lambda: emulator.order_state(shopper.order_id())["shopper_entered_address"],
             "the widget to hand the typed address to KCO")
    shopper.waits_until_the_page_is_in_step()

    shopper.chooses_country("Germany")
    shopper.waits_until_the_page_is_in_step()
    shopper.widget.expect_ready()
    assert count_of(emulator, "update") == 1

    market_posts: list[Request] = []
    page.on("request", lambda request: market_posts.append(request)
            if request.method == "POST" and request.url.endswith("/api/market") else None)
    shopper.reloads_checkout()
    shopper.widget.expect_ready()  # its load events, with the typed address's country "swe", have arrived
    shopper.waits_until_the_page_is_in_step()
    page.wait_for_load_state("networkidle")
    screenshot("germany-kept-after-reload")

    expect(shopper.country).to_have_value("DE")
    assert market_posts == []
    assert shopper.cart()["country"] == "DE"
    assert count_of(emulator, "update") == 1
