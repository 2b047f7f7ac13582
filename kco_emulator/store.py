"""What the emulator remembers: orders, its clock, the request log and its settings.

Everything lives in memory behind one lock; `/_emulator/reset` empties it. The clock is the real UTC time plus
an offset that `/_emulator/clock` moves forward, so expiry (kco-rules: expiry-48h) can be tested without
waiting 48 hours.
"""

from __future__ import annotations

import os
import secrets
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

# Sliding window from the last update or shopper interaction (kco-rules: expiry-48h).
ORDER_LIFETIME = timedelta(hours=48)


def iso8601(moment: datetime) -> str:
    """`yyyy-mm-ddThh:mm:ssZ`, the timestamp format of the order fields (checkout-v3-openapi.yml
    order.started_at)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Clock:
    """UTC time as the emulator sees it: the wall clock plus a test-controlled offset."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


class SettingsError(ValueError):
    """An environment variable of the emulator has a value it cannot use."""


def _seconds(env: Mapping[str, str], name: str, default: str) -> float:
    try:
        return float(env.get(name, default))
    except ValueError:
        raise SettingsError(f"{name} must be a number of seconds") from None


def _seconds_list(env: Mapping[str, str], name: str, default: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in env.get(name, default).split(",") if part.strip())
    except ValueError:
        raise SettingsError(f"{name} must be a comma-separated list of seconds, e.g. 2,5,15,30") from None


@dataclass
class Settings:
    """Credentials and timings, from the environment; the control API may change the timings."""

    username: str
    password: str
    push_retry_seconds: tuple[float, ...]
    validation_timeout: float
    strict_validation_timeout: float
    callback_timeout: float
    public_url: str | None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            username=env.get("KCO_EMULATOR_USERNAME", "demo"),
            password=env.get("KCO_EMULATOR_PASSWORD", "demo"),
            # Kustom retries push at 5, 15, 30, 60 min (kco-rules: push-and-acknowledge); seconds keep a demo
            # moving.
            push_retry_seconds=_seconds_list(env, "KCO_EMULATOR_PUSH_RETRY_SECONDS", "2,5,15,30"),
            # KCO waits 3 s for validation, 10 s with require_validate_callback_success
            # (kco-rules: validation-callback).
            validation_timeout=_seconds(env, "KCO_EMULATOR_VALIDATION_TIMEOUT", "3"),
            strict_validation_timeout=_seconds(env, "KCO_EMULATOR_STRICT_VALIDATION_TIMEOUT", "10"),
            # Not documented for the refine callbacks (kco-rules: refine-callbacks); 10 s is the emulator's
            # choice.
            callback_timeout=_seconds(env, "KCO_EMULATOR_CALLBACK_TIMEOUT", "10"),
            public_url=env.get("KCO_EMULATOR_PUBLIC_URL") or None,
        )


@dataclass
class StoredOrder:
    """One checkout order: `fields` holds what the merchant (or a callback) set, the rest is KCO's own."""

    order_id: str
    fields: dict[str, Any]
    started_at: datetime
    last_modified_at: datetime
    last_activity: datetime
    widget_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    status: str = "checkout_incomplete"
    completed_at: datetime | None = None
    aborted: bool = False
    shopper_entered_address: bool = False
    acknowledged: bool = False
    klarna_reference: str = field(default_factory=lambda: secrets.token_hex(4).upper())
    push_attempts: list[dict[str, Any]] = field(default_factory=list)
    push_stop: threading.Event = field(default_factory=threading.Event)
    # Bumped by every committed change (see EmulatorState.touch). A shopper change remembers it before the
    # merchant's callback runs, so it can tell whether the order changed meanwhile.
    revision: int = 0

    @property
    def completed(self) -> bool:
        return self.status == "checkout_complete"

    def expired(self, now: datetime) -> bool:
        # Only an open checkout expires; a completed order lives on in Order Management
        # (kco-rules: expiry-48h, order-management).
        return not self.completed and now > self.last_activity + ORDER_LIFETIME


class EmulatorState:
    """All mutable state of one emulator process."""

    def __init__(self, settings: Settings) -> None:
        self.lock = threading.RLock()
        self.defaults = settings
        self.settings = Settings(**vars(settings))
        self.clock = Clock()
        self.orders: dict[str, StoredOrder] = {}
        self.requests: list[dict[str, Any]] = []
        self.faults: list[Any] = []  # emulator.faults.Fault, consumed in order of arrival
        self.active_push_schedules = 0
        self.generation = 0  # bumped by reset so background work of an earlier run can tell it is stale

    def reset(self) -> None:
        with self.lock:
            for order in self.orders.values():
                order.push_stop.set()
            self.orders.clear()
            self.requests.clear()
            self.faults.clear()
            self.clock = Clock()
            self.settings = Settings(**vars(self.defaults))
            self.generation += 1

    def new_order(self, fields: dict[str, Any]) -> StoredOrder:
        now = self.clock.now()
        order = StoredOrder(order_id=str(uuid.uuid4()), fields=fields, started_at=now,
                            last_modified_at=now, last_activity=now)
        with self.lock:
            self.orders[order.order_id] = order
        return order

    def find(self, order_id: str) -> StoredOrder | None:
        with self.lock:
            return self.orders.get(order_id)

    def find_by_token(self, order_id: str, token: str) -> StoredOrder | None:
        order = self.find(order_id)
        if order is None or not secrets.compare_digest(order.widget_token, token):
            return None
        return order

    def touch(self, order: StoredOrder, modified: bool = True) -> None:
        """Record merchant or shopper activity: it restarts the 48 h window (kco-rules: expiry-48h).

        With `modified` (a committed change) the caller holds the lock, so the revision counts every commit.
        """
        now = self.clock.now()
        order.last_activity = now
        if modified:
            order.last_modified_at = now
            order.revision += 1

    def log_request(self, entry: dict[str, Any]) -> None:
        with self.lock:
            self.requests.append(entry)
