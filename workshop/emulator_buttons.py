"""The workshop inspector's emulator buttons (docs/workshop.md): a server-side proxy to the local emulator's
control API (kco_emulator/control.py), limited to what the buttons need.

The browser never talks to the emulator itself (no CORS, no CSP exception), and every button is a POST the
shop CSRF-checks. Country, Complete and Push act on this shopper's own order; Expire (the emulator's clock),
Fail (the next update) and Hold (the push schedule) act on the whole emulator, every shopper's orders: the
panel says so, and workshop mode stays off on a shared deployment.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

from kco.checkout import UPDATE_RETRY_WAITS
from kco.client import ClientConfig
from kco.markets import MARKETS
from shop.errors import ShopError
from shop.paid_orders import FRAUD_DECISIONS

# KCO forgets an order 48 h after its last update or shopper interaction (kco-rules: expiry-48h): one hour
# more expires it.
EXPIRY_SECONDS = 49 * 3600
EMULATOR_TIMEOUT_SECONDS = 10


class EmulatorButtons:
    """The emulator's control API (kco_emulator/control.py), limited to what the workshop buttons need."""

    def __init__(self, kco: ClientConfig) -> None:
        self.base_url = kco.base_url
        self.read_timeout = kco.read_timeout

    def run(self, action: str, order_id: str | None, paid_order_id: str | None,
            body: Mapping[str, Any]) -> dict[str, Any]:
        """`order_id`: the session's order; `paid_order_id`: the session's order, else (after the confirmation
        page, which starts a new checkout) the one it paid for last."""
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
        if action == "hold-push":
            # KCO pushes about 2 minutes after the purchase (kco-rules: push-and-acknowledge); the emulator's
            # quick schedule (KCO_EMULATOR_PUSH_RETRY_SECONDS) pushes within seconds, before a presenter has
            # pressed "Deliver push now". Held, the emulator plays KCO's own schedule on its clock.
            schedule = "real" if body.get("held") is True else "fast"
            return self._post("/_emulator/settings", {"push_schedule": schedule})
        raise ShopError("not_found", f"No emulator action {action!r}.", 404)

    def push_held(self) -> bool:
        """Whether the emulator holds its automatic push ("hold-push"); False when it does not say."""
        try:
            response = requests.get(self.base_url + "/_emulator/settings", timeout=EMULATOR_TIMEOUT_SECONDS)
            settings = response.json() if response.ok else {}
        except (requests.RequestException, ValueError):
            return False
        return isinstance(settings, dict) and settings.get("push_schedule") == "real"

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
