"""Journey: the shopper changes a quantity again while the page is still waiting for the shop's answer.

KCO answers updates slowly (the emulator holds each one for a second). The shopper sets a quantity; the page
suspends the widget and posts the cart. While that request is in flight the shopper changes the quantity twice
more. kco-sync.js never has two requests in flight: it waits for the first answer, then sends the latest state
once. So KCO sees exactly two updates, the second carrying the last quantity, and the page, the widget and
KCO's order all end on the cart the shopper made last, with the widget resumed after each request.
"""

from urllib.parse import urlparse

from playwright.sync_api import Request, expect

from e2e.journeys import BrowserShopper, SyncEvents, assert_order_equals_cart, kco_operations

CART_PATH = "/api/cart"


def test_changes_made_during_an_update_are_sent_once_after_it_with_the_latest_quantity(
        page, shop_server, emulator, screenshot):
    shopper = BrowserShopper(page, shop_server.url)
    sync_events = SyncEvents(page)
    shopper.adds_to_cart("Enamel mug")
    shopper.opens_checkout()
    shopper.waits_until_the_page_is_quiet()
    calls_before = len(kco_operations(emulator))
    # The browser's view of the page's cart requests, in the order they started and finished.
    cart_traffic: list[tuple[str, Request]] = []
    for event, step in (("request", "start"), ("requestfinished", "end"), ("requestfailed", "end")):
        page.on(event, lambda request, step=step: (
            cart_traffic.append((step, request)) if urlparse(request.url).path == CART_PATH else None))
    # No status: each update gets KCO's normal answer, a second late.
    emulator.fail_next("update", status=None, delay_ms=1000, times=2)

    cart_url = f"{shop_server.url.rstrip('/')}{CART_PATH}"

    def cart_answers_arrived() -> int:
        # A fetch gets its resource timing entry once its response is complete.
        return page.evaluate("url => performance.getEntriesByName(url).length", cart_url)

    answers_before = cart_answers_arrived()
    with page.expect_request(lambda request: urlparse(request.url).path == CART_PATH):
        shopper.sets_quantity("Enamel mug", 2)
    shopper.widget.expect_suspended()
    shopper.sets_quantity("Enamel mug", 3)
    shopper.sets_quantity("Enamel mug", 4)
    # The journey's premise, checked in the page: no answer had arrived when the last change was made.
    assert cart_answers_arrived() == answers_before, (
        "the first update was answered before the shopper's later changes; this journey did not happen")

    shopper.waits_until_the_page_is_quiet()

    starts = [request for step, request in cart_traffic if step == "start"]
    assert [request.post_data_json["items"] for request in starts] == [
        [{"sku": "mug-001", "quantity": 2}],
        [{"sku": "mug-001", "quantity": 4}],
    ]
    # One at a time: the second request started only after the first had finished.
    first, second = starts
    assert cart_traffic == [("start", first), ("end", first), ("start", second), ("end", second)]
    sync_events.expect_resumed_after_each((CART_PATH, True), (CART_PATH, True))
    shopper.widget.expect_ready()

    cart = shopper.cart()
    assert [(item["sku"], item["quantity"]) for item in cart["items"]] == [("mug-001", 4)]
    expect(shopper.quantity_of("Enamel mug")).to_have_value("4")
    expect(shopper.page.locator("[data-kco-line-total]")).to_have_text(
        shopper.money(cart["items"][0]["total_amount"], cart))
    expect(shopper.order_amount).to_have_text(shopper.money(cart["order_amount"], cart))
    expect(shopper.order_tax_amount).to_have_text(shopper.money(cart["order_tax_amount"], cart))
    expect(shopper.widget.line("Enamel mug")).to_contain_text("4 × Enamel mug")
    expect(shopper.widget.total).to_have_text(shopper.money(cart["order_amount"], cart))
    screenshot("after-the-second-update")
    assert kco_operations(emulator)[calls_before:] == ["update", "update"]
    assert_order_equals_cart(emulator.order(shopper.order_id()), cart)
