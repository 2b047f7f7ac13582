"""Workshop mode: the KCO inspector on the checkout page, and buttons that make the local emulator misbehave.

What it records, per shopper checkout: every KCO call the shop made for it (method, path, status, duration,
correlation id, its own start) with the order fields a create or update changed, and the callbacks KCO made
for its order. `GET /api/inspector` answers with the last `call_log.MAX_ENTRIES`; the panel
(static/js/workshop/kco-inspector.js) shows them next to the widget's events. Never recorded: headers,
credentials, request bodies, addresses. Where the log is kept: workshop/call_log.py.

On only with KCO_INSPECTOR=1, which `make run` sets for the emulator it starts
(`shop.settings.inspector_enabled`); never guessed from a local KCO address. The emulator buttons
(`POST /api/inspector/emulator/<action>`, workshop/emulator_buttons.py) exist only with a local emulator.
A callback is recorded only once its URL token has passed (`callbacks.verified_checkout`): a forged one is
neither parsed nor kept.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from flask import Blueprint, Flask, Response, g, has_request_context, jsonify, request, session

from kco.checkout import Action, Outcome, order_content
from kco.client import ClientConfig, KCOCall
from kco.markets import MARKETS
from shop.callbacks import verified_checkout
from shop.cart import Checkout
from shop.checkout_flow import CheckoutFlow
from shop.errors import CALLBACK_PATH, ShopError
from shop.settings import Settings
from workshop.call_log import CallLog, Content, call_log_for
from workshop.emulator_buttons import EmulatorButtons

log = logging.getLogger("workshop.inspector")

WRITE_OPERATIONS = ("create", "update")
# Callbacks whose answer changes the order in KCO (kco-rules: refine-callbacks): compared like an update.
REFINING_CALLBACKS = ("address_update", "country_change", "shipping_option_update")
# Line fields a reader cares about; the totals follow from them and are named, not spelled out.
LINE_DETAIL_FIELDS = ("quantity", "unit_price", "tax_rate", "name")


# --- What changed -----------------------------------------------------------------------------------------

def content_changes(before: Content | None, after: Content) -> list[dict[str, Any]]:
    """The order fields that differ between two `kco.checkout.order_content` values, in KCO's names.

    Each change is `{"field", "before", "after"}` for a plain field, or `{"field": "order_lines", "lines":
    [...]}` naming each line added, removed or changed (by `reference`). With no `before` (a first order),
    every field counts as new.
    """
    changes: list[dict[str, Any]] = []
    for field in ("purchase_country", "purchase_currency", "locale", "order_amount", "order_tax_amount"):
        old = before.get(field) if before else None
        if old != after.get(field):
            changes.append({"field": field, "before": old, "after": after.get(field)})
    old_lines = before.get("order_lines", []) if before else []
    line_changes = _line_changes(old_lines, after.get("order_lines", []))
    if line_changes:
        changes.insert(0, {"field": "order_lines", "lines": line_changes})
    return changes


def _line_changes(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[str]:
    old = {line.get("reference"): line for line in before}
    new = {line.get("reference"): line for line in after}
    described: list[str] = []
    for reference, line in new.items():
        if reference not in old:
            described.append(f"+ {reference} × {line.get('quantity')}")
            continue
        differing = [name for name in line if line.get(name) != old[reference].get(name)]
        details = [f"{name} {old[reference].get(name)} → {line.get(name)}"
                   for name in LINE_DETAIL_FIELDS if name in differing]
        totals = [name for name in differing if name not in LINE_DETAIL_FIELDS]
        if details or totals:
            described.append(f"{reference}: {', '.join(details + totals)}")
    described.extend(f"− {reference}" for reference in old if reference not in new)
    return described


# --- Recording, after each request -----------------------------------------------------------------------

def call_entries(calls: list[KCOCall], trigger: str,
                 changes_for: Callable[[KCOCall], dict[str, Any]]) -> list[dict[str, Any]]:
    """One log entry per KCO call, stamped (`at`, epoch milliseconds) with the call's own start, so a wait
    between two calls, such as a retry's, shows in the timeline."""
    entries = []
    for call in calls:
        entries.append({
            "kind": "kco", "at": round(call.started_at * 1000), "trigger": trigger,
            "operation": call.operation, "method": call.method, "path": call.path, "status": call.status,
            "duration_ms": call.duration_ms, "correlation_id": call.correlation_id, "order_id": call.order_id,
            "error": call.error, **changes_for(call),
        })
    return entries


