"""Workshop mode: the KCO inspector on the checkout page, and buttons that make the local emulator misbehave.

What it records, per shopper checkout: every KCO call the shop made for it (method, path, status, duration,
correlation id) with the order fields a create or update changed, and the callbacks KCO made for its order.
`GET /api/inspector` answers with the last `MAX_ENTRIES`; the panel
(static/js/workshop/kco-inspector.js) shows them next to the widget's events. Never recorded: headers,
credentials, request bodies, addresses.

Where it is kept: keyed by the checkout's id, which KCO's callbacks find through their order id: with
REDIS_URL in Redis beside the sessions (`RedisCallLog`: a change appends its entries to a list, the
panel's poll reads it), so several shop processes share it; else in the shop process's memory
(`ProcessCallLog`), which suits the workshop's one development server and costs a change next to nothing.
Two writes to one checkout's log at the very same moment may describe a change against the order content
before the other one: acceptable for a teaching aid, not for anything a payment relies on.

On only with KCO_INSPECTOR=1, which `make run` sets for the emulator it starts
(`shop.settings.inspector_enabled`); never guessed from a local KCO address. The emulator buttons
(`POST /api/inspector/emulator/<action>`) exist only with a local emulator: a server-side proxy to its control
API, so the browser never talks to another origin (no CORS, no CSP exception), and every button is
CSRF-checked. Country, Complete and Push act on this shopper's own order; Expire (the emulator's clock) and
Fail (the next update) act on the whole emulator, every shopper's orders: the panel says so, and workshop
mode stays off on a shared deployment.
A callback is recorded only once its URL token has passed (`callbacks.verified_checkout`): a forged one is
neither parsed nor kept.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import requests
from cachelib import BaseCache, NullCache
from flask import Blueprint, Flask, Response, g, has_request_context, jsonify, request, session

from kco.checkout import UPDATE_RETRY_WAITS, Outcome, order_content
from kco.client import ClientConfig, KCOCall
from kco.markets import MARKETS
from shop.callbacks import FRAUD_DECISIONS, verified_checkout
from shop.cart import Checkout
from shop.checkout_flow import CheckoutFlow
from shop.errors import ShopError
from shop.settings import Settings

log = logging.getLogger("workshop.inspector")

MAX_ENTRIES = 50
MAX_CHECKOUTS = 2000  # logs kept in memory (`ProcessCallLog`), the most recently written ones
LOG_TTL_SECONDS = 6 * 3600
# KCO forgets an order 48 h after its last update or shopper interaction (kco-rules: expiry-48h): one hour
# more expires it.
EXPIRY_SECONDS = 49 * 3600
EMULATOR_TIMEOUT_SECONDS = 10
WRITE_OPERATIONS = ("create", "update")
# Callbacks whose answer changes the order in KCO (kco-rules: refine-callbacks): compared like an update.
REFINING_CALLBACKS = ("address_update", "country_change", "shipping_option_update")
# Line fields a reader cares about; the totals follow from them and are named, not spelled out.
LINE_DETAIL_FIELDS = ("quantity", "unit_price", "tax_rate", "name")

Content = dict[str, Any]


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


# --- Where the log is kept --------------------------------------------------------------------------------

class CallLog:
    """Bounded per-checkout logs in a cachelib cache.

    Per checkout: its last MAX_ENTRIES entries, each with an `id` that keeps counting so the panel sees the
    new ones, and the order content the shop last sent (create/update) or a callback set,
    `{order_id, content}`, which the next entry is compared with. Here one cache entry holds both;
    `ProcessCallLog` and `RedisCallLog` keep them cheaper to change."""

    def __init__(self, cache: BaseCache) -> None:
        self.cache = cache
        self._lock = threading.Lock()  # one process's writers; across processes see the module docstring

    def entries(self, key: str) -> list[dict[str, Any]]:
        if not key:
            return []
        return list((self.cache.get(f"log:{key}") or {}).get("entries", []))

    def content(self, key: str) -> Content | None:
        """The order content last recorded for the checkout, `{order_id, content}`, or None."""
        return (self.cache.get(f"log:{key}") or {}).get("content")

    def record(self, key: str, new_entries: list[dict[str, Any]], content: Content | None = None) -> None:
        """Adds entries (given without `id`) to the checkout's log and, unless None, sets its `content`."""
        with self._lock:
            stored = self.cache.get(f"log:{key}") or {"next_id": 1, "entries": [], "content": None}
            stored["next_id"] = _add_entries(stored["entries"], stored["next_id"], new_entries)
            stored["entries"] = stored["entries"][-MAX_ENTRIES:]
            if content is not None:
                stored["content"] = content
            self.cache.set(f"log:{key}", stored, timeout=LOG_TTL_SECONDS)

    def append(self, key: str, new_entries: list[dict[str, Any]]) -> None:
        self.record(key, new_entries)


