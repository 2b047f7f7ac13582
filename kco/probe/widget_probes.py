"""The probes that need someone at the browser, each on its own order shown in the probe's page:

- snippets: a second snippet swapped into the page (kco-rules: page-follows-order), and two `change`
  listeners (widget-event-listeners; setting `event_listeners`);
- lock: an update sent while KCO waits for address_update (callback-lock; `callback_lock_status`);
- addresses: a billing, then a separate shipping address (shipping-address-change; `shipping_address_change`);
- shipping: the second shipping option picked, no shipping_option_update URL (automatic-shipping-cost);
- country: the country switched to Germany (country-change-purchase-country);
- purchase: a completed purchase, then the first two pushes (push-and-acknowledge; `push_schedule`).

Each part answers its findings; a part that cannot be done says why in each of them.
"""

from __future__ import annotations

import re
import threading
from typing import Any
from urllib.parse import urlsplit

from kco.order_lines import line_tax
from kco.probe.guided import RECIPIENT, SHOPPER, SHOPPER_EXTRAS, Guided, NotObserved, spelled
from kco.probe.kco_calls import Exchange, RawKco
from kco.probe.listener import Answer, Callback, echo_answer
from kco.probe.report import Finding, unobserved

EXPRESS_PRICE = 4900
SHIPPING_OPTIONS = [
    {"id": "standard", "name": "Standard", "price": 0, "tax_amount": 0, "tax_rate": 2500,
     "preselected": True},
    {"id": "express", "name": "Express", "price": EXPRESS_PRICE, "tax_amount": line_tax(EXPRESS_PRICE, 2500),
     "tax_rate": 2500},
]
GERMAN_SHOPPER = "Testperson-de Approved, Hellersbergstraße 14, 41460 Neuss"
PUSH_WINDOW_SECONDS = 12 * 60  # the second push comes at 5 or 7 minutes (kco-rules: push-and-acknowledge)
PUSH_CHECK_SECONDS = 15.0
# How far a push may be from a reading's minute and still be read as that one.
PUSH_TOLERANCE_SECONDS = 90
# The URLs in a snippet's config that its scripts load (kco-rules: html-snippet).
SNIPPET_URL = re.compile(r'"(?:BOOTSTRAP_SRC|ORDER_URL)"\s*:\s*"([^"]+)"')


def snippets(guided: Guided) -> list[Finding]:
    try:
        first, snippet = guided.new_order()
        second, second_snippet = guided.new_order()
        guided.open_in_page(first, snippet)
        guided.listener.second_snippet = {"order_id": second, "html_snippet": second_snippet}
        observed = guided.ask(
            "swap_snippet", "Wait until the checkout shows below, then press “Load a second order”. Once the "
            "checkout shows again, press Done.", first, action="second_snippet")
    except NotObserved as why:
        return [unobserved("event_listeners", str(why)), unobserved("second_snippet", str(why))]
    events = guided.listener.events_of(first) + guided.listener.events_of(second)
    frames = observed.get("frames") or []
    return [listeners_finding(events), second_snippet_finding(frames, events, first, second)]


def listeners_finding(events: list[dict[str, Any]]) -> Finding:
    """The page registers two `change` listeners with two api.on calls; which of them ran."""
    ran = {event["listener"] for event in events
           if event["name"] == "change" and event["snippet"] == 1 and not event["after_swap"]}
    observed = f"change reached {' and '.join(sorted(ran)) or 'no'} listener{'s' if len(ran) != 1 else ''}"
    evidence = {"change_events": [event for event in events if event["name"] == "change"]}
    if ran == {"first", "second"}:
        return Finding("event_listeners", observed, {"event_listeners": "add"}, evidence=evidence)
    if ran == {"second"}:
        return Finding("event_listeners", observed, {"event_listeners": "replace"}, evidence=evidence)
    if not ran:
        return unobserved("event_listeners", "the widget fired no change event (it fires on load)",
                          **evidence)
    return Finding("event_listeners", observed, unplayed="add runs both listeners, replace only the second",
                   evidence=evidence)