class Recorder:
    """Turns a finished request's KCO calls (shop/server_timing.py keeps them in `g.kco_calls`) into log
    entries."""

    def __init__(self, call_log: CallLog, flow: CheckoutFlow) -> None:
        self.call_log = call_log
        self.flow = flow

    @staticmethod
    def note_sync(checkout: Checkout, desired: Mapping[str, Any] | None, outcome: Outcome) -> None:
        """`CheckoutFlow.on_sync`: keeps the checkout, the order body this request built for KCO and what
        kco.checkout did with it, so recording it after the request needs no second load and pricing."""
        if has_request_context():
            g.inspector_checkout = checkout
            g.inspector_desired = desired
            g.inspector_outcome = outcome

    def finished(self, response: Response) -> None:
        """After each request: records its KCO calls for the shopper's checkout, or the callback KCO made and
        the KCO calls made while answering it."""
        calls: list[KCOCall] = list(g.get("kco_calls", []))
        if request.path.startswith(CALLBACK_PATH):
            self._callback_finished(response, calls)
        elif calls and "inspector_checkout" in g:
            self.shopper_request(g.inspector_checkout, calls, f"{request.method} {request.path}",
                                 g.get("inspector_desired"), g.get("inspector_outcome"))

    def _callback_finished(self, response: Response, calls: list[KCOCall]) -> None:
        try:
            checkout = verified_checkout(self.flow.records, self.flow.secret_key, request.args)
        except ShopError:
            return  # not from KCO (a bad token): never parsed, never recorded
        if checkout is None:
            return  # a replaced order's: its checkout's log moved on with it
        started_ms = g.get("inspector_started_ms", time.time() * 1000)
        self.callback_request(
            checkout.id, request.path.rsplit("/", 1)[-1], request.args.get("order_id"), response.status_code,
            time.time() * 1000 - started_ms, calls, started_ms, request.get_json(silent=True),
            response.get_json(silent=True))

    def shopper_request(self, checkout: Checkout, calls: list[KCOCall], trigger: str,
                        desired: Mapping[str, Any] | None, outcome: Outcome | None = None) -> None:
        """`desired`: the order body the request's create/update sent, or that its read found KCO holding
        (`outcome` UNCHANGED); both from `note_sync`."""
        key = checkout.id
        writes = [call for call in calls if call.operation in WRITE_OPERATIONS]
        sent = order_content(desired) if writes and desired is not None else None
        order_id = checkout.order_id
        succeeded = [call for call in writes if call.status in (200, 201)]
        previous = self.call_log.content(key) if sent is not None else None

        def changes_for(call: KCOCall) -> dict[str, Any]:
            if call.operation not in WRITE_OPERATIONS or sent is None:
                return {}
            before = previous["content"] if previous else None
            extra: dict[str, Any] = {"changes": content_changes(before, sent)}
            if call.operation == "create" and call.status == 201:
                extra["order_id"] = order_id
                if previous and previous.get("order_id") and previous["order_id"] != order_id:
                    extra["replaces"] = previous["order_id"]
            return extra

        recorded = {"order_id": order_id, "content": sent} if sent is not None and succeeded else None
        if outcome is not None and outcome.action is Action.UNCHANGED and desired is not None:
            # A read found KCO holding the cart (a reload, also one after a timed-out update that KCO applied
            # after all): the next change is described against that.
            recorded = {"order_id": order_id, "content": order_content(desired)}
        self.call_log.record(key, call_entries(calls, trigger, changes_for), recorded)

    def callback_request(self, key: str, name: str, order_id: str | None, status: int, duration_ms: float,
                         calls: list[KCOCall], started_ms: float, kco_order: Any, answer: Any) -> None:
        """A callback from KCO: logged for the checkout whose order it is (`key`: the checkout's id)."""
        # Stamped with its start: the KCO calls made while answering it (push) follow it in the timeline.
        entry: dict[str, Any] = {"kind": "callback", "at": round(started_ms), "name": name,
                                 "order_id": order_id, "status": status, "duration_ms": round(duration_ms, 1)}
        previous = self.call_log.content(key)
        content = None
        if name in REFINING_CALLBACKS and status == 200 and isinstance(answer, dict) and previous:
            # KCO applies the callback's answer to the order (kco-rules: refine-callbacks); the country is the
            # shopper's.
            refined = order_content({**previous["content"], **answer})
            country = _shopper_country(kco_order, billing_first=name == "country_change")
            if country:
                refined["purchase_country"] = country
            entry["changes"] = content_changes(previous["content"], refined)
            content = {"order_id": order_id, "content": refined}
        self.call_log.record(key, [entry, *call_entries(calls, f"callback {name}", lambda _: {})], content)


