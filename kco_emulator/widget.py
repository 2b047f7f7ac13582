"""The checkout widget's endpoints: the bootstrap script, the iframe and what the iframe calls
(kco-rules: html-snippet, suspend-resume, widget-events).

The snippet (emulator.snippet) loads static/bootstrap.js into the merchant's page; it drains the
`_klarnaCheckout` queue and renders an <iframe> served from here (static/checkout.html and checkout.js).
The iframe talks to these endpoints with the order's widget token (`Authorization: KlarnaCheckout
<token>`, the AUTH_HEADER of the snippet's config), never with merchant credentials.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from kco_emulator import shopper
from kco_emulator.api import object_field, request_object, widget_base_url
from kco_emulator.markets import alpha3, display_language, market_for
from kco_emulator.orders import address, allowed_billing_countries, merchant_checkboxes
from kco_emulator.shipping import lines_paid
from kco_emulator.store import EmulatorState, Settings, StoredOrder
from kco_emulator.widget_text import widget_text

STATIC = Path(__file__).parent / "static"
widget = Blueprint("widget", __name__, url_prefix="/widget")
LINE_KEYS = ("reference", "name", "quantity", "unit_price", "total_amount", "type")


def widget_state(order: StoredOrder, settings: Settings) -> dict[str, Any]:
    """Everything the iframe renders; the order as the shopper may see it, the settings that shape what the
    widget fires, and its words in the order's language. `order_total` is what the shopper pays:
    `order_amount`, plus the shipping KCO charges on top under automatic_shipping_cost "separate"
    (kco-rules: automatic-shipping-cost)."""
    fields = order.fields
    paid, order_total = lines_paid(order, settings.automatic_shipping_cost)
    lines = [{key: line.get(key) for key in LINE_KEYS} for line in paid]
    billing = address(fields, "billing_address")
    shipping = address(fields, "shipping_address")
    options = fields.get("options") or {}
    countries = []
    for country in allowed_billing_countries(fields):
        market = market_for(country)
        countries.append({"country": country, "alpha3": alpha3(country),
                          "name": market.name if market else country})
    return {
        "order_id": order.order_id,
        "status": order.status,
        "locale": fields["locale"],
        "language": display_language(fields["locale"]),
        "text": widget_text(fields["locale"]),  # the widget's words; country names: checkout.js
        "purchase_country": fields["purchase_country"].upper(),
        "purchase_currency": fields["purchase_currency"].upper(),
        "order_amount": fields["order_amount"],
        "order_tax_amount": fields["order_tax_amount"],
        "order_total": order_total,
        "order_lines": lines,
        "countries": countries,
        "billing_address": {**billing, "country": str(billing.get("country", "")).upper()},
        "alpha3": {item["country"]: item["alpha3"] for item in countries}
        | {str(billing.get("country", "")).upper(): alpha3(str(billing.get("country", "")))},
        "customer_type": (fields.get("customer") or {}).get("type", "person"),
        "shopper_entered_address": order.shopper_entered_address,
        # A separate shipping address only when the merchant allows one (checkout-v3-openapi.yml
        # options.allow_separate_shipping_address).
        "allow_separate_shipping_address": bool(options.get("allow_separate_shipping_address")),
        "shipping_address": {**shipping, "country": str(shipping.get("country", "")).upper()},
        "separate_shipping_address": order.shopper_entered_address and shipping != billing,
        "shipping_address_change": settings.shipping_address_change,
        "checkboxes": merchant_checkboxes(fields, order.checkboxes_ticked),
        # The page answers validation_callback before the purchase goes on (kco-rules: client-validation).
        "require_client_validation": bool(options.get("require_client_validation")),
        # Whether api.on adds a listener or replaces the earlier one (kco-rules: widget-event-listeners).
        "event_listeners": settings.event_listeners,
        "shipping_options": fields.get("shipping_options", []),
        "selected_shipping_option": fields.get("selected_shipping_option"),
        "terms_url": (fields.get("merchant_urls") or {}).get("terms"),
    }


def _state() -> EmulatorState:
    return current_app.config["KCO_STATE"]


def _order_for_widget(order_id: str) -> StoredOrder | None:
    """The order when the request carries its widget token (`Authorization: KlarnaCheckout <token>`)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme != "KlarnaCheckout" or not token:
        return None
    return _state().find_by_token(order_id, token)


