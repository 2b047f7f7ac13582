"""HTTP calls from the emulator to the merchant: refine callbacks, validation and push
(kco-rules: refine-callbacks, validation-callback, push-and-acknowledge).

Every URL comes from the order's `merchant_urls` with `{checkout.order.id}` replaced by the order id
(kco-rules: merchant-urls). Answers are sorted into a few kinds that the shopper flow (emulator.shopper) acts
on.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal
from urllib.parse import urlsplit

import requests

from kco_emulator.store import EmulatorState, StoredOrder, iso8601

ORDER_ID_PLACEHOLDER = "{checkout.order.id}"
USER_AGENT = "KCO-Emulator/1.0"

AnswerKind = Literal["approved", "redirect", "rejected", "failed"]


@dataclass(frozen=True)
class MerchantAnswer:
    """How the merchant answered a callback.

    approved: 2xx (`body` holds the JSON, if any); redirect: 301/302/303/307 with Location;
    rejected: a 4xx (`error_text` from a `{error_type, error_text}` body when present);
    failed: no usable answer (timeout, refused connection, 5xx, other statuses).
    """

    kind: AnswerKind
    status: int | None = None
    body: Any = None
    location: str | None = None
    error_text: str | None = None
    error: str | None = None


def merchant_url(order: StoredOrder, key: str) -> str | None:
    url = (order.fields.get("merchant_urls") or {}).get(key)
    return url.replace(ORDER_ID_PLACEHOLDER, order.order_id) if url else None


def post_to_merchant(url: str, payload: dict[str, Any] | None, timeout: float) -> MerchantAnswer:
    """POST JSON (or, for push, an empty body) and classify the answer; redirects are not followed."""
    body: dict[str, Any] = {"data": b""} if payload is None else {"json": payload}
    try:
        response = requests.post(url, **body, headers={"User-Agent": USER_AGENT}, timeout=timeout,
                                 allow_redirects=False)
    except requests.Timeout:
        return MerchantAnswer("failed", error="timeout")
    except requests.RequestException as error:
        return MerchantAnswer("failed", error=type(error).__name__)
    status = response.status_code
    if 200 <= status < 300:
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = None
        return MerchantAnswer("approved", status=status, body=body)
    if status in (301, 302, 303, 307) and response.headers.get("Location"):
        # A relative Location is resolved against the callback URL, as a browser would.
        location = requests.compat.urljoin(url, response.headers["Location"])
        return MerchantAnswer("redirect", status=status, location=location)
    if 400 <= status < 500:
        return MerchantAnswer("rejected", status=status, error_text=_error_text(response))
    return MerchantAnswer("failed", status=status, error=f"HTTP {status}")


def _error_text(response: requests.Response) -> str | None:
    # `{error_type, error_text}`; error_text is what the shopper reads (kco-rules: refine-callbacks).
    try:
        body = response.json()
    except ValueError:
        return None
    text = body.get("error_text") if isinstance(body, dict) else None
    return text if isinstance(text, str) and text else None


def deliver_push(state: EmulatorState, order: StoredOrder) -> dict[str, Any]:
    """One push attempt: POST with an empty body to merchant_urls.push (kco-rules: push-and-acknowledge)."""
    url = merchant_url(order, "push")
    attempt: dict[str, Any] = {"at": iso8601(state.clock.now()), "url": url, "status": None, "error": None}
    if url:
        answer = post_to_merchant(url, None, state.settings.callback_timeout)
        attempt["status"] = answer.status
        attempt["error"] = answer.error
    with state.lock:
        order.push_attempts.append(attempt)
    return attempt


# Kustom's push schedule (kco-rules: push-and-acknowledge): about 2 minutes after completion, then 5, 15, 30
# and 60 minutes, then every 4 hours for up to 48 hours. When those minutes start counting is not documented
# (inferred): push_schedule "real" counts them from the completion, "real_from_first_push" from the first
# push, 2 minutes later (so the second push comes at 7 minutes instead of 5).
REAL_PUSH_OFFSETS = (
    *(timedelta(minutes=minutes) for minutes in (2, 5, 15, 30, 60)),
    *(timedelta(hours=hours) for hours in range(5, 49, 4)),
)
FIRST_PUSH = REAL_PUSH_OFFSETS[0]
FROM_FIRST_PUSH_OFFSETS = (FIRST_PUSH, *(FIRST_PUSH + offset for offset in REAL_PUSH_OFFSETS[1:]))
TICK_SECONDS = 1.0


def schedule_push(state: EmulatorState, order: StoredOrder) -> None:
    """Push until the order is acknowledged, on the schedule the `push_schedule` setting names
    (kco-rules: push-and-acknowledge).

    "fast": after each delay of push_retry_seconds, each counted from the previous attempt, in real time; when
    the list is used up the emulator stops. "real" and "real_from_first_push": at REAL_PUSH_OFFSETS or
    FROM_FIRST_PUSH_OFFSETS after completion on the emulator's clock, so `/_emulator/clock` reaches each
    attempt without waiting.
    """
    if state.settings.push_schedule != "fast":
        assert order.completed_at is not None
        offsets = REAL_PUSH_OFFSETS if state.settings.push_schedule == "real" else FROM_FIRST_PUSH_OFFSETS
        with state.lock:
            order.push_due = [order.completed_at + offset for offset in offsets]
            if state.push_ticker is None:
                state.push_ticker = threading.Thread(target=_tick, args=(state,), name="push-ticker",
                                                     daemon=True)
                state.push_ticker.start()
        return
    delays = state.settings.push_retry_seconds
    generation = state.generation

    def run() -> None:
        try:
            for delay in delays:
                # push_stop is set by acknowledge and by reset: the wait ends at once then.
                if order.push_stop.wait(delay) or state.generation != generation:
                    return
                deliver_push(state, order)
        finally:
            with state.lock:
                state.active_push_schedules -= 1

    with state.lock:
        state.active_push_schedules += 1

    threading.Thread(target=run, name=f"push-{order.order_id}", daemon=True).start()


def _tick(state: EmulatorState) -> None:
    # Wall time moves the emulator's clock too: a push that falls due while nobody advances the clock still
    # goes out, about on time.
    while True:
        time.sleep(TICK_SECONDS)
        deliver_due_pushes(state)


def deliver_due_pushes(state: EmulatorState) -> int:
    """Deliver every push of the "real" schedule whose time has come on the emulator's clock, oldest first;
    returns how many went out. An order acknowledged meanwhile gets no further push."""
    delivered = 0
    with state.push_delivery:
        while True:
            with state.lock:
                now = state.clock.now()
                due = [(order.push_due[0], order) for order in state.orders.values()
                       if order.push_due and order.push_due[0] <= now]
                if not due:
                    return delivered
                _, order = min(due, key=lambda pair: pair[0])
                order.push_due.pop(0)
                if order.acknowledged:
                    order.push_due.clear()
                    continue
            deliver_push(state, order)
            delivered += 1


def pending_real_pushes(state: EmulatorState) -> int:
    """Orders whose "real" push schedule still has attempts to come (the caller holds the lock)."""
    return sum(1 for order in state.orders.values() if order.push_due and not order.acknowledged)


# The notification callback (kco-rules: pending-orders): the outcome of a fraud review.
FRAUD_DECISIONS = {
    "FRAUD_RISK_ACCEPTED": "ACCEPTED",
    "FRAUD_RISK_REJECTED": "REJECTED",
    "FRAUD_RISK_STOPPED": "REJECTED",
}


def deliver_notification(state: EmulatorState, order: StoredOrder, event_type: str) -> dict[str, Any]:
    """POST `{order_id, event_type, decided_at}` to merchant_urls.notification, once (retries are not
    emulated), and write it to the request log as operation `notification`.

    The body carries the time of the decision (kco-rules: pending-orders); its name is not on the page,
    `decided_at` in ISO 8601 is the emulator's (inferred).
    """
    url = merchant_url(order, "notification")
    now = state.clock.now()
    attempt: dict[str, Any] = {"at": iso8601(now), "url": url, "event_type": event_type, "status": None,
                               "error": None}
    if url:
        notification = {"order_id": order.order_id, "event_type": event_type, "decided_at": iso8601(now)}
        answer = post_to_merchant(url, notification, state.settings.callback_timeout)
        attempt["status"], attempt["error"] = answer.status, answer.error
    with state.lock:
        order.notifications.append(attempt)
    if url:
        state.log_request({"method": "POST", "path": urlsplit(url).path, "status": attempt["status"],
                           "order_id": order.order_id, "at": iso8601(now), "operation": "notification",
                           "url": url})
    return attempt
