"""Journey: two tabs of one shopper change the cart while the shop replaces an expired order.

The request that stores a new KCO order id gives the session a new id (docs/security.md, session fixation). A
change from the other tab that waited for the session lock meanwhile still carries the old id, so the shop
answers it 409 `session_renewed`. The browser already holds the new cookie: kco-sync.js sends that tab's state
once more, and the shopper's last change is what the shop and KCO hold.
"""

import pytest

from e2e.journeys import BrowserShopper, assert_order_equals_cart, kco_operations, wait_for

HOURS = 3600
# Long enough that the second tab's change certainly arrives while the first tab's request holds the lock.
CREATE_DELAY_MS = 1500


# The renewed session's 409, and the expired order's widget asking the emulator for its state (404).
@pytest.mark.expected_console_errors("the server responded with a status of 409", "/state)")
def test_a_change_that_waited_while_the_other_tab_made_a_new_order_is_sent_again_and_wins(
        page, context, shop_server, emulator):
    first = BrowserShopper(page, shop_server.url)
    first.adds_to_cart("Dotted notebook")
    first.adds_to_cart("Enamel mug")
    first.opens_checkout()
    second = BrowserShopper(context.new_page(), shop_server.url)
    second.opens_checkout()
    expired_order_id = second.order_id()
    emulator.advance_clock(49 * HOURS)
    emulator.fault("create", delay_ms=CREATE_DELAY_MS)
    answers: list[int] = []
    second.page.on("response", lambda response: answers.append(response.status)
                   if response.url.endswith("/api/cart") and response.request.method == "POST" else None)
    calls_before = len(kco_operations(emulator))

    with page.expect_navigation():  # the first tab reloads into the new order
        first.sets_quantity("Dotted notebook", 2)
        # The update of the expired order failed: the first tab's request now creates, holding the lock.
        wait_for(lambda: kco_operations(emulator)[calls_before:] == ["update"], "the expired order's update")
        with second.page.expect_navigation():  # ... and so does the second, once its change went through
            second.sets_quantity("Enamel mug", 3)

    first.waits_until_the_page_is_quiet()
    second.waits_until_the_page_is_quiet()
    assert answers == [409, 200]
    new_order_id = second.order_id()
    assert new_order_id != expired_order_id and first.order_id() == new_order_id
    cart = second.cart()
    assert {item["sku"]: item["quantity"] for item in cart["items"]} == {"notebook-005": 1, "mug-001": 3}
    assert_order_equals_cart(emulator.order(new_order_id), cart)
