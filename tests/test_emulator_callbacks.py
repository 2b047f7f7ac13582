"""The emulator's calls to the merchant: refine callbacks, validation, completion and push (kco-rules:
refine-callbacks, kco-rules: validation-callback, kco-rules: push-and-acknowledge).

A throwaway merchant server runs inside the test process on a free port; each test tells it how to
answer and reads what it received. Shopper actions go through the control API, which runs the same code
as the widget's iframe.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from werkzeug.wrappers import Request, Response

from harness.emulator_samples import EUR_ANSWER, SHOPPER, created_id, sample_order, update
from kco_emulator.testing import ControlRefused, KcoEmulator, WsgiServer

CALLBACKS = (
    "address_update",
    "country_change",
    "shipping_option_update",
    "validation",
    "push",
    "confirmation",
)


@dataclass
class MerchantCall:
    name: str
    path: str
    query: str
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class MerchantAnswer:
    status: int = 200
    body: Any = None
    headers: dict[str, str] | None = None
    hold: threading.Event | None = None  # answer only once this is set (to provoke timeouts)
    before: Callable[[MerchantCall], None] | None = None


class Merchant:
    """A merchant's callback endpoints: /<callback name>/<order id>; answers 200 {} unless told otherwise."""

    def __init__(self) -> None:
        self.calls: list[MerchantCall] = []
        self.answers: dict[str, MerchantAnswer] = {}
        self.changed = threading.Condition()
        self.holds: list[threading.Event] = []
        self.server = WsgiServer(self.wsgi)
        self.url = self.server.start()

    def merchant_urls(self, *names: str) -> dict[str, str]:
        urls = {"terms": f"{self.url}/terms"}
        for name in ("checkout", "confirmation", "push", *names):
            urls[name] = f"{self.url}/{name}/{{checkout.order.id}}"
        return urls

    def answer(self, name: str, **answer: Any) -> None:
        merchant_answer = MerchantAnswer(**answer)
        if merchant_answer.hold is not None:
            self.holds.append(merchant_answer.hold)
        self.answers[name] = merchant_answer

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        name = request.path.strip("/").split("/")[0]
        call = MerchantCall(
            name, request.path, request.query_string.decode(), request.get_data(), dict(request.headers)
        )
        answer = self.answers.get(name, MerchantAnswer(body={}))
        if answer.before:
            answer.before(call)
        if answer.hold is not None:
            answer.hold.wait(10)
        with self.changed:
            self.calls.append(call)
            self.changed.notify_all()
        body = b"" if answer.body is None else json.dumps(answer.body).encode()
        response = Response(
            body, status=answer.status, headers=answer.headers, content_type="application/json"
        )
        return response(environ, start_response)

    def called(self, name: str) -> list[MerchantCall]:
        with self.changed:
            return [call for call in self.calls if call.name == name]

    def wait_for(self, name: str, count: int = 1, timeout: float = 10) -> list[MerchantCall]:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.called(name)) >= count, timeout), (
                f"no {count} x {name}"
            )
            return self.called(name)

    def close(self) -> None:
        for hold in self.holds:
            hold.set()
        self.server.stop()


@pytest.fixture
def merchant() -> Iterator[Merchant]:
    server = Merchant()
    yield server
    server.close()


