"""The control API under /_emulator/: what tests, benchmarks and workshop panels use to steer the emulator.

No credentials: it only exists on a developer's machine. Errors use the project's shape
`{"error": {"code", "message"}}`. Shopper actions here run exactly what the widget runs (emulator.shopper).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from kco_emulator import callbacks, faults, shopper
from kco_emulator.orders import order_body
from kco_emulator.store import EmulatorState, StoredOrder, iso8601

control = Blueprint("control", __name__, url_prefix="/_emulator")

TIMING_SETTINGS = {
    "validation_timeout_seconds": "validation_timeout",
    "strict_validation_timeout_seconds": "strict_validation_timeout",
    "callback_timeout_seconds": "callback_timeout",
}


def _state() -> EmulatorState:
    return current_app.config["KCO_STATE"]


def _base_url() -> str:
    return current_app.config["KCO_WIDGET_BASE_URL"] or request.host_url.rstrip("/")


def _error(status: int, code: str, message: str) -> tuple[Response, int]:
    return jsonify({"error": {"code": code, "message": message}}), status


def _payload() -> dict[str, Any]:
    payload = request.get_json(silent=True)
    return payload if isinstance(payload, dict) else {}


@control.post("/reset")
def reset() -> Response:
    """Forget orders, faults, the request log, the clock offset and changed settings; stop push threads."""
    _state().reset()
    return jsonify({"reset": True})


@control.get("/status")
def status() -> Response:
    """How many orders are held and how many push schedules are still running (they end on
    acknowledge, on reset, or when the schedule is used up)."""
    state = _state()
    with state.lock:
        return jsonify({"orders": len(state.orders), "active_push_schedules": state.active_push_schedules,
                        "now": iso8601(state.clock.now())})


@control.get("/requests")
def requests_served() -> Response:
    with _state().lock:
        return jsonify({"requests": list(_state().requests)})


@control.get("/clock")
def clock() -> Response:
    return jsonify({"now": iso8601(_state().clock.now())})


@control.post("/clock")
def advance_clock() -> tuple[Response, int] | Response:
    seconds = _payload().get("advance_seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
        return _error(400, "bad_clock", "advance_seconds must be a non-negative number")
    _state().clock.advance(seconds)
    return jsonify({"now": iso8601(_state().clock.now())})


@control.get("/faults")
def armed_faults() -> Response:
    with _state().lock:
        return jsonify({"faults": [fault.describe() for fault in _state().faults]})


@control.post("/faults")
def arm_fault() -> tuple[Response, int]:
    try:
        fault = faults.Fault.from_request(request.get_json(silent=True))
    except faults.FaultSpecError as error:
        return _error(400, "bad_fault", str(error))
    faults.arm(_state(), fault)
    return jsonify({"fault": fault.describe()}), 201


@control.get("/settings")
def settings() -> Response:
    current = _state().settings
    return jsonify({
        **{name: getattr(current, attribute) for name, attribute in TIMING_SETTINGS.items()},
        "push_retry_seconds": list(current.push_retry_seconds),
    })


@control.post("/settings")
def change_settings() -> tuple[Response, int] | Response:
    """Change timings until the next reset (e.g. a short validation timeout for a test)."""
    payload = _payload()
    current = _state().settings
    for name, attribute in TIMING_SETTINGS.items():
        if name in payload:
            value = payload[name]
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                return _error(400, "bad_setting", f"{name} must be a positive number")
            setattr(current, attribute, float(value))
    if "push_retry_seconds" in payload:
        delays = payload["push_retry_seconds"]
        if not isinstance(delays, list) or not all(
            isinstance(delay, int | float) and not isinstance(delay, bool) and delay >= 0 for delay in delays
        ):
            return _error(400, "bad_setting", "push_retry_seconds must be a list of non-negative numbers")
        current.push_retry_seconds = tuple(float(delay) for delay in delays)
    return settings()


@control.get("/orders/<order_id>")
def stored_order(order_id: str) -> tuple[Response, int] | Response:
    """The order as read would show it, plus what only the emulator knows."""
    state = _state()
    order = state.find(order_id)
    if order is None:
        return _error(404, "unknown_order", "No order with this id")
    return jsonify({
        "order": order_body(order, _base_url()),
        "state": {
            "expired": order.expired(state.clock.now()),
            "aborted": order.aborted,
            "acknowledged": order.acknowledged,
            "shopper_entered_address": order.shopper_entered_address,
            "last_activity": iso8601(order.last_activity),
            "push_attempts": list(order.push_attempts),
            "push_stopped": order.push_stop.is_set(),
        },
    })


class UnknownOrder(LookupError):
    """No order with this id (404)."""


@control.errorhandler(UnknownOrder)
def unknown_order(_: UnknownOrder) -> tuple[Response, int]:
    return _error(404, "unknown_order", "No order with this id")


@control.errorhandler(shopper.ShopperError)
def order_not_open(error: shopper.ShopperError) -> tuple[Response, int]:
    return _error(409, "order_not_open", str(error))


def _open_order(order_id: str) -> StoredOrder:
    """The order a shopper could still act on, else UnknownOrder / ShopperError."""
    order = _state().find(order_id)
    if order is None:
        raise UnknownOrder(order_id)
    return shopper.usable_order(_state(), order)


@control.post("/orders/<order_id>/complete")
def complete(order_id: str) -> Response:
    """Finish the purchase as a shopper would: address, validation, completion, push."""
    order = _open_order(order_id)
    billing_address = _payload().get("billing_address")
    outcome = shopper.complete_purchase(_state(), order, _base_url(),
                                        billing_address if isinstance(billing_address, dict) else None)
    return jsonify(outcome.as_json())


@control.post("/orders/<order_id>/country")
def change_country(order_id: str) -> Response:
    """As if the shopper changed the billing country in the widget (runs country_change)."""
    order = _open_order(order_id)
    return jsonify(shopper.change_country(_state(), order, str(_payload().get("country", ""))).as_json())


@control.post("/orders/<order_id>/address")
def enter_address(order_id: str) -> tuple[Response, int] | Response:
    """As if the shopper entered this billing address (runs address_update or country_change)."""
    order = _open_order(order_id)
    billing_address = _payload().get("billing_address")
    if not isinstance(billing_address, dict):
        return _error(400, "bad_address", "billing_address must be an object")
    return jsonify(shopper.enter_address(_state(), order, billing_address).as_json())


@control.post("/orders/<order_id>/shipping-option")
def choose_shipping_option(order_id: str) -> Response:
    """As if the shopper picked this shipping option (runs shipping_option_update)."""
    order = _open_order(order_id)
    return jsonify(shopper.choose_shipping_option(_state(), order, str(_payload().get("id", ""))).as_json())


@control.post("/orders/<order_id>/push")
def push_now(order_id: str) -> tuple[Response, int] | Response:
    """Deliver one push now, outside the retry schedule."""
    state = _state()
    order = state.find(order_id)
    if order is None or not order.completed:
        return _error(404, "unknown_order", "No completed order with this id")
    return jsonify({"attempt": callbacks.deliver_push(state, order)})
