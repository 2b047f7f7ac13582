"""The emulator's widget fires the client-side events a page should handle where KCO's widget would
(kco-rules: widget-events): shipping_option_change when the shopper picks an option,
shipping_address_update_error when the merchant's refine callback fails, can_not_complete_order when the
purchase cannot go through, and redirect_initiated right before the page goes to the confirmation.

The pretend shop of e2e/test_emulator_widget.py renders the snippet and records the events in
`window.kcoEvents`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from e2e.test_emulator_widget import MerchantSite, events, open_checkout
from kco_emulator.playwright import KcoWidget, expect_widget
from kco_emulator.testing import KcoEmulator
from kco_emulator.widget_text import widget_text

OPTIONS = [
    {"id": "standard", "name": "Standard", "price": 4900, "tax_amount": 980, "tax_rate": 2500,
     "preselected": True},
    {"id": "express", "name": "Express", "price": 9900, "tax_amount": 1980, "tax_rate": 2500},
]


@pytest.fixture
def site(emulator: KcoEmulator) -> Iterator[MerchantSite]:
    merchant = MerchantSite(emulator)
    yield merchant
    merchant.server.stop()


# A shopper typed into the widget, by the fields' names (their labels are in the order's language).
ADA = {"email": "ada@example.com", "postal_code": "114 55", "given_name": "Ada", "family_name": "Lovelace",
       "street_address": "Gatan 1", "city": "Stockholm"}

def open_widget(page: Page, site: MerchantSite, **fields: Any) -> tuple[str, KcoWidget]:
    """A new order of the pretend shop (`fields` on top of its sample order), open in the page."""
    order_id = site.order(**fields)
    open_checkout(page, site, order_id)
    return order_id, KcoWidget(page)


def wait_for_event(page: Page, name: str) -> list[Any]:
    page.wait_for_function(f"window.kcoEvents.some(e => e.name === {name!r})")
    return events(page, name)


def test_picking_a_shipping_option_fires_shipping_option_change_and_kco_adds_its_price(
    page: Page, site: MerchantSite
) -> None:
    order_id = site.order(shipping_options=OPTIONS, merchant_urls=site.merchant_urls())
    frame = open_checkout(page, site, order_id)
    page.evaluate("window.kcoEvents = []")
    frame.get_by_role("radio", name="Express").check()
    assert wait_for_event(page, "shipping_option_change") == [{
        "id": "express", "name": "Express", "price": 9900, "tax_amount": 1980, "tax_rate": 2500}]
    # No shipping_option_update URL: KCO charges the option itself (kco-rules: automatic-shipping-cost).
    expect(frame.locator("[data-kco-order-total]")).to_have_text("299,00 kr")
    assert events(page, "order_total_change") == [{"order_total": 29900}]


def test_under_the_separate_reading_the_widget_shows_kcos_shipping_on_top_of_the_order_amount(
    page: Page, site: MerchantSite
) -> None:
    site.emulator.settings(automatic_shipping_cost="separate")
    order_id = site.order(shipping_options=OPTIONS, merchant_urls=site.merchant_urls())
    frame = open_checkout(page, site, order_id)
    # The preselected Standard is what the shopper pays for until they pick another option.
    expect(frame.locator("[data-kco-order-total]")).to_have_text("249,00 kr")
    frame.get_by_role("radio", name="Express").check()
    expect(frame.locator("[data-kco-order-total]")).to_have_text("299,00 kr")
    expect(frame.locator("[data-kco-order-line]").filter(has_text="Express")).to_contain_text("99,00")
    assert wait_for_event(page, "order_total_change") == [{"order_total": 29900}]
    assert site.emulator.order(order_id)["order_amount"] == 20000


SEPARATE_SHIPPING = {"allow_separate_shipping_address": True}


def test_shipping_address_change_fires_only_once_the_shopper_enters_a_separate_shipping_address(
    page: Page, site: MerchantSite
) -> None:
    order_id, widget = open_widget(page, site, options=SEPARATE_SHIPPING)
    widget.fill_shopper()
    wait_for_event(page, "billing_address_change")
    recipient = widget.ship_to(street_address="Götgatan 2")
    # Had the billing address fired it too, it would come first.
    assert wait_for_event(page, "shipping_address_change") == [{
        "postal_code": "11151", "country": "swe", "given_name": "Other", "family_name": "Recipient"}]
    order = site.emulator.order(order_id)
    assert order["shipping_address"]["street_address"] == recipient["street_address"] == "Götgatan 2"
    assert order["billing_address"]["street_address"] == "Drottninggatan 1"


def test_with_shipping_address_change_every_address_it_fires_for_the_billing_address_too(
    page: Page, site: MerchantSite
) -> None:
    site.emulator.settings(shipping_address_change="every_address")
    open_widget(page, site)[1].fill_shopper()
    assert wait_for_event(page, "shipping_address_change") == events(page, "billing_address_change") == [{
        "postal_code": "11151", "country": "swe", "given_name": "Test", "family_name": "Person",
        "email": "test.person@example.com"}]


CHECKBOXES = {
    "additional_checkbox": {"text": "Send me the newsletter", "checked": False, "required": False},
    "additional_checkboxes": [{"id": "club", "text": "I accept the club terms", "checked": False,
                               "required": True}],
}


def test_the_merchants_checkboxes_fire_checkbox_change_and_a_required_one_holds_the_purchase(
    page: Page, site: MerchantSite
) -> None:
    order_id, widget = open_widget(page, site, options=CHECKBOXES)
    widget.tick("Send me the newsletter")
    assert wait_for_event(page, "checkbox_change") == [{"key": "additional_checkbox", "checked": True}]
    assert site.emulator.order(order_id)["merchant_requested"] == {
        "additional_checkbox": True, "additional_checkboxes": [{"id": "club", "checked": False}]}
    widget.fill_shopper()
    widget.complete()
    expect_widget(widget).to_show_message("Please tick: I accept the club terms")
    assert site.emulator.order(order_id)["status"] == "checkout_incomplete"
    widget.tick("I accept the club terms")
    page.wait_for_function("window.kcoEvents.filter(e => e.name === 'checkbox_change').length === 2")
    widget.complete()
    page.wait_for_url(f"{site.url}/confirmation/{order_id}")


def test_with_require_client_validation_the_purchase_waits_for_the_pages_answer(
    page: Page, site: MerchantSite
) -> None:
    order_id, widget = open_widget(page, site, options={"require_client_validation": True})
    page.evaluate("""window._klarnaCheckout(api => api.on({validation_callback: (data, callback) => {
        window.kcoValidation = {data, callback};
    }}))""")
    widget.fill_shopper()
    widget.complete()
    page.wait_for_function("window.kcoValidation !== undefined")
    assert page.evaluate("window.kcoValidation.data") == {}
    expect_widget(widget).to_await_client_validation()
    assert site.emulator.order(order_id)["status"] == "checkout_incomplete"

    page.evaluate("window.kcoValidation.callback({should_proceed: false, message: 'The mug is sold out.'})")
    expect_widget(widget).to_show_message("The mug is sold out.")
    assert site.emulator.order(order_id)["status"] == "checkout_incomplete"

    page.evaluate("window.kcoValidation = undefined")
    widget.complete()
    page.wait_for_function("window.kcoValidation !== undefined")
    page.evaluate("window.kcoValidation.callback({should_proceed: true})")
    page.wait_for_url(f"{site.url}/confirmation/{order_id}")


def test_the_confirmation_snippet_fires_load_confirmation(page: Page, site: MerchantSite) -> None:
    order_id = site.order()
    assert site.emulator.complete(order_id)["result"] == "completed"
    page.goto(f"{site.url}/confirmation/{order_id}")
    KcoWidget(page).wait_confirmation_loaded()
    assert events(page, "load_confirmation") == [{}]


def register_a_second_change_listener(page: Page) -> None:
    """On top of the pretend shop's recorder (registered through the queue): one more `change` listener."""
    page.evaluate("""window.secondListener = [];
        window._klarnaCheckout(api => api.on({change: payload => window.secondListener.push(payload)}))""")


