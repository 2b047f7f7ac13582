"""What the shop keeps in its database: per-checkout state for KCO's callbacks, and recorded orders.

KCO's callbacks carry no shopper cookie, so whatever they need lives here keyed by the KCO order id
(`checkouts`): the callback reference, the cart the shop holds for the order, the market KCO was last moved
to, the chosen shipping option, and the fingerprint (and cart) of the content the shop last knew KCO holds.
The two carts differ when the shopper changed the cart elsewhere (e.g. another tab) since the last update:
callbacks price the cart the widget shows, validation compares it with the cart the shop holds.

`orders` holds completed purchases, each with the shop's reading of KCO's fraud review (`fraud_status`:
accepted, pending, rejected or stopped; kco-rules: pending-orders): only an accepted order may be shipped.
`order_id` is the primary key, so recording is insert-or-ignore: the
confirmation page and the push callback may both record the same order at the same moment, even from two
processes, and exactly one row results (the push is the backup for a confirmation that never ran,
kco-rules: push-and-acknowledge).
SQLite under instance/ by default; any SQLAlchemy `DATABASE_URL` (PostgreSQL in production) otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    create_engine,
    event,
    insert,
    inspect,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import IntegrityError

metadata = MetaData()

checkouts = Table(
    "checkouts", metadata,
    Column("order_id", String(255), primary_key=True),
    Column("reference", String(64), nullable=False, unique=True),
    Column("cart", Text, nullable=False),  # JSON list of [sku, quantity]: the cart the shop holds now
    Column("kco_cart", Text, nullable=True),  # the cart of the content KCO was last sent (None: unknown)
    Column("country", String(2), nullable=False),
    Column("locale", String(16), nullable=False),
    Column("shipping_option_id", String(64), nullable=True),
    Column("us_region", String(8), nullable=True),
    Column("kco_fingerprint", String(64), nullable=True),  # None: unknown, read before trusting
    Column("market_revision", Integer, nullable=False, default=0),  # bumped when a callback moves the market
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

orders = Table(
    "orders", metadata,
    Column("order_id", String(255), primary_key=True),
    Column("purchase_country", String(2), nullable=False),
    Column("purchase_currency", String(3), nullable=False),
    Column("order_amount", Integer, nullable=False),
    Column("order_tax_amount", Integer, nullable=False),
    Column("order_lines", Text, nullable=False),
    Column("recorded_by", String(16), nullable=False),  # "confirmation", "push" or "notification"
    # accepted | pending | rejected | stopped; ship only accepted ones (kco-rules: pending-orders).
    Column("fraud_status", String(16), nullable=False, server_default="accepted"),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("acknowledging_since", DateTime(timezone=True), nullable=True),
    Column("acknowledged_at", DateTime(timezone=True), nullable=True),
)
# The two statements of every cart change, built once (`HotStatement` compiles them for the database). The
# row is read with the "already paid?" answer: the recorded order, if any, joined to it.
CHECKOUT_WITH_PAID = (select(checkouts, orders.c.order_id.is_not(None).label("paid"))
                      .select_from(checkouts.outerjoin(orders, orders.c.order_id == checkouts.c.order_id))
                      .where(checkouts.c.order_id == bindparam("row_order_id")))
# SET takes the columns of the parameters it is run with.
UPDATE_CHECKOUT = update(checkouts).where(checkouts.c.order_id == bindparam("row_order_id"))
# A push handler that claimed the acknowledgement and then died leaves the claim; after this long another
# push may take it over (KCO keeps pushing until the order is acknowledged, kco-rules: push-and-acknowledge).
ACKNOWLEDGE_CLAIM_SECONDS = 30


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Checkout:
    """One row of `checkouts`."""

    order_id: str
    reference: str
    cart: dict[str, int] = field(default_factory=dict)
    kco_cart: dict[str, int] | None = None
    country: str = "SE"
    locale: str = "sv-SE"
    shipping_option_id: str | None = None
    us_region: str | None = None
    kco_fingerprint: str | None = None
    market_revision: int = 0
    # Read with the row, not stored in it: the order is recorded as completed (the "already paid?" answer)
    paid: bool = False

    def columns(self, names: Iterable[str] = tuple(checkouts.c.keys())) -> dict[str, Any]:
        """The row's values as stored, for `names` (default: all columns)."""
        return {name: self._column(name) for name in names}

    def _column(self, name: str) -> Any:
        if name == "updated_at":
            return _now()
        value = getattr(self, name)
        if name in ("cart", "kco_cart") and value is not None:
            return _cart_json(value)
        return value


