"""The emulator's checkout widget in a real browser: snippet, queue, iframe, suspend/resume, events.

A throwaway merchant server (in this process, on its own port, so a different origin from the emulator)
renders the html_snippet it reads from the emulator, like a shop's checkout page, records events the
widget fires through `window.kcoEvents`, and answers the emulator's callbacks.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from playwright.sync_api import FrameLocator, Page, expect
from werkzeug.wrappers import Request, Response

from harness.emulator_samples import EUR_ANSWER, PRODUCTS_ONLY, created_id, sample_order
from kco_emulator.testing import KcoEmulator, WsgiServer
from kco_emulator.widget_text import widget_text

EVENTS = [
    "load",
    "user_interacted",
    "customer",
    "change",
    "billing_address_change",
    "shipping_address_change",
    "shipping_option_change",
    "order_total_change",
    "redirect_initiated",
    "can_not_complete_order",
    "shipping_address_update_error",
    "checkbox_change",
    "load_confirmation",
]

# Registered through the queue before the bootstrap script has loaded (kco-rules: suspend-resume:
# calls are queued).
MERCHANT_SCRIPT = """
<script>
  window.kcoEvents = [];
  window._klarnaCheckout = window._klarnaCheckout || function () {
    (window._klarnaCheckout.q = window._klarnaCheckout.q || []).push(arguments);
  };
  function listen() {
    window._klarnaCheckout(function (api) {
      window.kcoApi = api;
      var handlers = {};
      EVENTS.forEach(function (name) {
        handlers[name] = function (payload) { window.kcoEvents.push({name: name, payload: payload}); };
      });
      api.on(handlers);
    });
  }
  listen();
  async function swapTo(orderId) {
    var answer = await (await fetch('/snippet/' + orderId)).json();
    var holder = document.getElementById('checkout');
    holder.innerHTML = answer.html_snippet;
    // Scripts inserted through innerHTML do not run: re-create them (kco-rules: html-snippet).
    holder.querySelectorAll('script').forEach(function (old) {
      var script = document.createElement('script');
      script.text = old.text;
      old.replaceWith(script);
    });
    window.kcoEvents = [];
    listen();
  }
</script>
""".replace("EVENTS", json.dumps(EVENTS))

# The widget's words for the orders of these tests (kco_emulator/widget_text.py).
SV = widget_text("sv-SE")
DE = widget_text("de-DE")



class MerchantSite:
    """Checkout page, snippet endpoint and callback endpoints of a pretend shop."""

    def __init__(self, emulator: KcoEmulator) -> None:
        self.emulator = emulator
        self.server = WsgiServer(self.wsgi)
        self.url = self.server.start()

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        kind, _, order_id = request.path.strip("/").partition("/")
        if kind == "checkout":
            snippet = self.emulator.order(order_id)["html_snippet"]
            page = (
                f"<!doctype html><html><head><title>Shop</title></head><body>{MERCHANT_SCRIPT}"
                f"<h1>Shop checkout</h1><div id='checkout'>{snippet}</div></body></html>"
            )
            response = Response(page, content_type="text/html")
        elif kind == "snippet":
            response = Response(
                json.dumps({"html_snippet": self.emulator.order(order_id)["html_snippet"]}),
                content_type="application/json",
            )
        elif kind == "country_change":
            response = Response(json.dumps(EUR_ANSWER), content_type="application/json")
        elif kind == "confirmation":
            snippet = self.emulator.order(order_id)["html_snippet"]
            page = (f"<!doctype html><html><head><title>Thanks</title></head><body>{MERCHANT_SCRIPT}"
                    f"<h1>Thank you for order {order_id}</h1>{snippet}</body></html>")
            response = Response(page, content_type="text/html")
        else:
            response = Response("{}", content_type="application/json")
        return response(environ, start_response)

    def merchant_urls(self, *callbacks: str) -> dict[str, str]:
        """This site's terms, checkout, confirmation and push URLs, and those of `callbacks`."""
        urls = {"terms": f"{self.url}/terms"}
        for name in ("checkout", "confirmation", "push", *callbacks):
            urls[name] = f"{self.url}/{name}/{{checkout.order.id}}"
        return urls

    def order(self, **fields: Any) -> str:
        """A Swedish order of two T-shirts (no shipping fee) that calls this site back."""
        order = {**PRODUCTS_ONLY, "merchant_urls": self.merchant_urls("country_change"), **fields}
        return created_id(self.emulator, sample_order(**order))


@pytest.fixture
def site(emulator: KcoEmulator) -> Iterator[MerchantSite]:
    merchant = MerchantSite(emulator)
    yield merchant
    merchant.server.stop()