def second_snippet_finding(frames: list[str], events: list[dict[str, Any]], first: str, second: str
                           ) -> Finding:
    showing_first = [frame for frame in frames if first in frame]
    showing_second = [frame for frame in frames if second in frame]
    carried = any(event["snippet"] == 1 and event["after_swap"] and event["name"] != "csp"
                  for event in events)
    loaded = any(event["snippet"] == 2 and event["name"] == "load" for event in events)
    observed = (f"afterwards {len(frames)} frame(s): {len(showing_second)} of the second order, "
                f"{len(showing_first)} of the first; the first snippet's handlers "
                f"{'still got events' if carried else 'got no event'}, the second's "
                f"{'got load' if loaded else 'got no load'}")
    evidence = {"frames": frames, "first_order": first, "second_order": second}
    emulator = ("the new snippet replaces the widget with one of the second order, and only handlers "
                "registered again get its events")
    if showing_second and not showing_first and loaded and not carried:
        return Finding("second_snippet", observed, evidence=evidence,
                       note=f"the emulator does the same: {emulator}")
    return Finding("second_snippet", observed, evidence=evidence, unplayed=f"in the emulator {emulator}")


class LockProbe:
    """The first address_update of `order_id` is held while the probe updates the order (at most
    `hold_seconds`), so the update meets the lock (kco-rules: callback-lock)."""

    def __init__(self, kco: RawKco, order_id: str, hold_seconds: float) -> None:
        self.kco = kco
        self.order_id = order_id
        self.hold_seconds = hold_seconds
        self.started = threading.Event()
        self.answered = threading.Event()
        self.answered_during_hold = False
        self.update: Exchange | None = None
        self._claim = threading.Lock()

    def answer(self, callback: Callback) -> Answer:
        if callback.order_id != self.order_id or not self._claim.acquire(blocking=False):
            return echo_answer(callback)
        self.started.set()
        threading.Thread(target=self._update, name="kco-probe-lock", daemon=True).start()
        self.answered_during_hold = self.answered.wait(self.hold_seconds)
        return echo_answer(callback)

    def _update(self) -> None:
        changes = {"merchant_reference2": "kco-probe: during address_update"}
        self.update = self.kco.update(self.order_id, changes)
        self.answered.set()


def lock(guided: Guided, hold_seconds: float) -> list[Finding]:
    try:
        order_id, snippet = guided.new_order("address_update")
        probe = LockProbe(guided.kco, order_id, hold_seconds)
        guided.listener.answers["address_update"] = probe.answer
        guided.open_in_page(order_id, snippet)
        guided.ask("type_address",
                   f"Type this shopper in the checkout: {spelled(SHOPPER)} ({SHOPPER_EXTRAS}). KCO then "
                   f"calls the probe's address_update, which holds its answer (up to {hold_seconds:g} s) "
                   "while it updates the order. If the checkout says the change failed, type it again. Then "
                   "press Done.", order_id, address=SHOPPER)
    except NotObserved as why:
        return [unobserved("callback_lock_status", str(why))]
    finally:
        guided.listener.answers["address_update"] = echo_answer
    if not probe.started.is_set():
        return [unobserved("callback_lock_status", "KCO did not call address_update")]
    probe.answered.wait(guided.kco.config.read_timeout)
    after = guided.kco.update(order_id, {"merchant_reference2": "kco-probe: after address_update"})
    return [lock_finding(probe, after)]


def lock_finding(probe: LockProbe, after: Exchange) -> Finding:
    update = probe.update
    if update is None:
        return unobserved("callback_lock_status", "the update sent during address_update got no answer")
    when = "while KCO waited for address_update" if probe.answered_during_hold else "after address_update"
    observed = (f"an update {when} answered {update.answer()}; after the callback an update answered "
                f"{after.answer()}")
    evidence = {"during": update.evidence(), "after": after.evidence(), "hold_seconds": probe.hold_seconds}
    if not probe.answered_during_hold:
        return Finding("callback_lock_status", observed, evidence=evidence,
                       unplayed="KCO held the update until the callback was answered; the emulator answers "
                                "at once")
    if update.status == 200:
        return Finding("callback_lock_status", observed, {"callback_lock_status": 0}, evidence=evidence)
    if update.status == 403 and update.field("error_code") != "READ_ONLY_ORDER":
        return Finding("callback_lock_status", observed, evidence=evidence,
                       unplayed="the emulator plays a 403 lock as READ_ONLY_ORDER")
    if update.status is not None and 400 <= update.status <= 599:
        return Finding("callback_lock_status", observed, {"callback_lock_status": update.status},
                       evidence=evidence)
    return Finding("callback_lock_status", observed, evidence=evidence,
                   unplayed="the emulator answers 200 (no lock) or an error status from 400 to 599")


