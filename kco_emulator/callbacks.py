"""HTTP calls from the emulator to the merchant: refine callbacks, validation and push
(kco-rules: refine-callbacks, validation-callback, push-and-acknowledge).

Every URL comes from the order's `merchant_urls` with `{checkout.order.id}` replaced by the order id
(kco-rules: merchant-urls). Answers are sorted into a few kinds that the shopper flow (emulator.shopper) acts
on.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Literal

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
    headers = {"User-Agent": USER_AGENT}
    try:
        if payload is None:
            response = requests.post(url, data=b"", headers=headers, timeout=timeout, allow_redirects=False)
        else:
            response = requests.post(url, json=payload, headers=headers, timeout=timeout,
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


def schedule_push(state: EmulatorState, order: StoredOrder) -> None:
    """Push after each delay of the schedule until the order is acknowledged
    (kco-rules: push-and-acknowledge).

    Each delay counts from the previous attempt; when the schedule is used up the emulator stops
    (real KCO keeps going every 4 hours for up to 48 hours).
    """
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
