"""A shopper over HTTP for tests and benchmarks, and what they read back from KCO (through the emulator).

`ApiShopper` has its own cookie jar and the page's CSRF token, and speaks the shop's JSON API without a
browser; e2e/journeys.py's `BrowserShopper` is its counterpart in Chromium. `shop_text` is what the shop
writes for one of its strings in a shopper's language, from the catalogues the shop itself reads.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import requests
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from kco.markets import get_market
from shop.cart import DEFAULT_COUNTRY
from shop.shopper_language import TRANSLATIONS

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
TIMEOUT = 15
DEFAULT_LOCALE = get_market(DEFAULT_COUNTRY).default_locale  # a new shopper's checkout (shop/cart.py)


def shop_text(msgid: str, locale: str = DEFAULT_LOCALE, **variables: Any) -> str:
    """The shop's text for `msgid` in the language of a KCO `locale` (a new shopper's by default), with
    gettext's `%(name)s` variables filled in; the msgid itself in English."""
    language = locale.split("-")[0]
    text = shop_catalogue(language)[msgid].string if language != "en" else msgid
    assert text, f"no {language} translation of {msgid!r}"
    return text % variables if variables else text


@cache
def shop_catalogue(language: str) -> Catalog:
    """The catalogue of a language as translations/ holds it (the shop compiles the same file)."""
    with (TRANSLATIONS / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale=language)


def csrf_token_in(page: str) -> str | None:
    """The CSRF token a shop page carries in its `<meta name="csrf-token">`, as the page's script reads it."""
    match = CSRF_META.search(page)
    return match.group(1) if match else None


def page_csrf_token(client: Any) -> str:
    """The session's CSRF token from the catalogue page, through a Flask test client (no socket)."""
    token = csrf_token_in(client.get("/").get_data(as_text=True))
    assert token, "the catalogue page carries no CSRF token"
    return token


class ApiShopper:
    """One shopper (one cookie jar) on the shop's pages and JSON API."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = requests.Session()
        self.csrf_token = ""

    def url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.base_url}{path}"

    def get(self, path: str, **options: Any) -> requests.Response:
        """GET a page; reads the CSRF token from HTML pages, as the page's script would."""
        options.setdefault("allow_redirects", False)
        response = self.http.get(self.url(path), timeout=TIMEOUT, **options)
        if token := csrf_token_in(response.text):
            self.csrf_token = token
        return response

    def open_checkout(self, query: str = "") -> requests.Response:
        return self.get(f"/checkout{query}")

    def _ensure_token(self) -> None:
        if not self.csrf_token:
            self.get("/")

    def add_to_cart(self, sku: str, quantity: int = 1) -> requests.Response:
        """The catalogue's "Add to cart" form post (no JavaScript)."""
        self._ensure_token()
        return self.http.post(self.url("/cart/add"), timeout=TIMEOUT, allow_redirects=False,
                              data={"sku": sku, "quantity": str(quantity), "csrf_token": self.csrf_token})

    def post_json(self, path: str, body: Any, csrf: str | None = None, raw: str | None = None
                  ) -> requests.Response:
        """POST JSON with the X-CSRFToken header (the session's token unless `csrf` is given)."""
        self._ensure_token()
        token = self.csrf_token if csrf is None else csrf
        headers = {"Content-Type": "application/json", "X-CSRFToken": token}
        if raw is not None:
            return self.http.post(self.url(path), data=raw, headers=headers, timeout=TIMEOUT)
        return self.http.post(self.url(path), json=body, headers=headers, timeout=TIMEOUT)

    def set_cart(self, cart: dict[str, int]) -> requests.Response:
        return self.post_json("/api/cart", {"items": [{"sku": sku, "quantity": quantity}
                                                      for sku, quantity in cart.items()]})

    def set_market(self, country: str, locale: str | None = None) -> requests.Response:
        body: dict[str, str] = {"country": country}
        if locale is not None:
            body["locale"] = locale
        return self.post_json("/api/market", body)

    def cart(self) -> dict[str, Any]:
        response = self.http.get(self.url("/api/cart"), timeout=TIMEOUT)
        response.raise_for_status()
        return response.json()

    def start_checkout(self, cart: dict[str, int]) -> str:
        """Adds the cart through the catalogue's form, opens the checkout; the new KCO order's id."""
        for sku, quantity in cart.items():
            self.add_to_cart(sku, quantity)
        assert self.open_checkout().status_code == 200
        return self.order_id()

    def quantities(self) -> dict[str, int]:
        """The session's cart as {sku: quantity}."""
        return {item["sku"]: item["quantity"] for item in self.cart()["cart"]["items"]}

    def order_id(self) -> str:
        order = self.cart()["order"]
        assert order is not None, "the session has no KCO order"
        return order["order_id"]


class KCOCalls:
    """Counts the KCO API calls in the emulator's request log from a point on (`mark`)."""

    def __init__(self, emulator: Any) -> None:
        self.emulator = emulator
        self.start = 0

    def mark(self) -> None:
        self.start = len(self.emulator.calls())

    def since(self, order_id: str | None = None) -> list[str]:
        """The operations (create/read/update/...) served since `mark`, in order; with `order_id`, only those
        for that order (a request a previous test left running may still reach the shared emulator)."""
        entries = self.emulator.calls()[self.start:]
        return [entry["operation"] for entry in entries
                if entry.get("operation") and order_id in (None, entry.get("order_id"))]


def kco_order(emulator: Any, order_id: str) -> dict[str, Any]:
    """The order as KCO holds it, read through the emulator's control API so the request log is untouched."""
    return emulator.order(order_id)


def kco_quantities(emulator: Any, order_id: str) -> dict[str, int]:
    """The order's product lines as {reference: quantity}, to compare with `ApiShopper.quantities`."""
    return {line["reference"]: line["quantity"] for line in kco_order(emulator, order_id)["order_lines"]
            if line.get("type", "physical") == "physical"}


def callback_url(emulator: Any, order_id: str, name: str) -> str:
    """The merchant URL the shop gave KCO for callback `name` (push, validation, ...), as KCO calls it."""
    return kco_order(emulator, order_id)["merchant_urls"][name].replace("{checkout.order.id}", order_id)
