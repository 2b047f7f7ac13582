"""Journey: two tabs of one shopper change the cart while the shop replaces an expired order.

The first tab's change finds the order expired, and its new order is slow to come. The second tab's change
comes later, makes a new order of its own and is stored first. The first tab's request then finds the checkout
changed: it aborts the order it made, leaves the cart the later change set (shop/checkout_flow.py), and both
tabs reload into the one order. The shopper's last change is what the shop and KCO hold.
"""

import pytest

from e2e.journeys import BrowserShopper, assert_order_equals_cart, kco_operations, wait_for

# Long enough that the second tab's change certainly arrives while the first tab's request waits for KCO.
CREATE_DELAY_MS = 1500


# The expired order's widget asking the emulator for its state (404); and, depending on timing, a request one
# tab sent just before the other tab's answer gave the session a new id, answered 409 session_renewed and sent
# again (the inspector's poll or a cart refresh: docs/security.md, session fixation).
@pytest.mark.expected_console_errors("/state)", "the server responded with a status of 409")
def test_the_later_of_two_changes_made_while_the_order_is_replaced_wins_in_one_order(
        page, context, shop_server, emulator):
    first = BrowserShopper(page, shop_server.url)
    first.adds_to_cart("Dotted notebook")
    first.adds_to_cart("Enamel mug")
    first.opens_checkout()
    second = BrowserShopper(context.new_page(), shop_server.url)
    second.opens_checkout()
    expired_order_id = second.order_id()
    emulator.advance(hours=49)
    emulator.fail_next("create", status=None, delay_ms=CREATE_DELAY_MS)
    answers: list[int] = []
    second.page.on("response", lambda response: answers.append(response.status)
                   if response.url.endswith("/api/cart") and response.request.method == "POST" else None)
    calls_before = len(kco_operations(emulator))
    creates_before = len(emulator.calls("create"))

    with page.expect_navigation():  # the first tab reloads into the new order
        first.sets_quantity("Dotted notebook", 2)
        # The update of the expired order failed: the first tab's request now creates, slowly.
        wait_for(lambda: kco_operations(emulator)[calls_before:] == ["update"], "the expired order's update")
        with second.page.expect_navigation():  # ... and so does the second, once its change went through
            second.sets_quantity("Enamel mug", 3)

    first.waits_until_the_page_is_quiet()
    second.waits_until_the_page_is_quiet()
    assert answers == [200]
    new_order_id = second.order_id()
    assert new_order_id != expired_order_id and first.order_id() == new_order_id
    created = [entry["order_id"] for entry in emulator.calls("create")[creates_before:]]
    kept = [order_id for order_id in created if not emulator.order_state(order_id)["aborted"]]
    assert kept == [new_order_id]
    cart = second.cart()
    assert {item["sku"]: item["quantity"] for item in cart["items"]} == {"notebook-005": 1, "mug-001": 3}
    assert_order_equals_cart(emulator.order(new_order_id), cart)
