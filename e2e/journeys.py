"""The vocabulary of the end-to-end journeys: what a shopper does, what the widget shows, what KCO received.

`BrowserShopper` drives the demo shop's pages in a browser tab (harness.shop_client's `ApiShopper` is its
counterpart without a browser); `Widget` reads and drives the KCO checkout iframe that the emulator renders
inside the checkout page; the functions at the end read the emulator's request
log and orders, so a test can prove what reached KCO (and what did not).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from playwright.sync_api import FrameLocator, Locator, Page, expect

from harness.shop_client import shop_text
from kco.markets import MARKETS
from kco_emulator.playwright import KcoWidget, expect_widget
from kco_emulator.testing import KcoEmulator


class BrowserShopper:
    """One shopper in one browser tab. Tabs of the same browser context share the shop session."""

    def __init__(self, page: Page, shop_url: str) -> None:
        self.page = page
        self.shop_url = shop_url.rstrip("/")
        self.widget = Widget(page)

    # --- on the catalogue ------------------------------------------------------------------------------

    def adds_to_cart(self, product: str, times: int = 1) -> None:
        self.page.goto(f"{self.shop_url}/")
        add = self.says("Add %(product)s to cart", product=product)
        added = self.says("%(product)s is in your cart.", product=product)
        for _ in range(times):
            self.page.get_by_role("button", name=add).click()
            expect(self.page.get_by_role("status")).to_contain_text(added)

    # --- on the checkout page --------------------------------------------------------------------------

    def opens_checkout(self) -> None:
        self.page.goto(f"{self.shop_url}/checkout")
        self.widget.kco.wait_ready()

    def reloads_checkout(self) -> None:
        self.page.reload()
        self.widget.kco.wait_ready()

    def sets_quantity(self, product: str, quantity: int) -> None:
        self.quantity_of(product).fill(str(quantity))

    def removes(self, product: str) -> None:
        self.page.get_by_role("button", name=self.says("Remove %(product)s", product=product)).click()

    def chooses_country(self, name: str) -> None:
        """`name` as kco/markets.py spells it; the select shows it in the shopper's language."""
        self.country.select_option(next(market.country for market in MARKETS.values() if market.name == name))

    def chooses_language(self, locale: str) -> None:
        self.language.select_option(locale)

    def has_paid_in_the_widget(self) -> str:
        """Fills in the widget, completes the purchase and lands on the confirmation; the paid order's id."""
        order_id = self.order_id()
        self.widget.fills_in_the_test_person()
        self.widget.completes_purchase()
        self.page.wait_for_url(f"**/confirmation?order_id={order_id}")
        return order_id

    def waits_until_the_page_is_in_step(self) -> None:
        """kco-sync.js has sent every change and shown the shop's answers (its state on the page's root)."""
        expect(self.sync_root).to_have_attribute("data-kco-sync-state", "idle")

    def waits_until_the_page_gives_up(self) -> None:
        """kco-sync.js's last request failed; the page shows a message and the cart as the shop holds it."""
        expect(self.sync_root).to_have_attribute("data-kco-sync-state", "error")

    def waits_until_the_page_is_quiet(self) -> None:
        """In step, and the tab's network idle: a late follow-up request cannot slip past a count of calls."""
        self.waits_until_the_page_is_in_step()
        self.page.wait_for_load_state("networkidle")

    # --- what the shopper sees -------------------------------------------------------------------------

    def says(self, msgid: str, **variables: str) -> str:
        """The shop's text for `msgid` in the language the page speaks now (its `<html lang>`).

        The locator waits for the `<html>` element, so a page that is still loading (after a form post) is
        read once it is there rather than failing on a missing document.
        """
        language = self.page.locator("html").get_attribute("lang")
        assert language, f"{self.page.url} has no <html lang>"
        return shop_text(msgid, language, **variables)

    @property
    def sync_root(self) -> Locator:
        return self.page.locator("[data-kco-sync]")

    @property
    def country(self) -> Locator:
        return self.page.get_by_role("combobox", name=self.says("Country"))

    @property
    def language(self) -> Locator:
        return self.page.get_by_role("combobox", name=self.says("Language"))

    def quantity_of(self, product: str) -> Locator:
        return self.page.get_by_label(self.says("Quantity of %(product)s", product=product))

    @property
    def shipping_name(self) -> Locator:
        return self.page.locator("[data-kco-shipping-name]")

    @property
    def shipping_amount(self) -> Locator:
        return self.page.locator("[data-kco-shipping-amount]")

    @property
    def order_amount(self) -> Locator:
        return self.page.locator("[data-kco-order-amount]")

    @property
    def order_tax_amount(self) -> Locator:
        return self.page.locator("[data-kco-order-tax-amount]")

    @property
    def message(self) -> Locator:
        return self.page.locator("[data-kco-message]")

    @property
    def empty_cart_note(self) -> Locator:
        return self.page.locator("[data-kco-empty]")

    def money(self, minor_units: int, cart: dict[str, Any]) -> str:
        """An amount of this cart as the page's script (and the widget) writes it: Intl.NumberFormat in the
        cart's locale and currency."""
        return self.page.evaluate(
            "([amount, currency, locale]) => new Intl.NumberFormat(locale, {style: 'currency', currency})"
            ".format(amount / 100)",
            [minor_units, cart["currency"], cart["locale"]],
        )

    # --- what the shop holds ---------------------------------------------------------------------------

    def cart_answer(self) -> dict[str, Any]:
        """GET /api/cart in this shopper's session (the browser context's cookies)."""
        response = self.page.request.get(f"{self.shop_url}/api/cart")
        assert response.ok, response.text()
        return response.json()

    def cart(self) -> dict[str, Any]:
        return self.cart_answer()["cart"]

    def order_id(self) -> str:
        order = self.cart_answer()["order"]
        assert order is not None, "the session has no KCO order"
        return order["order_id"]


