"""Journey: the shop renews the shopper's session twice while one checkout page stays open.

The shop gives the session a new id with each answer that shows a KCO order, e.g. another tab loading the
checkout (shop/sessions.py); a change sent with the old cookie meanwhile is answered 409 `session_renewed`,
and the browser already holds the new cookie. kco-sync.js sends the page's state again once; an accepted
request re-arms that, so a page that lives through several renewals sends each such change again once, and
the shopper's changes all reach the shop and KCO.

A browser on this machine cannot be made to send the old cookie after the renewal (a held request goes out
with the cookie the browser holds by then), so the shop's 409 is answered by the browser (page.route), in the
shop's error shape (the JSON contract in kco-sync.js's header), for the first try of each change; the resends
reach the real shop. tests/test_session_renewal.py sends the old cookie to the shop itself.
"""

import pytest
from playwright.sync_api import Route, expect

from e2e.journeys import assert_order_equals_cart, shopper_at_checkout

SESSION_RENEWED = {"error": {
    "code": "session_renewed",
    "message": "Your session was renewed in another tab. Please send your change again.",
}}


@pytest.mark.expected_console_errors("the server responded with a status of 409")
def test_each_change_answered_session_renewed_is_sent_again_once_also_after_an_earlier_renewal(
        page, shop_server, kco_emulator):
    shopper = shopper_at_checkout(page, shop_server.url, "Enamel mug")
    order_id = shopper.order_id()
    renewals_left = [0]
    answers: list[int] = []
    page.on("response", lambda response: answers.append(response.status)
            if response.url.endswith("/api/cart") and response.request.method == "POST" else None)

    def renew_session(route: Route) -> None:
        if route.request.method == "POST" and renewals_left[0] > 0:
            renewals_left[0] -= 1
            route.fulfill(status=409, json=SESSION_RENEWED)
        else:
            route.fallback()

    page.route("**/api/cart", renew_session)
    for quantity in (2, 3):
        renewals_left[0] = 1
        shopper.sets_quantity("Enamel mug", quantity)
        shopper.waits_until_the_page_is_quiet()
        expect(shopper.message).to_have_text("")
        assert shopper.cart()["items"][0]["quantity"] == quantity

    assert answers == [409, 200, 409, 200]
    shopper.widget.expect_ready()
    assert_order_equals_cart(kco_emulator.order(order_id), shopper.cart())
