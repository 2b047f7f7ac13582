"""The emulator's REST API over real HTTP: statuses, bodies, headers, expiry and the request log.

Rules come from docs/kco-rules.md (cited as `kco-rules: <slug>` in the comments); every create, read and
update body is also checked against the official OpenAPI schema.
"""

from __future__ import annotations

import base64
import copy
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from harness.emulator_samples import (
    EUR_ANSWER,
    SHOPPER,
    assert_kco_error,
    create,
    created_id,
    read,
    sample_order,
    update,
    url,
)
from kco.client import ClientConfig, KCOClient
from kco_emulator.testing import EmulatorProcess, KcoEmulator
from tests.openapi_spec import require_spec, validate_order_response

EMULATOR_DIR = Path(__file__).resolve().parents[1] / "kco_emulator"


def test_emulator_starts_on_a_port_chosen_by_the_os_and_stops_on_sigterm() -> None:
    server = EmulatorProcess()
    server.start()
    try:
        assert not server.url.endswith(":0")
        assert requests.get(f"{server.url}/_emulator/requests", timeout=5).json() == {"requests": []}
    finally:
        server.stop()
    assert not server.running
    assert server.wait() == 0


def test_emulator_never_imports_the_shop_or_the_kco_client() -> None:
    foreign_import = re.compile(r"^\s*(from|import)\s+(kco|shop|app)\b", re.MULTILINE)
    for source in EMULATOR_DIR.glob("*.py"):
        assert not foreign_import.search(source.read_text(encoding="utf-8")), source
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, kco_emulator.app; print(sorted(m for m in sys.modules "
            "if m.split('.')[0] in ('kco', 'shop', 'app')))",
        ],
        cwd=EMULATOR_DIR.parent,
        capture_output=True,
        text=True,
        check=True,
    )
    assert loaded.stdout.strip() == "[]"


# Authentication (kco-rules: basic-auth)


