"""The probe's calls to KCO, kept whole: status, headers and body as they came, where `kco.client` turns an
answer into an order or an error. And the sample orders the probes create.

Every order is a Swedish one of two T-shirts (100.00 each, VAT included) unless a probe asks for more; its
merchant_urls point at the probe's own server (kco.probe.listener), `{checkout.order.id}` in each path
(kco-rules: merchant-urls).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

import requests

from kco.client import ClientConfig, failure_cause, host_of
from kco.markets import Market, get_market
from kco.order_lines import CartLine, build_order

ORDERS_PATH = "/checkout/v3/orders"
BODY_EXCERPT = 600  # characters of a body that is not JSON, kept in the report
T_SHIRT_PRICE = 10_000  # minor units, VAT included; the same number in every currency keeps the sums easy


@dataclass(frozen=True)
class Exchange:
    """One call to KCO as it went; `status` None means no answer at all (`error` says why)."""

    method: str
    path: str
    status: int | None
    headers: dict[str, str] = field(default_factory=dict)
    text: str = ""
    error: str = ""

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.text) if self.text.strip() else None
        except ValueError:
            return None

    def field(self, name: str) -> Any:
        """A field of the JSON body, or None."""
        body = self.json
        return body.get(name) if isinstance(body, dict) else None

    def answer(self) -> str:
        """The status and the error_code, e.g. "403 READ_ONLY_ORDER"."""
        if self.status is None:
            return f"nothing ({self.error})"
        code = self.field("error_code")
        return f"{self.status} {code}" if code else str(self.status)

    @property
    def correlation_id(self) -> str | None:
        return self.headers.get("klarna-correlation-id")

    def evidence(self) -> dict[str, Any]:
        """What the report keeps of this call: no credentials, the body parsed or its first characters."""
        body = self.json
        if body is None and self.text.strip():
            body = self.text[:BODY_EXCERPT]
        if isinstance(body, dict):
            # The snippet is long and carries the widget's token: the report never needs it.
            body = {key: value for key, value in body.items() if key != "html_snippet"}
        return {
            "call": f"{self.method} {self.path}",
            "status": self.status,
            "content_type": self.headers.get("content-type"),
            "correlation_id_header": self.correlation_id,
            "location": self.headers.get("location"),
            "body": body,
            **({"error": self.error} if self.error else {}),
        }


class RawKco:
    """Calls KCO with the configured credentials (or others), and keeps each answer whole. Callbacks call it
    from the listener's threads too, so each call is a request of its own, with no shared session."""

    def __init__(self, config: ClientConfig) -> None:
        self.config = config

    def call(self, method: str, path: str, body: Any = None, authorization: str | None = None) -> Exchange:
        headers = {"Accept": "application/json", "User-Agent": f"kco-probe {self.config.user_agent}"}
        credentials = authorization if authorization is not None else self.config.authorization
        if credentials:
            headers["Authorization"] = credentials
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            response = requests.request(
                method, self.config.base_url + path, headers=headers, allow_redirects=False,
                data=json.dumps(body) if body is not None else None,
                timeout=(self.config.connect_timeout, self.config.read_timeout))
        except requests.RequestException as failure:
            return Exchange(method, path, None, error=failure_cause(failure, host_of(self.config.base_url)))
        return Exchange(method, path, response.status_code,
                        {name.lower(): value for name, value in response.headers.items()}, response.text)

    def create(self, order: dict[str, Any]) -> Exchange:
        return self.call("POST", ORDERS_PATH, order)

    def read(self, order_id: str) -> Exchange:
        return self.call("GET", f"{ORDERS_PATH}/{order_id}")

    def update(self, order_id: str, changes: dict[str, Any]) -> Exchange:
        return self.call("POST", f"{ORDERS_PATH}/{order_id}", changes)

    def abort(self, order_id: str) -> Exchange:
        return self.call("POST", f"{ORDERS_PATH}/{order_id}/abort")

    def acknowledge(self, order_id: str) -> Exchange:
        return self.call("POST", f"/ordermanagement/v1/orders/{order_id}/acknowledge")


def basic(username: str, password: str) -> str:
    """Classic HTTP Basic credentials (kco-rules: basic-auth)."""
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


def merchant_urls(public_url: str, *callbacks: str) -> dict[str, str]:
    """terms, checkout, confirmation and push on the probe's server, and each of `callbacks`
    (address_update, country_change, validation...)."""
    return {name: f"{public_url}/kco/{name}/{{checkout.order.id}}"
            for name in ("terms", "checkout", "confirmation", "push", *callbacks)}


def market_lines(market: Market) -> dict[str, Any]:
    """Two T-shirts in the market's currency, VAT included (no VAT in the US), with exact sums
    (kco-rules: order-amount-sum, order-tax-sum)."""
    tee = CartLine("kco-probe-tee", "T-shirt", 2, T_SHIRT_PRICE, market.vat_rate)
    return {"purchase_currency": market.currency, **build_order([tee], market).as_kco()}


def english_locale(market: Market) -> str:
    """The market's English locale where it has one, so the widget speaks to whoever runs the probe."""
    return next((locale for locale in market.locales if locale.startswith("en-")), market.default_locale)


def sample_order(public_url: str, *callbacks: str, country: str = "SE", **extra: Any) -> dict[str, Any]:
    market = get_market(country)
    return {
        "purchase_country": market.country,
        "locale": english_locale(market),
        **market_lines(market),
        "merchant_urls": merchant_urls(public_url, *callbacks),
        "merchant_reference1": "kco-probe",
        **extra,
    }
