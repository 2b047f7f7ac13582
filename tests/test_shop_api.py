"""The JSON API rejects bad input with one error shape, changes nothing when it does, and calls no KCO."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from harness.shop_client import ApiShopper, KCOCalls


@pytest.fixture
def shopper(shop_server, emulator) -> ApiShopper:
    shopper = ApiShopper(shop_server.url)
    shopper.add_to_cart("mug-001", 2)
    assert shopper.open_checkout().status_code == 200
    return shopper


@pytest.fixture
def calls(emulator) -> KCOCalls:
    calls = KCOCalls(emulator)
    calls.mark()
    return calls


def assert_rejected(answer: requests.Response, status: int, code: str) -> None:
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["code"] == code and isinstance(error["message"], str) and error["message"]


@pytest.mark.parametrize(("items", "code"), [
    ("not a list", "invalid_cart"),
    ([{"sku": "mug-001"}], "invalid_cart"),
    ([{"quantity": 1}], "invalid_cart"),
    (["mug-001"], "invalid_cart"),
    ([{"sku": 7, "quantity": 1}], "invalid_cart"),
    ([{"sku": "mug-001", "quantity": 1}, {"sku": "mug-001", "quantity": 2}], "invalid_cart"),
    ([{"sku": "no-such-product", "quantity": 1}], "unknown_sku"),
    ([{"sku": "mug-001", "quantity": True}], "invalid_quantity"),
    ([{"sku": "mug-001", "quantity": 1.5}], "invalid_quantity"),
    ([{"sku": "mug-001", "quantity": 2.0}], "invalid_quantity"),
    ([{"sku": "mug-001", "quantity": "2"}], "invalid_quantity"),
    ([{"sku": "mug-001", "quantity": None}], "invalid_quantity"),
    ([{"sku": "mug-001", "quantity": -1}], "invalid_quantity"),
    ([{"sku": "mug-001", "quantity": 100}], "invalid_quantity"),
])
def test_bad_cart_is_rejected_and_changes_nothing(shopper: ApiShopper, calls: KCOCalls, items: Any,
                                                  code: str) -> None:
    before = shopper.cart()
    assert_rejected(shopper.post_json("/api/cart", {"items": items}), 400, code)
    assert shopper.cart() == before and calls.since() == []


@pytest.mark.parametrize("body", [None, [], "items", {"lines": []}])
def test_cart_body_without_items_is_rejected(shopper: ApiShopper, calls: KCOCalls, body: Any) -> None:
    before = shopper.cart()
    answer = shopper.post_json("/api/cart", body)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] in ("invalid_cart", "malformed_json")
    assert shopper.cart() == before and calls.since() == []


@pytest.mark.parametrize("path", ["/api/cart", "/api/market"])
@pytest.mark.parametrize("raw", ["{not json", "", "\xff"])
def test_malformed_json_is_rejected(shopper: ApiShopper, calls: KCOCalls, path: str, raw: str) -> None:
    before = shopper.cart()
    assert_rejected(shopper.post_json(path, None, raw=raw), 400, "malformed_json")
    assert shopper.cart() == before and calls.since() == []


@pytest.mark.parametrize(("body", "code"), [
    ({"country": "JP"}, "unsupported_country"),
    ({"country": "XX", "locale": "en-GB"}, "unsupported_country"),
    ({"country": 46}, "unsupported_country"),
    ({}, "unsupported_country"),
    ({"country": "DE", "locale": "sv-SE"}, "unsupported_locale"),
    ({"country": "DE", "locale": 7}, "unsupported_locale"),
    ({"country": "US", "locale": "en-GB"}, "unsupported_locale"),
])
def test_bad_market_is_rejected_and_changes_nothing(shopper: ApiShopper, calls: KCOCalls, body: Any,
                                                    code: str) -> None:
    before = shopper.cart()
    assert_rejected(shopper.post_json("/api/market", body), 400, code)
    assert shopper.cart() == before and calls.since() == []


@pytest.mark.parametrize("token", ["", "wrong-token"])
@pytest.mark.parametrize("path", ["/api/cart", "/api/market"])
def test_json_api_without_the_csrf_token_is_refused(shopper: ApiShopper, calls: KCOCalls, path: str,
                                                    token: str) -> None:
    before = shopper.cart()
    body = {"items": [{"sku": "tee-002", "quantity": 1}]} if path == "/api/cart" else {"country": "DE"}
    assert_rejected(shopper.post_json(path, body, csrf=token), 403, "csrf_failed")
    assert shopper.cart() == before and calls.since() == []


def test_add_to_cart_form_without_the_csrf_token_is_refused(shopper: ApiShopper, calls: KCOCalls) -> None:
    before = shopper.cart()
    answer = shopper.http.post(shopper.url("/cart/add"), data={"sku": "tee-002", "quantity": "1"}, timeout=15)
    assert_rejected(answer, 403, "csrf_failed")
    assert shopper.cart() == before


def test_another_sessions_csrf_token_is_refused(shopper: ApiShopper, shop_server) -> None:
    stranger = ApiShopper(shop_server.url)
    stranger.get("/")
    assert_rejected(shopper.post_json("/api/market", {"country": "DE"}, csrf=stranger.csrf_token), 403,
                    "csrf_failed")


def test_cart_answer_has_the_contract_shape(shopper: ApiShopper) -> None:
    answer = shopper.set_cart({"mug-001": 1, "socks-004": 2}).json()
    cart = answer["cart"]
    assert cart["items"] == [
        {"sku": "mug-001", "name": "Enamel mug", "quantity": 1, "unit_price": 19900, "total_amount": 19900},
        {"sku": "socks-004", "name": "Wool socks", "quantity": 2, "unit_price": 14900, "total_amount": 29800},
    ]
    assert (cart["country"], cart["currency"], cart["locale"]) == ("SE", "SEK", "sv-SE")
    assert cart["locales"] == ["sv-SE", "en-SE"]
    assert cart["order_amount"] == 19900 + 29800 + 4900  # products and the preselected standard delivery
    assert isinstance(cart["order_tax_amount"], int)
    assert set(answer["order"]) == {"order_id", "status"}


def test_quantity_zero_drops_the_line(shopper: ApiShopper) -> None:
    answer = shopper.set_cart({"mug-001": 0, "tee-002": 1})
    assert [item["sku"] for item in answer.json()["cart"]["items"]] == ["tee-002"]


def test_products_are_priced_for_the_sessions_market(shopper: ApiShopper) -> None:
    shopper.set_market("GB")
    products = requests.get(shopper.url("/api/products"), cookies=shopper.http.cookies, timeout=15).json()
    assert len(products["products"]) >= 5
    assert {product["currency"] for product in products["products"]} == {"GBP"}
    assert products["products"][0] == {"sku": "mug-001", "name": "Enamel mug", "unit_price": 1500,
                                       "currency": "GBP"}


def test_unknown_api_path_and_wrong_method_answer_json_errors(shopper: ApiShopper) -> None:
    assert_rejected(shopper.http.get(shopper.url("/api/nothing"), timeout=15), 404, "not_found")
    assert_rejected(shopper.http.get(shopper.url("/api/market"), timeout=15), 405, "method_not_allowed")


def test_answers_carry_server_timing_with_the_kco_time(shopper: ApiShopper) -> None:
    answer = shopper.set_cart({"mug-001": 5})
    assert "kco;dur=" in answer.headers["Server-Timing"] and "total;dur=" in answer.headers["Server-Timing"]