def addresses(guided: Guided) -> list[Finding]:
    try:
        order_id, snippet = guided.new_order("address_update",
                                             options={"allow_separate_shipping_address": True})
        guided.open_in_page(order_id, snippet)
        guided.ask("billing_address", f"Type this shopper: {spelled(SHOPPER)} ({SHOPPER_EXTRAS}), shipping "
                   "to the same address. Then press Done.", order_id, address=SHOPPER)
        billing_step_events = len(guided.listener.events_of(order_id))
        guided.ask("separate_address", "Choose to ship to another address, and type it: "
                   f"{spelled(RECIPIENT)}. Then press Done.", order_id, address=RECIPIENT)
    except NotObserved as why:
        return [unobserved("shipping_address_change", str(why))]
    return [address_finding(*split_address_events(guided.listener.events_of(order_id), billing_step_events))]


def split_address_events(events: list[dict[str, Any]],
                         billing_step_events: int) -> tuple[list[str], list[str]]:
    """The names of the events that came with the billing address and with the separate one. An event is
    counted by when it arrived (the first `billing_step_events` before Done), except a shipping_address_change
    carrying one of the two postal codes: it counts with that address, also when it arrived after Done."""
    with_billing: list[str] = []
    with_separate: list[str] = []
    for position, event in enumerate(events):
        payload = event.get("payload")
        postal_code = payload.get("postal_code") if isinstance(payload, dict) else None
        if event["name"] == "shipping_address_change" and postal_code == SHOPPER["postal_code"]:
            with_billing.append(event["name"])
        elif event["name"] == "shipping_address_change" and postal_code == RECIPIENT["postal_code"]:
            with_separate.append(event["name"])
        elif position < billing_step_events:
            with_billing.append(event["name"])
        else:
            with_separate.append(event["name"])
    return with_billing, with_separate


def address_finding(with_billing: list[str], with_separate: list[str]) -> Finding:
    evidence = {"events_with_the_billing_address": with_billing,
                "events_with_the_separate_address": with_separate}
    if "billing_address_change" not in with_billing:
        return unobserved("shipping_address_change",
                          "no billing_address_change came with the billing address", **evidence)
    fired_with_billing = "shipping_address_change" in with_billing
    fired_with_separate = "shipping_address_change" in with_separate
    with_billing_text = "fired" if fired_with_billing else "did not fire"
    with_separate_text = "fired" if fired_with_separate else "did not fire"
    observed = (f"shipping_address_change {with_billing_text} with the billing address, and "
                f"{with_separate_text} with a separate one")
    if fired_with_billing and fired_with_separate:
        return Finding("shipping_address_change", observed, {"shipping_address_change": "every_address"},
                       evidence=evidence)
    if fired_with_separate:
        return Finding("shipping_address_change", observed, {"shipping_address_change": "separate_address"},
                       evidence=evidence)
    return Finding("shipping_address_change", observed, evidence=evidence,
                   unplayed="both readings fire it once the shopper enters a separate shipping address")


def shipping(guided: Guided) -> list[Finding]:
    try:
        order_id, snippet = guided.new_order(shipping_options=SHIPPING_OPTIONS)
        before = guided.read(order_id)
        guided.open_in_page(order_id, snippet)
        guided.ask("second_shipping_option", "Pick the second shipping option, “Express” (49.00). If the "
                   f"checkout asks for an address first, type {spelled(SHOPPER)}. Then press Done.", order_id,
                   option="Express", address=SHOPPER)
        after = guided.read(order_id)
    except NotObserved as why:
        return [unobserved("automatic_shipping_cost", str(why))]
    return [shipping_finding(before, after)]


