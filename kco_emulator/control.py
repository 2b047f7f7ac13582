"""The control API under /_emulator/: what tests, benchmarks and workshop panels use to steer the emulator.

No credentials: it only answers clients on this machine (loopback) that name it by a loopback host name
(localhost, 127.0.0.1, [::1]) or one set in KCO_EMULATOR_CONTROL_HOSTS, so a page that rebinds its own name to
127.0.0.1 cannot drive it, and it changes state only on a JSON request (`Content-Type: application/json`),
which a cross-site HTML form cannot send. Errors use the project's shape `{"error": {"code", "message"}}`.
Shopper actions here run exactly what the widget runs (emulator.shopper).
"""

from __future__ import annotations

import ipaddress
from importlib import resources
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, jsonify, request

from kco_emulator import callbacks, faults, shopper
from kco_emulator.api import completed_order, object_field, request_object, widget_base_url
from kco_emulator.orders import allowed_billing_countries, order_body
from kco_emulator.store import BEHAVIOUR_SETTINGS, EmulatorState, StoredOrder, behaviour_problem, iso8601

control = Blueprint("control", __name__, url_prefix="/_emulator")

TIMING_SETTINGS = {
    "validation_timeout_seconds": "validation_timeout",
    "strict_validation_timeout_seconds": "strict_validation_timeout",
    "callback_timeout_seconds": "callback_timeout",
}


def _state() -> EmulatorState:
    return current_app.config["KCO_STATE"]


def _error(status: int, code: str, message: str) -> tuple[Response, int]:
    return jsonify({"error": {"code": code, "message": message}}), status


def _from_loopback(address: str | None) -> bool:
    try:
        return ipaddress.ip_address(address or "").is_loopback
    except ValueError:
        return False


def _known_host(host: str) -> bool:
    """Whether the Host header names this machine: a loopback address, localhost, or a name set in
    KCO_EMULATOR_CONTROL_HOSTS (any port)."""
    name = urlsplit(f"//{host}").hostname or ""
    return name == "localhost" or _from_loopback(name) or name in _state().settings.control_hosts


@control.before_request
def local_json_only() -> tuple[Response, int] | None:
    """Only this machine may steer the emulator, and a page in the shopper's browser must not: a page whose
    own name resolves to 127.0.0.1 sends that name as Host, and a form posted from any site sends form data
    or text, never application/json, so both are refused before they act."""
    if not _from_loopback(request.remote_addr):
        return _error(403, "not_local", "The control API answers only clients on this machine")
    if not _known_host(request.host):
        return _error(403, "unknown_host", "The control API answers only localhost, 127.0.0.1, [::1] and the "
                                           "names in KCO_EMULATOR_CONTROL_HOSTS")
    if request.method not in ("GET", "HEAD", "OPTIONS") and request.mimetype != "application/json":
        return _error(415, "json_required",
                      "Send the control request as JSON (Content-Type: application/json)")
    return None