def open_checkout(page: Page, site: MerchantSite, order_id: str) -> FrameLocator:
    page.goto(f"{site.url}/checkout/{order_id}")
    expect(page.locator("#klarna-checkout-container")).to_have_attribute("data-kco-widget-state", "ready")
    return page.frame_locator("#klarna-checkout-iframe")


def events(page: Page, name: str) -> list[Any]:
    return [event["payload"] for event in page.evaluate("window.kcoEvents") if event["name"] == name]


def test_widget_renders_the_order_and_runs_api_calls_queued_before_it_loaded(
    page: Page, site: MerchantSite, screenshot: Any
) -> None:
    order_id = site.order()
    frame = open_checkout(page, site, order_id)
    expect(frame.locator("[data-kco-order-line]")).to_have_text(["2 × T-shirt200,00 kr"])
    expect(frame.locator("[data-kco-order-total]")).to_have_text("200,00 kr")
    # The order's locale is sv-SE: the widget speaks Swedish, as KCO's does.
    expect(frame.locator("html")).to_have_attribute("lang", "sv")
    for field in ("email", "postal_code", "given_name", "family_name", "street_address", "city"):
        expect(frame.get_by_label(SV[field], exact=True)).to_be_editable()
    expect(frame.get_by_label(SV["country"])).to_be_hidden()  # one country only
    expect(frame.get_by_role("button", name=SV["complete"])).to_be_enabled()
    screenshot("loaded")
    # The handlers came through the queue and were in place for the load event.
    page.wait_for_function("window.kcoEvents.some(e => e.name === 'load')")
    assert events(page, "load") == [{"customer": {"type": "person"}, "shipping_address": {"country": "swe"}}]
    assert page.evaluate("typeof window.kcoApi.suspend") == "function"
    src = page.locator("#klarna-checkout-iframe").get_attribute("src")
    assert src.startswith(f"{site.emulator.url}/widget/orders/{order_id}?")


def test_suspend_disables_the_widget_and_resume_shows_the_updated_order(
    page: Page, site: MerchantSite
) -> None:
    order_id = site.order()
    frame = open_checkout(page, site, order_id)
    container = page.locator("#klarna-checkout-container")
    page.evaluate("window.kcoApi.suspend({autoResume: {enabled: false}})")
    expect(container).to_have_attribute("data-kco-widget-state", "suspended")
    expect(container).to_have_attribute("data-kco-auto-resume", "off")
    expect(frame.get_by_role("status", name=SV["suspended"])).to_be_visible()
    expect(frame.get_by_label(SV["email"])).to_be_disabled()

    three = [
        {
            "reference": "tee-001",
            "name": "T-shirt",
            "quantity": 3,
            "unit_price": 10000,
            "tax_rate": 2500,
            "total_amount": 30000,
            "total_tax_amount": 6000,
        }
    ]
    updated = requests.post(
        f"{site.emulator.url}/checkout/v3/orders/{order_id}",
        timeout=5,
        json={"order_lines": three, "order_amount": 30000, "order_tax_amount": 6000},
        auth=site.emulator.credentials,
    )
    assert updated.status_code == 200
    page.evaluate("window.kcoApi.resume()")
    expect(container).to_have_attribute("data-kco-widget-state", "ready")
    expect(frame.locator("[data-kco-order-total]")).to_have_text("300,00 kr")
    expect(frame.locator("[data-kco-order-line]")).to_have_text(["3 × T-shirt300,00 kr"])
    expect(frame.get_by_role("status", name=SV["suspended"])).to_be_hidden()
    expect(frame.get_by_label(SV["email"])).to_be_enabled()
    page.wait_for_function("window.kcoEvents.some(e => e.name === 'order_total_change')")
    assert events(page, "order_total_change") == [{"order_total": 30000}]


def test_suspend_resumes_by_itself_after_ten_seconds_unless_disabled(page: Page, site: MerchantSite) -> None:
    page.clock.install()
    order_id = site.order()
    open_checkout(page, site, order_id)
    container = page.locator("#klarna-checkout-container")

    page.evaluate("window.kcoApi.suspend({autoResume: {enabled: false}})")
    page.clock.run_for(20_000)
    expect(container).to_have_attribute("data-kco-widget-state", "suspended")

    page.evaluate("window.kcoApi.suspend()")
    expect(container).to_have_attribute("data-kco-auto-resume", "on")
    page.clock.run_for(9_000)
    expect(container).to_have_attribute("data-kco-widget-state", "suspended")
    page.clock.run_for(1_500)
    expect(container).to_have_attribute("data-kco-widget-state", "ready")