def shipping_finding(before: dict[str, Any], after: dict[str, Any]) -> Finding:
    selected = (after.get("selected_shipping_option") or {}).get("id")
    evidence = {key: after.get(key) for key in ("order_amount", "order_lines", "selected_shipping_option")}
    if selected != "express":
        return unobserved("automatic_shipping_cost", f"the order's selected shipping option is {selected!r}, "
                          "not express", **evidence)
    kco_lines = [line for line in after.get("order_lines") or [] if line.get("type") == "shipping_fee"]
    raised = after.get("order_amount", 0) - before.get("order_amount", 0)
    change = f"rose by {raised}" if raised else "stayed"
    observed = (f"order_amount {change} ({after.get('order_amount')}); {len(kco_lines)} shipping_fee line(s) "
                "in the order")
    if raised == EXPRESS_PRICE and any(line.get("total_amount") == EXPRESS_PRICE for line in kco_lines):
        return Finding("automatic_shipping_cost", observed, {"automatic_shipping_cost": "line"},
                       evidence=evidence)
    if raised == 0 and not kco_lines:
        return Finding("automatic_shipping_cost", observed, {"automatic_shipping_cost": "separate"},
                       evidence=evidence)
    return Finding("automatic_shipping_cost", observed, evidence=evidence,
                   unplayed="line adds a shipping_fee line and raises order_amount by the price, separate "
                            "changes neither")


def country(guided: Guided) -> list[Finding]:
    try:
        order_id, snippet = guided.new_order("country_change", billing_countries=["SE", "DE"])
        guided.open_in_page(order_id, snippet)
        guided.ask("switch_country", "Switch the country to Germany in the checkout (if it asks for a German "
                   f"address: {GERMAN_SHOPPER}). Then press Done.", order_id, country="DE")
        after = guided.read(order_id)
    except NotObserved as why:
        return [unobserved("country_change_sets_purchase_country", str(why))]
    calls = guided.listener.recorded("country_change", order_id)
    return [country_finding(after, [call.body for call in calls])]


def country_finding(after: dict[str, Any], callbacks: list[Any]) -> Finding:
    behaviour = "country_change_sets_purchase_country"
    read = {key: after.get(key) for key in ("purchase_country", "purchase_currency", "billing_address")}
    evidence = {"country_change_bodies": callbacks, **read}
    billing_country = str((after.get("billing_address") or {}).get("country", "")).upper()
    if not callbacks:
        return unobserved(behaviour, "KCO did not call country_change", **evidence)
    if billing_country != "DE":
        return unobserved(behaviour, f"the order's billing country is {billing_country or 'not set'}, not DE",
                          **evidence)
    purchase_country = str(after.get("purchase_country", "")).upper()
    observed = f"purchase_country {purchase_country}, purchase_currency {after.get('purchase_currency')}"
    if purchase_country in ("DE", "SE"):
        return Finding(behaviour, observed, {behaviour: purchase_country == "DE"}, evidence=evidence)
    return Finding(behaviour, observed, evidence=evidence,
                   unplayed="the emulator keeps SE or moves purchase_country to the country picked")


def purchase(guided: Guided) -> list[Finding]:
    try:
        order_id, snippet = guided.new_order()
        guided.open_in_page(order_id, snippet)
        listener = guided.listener
        listener.answers["confirmation"] = lambda callback: _confirmed(guided, callback, order_id)
        guided.ask("complete_purchase", f"Complete the purchase as {spelled(SHOPPER)} ({SHOPPER_EXTRAS}), "
                   "with Kustom's test data for the payment. The page then moves to the confirmation.",
                   order_id, address=SHOPPER)
        if guided.read(order_id).get("status") != "checkout_complete":
            raise NotObserved("the order was not completed")
    except NotObserved as why:
        return [unobserved("push_schedule", str(why))]
    guided.open_orders.remove(order_id)
    confirmations = listener.recorded("confirmation", order_id)
    completed_at = confirmations[0].at if confirmations else guided.clock.now()
    guided.show("wait_for_pushes", f"Waiting for KCO's first two pushes, up to {PUSH_WINDOW_SECONDS // 60} "
                "minutes after the purchase. Keep the probe running; this page may be closed.", None)
    pushes = wait_for_pushes(guided, order_id, completed_at + PUSH_WINDOW_SECONDS)
    acknowledged = guided.kco.acknowledge(order_id)
    return [push_finding([round(push.at - completed_at) for push in pushes], acknowledged)]


