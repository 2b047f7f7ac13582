"""The REST API a merchant's server calls: Checkout v3 and the Order Management subset
(checkout-v3-openapi.yml, order-management-v1-openapi.yml; kco-rules: status-codes).

Every request here is written to the request log (`/_emulator/requests`) with its operation name, may
be hit by an injected fault (emulator.faults), and must carry merchant credentials (kco-rules: basic-auth).
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from http import HTTPStatus
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request

from kco_emulator import faults
from kco_emulator.orders import (
    merged_update,
    om_body,
    order_body,
    recharge_shipping,
    with_selected_shipping_option,
    writable_fields,
)
from kco_emulator.store import EmulatorState, StoredOrder, iso8601
from kco_emulator.validation import BadValue, check_order, check_read_only_fields

api = Blueprint("api", __name__)

OPERATIONS = {
    "api.create_order": "create",
    "api.read_order": "read",
    "api.update_order": "update",
    "api.abort_order": "abort",
    "api.read_om_order": "om_read",
    "api.acknowledge_order": "acknowledge",
}
# Kustom playground keys; live keys only work against production (kco-rules: basic-auth). The random part of
# Kustom's documented example key is base64 text, so +, / and = belong to it as well as - and _.
TEST_API_KEY = re.compile(r"^kco_test_api_[A-Za-z0-9+/=_-]+$")


class OrderGone(Exception):
    """Unknown, expired or aborted checkout order: 404 with an empty body.

    See kco-rules: error-body, expiry-48h.
    """


def state() -> EmulatorState:
    return current_app.config["KCO_STATE"]


def widget_base_url() -> str:
    """Where browsers reach the emulator: KCO_EMULATOR_PUBLIC_URL, else the host the merchant called."""
    return current_app.config["KCO_WIDGET_BASE_URL"] or request.host_url.rstrip("/")


def kco_error(status: int, error_code: str, message: str) -> tuple[Response, int]:
    """KCO's error body: error_code, error_messages, correlation_id (kco-rules: error-body)."""
    body = {"error_code": error_code, "error_messages": [message], "correlation_id": g.correlation_id}
    return jsonify(body), status


def authorized(header: str) -> bool:
    """Basic auth with the emulator's username/password, or a Kustom test API key (kco-rules: basic-auth)."""
    scheme, _, credentials = header.partition(" ")
    credentials = credentials.strip()
    if scheme.lower() != "basic" or not credentials:
        return False
    if TEST_API_KEY.match(credentials):
        # `Authorization: Basic <API key>`, the key as issued (the first form of kco-rules: basic-auth).
        return True
    try:
        decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    username, separator, password = decoded.partition(":")
    if not separator:
        return False
    settings = state().settings
    if (secrets.compare_digest(username, settings.username)
            and secrets.compare_digest(password, settings.password)):
        return True
    # The second form of kco-rules: basic-auth: `<MID>-<suffix>` with the key as password; the emulator knows
    # no MIDs, any name goes.
    return TEST_API_KEY.match(password) is not None


@api.before_request
def guard() -> Response | tuple[Response, int] | None:
    """Faults first (they stand for the network or an edge in front of KCO), then credentials."""
    g.operation = OPERATIONS.get(request.endpoint or "")
    fault = faults.take(state(), g.operation) if g.operation else None
    if fault is not None:
        faults.wait(fault)
        if fault.mode == "disconnect":
            g.disconnected = True
            faults.drop_connection()
            return Response(b"", status=503)
        if fault.status is not None:
            return faults.fault_response(fault, g.correlation_id)
    if not authorized(request.headers.get("Authorization", "")):
        # The body of a real 401 is not confirmed (kco-rules: error-codes); the emulator answers in KCO's
        # error shape.
        return kco_error(401, "UNAUTHORIZED", "Unauthorized")
    return None


@api.after_request
def log_request(response: Response) -> Response:
    if g.get("operation"):
        state().log_request({
            "method": request.method,
            "path": request.path,
            "status": None if g.get("disconnected") else response.status_code,
            "order_id": (request.view_args or {}).get("order_id") or g.get("created_order_id"),
            "at": iso8601(state().clock.now()),
            "operation": g.operation,
            # The client's TCP connection (address:port): calls that share one reused a kept-alive connection.
            "connection": f"{request.remote_addr}:{request.environ.get('REMOTE_PORT', '')}",
        })
    return response


@api.errorhandler(BadValue)
def bad_value(error: BadValue) -> tuple[Response, int]:
    return kco_error(400, "BAD_VALUE", str(error))


@api.errorhandler(OrderGone)
def order_gone(_: OrderGone) -> Response:
    # An empty body, as observed for unknown ids (kco-rules: error-body); expired orders alike
    # (kco-rules: expiry-48h). Typed as the JSON API's answers are, never as an HTML page.
    return Response(b"", status=404, mimetype="application/json")


def json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadValue("body", "must be a JSON object")
    return body


def open_checkout(order_id: str) -> StoredOrder:
    """The order the Checkout API still answers for; an aborted one only under `aborted_orders` "read_only"
    (kco-rules: aborted-orders)."""
    order = state().find(order_id)
    if order is None or order.expired(state().clock.now()):
        raise OrderGone()
    if order.aborted and state().settings.aborted_orders != "read_only":
        raise OrderGone()
    return order


def request_object() -> dict[str, Any]:
    """The request's JSON body when it is an object, else an empty one."""
    payload = request.get_json(silent=True)
    return payload if isinstance(payload, dict) else {}


