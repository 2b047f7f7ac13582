"""Sample KCO orders and small REST helpers shared by the emulator tests."""

from __future__ import annotations

from typing import Any

import requests

from kco_emulator.testing import KcoEmulator


def sample_order(**overrides: Any) -> dict[str, Any]:
    """A valid Swedish order: 2 x 100.00 SEK at 25 % VAT plus a 49.00 SEK shipping fee."""
    order: dict[str, Any] = {
        "purchase_country": "SE",
        "purchase_currency": "SEK",
        "locale": "sv-SE",
        "order_amount": 24900,
        "order_tax_amount": 4980,
        "order_lines": [
            {
                "type": "physical",
                "reference": "tee-001",
                "name": "T-shirt",
                "quantity": 2,
                "unit_price": 10000,
                "tax_rate": 2500,
                "total_amount": 20000,
                "total_tax_amount": 4000,
            },
            {
                "type": "shipping_fee",
                "name": "Shipping",
                "quantity": 1,
                "unit_price": 4900,
                "tax_rate": 2500,
                "total_amount": 4900,
                "total_tax_amount": 980,
            },
        ],
        "merchant_urls": {
            "terms": "http://127.0.0.1:9/terms",
            "checkout": "http://127.0.0.1:9/checkout",
            "confirmation": "http://127.0.0.1:9/confirmation?order_id={checkout.order.id}",
            "push": "http://127.0.0.1:9/push?order_id={checkout.order.id}",
        },
    }
    order.update(overrides)
    return order


def url(emulator: KcoEmulator, path: str) -> str:
    return f"{emulator.url}{path}"


def create(emulator: KcoEmulator, order: dict[str, Any] | None = None) -> requests.Response:
    return requests.post(url(emulator, "/checkout/v3/orders"), json=order or sample_order(),
                         auth=emulator.credentials, timeout=10)


def created_id(emulator: KcoEmulator, order: dict[str, Any] | None = None) -> str:
    response = create(emulator, order)
    assert response.status_code == 201, response.text
    return response.json()["order_id"]


def update(emulator: KcoEmulator, order_id: str, changes: dict[str, Any]) -> requests.Response:
    return requests.post(url(emulator, f"/checkout/v3/orders/{order_id}"), json=changes,
                         auth=emulator.credentials, timeout=10)


def read(emulator: KcoEmulator, order_id: str) -> requests.Response:
    return requests.get(url(emulator, f"/checkout/v3/orders/{order_id}"), auth=emulator.credentials,
                        timeout=10)


def assert_kco_error(response: requests.Response, status: int, code: str, message: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body == {
        "error_code": code,
        "error_messages": [message],
        "correlation_id": response.headers["Klarna-Correlation-Id"],
    }


# sample_order's T-shirts without its shipping fee.
PRODUCTS_ONLY = {
    "order_amount": 20000,
    "order_tax_amount": 4000,
    "order_lines": sample_order()["order_lines"][:1],
}

# Start-up and independence


SHOPPER = {
    "given_name": "Ada",
    "family_name": "Lovelace",
    "email": "ada@example.com",
    "street_address": "Gatan 1",
    "postal_code": "114 55",
    "city": "Stockholm",
    "country": "SE",
}

# What a merchant answers to country_change when the shopper picks Germany.
EUR_ANSWER = {
    "order_amount": 1900,
    "order_tax_amount": 303,
    "purchase_currency": "EUR",
    "locale": "de-DE",
    "order_lines": [
        {
            "name": "T-shirt",
            "quantity": 1,
            "unit_price": 1900,
            "tax_rate": 1900,
            "total_amount": 1900,
            "total_tax_amount": 303,
        }
    ],
}