class ProcessCallLog(CallLog):
    """The log in this process's memory: for the workshop's one development server with file sessions, where
    nothing needs sharing; no file is read, pickled or written per change. Lost when the server restarts.
    Holds the last MAX_CHECKOUTS checkouts' logs."""

    def __init__(self) -> None:
        super().__init__(NullCache())
        self._logs: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def entries(self, key: str) -> list[dict[str, Any]]:
        with self._lock:
            stored = self._logs.get(key) if key else None
            return list(stored["entries"]) if stored else []

    def content(self, key: str) -> Content | None:
        with self._lock:
            stored = self._logs.get(key)
            return stored["content"] if stored else None

    def record(self, key: str, new_entries: list[dict[str, Any]], content: Content | None = None) -> None:
        with self._lock:
            stored = self._logs.get(key) or {"next_id": 1, "entries": [], "content": None}
            stored["next_id"] = _add_entries(stored["entries"], stored["next_id"], new_entries)
            if len(stored["entries"]) > MAX_ENTRIES:
                del stored["entries"][:-MAX_ENTRIES]
            if content is not None:
                stored["content"] = content
            _keep_newest(self._logs, key, stored)


# Appends entries to a checkout's log in one round trip: each stored as `[id, entry]`, the ids from the
# checkout's counter; keeps the last ARGV[2]; sets the content unless ARGV[3] is empty; all three keys expire
# after ARGV[1] seconds. KEYS: the entries (a list), the id counter, the content.
RECORD_SCRIPT = """
local count = #ARGV - 3
local last = redis.call('incrby', KEYS[2], count)
for i = 1, count do
  redis.call('rpush', KEYS[1], '[' .. (last - count + i) .. ',' .. ARGV[i + 3] .. ']')
end
redis.call('ltrim', KEYS[1], -tonumber(ARGV[2]), -1)
if ARGV[3] ~= '' then redis.call('set', KEYS[3], ARGV[3]) end
for _, key in ipairs(KEYS) do redis.call('expire', key, ARGV[1]) end
return last
"""


class RedisCallLog(CallLog):
    """The log in Redis beside the sessions, shared by several shop processes: the entries in a Redis list
    and the content in its own key, as JSON, so recording a change reads the content (one GET) and appends
    its entries (one script) without loading or rewriting the whole log; the panel's poll reads the list."""

    PREFIX = "kco-inspector:"

    def __init__(self, client: Any) -> None:
        super().__init__(NullCache())
        self.client = client
        self._record = client.register_script(RECORD_SCRIPT)

    def _keys(self, key: str) -> list[str]:
        return [f"{self.PREFIX}entries:{key}", f"{self.PREFIX}next-id:{key}", f"{self.PREFIX}content:{key}"]

    def entries(self, key: str) -> list[dict[str, Any]]:
        if not key:
            return []
        return [{"id": entry_id, **entry}
                for entry_id, entry in map(json.loads, self.client.lrange(self._keys(key)[0], 0, -1))]

    def content(self, key: str) -> Content | None:
        stored = self.client.get(self._keys(key)[2])
        return json.loads(stored) if stored else None

    def record(self, key: str, new_entries: list[dict[str, Any]], content: Content | None = None) -> None:
        self._record(keys=self._keys(key),
                     args=[LOG_TTL_SECONDS, MAX_ENTRIES, "" if content is None else json.dumps(content),
                           *map(json.dumps, new_entries)])


