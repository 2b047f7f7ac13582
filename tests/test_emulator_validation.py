"""Order validation over real HTTP: each broken rule answers 400 BAD_VALUE naming its JSON path.

Rules: fields and limits (kco-rules: order-fields), merchant URLs, options and shipping options (kco-rules:
merchant-urls, kco-rules: order-options, kco-rules: shipping-options), line formulas and exact order sums
(kco-rules: line-total, kco-rules: line-tax, kco-rules: order-amount-sum, kco-rules: order-tax-sum), markets
(kco-rules: markets).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
import requests

from harness.emulator_samples import assert_kco_error, create, created_id, sample_order, update
from kco_emulator.testing import KcoEmulator

Mutation = Callable[[dict[str, Any]], None]


def without(key: str) -> Mutation:
    return lambda order: order.pop(key)


def setting(key: str, value: Any) -> Mutation:
    return lambda order: order.__setitem__(key, value)


def line(index: int, key: str, value: Any) -> Mutation:
    def mutate(order: dict[str, Any]) -> None:
        if value is None:
            order["order_lines"][index].pop(key)
        else:
            order["order_lines"][index][key] = value

    return mutate


def url_of(key: str, value: Any) -> Mutation:
    def mutate(order: dict[str, Any]) -> None:
        if value is None:
            order["merchant_urls"].pop(key)
        else:
            order["merchant_urls"][key] = value

    return mutate


BROKEN_ORDERS: list[tuple[str, Mutation, str]] = [
    ("missing purchase_country", without("purchase_country"), "purchase_country"),
    ("missing purchase_currency", without("purchase_currency"), "purchase_currency"),
    ("missing locale", without("locale"), "locale"),
    ("missing order_amount", without("order_amount"), "order_amount"),
    ("missing order_tax_amount", without("order_tax_amount"), "order_tax_amount"),
    ("missing order_lines", without("order_lines"), "order_lines"),
    ("alpha-3 country", setting("purchase_country", "SWE"), "purchase_country"),
    ("country outside the merchant setup", setting("purchase_country", "JP"), "purchase_country"),
    ("currency of another market", setting("purchase_currency", "EUR"), "purchase_currency"),
    ("malformed currency", setting("purchase_currency", "KR"), "purchase_currency"),
    ("malformed locale", setting("locale", "sv_SE"), "locale"),
    ("order_amount as a float", setting("order_amount", 24900.0), "order_amount"),
    ("negative order_tax_amount", setting("order_tax_amount", -1), "order_tax_amount"),
    ("order_amount not the sum of lines", setting("order_amount", 24901), "order_amount"),
    ("order_tax_amount not the sum of lines", setting("order_tax_amount", 4979), "order_tax_amount"),
    ("line without name", line(1, "name", None), "order_lines[1].name"),
    ("line with empty name", line(0, "name", ""), "order_lines[0].name"),
    ("line name over 255", line(0, "name", "x" * 256), "order_lines[0].name"),
    ("negative quantity", line(0, "quantity", -1), "order_lines[0].quantity"),
    ("quantity as a string", line(0, "quantity", "2"), "order_lines[0].quantity"),
    ("unknown line type", line(0, "type", "service"), "order_lines[0].type"),
    ("unit_price over 1e8", line(0, "unit_price", 100_000_001), "order_lines[0].unit_price"),
    ("tax_rate over 10000", line(0, "tax_rate", 10_001), "order_lines[0].tax_rate"),
    ("negative discount", line(0, "total_discount_amount", -1), "order_lines[0].total_discount_amount"),
    ("line total not quantity x price", line(0, "total_amount", 19999), "order_lines[0].total_amount"),
    ("line tax off by 2", line(1, "total_tax_amount", 982), "order_lines[1].total_tax_amount"),
    (
        "tax computed on top of the price",
        line(0, "total_tax_amount", 5000),
        "order_lines[0].total_tax_amount",
    ),
    ("quantity_unit over 8", line(0, "quantity_unit", "x" * 9), "order_lines[0].quantity_unit"),
    ("reference over 255", line(0, "reference", "x" * 256), "order_lines[0].reference"),
    (
        "too many lines",
        setting(
            "order_lines",
            [
                {
                    "name": "x",
                    "quantity": 0,
                    "unit_price": 0,
                    "tax_rate": 0,
                    "total_amount": 0,
                    "total_tax_amount": 0,
                }
            ]
            * 1001,
        ),
        "order_lines",
    ),
    ("missing merchant_urls", without("merchant_urls"), "merchant_urls"),
    ("missing terms URL", url_of("terms", None), "merchant_urls.terms (must be a valid http or https URI)"),
    (
        "relative confirmation URL",
        url_of("confirmation", "/confirmation"),
        "merchant_urls.confirmation (must be a valid http or https URI)",
    ),
    (
        "ftp push URL",
        url_of("push", "ftp://shop.test/push"),
        "merchant_urls.push (must be a valid http or https URI)",
    ),
    (
        "validation URL over 2000",
        url_of("validation", "https://shop.test/" + "x" * 2000),
        "merchant_urls.validation (must be a valid http or https URI)",
    ),
    ("merchant_reference1 over 255", setting("merchant_reference1", "x" * 256), "merchant_reference1"),
    ("merchant_data over 6000", setting("merchant_data", "x" * 6001), "merchant_data"),
    ("alpha-3 billing country", setting("billing_countries", ["SE", "DEU"]), "billing_countries[1]"),
    (
        "shipping option without price",
        setting("shipping_options", [{"id": "a", "name": "A", "tax_amount": 0, "tax_rate": 0}]),
        "shipping_options[0].price",
    ),
    ("colour without #", setting("options", {"color_button": "ff0000"}), "options.color_button"),
    ("unknown customer type", setting("customer", {"type": "robot"}), "customer.type"),
    (
        "attachment without body",
        setting("attachment", {"content_type": "application/json"}),
        "attachment.body",
    ),
]


def test_a_merchant_url_may_hold_2000_characters_and_no_more(emulator: KcoEmulator) -> None:
    base = "https://shop.test/validation/"
    longest = base + "x" * (2000 - len(base))
    order = sample_order(merchant_urls={**sample_order()["merchant_urls"], "validation": longest})
    assert create(emulator, order).status_code == 201
    order["merchant_urls"]["validation"] = longest + "x"
    assert_kco_error(create(emulator, order), 400, "BAD_VALUE",
                     "Bad value: merchant_urls.validation (must be a valid http or https URI)")


@pytest.mark.parametrize(
    ("mutate", "path"), [case[1:] for case in BROKEN_ORDERS], ids=[case[0] for case in BROKEN_ORDERS]
)
def test_create_refuses_a_broken_rule_with_bad_value_and_its_path(
    emulator: KcoEmulator, mutate: Mutation, path: str
) -> None:
    order = copy.deepcopy(sample_order())
    mutate(order)
    assert_kco_error(create(emulator, order), 400, "BAD_VALUE", f"Bad value: {path}")
    assert emulator.calls("create")[0]["status"] == 400


ACCEPTED_ORDERS: list[tuple[str, Mutation]] = [
    ("line tax within plus one", line(0, "total_tax_amount", 4001)),
    ("line tax within minus one", line(0, "total_tax_amount", 3999)),
    (
        "lower-case country and currency",
        lambda order: order.update(purchase_country="se", purchase_currency="sek"),
    ),
    ("well-formed locale outside the language table falls back", setting("locale", "zh-CN")),
    ("language only", setting("locale", "sv")),
    ("unknown fields are ignored", setting("something_new", {"x": 1})),
]


@pytest.mark.parametrize(
    "mutate", [case[1] for case in ACCEPTED_ORDERS], ids=[case[0] for case in ACCEPTED_ORDERS]
)
def test_create_accepts_what_kco_accepts(emulator: KcoEmulator, mutate: Mutation) -> None:
    order = copy.deepcopy(sample_order())
    mutate(order)
    if order["order_lines"][0]["total_tax_amount"] != 4000:
        order["order_tax_amount"] = order["order_lines"][0]["total_tax_amount"] + 980
    assert create(emulator, order).status_code == 201


def test_discount_line_and_us_sales_tax_line_are_valid(emulator: KcoEmulator) -> None:
    us_order = sample_order(
        purchase_country="US",
        purchase_currency="USD",
        locale="en-US",
        order_amount=10300,
        order_tax_amount=800,
        order_lines=[
            {
                "name": "Hoodie",
                "quantity": 1,
                "unit_price": 12000,
                "tax_rate": 0,
                "total_amount": 12000,
                "total_tax_amount": 0,
            },
            {
                "type": "discount",
                "name": "Spring",
                "quantity": 1,
                "unit_price": -2500,
                "tax_rate": 0,
                "total_amount": -2500,
                "total_tax_amount": 0,
            },
            {
                "type": "sales_tax",
                "name": "Sales Tax",
                "quantity": 1,
                "unit_price": 800,
                "tax_rate": 0,
                "total_amount": 800,
                "total_tax_amount": 0,
            },
        ],
    )
    assert create(emulator, us_order).status_code == 201


def test_update_validates_the_merged_order(emulator: KcoEmulator) -> None:
    order_id = created_id(emulator)
    lines_only = {"order_lines": sample_order()["order_lines"][:1]}  # amounts left as they were
    assert_kco_error(update(emulator, order_id, lines_only), 400, "BAD_VALUE", "Bad value: order_amount")
    currency_only = {"purchase_currency": "EUR"}
    assert_kco_error(
        update(emulator, order_id, currency_only), 400, "BAD_VALUE", "Bad value: purchase_currency"
    )
    assert emulator.order(order_id)["order_lines"] == sample_order()["order_lines"]


def test_a_body_that_is_not_a_json_object_is_a_bad_value(emulator: KcoEmulator) -> None:
    response = requests.post(
        f"{emulator.url}/checkout/v3/orders",
        data="[1, 2]",
        headers={"Content-Type": "application/json"},
        timeout=5,
        auth=emulator.credentials,
    )
    assert_kco_error(response, 400, "BAD_VALUE", "Bad value: body (must be a JSON object)")
    garbage = requests.post(
        f"{emulator.url}/checkout/v3/orders",
        data="{",
        auth=("demo", "demo"),
        headers={"Content-Type": "application/json"},
        timeout=5,
    )
    assert garbage.status_code == 400