def _shopper_country(kco_order: Any, billing_first: bool) -> str | None:
    """The country the callback moves the order to: KCO Global follows the shopper's address
    (kco-rules: refine-callbacks, market-change); the body carries the addresses, not purchase_country."""
    if not isinstance(kco_order, dict):
        return None
    keys = ["shipping_address", "billing_address"]
    if billing_first:
        keys.reverse()
    for key in keys:
        address = kco_order.get(key)
        if isinstance(address, dict) and address.get("country"):
            return str(address["country"]).upper()
    country = kco_order.get("purchase_country")
    return str(country).upper() if country else None


# --- The blueprint ----------------------------------------------------------------------------------------

def init_app(app: Flask, flow: CheckoutFlow, settings: Settings) -> None:
    """Adds the inspector to the shop when workshop mode is on (`Settings.inspector`)."""
    if settings.inspector:
        recorder = Recorder(call_log_for(app), flow)
        flow.on_sync = recorder.note_sync
        app.register_blueprint(inspector_blueprint(recorder, settings.kco))


def inspector_blueprint(recorder: Recorder, kco: ClientConfig) -> Blueprint:
    blueprint = Blueprint("inspector", __name__)
    emulator = EmulatorButtons(kco) if kco.is_local else None

    @blueprint.app_context_processor
    def inspector_page_globals() -> dict[str, Any]:
        # templates/checkout.html includes workshop/_inspector.html only when `inspector` is defined.
        return {"inspector": {"emulator": emulator is not None,
                              "countries": [(market.country, market.name) for market in MARKETS.values()],
                              # Asked only where the drawer is drawn: a call to the emulator.
                              "push_held": emulator.push_held if emulator else None}}

    @blueprint.before_app_request
    def note_start() -> None:
        g.inspector_started_ms = time.time() * 1000

    @blueprint.after_app_request
    def record(response: Response) -> Response:
        try:
            recorder.finished(response)
        except Exception:
            # A teaching aid must never break a checkout.
            log.exception("inspector could not record the request's KCO calls")
        return response

    # This checkout's KCO calls and callbacks, oldest first; the panel polls it.
    @blueprint.get("/api/inspector")
    def inspector_log() -> Response:
        response = jsonify({"entries": recorder.call_log.entries(session.get("checkout_id", ""))})
        response.headers["Cache-Control"] = "no-store"
        return response

    if emulator is not None:
        # The emulator buttons; POST with the page's CSRF token (shop/security.py checks every POST).
        @blueprint.post("/api/inspector/emulator/<action>")
        def emulator_action(action: str) -> Response:
            order_id = recorder.flow.current(session).order_id
            # After the confirmation page the session starts a new checkout with no order yet: the buttons
            # for a completed order then act on the one it paid for.
            paid_order_id = order_id or session.get("confirmed_order_id")
            body = request.get_json(silent=True)
            answer = emulator.run(action, order_id, paid_order_id, body if isinstance(body, dict) else {})
            return jsonify(answer)

    return blueprint
