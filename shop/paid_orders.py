"""After the purchase: the paid order as Order Management says it, recorded by whichever comes first (the
confirmation page, KCO's push, the notification that ends a fraud review), and what the confirmation page
shows of it.

Order Management is the source of truth after the purchase (kco-rules: push-and-acknowledge); each of the
three reads it and records what it says now, so they may come in any order and any number of times. A
completed order is not yet a paid one: with fraud review it may be pending (kco-rules: pending-orders).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l

from kco.checkout import COMPLETE
from kco.client import KCOClient
from kco.errors import KCOApiError, KCOError
from shop.cart import Checkout
from shop.errors import ShopError
from shop.records import Records

# Order Management's fraud_status (ACCEPTED, PENDING or REJECTED: order-management-v1-openapi.yml getOrder) as
# the shop records it. Anything else counts as pending, so an order is never shipped on a status the shop does
# not know [inferred].
RECORDED_FRAUD_STATUS = {"ACCEPTED": "accepted", "REJECTED": "rejected"}
# The notification's event_type once a fraud review ended (kco-rules: pending-orders). A stopped order, even
# one accepted before, must not be shipped: Order Management then reads REJECTED.
FRAUD_DECISIONS = ("FRAUD_RISK_ACCEPTED", "FRAUD_RISK_REJECTED", "FRAUD_RISK_STOPPED")

# How many characters of KCO's order id (a random UUID) the confirmation shows as the order's short reference:
# 8 hex digits tell this shop's orders apart; support asks for the full id, which the page shows too.
SHORT_REFERENCE_LENGTH = 8


@dataclass(frozen=True)
class PaidOrder:
    """What the shopper paid, as KCO says it: the lines (products, shipping, US sales tax) and the sums, in
    minor units; KCO's confirmation snippet shows the same."""

    order_lines: list[dict[str, Any]]
    order_amount: int
    currency: str

    @classmethod
    def of(cls, order: Mapping[str, Any]) -> PaidOrder:
        """From an order of Order Management as recorded (its lines as JSON) or of the Checkout API."""
        lines = order["order_lines"]
        order_lines = json.loads(lines) if isinstance(lines, str) else list(lines)
        return cls(order_lines, int(order["order_amount"]), str(order["purchase_currency"]).upper())

    @property
    def tax_amount(self) -> int:
        """The tax in the lines: Order Management's order has no order_tax_amount
        (order-management-v1-openapi.yml MerchantOrderDto), its lines have total_tax_amount."""
        return sum(int(line.get("total_tax_amount") or 0) for line in self.order_lines)


@dataclass(frozen=True)
class Confirmation:
    checkout: Checkout
    order_id: str
    html_snippet: str  # KCO's confirmation snippet; "" once the Checkout API no longer has the order
    # The fraud review as recorded (`record_paid_order`): "pending" tells the shopper the payment is under
    # review; None when Order Management could not be read yet (the push records it later).
    fraud_status: str | None = None
    # Order Management's order as recorded, which counts everything KCO charged; the Checkout API's while
    # Order Management could not be read.
    paid: PaidOrder | None = None

    @property
    def short_reference(self) -> str:
        return self.order_id.replace("-", "")[:SHORT_REFERENCE_LENGTH].upper()