def shopper_at_checkout(page: Page, shop_url: str, product: str) -> BrowserShopper:
    """A shopper with one `product` in the cart, on the checkout page once it is quiet."""
    shopper = BrowserShopper(page, shop_url)
    shopper.adds_to_cart(product)
    shopper.opens_checkout()
    shopper.waits_until_the_page_is_quiet()
    return shopper


class Widget:
    """The KCO checkout widget in the journeys' words. Each step is a step of kco_emulator.playwright's
    `KcoWidget`, the helpers a merchant's tests use, so every journey proves them too.

    Inside the frame: the lines (`line`, text "2 × Name"), the total and <html lang> (the widget's language).
    """

    def __init__(self, page: Page) -> None:
        self.kco = KcoWidget(page)
        self.container = self.kco.container
        self.frame: FrameLocator = self.kco.frame
        self.total = self.kco.order_total
        self.language = self.frame.locator("html")

    def expect_ready(self) -> None:
        expect_widget(self.kco).to_be_resumed()

    def expect_suspended(self) -> None:
        expect_widget(self.kco).to_be_suspended()

    def line(self, product: str) -> Locator:
        return self.kco.line(product)

    def fills_in_the_test_person(self) -> None:
        """Types a test person with an address of the widget's country, then leaves the last field.

        Leaving the field is what hands the address to KCO (its address_update callback); a Complete purchase
        clicked meanwhile is kept and runs once the widget has taken the address.
        """
        self.kco.fill_shopper()

    def chooses_country(self, alpha2: str) -> None:
        self.kco.change_country(alpha2)

    def chooses_shipping(self, name: str) -> None:
        self.kco.choose_shipping(name)

    def completes_purchase(self) -> None:
        self.kco.complete()


# Runs in each document of the tab before the page's own scripts. The kco-sync:* events are dispatched on the
# root and do not bubble, so the listeners go on the root, once the page is parsed.
KCO_SYNC_EVENT_RECORDER = """
window.__kcoSyncEvents = [];
document.addEventListener("DOMContentLoaded", () => {
  const root = document.querySelector("[data-kco-sync]");
  for (const name of ["kco-sync:suspend", "kco-sync:resume"]) {
    root?.addEventListener(name, (event) => window.__kcoSyncEvents.push(
      {name, url: event.detail?.url ?? null, ok: event.detail?.ok ?? null}));
  }
});
"""


class SyncEvents:
    """The kco-sync:suspend and kco-sync:resume events kco-sync.js dispatched on the checkout page, in order.

    The widget's state says it is ready again; these say why: the page resumed it after each request it
    suspended it for, and told whether the shop accepted that request (the resume's `ok`).
    """

    def __init__(self, page: Page) -> None:
        """Starts recording; create it before the shopper opens the checkout (it applies from each load)."""
        self.page = page
        page.add_init_script(KCO_SYNC_EVENT_RECORDER)

    def recorded(self) -> list[tuple[str, str, bool | None]]:
        """(suspend | resume, url, ok) for each event so far; ok is None for a suspend."""
        return [
            (event["name"].removeprefix("kco-sync:"), event["url"], event["ok"])
            for event in self.page.evaluate("window.__kcoSyncEvents")
        ]

    def expect_resumed_after_each(self, *requests: tuple[str, bool]) -> None:
        """For each (url, ok) in turn the widget was suspended, then resumed with that outcome; no other
        suspend happened and none is left open."""
        self.page.wait_for_function(
            "count => window.__kcoSyncEvents.filter(({name}) => name === 'kco-sync:resume').length >= count",
            arg=len(requests),
        )
        assert self.recorded() == [
            event for url, ok in requests for event in (("suspend", url, None), ("resume", url, ok))
        ]


# --- What reached KCO ----------------------------------------------------------------------------------

def kco_operations(emulator: KcoEmulator) -> list[str]:
    """The REST calls the emulator served, in order, by operation (create, read, update, ...)."""
    return [entry["operation"] for entry in emulator.calls() if entry.get("operation")]


def count_of(emulator: KcoEmulator, operation: str) -> int:
    return kco_operations(emulator).count(operation)


def product_lines(order: dict[str, Any]) -> list[tuple[str, int, int, int]]:
    """(reference, quantity, unit_price, total_amount) of the order's product lines, shipping left out."""
    return [
        (line["reference"], line["quantity"], line["unit_price"], line["total_amount"])
        for line in order["order_lines"]
        if line.get("type", "physical") in ("physical", "digital")
    ]


def shipping_lines(order: dict[str, Any]) -> list[tuple[str, int]]:
    return [(line["reference"], line["total_amount"]) for line in order["order_lines"]
            if line.get("type") == "shipping_fee"]


def assert_order_equals_cart(order: dict[str, Any], cart: dict[str, Any]) -> None:
    """KCO holds what the shop shows: the same lines, shipping, market and totals."""
    assert product_lines(order) == [
        (item["sku"], item["quantity"], item["unit_price"], item["total_amount"]) for item in cart["items"]
    ]
    shipping = cart.get("shipping")
    assert shipping_lines(order) == ([(shipping["id"], shipping["total_amount"])] if shipping else [])
    assert order["purchase_country"].upper() == cart["country"]
    assert order["purchase_currency"] == cart["currency"]
    assert order["locale"].lower() == cart["locale"].lower()
    assert order["order_amount"] == cart["order_amount"]
    assert order["order_tax_amount"] == cart["order_tax_amount"]


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """Poll a condition outside the browser (e.g. the emulator's log after a push) until it holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