def _keep_newest(held: OrderedDict[str, Any], key: str, value: Any) -> None:
    held[key] = value
    held.move_to_end(key)
    while len(held) > MAX_CHECKOUTS:
        held.popitem(last=False)


def _add_entries(entries: list[dict[str, Any]], next_id: int, new_entries: list[dict[str, Any]]) -> int:
    """Appends `new_entries` to `entries`, numbered from `next_id`; returns the next free id."""
    for entry in new_entries:
        entries.append({"id": next_id, **entry})
        next_id += 1
    return next_id


def call_log_for(app: Flask) -> CallLog:
    """Redis, shared by several processes, when the sessions are there; else this process's memory."""
    if app.config.get("SESSION_TYPE") == "redis":
        return RedisCallLog(app.config["SESSION_REDIS"])
    return ProcessCallLog()


# --- Recording, after each request -----------------------------------------------------------------------

def call_entries(calls: list[KCOCall], started_ms: float, trigger: str,
                 changes_for: Callable[[KCOCall], dict[str, Any]]) -> list[dict[str, Any]]:
    """One log entry per KCO call. `at` is the end of each call, from the request's start and the durations
    before it (KCOCall carries no clock time); good enough to interleave with the page's events."""
    entries = []
    elapsed = 0.0
    for call in calls:
        elapsed += call.duration_ms
        entries.append({
            "kind": "kco", "at": round(started_ms + elapsed), "trigger": trigger,
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
    def note_sync(checkout: Checkout, desired: Mapping[str, Any] | None, _outcome: Outcome) -> None:
        """`CheckoutFlow.on_sync`: keeps the checkout and the order body this request built for KCO, so
        recording it after the request needs no second load and pricing."""
        if has_request_context():
            g.inspector_checkout = checkout
            g.inspector_desired = desired

    def shopper_request(self, checkout: Checkout, calls: list[KCOCall], started_ms: float, trigger: str,
                        desired: Mapping[str, Any] | None) -> None:
        """`desired`: the order body the request's create/update sent (`note_sync`)."""
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
        self.call_log.record(key, call_entries(calls, started_ms, trigger, changes_for), recorded)

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
        self.call_log.record(key, [entry, *call_entries(calls, started_ms, f"callback {name}", lambda _: {})],
                             content)


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
                              "countries": [(market.country, market.name) for market in MARKETS.values()]}}

    @blueprint.before_app_request
    def note_start() -> None:
        g.inspector_started_ms = time.time() * 1000

    @blueprint.after_app_request
    def record(response: Response) -> Response:
        calls: list[KCOCall] = list(g.get("kco_calls", []))
        is_callback = request.path.startswith("/kco/callbacks/")
        if not calls and not is_callback:
            return response
        started_ms = g.get("inspector_started_ms", time.time() * 1000)
        try:
            if is_callback:
                try:
                    flow = recorder.flow
                    checkout = verified_checkout(flow.records, flow.secret_key, request.args)
                except ShopError:
                    return response  # not from KCO (a bad token): never parsed, never recorded
                if checkout is None:
                    return response  # a replaced order's: its checkout's log moved on with it
                recorder.callback_request(
                    checkout.id, request.path.rsplit("/", 1)[-1], request.args.get("order_id"),
                    response.status_code, time.time() * 1000 - started_ms, calls, started_ms,
                    request.get_json(silent=True), response.get_json(silent=True))
            elif "inspector_checkout" in g:
                recorder.shopper_request(g.inspector_checkout, calls, started_ms,
                                         f"{request.method} {request.path}", g.get("inspector_desired"))
        except Exception:
            # A teaching aid must never break a checkout.
            log.exception("inspector could not record the request's KCO calls")
        return response

    # This checkout's KCO calls and callbacks, oldest first; the panel polls it.
    @blueprint.get("/api/inspector")
    def inspector_log() -> Response:
        checkout = recorder.flow.current(session)
        response = jsonify({"entries": recorder.call_log.entries(session.get("checkout_id", "")),
                            "order_id": checkout.order_id, "emulator": emulator is not None})
        response.headers["Cache-Control"] = "no-store"
        return response

    if emulator is not None:
        # The emulator buttons; POST with the page's CSRF token (shop/security.py checks every POST).
        @blueprint.post("/api/inspector/emulator/<action>")
        def emulator_action(action: str) -> Response:
            order_id = recorder.flow.current(session).order_id
            paid_order_id = session.get("confirmed_order_id") or order_id
            body = request.get_json(silent=True)
            answer = emulator.run(action, order_id, paid_order_id, body if isinstance(body, dict) else {})
            return jsonify(answer)

    return blueprint