def confirmation(client: KCOClient, records: Records, session: MutableMapping[str, Any],
                 order_id: str) -> Confirmation | None:
    """The purchase's end (merchant_urls.confirmation): KCO's confirmation snippet, the order recorded, and a
    fresh cart. None while KCO says the order is not complete: the shopper belongs on the checkout. A failed
    KCO call raises its KCOError, which shop/errors.py answers. A first visit reads Order Management too, as
    only it tells a pending order (kco-rules: pending-orders)."""
    checkout = records.checkout_for_order(order_id)
    ours = checkout is not None and checkout.id == session.get("checkout_id")
    if checkout is None or not (ours or order_id == session.get("confirmed_order_id")):
        raise ShopError("not_found", _l("There is no such order in your session."), 404)
    order: Mapping[str, Any] | None
    try:
        order = client.read_order(order_id)
    except KCOApiError as error:
        # A completed order may later 404 on the Checkout API while Order Management still has it
        # (kco-rules: completed-order-may-404): a reload then shows the thank-you without KCO's snippet.
        recorded = records.order(order_id) if error.status == 404 else None
        if recorded is None:
            raise
        order = None  # recorded already (by the push or an earlier visit): the cart is cleared below too
    else:
        if order.get("status") != COMPLETE:
            return None
        recorded = records.order(order_id)
    if recorded is not None:
        fraud_status: str | None = recorded["fraud_status"]
    else:
        fraud_status = _record_if_readable(client, records, order_id)
        recorded = records.order(order_id)
    paid_order = recorded or order
    checkout.paid = True
    if ours:
        # The paid checkout stays in the database for KCO's callbacks; the shopper starts a new one.
        session.pop("checkout_id")
        session["confirmed_order_id"] = order_id
    return Confirmation(checkout, order_id, order.get("html_snippet", "") if order is not None else "",
                        fraud_status, PaidOrder.of(paid_order) if paid_order is not None else None)


def _record_if_readable(client: KCOClient, records: Records, order_id: str) -> str | None:
    """The order recorded (`record_paid_order`); None if Order Management could not be read now: KCO's push
    reads it again and records it."""
    try:
        return record_paid_order(client, records, order_id, recorded_by="confirmation")
    except KCOError:
        return None


def recorded_fraud_status(om_order: Mapping[str, Any]) -> str:
    """accepted, rejected or pending, from an Order Management order."""
    return RECORDED_FRAUD_STATUS.get(str(om_order.get("fraud_status", "")).upper(), "pending")


def record_paid_order(client: KCOClient, records: Records, order_id: str, recorded_by: str) -> str:
    """Reads a paid order from Order Management, the source of truth after the purchase
    (kco-rules: push-and-acknowledge), and records it with its fraud review, or records the review anew for an
    order recorded already. Whatever called, in whatever order and however often: what is recorded is what
    Order Management says now. Answers the recorded review; raises KCOError when KCO fails."""
    om_order = client.read_om_order(order_id)
    fraud_status = recorded_fraud_status(om_order)
    if not records.record_order({**om_order, "order_id": order_id}, recorded_by, fraud_status):
        records.set_fraud_status(order_id, fraud_status)
    return fraud_status


def acknowledge_push(client: KCOClient, records: Records, order_id: str) -> None:
    """push (kco-rules: push-and-acknowledge): record once, acknowledge once. A push for an order recorded and
    acknowledged already costs no KCO call; KCO may repeat pushes until it sees the acknowledgement, so every
    step is safe to repeat. A KCOError makes the caller answer non-2xx, and KCO pushes again later."""
    recorded = records.order(order_id)
    if recorded is not None and recorded["acknowledged_at"] is not None:
        return
    if recorded is None:
        record_paid_order(client, records, order_id, recorded_by="push")
    # One idempotency key per order, so a repeat (a second push at the same moment, or one after a lost
    # answer) is one acknowledgement for KCO (order-management-v1-openapi.yml acknowledgeOrder). It recommends
    # a random UUIDv4; a UUIDv5 of the order id is as unique per order and also stays the same across pushes,
    # processes and restarts, where a random key would have to be stored first.
    client.acknowledge_order(order_id, idempotency_key=str(uuid.uuid5(uuid.NAMESPACE_URL, f"ack:{order_id}")))
    records.mark_acknowledged(order_id)


def record_fraud_review(client: KCOClient, records: Records, order_id: str, body: Mapping[str, Any]) -> None:
    """notification (kco-rules: pending-orders): `{order_id, event_type}` once the fraud review of a pending
    order ended. The body says only that something changed: a replayed or late notification must not undo a
    later decision (an accepted order may be stopped), so Order Management is read and what it says now is
    recorded. Raises ShopError for a body that does not fit."""
    if body.get("event_type") not in FRAUD_DECISIONS or body.get("order_id", order_id) != order_id:
        raise ShopError("bad_notification", "Unknown event_type, or an order_id that is not the URL's.", 400)
    record_paid_order(client, records, order_id, recorded_by="notification")
