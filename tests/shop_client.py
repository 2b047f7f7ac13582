"""A shopper for tests: its own cookie jar, the page's CSRF token, and helpers for the shop's JSON API."""

from __future__ import annotations

import re
from typing import Any

import requests

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
TIMEOUT = 15


class Shopper:
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
        if match := CSRF_META.search(response.text):
            self.csrf_token = match.group(1)
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
        self.start = len(self.emulator.requests())

    def since(self) -> list[str]:
        """The operations (create/read/update/...) served since `mark`, in order."""
        entries = self.emulator.requests()[self.start:]
        return [entry["operation"] for entry in entries if entry.get("operation")]


def kco_order(emulator: Any, order_id: str) -> dict[str, Any]:
    """The order as KCO holds it, read through the emulator's control API so the request log is untouched."""
    return emulator.stored(order_id)["order"]
