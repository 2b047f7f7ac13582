"""Journey: the shopper fills in the widget and completes the purchase.

KCO asks the shop to validate the order, completes it and sends the shopper to the shop's confirmation page,
which shows KCO's confirmation snippet and starts a fresh cart. KCO's push reaches the shop, which records the
order and acknowledges it once (kco-rules: push-and-acknowledge). The back button then leads to a fresh, empty
checkout: the shop never tries to update the completed (read-only) order. And a page that missed the purchase
(paid in another tab) is sent to the confirmation as soon as the shopper changes something there.

The confirmation is a page to keep: a short order reference, the full KCO order id for customer service, and
what KCO charged line by line, with the same total as KCO's own confirmation snippet below it.
"""

import pytest
from playwright.sync_api import expect

from e2e.journeys import BrowserShopper, count_of, wait_for
from harness.shop_client import shop_text
from shop.money import format_money


def test_completing_the_purchase_confirms_acknowledges_and_clears_the_cart(
        page, shop_server, emulator, screenshot):
    shopper = BrowserShopper(page, shop_server.url)
    shopper.adds_to_cart("Canvas tote bag")
    shopper.opens_checkout()
    order_id = shopper.order_id()
    shopper.widget.fills_in_the_test_person()

    shopper.widget.completes_purchase()

    page.wait_for_url(f"**/confirmation?order_id={order_id}")
    expect(page.get_by_role("heading", name=shopper.says("Thank you for your order"))).to_be_visible()
    screenshot("confirmation")
    wait_for(lambda: count_of(emulator, "acknowledge") == 1, "the shop to acknowledge the push")
    assert shopper.cart()["items"] == []
    assert emulator.order(order_id)["status"] == "checkout_complete"


def test_the_confirmation_lays_out_what_kco_charged_with_the_same_total_as_kcos_snippet(
        page, shop_server, emulator, docs_screenshot):
    shopper = BrowserShopper(page, shop_server.url)
    shopper.adds_to_cart("Enamel mug", times=3)
    shopper.opens_checkout()

    order_id = shopper.has_paid_in_the_widget()

    kco_order = emulator.order(order_id)
    lines = [f"{line['quantity']} × {line['name']}" for line in kco_order["order_lines"]]
    assert lines == ["3 × Enamel mug", f"1 × {shop_text('Standard delivery')}"]
    expect(page.locator("[data-kco-paid-line] td:first-child")).to_have_text(lines)
    # 597,00 kr is the mugs' line; the total adds the delivery, here as in KCO's snippet.
    total = format_money(kco_order["order_amount"], "SEK", "sv-SE")
    assert total == format_money(3 * 19900 + 4900, "SEK", "sv-SE")
    expect(page.locator("[data-kco-paid-total]")).to_have_text(total)
    expect(page.locator("[data-kco-confirmation-total]")).to_have_text(total)
    expect(page.locator("[data-kco-order-reference]")).to_have_text(order_id.replace("-", "")[:8].upper())
    expect(page.locator("[data-kco-order-id]")).to_have_text(order_id)
    shopper.widget.kco.wait_confirmation_loaded()
    docs_screenshot("confirmation-sv-SE")


def test_the_back_button_after_the_purchase_leads_to_a_fresh_checkout(
        page, shop_server, emulator, screenshot):
    shopper = BrowserShopper(page, shop_server.url)
    shopper.adds_to_cart("Canvas tote bag")
    shopper.opens_checkout()
    shopper.has_paid_in_the_widget()

    page.go_back()

    page.wait_for_url("**/checkout")
    expect(shopper.empty_cart_note).to_be_visible()
    expect(shopper.message).to_have_text("")
    expect(shopper.widget.container).to_have_count(0)
    screenshot("back-to-checkout")
    assert count_of(emulator, "update") == 0


# The shop answers the change with 409 purchase_completed (and where to go): the browser logs that status.
@pytest.mark.expected_console_errors("the server responded with a status of 409")
def test_a_cart_change_after_paying_elsewhere_leads_to_the_confirmation(page, shop_server, emulator):
    shopper = BrowserShopper(page, shop_server.url)
    shopper.adds_to_cart("Canvas tote bag")
    shopper.opens_checkout()
    order_id = shopper.order_id()
    # Paid in another tab (or the redirect after paying was lost): this page still shows the open checkout.
    emulator.complete(order_id)

    shopper.sets_quantity("Canvas tote bag", 2)

    # The update hits a completed order, KCO answers 403 READ_ONLY_ORDER (kco-rules: status-codes), and
    # the shop sends the page to the confirmation instead of showing an error.
    page.wait_for_url(f"**/confirmation?order_id={order_id}")
    expect(page.get_by_role("heading", name=shopper.says("Thank you for your order"))).to_be_visible()
    assert shopper.cart()["items"] == []
