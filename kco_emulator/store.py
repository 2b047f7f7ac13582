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


# The emulator's choices where KCO's behaviour is not documented: each alternative is a setting, so a test can
# play every plausible behaviour (docs/emulator.md's behaviour table names them). The first value is the
# default.
BEHAVIOUR_CHOICES: dict[str, tuple[str, ...]] = {
    "aborted_orders": ("not_found", "read_only"),
    # kco-rules: push-and-acknowledge: when Kustom's minutes start counting.
    "push_schedule": ("fast", "real", "real_from_first_push"),
    # kco-rules: automatic-shipping-cost: the best public evidence first.
    "automatic_shipping_cost": ("separate", "line"),
    # kco-rules: shipping-address-change.
    "shipping_address_change": ("separate_address", "every_address"),
    # kco-rules: update-nested-objects.
    "update_merge": ("top_level", "deep"),
    # kco-rules: widget-event-listeners. "add" stays the default until the demo shop registers each event
    # once.
    "event_listeners": ("add", "replace"),
}


def lock_status_problem(status: object) -> str | None:
    """Why a value cannot be `callback_lock_status` (0, or an HTTP error status 400-599), or None."""
    if isinstance(status, bool) or not isinstance(status, int) or not (status == 0 or 400 <= status <= 599):
        return "callback_lock_status must be 0 (no lock) or an HTTP status from 400 to 599"
    return None


# Where KCO's behaviour is not documented, one setting per question; each value is a plausible behaviour
# (docs/emulator.md, "What the emulator does, and why"). The control API and `kco-emulator --settings-from`
# change them.
BEHAVIOUR_SETTINGS = ("callback_lock_status", "country_change_sets_purchase_country", *BEHAVIOUR_CHOICES)


def behaviour_problem(name: str, value: object) -> str | None:
    """Why `value` cannot be the behaviour setting `name`, or None."""
    if name == "callback_lock_status":
        return lock_status_problem(value)
    if name == "country_change_sets_purchase_country":
        return None if isinstance(value, bool) else f"{name} must be true or false"
    choices = BEHAVIOUR_CHOICES[name]
    return None if value in choices else f"{name} must be one of {', '.join(choices)}"


def _lock_status(env: Mapping[str, str], name: str, default: str) -> int:
    try:
        status = int(env.get(name, default))
    except ValueError:
        status = -1
    if lock_status_problem(status):
        raise SettingsError(f"{name} must be 0 (no lock) or an HTTP status from 400 to 599")
    return status


def _flag(env: Mapping[str, str], name: str, default: str) -> bool:
    value = env.get(name, default).strip().lower()
    if value not in ("1", "true", "yes", "0", "false", "no"):
        raise SettingsError(f"{name} must be true or false")
    return value in ("1", "true", "yes")


def _names(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """A comma-separated list of host names, lower case."""
    return tuple(part.strip().lower() for part in env.get(name, "").split(",") if part.strip())


def _choice(env: Mapping[str, str], name: str, setting: str) -> str:
    """The variable `name`: one of BEHAVIOUR_CHOICES[setting], the first by default."""
    choices = BEHAVIOUR_CHOICES[setting]
    value = env.get(name, choices[0])
    if value not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}")
    return value


