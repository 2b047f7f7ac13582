"""The shop stays safe where real KCO differs from the docs or the docs say nothing (issue: live fidelity).

Each behaviour is proved over HTTP against the emulator, which can play every plausible KCO behaviour through
its settings (`callback_lock_status`, `country_change_sets_purchase_country`, `aborted_orders`) and controls
(`/lock`, `/fraud-decision`); the retry timing is proved once against a fake client, so no test sleeps.

- hosts: every Kustom region goes to the documented global host (kco-rules: api-hosts);
- a refused update that may pass is read and retried, not thrown away (kco-rules: retry-refused-update);
- fraud review: pending is recorded as pending, the notification moves it on, the confirmation tells the
  truth (kco-rules: pending-orders);
- shipping is charged once, by the shop's own line (kco-rules: shipping-fee-once);
- validation compares what decides the price, not purchase_country (kco-rules: validation-price);
- a read-only order that is not complete is replaced, never confirmed (kco-rules: read-only-not-complete);
- every cart answer names the order the page should show (kco-rules: page-follows-order).
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
import requests

from harness.shop_client import ApiShopper, KCOCalls, callback_url, kco_order, kco_quantities, shop_text
from kco.checkout import UPDATE_RETRY_WAITS, Action, CheckoutSync, content_fingerprint
from kco.client import ClientConfig
from kco.errors import KCOApiError
from kco.markets import get_market
from kco_emulator.testing import KcoEmulator
from shop.catalogue import SHIPPING_METHODS
from tests.test_checkout_decisions import FakeKCO, extras, order_body

CREDENTIALS = {"KCO_USERNAME": "M123-test", "KCO_PASSWORD": "test-only-password"}


def checkout_with(shopper: ApiShopper, calls: KCOCalls, cart: dict[str, int]) -> str:
    for sku, quantity in cart.items():
        shopper.add_to_cart(sku, quantity)
    assert shopper.open_checkout().status_code == 200
    calls.mark()
    return shopper.order_id()


def confirmation_state(shopper: ApiShopper, order_id: str) -> str:
    """What the confirmation page says of the fraud review (its data-fraud-status)."""
    page = shopper.get(f"/confirmation?order_id={order_id}")
    assert page.status_code == 200, page.text
    return page.text.split('data-fraud-status="', 1)[1].split('"', 1)[0]


# --- 1. hosts ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("region", ["eu", "na", "oc"])
@pytest.mark.parametrize(("environment", "host"), [("live", "https://api.kustom.co"),
                                                    ("playground", "https://api.playground.kustom.co")])
def test_every_kustom_region_goes_to_the_documented_global_host(region: str, environment: str,
                                                                 host: str) -> None:
    config = ClientConfig.from_env({"KCO_ENVIRONMENT": environment, "KCO_REGION": region, **CREDENTIALS})
    assert config.base_url == host


def test_a_regional_kustom_host_is_used_only_when_named_in_kco_api_url() -> None:
    config = ClientConfig.from_env({"KCO_API_URL": "https://api-na.playground.kustom.co",
                                    "KCO_REGION": "eu", **CREDENTIALS})
    assert config.base_url == "https://api-na.playground.kustom.co"


def test_kustom_brand_starts_without_a_host_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="kco"):
        ClientConfig.from_env({"KCO_ENVIRONMENT": "playground", "KCO_REGION": "na", **CREDENTIALS})
    assert caplog.records == []


# --- 2. a refused update that may pass ---------------------------------------------------------------------

def test_a_refused_update_waits_a_quarter_then_half_a_second_between_at_most_two_retries() -> None:
    kco, waits = FakeKCO(), []
    sync = CheckoutSync(kco, sleep=waits.append)
    order_id = sync.on_page_load(None, order_body(), extras).order_id
    assert order_id is not None
    kco.calls.clear()
    kco.fail["update"] = [KCOApiError("update", 423, "LOCKED")] * 3
    outcome = sync.on_change(order_id, order_body(quantity=2), content_fingerprint(order_body()), extras)
    assert waits == list(UPDATE_RETRY_WAITS) and sum(waits) <= 1
    assert kco.operations() == ["update", "read", "update", "update", "abort", "create"]
    assert outcome.action is Action.CREATED and outcome.replaced_order_id == order_id


@pytest.mark.parametrize(("refusal", "calls"), [
    (KCOApiError("update", 404), ["update", "create"]),
    (KCOApiError("update", 401), ["update", "abort", "create"]),
])
def test_an_update_refusal_a_retry_would_only_repeat_is_handled_as_before_without_a_retry(
        refusal: KCOApiError, calls: list[str]) -> None:
    kco, waits = FakeKCO(), []
    sync = CheckoutSync(kco, sleep=waits.append)
    order_id = sync.on_page_load(None, order_body(), extras).order_id
    assert order_id is not None
    kco.calls.clear()
    kco.fail["update"] = [refusal]
    outcome = sync.on_change(order_id, order_body(quantity=2), None, extras)
    assert outcome.action is Action.CREATED and kco.operations() == calls and waits == []


@pytest.mark.parametrize("status", [409, 423, 429, 503, 403, 400])  # 403: played as READ_ONLY_ORDER
def test_an_update_refused_while_kco_locks_the_order_is_retried_on_the_same_order(
        status: int, shopper: ApiShopper, calls: KCOCalls, emulator: KcoEmulator) -> None:
    order_id = checkout_with(shopper, calls, {"mug-001": 1})
    emulator.settings(callback_lock_status=status)
    emulator.lock(order_id, refusals=1)  # as if KCO were calling the shop back right now
    answer = shopper.set_cart({"mug-001": 2})
    assert answer.status_code == 200, answer.text
    assert calls.since() == ["update", "read", "update"]
    assert answer.json()["order"]["order_id"] == order_id and "html_snippet" not in answer.json()
    assert kco_quantities(emulator, order_id) == {"mug-001": 2}
    assert not emulator.order_state(order_id)["aborted"]


@pytest.mark.parametrize("status", [409, 423, 429, 503])
def test_a_single_transient_fault_on_update_costs_a_retry_not_a_new_order(
        status: int, shopper: ApiShopper, calls: KCOCalls, emulator: KcoEmulator) -> None:
    order_id = checkout_with(shopper, calls, {"mug-001": 1})
    emulator.fail_next("update", status=status)
    answer = shopper.set_cart({"mug-001": 3})
    assert answer.status_code == 200, answer.text
    assert calls.since() == ["update", "read", "update"]
    assert shopper.order_id() == order_id and kco_quantities(emulator, order_id) == {"mug-001": 3}


def test_a_lock_that_outlasts_the_retries_gives_a_new_order_and_its_snippet(
        shopper: ApiShopper, calls: KCOCalls, emulator: KcoEmulator) -> None:
    order_id = checkout_with(shopper, calls, {"mug-001": 1})
    emulator.lock(order_id, refusals=3)
    answer = shopper.set_cart({"mug-001": 2})
    assert answer.status_code == 200, answer.text
    assert calls.since() == ["update", "read", "update", "update", "abort", "create"]
    new_order_id = answer.json()["order"]["order_id"]
    assert new_order_id != order_id and "klarna-checkout-container" in answer.json()["html_snippet"]
    assert kco_quantities(emulator, new_order_id) == {"mug-001": 2}
    assert emulator.order_state(order_id)["aborted"]


# --- 3. fraud review ---------------------------------------------------------------------------------------

def test_the_order_carries_a_notification_url_with_the_same_unforgeable_token(
        shopper: ApiShopper, calls: KCOCalls, emulator: KcoEmulator) -> None:
    order_id = checkout_with(shopper, calls, {"mug-001": 1})
    urls = kco_order(emulator, order_id)["merchant_urls"]
    assert urls["notification"].startswith(f"{shopper.base_url}/kco/callbacks/notification?")
    assert urls["notification"].split("token=")[1] == urls["push"].split("token=")[1]
    forged = callback_url(emulator, order_id, "notification").replace("token=", "token=0")
    body = {"order_id": order_id, "event_type": "FRAUD_RISK_ACCEPTED"}
    answer = requests.post(forged, json=body, timeout=15)
    assert answer.status_code == 403


def test_a_pending_order_is_recorded_pending_and_the_confirmation_says_the_payment_is_under_review(
        shopper: ApiShopper, calls: KCOCalls, emulator: KcoEmulator) -> None:
    order_id = checkout_with(shopper, calls, {"mug-001": 1})
    emulator.settings(push_retry_seconds=[])
    assert emulator.complete(order_id, fraud_status="PENDING")["result"] == "completed"
    page = shopper.get(f"/confirmation?order_id={order_id}")
    assert page.status_code == 200
    assert 'data-fraud-status="pending"' in page.text
    assert shop_text("Thank you, your payment is under review") in page.text
    assert shop_text("Thank you for your order") not in page.text
    assert calls.since().count("om_read") == 1  # only Order Management knows the fraud status


def test_the_push_records_a_pending_order_as_pending(shopper: ApiShopper, calls: KCOCalls,
                                                     emulator: KcoEmulator) -> None:
    order_id = checkout_with(shopper, calls, {"mug-001": 1})
    emulator.settings(push_retry_seconds=[])
    assert emulator.complete(order_id, fraud_status="PENDING")["result"] == "completed"
    assert emulator.push(order_id)["status"] == 200
    calls.mark()
    assert confirmation_state(shopper, order_id) == "pending"
    assert "om_read" not in calls.since()  # recorded by the push, with its fraud status


@pytest.mark.parametrize(("event_type", "recorded", "text"), [
    ("FRAUD_RISK_ACCEPTED", "accepted", "Thank you for your order"),
    ("FRAUD_RISK_REJECTED", "rejected", "Your payment was not approved"),
    ("FRAUD_RISK_STOPPED", "rejected", "Your payment was not approved"),  # Order Management reads REJECTED
])
def test_the_notification_moves_a_pending_order_on(event_type: str, recorded: str, text: str,
                                                  shopper: ApiShopper, calls: KCOCalls,
                                                  emulator: KcoEmulator) -> None:
    order_id = checkout_with(shopper, calls, {"mug-001": 1})
    emulator.settings(push_retry_seconds=[])
    assert emulator.complete(order_id, fraud_status="PENDING")["result"] == "completed"
    assert confirmation_state(shopper, order_id) == "pending"
    decided = emulator.decide_fraud(order_id, event_type)
    assert decided["notification"]["status"] == 200
    page = shopper.get(f"/confirmation?order_id={order_id}")
    assert f'data-fraud-status="{recorded}"' in page.text and shop_text(text) in page.text


def test_a_late_or_replayed_notification_never_undoes_a_later_decision(
        shopper: ApiShopper, calls: KCOCalls, emulator: KcoEmulator) -> None:
    # Recorded pending, then accepted, then stopped; the accepted notification, with its valid token, comes
    # again: once recorded as accepted, so the stopped order could have been shipped.
    order_id = checkout_with(shopper, calls, {"mug-001": 1})
    emulator.settings(push_retry_seconds=[])
    assert emulator.complete(order_id, fraud_status="PENDING")["result"] == "completed"
    assert emulator.push(order_id)["status"] == 200
    assert emulator.decide_fraud(order_id, "FRAUD_RISK_ACCEPTED")["notification"]["status"] == 200
    assert emulator.decide_fraud(order_id, "FRAUD_RISK_STOPPED")["notification"]["status"] == 200
    notification = callback_url(emulator, order_id, "notification")
    replayed = requests.post(notification, json={"order_id": order_id, "event_type": "FRAUD_RISK_ACCEPTED"},
                             timeout=10)
    assert replayed.status_code == 200
    assert confirmation_state(shopper, order_id) == "rejected"


def test_a_notification_for_an_order_not_yet_recorded_reads_order_management_first(
        shopper: ApiShopper, calls: KCOCalls, emulator: KcoEmulator) -> None:
    order_id = checkout_with(shopper, calls, {"mug-001": 1})
    emulator.settings(push_retry_seconds=[])
    assert emulator.complete(order_id, fraud_status="PENDING")["result"] == "completed"
    calls.mark()
    assert emulator.decide_fraud(order_id, "FRAUD_RISK_REJECTED")["notification"]["status"] == 200
    assert "om_read" in calls.since()
    calls.mark()
    assert confirmation_state(shopper, order_id) == "rejected"
    assert "om_read" not in calls.since()


def test_a_notification_with_an_unknown_event_or_another_order_is_refused(
        shopper: ApiShopper, calls: KCOCalls, emulator: KcoEmulator) -> None:
    order_id = checkout_with(shopper, calls, {"mug-001": 1})
    url = callback_url(emulator, order_id, "notification")
    for body in ({"order_id": order_id, "event_type": "FRAUD_RISK_MAYBE"},
                 {"order_id": "someone-else", "event_type": "FRAUD_RISK_ACCEPTED"}):
        answer = requests.post(url, json=body, timeout=15)
        assert answer.status_code == 400 and answer.json()["error"]["code"] == "bad_notification"


# --- 4. shipping charged once ------------------------------------------------------------------------------

@pytest.mark.parametrize("automatic_shipping_cost", ["separate", "line"])
def test_with_the_shipping_url_the_order_total_is_the_cart_plus_the_shops_shipping_line_only(
        automatic_shipping_cost: str, shopper: ApiShopper, calls: KCOCalls, emulator: KcoEmulator) -> None:
    # Whichever way KCO shows shipping it charges itself (kco-rules: automatic-shipping-cost, inferred), the
    # shop's answer decides: the shopper pays the cart and the shop's one shipping line, recorded as such.
    emulator.settings(automatic_shipping_cost=automatic_shipping_cost, push_retry_seconds=[])
    order_id = checkout_with(shopper, calls, {"mug-001": 2})
    assert kco_order(emulator, order_id)["merchant_urls"]["shipping_option_update"]
    emulator.choose_shipping(order_id, "express")
    order = kco_order(emulator, order_id)
    shipping = [line for line in order["order_lines"] if line.get("type") == "shipping_fee"]
    assert [(line["reference"], line["total_amount"]) for line in shipping] == [
        ("express", SHIPPING_METHODS["express"].prices[get_market("SE").currency])]
    assert order["order_amount"] == sum(line["total_amount"] for line in order["order_lines"])
    total = shopper.cart()["cart"]["order_amount"]
    assert order["order_amount"] == total
    assert emulator.complete(order_id)["result"] == "completed"  # the validation callback approves
    assert shopper.get(f"/confirmation?order_id={order_id}").status_code == 200
    om_order = requests.get(f"{emulator.url}/ordermanagement/v1/orders/{order_id}", auth=emulator.credentials,
                            timeout=10).json()
    assert om_order["order_amount"] == total


# --- 6. validation compares the price, not purchase_country -------------------------------------------------

@pytest.mark.parametrize("sets_purchase_country", [True, False])
def test_a_purchase_after_a_country_change_in_the_widget_is_approved_whatever_kco_does_to_purchase_country(
        sets_purchase_country: bool, shopper: ApiShopper, calls: KCOCalls, emulator: KcoEmulator) -> None:
    emulator.settings(country_change_sets_purchase_country=sets_purchase_country, push_retry_seconds=[])
    order_id = checkout_with(shopper, calls, {"mug-001": 1})
    emulator.change_country(order_id, "DE")
    order = kco_order(emulator, order_id)
    assert order["purchase_currency"] == "EUR"
    assert order["purchase_country"].upper() == ("DE" if sets_purchase_country else "SE")
    assert emulator.complete(order_id)["result"] == "completed"


# --- 7. a read-only order that is not complete --------------------------------------------------------------

def abort_at_kco(emulator: KcoEmulator, order_id: str) -> None:
    aborted = requests.post(f"{emulator.url}/checkout/v3/orders/{order_id}/abort", auth=emulator.credentials,
                            timeout=10)
    aborted.raise_for_status()


def test_an_update_refused_read_only_for_an_order_that_is_not_complete_replaces_it(
        shopper: ApiShopper, calls: KCOCalls, emulator: KcoEmulator) -> None:
    emulator.settings(aborted_orders="read_only")
    order_id = checkout_with(shopper, calls, {"mug-001": 1})
    abort_at_kco(emulator, order_id)
    calls.mark()
    answer = shopper.set_cart({"mug-001": 2})
    assert answer.status_code == 200, answer.text
    # Open, so maybe a callback's lock: retried twice first; then the abort is refused read-only, a read shows
    # it unpaid, and the shopper gets a new order (never the confirmation).
    assert calls.since() == ["update", "read", "update", "update", "abort", "read", "create"]
    new_order_id = answer.json()["order"]["order_id"]
    assert new_order_id != order_id and kco_quantities(emulator, new_order_id) == {"mug-001": 2}


def follow(shopper: ApiShopper, path: str, hops: int = 6) -> list[str]:
    """The pages a browser would visit from `path`, following the shop's redirects."""
    visited = [path]
    for _ in range(hops):
        answer = shopper.get(visited[-1])
        if answer.status_code != 303:
            assert answer.status_code == 200, answer.text
            return visited
        visited.append(answer.headers["Location"])
    raise AssertionError(f"still redirecting after {hops} hops: {visited}")


