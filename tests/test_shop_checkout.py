"""The shop keeps the KCO order in step with the cart and market: each rule counted in the emulator's log.

Real HTTP all the way: a shopper (harness/shop_client.py) talks to the shop process, the shop to the emulator.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from harness.shop_client import ApiShopper, KCOCalls, kco_order, shop_text

SNIPPET_ID = "klarna-checkout-container"




def checkout_with(shopper: ApiShopper, calls: KCOCalls, **cart: int) -> str:
    for sku, quantity in cart.items():
        shopper.add_to_cart(sku, quantity)
    assert shopper.open_checkout().status_code == 200
    calls.mark()
    return shopper.order_id()


def message_of(page: str) -> str:
    match = re.search(r"<p[^>]*data-kco-message[^>]*>(.*?)</p>", page, re.S)
    assert match, "the page has no message region"
    return match.group(1).strip()


def test_first_checkout_load_creates_one_order_and_renders_its_snippet(shopper: ApiShopper, calls: KCOCalls,
                                                                      emulator) -> None:
    calls.mark()
    shopper.add_to_cart("mug-001", 2)
    page = shopper.open_checkout()
    assert calls.since() == ["create"]
    assert SNIPPET_ID in page.text
    order = kco_order(emulator, shopper.order_id())
    assert order["order_lines"][0]["reference"] == "mug-001" and order["order_lines"][0]["quantity"] == 2
    assert order["order_amount"] == shopper.cart()["cart"]["order_amount"]
    # A validation callback that does not answer must not count as approval (kco-rules: order-options,
    # kco-rules: validation-callback).
    assert order["options"] == {"require_validate_callback_success": True}


def test_reload_with_unchanged_cart_reads_once_and_never_updates(shopper: ApiShopper,
                                                                  calls: KCOCalls) -> None:
    order_id = checkout_with(shopper, calls, **{"mug-001": 1})
    page = shopper.open_checkout()
    assert calls.since() == ["read"]
    assert shopper.order_id() == order_id and SNIPPET_ID in page.text


def test_cart_change_updates_once_without_reading_and_same_cart_again_costs_nothing(
        shopper: ApiShopper, calls: KCOCalls, emulator) -> None:
    order_id = checkout_with(shopper, calls, **{"mug-001": 1})
    answer = shopper.set_cart({"mug-001": 3, "tee-002": 1})
    assert answer.status_code == 200, answer.text
    assert calls.since() == ["update"]
    assert "html_snippet" not in answer.json()
    assert answer.json()["order"] == {"order_id": order_id, "status": "checkout_incomplete"}
    order = kco_order(emulator, order_id)
    assert [(line["reference"], line["quantity"]) for line in order["order_lines"]
            if line["type"] == "physical"] == [("mug-001", 3), ("tee-002", 1)]
    assert order["order_amount"] == answer.json()["cart"]["order_amount"]

    calls.mark()
    again = shopper.set_cart({"mug-001": 3, "tee-002": 1})
    assert again.status_code == 200 and calls.since() == []


def test_reload_after_a_catalogue_change_reads_then_updates_once(shopper: ApiShopper,
                                                                  calls: KCOCalls) -> None:
    checkout_with(shopper, calls, **{"mug-001": 1})
    shopper.add_to_cart("socks-004")
    assert calls.since() == []  # adding from the catalogue calls no KCO
    shopper.open_checkout()
    assert calls.since() == ["read", "update"]


def test_market_change_to_germany_moves_country_currency_locale_and_prices(
        shopper: ApiShopper, calls: KCOCalls, emulator) -> None:
    order_id = checkout_with(shopper, calls, **{"tee-002": 2})
    answer = shopper.set_market("DE")
    assert answer.status_code == 200, answer.text
    assert calls.since() == ["update"]
    cart = answer.json()["cart"]
    assert (cart["country"], cart["currency"], cart["locale"]) == ("DE", "EUR", "de-DE")
    assert cart["locales"] == ["de-DE", "en-DE"]
    assert cart["items"][0]["unit_price"] == 2990
    order = kco_order(emulator, order_id)
    assert order["purchase_country"].upper() == "DE"
    assert (order["purchase_currency"], order["locale"]) == ("EUR", "de-DE")
    assert order["order_lines"][0]["unit_price"] == 2990 and order["order_lines"][0]["tax_rate"] == 1900
    assert order["order_amount"] == cart["order_amount"]


def test_language_change_within_the_country_updates_only_the_locale(shopper: ApiShopper, calls: KCOCalls,
                                                                   emulator) -> None:
    order_id = checkout_with(shopper, calls, **{"mug-001": 1})
    answer = shopper.set_market("SE", "en-SE")
    assert answer.status_code == 200 and calls.since() == ["update"]
    order = kco_order(emulator, order_id)
    assert (order["locale"], order["purchase_currency"]) == ("en-SE", "SEK")
    calls.mark()
    assert shopper.set_market("SE").json()["cart"]["locale"] == "en-SE"  # same country keeps the language
    assert calls.since() == []


def test_expired_order_is_replaced_on_reload_with_the_cart_unchanged_and_no_error(
        shopper: ApiShopper, calls: KCOCalls, emulator) -> None:
    order_id = checkout_with(shopper, calls, **{"bottle-003": 1})
    cart_before = shopper.cart()["cart"]
    emulator.advance(hours=49)
    page = shopper.open_checkout()
    assert calls.since() == ["read", "create"]
    assert shopper.order_id() != order_id
    assert shopper.cart()["cart"] == cart_before
    assert SNIPPET_ID in page.text and message_of(page.text) == ""


def test_update_answered_503_aborts_the_order_creates_a_new_one_and_hands_back_its_snippet(
        shopper: ApiShopper, calls: KCOCalls, emulator) -> None:
    order_id = checkout_with(shopper, calls, **{"mug-001": 1})
    emulator.fail_next("update", status=503, times=3)  # the first update and both retries (kco/checkout.py)
    answer = shopper.set_cart({"mug-001": 2})
    assert answer.status_code == 200, answer.text
    assert calls.since() == ["update", "read", "update", "update", "abort", "create"]
    assert emulator.order_state(order_id)["aborted"]
    new_order_id = answer.json()["order"]["order_id"]
    assert new_order_id != order_id and SNIPPET_ID in answer.json()["html_snippet"]
    assert kco_order(emulator, new_order_id)["order_lines"][0]["quantity"] == 2


def test_update_failure_on_an_order_the_shopper_paid_meanwhile_goes_to_the_confirmation(
        shopper: ApiShopper, calls: KCOCalls, emulator) -> None:
    order_id = checkout_with(shopper, calls, **{"mug-001": 1})
    emulator.settings(push_retry_seconds=[])
    assert emulator.complete(order_id)["result"] == "completed"
    emulator.fail_next("update", status=503)
    answer = shopper.set_cart({"mug-001": 2})
    assert answer.status_code == 409 and answer.json()["redirect"] == f"/confirmation?order_id={order_id}"
    assert calls.since() == ["update", "read"]  # the read after the refusal finds checkout_complete


def test_kco_unreachable_answers_503_keeps_the_cart_and_the_next_load_catches_up(
        shopper: ApiShopper, calls: KCOCalls, emulator) -> None:
    order_id = checkout_with(shopper, calls, **{"mug-001": 1})
    emulator.disconnect_next("update")
    answer = shopper.set_cart({"mug-001": 4})
    assert answer.status_code == 503
    assert answer.json()["error"]["code"] == "kco_unreachable"
    assert answer.json()["cart"]["items"][0]["quantity"] == 4
    assert shopper.cart()["cart"]["items"][0]["quantity"] == 4
    assert shopper.order_id() == order_id

    calls.mark()
    shopper.open_checkout()
    assert calls.since() == ["read", "update"]  # the same order, brought up to date; no second order
    assert kco_order(emulator, order_id)["order_lines"][0]["quantity"] == 4


def test_create_unreachable_shows_a_message_and_makes_one_attempt(shopper: ApiShopper, calls: KCOCalls,
                                                                  emulator) -> None:
    shopper.add_to_cart("mug-001")
    emulator.disconnect_next("create")
    calls.mark()
    page = shopper.open_checkout()
    assert page.status_code == 200
    assert calls.since() == ["create"]
    unreachable = shop_text("The checkout could not be reached just now. Your cart is saved; please reload "
                            "the page in a moment.")
    assert message_of(page.text) == unreachable
    assert SNIPPET_ID not in page.text


def test_empty_cart_shows_the_empty_state_and_calls_no_kco(shopper: ApiShopper, calls: KCOCalls) -> None:
    calls.mark()
    page = shopper.open_checkout()
    assert calls.since() == []
    assert re.search(r"<p[^>]*data-kco-empty(?![^>]*hidden)[^>]*>", page.text)
    assert SNIPPET_ID not in page.text
    assert shopper.cart()["order"] is None


def test_emptying_the_cart_on_the_page_calls_no_kco(shopper: ApiShopper, calls: KCOCalls) -> None:
    checkout_with(shopper, calls, **{"mug-001": 1})
    answer = shopper.set_cart({})
    assert answer.status_code == 200 and answer.json()["order"] is None
    assert answer.json()["cart"]["items"] == [] and calls.since() == []


def test_change_after_the_purchase_completed_answers_409_with_the_confirmation(
        shopper: ApiShopper, calls: KCOCalls, emulator) -> None:
    order_id = checkout_with(shopper, calls, **{"mug-001": 1})
    emulator.complete(order_id)
    calls.mark()
    answer = shopper.set_cart({"mug-001": 2})
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "purchase_completed"
    assert answer.json()["redirect"] == f"/confirmation?order_id={order_id}"
    assert "update" in calls.since() and "create" not in calls.since()


def test_reload_after_the_purchase_completed_goes_to_the_confirmation(shopper: ApiShopper, calls: KCOCalls,
                                                                     emulator) -> None:
    order_id = checkout_with(shopper, calls, **{"mug-001": 1})
    emulator.complete(order_id)
    calls.mark()
    page = shopper.open_checkout()
    assert page.status_code == 303 and page.headers["Location"].endswith(f"/confirmation?order_id={order_id}")
    assert calls.since() == ["read"]


def test_orders_carry_callback_urls_with_a_token_and_every_market(shopper: ApiShopper, calls: KCOCalls,
                                                                 emulator, shop_server) -> None:
    order = kco_order(emulator, checkout_with(shopper, calls, **{"mug-001": 1}))
    urls = order["merchant_urls"]
    assert urls["confirmation"] == f"{shop_server.url}/confirmation?order_id={{checkout.order.id}}"
    for name in ("push", "validation", "address_update", "country_change", "shipping_option_update"):
        assert urls[name].startswith(f"{shop_server.url}/kco/callbacks/{name}?order_id={{checkout.order.id}}")
        assert re.search(r"[?&]token=[0-9a-f]{64}$", urls[name])
    assert len(order["billing_countries"]) == len(order["shipping_countries"]) == 14
    assert [option["id"] for option in order["shipping_options"]] == ["standard", "express"]
    assert order["merchant_reference2"]


def test_us_order_carries_a_sales_tax_line_and_reloads_without_update(shopper: ApiShopper, calls: KCOCalls,
                                                                  emulator) -> None:
    order_id = checkout_with(shopper, calls, **{"notebook-005": 3})
    shopper.set_market("US")
    order = kco_order(emulator, order_id)
    types = [line["type"] for line in order["order_lines"]]
    assert types == ["physical", "shipping_fee", "sales_tax"]
    assert all(line["tax_rate"] == 0 for line in order["order_lines"])
    calls.mark()
    shopper.open_checkout()
    assert calls.since() == ["read"]  # KCO's echo compares equal: no update on reload


def test_an_order_the_shop_has_no_record_of_is_replaced_not_updated(shopper: ApiShopper, calls: KCOCalls,
                                                                    shop_server) -> None:
    order_id = checkout_with(shopper, calls, **{"mug-001": 1})
    with sqlite3.connect(Path(shop_server.env["INSTANCE_PATH"]) / "shop.sqlite3") as database:
        database.execute("DELETE FROM checkouts WHERE order_id = ?", (order_id,))
    answer = shopper.set_cart({"mug-001": 2})
    assert answer.status_code == 200 and calls.since() == ["create"]
    assert answer.json()["order"]["order_id"] != order_id and "html_snippet" in answer.json()