def test_changing_the_country_in_the_widget_runs_country_change_and_fires_change_with_alpha3(
    page: Page, site: MerchantSite, screenshot: Any
) -> None:
    order_id = site.order(billing_countries=["SE", "DE", "FI"])
    frame = open_checkout(page, site, order_id)
    # Countries are named in the order's language (sv-SE), as in KCO's widget.
    country = frame.get_by_label(SV["country"])
    expect(country.locator("option")).to_have_text(["Sverige", "Tyskland", "Finland"])
    country.select_option("DE")
    page.wait_for_function("window.kcoEvents.some(e => e.name === 'change' && e.payload.country === 'deu')")
    expect(frame.locator("[data-kco-order-total]")).to_have_text("19,00 €")
    # The merchant's answer moved the order to de-DE: the widget now speaks German.
    expect(frame.get_by_label(DE["country"]).locator("option")).to_have_text(
        ["Schweden", "Deutschland", "Finnland"])
    screenshot("germany")
    order = site.emulator.order(order_id)
    assert (order["purchase_country"], order["purchase_currency"]) == ("DE", "EUR")
    assert events(page, "change")[0] == {"country": "swe"}  # fired on load (kco-rules: widget-events)
    assert events(page, "order_total_change") == [{"order_total": 1900}]


def test_entering_an_address_and_completing_redirects_the_page_to_the_confirmation(
    page: Page, site: MerchantSite
) -> None:
    order_id = site.order()
    frame = open_checkout(page, site, order_id)
    for field, value in (
        ("email", "ada@example.com"),
        ("postal_code", "114 55"),
        ("given_name", "Ada"),
        ("family_name", "Lovelace"),
        ("street_address", "Gatan 1"),
        ("city", "Stockholm"),
    ):
        frame.get_by_label(SV[field], exact=True).fill(value)
    frame.get_by_label(SV["city"], exact=True).press("Tab")
    page.wait_for_function("window.kcoEvents.some(e => e.name === 'billing_address_change')")
    assert events(page, "billing_address_change")[0] == {
        "postal_code": "11455",
        "country": "swe",
        "given_name": "Ada",
        "family_name": "Lovelace",
        "email": "ada@example.com",
    }
    assert events(page, "user_interacted")[0] in ({"type": "mousedown"}, {"type": "keydown"})
    frame.get_by_role("button", name=SV["complete"]).click()
    page.wait_for_url(f"{site.url}/confirmation/{order_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Thank you for order {order_id}")
    assert site.emulator.order(order_id)["status"] == "checkout_complete"


def test_a_new_snippet_replaces_the_widget_and_its_queued_handlers(page: Page, site: MerchantSite) -> None:
    first = site.order()
    second = site.order(
        purchase_country="DE",
        purchase_currency="EUR",
        locale="de-DE",
        **{key: EUR_ANSWER[key] for key in ("order_amount", "order_tax_amount", "order_lines")},
    )
    open_checkout(page, site, first)
    page.evaluate(f"swapTo('{second}')")
    page.wait_for_function("window.kcoEvents.some(e => e.name === 'load')")
    assert events(page, "load")[0]["shipping_address"] == {"country": "deu"}
    iframe = page.locator("#klarna-checkout-iframe")
    expect(iframe).to_have_count(1)
    assert f"/widget/orders/{second}?" in iframe.get_attribute("src")
    frame = page.frame_locator("#klarna-checkout-iframe")
    expect(frame.locator("[data-kco-order-total]")).to_have_text("19,00 €")
    page.evaluate("window.kcoApi.suspend({autoResume: {enabled: false}})")
    expect(page.locator("#klarna-checkout-container")).to_have_attribute("data-kco-widget-state", "suspended")
    expect(frame.get_by_role("status", name=DE["suspended"])).to_be_visible()


# Opened as a page of its own, the frame makes Chromium ask the emulator for /favicon.ico: it serves none.
@pytest.mark.expected_console_errors("/favicon.ico")
def test_the_checkout_frame_refuses_to_run_outside_the_merchant_page(page: Page, site: MerchantSite) -> None:
    order_id = site.order()
    snippet = site.emulator.order(order_id)["html_snippet"]
    token = snippet.split("KlarnaCheckout ")[1].split('"')[0]
    page.goto(f"{site.emulator.url}/widget/orders/{order_id}?token={token}&parent_origin={site.url}")
    expect(page.get_by_text("only be shown inside the page of the shop")).to_be_visible()
    expect(page.locator("button[type=submit]")).to_have_count(0)