class HotConnections:
    """The database connections the two statements of every cart change run on (`HotStatement`).

    Each is one statement, so each runs in autocommit: the statement is its own transaction, without a BEGIN
    and a COMMIT around it (on PostgreSQL, one round trip instead of three). The connections come from the
    engine's pool (its connect hooks, e.g. the SQLite pragmas, have run) and are then kept here, up to
    `keep` idle ones: taking one is a list pop, where the pool's check-out and reset cost several times what
    SQLite takes to run the statement.

    A connection whose statement failed is closed, not kept. One found lost (e.g. the database restarted)
    takes its idle neighbours with it, and the statement runs once more on a new connection: running either
    statement twice is harmless (a read, and a write of fixed values).
    """

    def __init__(self, engine: Engine, keep: int = 5) -> None:
        self.engine = engine
        self.keep = keep
        self.idle: list[Any] = []  # DBAPI connections; list.pop and list.append are atomic in CPython

    def run(self, sql: str, arguments: Any, fetch_one: bool, retry_if_lost: bool = True) -> Any:
        """Runs `sql` with the driver's own cursor; with `fetch_one`, the first row (None: no row)."""
        try:
            connection = self.idle.pop()
        except IndexError:  # none idle (another thread may have taken the last one since any check)
            connection = self._new()
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(sql, arguments)
                row = cursor.fetchone() if fetch_one else None
            finally:
                cursor.close()
        except BaseException as error:
            dialect = self.engine.dialect
            lost = (isinstance(error, dialect.loaded_dbapi.Error)
                    and dialect.is_disconnect(error, connection, None))
            connection.close()
            if not (lost and retry_if_lost):
                raise
            self.close()  # lost with the database (e.g. it restarted): so are the idle ones
            return self.run(sql, arguments, fetch_one, retry_if_lost=False)
        if len(self.idle) < self.keep:
            self.idle.append(connection)
        else:
            connection.close()
        return row

    def close(self) -> None:
        while self.idle:
            self.idle.pop().close()

    def _new(self) -> Any:
        pooled = self.engine.raw_connection()
        pooled.detach()  # from now on ours: closed by us, never returned to the pool
        connection = pooled.dbapi_connection
        self.engine.dialect.set_isolation_level(connection, "AUTOCOMMIT")
        return connection


class HotStatement:
    """One of the two statements every cart change runs, compiled once for the engine's database and run on
    one of `HotConnections` with the driver's own cursor.

    SQLAlchemy's execution layer costs several times what SQLite takes to run such a one-row statement; the
    SQL, its parameter order and its type conversions (e.g. datetimes for SQLite) still come from
    SQLAlchemy's compiler, so the same code runs on SQLite and PostgreSQL. Every other statement goes through
    SQLAlchemy as usual.
    """

    def __init__(self, connections: HotConnections, statement: Any,
                 column_keys: Iterable[str] | None = None) -> None:
        self.connections = connections
        dialect = connections.engine.dialect
        self.compiled = statement.compile(dialect=dialect,
                                          column_keys=list(column_keys) if column_keys is not None else None)
        processors = {name: bind.type.dialect_impl(dialect).bind_processor(dialect)
                      for name, bind in ((bind.key, bind) for bind in self.compiled.binds.values())}
        self.processors = {name: processor for name, processor in processors.items() if processor is not None}
        # SQLite's driver takes positional parameters (qmark), psycopg named ones (pyformat).
        self.order = tuple(self.compiled.positiontup or ()) if self.compiled.positional else None
        self.sql = self.compiled.string
        self.result_names = tuple(column.key for column in getattr(statement, "selected_columns", ()))

    def run(self, parameters: Mapping[str, Any], fetch_one: bool = False) -> dict[str, Any] | None:
        """Runs the statement (its own transaction); with `fetch_one`, the first row by column name (None: no
        row)."""
        values = dict(parameters)  # the bind names are the parameter names (column keys, "row_order_id")
        for name, processor in self.processors.items():
            values[name] = processor(values[name])
        arguments: Any = tuple(values[name] for name in self.order) if self.order is not None else values
        row = self.connections.run(self.sql, arguments, fetch_one)
        return dict(zip(self.result_names, row, strict=True)) if row is not None else None


