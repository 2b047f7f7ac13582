"""The shop's database: its three tables and the SQLAlchemy engine that reaches them (shop/records.py reads
and writes them).

The engine is SQLAlchemy's with its pool, as documented: `pool_pre_ping` replaces a connection the database
dropped, and a forked process (gunicorn --preload) starts with a pool of its own. SQLite (the default) is
set up so two shop processes can share its file; PostgreSQL through psycopg is the production shape.
"""

from __future__ import annotations

import os
import weakref
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from shop.errors import first_line
from shop.settings import SettingsError

metadata = sa.MetaData()

checkouts = sa.Table(
    "checkouts", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("cart", sa.JSON, nullable=False),  # {sku: quantity}, in the order the lines were added
    sa.Column("country", sa.String(2), nullable=False),
    sa.Column("locale", sa.String(16), nullable=False),
    sa.Column("shipping_option_id", sa.String(64), nullable=True),
    sa.Column("us_region", sa.String(8), nullable=True),
    sa.Column("order_id", sa.String(255), nullable=True, unique=True),
    sa.Column("reference", sa.String(64), nullable=True, unique=True),
    sa.Column("kco_cart", sa.JSON(none_as_null=True), nullable=True),
    sa.Column("kco_fingerprint", sa.String(64), nullable=True),
    sa.Column("cart_set_at", sa.BigInteger, nullable=False),
    sa.Column("market_set_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, index=True),
)

orders = sa.Table(
    "orders", metadata,
    sa.Column("order_id", sa.String(255), primary_key=True),
    sa.Column("purchase_country", sa.String(2), nullable=False),
    sa.Column("purchase_currency", sa.String(3), nullable=False),
    sa.Column("order_amount", sa.Integer, nullable=False),
    sa.Column("order_tax_amount", sa.Integer, nullable=False),
    sa.Column("order_lines", sa.Text, nullable=False),
    sa.Column("recorded_by", sa.String(16), nullable=False),  # "confirmation", "push" or "notification"
    # accepted, pending or rejected, as Order Management last said; ship only accepted ones
    # (kco-rules: pending-orders).
    sa.Column("fraud_status", sa.String(16), nullable=False, server_default="accepted"),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
)

superseded_sessions = sa.Table(
    "superseded_sessions", metadata,
    sa.Column("digest", sa.String(64), primary_key=True),  # of the session id, never the id itself
    sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("redirected", sa.Boolean, nullable=False, default=False),
)


def connect(database_url: str) -> Engine:
    """The engine, connected once at start, with the tables made: a database that cannot be used stops the
    shop with one line (SettingsError)."""
    try:
        _create_sqlite_folder(database_url)
        # pool_pre_ping: a connection the database dropped (a restart) is replaced before it is used.
        engine = sa.create_engine(database_url, pool_pre_ping=True)
        if engine.dialect.name == "sqlite":
            sa.event.listen(engine, "connect", _sqlite_pragmas)
        _new_pool_in_forked_children(engine)
        _upgrade_an_older_database(engine)
        metadata.create_all(engine)
    except (sa.exc.SQLAlchemyError, ImportError, OSError) as error:
        raise SettingsError(f"DATABASE_URL: cannot use the database {_shown(database_url)}: "
                            f"{first_line(error)}") from None
    return engine


def _upgrade_an_older_database(engine: Engine) -> None:
    """A database of an earlier version of the shop: its orders get the fraud review column, and its
    checkouts (keyed by order id, beside a session that held the cart) are dropped, as this version cannot
    read them; create_all then makes the table anew."""
    inspector = sa.inspect(engine)

    def columns(table: str) -> set[str]:
        if not inspector.has_table(table):
            return set()
        return {column["name"] for column in inspector.get_columns(table)}

    old_checkouts = columns("checkouts")
    order_columns = columns("orders")
    with engine.begin() as connection:
        if old_checkouts and "version" not in old_checkouts:
            connection.exec_driver_sql("DROP TABLE checkouts")
        if order_columns and "fraud_status" not in order_columns:
            connection.exec_driver_sql(
                "ALTER TABLE orders ADD COLUMN fraud_status VARCHAR(16) NOT NULL DEFAULT 'accepted'")


def _shown(database_url: str) -> str:
    """The URL without its password, for a message."""
    try:
        return make_url(database_url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return repr(database_url.split("@")[-1])


def _new_pool_in_forked_children(engine: Engine) -> None:
    """A process forked after the engine made connections (gunicorn --preload) must not use them: parent and
    child would talk over one socket. The child drops its copy of the pool without closing the parent's
    connections (SQLAlchemy: "Using Connection Pools with Multiprocessing or os.fork()")."""
    engine_ref = weakref.ref(engine)

    def in_child() -> None:
        forked = engine_ref()
        if forked is not None:
            forked.dispose(close=False)

    os.register_at_fork(after_in_child=in_child)


def _create_sqlite_folder(database_url: str) -> None:
    """SQLite creates its file but not the folder."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:") \
            and not url.database.startswith("file:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)


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
