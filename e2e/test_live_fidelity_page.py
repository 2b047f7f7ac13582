"""Journeys: the checkout page where real KCO may differ from the docs, in Chromium.

- The page always shows the order the shop holds: a tab left on an order the shop has since replaced reloads
  into the new one as soon as an answer names another order id (kco-rules: page-follows-order).
- A purchase after a country change inside the widget reaches the confirmation whether KCO moves the order's
  purchase_country or keeps it (the emulator plays both, kco-rules: validation-price).
- The widget's events: the shipping line follows shipping_option_change even when the total does not; a
  failed shipping update and a purchase that cannot complete are told to the shopper in the cart's language;
  redirect_initiated locks the cart editor (kco-rules: widget-events-shown).

Some events are sent from inside the emulator's iframe exactly as its widget sends them (`widget_fires`): the
real triggers (a refine callback the shop fails, a total that stays the same) cannot be produced by this shop.
"""

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from e2e.journeys import BrowserShopper, kco_operations

SWEDISH = {  # static/js/kco-sync-messages.js, sv
    "shippingFailed": "Leveransen kunde inte uppdateras för den adressen. Kontrollera adressen eller välj "
                      "ett annat leveranssätt.",
    "cannotComplete": "Köpet kan inte slutföras med de betalsätt som erbjuds. Prova ett annat betalsätt "
                      "eller kontakta oss.",
}


def widget_fires(page: Page, name: str, payload: Any) -> None:
    """Post a client-side event from inside the widget's iframe, as the emulator's widget posts its events
    (kco_emulator/static/checkout.js): the bootstrap accepts only messages from that frame."""
    frame = page.locator("#klarna-checkout-container iframe").element_handle().content_frame()
    assert frame is not None
    frame.evaluate("""([name, payload]) => window.parent.postMessage(
        {source: "kco-checkout-frame", type: "event", name, payload}, "*")""", [name, payload])


def test_a_page_left_on_a_replaced_order_reloads_into_the_new_one(page, context, shop_server, emulator):
    shopper = BrowserShopper(page, shop_server.url)
    shopper.adds_to_cart("Enamel mug")
    shopper.opens_checkout()
    first_order_id = shopper.order_id()
    # In a second tab the shopper changes the cart while KCO keeps refusing the update: the shop replaces the
    # order (kco-rules: retry-refused-update) and that tab reloads into the new one.
    other_tab = BrowserShopper(context.new_page(), shop_server.url)
    other_tab.opens_checkout()
    emulator.fail_next("update", status=503, times=3)
    with other_tab.page.expect_navigation():
        other_tab.sets_quantity("Enamel mug", 2)
    new_order_id = other_tab.order_id()
    assert new_order_id != first_order_id
    other_tab.page.close()

    # The first tab still shows the old widget; its next answer names the new order, so it reloads.
    expect(shopper.sync_root).to_have_attribute("data-kco-order-id", first_order_id)
    with page.expect_navigation():
        shopper.sets_quantity("Enamel mug", 3)
    shopper.widget.kco.wait_ready()
    expect(shopper.sync_root).to_have_attribute("data-kco-order-id", new_order_id)
    expect(shopper.widget.line("Enamel mug")).to_contain_text("3 × Enamel mug")
    expect(shopper.message).to_have_text("")


@pytest.mark.parametrize("sets_purchase_country", [True, False])
def test_paying_after_a_country_change_in_the_widget_reaches_the_confirmation(
        sets_purchase_country, page, shop_server, emulator):
    emulator.settings(country_change_sets_purchase_country=sets_purchase_country, push_retry_seconds=[])
    shopper = BrowserShopper(page, shop_server.url)
    shopper.adds_to_cart("Enamel mug")
    shopper.opens_checkout()
    shopper.widget.chooses_country("DE")
    expect(shopper.country).to_have_value("DE")
    shopper.waits_until_the_page_is_in_step()
    order_id = shopper.order_id()
    purchase_country = emulator.order(order_id)["purchase_country"].upper()
    assert purchase_country == ("DE" if sets_purchase_country else "SE")

    assert shopper.has_paid_in_the_widget() == order_id
    # The validation callback approved: a 303 would have sent the shopper to /checkout?error=cart_changed.
    expect(page.get_by_role("heading", name=shopper.says("Thank you for your order"))).to_be_visible()


def test_the_shipping_label_follows_the_widget_even_when_the_total_does_not(page, shop_server, emulator):
    shopper = BrowserShopper(page, shop_server.url)
    shopper.adds_to_cart("Enamel mug")
    shopper.opens_checkout()
    standard, express = shopper.says("Standard delivery"), shopper.says("Express delivery")
    expect(shopper.shipping_name).to_have_text(standard)
    # The shopper picks Express in the widget: KCO asks the shop (shipping_option_update) first.
    shopper.widget.chooses_shipping(express)
    expect(shopper.shipping_name).to_have_text(express)
    shopper.waits_until_the_page_is_in_step()
    cart = shopper.cart()
    expect(shopper.shipping_amount).to_have_text(shopper.money(cart["shipping"]["total_amount"], cart))

    # Back to Standard through KCO alone, and a shipping_option_change without any order_total_change, as when
    # two options cost the same: the line still follows, and its amount is the shop's.
    emulator.choose_shipping(shopper.order_id(), "standard")
    widget_fires(page, "shipping_option_change", {"id": "standard", "name": standard})
    expect(shopper.shipping_name).to_have_text(standard)
    shopper.waits_until_the_page_is_in_step()
    cart = shopper.cart()
    assert cart["shipping"]["id"] == "standard"
    expect(shopper.shipping_amount).to_have_text(shopper.money(cart["shipping"]["total_amount"], cart))


def test_a_failed_shipping_update_and_a_purchase_that_cannot_complete_are_told_to_the_shopper(
        page, shop_server, emulator):
    shopper = BrowserShopper(page, shop_server.url)
    shopper.adds_to_cart("Enamel mug")
    shopper.opens_checkout()

    widget_fires(page, "shipping_address_update_error", {})
    expect(shopper.message).to_have_text(SWEDISH["shippingFailed"])

    calls = kco_operations(emulator)
    emulator.cannot_complete(shopper.order_id())  # the emulator's widget fires can_not_complete_order itself
    expect(shopper.message).to_have_text(SWEDISH["cannotComplete"])
    assert kco_operations(emulator) == calls  # telling the shopper costs no KCO call


def test_the_cart_editor_is_locked_once_kco_starts_the_redirect(page, shop_server, emulator):
    shopper = BrowserShopper(page, shop_server.url)
    shopper.adds_to_cart("Enamel mug")
    shopper.opens_checkout()
    expect(shopper.quantity_of("Enamel mug")).to_be_enabled()

    widget_fires(page, "redirect_initiated", True)

    expect(shopper.sync_root).to_have_attribute("data-kco-locked", "")
    expect(shopper.quantity_of("Enamel mug")).to_be_disabled()
    expect(shopper.country).to_be_disabled()
    remove = shopper.says("Remove %(product)s", product="Enamel mug")
    expect(page.get_by_role("button", name=remove)).to_be_disabled()
