"""KCO's server-side callbacks to the shop: tokens, server-side prices, validation and push (kco-rules:
refine-callbacks, kco-rules: validation-callback, kco-rules: push-and-acknowledge).

The callback URLs are taken from the order as KCO holds it (the emulator's copy), so the tests post exactly
what KCO would post to, and can also tamper with the token or the body.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
import requests

from harness.shop_client import ApiShopper, KCOCalls, callback_url, kco_order, shop_text

CALLBACKS = ("push", "validation", "address_update", "country_change", "shipping_option_update")




def post(url: str, body: Any = None) -> requests.Response:
    return requests.post(url, json=body, timeout=15, allow_redirects=False)


def recorded_orders(shop_server, order_id: str) -> list[tuple[str, str | None]]:
    database = Path(shop_server.env["INSTANCE_PATH"]) / "shop.sqlite3"
    with sqlite3.connect(database) as connection:
        return connection.execute("SELECT recorded_by, acknowledged_at FROM orders WHERE order_id = ?",
                                  (order_id,)).fetchall()


def test_every_callback_refuses_a_missing_wrong_or_foreign_token(shopper: ApiShopper, emulator,
                                                                 shop_server) -> None:
    order_id = shopper.start_checkout({"mug-001": 1})
    other = ApiShopper(shop_server.url)
    other_order_id = other.start_checkout({"mug-001": 1})
    for name in CALLBACKS:
        good = callback_url(emulator, order_id, name)
        foreign_token = callback_url(emulator, other_order_id, name).split("token=")[1]
        base = good.split("&token=")[0]
        for url in (base, f"{base}&token=", f"{base}&token={'0' * 64}", f"{base}&token={foreign_token}"):
            answer = post(url, {"billing_address": {"country": "DE"}})
            assert answer.status_code == 403, (name, url)
            assert answer.json()["error"]["code"] == "callback_forbidden"


def test_address_update_to_germany_answers_with_catalogue_prices_ignoring_the_body(
        shopper: ApiShopper, emulator, calls: KCOCalls) -> None:
    order_id = shopper.start_checkout({"tee-002": 2})
    tampered = {"order_amount": 1, "order_tax_amount": 0, "purchase_currency": "SEK",
                "order_lines": [{"reference": "tee-002", "name": "T", "quantity": 2, "unit_price": 1,
                                 "tax_rate": 0, "total_amount": 2, "total_tax_amount": 0}],
                "shipping_address": {"country": "de", "postal_code": "10115"}}
    answer = post(callback_url(emulator, order_id, "address_update"), tampered)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["purchase_currency"], body["locale"]) == ("EUR", "de-DE")
    assert [(line["reference"], line["unit_price"], line["tax_rate"]) for line in body["order_lines"]] == [
        ("tee-002", 2990, 1900), ("standard", 490, 1900)]
    assert body["order_amount"] == 2 * 2990 + 490
    assert body["order_tax_amount"] == sum(line["total_tax_amount"] for line in body["order_lines"])
    assert {option["id"]: option["price"] for option in body["shipping_options"]} == {
        "standard": 490, "express": 1290}

    # The session follows KCO to Germany, and the page's follow-up market post costs no KCO call.
    calls.mark()
    assert shopper.cart()["cart"]["country"] == "DE"
    repeat = shopper.set_market("DE")
    assert repeat.status_code == 200 and repeat.json()["cart"]["order_amount"] == body["order_amount"]
    assert calls.since() == []


def test_country_change_uses_the_billing_country(shopper: ApiShopper, emulator) -> None:
    order_id = shopper.start_checkout({"mug-001": 1})
    answer = post(callback_url(emulator, order_id, "country_change"),
                  {"billing_address": {"country": "GB"}, "shipping_address": {"country": "SE"}})
    assert answer.status_code == 200
    assert (answer.json()["purchase_currency"], answer.json()["locale"]) == ("GBP", "en-GB")


@pytest.mark.parametrize("name", ["address_update", "country_change"])
def test_a_country_we_do_not_sell_to_is_refused_with_unsupported_shipping_address(
        shopper: ApiShopper, emulator, name: str) -> None:
    order_id = shopper.start_checkout({"mug-001": 1})
    answer = post(callback_url(emulator, order_id, name),
                  {"billing_address": {"country": "JP"}, "shipping_address": {"country": "JP"}})
    assert answer.status_code == 400
    assert answer.json()["error_type"] == "unsupported_shipping_address" and answer.json()["error_text"]
    assert shopper.cart()["cart"]["country"] == "SE"


def test_us_address_update_adds_the_states_sales_tax(shopper: ApiShopper, emulator) -> None:
    order_id = shopper.start_checkout({"notebook-005": 3})
    assert shopper.set_market("US").status_code == 200
    answer = post(callback_url(emulator, order_id, "address_update"),
                  {"shipping_address": {"country": "US", "region": "CA", "postal_code": "94103"}})
    assert answer.status_code == 200, answer.text
    lines = {line["type"]: line for line in answer.json()["order_lines"]}
    # California 7.25 % of the products (3 x 12.50 USD), rounded half up; shipping is not taxed here.
    assert lines["sales_tax"]["total_amount"] == 272
    assert answer.json()["order_tax_amount"] == 272
    assert answer.json()["order_amount"] == 3 * 1250 + 500 + 272
    assert shopper.cart()["cart"]["order_tax_amount"] == 272


def test_shipping_option_update_answers_with_the_chosen_fee_line(shopper: ApiShopper, emulator) -> None:
    order_id = shopper.start_checkout({"mug-001": 1})
    url = callback_url(emulator, order_id, "shipping_option_update")
    answer = post(url, {"selected_shipping_option": {"id": "express", "price": 1}})
    assert answer.status_code == 200
    fee = [line for line in answer.json()["order_lines"] if line["type"] == "shipping_fee"]
    assert [(line["reference"], line["total_amount"]) for line in fee] == [("express", 12900)]
    assert answer.json()["order_amount"] == 19900 + 12900
    assert shopper.cart()["cart"]["shipping"]["id"] == "express"
    assert post(url, {"selected_shipping_option": {"id": "teleport"}}).status_code == 400


@pytest.mark.parametrize("option_id", [["express"], {"id": "express"}, 7, None])
def test_a_shipping_option_id_that_is_not_a_string_is_refused_with_a_400(shopper: ApiShopper, emulator,
                                                                        option_id: Any) -> None:
    order_id = shopper.start_checkout({"mug-001": 1})
    answer = post(callback_url(emulator, order_id, "shipping_option_update"),
                  {"selected_shipping_option": {"id": option_id}})
    assert answer.status_code == 400 and answer.json()["error_type"] == "approval_failed"


def test_malformed_callback_body_is_a_400_not_a_500(shopper: ApiShopper, emulator) -> None:
    order_id = shopper.start_checkout({"mug-001": 1})
    url = callback_url(emulator, order_id, "address_update")
    answer = requests.post(url, data="{nope", headers={"Content-Type": "application/json"}, timeout=15)
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "malformed_json"


def test_validation_approves_the_order_the_shop_holds(shopper: ApiShopper, emulator) -> None:
    order_id = shopper.start_checkout({"mug-001": 2})
    answer = post(callback_url(emulator, order_id, "validation"), kco_order(emulator, order_id))
    assert answer.status_code == 200


@pytest.mark.parametrize("tamper", ["amount", "quantity", "price"])
def test_validation_sends_a_tampered_order_back_to_the_checkout(shopper: ApiShopper, emulator,
                                                                tamper: str) -> None:
    order_id = shopper.start_checkout({"mug-001": 2})
    order = kco_order(emulator, order_id)
    line = order["order_lines"][0]
    if tamper == "amount":
        order["order_amount"] -= 100
    elif tamper == "quantity":
        line["quantity"], line["total_amount"] = 1, line["unit_price"]
    else:
        line["unit_price"], line["total_amount"] = 100, 200
    answer = post(callback_url(emulator, order_id, "validation"), order)
    assert answer.status_code == 303
    assert answer.headers["Location"].endswith("/checkout?error=cart_changed")


def test_validation_refuses_an_order_the_shop_replaced_even_if_kco_did_not_abort_it(
        shopper: ApiShopper, emulator) -> None:
    old_order_id = shopper.start_checkout({"mug-001": 1})
    old_order = kco_order(emulator, old_order_id)
    emulator.fail_next("update", status=401)  # a refusal the shop does not retry
    emulator.fail_next("abort", status=503)
    replaced = shopper.set_cart({"mug-001": 2})
    assert replaced.status_code == 200 and shopper.order_id() != old_order_id
    assert not emulator.order_state(old_order_id)["aborted"]
    answer = post(callback_url(emulator, old_order_id, "validation"), old_order)
    assert answer.status_code == 303


def test_validation_refuses_an_order_whose_cart_changed_in_another_tab(shopper: ApiShopper, emulator) -> None:
    order_id = shopper.start_checkout({"mug-001": 1})
    order = kco_order(emulator, order_id)
    shopper.add_to_cart("socks-004")  # another tab, from the catalogue: no KCO call
    answer = post(callback_url(emulator, order_id, "validation"), order)
    assert answer.status_code == 303
    page = shopper.open_checkout("?error=cart_changed")
    sent_back = shop_text("Your cart changed while you were paying, so the purchase was stopped. Please "
                          "check your order and complete it again.")
    assert sent_back in page.text


def test_push_delivered_three_times_stores_one_order_and_acknowledges_once(
        shopper: ApiShopper, emulator, shop_server) -> None:
    emulator.settings(push_retry_seconds=[])  # only the pushes this test delivers
    order_id = shopper.start_checkout({"mug-001": 1})
    emulator.complete(order_id)
    for _ in range(3):
        attempt = emulator.push(order_id)
        assert attempt["status"] == 200, attempt
    rows = recorded_orders(shop_server, order_id)
    assert len(rows) == 1 and rows[0][1] is not None
    acknowledgements = [entry for entry in emulator.calls()
                        if entry.get("operation") == "acknowledge" and entry.get("order_id") == order_id]
    assert len(acknowledgements) == 1


def test_push_after_the_confirmation_page_keeps_one_order_and_acknowledges(shopper: ApiShopper, emulator,
                                                                          shop_server) -> None:
    emulator.settings(push_retry_seconds=[])
    order_id = shopper.start_checkout({"mug-001": 1})
    emulator.complete(order_id)
    assert shopper.get(f"/confirmation?order_id={order_id}").status_code == 200
    assert emulator.push(order_id)["status"] == 200
    rows = recorded_orders(shop_server, order_id)
    assert len(rows) == 1 and rows[0][0] == "confirmation" and rows[0][1] is not None


def test_country_changed_inside_the_widget_is_followed_without_a_second_update(
        shopper: ApiShopper, emulator, calls: KCOCalls) -> None:
    order_id = shopper.start_checkout({"tee-002": 1})
    calls.mark()
    emulator.change_country(order_id, "DE")
    order = kco_order(emulator, order_id)
    assert (order["purchase_currency"], order["locale"]) == ("EUR", "de-DE")
    cart = shopper.cart()["cart"]
    assert (cart["country"], cart["currency"], cart["order_amount"]) == ("DE", "EUR", order["order_amount"])
    assert shopper.set_market("DE").status_code == 200  # what kco-sync.js sends when the widget moved
    shopper.open_checkout()
    assert calls.since() == ["read"]


def test_shipping_option_picked_in_the_widget_stays_on_reload(shopper: ApiShopper, emulator,
                                                              calls: KCOCalls) -> None:
    order_id = shopper.start_checkout({"mug-001": 1})
    calls.mark()
    emulator.choose_shipping(order_id, "express")
    assert kco_order(emulator, order_id)["order_amount"] == 19900 + 12900
    shopper.open_checkout()
    assert calls.since() == ["read"]
    assert shopper.cart()["cart"]["order_amount"] == 19900 + 12900


def test_cart_changed_in_another_tab_is_not_slipped_into_the_order_and_validation_sends_back(
        shopper: ApiShopper, emulator) -> None:
    order_id = shopper.start_checkout({"mug-001": 1})
    shopper.add_to_cart("socks-004")  # another tab, from the catalogue
    outcome = emulator.complete(order_id, billing_address={
        "given_name": "Test", "family_name": "Person", "country": "SE", "email": "test@example.com",
        "postal_code": "12345", "street_address": "Gatan 1", "city": "Stockholm"})
    assert outcome["result"] == "rejected" and outcome["callback_status"] == 303
    assert outcome["redirect_url"].endswith("/checkout?error=cart_changed")
    lines = kco_order(emulator, order_id)["order_lines"]
    assert [line["reference"] for line in lines] == ["mug-001", "standard"]