@dataclass
class Settings:
    """Credentials, timings and the behaviour settings, from the environment; the control API may change all
    but the credentials until the next reset."""

    username: str
    password: str
    push_retry_seconds: tuple[float, ...]
    validation_timeout: float
    strict_validation_timeout: float
    callback_timeout: float
    public_url: str | None
    # Host names the control API answers besides the loopback ones (localhost, 127.0.0.1, [::1]).
    control_hosts: tuple[str, ...] = ()
    callback_lock_status: int = 409
    country_change_sets_purchase_country: bool = True
    aborted_orders: str = "not_found"
    push_schedule: str = "fast"
    automatic_shipping_cost: str = "separate"
    shipping_address_change: str = "separate_address"
    update_merge: str = "top_level"
    event_listeners: str = "add"

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
            # A page in the developer's browser may reach 127.0.0.1 under a name of its own (DNS rebinding):
            # the control API answers only the names it is known by (kco_emulator.control).
            control_hosts=_names(env, "KCO_EMULATOR_CONTROL_HOSTS"),
            # The order is locked during the refine callbacks (kco-rules: callback-lock); the status of the
            # refusal is not documented, 409 Conflict is the emulator's choice.
            callback_lock_status=_lock_status(env, "KCO_EMULATOR_CALLBACK_LOCK_STATUS", "409"),
            # Not documented (kco-rules: country-change-purchase-country, inferred).
            country_change_sets_purchase_country=_flag(
                env, "KCO_EMULATOR_COUNTRY_CHANGE_SETS_PURCHASE_COUNTRY", "true"),
            # Not documented (kco-rules: aborted-orders, inferred).
            aborted_orders=_choice(env, "KCO_EMULATOR_ABORTED_ORDERS", "aborted_orders"),
            # "real" plays KCO's schedule on the emulator's clock (kco-rules: push-and-acknowledge).
            push_schedule=_choice(env, "KCO_EMULATOR_PUSH_SCHEDULE", "push_schedule"),
            # Where the shipping KCO charges itself shows (kco-rules: automatic-shipping-cost, inferred).
            automatic_shipping_cost=_choice(
                env, "KCO_EMULATOR_AUTOMATIC_SHIPPING_COST", "automatic_shipping_cost"),
            # When the widget fires shipping_address_change (kco-rules: shipping-address-change, inferred).
            shipping_address_change=_choice(
                env, "KCO_EMULATOR_SHIPPING_ADDRESS_CHANGE", "shipping_address_change"),
            # Whether an update merges nested objects (kco-rules: update-nested-objects, inferred).
            update_merge=_choice(env, "KCO_EMULATOR_UPDATE_MERGE", "update_merge"),
            # Whether the widget's api.on adds or replaces listeners (kco-rules: widget-event-listeners).
            event_listeners=_choice(env, "KCO_EMULATOR_EVENT_LISTENERS", "event_listeners"),
        )


def with_behaviours(settings: Settings, behaviours: Mapping[str, object]) -> Settings:
    """`settings` with these behaviour settings (names of BEHAVIOUR_SETTINGS), e.g. those a kco-probe report
    observed; SettingsError names the first unknown name or unusable value."""
    for name, value in behaviours.items():
        if name not in BEHAVIOUR_SETTINGS:
            raise SettingsError(f"{name} is not a behaviour setting of the emulator "
                                f"({', '.join(BEHAVIOUR_SETTINGS)})")
        if problem := behaviour_problem(name, value):
            raise SettingsError(problem)
    return Settings(**{**vars(settings), **behaviours})


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
    # Refine callbacks of this order in flight, and refusals armed by /_emulator/orders/{id}/lock: while
    # either is non-zero, merchant updates are refused (kco-rules: callback-lock).
    callbacks_running: int = 0
    lock_refusals: int = 0
    # ACCEPTED, PENDING (fraud review) or REJECTED, as Order Management reads it (kco-rules: pending-orders).
    fraud_status: str = "ACCEPTED"
    notifications: list[dict[str, Any]] = field(default_factory=list)
    # Armed by /_emulator/orders/{id}/cannot-complete: the purchase fails with can_not_complete_order
    # (kco-rules: widget-events).
    cannot_complete: bool = False
    # The shipping_fee line KCO itself added for the chosen option (no shipping_option_update URL;
    # kco-rules: automatic-shipping-cost).
    automatic_shipping_line: dict[str, Any] | None = None
    # The shopper's ticks of the merchant's checkboxes, by key (kco-rules: merchant-checkboxes).
    checkboxes_ticked: dict[str, bool] = field(default_factory=dict)
    # Under automatic_shipping_cost "separate": the line of the option KCO charged on top of order_amount at
    # the purchase, which Order Management shows (kco-rules: automatic-shipping-cost).
    shipping_on_top: dict[str, Any] | None = None
    # The country the shopper picked in the widget while purchase_country stayed (setting
    # country_change_sets_purchase_country false): its market decides the currency until the merchant sets
    # purchase_country itself (kco-rules: country-change-purchase-country).
    widget_country: str | None = None
    # Due times of the pushes still to come under push_schedule "real" or "real_from_first_push"
    # (kco-rules: push-and-acknowledge).
    push_due: list[datetime] = field(default_factory=list)

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
        # One delivery of due pushes at a time (push_schedule "real"): the clock control and the ticker thread
        # both deliver, and an attempt must not go out twice.
        self.push_delivery = threading.Lock()
        self.push_ticker: threading.Thread | None = None

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