def _not_available(message: str, status: int = 404) -> tuple[Response, int]:
    return jsonify({"error": {"code": "order_not_available", "message": message}}), status


def _static(name: str, mimetype: str) -> Response:
    response = Response((STATIC / name).read_text(encoding="utf-8"), mimetype=mimetype)
    response.headers["Cache-Control"] = "no-cache"
    return response


@widget.get("/bootstrap.js")
def bootstrap_script() -> Response:
    """Loaded by the snippet into the merchant's page (BOOTSTRAP_SRC)."""
    return _static("bootstrap.js", "text/javascript")


@widget.get("/checkout.js")
def checkout_script() -> Response:
    """Runs inside the iframe."""
    return _static("checkout.js", "text/javascript")


@widget.get("/checkout.css")
def checkout_styles() -> Response:
    return _static("checkout.css", "text/css")


@widget.get("/orders/<order_id>")
def checkout_frame(order_id: str) -> Response:
    """The iframe document; its script reads the token and the parent origin from the query string."""
    return _static("checkout.html", "text/html")


@widget.get("/orders/<order_id>/state")
def frame_state(order_id: str) -> tuple[Response, int] | Response:
    order = _order_for_widget(order_id)
    state = _state()
    if order is None or order.aborted or order.expired(state.clock.now()):
        return _not_available("This checkout has expired. Please reload the page.")
    return jsonify(widget_state(order, state.settings))


@widget.get("/orders/<order_id>/signals")
def frame_signals(order_id: str) -> tuple[Response, int] | Response:
    """What the open iframe polls for: news that reaches the shopper without an action of theirs (the control
    API's cannot-complete, kco-rules: widget-events)."""
    order = _order_for_widget(order_id)
    if order is None:
        return _not_available("This checkout is no longer available.")
    return jsonify({"cannot_complete": order.cannot_complete})


@widget.post("/orders/<order_id>/interaction")
def frame_interaction(order_id: str) -> tuple[Response, int] | Response:
    """The shopper's first click or key press: it keeps the order alive (kco-rules: expiry-48h)."""
    order = _order_for_widget(order_id)
    if order is not None and order.completed:
        # A completed order never expires. The first click may be the one on "Buy", whose purchase can
        # complete before this ping arrives: nothing to keep alive, and nothing wrong.
        return jsonify({"ok": True})
    try:
        order = shopper.usable_order(_state(), order)
    except shopper.ShopperError as error:
        return _not_available(str(error))
    _state().touch(order, modified=False)
    return jsonify({"ok": True})


def _shopper_action(order_id: str, action: str) -> tuple[Response, int] | Response:
    state = _state()
    try:
        order = shopper.usable_order(state, _order_for_widget(order_id))
    except shopper.ShopperError as error:
        return _not_available(str(error))
    payload = request_object()
    billing_address = object_field(payload, "billing_address")
    shipping_address = object_field(payload, "shipping_address")
    if action == "country":
        outcome = shopper.change_country(state, order, str(payload.get("country", "")))
    elif action == "address":
        outcome = shopper.enter_address(state, order, billing_address or {}, shipping_address)
    elif action == "shipping_option":
        outcome = shopper.choose_shipping_option(state, order, str(payload.get("id", "")))
    elif action == "checkbox":
        checked = payload.get("checked") is True
        outcome = shopper.tick_checkbox(state, order, str(payload.get("key", "")), checked)
    else:
        outcome = shopper.complete_purchase(state, order, widget_base_url(), billing_address,
                                            shipping_address=shipping_address)
    return jsonify({"outcome": outcome.as_json(),
                    "order": widget_state(order, state.settings)})


@widget.post("/orders/<order_id>/country")
def frame_country(order_id: str) -> tuple[Response, int] | Response:
    return _shopper_action(order_id, "country")


@widget.post("/orders/<order_id>/address")
def frame_address(order_id: str) -> tuple[Response, int] | Response:
    return _shopper_action(order_id, "address")


@widget.post("/orders/<order_id>/shipping-option")
def frame_shipping_option(order_id: str) -> tuple[Response, int] | Response:
    return _shopper_action(order_id, "shipping_option")


@widget.post("/orders/<order_id>/checkbox")
def frame_checkbox(order_id: str) -> tuple[Response, int] | Response:
    return _shopper_action(order_id, "checkbox")


@widget.post("/orders/<order_id>/complete")
def frame_complete(order_id: str) -> tuple[Response, int] | Response:
    return _shopper_action(order_id, "complete")
