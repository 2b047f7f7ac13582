"""Journey: KCO cannot be reached for a change, then the shopper makes the same cart again.

The shop keeps the change in its cart and answers 503 `kco_unreachable`: the page shows the cart the shopper
made, while KCO's order still holds the one before. The next cart change therefore goes to the shop even when
it leaves the cart as it is (the shopper typing the same quantity again), so KCO catches up with the cart on
the page instead of staying behind it until a reload.
"""


import pytest
from playwright.sync_api import expect

from e2e.journeys import assert_order_equals_cart, product_lines, shopper_at_checkout


@pytest.mark.expected_console_errors("the server responded with a status of 503")  # the shop's answer
def test_the_same_cart_made_again_after_kco_was_unreachable_brings_kco_up_to_it(
        page, shop_server, kco_emulator):
    shopper = shopper_at_checkout(page, shop_server.url, "Enamel mug")
    order_id = shopper.order_id()
    kco_emulator.disconnect_next("update")

    shopper.sets_quantity("Enamel mug", 2)
    shopper.waits_until_the_page_gives_up()
    expect(shopper.message).to_have_text(shopper.says(
        "The checkout could not be reached just now; nothing is lost. Please try again in a moment."))
    expect(shopper.quantity_of("Enamel mug")).to_have_value("2")
    assert shopper.cart()["items"][0]["quantity"] == 2
    assert [line[:2] for line in product_lines(kco_emulator.order(order_id))] == [("mug-001", 1)]
    updates_before = len(kco_emulator.calls("update"))

    shopper.sets_quantity("Enamel mug", 2)  # the same quantity again: the cart does not change
    shopper.waits_until_the_page_is_in_step()

    assert len(kco_emulator.calls("update")) == updates_before + 1
    expect(shopper.message).to_have_text("")
    shopper.widget.expect_ready()
    assert_order_equals_cart(kco_emulator.order(order_id), shopper.cart())
