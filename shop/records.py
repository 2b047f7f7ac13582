"""What the shop keeps in its database: each shopper's checkout, the completed orders, and the session ids
given up for new ones (docs/security.md says for how long).

A checkout has one home, its `checkouts` row: the shopper's requests find it by the id their session holds,
KCO's callbacks by the order's callback reference. Each write names the version it read (`Records.save`): one
whose version is no longer the row's changes nothing, and the caller starts again from the row as it is now,
so two tabs or a callback during a change never undo each other and no lock is held while KCO answers.
Orders are recorded insert-or-ignore, so the confirmation page and KCO's push, even in two processes, record
one row (kco-rules: push-and-acknowledge). The tables and the engine: shop/database.py.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from shop.cart import Checkout
from shop.database import checkouts, connect, orders, superseded_sessions

# A checkout nobody changed for this long is deleted (its session expired long before, shop/sessions.py);
# KCO forgets an unpaid order after 48 h and stops pushing a paid one within that time too.
CHECKOUT_LIFETIME = timedelta(days=30)
# Far longer than any request can be on its way (the page gives up after data-timeout-ms).
SUPERSEDED_SESSION_LIFETIME = timedelta(hours=1)
CHECKOUT_COLUMNS = tuple(name for name in checkouts.c.keys() if name not in ("version", "updated_at"))
# The statements of every request, built once with bind parameters, as SQLAlchemy recommends for statements
# run often: a checkout found by one of its keys, with whether its order is recorded as paid; a checkout
# stored only over the version it was read at (SET takes the columns of the parameters).
FIND_CHECKOUT = {
    key: sa.select(checkouts, orders.c.order_id.is_not(None).label("paid"))
    .select_from(checkouts.outerjoin(orders, orders.c.order_id == checkouts.c.order_id))
    .where(checkouts.c[key] == sa.bindparam("key"))
    for key in ("id", "order_id", "reference")
}
STORE_CHECKOUT = sa.update(checkouts).where(checkouts.c.id == sa.bindparam("read_id"),
                                            checkouts.c.version == sa.bindparam("read_version"))
FORGET_CHECKOUTS = sa.delete(checkouts).where(checkouts.c.updated_at < sa.bindparam("cutoff"))


# A request whose store keeps finding the checkout changed by others (CheckoutChanged) gives up after this
# many attempts.
SAVE_ATTEMPTS = 3


class CheckoutChanged(Exception):
    """Another request saved the checkout after this one read it: nothing was written."""


def _now() -> datetime:
    return datetime.now(UTC)


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def checkout_columns(checkout: Checkout) -> dict[str, Any]:
    """The row's values, but for version and updated_at."""
    values = {name: getattr(checkout, name) for name in CHECKOUT_COLUMNS}
    values["cart"] = dict(values["cart"])  # a copy: the stored value does not follow later changes
    return values