def object_field(payload: dict[str, Any], key: str) -> dict[str, Any] | None:
    """`payload[key]` when it is an object, else None."""
    value = payload.get(key)
    return value if isinstance(value, dict) else None


def read_only(order: StoredOrder) -> tuple[Response, int] | None:
    if order.completed or order.aborted:
        # Updates are only allowed while checkout_incomplete (kco-rules: status-codes); an aborted order that
        # still reads refuses them the same way (kco-rules: aborted-orders, inferred).
        return read_only_error()
    return None


def read_only_error() -> tuple[Response, int]:
    return kco_error(403, "READ_ONLY_ORDER", "Resource is read-only")


def locked(order: StoredOrder) -> tuple[Response, int] | None:
    """The refusal of a merchant update while a refine callback of this order runs, or while a refusal armed
    by /_emulator/orders/{id}/lock is left (kco-rules: callback-lock). The caller holds the state lock.

    Its status is the callback_lock_status setting. A 403 is played as the one 403 an update is documented to
    get, READ_ONLY_ORDER (kco-rules: status-codes): the merchant cannot tell it from a completed order by the
    answer alone. Any other status carries its name as error_code.
    """
    status = state().settings.callback_lock_status
    if not status or not (order.callbacks_running or order.lock_refusals):
        return None
    if order.lock_refusals:
        order.lock_refusals -= 1
    if status == 403:
        return read_only_error()
    try:
        code = HTTPStatus(status).name
    except ValueError:
        code = "ERROR"
    return kco_error(status, code, "The order is locked while a callback to the merchant runs")


@api.post("/checkout/v3/orders")
def create_order() -> tuple[Response, int]:
    """Create a checkout order: 201 with Location and the full order.

    See kco-rules: status-codes, order-fields.
    """
    body = json_body()
    check_read_only_fields(body)
    fields = with_selected_shipping_option(writable_fields(body))
    check_order(fields)
    order = state().new_order(fields)
    g.created_order_id = order.order_id
    response = jsonify(order_body(order, widget_base_url()))
    response.headers["Location"] = f"{request.host_url.rstrip('/')}/checkout/v3/orders/{order.order_id}"
    return response, 201


@api.get("/checkout/v3/orders/<order_id>")
def read_order(order_id: str) -> Response:
    """Read: after completion the html_snippet is the confirmation (kco-rules: order-status). Reading does not
    extend the 48 h window, only updates and shopper interaction do (kco-rules: expiry-48h)."""
    return jsonify(order_body(open_checkout(order_id), widget_base_url()))


@api.post("/checkout/v3/orders/<order_id>")
def update_order(order_id: str) -> tuple[Response, int] | Response:
    """Update is a partial merge (POST), validated as a whole like a create.

    See kco-rules: update-ongoing-order, update-nested-objects.
    """
    if refused := read_only(open_checkout(order_id)):
        return refused
    changes = json_body()
    check_read_only_fields(changes)
    # Read, merge, validate and commit in one step under the lock (no I/O in it): two updates of one order
    # that merged outside it would both start from the same fields, and the later commit would drop the
    # earlier one's changes. The order may also have been completed or aborted while the body was read.
    with state().lock:
        order = open_checkout(order_id)
        if refused := read_only(order) or locked(order):
            return refused
        fields = merged_update(order, changes, state().settings.update_merge)
        shipping_line = recharge_shipping(fields, order.automatic_shipping_line)
        # A purchase_country the merchant sends decides the market again (kco-rules:
        # country-change-purchase-country).
        market_country = None if "purchase_country" in changes else order.widget_country
        check_order(fields, market_country=market_country)
        order.fields = fields
        order.automatic_shipping_line = shipping_line
        if "purchase_country" in changes:
            order.widget_country = None
        state().touch(order)
        body = order_body(order, widget_base_url())
    return jsonify(body)


@api.post("/checkout/v3/orders/<order_id>/abort")
def abort_order(order_id: str) -> tuple[Response, int] | Response:
    """Abort an open order. What follows is not documented (kco-rules: aborted-orders, inferred): by
    default the order then answers like an expired one (404, empty body); `aborted_orders` "read_only" keeps
    it readable."""
    with state().lock:  # not completed between the check and the abort
        order = open_checkout(order_id)
        if refused := read_only(order):
            return refused
        order.aborted = True
        state().touch(order)
    return jsonify(order_body(order, widget_base_url(), with_snippet=False))


def completed_order(order_id: str) -> StoredOrder | None:
    # Order Management knows an order only once the purchase is complete (kco-rules: order-management).
    order = state().find(order_id)
    return order if order is not None and order.completed else None


@api.get("/ordermanagement/v1/orders/<order_id>")
def read_om_order(order_id: str) -> tuple[Response, int] | Response:
    order = completed_order(order_id)
    if order is None:
        return kco_error(404, "NO_SUCH_ORDER", "No such order")  # order-management-v1-openapi.yml getOrder
    return jsonify(om_body(order))


@api.post("/ordermanagement/v1/orders/<order_id>/acknowledge")
def acknowledge_order(order_id: str) -> tuple[Response, int] | Response:
    """204; stops the push retries (kco-rules: push-and-acknowledge). Klarna-Idempotency-Key is accepted and
    not needed: acknowledging twice is harmless here."""
    order = completed_order(order_id)
    if order is None:
        return kco_error(404, "NO_SUCH_ORDER", "No such order")
    with state().lock:
        order.acknowledged = True
        order.push_stop.set()
    return Response(b"", status=204)