def test_by_default_api_on_adds_a_listener_to_those_of_the_event(page: Page, site: MerchantSite) -> None:
    email = open_widget(page, site)[1].frame.locator("input[name=email]")
    page.evaluate("window.kcoEvents = []")
    register_a_second_change_listener(page)
    email.fill("ada@example.com")
    email.press("Tab")
    page.wait_for_function("window.secondListener.length === 1")
    assert events(page, "change") == page.evaluate("window.secondListener")


def test_with_event_listeners_replace_api_on_replaces_the_events_earlier_listener(
    page: Page, site: MerchantSite
) -> None:
    site.emulator.settings(event_listeners="replace")
    widget = open_widget(page, site)[1]
    page.evaluate("window.kcoEvents = []")
    register_a_second_change_listener(page)
    widget.frame.locator("input[name=email]").fill("ada@example.com")
    widget.frame.locator("input[name=email]").press("Tab")
    page.wait_for_function("window.secondListener.length === 1")
    # The recorder registered in the same call for the other events still runs: the address reaches it.
    widget.fill_shopper()
    wait_for_event(page, "billing_address_change")
    assert events(page, "change") == []


def test_kco_widget_change_country_fails_at_once_naming_billing_countries_when_the_order_offers_one(
    page: Page, site: MerchantSite
) -> None:
    widget = open_widget(page, site)[1]  # the pretend shop's order lists no billing_countries
    with pytest.raises(AssertionError, match="two or more billing_countries"):
        widget.change_country("DE")