def wait_until(condition: Callable[[], bool], timeout: float = 10) -> None:
    """Poll a condition on the emulator's state (it runs in another process)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)




UNCHANGED_ANSWER = {
    key: value
    for key, value in sample_order().items()
    if key in ("order_amount", "order_tax_amount", "order_lines", "purchase_currency")
}


def open_order(emulator: KcoEmulator, merchant: Merchant, *callbacks: str, **fields: Any) -> str:
    return created_id(
        emulator,
        sample_order(
            merchant_urls=merchant.merchant_urls(*callbacks),
            billing_countries=["SE", "DE", "FI", "NO"],
            **fields,
        ),
    )


# country_change (kco-rules: refine-callbacks, kco-rules: market-change)


def test_country_change_posts_the_new_country_and_applies_the_merchant_answer(
    emulator: KcoEmulator, merchant: Merchant
) -> None:
    order_id = open_order(emulator, merchant, "country_change", merchant_data="ref-7")
    merchant.answer("country_change", body=EUR_ANSWER)
    outcome = emulator.change_country(order_id, "DE")
    assert outcome == {"result": "updated", "callback": "country_change", "callback_status": 200}
    call = merchant.called("country_change")[0]
    assert call.path == f"/country_change/{order_id}"  # placeholder substituted
    sent = call.json()
    assert sent["billing_address"]["country"] == "DE" and sent["purchase_currency"] == "SEK"
    assert sent["order_amount"] == 24900 and sent["merchant_data"] == "ref-7" and sent["locale"] == "sv-SE"
    order = emulator.order(order_id)
    assert (order["purchase_country"], order["purchase_currency"], order["locale"]) == ("DE", "EUR", "de-DE")
    assert order["order_lines"] == EUR_ANSWER["order_lines"] and order["billing_address"]["country"] == "DE"


def test_country_change_answered_400_shows_the_text_and_keeps_the_order(
    emulator: KcoEmulator, merchant: Merchant
) -> None:
    order_id = open_order(emulator, merchant, "country_change")
    merchant.answer(
        "country_change",
        status=400,
        body={"error_type": "unsupported_shipping_address", "error_text": "We do not ship there"},
    )
    outcome = emulator.change_country(order_id, "NO")
    assert outcome["result"] == "rejected" and outcome["error_text"] == "We do not ship there"
    assert emulator.order(order_id)["purchase_country"] == "SE"


def test_country_change_answered_303_sends_the_shopper_to_location(
    emulator: KcoEmulator, merchant: Merchant
) -> None:
    order_id = open_order(emulator, merchant, "country_change")
    merchant.answer("country_change", status=303, headers={"Location": "/sorry"})
    outcome = emulator.change_country(order_id, "DE")
    assert outcome["result"] == "rejected" and outcome["redirect_url"] == f"{merchant.url}/sorry"
    assert emulator.order(order_id)["purchase_country"] == "SE"


def test_country_change_answer_with_wrong_amounts_does_not_corrupt_the_order(
    emulator: KcoEmulator, merchant: Merchant
) -> None:
    order_id = open_order(emulator, merchant, "country_change")
    merchant.answer("country_change", body={**EUR_ANSWER, "order_amount": 1899})
    outcome = emulator.change_country(order_id, "DE")
    assert outcome["result"] == "failed" and "Bad value: order_amount" in outcome["error_text"]
    assert outcome["events"] == ["shipping_address_update_error"]
    assert emulator.order(order_id)["order_amount"] == 24900


def test_country_change_answered_with_the_old_currency_is_refused(
    emulator: KcoEmulator, merchant: Merchant
) -> None:
    order_id = open_order(emulator, merchant, "country_change")
    merchant.answer("country_change", body=UNCHANGED_ANSWER)
    outcome = emulator.change_country(order_id, "DE")
    assert outcome["result"] == "failed" and "Bad value: purchase_currency" in outcome["error_text"]


def test_only_allowed_billing_countries_can_be_chosen(emulator: KcoEmulator, merchant: Merchant) -> None:
    order_id = open_order(emulator, merchant, "country_change")
    with pytest.raises(ControlRefused, match="offers the shopper SE, DE, FI, NO"):
        emulator.change_country(order_id, "GB")
    assert merchant.called("country_change") == []


def test_without_a_country_change_url_only_a_country_of_the_same_currency_is_possible(
    emulator: KcoEmulator, merchant: Merchant
) -> None:
    finnish = sample_order(
        purchase_country="FI",
        purchase_currency="EUR",
        locale="fi-FI",
        billing_countries=["FI", "DE", "SE"],
        merchant_urls=merchant.merchant_urls(),
    )
    order_id = created_id(emulator, finnish)
    assert emulator.change_country(order_id, "DE")["result"] == "updated"
    assert emulator.order(order_id)["purchase_country"] == "DE"
    refused = emulator.change_country(order_id, "SE")
    assert (
        refused["result"] == "rejected"
        and refused["error_text"] == "Sweden is not available in this checkout."
    )


# address_update and shipping_option_update (kco-rules: refine-callbacks)


def test_entering_an_address_calls_address_update_and_applies_the_answer(
    emulator: KcoEmulator, merchant: Merchant
) -> None:
    order_id = open_order(emulator, merchant, "address_update", "country_change")
    with_fee = sample_order()
    with_fee["order_lines"][1] = {
        **with_fee["order_lines"][1],
        "unit_price": 9900,
        "total_amount": 9900,
        "total_tax_amount": 1980,
    }
    merchant.answer(
        "address_update",
        body={
            "order_amount": 29900,
            "order_tax_amount": 5980,
            "order_lines": with_fee["order_lines"],
            "purchase_currency": "SEK",
        },
    )
    assert emulator.enter_address(order_id, SHOPPER)["callback"] == "address_update"
    sent = merchant.called("address_update")[0].json()
    assert sent["billing_address"]["given_name"] == "Ada" and sent["shipping_address"]["city"] == "Stockholm"
    assert sent["billing_address"]["postal_code"] == "11455"
    assert merchant.called("country_change") == []
    assert emulator.order(order_id)["order_amount"] == 29900
    assert emulator.order_state(order_id)["shopper_entered_address"] is True


def test_an_address_in_another_country_runs_country_change_only(
    emulator: KcoEmulator, merchant: Merchant
) -> None:
    order_id = open_order(emulator, merchant, "address_update", "country_change")
    merchant.answer("country_change", body=EUR_ANSWER)
    outcome = emulator.enter_address(order_id, {**SHOPPER, "country": "DE", "city": "Berlin"})
    assert outcome["callback"] == "country_change"
    assert merchant.called("address_update") == []
    assert emulator.order(order_id)["billing_address"]["city"] == "Berlin"


def test_an_address_callback_answering_200_without_the_order_is_refused(
    emulator: KcoEmulator, merchant: Merchant
) -> None:
    order_id = open_order(emulator, merchant, "address_update")
    merchant.answer("address_update", body={})
    outcome = emulator.enter_address(order_id, SHOPPER)
    assert outcome["result"] == "failed" and "Bad value: order_amount" in outcome["error_text"]


def test_a_failing_address_callback_stops_the_flow(emulator: KcoEmulator, merchant: Merchant) -> None:
    order_id = open_order(emulator, merchant, "address_update")
    merchant.answer("address_update", status=500, body={"oops": True})
    outcome = emulator.enter_address(order_id, SHOPPER)
    assert outcome["result"] == "failed" and outcome["events"] == ["shipping_address_update_error"]
    assert emulator.order_state(order_id)["shopper_entered_address"] is False


def test_choosing_a_shipping_option_calls_shipping_option_update(
    emulator: KcoEmulator, merchant: Merchant
) -> None:
    options = [
        {"id": "standard", "name": "Standard", "price": 4900, "tax_amount": 980, "tax_rate": 2500},
        {"id": "express", "name": "Express", "price": 9900, "tax_amount": 1980, "tax_rate": 2500},
    ]
    order_id = open_order(emulator, merchant, "shipping_option_update", shipping_options=options)
    assert (
        emulator.order(order_id)["selected_shipping_option"]["id"] == "standard"
    )  # first when none preselected
    express = sample_order()["order_lines"][:1] + [
        {
            "type": "shipping_fee",
            "name": "Express",
            "quantity": 1,
            "unit_price": 9900,
            "tax_rate": 2500,
            "total_amount": 9900,
            "total_tax_amount": 1980,
        }
    ]
    merchant.answer(
        "shipping_option_update",
        body={
            "order_amount": 29900,
            "order_tax_amount": 5980,
            "order_lines": express,
            "purchase_currency": "SEK",
        },
    )
    assert emulator.choose_shipping(order_id, "express")["result"] == "updated"
    assert merchant.called("shipping_option_update")[0].json()["selected_shipping_option"]["id"] == "express"
    order = emulator.order(order_id)
    assert order["selected_shipping_option"]["id"] == "express" and order["order_amount"] == 29900


# validation and completion (kco-rules: validation-callback)


def test_validation_200_completes_and_sends_the_shopper_to_the_confirmation(
    emulator: KcoEmulator, merchant: Merchant
) -> None:
    order_id = open_order(emulator, merchant, "validation")
    outcome = emulator.complete(order_id, billing_address=SHOPPER)
    assert outcome["result"] == "completed"
    assert outcome["redirect_url"] == f"{merchant.url}/confirmation/{order_id}"
    sent = merchant.called("validation")[0].json()
    assert sent["order_id"] == order_id and sent["status"] == "checkout_incomplete"
    assert sent["billing_address"]["email"] == "ada@example.com" and "html_snippet" not in sent
    order = emulator.order(order_id)
    assert order["status"] == "checkout_complete" and order["completed_at"].endswith("Z")


def test_validation_303_redirects_and_keeps_the_order_open(
    emulator: KcoEmulator, merchant: Merchant
) -> None:
    order_id = open_order(emulator, merchant, "validation")
    merchant.answer(
        "validation", status=303, headers={"Location": f"{merchant.url}/checkout?error=cart_changed"}
    )
    outcome = emulator.complete(order_id)
    assert outcome["result"] == "rejected"
    assert outcome["redirect_url"] == f"{merchant.url}/checkout?error=cart_changed"
    assert emulator.order(order_id)["status"] == "checkout_incomplete"


def test_validation_400_shows_the_error_text(emulator: KcoEmulator, merchant: Merchant) -> None:
    order_id = open_order(emulator, merchant, "validation")
    merchant.answer(
        "validation", status=400, body={"error_type": "approval_failed", "error_text": "Sold out"}
    )
    assert emulator.complete(order_id) == {
        "result": "rejected",
        "error_text": "Sold out",
        "callback": "validation",
        "callback_status": 400,
    }
    assert emulator.order(order_id)["status"] == "checkout_incomplete"


def test_a_validation_timeout_counts_as_approval(emulator: KcoEmulator, merchant: Merchant) -> None:
    emulator.settings(validation_timeout_seconds=0.2)
    order_id = open_order(emulator, merchant, "validation")
    merchant.answer("validation", hold=threading.Event())
    assert emulator.complete(order_id)["result"] == "completed"


def test_with_require_validate_callback_success_a_timeout_fails_the_purchase(
    emulator: KcoEmulator, merchant: Merchant
) -> None:
    emulator.settings(strict_validation_timeout_seconds=0.2)
    order_id = open_order(
        emulator, merchant, "validation", options={"require_validate_callback_success": True}
    )
    merchant.answer("validation", hold=threading.Event())
    outcome = emulator.complete(order_id)
    assert outcome["result"] == "failed" and outcome["events"] == ["can_not_complete_order"]
    assert emulator.order(order_id)["status"] == "checkout_incomplete"


def test_complete_without_an_address_uses_a_test_person_and_runs_address_update(
    emulator: KcoEmulator, merchant: Merchant
) -> None:
    order_id = open_order(emulator, merchant, "address_update")
    merchant.answer("address_update", body=UNCHANGED_ANSWER)
    assert emulator.complete(order_id)["result"] == "completed"
    assert merchant.called("address_update")[0].json()["billing_address"]["given_name"] == "Test"


def test_a_completed_order_takes_no_more_shopper_actions(
    emulator: KcoEmulator, merchant: Merchant
) -> None:
    order_id = open_order(emulator, merchant)
    emulator.complete(order_id)
    again = requests.post(
        f"{emulator.url}/_emulator/orders/{order_id}/complete", json={}, timeout=5
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "order_not_open"


# push (kco-rules: push-and-acknowledge)


def test_push_is_an_empty_post_retried_until_acknowledged(
    emulator: KcoEmulator, merchant: Merchant
) -> None:
    order_id = open_order(emulator, merchant)
    acknowledge = f"{emulator.url}/ordermanagement/v1/orders/{order_id}/acknowledge"
    pushes_seen = []

    def acknowledge_on_second_push(call: MerchantCall) -> None:
        pushes_seen.append(call)
        if len(pushes_seen) == 2:
            assert requests.post(acknowledge, auth=emulator.credentials, timeout=5).status_code == 204

    merchant.answer("push", body={}, before=acknowledge_on_second_push)
    emulator.complete(order_id)  # schedule of the test server: 0.3, 0.6, 1.2 s
    pushes = merchant.wait_for("push", 2)
    assert pushes[0].path == f"/push/{order_id}" and pushes[0].body == b""
    assert pushes[0].headers.get("Content-Type") is None
    wait_until(lambda: emulator.status()["active_push_schedules"] == 0)
    assert len(emulator.order_state(order_id)["push_attempts"]) == 2
    assert len(merchant.called("push")) == 2


def test_push_can_be_delivered_on_demand(emulator: KcoEmulator, merchant: Merchant) -> None:
    emulator.settings(push_retry_seconds=[])
    order_id = open_order(emulator, merchant)
    emulator.complete(order_id)
    merchant.answer("push", status=500)
    attempt = emulator.push(order_id)
    assert attempt["status"] == 500 and attempt["url"] == f"{merchant.url}/push/{order_id}"
    assert len(merchant.called("push")) == 1


def test_reset_stops_pending_pushes(emulator: KcoEmulator, merchant: Merchant) -> None:
    emulator.settings(push_retry_seconds=[30])
    order_id = open_order(emulator, merchant)
    emulator.complete(order_id)
    assert emulator.status()["active_push_schedules"] == 1
    emulator.reset()
    wait_until(lambda: emulator.status()["active_push_schedules"] == 0)
    assert merchant.called("push") == []


def test_push_to_an_unreachable_merchant_is_recorded_as_an_error(emulator: KcoEmulator) -> None:
    emulator.settings(push_retry_seconds=[0])
    order_id = created_id(emulator)  # push URL on a closed port
    emulator.complete(order_id)
    wait_until(lambda: emulator.status()["active_push_schedules"] == 0)
    attempts = emulator.order_state(order_id)["push_attempts"]
    assert len(attempts) == 1 and attempts[0]["status"] is None and attempts[0]["error"] == "ConnectionError"


def test_unknown_settings_values_are_refused(emulator: KcoEmulator) -> None:
    response = requests.post(
        f"{emulator.url}/_emulator/settings", json={"push_retry_seconds": "2,5"}, timeout=5
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "bad_setting"


def test_the_merchant_can_read_the_order_while_answering_a_callback(
    emulator: KcoEmulator, merchant: Merchant
) -> None:
    """The emulator serves requests concurrently: it waits for the validation answer while the merchant's
    validation handler reads the same order through the REST API."""
    order_id = open_order(emulator, merchant, "validation")
    statuses: list[str] = []
    merchant.answer(
        "validation", body={}, before=lambda call: statuses.append(emulator.order(order_id)["status"])
    )
    assert emulator.complete(order_id)["result"] == "completed"
    assert statuses == ["checkout_incomplete"]


def test_widget_endpoints_need_the_order_widget_token(emulator: KcoEmulator) -> None:
    order_id = created_id(emulator)
    state_url = f"{emulator.url}/widget/orders/{order_id}/state"
    snippet = emulator.order(order_id)["html_snippet"]
    token = snippet.split("KlarnaCheckout ")[1].split('"')[0]
    assert requests.get(state_url, timeout=5).status_code == 404
    assert (
        requests.get(state_url, headers={"Authorization": "KlarnaCheckout wrong"}, timeout=5).status_code
        == 404
    )
    assert (
        requests.get(state_url, auth=("demo", "demo"), timeout=5).status_code == 404
    )  # not merchant credentials
    state = requests.get(state_url, headers={"Authorization": f"KlarnaCheckout {token}"}, timeout=5).json()
    assert state["order_amount"] == 24900 and state["countries"] == [
        {"country": "SE", "alpha3": "swe", "name": "Sweden"}
    ]


def test_completing_with_the_address_already_entered_does_not_send_it_again(
    emulator: KcoEmulator, merchant: Merchant
) -> None:
    order_id = open_order(emulator, merchant, "address_update")
    merchant.answer("address_update", body=UNCHANGED_ANSWER)
    emulator.enter_address(order_id, SHOPPER)
    # The postal code is still "114 55".
    assert emulator.complete(order_id, billing_address=SHOPPER)["result"] == "completed"
    assert len(merchant.called("address_update")) == 1


# A merchant update that lands while a refine callback is being answered (kco-rules: update-ongoing-order,
# kco-rules: refine-callbacks). KCO locks the order then (kco-rules: callback-lock); these tests turn the lock
# off (callback_lock_status 0) to prove the emulator still never writes a stale answer over a newer order.


def test_a_merchant_update_during_country_change_is_kept_and_the_shopper_change_fails(
    emulator: KcoEmulator, merchant: Merchant
) -> None:
    """The merchant's handler updates the order through the REST API before it answers: the answer was
    computed for the order as it was, so KCO must not write it over the newer order."""
    emulator.settings(callback_lock_status=0)
    order_id = open_order(emulator, merchant, "country_change")
    updates: list[int] = []
    merchant.answer(
        "country_change",
        body=EUR_ANSWER,
        before=lambda call: updates.append(
            update(emulator, order_id, {"merchant_reference1": "updated-meanwhile"}).status_code
        ),
    )
    outcome = emulator.change_country(order_id, "DE")
    assert updates == [200]
    assert outcome["result"] == "failed" and outcome["events"] == ["shipping_address_update_error"]
    order = emulator.order(order_id)
    assert order["merchant_reference1"] == "updated-meanwhile"
    assert (order["purchase_country"], order["purchase_currency"]) == ("SE", "SEK")

    # Trying again starts from the newer order, so the merchant's update survives the shopper's change.
    merchant.answer("country_change", body=EUR_ANSWER)
    assert emulator.change_country(order_id, "DE")["result"] == "updated"
    order = emulator.order(order_id)
    assert order["merchant_reference1"] == "updated-meanwhile" and order["purchase_currency"] == "EUR"


def test_a_merchant_update_during_address_update_is_kept_and_the_address_not_taken(
    emulator: KcoEmulator, merchant: Merchant
) -> None:
    emulator.settings(callback_lock_status=0)
    order_id = open_order(emulator, merchant, "address_update")
    new_lines = sample_order()["order_lines"][:1]
    merchant.answer(
        "address_update",
        body=UNCHANGED_ANSWER,
        before=lambda call: update(
            emulator, order_id, {"order_amount": 20000, "order_tax_amount": 4000, "order_lines": new_lines}
        ).raise_for_status(),
    )
    outcome = emulator.enter_address(order_id, SHOPPER)
    assert outcome["result"] == "failed" and outcome["callback"] == "address_update"
    assert emulator.order(order_id)["order_lines"] == new_lines
    assert emulator.order_state(order_id)["shopper_entered_address"] is False


def test_widget_shopper_actions_treat_a_malformed_body_as_empty_instead_of_failing(
        emulator: KcoEmulator) -> None:
    order_id = created_id(emulator)
    token = emulator.order(order_id)["html_snippet"].split("KlarnaCheckout ")[1].split('"')[0]
    headers = {"Authorization": f"KlarnaCheckout {token}"}
    for action, body in (("address", {"billing_address": "x"}), ("address", ["x"]), ("country", ["DE"]),
                         ("complete", {"billing_address": 7})):
        answer = requests.post(f"{emulator.url}/widget/orders/{order_id}/{action}", json=body,
                               headers=headers, timeout=15)
        assert answer.status_code == 200, (action, body, answer.text)