class EmulatorButtons:
    """The emulator's control API (kco_emulator/control.py), limited to what the workshop buttons need."""

    def __init__(self, kco: ClientConfig) -> None:
        self.base_url = kco.base_url
        self.read_timeout = kco.read_timeout

    def run(self, action: str, order_id: str | None, paid_order_id: str | None,
            body: Mapping[str, Any]) -> dict[str, Any]:
        """`order_id`: the shopper's open order; `paid_order_id`: the one paid for last, else the open one."""
        if action == "expire":
            return self._post("/_emulator/clock", {"advance_seconds": EXPIRY_SECONDS})
        if action == "fail-update-503":
            # The update and both retries of kco/checkout.py: a 503 that stays, so the order is replaced.
            return self._post("/_emulator/faults", {"operation": "update", "status": 503,
                                                    "times": 1 + len(UPDATE_RETRY_WAITS)})
        if action == "fail-update-timeout":
            # Longer than the shop's read timeout, so the shop gives up; the emulator still applies the
            # update afterwards, which is why the shop marks its knowledge of the order stale.
            delay_ms = int(self.read_timeout * 1000) + 1000
            return self._post("/_emulator/faults", {"operation": "update", "delay_ms": delay_ms})
        if action == "country":
            country = str(body.get("country", "")).upper()
            if country not in MARKETS:
                raise ShopError("unsupported_country", "Pick one of the shop's countries.")
            return self._post(f"/_emulator/orders/{self._order(order_id)}/country", {"country": country})
        if action == "complete":
            return self._post(f"/_emulator/orders/{self._order(order_id)}/complete", {})
        if action == "complete-pending":
            # Completed under fraud review: Order Management reads PENDING until a decision
            # (kco-rules: pending-orders).
            path = f"/_emulator/orders/{self._order(order_id)}/complete"
            return self._post(path, {"fraud_status": "PENDING"})
        if action == "fraud-decision":
            event_type = str(body.get("event_type", ""))
            if event_type not in FRAUD_DECISIONS:
                raise ShopError("bad_event_type", f"Pick one of {', '.join(FRAUD_DECISIONS)}.")
            return self._post(f"/_emulator/orders/{self._completed_order(paid_order_id)}/fraud-decision",
                              {"event_type": event_type})
        if action == "push":
            return self._post(f"/_emulator/orders/{self._completed_order(paid_order_id)}/push", {})
        raise ShopError("not_found", f"No emulator action {action!r}.", 404)

    @staticmethod
    def _completed_order(order_id: str | None) -> str:
        if order_id is None:
            raise ShopError("no_order", "There is no completed order in this session.", 409)
        return order_id

    @staticmethod
    def _order(order_id: str | None) -> str:
        if order_id is None:
            raise ShopError("no_order", "This session has no KCO order yet: open the checkout first.", 409)
        return order_id

    def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            response = requests.post(self.base_url + path, json=payload, timeout=EMULATOR_TIMEOUT_SECONDS)
        except requests.RequestException:
            raise ShopError("emulator_unreachable", "The local KCO emulator did not answer.", 503) from None
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if not isinstance(answer, dict):
            answer = {}
        if response.status_code >= 400:
            message = ((answer.get("error") or {}).get("message")
                       or f"The emulator answered {response.status_code}.")
            status = response.status_code if response.status_code < 500 else 502
            raise ShopError("emulator_refused", message, status)
        return {"emulator": answer}
