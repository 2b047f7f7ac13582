"""The emulator plays real KCO where it is documented, and each plausible behaviour where it is not: the order
locked during refine callbacks (kco-rules: callback-lock), fraud review and the notification callback
(kco-rules: pending-orders), KCO's own shipping cost (kco-rules: automatic-shipping-cost), https callbacks
(kco-rules: https-callbacks), the country picked in the widget (kco-rules: country-change-purchase-country),
aborted orders (kco-rules: aborted-orders), the real push schedule (kco-rules: push-and-acknowledge), and a
control API that only this machine can steer.

Everything runs over HTTP against the emulator process; a throwaway merchant server
(tests/test_emulator_callbacks) answers the callbacks.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests

from harness.emulator_samples import (
    EUR_ANSWER,
    PRODUCTS_ONLY,
    SHOPPER,
    assert_kco_error,
    create,
    created_id,
    read,
    sample_order,
    update,
)
from kco_emulator.app import create_app
from kco_emulator.store import Settings, SettingsError
from kco_emulator.testing import KcoEmulator
from tests.test_emulator_callbacks import UNCHANGED_ANSWER, Merchant, MerchantCall, open_order

OPTIONS = [
    {"id": "standard", "name": "Standard", "price": 4900, "tax_amount": 980, "tax_rate": 2500,
     "preselected": True},
    {"id": "express", "name": "Express", "price": 9900, "tax_amount": 1980, "tax_rate": 2500},
]


@pytest.fixture
def merchant() -> Iterator[Merchant]:
    server = Merchant()
    yield server
    server.close()


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# --- The order is locked while KCO calls the merchant back (kco-rules: callback-lock) -----------------------

SHOPPER_ACTIONS = {
    "address_update": lambda emulator, order_id: emulator.enter_address(order_id, SHOPPER),
    "country_change": lambda emulator, order_id: emulator.change_country(order_id, "DE"),
    "shipping_option_update": lambda emulator, order_id: emulator.choose_shipping(order_id, "express"),
}
CALLBACK_ANSWERS = {
    "address_update": UNCHANGED_ANSWER,
    "country_change": EUR_ANSWER,
    "shipping_option_update": UNCHANGED_ANSWER,
}


@pytest.mark.parametrize("callback", list(SHOPPER_ACTIONS))
def test_a_merchant_update_while_a_refine_callback_runs_is_refused_with_409_and_a_kco_error_body(
    emulator: KcoEmulator, merchant: Merchant, callback: str
) -> None:
    order_id = open_order(emulator, merchant, callback, shipping_options=OPTIONS)
    during: list[requests.Response] = []

    def update_meanwhile(_: MerchantCall) -> None:
        during.append(update(emulator, order_id, {"merchant_reference1": "during"}))

    merchant.answer(callback, body=CALLBACK_ANSWERS[callback], before=update_meanwhile)
    assert SHOPPER_ACTIONS[callback](emulator, order_id)["result"] == "updated"
    assert_kco_error(during[0], 409, "CONFLICT", "The order is locked while a callback to the merchant runs")
    assert "merchant_reference1" not in emulator.order(order_id)
    assert update(emulator, order_id, {"merchant_reference1": "after"}).status_code == 200


def test_with_callback_lock_status_0_an_update_during_a_callback_goes_through(
    emulator: KcoEmulator, merchant: Merchant
) -> None:
    emulator.settings(callback_lock_status=0)
    order_id = open_order(emulator, merchant, "address_update")
    during: list[requests.Response] = []
    merchant.answer("address_update", body=UNCHANGED_ANSWER,
                    before=lambda _: during.append(update(emulator, order_id, {"merchant_reference1": "x"})))
    emulator.enter_address(order_id, SHOPPER)
    assert during[0].status_code == 200


@pytest.mark.parametrize("status", [409, 423, 429, 503])
def test_the_lock_control_refuses_the_next_updates_with_the_configured_status_then_lets_them_through(
    emulator: KcoEmulator, status: int
) -> None:
    emulator.settings(callback_lock_status=status)
    order_id = created_id(emulator)
    assert emulator.lock(order_id, 2) == {"refusals": 2, "status": status}
    refused = [update(emulator, order_id, {"merchant_reference1": str(n)}) for n in range(2)]
    for response in refused:
        assert response.status_code == status
        assert response.json()["correlation_id"] == response.headers["Klarna-Correlation-Id"]
    assert read(emulator, order_id).status_code == 200  # reads are never locked
    assert update(emulator, order_id, {"merchant_reference1": "ok"}).json()["merchant_reference1"] == "ok"
    assert [entry["status"] for entry in emulator.calls("update")] == [status, status, 200]


@pytest.mark.parametrize(("status", "code", "message"), [
    (403, "READ_ONLY_ORDER", "Resource is read-only"),
    (400, "BAD_REQUEST", "The order is locked while a callback to the merchant runs"),
    (423, "LOCKED", "The order is locked while a callback to the merchant runs"),
])
def test_the_lock_is_played_as_any_plausible_answer_403_exactly_like_a_read_only_order(
    emulator: KcoEmulator, status: int, code: str, message: str
) -> None:
    emulator.settings(callback_lock_status=status)
    order_id = created_id(emulator)
    emulator.lock(order_id)
    assert_kco_error(update(emulator, order_id, {"merchant_reference1": "x"}), status, code, message)
    assert read(emulator, order_id).json()["status"] == "checkout_incomplete"


def test_callback_lock_status_accepts_0_or_an_error_status_only(emulator: KcoEmulator) -> None:
    for value in (200, 600, "409", True):
        answer = requests.post(f"{emulator.url}/_emulator/settings",
                                    json={"callback_lock_status": value}, timeout=5)
        assert answer.status_code == 400 and answer.json()["error"]["code"] == "bad_setting"
    assert emulator.settings()["callback_lock_status"] == 409


# --- Fraud review and the notification callback (kco-rules: pending-orders) ---------------------------------

def om_order(emulator: KcoEmulator, order_id: str) -> dict[str, Any]:
    response = requests.get(f"{emulator.url}/ordermanagement/v1/orders/{order_id}", auth=emulator.credentials,
                            timeout=5)
    assert response.status_code == 200
    return response.json()


def test_a_purchase_completed_as_pending_reads_pending_in_order_management(
    emulator: KcoEmulator, merchant: Merchant
) -> None:
    order_id = open_order(emulator, merchant, "notification")
    assert emulator.complete(order_id, fraud_status="PENDING")["result"] == "completed"
    om = om_order(emulator, order_id)
    assert (om["status"], om["fraud_status"]) == ("AUTHORIZED", "PENDING")
    assert merchant.called("notification") == []


@pytest.mark.parametrize(("event_type", "fraud_status"), [
    ("FRAUD_RISK_ACCEPTED", "ACCEPTED"),
    ("FRAUD_RISK_REJECTED", "REJECTED"),
    ("FRAUD_RISK_STOPPED", "REJECTED"),
])
def test_a_fraud_decision_sets_fraud_status_and_posts_the_notification(
    emulator: KcoEmulator, merchant: Merchant, event_type: str, fraud_status: str
) -> None:
    order_id = open_order(emulator, merchant, "notification")
    emulator.complete(order_id, fraud_status="PENDING")
    decision = emulator.decide_fraud(order_id, event_type)
    assert decision["fraud_status"] == fraud_status and decision["notification"]["status"] == 200
    assert om_order(emulator, order_id)["fraud_status"] == fraud_status
    call = merchant.called("notification")[0]
    assert call.path == f"/notification/{order_id}"  # placeholder substituted
    decided_at = emulator.order_state(order_id)["notifications"][0]["at"]
    assert call.json() == {"order_id": order_id, "event_type": event_type, "decided_at": decided_at}
    assert parse_time(decided_at) >= parse_time(emulator.order(order_id)["completed_at"])
    assert call.headers["Content-Type"] == "application/json"
    logged = emulator.calls("notification")
    assert [(entry["method"], entry["order_id"], entry["status"]) for entry in logged] == [
        ("POST", order_id, 200)]


def test_a_fraud_decision_needs_a_completed_order_under_review(
    emulator: KcoEmulator, merchant: Merchant
) -> None:
    order_id = open_order(emulator, merchant, "notification")

    def decide(event_type: str) -> requests.Response:
        return requests.post(f"{emulator.url}/_emulator/orders/{order_id}/fraud-decision",
                                  json={"event_type": event_type}, timeout=5)

    assert decide("FRAUD_RISK_ACCEPTED").status_code == 404  # not completed yet
    emulator.complete(order_id)
    assert om_order(emulator, order_id)["fraud_status"] == "ACCEPTED"
    assert decide("FRAUD_RISK_MAYBE").status_code == 400
    assert decide("FRAUD_RISK_ACCEPTED").json()["error"]["code"] == "not_under_review"
    assert decide("FRAUD_RISK_STOPPED").status_code == 200  # an accepted order can still be stopped
    assert merchant.called("notification")[0].json()["event_type"] == "FRAUD_RISK_STOPPED"


# --- KCO's own shipping cost (kco-rules: automatic-shipping-cost) -----------------------------------------

def shipping_fee_lines(order: dict[str, Any]) -> list[tuple[str, int]]:
    return [(line.get("reference", ""), line["total_amount"]) for line in order["order_lines"]
            if line.get("type") == "shipping_fee"]


def test_without_a_shipping_option_update_url_kco_adds_the_chosen_options_price_itself(
    emulator: KcoEmulator, merchant: Merchant
) -> None:
    emulator.settings(automatic_shipping_cost="line")
    order_id = open_order(emulator, merchant, shipping_options=OPTIONS, **PRODUCTS_ONLY)
    assert emulator.choose_shipping(order_id, "express")["result"] == "updated"
    order = emulator.order(order_id)
    assert (order["order_amount"], order["order_tax_amount"]) == (29900, 5980)
    assert shipping_fee_lines(order) == [("express", 9900)]
    emulator.choose_shipping(order_id, "standard")
    order = emulator.order(order_id)
    assert (order["order_amount"], order["order_tax_amount"]) == (24900, 4980)
    assert shipping_fee_lines(order) == [("standard", 4900)]  # the earlier choice's line is gone


def test_without_the_url_a_purchase_without_a_choice_pays_the_preselected_option(
    emulator: KcoEmulator, merchant: Merchant
) -> None:
    emulator.settings(automatic_shipping_cost="line")
    order_id = open_order(emulator, merchant, "validation", shipping_options=OPTIONS, **PRODUCTS_ONLY)
    assert emulator.complete(order_id)["result"] == "completed"
    assert merchant.called("validation")[0].json()["order_amount"] == 24900
    assert shipping_fee_lines(emulator.order(order_id)) == [("standard", 4900)]


EXPRESS_LINE = {"type": "shipping_fee", "reference": "express", "name": "Express", "quantity": 1,
                "unit_price": 9900, "tax_rate": 2500, "total_amount": 9900, "total_tax_amount": 1980}


def test_kcos_shipping_line_follows_the_selection_when_a_merchant_update_drops_the_chosen_option(
    emulator: KcoEmulator, merchant: Merchant
) -> None:
    emulator.settings(automatic_shipping_cost="line")
    order_id = open_order(emulator, merchant, shipping_options=OPTIONS, **PRODUCTS_ONLY)
    emulator.choose_shipping(order_id, "express")
    assert update(emulator, order_id, {"shipping_options": OPTIONS[:1]}).status_code == 200
    order = emulator.order(order_id)
    assert order["selected_shipping_option"]["id"] == "standard"
    assert shipping_fee_lines(order) == [("standard", 4900)]
    assert (order["order_amount"], order["order_tax_amount"]) == (24900, 4980)
    assert emulator.complete(order_id)["result"] == "completed"
    om = om_order(emulator, order_id)
    assert om["order_amount"] == 24900 and shipping_fee_lines(om) == [("standard", 4900)]


def test_kcos_shipping_line_goes_when_a_merchant_update_removes_every_option(
    emulator: KcoEmulator, merchant: Merchant
) -> None:
    emulator.settings(automatic_shipping_cost="line")
    order_id = open_order(emulator, merchant, shipping_options=OPTIONS, **PRODUCTS_ONLY)
    emulator.choose_shipping(order_id, "express")
    assert update(emulator, order_id, {"shipping_options": []}).status_code == 200
    order = emulator.order(order_id)
    assert "selected_shipping_option" not in order and shipping_fee_lines(order) == []
    assert (order["order_amount"], order["order_tax_amount"]) == (20000, 4000)


def test_kcos_shipping_line_follows_the_selection_when_a_callback_answer_drops_the_chosen_option(
    emulator: KcoEmulator, merchant: Merchant
) -> None:
    emulator.settings(automatic_shipping_cost="line")
    order_id = open_order(emulator, merchant, "address_update", shipping_options=OPTIONS, **PRODUCTS_ONLY)
    emulator.choose_shipping(order_id, "express")
    # The merchant echoes the lines it was sent (KCO's Express line included) and offers Standard only.
    merchant.answer("address_update", body={
        "order_amount": 29900, "order_tax_amount": 5980, "purchase_currency": "SEK",
        "order_lines": [*PRODUCTS_ONLY["order_lines"], EXPRESS_LINE], "shipping_options": OPTIONS[:1]})
    assert emulator.enter_address(order_id, SHOPPER)["result"] == "updated"
    order = emulator.order(order_id)
    assert order["selected_shipping_option"]["id"] == "standard"
    assert shipping_fee_lines(order) == [("standard", 4900)]
    assert (order["order_amount"], order["order_tax_amount"]) == (24900, 4980)


def test_the_separate_reading_the_public_evidence_supports_is_the_default(emulator: KcoEmulator) -> None:
    assert emulator.settings()["automatic_shipping_cost"] == "separate"


def test_under_the_separate_reading_widget_shipping_stays_out_of_the_order_and_order_management_adds_it(
    emulator: KcoEmulator, merchant: Merchant
) -> None:
    emulator.settings(automatic_shipping_cost="separate")
    order_id = open_order(emulator, merchant, "validation", shipping_options=OPTIONS, **PRODUCTS_ONLY)
    assert emulator.choose_shipping(order_id, "express")["result"] == "updated"
    order = emulator.order(order_id)
    assert (order["order_amount"], order["order_tax_amount"]) == (20000, 4000)
    assert shipping_fee_lines(order) == [] and order["selected_shipping_option"]["price"] == 9900

    assert emulator.complete(order_id)["result"] == "completed"
    validated = merchant.called("validation")[0].json()
    assert validated["order_amount"] == 20000 and shipping_fee_lines(validated) == []
    assert validated["selected_shipping_option"]["price"] == 9900
    om = om_order(emulator, order_id)
    assert (om["order_amount"], om["original_order_amount"], om["remaining_authorized_amount"]) == (
        29900, 29900, 29900)
    assert shipping_fee_lines(om) == [("express", 9900)]
    assert emulator.order(order_id)["order_amount"] == 20000


def test_under_the_separate_reading_a_purchase_without_a_choice_pays_the_preselected_option_on_top(
    emulator: KcoEmulator, merchant: Merchant
) -> None:
    emulator.settings(automatic_shipping_cost="separate")
    order_id = open_order(emulator, merchant, "validation", shipping_options=OPTIONS, **PRODUCTS_ONLY)
    assert emulator.complete(order_id)["result"] == "completed"
    assert merchant.called("validation")[0].json()["order_amount"] == 20000
    om = om_order(emulator, order_id)
    assert om["order_amount"] == 24900 and shipping_fee_lines(om) == [("standard", 4900)]


def test_under_the_separate_reading_a_shipping_option_update_url_still_leaves_the_merchants_order_alone(
    emulator: KcoEmulator, merchant: Merchant
) -> None:
    emulator.settings(automatic_shipping_cost="separate")
    # The sample order already carries the merchant's own 49.00 shipping_fee line.
    order_id = open_order(emulator, merchant, "shipping_option_update", shipping_options=OPTIONS)
    merchant.answer("shipping_option_update", body=UNCHANGED_ANSWER)
    emulator.choose_shipping(order_id, "express")
    assert emulator.complete(order_id)["result"] == "completed"
    om = om_order(emulator, order_id)
    assert om["order_amount"] == 24900 and shipping_fee_lines(om) == [("", 4900)]


def test_with_a_shipping_option_update_url_kco_adds_nothing_and_the_merchants_answer_decides(
    emulator: KcoEmulator, merchant: Merchant
) -> None:
    # The sample order already carries the merchant's own 49.00 shipping_fee line.
    order_id = open_order(emulator, merchant, "shipping_option_update", shipping_options=OPTIONS)
    merchant.answer("shipping_option_update", body=UNCHANGED_ANSWER)
    emulator.choose_shipping(order_id, "express")
    assert emulator.complete(order_id)["result"] == "completed"
    order = emulator.order(order_id)
    assert order["order_amount"] == 24900 and shipping_fee_lines(order) == [("", 4900)]


# --- A separate shipping address (kco-rules: shipping-address-change) ---------------------------------------

RECIPIENT = {key: value for key, value in SHOPPER.items() if key != "email"} | {
    "given_name": "Grace", "street_address": "Vägen 2"}


def test_a_separate_shipping_address_goes_to_address_update_and_stays_apart_from_billing(
    emulator: KcoEmulator, merchant: Merchant
) -> None:
    order_id = open_order(emulator, merchant, "address_update")
    merchant.answer("address_update", body=UNCHANGED_ANSWER)
    assert emulator.enter_address(order_id, SHOPPER, shipping_address=RECIPIENT)["result"] == "updated"
    sent = merchant.called("address_update")[0].json()
    assert (sent["billing_address"]["street_address"], sent["shipping_address"]["street_address"]) == (
        "Gatan 1", "Vägen 2")
    order = emulator.order(order_id)
    names = (order["billing_address"]["given_name"], order["shipping_address"]["given_name"])
    assert names == ("Ada", "Grace")
    # The same addresses again at the purchase: nothing new for the merchant.
    completed = emulator.complete(order_id, billing_address=SHOPPER, shipping_address=RECIPIENT)
    assert completed["result"] == "completed" and len(merchant.called("address_update")) == 1
    assert emulator.order(order_id)["shipping_address"]["street_address"] == "Vägen 2"


def test_a_separate_shipping_address_needs_every_field_but_the_email(emulator: KcoEmulator) -> None:
    order_id = created_id(emulator)
    outcome = emulator.enter_address(order_id, SHOPPER, shipping_address={**RECIPIENT, "city": " "})
    assert outcome == {"result": "rejected", "error_text": "Please fill in: City (shipping)."}


# --- The merchant's checkboxes (kco-rules: merchant-checkboxes) --------------------------------------------

CHECKBOXES = {
    "additional_checkbox": {"text": "Send me the newsletter", "checked": True, "required": False},
    "additional_checkboxes": [{"id": "club", "text": "I accept the club terms", "checked": False,
                               "required": True}],
}


def test_merchant_requested_reads_the_checkbox_defaults_then_the_shoppers_ticks(
    emulator: KcoEmulator,
) -> None:
    order_id = created_id(emulator, sample_order(options=CHECKBOXES))
    assert read(emulator, order_id).json()["merchant_requested"] == {
        "additional_checkbox": True, "additional_checkboxes": [{"id": "club", "checked": False}]}
    assert emulator.tick_checkbox(order_id, "additional_checkbox", checked=False) == {"result": "updated"}
    assert emulator.tick_checkbox(order_id, "club") == {"result": "updated"}
    assert read(emulator, order_id).json()["merchant_requested"] == {
        "additional_checkbox": False, "additional_checkboxes": [{"id": "club", "checked": True}]}
    assert emulator.tick_checkbox(order_id, "newsletter")["result"] == "rejected"
    assert "merchant_requested" not in read(emulator, created_id(emulator)).json()


def test_a_required_checkbox_left_unticked_holds_the_purchase(emulator: KcoEmulator) -> None:
    order_id = created_id(emulator, sample_order(options=CHECKBOXES))
    assert emulator.complete(order_id) == {"result": "rejected",
                                           "error_text": "Please tick: I accept the club terms"}
    emulator.tick_checkbox(order_id, "club")
    assert emulator.complete(order_id)["result"] == "completed"


# --- Callback URLs must be https, except to this machine (kco-rules: https-callbacks) -----------------------

HTTPS_ONLY = ("validation", "address_update", "country_change", "shipping_option_update")


@pytest.mark.parametrize("field", HTTPS_ONLY)
def test_an_http_callback_url_to_another_host_is_refused_on_create_and_update(
    emulator: KcoEmulator, field: str
) -> None:
    urls = {**sample_order()["merchant_urls"], field: "http://shop.example.com/kco/{checkout.order.id}"}
    refused = create(emulator, sample_order(merchant_urls=urls))
    assert_kco_error(refused, 400, "BAD_VALUE", f"Bad value: merchant_urls.{field}")
    order_id = created_id(emulator)
    assert_kco_error(update(emulator, order_id, {"merchant_urls": urls}), 400, "BAD_VALUE",
                     f"Bad value: merchant_urls.{field}")


@pytest.mark.parametrize("url", ["https://shop.example.com/kco", "http://127.0.0.1:8000/kco",
                                 "http://127.1.2.3/kco", "http://localhost:5000/kco", "http://[::1]:5000/kco"])
def test_https_and_loopback_callback_urls_are_accepted(emulator: KcoEmulator, url: str) -> None:
    urls = {**sample_order()["merchant_urls"], **dict.fromkeys(HTTPS_ONLY, url)}
    assert create(emulator, sample_order(merchant_urls=urls)).status_code == 201


def test_push_and_notification_may_stay_http(emulator: KcoEmulator) -> None:
    urls = {**sample_order()["merchant_urls"], "push": "http://shop.example.com/push",
            "notification": "http://shop.example.com/notification"}
    assert create(emulator, sample_order(merchant_urls=urls)).status_code == 201


# --- A country picked in the widget (kco-rules: country-change-purchase-country) ----------------------------

def test_by_default_a_country_picked_in_the_widget_becomes_the_purchase_country(
    emulator: KcoEmulator, merchant: Merchant
) -> None:
    order_id = open_order(emulator, merchant, "country_change")
    merchant.answer("country_change", body=EUR_ANSWER)
    emulator.change_country(order_id, "DE")
    order = emulator.order(order_id)
    assert (order["purchase_country"], order["purchase_currency"], order["billing_address"]["country"]) == (
        "DE", "EUR", "DE")


def order_where_kco_keeps_the_purchase_country(emulator: KcoEmulator, merchant: Merchant) -> str:
    """An open order whose merchant answers a country change with EUR prices, on an emulator that keeps the
    purchase country when the shopper picks another one."""
    emulator.settings(country_change_sets_purchase_country=False)
    order_id = open_order(emulator, merchant, "country_change", "validation")
    merchant.answer("country_change", body=EUR_ANSWER)
    return order_id


def test_when_kco_keeps_the_purchase_country_the_new_countrys_currency_still_applies(
    emulator: KcoEmulator, merchant: Merchant
) -> None:
    order_id = order_where_kco_keeps_the_purchase_country(emulator, merchant)
    assert emulator.change_country(order_id, "DE")["result"] == "updated"
    order = emulator.order(order_id)
    assert (order["purchase_country"], order["purchase_currency"], order["billing_address"]["country"]) == (
        "SE", "EUR", "DE")
    # The merchant may update the EUR order without naming a country, and then move it to Germany itself.
    assert update(emulator, order_id, {"merchant_reference1": "eur"}).status_code == 200
    assert update(emulator, order_id, {"purchase_country": "DE"}).json()["purchase_country"] == "DE"
    assert emulator.complete(order_id)["result"] == "completed"
    assert merchant.called("validation")[0].json()["purchase_country"] == "DE"


def test_when_kco_keeps_the_purchase_country_the_validation_callback_sees_the_old_one(
    emulator: KcoEmulator, merchant: Merchant
) -> None:
    order_id = order_where_kco_keeps_the_purchase_country(emulator, merchant)
    emulator.change_country(order_id, "DE")
    berlin = {**SHOPPER, "country": "DE", "city": "Berlin"}
    assert emulator.complete(order_id, billing_address=berlin)["result"] == "completed"
    sent = merchant.called("validation")[0].json()
    assert (sent["purchase_country"], sent["purchase_currency"], sent["billing_address"]["country"]) == (
        "SE", "EUR", "DE")


# --- Objects in an update (kco-rules: update-nested-objects) ------------------------------------------------

OPTIONS_SENT = {"require_validate_callback_success": True, "color_button": "#000000"}


def test_by_default_an_update_replaces_an_object_it_sends_whole(emulator: KcoEmulator) -> None:
    assert emulator.settings()["update_merge"] == "top_level"
    order_id = created_id(emulator, sample_order(options=OPTIONS_SENT))
    answer = update(emulator, order_id, {"options": {"color_button": "#FFFFFF"}})
    assert answer.status_code == 200 and answer.json()["options"] == {"color_button": "#FFFFFF"}
    push_only = {"push": "http://127.0.0.1:9/push/new?order_id={checkout.order.id}"}
    assert_kco_error(update(emulator, order_id, {"merchant_urls": push_only}), 400, "BAD_VALUE",
                     "Bad value: merchant_urls.terms (must be a valid http or https URI)")


def test_with_update_merge_deep_an_update_merges_an_object_key_by_key(emulator: KcoEmulator) -> None:
    emulator.settings(update_merge="deep")
    order_id = created_id(emulator, sample_order(options=OPTIONS_SENT))
    answer = update(emulator, order_id, {"options": {"color_button": "#FFFFFF"}})
    assert answer.json()["options"] == {"require_validate_callback_success": True, "color_button": "#FFFFFF"}
    push = "http://127.0.0.1:9/push/new?order_id={checkout.order.id}"
    urls = update(emulator, order_id, {"merchant_urls": {"push": push}}).json()["merchant_urls"]
    assert urls == {**sample_order()["merchant_urls"], "push": push}
    # Lists stay whole: the one line sent is the order's only line.
    lines = update(emulator, order_id, PRODUCTS_ONLY).json()["order_lines"]
    assert lines == PRODUCTS_ONLY["order_lines"]


# --- Aborted orders (kco-rules: aborted-orders) -------------------------------------------------------------

def abort(emulator: KcoEmulator, order_id: str) -> requests.Response:
    return requests.post(f"{emulator.url}/checkout/v3/orders/{order_id}/abort", auth=emulator.credentials,
                         timeout=5)


def test_by_default_an_aborted_order_answers_404_from_then_on(emulator: KcoEmulator) -> None:
    order_id = created_id(emulator)
    assert abort(emulator, order_id).status_code == 200
    assert read(emulator, order_id).status_code == 404
    assert update(emulator, order_id, {"merchant_reference1": "x"}).status_code == 404


def test_with_aborted_orders_read_only_an_aborted_order_reads_incomplete_and_refuses_updates(
    emulator: KcoEmulator,
) -> None:
    emulator.settings(aborted_orders="read_only")
    order_id = created_id(emulator)
    assert abort(emulator, order_id).status_code == 200
    answer = read(emulator, order_id)
    assert answer.status_code == 200 and answer.json()["status"] == "checkout_incomplete"
    assert_kco_error(update(emulator, order_id, {"merchant_reference1": "x"}), 403, "READ_ONLY_ORDER",
                     "Resource is read-only")
    assert_kco_error(abort(emulator, order_id), 403, "READ_ONLY_ORDER", "Resource is read-only")


# --- The purchase that cannot be completed (kco-rules: widget-events) ---------------------------------------

def test_after_cannot_complete_every_purchase_attempt_fails_with_can_not_complete_order(
    emulator: KcoEmulator, merchant: Merchant
) -> None:
    order_id = open_order(emulator, merchant)
    assert emulator.cannot_complete(order_id) == {"cannot_complete": True}
    for _ in range(2):
        outcome = emulator.complete(order_id)
        assert outcome["result"] == "failed" and outcome["events"] == ["can_not_complete_order"]
    assert emulator.order(order_id)["status"] == "checkout_incomplete"
    assert merchant.called("push") == []


# --- The real push schedule on the emulator's clock (kco-rules: push-and-acknowledge) ----------------------

REAL_SCHEDULE = [timedelta(minutes=minutes) for minutes in (2, 5, 15, 30, 60)] + [
    timedelta(hours=hours) for hours in (5, 9, 13, 17, 21, 25, 29, 33, 37, 41, 45)]


def completed_on_the_real_push_schedule(emulator: KcoEmulator, merchant: Merchant) -> str:
    emulator.settings(push_schedule="real")
    order_id = open_order(emulator, merchant)
    emulator.complete(order_id)
    return order_id


def test_the_real_push_schedule_runs_on_the_emulator_clock_until_48_hours(
    emulator: KcoEmulator, merchant: Merchant
) -> None:
    order_id = completed_on_the_real_push_schedule(emulator, merchant)
    completed_at = parse_time(emulator.order(order_id)["completed_at"])
    state = emulator.order_state(order_id)
    assert [parse_time(due) - completed_at for due in state["push_due"]] == REAL_SCHEDULE
    assert state["push_attempts"] == [] and emulator.status()["active_push_schedules"] == 1

    # A clock move answers once the pushes that fell due have gone out.
    emulator.advance(seconds=120)
    assert len(merchant.called("push")) == 1
    emulator.advance(hours=48)
    assert len(merchant.called("push")) == 16
    assert emulator.order_state(order_id)["push_due"] == []
    assert emulator.status()["active_push_schedules"] == 0


def test_the_real_push_schedule_stops_once_the_order_is_acknowledged(
    emulator: KcoEmulator, merchant: Merchant
) -> None:
    order_id = completed_on_the_real_push_schedule(emulator, merchant)
    emulator.advance(seconds=120)
    acknowledged = requests.post(f"{emulator.url}/ordermanagement/v1/orders/{order_id}/acknowledge",
                                 auth=emulator.credentials, timeout=5)
    assert acknowledged.status_code == 204
    emulator.advance(hours=48)
    assert len(merchant.called("push")) == 1


def test_with_push_schedule_real_from_first_push_the_minutes_count_from_the_first_push(
    emulator: KcoEmulator, merchant: Merchant
) -> None:
    emulator.settings(push_schedule="real_from_first_push")
    order_id = open_order(emulator, merchant)
    emulator.complete(order_id)
    completed_at = parse_time(emulator.order(order_id)["completed_at"])
    due = [parse_time(moment) - completed_at for moment in emulator.order_state(order_id)["push_due"]]
    first_push = timedelta(minutes=2)
    assert due == [first_push, *(first_push + offset for offset in REAL_SCHEDULE[1:])]
    # The second push comes 5 minutes after the first, not 5 minutes after the completion.
    emulator.advance(seconds=6 * 60)
    assert len(merchant.called("push")) == 1
    emulator.advance(seconds=60)
    assert len(merchant.called("push")) == 2


def test_the_fast_schedule_stays_the_default(emulator: KcoEmulator) -> None:
    assert emulator.settings()["push_schedule"] == "fast"


# --- Settings from the environment --------------------------------------------------------------------------

def test_the_new_settings_come_from_the_environment_and_bad_values_fail_at_start() -> None:
    settings = Settings.from_env({
        "KCO_EMULATOR_CALLBACK_LOCK_STATUS": "423",
        "KCO_EMULATOR_COUNTRY_CHANGE_SETS_PURCHASE_COUNTRY": "false",
        "KCO_EMULATOR_ABORTED_ORDERS": "read_only",
        "KCO_EMULATOR_PUSH_SCHEDULE": "real",
        "KCO_EMULATOR_AUTOMATIC_SHIPPING_COST": "line",
        "KCO_EMULATOR_SHIPPING_ADDRESS_CHANGE": "every_address",
        "KCO_EMULATOR_UPDATE_MERGE": "deep",
    })
    assert (settings.callback_lock_status, settings.country_change_sets_purchase_country,
            settings.aborted_orders, settings.push_schedule, settings.automatic_shipping_cost,
            settings.shipping_address_change, settings.update_merge) == (
        423, False, "read_only", "real", "line", "every_address", "deep")
    defaults = Settings.from_env({})
    assert (defaults.callback_lock_status, defaults.country_change_sets_purchase_country,
            defaults.aborted_orders, defaults.push_schedule, defaults.automatic_shipping_cost,
            defaults.shipping_address_change, defaults.update_merge) == (
        409, True, "not_found", "fast", "separate", "separate_address", "top_level")
    for name, value in (("KCO_EMULATOR_CALLBACK_LOCK_STATUS", "200"),
                        ("KCO_EMULATOR_COUNTRY_CHANGE_SETS_PURCHASE_COUNTRY", "maybe"),
                        ("KCO_EMULATOR_ABORTED_ORDERS", "gone"), ("KCO_EMULATOR_PUSH_SCHEDULE", "slow"),
                        ("KCO_EMULATOR_AUTOMATIC_SHIPPING_COST", "both"),
                        ("KCO_EMULATOR_SHIPPING_ADDRESS_CHANGE", "never"),
                        ("KCO_EMULATOR_UPDATE_MERGE", "shallow")):
        with pytest.raises(SettingsError, match=name):
            Settings.from_env({name: value})


def test_reset_restores_the_behaviour_settings(emulator: KcoEmulator) -> None:
    emulator.settings(callback_lock_status=423, country_change_sets_purchase_country=False,
                      aborted_orders="read_only", push_schedule="real", automatic_shipping_cost="line")
    emulator.reset()
    settings = emulator.settings()
    assert (settings["callback_lock_status"], settings["country_change_sets_purchase_country"],
            settings["aborted_orders"], settings["push_schedule"], settings["automatic_shipping_cost"]) == (
        409, True, "not_found", "fast", "separate")


# --- The control API: JSON only, this machine only; 405 names the allowed methods ---------------------------

@pytest.mark.parametrize(("content", "content_type"), [
    ({"data": {"operation": "any", "status": 500}}, "application/x-www-form-urlencoded"),
    ({"data": '{"operation": "any", "status": 500}', "headers": {"Content-Type": "text/plain"}},
     "text/plain"),
    ({"files": {"operation": ("operation", "any")}}, "multipart/form-data"),
])
def test_a_control_request_that_a_cross_site_form_could_send_is_refused_with_415(
    emulator: KcoEmulator, content: dict[str, Any], content_type: str
) -> None:
    answer = requests.post(f"{emulator.url}/_emulator/faults", timeout=5, **content)
    assert answer.request.headers["Content-Type"].startswith(content_type)
    assert answer.status_code == 415 and answer.json()["error"]["code"] == "json_required"
    assert requests.get(f"{emulator.url}/_emulator/faults", timeout=5).json() == {"faults": []}
    assert requests.post(f"{emulator.url}/_emulator/reset", timeout=5).status_code == 415


def test_the_control_api_answers_only_clients_on_this_machine() -> None:
    client = create_app(Settings.from_env({})).test_client()
    remote = {"REMOTE_ADDR": "192.0.2.10"}
    for response in (client.get("/_emulator/requests", environ_base=remote),
                     client.post("/_emulator/reset", json={}, environ_base=remote)):
        assert response.status_code == 403 and response.get_json()["error"]["code"] == "not_local"
    assert client.post("/_emulator/reset", json={}, environ_base={"REMOTE_ADDR": "::1"}).status_code == 200


def test_the_control_api_refuses_a_host_name_that_is_not_this_machines(emulator: KcoEmulator) -> None:
    # What a page of attacker.example sends once its name resolves to 127.0.0.1 (DNS rebinding).
    order_id = created_id(emulator)
    attacker = {"Host": "attacker.example"}
    for answer in (
        requests.post(f"{emulator.url}/_emulator/clock", json={"advance_seconds": 72 * 3600},
                           headers=attacker, timeout=5),
        requests.get(f"{emulator.url}/_emulator/orders/{order_id}", headers=attacker, timeout=5),
    ):
        assert answer.status_code == 403 and answer.json()["error"]["code"] == "unknown_host"
    assert emulator.order_state(order_id)["expired"] is False  # the clock did not move


@pytest.mark.parametrize("host", ["127.0.0.1:5001", "localhost", "LOCALHOST:80", "[::1]:5001", "127.1.2.3",
                                  "emulator.test:5001"])
def test_the_control_api_answers_loopback_host_names_and_those_set_in_kco_emulator_control_hosts(
    host: str,
) -> None:
    client = create_app(Settings.from_env({"KCO_EMULATOR_CONTROL_HOSTS": "Emulator.test, other.test"})
                        ).test_client()
    assert client.get("/_emulator/status", headers={"Host": host}).status_code == 200
    refused = client.get("/_emulator/status", headers={"Host": "emulator.test.attacker.example"})
    assert refused.status_code == 403


def test_a_405_names_the_allowed_methods(emulator: KcoEmulator) -> None:
    answer = requests.put(f"{emulator.url}/checkout/v3/orders", json={}, auth=emulator.credentials, timeout=5)
    assert answer.status_code == 405 and "POST" in answer.headers["Allow"].split(", ")
    assert answer.json()["error_code"] == "METHOD_NOT_ALLOWED"
    gone = requests.delete(f"{emulator.url}/checkout/v3/orders/some-id/abort", auth=emulator.credentials,
                           timeout=5)
    assert gone.status_code == 405 and "POST" in gone.headers["Allow"].split(", ")