def test_no_shopper_loops_between_checkout_and_confirmation_over_an_aborted_read_only_order(
        shopper: ApiShopper, calls: KCOCalls, emulator: KcoEmulator) -> None:
    emulator.settings(aborted_orders="read_only")
    order_id = checkout_with(shopper, calls, {"mug-001": 1})
    abort_at_kco(emulator, order_id)
    shopper.add_to_cart("tee-002", 1)  # the next checkout load must update the (read-only) order
    assert follow(shopper, "/checkout") == ["/checkout"]
    new_order_id = shopper.order_id()
    assert new_order_id != order_id
    assert follow(shopper, f"/confirmation?order_id={new_order_id}") == [
        f"/confirmation?order_id={new_order_id}", "/checkout"]
    assert kco_order(emulator, new_order_id)["status"] == "checkout_incomplete"


def test_an_order_the_shop_aborted_is_dropped_when_its_replacement_cannot_be_created(
        shopper: ApiShopper, calls: KCOCalls, emulator: KcoEmulator) -> None:
    emulator.settings(aborted_orders="read_only")
    order_id = checkout_with(shopper, calls, {"mug-001": 1})
    emulator.fail_next("read", status=503, times=3)
    emulator.fail_next("create", status=503)
    page = shopper.open_checkout()
    assert page.status_code == 200 and "klarna-checkout-container" not in page.text
    assert emulator.order_state(order_id)["aborted"]
    assert shopper.cart()["order"] is None  # never the aborted order, which would read checkout_incomplete
    assert follow(shopper, "/checkout") == ["/checkout"]
    assert shopper.order_id() != order_id


