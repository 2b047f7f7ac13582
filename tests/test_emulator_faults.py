"""Injected faults (`/_emulator/faults`): status and body, delay, count, operation matching, disconnect."""

from __future__ import annotations

import pytest
import requests

from harness.emulator_control import EmulatorControl
from harness.emulator_samples import created_id, read, sample_order, update


def test_a_fault_replaces_the_next_matching_call_only(emulator: EmulatorControl) -> None:
    order_id = created_id(emulator)
    emulator.fault("update", status=503)
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
    assert [(entry["operation"], entry["status"]) for entry in emulator.requests()] == [
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
    emulator: EmulatorControl, body: str, content_type: str | None, content: bytes
) -> None:
    emulator.fault("create", status=502, body=body)
    response = emulator.api.post(f"{emulator.base_url}/checkout/v3/orders", json=sample_order(), timeout=5)
    assert response.status_code == 502
    assert response.content.startswith(content)
    if content_type:
        assert response.headers["Content-Type"].startswith(content_type)


def test_times_and_any_operation(emulator: EmulatorControl) -> None:
    order_id = created_id(emulator)
    emulator.fault("any", status=500, times=2)
    assert read(emulator, order_id).status_code == 500
    assert update(emulator, order_id, {"locale": "en-SE"}).status_code == 500
    assert read(emulator, order_id).status_code == 200
    assert emulator.http.get(f"{emulator.base_url}/_emulator/faults", timeout=5).json() == {"faults": []}


def test_a_fault_comes_before_authentication(emulator: EmulatorControl) -> None:
    emulator.fault("create", status=503)
    response = requests.post(f"{emulator.base_url}/checkout/v3/orders", json=sample_order(), timeout=5)
    assert response.status_code == 503


def test_disconnect_closes_the_connection_without_an_answer(emulator: EmulatorControl) -> None:
    order_id = created_id(emulator)
    emulator.fault("read", mode="disconnect")
    with pytest.raises(requests.ConnectionError):
        read(emulator, order_id)
    assert read(emulator, order_id).status_code == 200
    assert [entry["status"] for entry in emulator.api_calls(kind="read")] == [None, 200]


def test_a_delayed_fault_without_status_answers_normally_after_the_delay(emulator: EmulatorControl) -> None:
    order_id = created_id(emulator)
    emulator.fault("read", delay_ms=400)
    with pytest.raises(requests.Timeout):
        emulator.api.get(f"{emulator.base_url}/checkout/v3/orders/{order_id}", timeout=0.1)
    emulator.fault("read", delay_ms=50)
    assert read(emulator, order_id).status_code == 200


def test_a_delayed_fault_with_status_answers_that_status(emulator: EmulatorControl) -> None:
    order_id = created_id(emulator)
    emulator.fault("update", status=504, delay_ms=50)
    assert update(emulator, order_id, {"locale": "en-SE"}).status_code == 504


def test_acknowledge_can_fail(emulator: EmulatorControl) -> None:
    order_id = created_id(emulator)
    emulator.complete(order_id)
    emulator.fault("acknowledge", status=503)
    acknowledge = f"{emulator.base_url}/ordermanagement/v1/orders/{order_id}/acknowledge"
    assert emulator.api.post(acknowledge, timeout=5).status_code == 503
    assert emulator.stored(order_id)["state"]["acknowledged"] is False
    assert emulator.api.post(acknowledge, timeout=5).status_code == 204