def _confirmed(guided: Guided, callback: Callback, order_id: str) -> Answer:
    if callback.order_id == order_id:
        guided.listener.mark_done(guided.listener.step_seq, {"confirmation": order_id})
    return 200, None


def wait_for_pushes(guided: Guided, order_id: str, deadline: float) -> list[Callback]:
    """The order's pushes once two have come, or the deadline has passed on the probe's clock."""
    listener = guided.listener
    while True:
        arrived = listener.recorded("push", order_id)
        if len(arrived) >= 2 or guided.clock.now() >= deadline:
            return arrived
        listener.push_arrived.clear()
        # A push that came between the count and the clear still wakes the wait below.
        if len(listener.recorded("push", order_id)) == len(arrived):
            guided.clock.sleep(PUSH_CHECK_SECONDS, listener.push_arrived)


def push_finding(seconds: list[int], acknowledged: Exchange) -> Finding:
    evidence = {"seconds_after_the_purchase": seconds, "acknowledge": acknowledged.evidence()}
    if len(seconds) < 2:
        return unobserved("push_schedule", f"{len(seconds)} push(es) came within {PUSH_WINDOW_SECONDS // 60} "
                          "minutes of the purchase", **evidence)
    first, second = seconds[:2]
    observed = f"the first push {first} s after the purchase, the second {second} s after"
    if second < 60:
        return Finding("push_schedule", observed, {"push_schedule": "fast"}, evidence=evidence)
    from_completion = abs(second - 5 * 60)
    from_first_push = abs(second - (first + 5 * 60))
    if from_completion <= PUSH_TOLERANCE_SECONDS and from_completion < from_first_push:
        return Finding("push_schedule", observed, {"push_schedule": "real"}, evidence=evidence)
    if from_first_push <= PUSH_TOLERANCE_SECONDS:
        return Finding("push_schedule", observed, {"push_schedule": "real_from_first_push"},
                       evidence=evidence)
    return Finding("push_schedule", observed, evidence=evidence,
                   unplayed="real pushes again 5 minutes after the purchase, real_from_first_push 5 minutes "
                            "after the first push")


def origins_finding(events: list[dict[str, Any]], snippets: list[str]) -> Finding:
    """The other origins the page's report-only policy saw the widget use, by directive, and those the
    snippets name (BOOTSTRAP_SRC, ORDER_URL): what the shop's Content-Security-Policy must admit."""
    by_directive: dict[str, set[str]] = {}
    for event in events:
        payload = event.get("payload") or {}
        if event["name"] == "csp" and (origin := _origin(str(payload.get("blocked", "")))):
            by_directive.setdefault(str(payload.get("directive")), set()).add(origin)
    named = {origin for snippet in snippets for match in SNIPPET_URL.finditer(snippet)
             if (origin := _origin(match.group(1).replace("\\/", "/")))}
    if not by_directive and not named:
        return unobserved("snippet_origins",
                          "no snippet named a URL and the page reported none (was it opened?)")
    observed = "; ".join(f"{directive}: {' '.join(sorted(origins))}"
                         for directive, origins in sorted(by_directive.items()))
    if named:
        observed += f"{'; ' if observed else ''}the snippet names {' '.join(sorted(named))}"
    # The shop admits KCO_SNIPPET_ORIGINS for scripts, frames and connections (shop/security.py
    # content_security_policy).
    wanted = named.union(*(origins for directive, origins in by_directive.items()
                           if directive.split("-")[0] in ("script", "frame", "connect")))
    note = f'shop: KCO_SNIPPET_ORIGINS="{" ".join(sorted(wanted))}"'
    return Finding("snippet_origins", observed, note=note,
                   evidence={directive: sorted(origins) for directive, origins in by_directive.items()})


def events_finding(events: list[dict[str, Any]]) -> Finding:
    """Every client-side event that came, with the first payload of each (kco-rules: widget-events)."""
    first_payloads: dict[str, Any] = {}
    for event in events:
        if event["name"] != "csp":
            first_payloads.setdefault(event["name"], event.get("payload"))
    if not first_payloads:
        return unobserved("widget_events", "the page posted no event (was it opened?)")
    return Finding("widget_events", ", ".join(first_payloads), evidence={"first_payloads": first_payloads})


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else None
