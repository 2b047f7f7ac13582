"""Injected faults (`/_emulator/faults`): status and body, delay, count, operation matching, disconnect."""

from __future__ import annotations

import pytest
import requests

from harness.emulator_samples import created_id, read, sample_order, update
from kco_emulator.testing import KcoEmulator


def test_a_fault_replaces_the_next_matching_call_only(emulator: KcoEmulator) -> None:
    order_id = created_id(emulator)
    emulator.fail_next("update", status=503)
    failed = update(emulator, order_id, {"merchant_reference1": "a"})
    assert failed.status_code == 503
    assert failed.json() == {
        "error_code": "SERVICE_UNAVAILABLE",
        "error_messages": ["Emulated fault: HTTP 503"],
        "correlation_id": failed.headers["Klarna-Correlation-Id"],
    }
    assert read(emulator, order_id).status_code == 200  # another operation is not affected
    assert emulator.order(order_id).get("merchant_reference1") is None  # the failed update changed nothing
    assert update(emulator, order_id, {"merchant_reference1": "b"}).status_code == 200
    assert [(entry["operation"], entry["status"]) for entry in emulator.calls()] == [
        ("create", 201),
        ("update", 503),
        ("read", 200),
        ("update", 200),
    ]


@pytest.mark.parametrize(
    ("body", "content_type", "content"),
    [
        ("empty", None, b""),
        ("html", "text/html", b"<html>"),
    ],
)
def test_a_fault_body_can_be_empty_or_html(
    emulator: KcoEmulator, body: str, content_type: str | None, content: bytes
) -> None:
    emulator.fail_next("create", status=502, body=body)
    response = requests.post(f"{emulator.url}/checkout/v3/orders", json=sample_order(),
                             auth=emulator.credentials, timeout=5)
    assert response.status_code == 502
    assert response.content.startswith(content)
    if content_type:
        assert response.headers["Content-Type"].startswith(content_type)


def test_times_and_any_operation(emulator: KcoEmulator) -> None:
    order_id = created_id(emulator)
    emulator.fail_next("any", status=500, times=2)
    assert read(emulator, order_id).status_code == 500
    assert update(emulator, order_id, {"locale": "en-SE"}).status_code == 500
    assert read(emulator, order_id).status_code == 200
    assert requests.get(f"{emulator.url}/_emulator/faults", timeout=5).json() == {"faults": []}


def test_a_fault_comes_before_authentication(emulator: KcoEmulator) -> None:
    emulator.fail_next("create", status=503)
    response = requests.post(f"{emulator.url}/checkout/v3/orders", json=sample_order(), timeout=5)
    assert response.status_code == 503


def test_disconnect_closes_the_connection_without_an_answer(emulator: KcoEmulator) -> None:
    order_id = created_id(emulator)
    emulator.disconnect_next("read")
    with pytest.raises(requests.ConnectionError):
        read(emulator, order_id)
    assert read(emulator, order_id).status_code == 200
    assert [entry["status"] for entry in emulator.calls("read")] == [None, 200]


def test_a_delayed_fault_without_status_answers_normally_after_the_delay(emulator: KcoEmulator) -> None:
    order_id = created_id(emulator)
    emulator.fail_next("read", status=None, delay_ms=400)
    with pytest.raises(requests.Timeout):
        requests.get(f"{emulator.url}/checkout/v3/orders/{order_id}", auth=emulator.credentials, timeout=0.1)
    emulator.fail_next("read", status=None, delay_ms=50)
    assert read(emulator, order_id).status_code == 200


def test_a_delayed_fault_with_status_answers_that_status(emulator: KcoEmulator) -> None:
    order_id = created_id(emulator)
    emulator.fail_next("update", status=504, delay_ms=50)
    assert update(emulator, order_id, {"locale": "en-SE"}).status_code == 504


def test_acknowledge_can_fail(emulator: KcoEmulator) -> None:
    order_id = created_id(emulator)
    emulator.complete(order_id)
    emulator.fail_next("acknowledge", status=503)
    acknowledge = f"{emulator.url}/ordermanagement/v1/orders/{order_id}/acknowledge"
    assert requests.post(acknowledge, auth=emulator.credentials, timeout=5).status_code == 503
    assert emulator.order_state(order_id)["acknowledged"] is False
    assert requests.post(acknowledge, auth=emulator.credentials, timeout=5).status_code == 204
