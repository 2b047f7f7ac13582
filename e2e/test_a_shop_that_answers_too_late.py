"""Journey: the shop does not answer a change within the time the page was given (data-timeout-ms).

The shop renders its own worst case for one answer into the page (shop/checkout_flow.py `sync_timeout_ms`).
When a change gets no answer by then, kco-sync.js gives up on it: it says so in the shopper's language (the
page's own words, since the shop said nothing), shows the cart as the shop holds it, and resumes the widget.

The shop's answer is held in the browser (page.route), as a stalled connection would hold it, and the page's
clock is Playwright's (page.clock), so the journey runs the page's time up to the deadline without waiting for
it: nothing at one millisecond before, the timeout message at the deadline.
"""

from datetime import datetime, timedelta

from playwright.sync_api import Route, expect

from e2e.journeys import shopper_at_checkout

TIMEOUT_MESSAGE_SV = "Butiken svarade inte i tid. Försök igen."  # static/js/kco-sync-messages.js, sv


def test_a_change_the_shop_does_not_answer_in_data_timeout_ms_shows_the_timeout_message_then(
        page, shop_server, kco_emulator):
    page.clock.install()
    shopper = shopper_at_checkout(page, shop_server.url, "Enamel mug")
    timeout_ms = int(shopper.sync_root.get_attribute("data-timeout-ms"))
    message_before = shopper.message.text_content()
    updates_before = len(kco_emulator.calls("update"))
    held: list[Route] = []

    def hold_changes(route: Route) -> None:
        if route.request.method == "POST":
            held.append(route)  # never answered: the page's own deadline ends it
        else:
            route.fallback()

    page.route("**/api/cart", hold_changes)
    page.clock.pause_at(datetime.now() + timedelta(seconds=1))
    with page.expect_request("**/api/cart"):
        shopper.sets_quantity("Enamel mug", 2)

    page.clock.run_for(timeout_ms - 1)
    assert shopper.message.text_content() == message_before
    assert shopper.sync_root.get_attribute("data-kco-sync-state") == "pending"
    page.clock.run_for(1)
    expect(shopper.message).to_have_text(TIMEOUT_MESSAGE_SV)
    page.clock.resume()
    shopper.waits_until_the_page_gives_up()

    expect(shopper.message).to_have_text(TIMEOUT_MESSAGE_SV)
    expect(shopper.quantity_of("Enamel mug")).to_have_value("1")  # what the shop holds
    shopper.widget.expect_ready()
    assert shopper.cart()["items"][0]["quantity"] == 1
    assert len(kco_emulator.calls("update")) == updates_before