class Records:
    def __init__(self, database_url: str) -> None:
        """Connects at once, so a database that cannot be used stops the shop at start (SettingsError)."""
        self.engine = connect(database_url)

    def ready(self) -> bool:
        """The database answers (for /readyz)."""
        try:
            with self.engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError:
            return False
        return True

    # --- checkouts ---------------------------------------------------------------------------------------

    def checkout(self, checkout_id: str | None) -> Checkout | None:
        return self._checkout("id", checkout_id)

    def checkout_for_order(self, order_id: str | None) -> Checkout | None:
        return self._checkout("order_id", order_id)

    def checkout_for_reference(self, reference: str) -> Checkout | None:
        """The checkout whose current order has this callback reference (shop/security.py)."""
        return self._checkout("reference", reference)

    def _checkout(self, key: str, value: str | None) -> Checkout | None:
        if not value:
            return None
        with self.engine.connect() as connection:
            row = connection.execute(FIND_CHECKOUT[key], {"key": value}).mappings().first()
        if row is None:
            return None
        values = {item.name: row[item.name] for item in fields(Checkout)}
        values["paid"] = bool(values["paid"])  # SQLite answers 0 or 1
        return Checkout(**values)

    def save(self, checkout: Checkout) -> None:
        """Stores the checkout: a new one (version 0) is inserted, a stored one updated only if its version is
        still the one read. The object's version then is the row's. Raises CheckoutChanged otherwise."""
        values = {**checkout_columns(checkout), "version": checkout.version + 1, "updated_at": _now()}
        with self.engine.begin() as connection:
            if checkout.version == 0:
                connection.execute(FORGET_CHECKOUTS, {"cutoff": _now() - CHECKOUT_LIFETIME})
                connection.execute(sa.insert(checkouts), values)
            else:
                written = connection.execute(
                    STORE_CHECKOUT, {**values, "read_id": checkout.id, "read_version": checkout.version})
                if written.rowcount != 1:
                    raise CheckoutChanged(checkout.id)
        checkout.version += 1

    # --- session ids given up ----------------------------------------------------------------------------

    def supersede_session(self, session_id: str) -> None:
        try:
            with self.engine.begin() as connection:
                connection.execute(sa.delete(superseded_sessions).where(
                    superseded_sessions.c.superseded_at < _now() - SUPERSEDED_SESSION_LIFETIME))
                connection.execute(sa.insert(superseded_sessions).values(
                    digest=_digest(session_id), superseded_at=_now(), redirected=False))
        except IntegrityError:
            pass  # superseded by another request at the same moment (two tabs opening the checkout)

    def was_superseded(self, session_id: str) -> bool:
        query = sa.select(superseded_sessions.c.digest).where(
            superseded_sessions.c.digest == _digest(session_id),
            superseded_sessions.c.superseded_at >= _now() - SUPERSEDED_SESSION_LIFETIME)
        with self.engine.connect() as connection:
            return connection.execute(query).first() is not None

    def first_redirect(self, session_id: str) -> bool:
        """True once per superseded id: the first page request sent with it is redirected to itself."""
        with self.engine.begin() as connection:
            written = connection.execute(
                sa.update(superseded_sessions)
                .where(superseded_sessions.c.digest == _digest(session_id),
                       superseded_sessions.c.redirected.is_(False))
                .values(redirected=True))
        return written.rowcount == 1

    # --- orders ------------------------------------------------------------------------------------------

    def record_order(self, order: Mapping[str, Any], recorded_by: str, fraud_status: str) -> bool:
        """Insert the completed order unless it is already there; True when this call inserted it."""
        try:
            with self.engine.begin() as connection:
                connection.execute(sa.insert(orders).values(
                    order_id=order["order_id"],
                    purchase_country=str(order.get("purchase_country", "")).upper(),
                    purchase_currency=str(order.get("purchase_currency", "")).upper(),
                    order_amount=int(order.get("order_amount") or 0),
                    order_tax_amount=int(order.get("order_tax_amount") or 0),
                    order_lines=json.dumps(order.get("order_lines") or []),
                    recorded_by=recorded_by, fraud_status=fraud_status, recorded_at=_now(),
                ))
        except IntegrityError:
            return False  # recorded already, by the confirmation page or an earlier push
        return True

    def order(self, order_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as connection:
            query = sa.select(orders).where(orders.c.order_id == order_id)
            row = connection.execute(query).mappings().first()
        return dict(row) if row is not None else None

    def set_fraud_status(self, order_id: str, fraud_status: str) -> None:
        """The outcome of the fraud review, from KCO's notification (kco-rules: pending-orders)."""
        self._update_order(order_id, fraud_status=fraud_status)

    def mark_acknowledged(self, order_id: str) -> None:
        self._update_order(order_id, acknowledged_at=_now())

    def _update_order(self, order_id: str, **values: Any) -> None:
        with self.engine.begin() as connection:
            connection.execute(sa.update(orders).where(orders.c.order_id == order_id).values(**values))