def test_a_failing_address_callback_fires_shipping_address_update_error(
    page: Page, site: MerchantSite
) -> None:
    # The pretend shop answers address_update with `{}`, which is not an order: the change cannot be applied.
    order_id = site.order(merchant_urls=site.merchant_urls("address_update"))
    frame = open_checkout(page, site, order_id)
    for field, value in ADA.items():
        frame.locator(f"input[name={field}]").fill(value)
    frame.locator("input[name=city]").press("Tab")
    assert wait_for_event(page, "shipping_address_update_error") == [{}]
    expect(frame.get_by_role("alert")).to_contain_text("cannot be used")
    assert events(page, "billing_address_change") == []


def test_a_purchase_that_cannot_be_completed_fires_can_not_complete_order_at_once_and_on_each_attempt(
    page: Page, site: MerchantSite
) -> None:
    order_id = site.order()
    frame = open_checkout(page, site, order_id)
    site.emulator.cannot_complete(order_id)
    assert wait_for_event(page, "can_not_complete_order") == [{}]
    alert = frame.get_by_role("alert")
    expect(alert).to_have_text(widget_text("sv-SE")["cannot_complete"])
    for field, value in ADA.items():
        frame.locator(f"input[name={field}]").fill(value)
    # Leaving the last field hands the address over (and clears the message) before the click.
    frame.locator("input[name=city]").press("Tab")
    wait_for_event(page, "billing_address_change")
    frame.locator("button[type=submit]").click()
    page.wait_for_function("window.kcoEvents.filter(e => e.name === 'can_not_complete_order').length === 2")
    expect(alert).to_have_text(widget_text("sv-SE")["cannot_complete"])
    assert site.emulator.order(order_id)["status"] == "checkout_incomplete"


def test_redirect_initiated_fires_before_the_page_goes_to_the_confirmation(
    page: Page, site: MerchantSite
) -> None:
    order_id = site.order()
    frame = open_checkout(page, site, order_id)
    # window.kcoEvents goes with the page; the session storage of the shop's origin survives the redirect.
    page.evaluate("""window._klarnaCheckout(api => api.on({redirect_initiated: payload =>
        sessionStorage.setItem('redirect_initiated', JSON.stringify(payload))}))""")
    for field, value in ADA.items():
        frame.locator(f"input[name={field}]").fill(value)
    frame.locator("button[type=submit]").click()
    page.wait_for_url(f"{site.url}/confirmation/{order_id}")
    assert page.evaluate("sessionStorage.getItem('redirect_initiated')") == "true"