@control.get("/openapi.json")
def openapi() -> Response:
    """This API described for people and tools (OpenAPI 3.1): kco_emulator/openapi.json."""
    return Response(resources.files("kco_emulator").joinpath("openapi.json").read_bytes(),
                    mimetype="application/json")


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
        schedules = state.active_push_schedules + callbacks.pending_real_pushes(state)
        return jsonify({"orders": len(state.orders), "active_push_schedules": schedules,
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
    seconds = request_object().get("advance_seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
        return _error(400, "bad_clock", "advance_seconds must be a non-negative number")
    _state().clock.advance(seconds)
    # Pushes of the "real" schedule that fell due go out before the answer (kco-rules: push-and-acknowledge).
    delivered = callbacks.deliver_due_pushes(_state())
    return jsonify({"now": iso8601(_state().clock.now()), "pushes_delivered": delivered})


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
        **{name: getattr(current, name) for name in BEHAVIOUR_SETTINGS},
    })


@control.post("/settings")
def change_settings() -> tuple[Response, int] | Response:
    """Change timings until the next reset (e.g. a short validation timeout for a test)."""
    payload = request_object()
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
    for name in BEHAVIOUR_SETTINGS:
        if name in payload:
            if problem := behaviour_problem(name, payload[name]):
                return _error(400, "bad_setting", problem)
            setattr(current, name, payload[name])
    return settings()


@control.get("/orders/<order_id>")
def stored_order(order_id: str) -> tuple[Response, int] | Response:
    """The order as read would show it, plus what only the emulator knows."""
    state = _state()
    order = state.find(order_id)
    if order is None:
        return _error(404, "unknown_order", "No order with this id")
    return jsonify({
        "order": order_body(order, widget_base_url()),
        "state": {
            "expired": order.expired(state.clock.now()),
            "aborted": order.aborted,
            "acknowledged": order.acknowledged,
            "shopper_entered_address": order.shopper_entered_address,
            "last_activity": iso8601(order.last_activity),
            "push_attempts": list(order.push_attempts),
            "push_stopped": order.push_stop.is_set(),
            "push_due": [iso8601(moment) for moment in order.push_due],
            "fraud_status": order.fraud_status,
            "notifications": list(order.notifications),
            "lock_refusals": order.lock_refusals,
            "callbacks_running": order.callbacks_running,
            "cannot_complete": order.cannot_complete,
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
def complete(order_id: str) -> tuple[Response, int] | Response:
    """Finish the purchase as a shopper would: address, validation, completion, push. `fraud_status`
    "PENDING" completes it under fraud review (kco-rules: pending-orders)."""
    payload = request_object()
    fraud_status = payload.get("fraud_status", "ACCEPTED")
    if fraud_status not in ("ACCEPTED", "PENDING"):
        return _error(400, "bad_fraud_status", "fraud_status must be ACCEPTED or PENDING")
    order = _open_order(order_id)
    outcome = shopper.complete_purchase(_state(), order, widget_base_url(),
                                        billing_address=object_field(payload, "billing_address"),
                                        fraud_status=fraud_status,
                                        shipping_address=object_field(payload, "shipping_address"))
    return jsonify(outcome.as_json())


@control.post("/orders/<order_id>/fraud-decision")
def fraud_decision(order_id: str) -> tuple[Response, int] | Response:
    """End the fraud review of a completed order: Order Management's fraud_status changes and KCO POSTs
    `{order_id, event_type}` to merchant_urls.notification (kco-rules: pending-orders)."""
    event_type = request_object().get("event_type")
    if event_type not in callbacks.FRAUD_DECISIONS:
        return _error(400, "bad_event_type",
                      "event_type must be one of " + ", ".join(callbacks.FRAUD_DECISIONS))
    state = _state()
    order = completed_order(order_id)
    if order is None:
        return _error(404, "unknown_order", "No completed order with this id")
    with state.lock:
        # STOPPED ends an accepted order too (the review found a risk after all); the others end a review.
        allowed = ("PENDING", "ACCEPTED") if event_type == "FRAUD_RISK_STOPPED" else ("PENDING",)
        if order.fraud_status not in allowed:
            return _error(409, "not_under_review", f"The order's fraud_status is {order.fraud_status}")
        order.fraud_status = callbacks.FRAUD_DECISIONS[event_type]
    notification = callbacks.deliver_notification(state, order, event_type)
    return jsonify({"fraud_status": order.fraud_status, "notification": notification})


@control.post("/orders/<order_id>/lock")
def lock(order_id: str) -> tuple[Response, int] | Response:
    """Refuse the next `refusals` merchant updates of this order with callback_lock_status, as while a refine
    callback runs (kco-rules: callback-lock)."""
    refusals = request_object().get("refusals", 1)
    if isinstance(refusals, bool) or not isinstance(refusals, int) or refusals < 0:
        return _error(400, "bad_refusals", "refusals must be a non-negative integer")
    order = _open_order(order_id)
    with _state().lock:
        order.lock_refusals = refusals
    return jsonify({"refusals": refusals, "status": _state().settings.callback_lock_status})


@control.post("/orders/<order_id>/cannot-complete")
def cannot_complete(order_id: str) -> Response:
    """From now on the purchase cannot be completed: an open widget fires can_not_complete_order at once, and
    so does every purchase attempt, as when the shopper's payment is refused (kco-rules: widget-events)."""
    order = _open_order(order_id)
    with _state().lock:
        order.cannot_complete = True
    return jsonify({"cannot_complete": True})


@control.post("/orders/<order_id>/country")
def change_country(order_id: str) -> tuple[Response, int] | Response:
    """As if the shopper changed the billing country in the widget (runs country_change). The widget offers a
    choice only among two or more billing countries of the order, so any other call is refused (409)."""
    order = _open_order(order_id)
    country = str(request_object().get("country", "")).upper()
    offered = allowed_billing_countries(order.fields)
    if len(offered) < 2 or country not in offered:
        return _error(409, "country_not_offered",
                      f"The order offers the shopper {', '.join(offered)}: a country can be picked only "
                      "among two or more billing_countries (or shipping_countries) of the order")
    return jsonify(shopper.change_country(_state(), order, country).as_json())


@control.post("/orders/<order_id>/address")
def enter_address(order_id: str) -> tuple[Response, int] | Response:
    """As if the shopper entered this billing address, and `shipping_address` as a separate one (runs
    address_update or country_change)."""
    order = _open_order(order_id)
    payload = request_object()
    billing_address = payload.get("billing_address")
    shipping_address = payload.get("shipping_address")
    if not isinstance(billing_address, dict):
        return _error(400, "bad_address", "billing_address must be an object")
    if shipping_address is not None and not isinstance(shipping_address, dict):
        return _error(400, "bad_address", "shipping_address must be an object")
    return jsonify(shopper.enter_address(_state(), order, billing_address, shipping_address).as_json())


@control.post("/orders/<order_id>/shipping-option")
def choose_shipping_option(order_id: str) -> Response:
    """As if the shopper picked this shipping option (runs shipping_option_update)."""
    order = _open_order(order_id)
    option_id = str(request_object().get("id", ""))
    return jsonify(shopper.choose_shipping_option(_state(), order, option_id).as_json())


@control.post("/orders/<order_id>/checkbox")
def tick_checkbox(order_id: str) -> tuple[Response, int] | Response:
    """As if the shopper ticked (`checked` true) or cleared one of the merchant's checkboxes, by `key`: an id
    of options.additional_checkboxes, or "additional_checkbox" for options.additional_checkbox."""
    order = _open_order(order_id)
    payload = request_object()
    if not isinstance(payload.get("key"), str) or not isinstance(payload.get("checked"), bool):
        return _error(400, "bad_checkbox", "key must be a string and checked true or false")
    return jsonify(shopper.tick_checkbox(_state(), order, payload["key"], payload["checked"]).as_json())


@control.post("/orders/<order_id>/push")
def push_now(order_id: str) -> tuple[Response, int] | Response:
    """Deliver one push now, outside the retry schedule."""
    order = completed_order(order_id)
    if order is None:
        return _error(404, "unknown_order", "No completed order with this id")
    return jsonify({"attempt": callbacks.deliver_push(_state(), order)})