# --- 8. the page always learns its order --------------------------------------------------------------------

def test_every_cart_answer_names_the_sessions_order(shopper: ApiShopper, calls: KCOCalls,
                                                    emulator: KcoEmulator) -> None:
    order_id = checkout_with(shopper, calls, {"mug-001": 1})
    answers: list[dict[str, Any]] = [shopper.cart(), shopper.set_cart({"mug-001": 2}).json(),
                                     shopper.set_market("DE").json()]
    emulator.disconnect_next("update")
    failed = shopper.set_cart({"mug-001": 3})
    assert failed.status_code == 503
    answers.append(failed.json())
    assert [answer["order"]["order_id"] for answer in answers] == [order_id] * 4


# --- the workshop's fraud-review buttons --------------------------------------------------------------------

def test_the_inspector_completes_an_order_pending_review_and_decides_it(shopper: ApiShopper, calls: KCOCalls,
                                                                        emulator: KcoEmulator) -> None:
    order_id = checkout_with(shopper, calls, {"mug-001": 1})
    emulator.settings(push_retry_seconds=[])
    pending = shopper.post_json("/api/inspector/emulator/complete-pending", {})
    assert pending.status_code == 200 and pending.json()["emulator"]["result"] == "completed"
    assert emulator.order_state(order_id)["fraud_status"] == "PENDING"
    assert confirmation_state(shopper, order_id) == "pending"

    decide = "/api/inspector/emulator/fraud-decision"
    assert shopper.post_json(decide, {"event_type": "FRAUD_RISK_MAYBE"}).status_code == 400
    decided = shopper.post_json(decide, {"event_type": "FRAUD_RISK_STOPPED"})
    assert decided.status_code == 200 and decided.json()["emulator"]["notification"]["status"] == 200
    assert confirmation_state(shopper, order_id) == "rejected"