class Records:
    def __init__(self, database_url: str) -> None:
        _create_sqlite_folder(database_url)
        self.engine: Engine = create_engine(database_url, future=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        metadata.create_all(self.engine)
        self._add_fraud_status_to_an_older_database()
        self.hot_connections = HotConnections(self.engine)
        self._read_checkout = HotStatement(self.hot_connections, CHECKOUT_WITH_PAID)
        self._checkout_updates: dict[tuple[str, ...], HotStatement] = {}  # one per set of columns written

    def _add_fraud_status_to_an_older_database(self) -> None:
        """create_all adds no column to an existing table: a database from before fraud review gets it here"""
        if "fraud_status" in {column["name"] for column in inspect(self.engine).get_columns("orders")}:
            return
        with self.engine.begin() as connection:
            connection.exec_driver_sql(
                "ALTER TABLE orders ADD COLUMN fraud_status VARCHAR(16) NOT NULL DEFAULT 'accepted'")

    # --- checkouts ---------------------------------------------------------------------------------------

    def add_checkout(self, checkout: Checkout) -> None:
        with self.engine.begin() as connection:
            connection.execute(insert(checkouts).values(**checkout.columns()))

    def checkout(self, order_id: str | None) -> Checkout | None:
        if not order_id:
            return None
        row = self._read_checkout.run({"row_order_id": order_id}, fetch_one=True)
        if row is None:
            return None
        return Checkout(
            order_id=row["order_id"], reference=row["reference"],
            cart=_cart_from_json(row["cart"]),
            kco_cart=None if row["kco_cart"] is None else _cart_from_json(row["kco_cart"]),
            country=row["country"], locale=row["locale"], shipping_option_id=row["shipping_option_id"],
            us_region=row["us_region"], kco_fingerprint=row["kco_fingerprint"],
            market_revision=row["market_revision"], paid=bool(row["paid"]),
        )

    def save_checkout(self, checkout: Checkout, fields: Iterable[str]) -> None:
        """Write only `fields` of the row (and `updated_at`): each writer owns its columns, so a callback's
        write that landed meanwhile is not rolled back by another request's older copy of the row."""
        names = tuple(dict.fromkeys((*fields, "updated_at")))
        statement = self._checkout_updates.get(names)
        if statement is None:
            statement = HotStatement(self.hot_connections, UPDATE_CHECKOUT, names)
            self._checkout_updates[names] = statement
        statement.run({"row_order_id": checkout.order_id, **checkout.columns(names)})

    # --- orders ------------------------------------------------------------------------------------------

    def record_order(self, order: Mapping[str, Any], recorded_by: str, fraud_status: str) -> bool:
        """Insert the completed order unless it is already there; True when this call inserted it."""
        try:
            with self.engine.begin() as connection:
                connection.execute(insert(orders).values(
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
            row = connection.execute(select(orders).where(orders.c.order_id == order_id)).mappings().first()
        return dict(row) if row is not None else None

    def set_fraud_status(self, order_id: str, fraud_status: str) -> None:
        """The outcome of the fraud review, from KCO's notification (kco-rules: pending-orders)."""
        with self.engine.begin() as connection:
            connection.execute(
                update(orders).where(orders.c.order_id == order_id).values(fraud_status=fraud_status))

    def claim_acknowledgement(self, order_id: str) -> bool:
        """True for exactly one caller at a time, across processes: the one that should acknowledge now."""
        now = _now()
        with self.engine.begin() as connection:
            claimed = connection.execute(
                update(orders)
                .where(orders.c.order_id == order_id, orders.c.acknowledged_at.is_(None),
                       or_(orders.c.acknowledging_since.is_(None),
                           orders.c.acknowledging_since < now - timedelta(seconds=ACKNOWLEDGE_CLAIM_SECONDS)))
                .values(acknowledging_since=now))
        return claimed.rowcount == 1

    def release_acknowledgement(self, order_id: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                update(orders).where(orders.c.order_id == order_id).values(acknowledging_since=None))

    def mark_acknowledged(self, order_id: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                update(orders).where(orders.c.order_id == order_id).values(acknowledged_at=_now()))


def _create_sqlite_folder(database_url: str) -> None:
    """SQLite creates its file but not the folder: with REDIS_URL and SECRET_KEY set nothing else writes to a
    new INSTANCE_PATH, and SQLite would fail with "unable to open database file"."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:") \
            and not url.database.startswith("file:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)


def _cart_json(cart: Mapping[str, int]) -> str:
    return json.dumps([[sku, quantity] for sku, quantity in cart.items()])


def _cart_from_json(text: str) -> dict[str, int]:
    return {sku: quantity for sku, quantity in json.loads(text)}


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    # WAL lets readers and one writer work at once; busy_timeout makes a second process wait for a lock
    # instead of failing, so two shop processes can share the file. With WAL, synchronous=NORMAL survives a
    # crash of the shop and skips an fsync per commit; only a power cut may lose the last commits (use
    # PostgreSQL in production).
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