@pytest.mark.parametrize(
    "authorization",
    [
        f"Basic {base64.b64encode(b'demo:demo').decode()}",
        "Basic kco_test_api_not-a-real-key",
        # The random part of Kustom's documented example key is base64, so it may hold +, / and =
        # (kco-rules: basic-auth).
        "Basic kco_test_api_not+a/real=key",
        f"Basic {base64.b64encode(b'M123-abc:kco_test_api_not-a-real-key').decode()}",
        f"Basic {base64.b64encode(b'M123-abc:kco_test_api_not+a/real=key').decode()}",
    ],
)
def test_accepted_credentials_are_demo_basic_auth_and_kustom_test_api_keys(
    emulator: KcoEmulator, authorization: str
) -> None:
    response = requests.post(
        url(emulator, "/checkout/v3/orders"),
        json=sample_order(),
        headers={"Authorization": authorization},
        timeout=10,
    )
    assert response.status_code == 201


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        f"Basic {base64.b64encode(b'demo:wrong').decode()}",
        "Basic kco_live_api_not-a-real-key",
        "Bearer kco_test_api_not-a-real-key",
        "Basic not-base64!",
    ],
)
def test_anything_else_is_refused_with_401(emulator: KcoEmulator, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = requests.post(
        url(emulator, "/checkout/v3/orders"), json=sample_order(), headers=headers, timeout=10
    )
    assert_kco_error(response, 401, "UNAUTHORIZED", "Unauthorized")
    assert emulator.calls("create")[0]["status"] == 401


# Create, read, update (kco-rules: status-codes, kco-rules: order-fields, kco-rules: update-ongoing-order)


def test_create_answers_201_with_location_and_the_full_order(emulator: KcoEmulator) -> None:
    require_spec()
    response = create(emulator)
    assert response.status_code == 201
    body = response.json()
    validate_order_response(body)
    assert response.headers["Location"] == url(emulator, f"/checkout/v3/orders/{body['order_id']}")
    assert list(body)[:13] == [
        "order_id",
        "status",
        "purchase_country",
        "purchase_currency",
        "locale",
        "billing_address",
        "customer",
        "shipping_address",
        "order_amount",
        "order_tax_amount",
        "order_lines",
        "merchant_urls",
        "html_snippet",
    ]  # kco-rules: order-fields (key order observed)
    assert body["status"] == "checkout_incomplete"
    assert body["billing_address"] == {"country": "SE"} and body["shipping_address"] == {"country": "SE"}
    assert body["customer"] == {}
    assert body["order_lines"] == sample_order()["order_lines"]
    assert body["started_at"].endswith("Z") and body["last_modified_at"] == body["started_at"]
    assert 'id="klarna-checkout-container"' in body["html_snippet"]


def test_every_response_carries_a_correlation_id(emulator: KcoEmulator) -> None:
    order_id = created_id(emulator)
    responses = [
        read(emulator, order_id),
        update(emulator, order_id, {"locale": "en-SE"}),
        read(emulator, "no-such-order"),
        requests.get(url(emulator, "/widget/bootstrap.js"), timeout=5),
    ]
    ids = [response.headers.get("Klarna-Correlation-Id") for response in responses]
    assert all(ids) and len(set(ids)) == len(ids)


def test_read_returns_the_order_and_is_logged_as_a_read(emulator: KcoEmulator) -> None:
    require_spec()
    kco_api = requests.Session()  # as a shop's client: one connection, kept alive
    kco_api.auth = emulator.credentials
    created = kco_api.post(url(emulator, "/checkout/v3/orders"), json=sample_order(), timeout=5)
    order_id = created.json()["order_id"]
    response = kco_api.get(url(emulator, f"/checkout/v3/orders/{order_id}"), timeout=5)
    assert response.status_code == 200
    validate_order_response(response.json())
    assert response.json()["order_id"] == order_id
    log = emulator.calls()
    assert [entry["operation"] for entry in log] == ["create", "read"]
    assert log[1] == {
        "method": "GET",
        "path": f"/checkout/v3/orders/{order_id}",
        "status": 200,
        "order_id": order_id,
        "at": log[1]["at"],
        "operation": "read",
        "connection": log[0]["connection"],  # the create's connection, kept alive
    }


def test_update_merges_only_the_fields_sent(emulator: KcoEmulator) -> None:
    require_spec()
    order_id = created_id(emulator, sample_order(merchant_reference1="R-1"))
    lines = [
        {
            "name": "Mug",
            "quantity": 1,
            "unit_price": 12500,
            "tax_rate": 2500,
            "total_amount": 12500,
            "total_tax_amount": 2500,
        }
    ]
    response = update(
        emulator, order_id, {"order_lines": lines, "order_amount": 12500, "order_tax_amount": 2500}
    )
    assert response.status_code == 200
    body = response.json()
    validate_order_response(body)
    assert body["order_lines"] == lines and body["order_amount"] == 12500
    assert body["merchant_reference1"] == "R-1" and body["locale"] == "sv-SE"
    assert read(emulator, order_id).json()["order_lines"] == lines


def test_update_to_another_market_changes_country_currency_and_locale(emulator: KcoEmulator) -> None:
    order_id = created_id(emulator)
    response = update(emulator, order_id, {"purchase_country": "DE", **EUR_ANSWER})
    assert response.status_code == 200
    body = response.json()
    assert (body["purchase_country"], body["purchase_currency"], body["locale"]) == ("DE", "EUR", "de-DE")
    assert body["billing_address"] == {"country": "DE"}
    assert "'deu'" in body["html_snippet"] or '"deu"' in body["html_snippet"]


def test_read_only_fields_sent_by_the_merchant_are_ignored(emulator: KcoEmulator) -> None:
    response = create(emulator, sample_order(order_id="mine", status="checkout_complete", html_snippet="<b>"))
    body = response.json()
    assert body["order_id"] != "mine" and body["status"] == "checkout_incomplete"
    assert "klarna-checkout-container" in body["html_snippet"]


def test_unknown_order_answers_404_with_an_empty_body(emulator: KcoEmulator) -> None:
    for response in (
        read(emulator, "no-such-order"),
        update(emulator, "no-such-order", {"locale": "sv-SE"}),
        requests.post(url(emulator, "/checkout/v3/orders/no-such-order/abort"), auth=emulator.credentials,
                      timeout=5),
    ):
        assert response.status_code == 404
        assert response.content == b""  # kco-rules: error-body (observed empty 404)
        # A JSON API's answer, not an HTML page, even when it has no body.
        assert response.headers["Content-Type"] == "application/json"


def test_completed_order_is_read_only_and_reads_with_a_confirmation_snippet(
    emulator: KcoEmulator,
) -> None:
    require_spec()
    order_id = created_id(emulator)
    assert emulator.complete(order_id)["result"] == "completed"
    assert_kco_error(
        update(emulator, order_id, {"locale": "en-SE"}), 403, "READ_ONLY_ORDER", "Resource is read-only"
    )
    abort = requests.post(url(emulator, f"/checkout/v3/orders/{order_id}/abort"), auth=emulator.credentials,
                          timeout=5)
    assert_kco_error(abort, 403, "READ_ONLY_ORDER", "Resource is read-only")
    body = read(emulator, order_id).json()
    validate_order_response(body)
    assert body["status"] == "checkout_complete" and body["completed_at"].endswith("Z")
    # In the order's language (sv-SE), as KCO's confirmation speaks the order's locale.
    assert "<h2>Tack för ditt köp</h2>" in body["html_snippet"]
    # Its script loads the bootstrap as a confirmation: no checkout iframe, load_confirmation instead.
    assert '"ORDER_STATUS": "checkout_complete"' in body["html_snippet"]


def test_abort_answers_the_order_and_then_it_is_gone(emulator: KcoEmulator) -> None:
    order_id = created_id(emulator)
    response = requests.post(url(emulator, f"/checkout/v3/orders/{order_id}/abort"),
                             auth=emulator.credentials, timeout=5)
    assert response.status_code == 200 and response.json()["order_id"] == order_id
    assert read(emulator, order_id).status_code == 404
    assert emulator.calls("abort")[0]["status"] == 200


# Expiry (kco-rules: expiry-48h)


def test_order_expires_48_hours_after_the_last_update_with_an_empty_404(emulator: KcoEmulator) -> None:
    order_id = created_id(emulator)
    emulator.advance(hours=47)
    assert update(emulator, order_id, {"merchant_reference1": "kept alive"}).status_code == 200
    emulator.advance(hours=47)  # 94 h after create, 47 h after the update: still open
    assert read(emulator, order_id).status_code == 200
    emulator.advance(hours=2)
    expired = read(emulator, order_id)
    assert expired.status_code == 404 and expired.content == b""
    assert update(emulator, order_id, {"locale": "en-SE"}).status_code == 404


def test_reading_does_not_keep_an_order_alive(emulator: KcoEmulator) -> None:
    order_id = created_id(emulator)
    emulator.advance(hours=40)
    assert read(emulator, order_id).status_code == 200
    emulator.advance(hours=9)
    assert read(emulator, order_id).status_code == 404


def widget_token(emulator: KcoEmulator, order_id: str) -> str:
    """The token the checkout snippet gives its widget (the snippet changes once the order is complete)."""
    return str(emulator.order(order_id)["html_snippet"].split("KlarnaCheckout ")[1].split('"')[0])


def widget_interaction(emulator: KcoEmulator, order_id: str, token: str) -> requests.Response:
    """The widget's ping on the shopper's first click or key press."""
    return requests.post(url(emulator, f"/widget/orders/{order_id}/interaction"),
                         headers={"Authorization": f"KlarnaCheckout {token}"}, timeout=5)


def test_shopper_interaction_in_the_widget_keeps_an_order_alive(emulator: KcoEmulator) -> None:
    order_id = created_id(emulator)
    emulator.advance(hours=40)
    assert widget_interaction(emulator, order_id, widget_token(emulator, order_id)).status_code == 200
    emulator.advance(hours=40)
    assert read(emulator, order_id).status_code == 200


def test_the_interaction_ping_of_a_click_that_completed_the_purchase_is_no_error(
        emulator: KcoEmulator) -> None:
    # The first click can be the one on "Buy": its ping may arrive after the purchase completed. An error
    # answer would show in the browser's console as a failed resource.
    order_id = created_id(emulator)
    token = widget_token(emulator, order_id)
    emulator.complete(order_id)
    assert widget_interaction(emulator, order_id, token).status_code == 200


def test_a_completed_order_does_not_expire(emulator: KcoEmulator) -> None:
    order_id = created_id(emulator)
    emulator.complete(order_id)
    emulator.advance(hours=72)
    assert read(emulator, order_id).json()["status"] == "checkout_complete"


# Addresses (kco-rules: typed-address-kept)


def test_merchant_address_updates_apply_until_the_shopper_entered_an_address(
    emulator: KcoEmulator,
) -> None:
    order_id = created_id(emulator)
    prefill = {"country": "SE", "postal_code": "11122", "email": "pre@example.com"}
    assert update(emulator, order_id, {"billing_address": prefill}).json()["billing_address"] == prefill
    assert emulator.enter_address(order_id, SHOPPER)["result"] == "updated"
    response = update(
        emulator,
        order_id,
        {"billing_address": prefill, "shipping_address": prefill, "merchant_reference1": "still applied"},
    )
    assert response.status_code == 200  # silently ignored, no error
    body = response.json()
    assert (
        body["billing_address"]["given_name"] == "Ada" and body["billing_address"]["postal_code"] == "11455"
    )
    assert body["shipping_address"]["email"] == "ada@example.com"
    assert body["merchant_reference1"] == "still applied"


# Order Management (kco-rules: order-management)


def test_order_management_knows_an_order_only_after_completion(emulator: KcoEmulator) -> None:
    order_id = created_id(emulator)
    om_url = url(emulator, f"/ordermanagement/v1/orders/{order_id}")
    assert_kco_error(requests.get(om_url, auth=emulator.credentials, timeout=5), 404, "NO_SUCH_ORDER",
                     "No such order")
    assert_kco_error(
        requests.post(f"{om_url}/acknowledge", auth=emulator.credentials, timeout=5), 404, "NO_SUCH_ORDER",
        "No such order"
    )
    emulator.complete(order_id)
    body = requests.get(om_url, auth=emulator.credentials, timeout=5).json()
    assert (body["order_id"], body["status"], body["fraud_status"]) == (order_id, "AUTHORIZED", "ACCEPTED")
    assert body["order_amount"] == body["remaining_authorized_amount"] == 24900
    assert body["captured_amount"] == 0 and body["order_lines"] == sample_order()["order_lines"]
    assert body["billing_address"]["email"] == "test.person@example.com"


def test_acknowledge_answers_204_every_time_and_is_logged(emulator: KcoEmulator) -> None:
    order_id = created_id(emulator)
    emulator.complete(order_id)
    acknowledge = url(emulator, f"/ordermanagement/v1/orders/{order_id}/acknowledge")
    first = requests.post(acknowledge, headers={"Klarna-Idempotency-Key": "k-1"}, auth=emulator.credentials,
                          timeout=5)
    second = requests.post(acknowledge, auth=emulator.credentials, timeout=5)
    assert (first.status_code, first.content, second.status_code) == (204, b"", 204)
    assert emulator.order_state(order_id)["acknowledged"] is True
    assert [entry["status"] for entry in emulator.calls("acknowledge")] == [204, 204]
    assert emulator.calls("om_read") == []


def test_unknown_order_management_order_answers_no_such_order(emulator: KcoEmulator) -> None:
    response = requests.get(url(emulator, "/ordermanagement/v1/orders/nope"), auth=emulator.credentials,
                            timeout=5)
    assert_kco_error(response, 404, "NO_SUCH_ORDER", "No such order")


# Request log and control API


def test_control_and_widget_traffic_is_not_in_the_request_log(emulator: KcoEmulator) -> None:
    order_id = created_id(emulator)
    emulator.order(order_id)
    requests.get(url(emulator, "/widget/bootstrap.js"), timeout=5)
    emulator.advance(seconds=1)
    assert [entry["operation"] for entry in emulator.calls()] == ["create"]


def test_reset_forgets_orders_log_and_clock(emulator: KcoEmulator) -> None:
    order_id = created_id(emulator)
    emulator.advance(hours=100)
    emulator.reset()
    assert emulator.calls() == []
    assert requests.get(url(emulator, f"/_emulator/orders/{order_id}"), timeout=5).status_code == 404
    new_id = created_id(emulator)
    emulator.advance(hours=47)
    assert read(emulator, new_id).status_code == 200


def test_control_api_refuses_malformed_requests_with_the_project_error_shape(
    emulator: KcoEmulator,
) -> None:
    bad_fault = requests.post(url(emulator, "/_emulator/faults"), json={"operation": "dance"}, timeout=5)
    bad_clock = requests.post(url(emulator, "/_emulator/clock"), json={"advance_seconds": -1}, timeout=5)
    unknown = requests.post(url(emulator, "/_emulator/orders/nope/complete"), json={}, timeout=5)
    assert (bad_fault.status_code, bad_clock.status_code, unknown.status_code) == (400, 400, 404)
    assert bad_fault.json()["error"]["code"] == "bad_fault"
    assert unknown.json()["error"]["code"] == "unknown_order"


def test_sample_order_is_itself_valid() -> None:
    require_spec()
    from tests.openapi_spec import validate_create_request

    validate_create_request(copy.deepcopy(sample_order()))


def test_the_emulator_keeps_connections_alive_so_a_client_session_reuses_one_for_many_calls(
        emulator: KcoEmulator) -> None:
    client = KCOClient(ClientConfig(base_url=emulator.url, username="demo", password="demo"))
    order_id = client.create_order(sample_order())["order_id"]
    for _ in range(9):
        client.read_order(order_id)
    connections = {call["connection"] for call in emulator.calls()}
    assert len(emulator.calls()) == 10
    assert len(connections) == 1
