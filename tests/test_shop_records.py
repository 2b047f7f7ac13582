"""The checkout row: each writer writes only its own columns, so a KCO callback that lands while the shopper's
request waits for KCO is not rolled back by that request's older copy of the row."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from kco.checkout import Action, Outcome
from shop.callbacks import choose_shipping_option, refine_for_address
from shop.cart import ShopperState
from shop.checkout_flow import CheckoutFlow
from shop.records import Checkout, Records

ORDER_ID = "order-1"


class CallbackDuringTheUpdate:
    """Stands in for kco.checkout.CheckoutSync: while the shop "waits for KCO", a callback writes the row."""

    def __init__(self, callback: Callable[[], None]) -> None:
        self.callback = callback

    def on_change(self, order_id: str | None, desired: Mapping[str, Any] | None,
                  known_fingerprint: str | None, create_extras: Any) -> Outcome:
        self.callback()
        return Outcome(Action.UPDATED, order_id, fingerprint="after-the-update")


@pytest.fixture
def records(tmp_path: Path) -> Records:
    records = Records(f"sqlite:///{tmp_path / 'shop.sqlite3'}")
    records.add_checkout(Checkout(order_id=ORDER_ID, reference="reference-1", cart={"mug-001": 1},
                                  kco_cart={"mug-001": 1}, country="SE", locale="sv-SE"))
    return records


def change_cart_while(records: Records, callback: Callable[[], None]) -> None:
    flow = CheckoutFlow(CallbackDuringTheUpdate(callback), records, "secret",  # type: ignore[arg-type]
                        lambda: "https://shop.example.com")
    session: dict[str, Any] = {}
    ShopperState(cart={"mug-001": 1}, order_id=ORDER_ID).save_to(session)

    def add_a_mug(state: ShopperState) -> None:
        state.cart["mug-001"] = 2

    flow.change(session, add_a_mug)


def test_a_country_change_during_a_cart_update_keeps_its_market_in_the_checkout_row(records: Records) -> None:
    def country_change() -> None:
        checkout = records.checkout(ORDER_ID)
        assert checkout is not None
        _, status = refine_for_address(records, checkout, {"billing_address": {"country": "DE"}},
                                       billing_first=True)
        assert status == 200

    change_cart_while(records, country_change)
    row = records.checkout(ORDER_ID)
    assert row is not None
    assert (row.country, row.locale, row.market_revision) == ("DE", "de-DE", 1)
    assert row.cart == {"mug-001": 2} and row.kco_fingerprint == "after-the-update"


def test_a_shipping_choice_during_a_cart_update_stays_in_the_checkout_row(records: Records) -> None:
    def shipping_option_update() -> None:
        checkout = records.checkout(ORDER_ID)
        assert checkout is not None
        _, status = choose_shipping_option(records, checkout, {"selected_shipping_option": {"id": "express"}})
        assert status == 200

    change_cart_while(records, shipping_option_update)
    row = records.checkout(ORDER_ID)
    assert row is not None
    assert row.shipping_option_id == "express" and row.cart == {"mug-001": 2}


def test_each_cart_change_reads_and_writes_its_row_on_a_kept_connection_and_each_write_commits_at_once(
        records: Records, tmp_path: Path) -> None:
    taken_from_the_pool: list[object] = []
    event.listen(records.engine.pool, "checkout", lambda *_: taken_from_the_pool.append(1))
    for quantity in range(2, 12):
        checkout = records.checkout(ORDER_ID)
        assert checkout is not None
        checkout.cart = {"mug-001": quantity}
        records.save_checkout(checkout, ("cart",))
        # Another connection sees the write at once: it was its own transaction.
        with closing(sqlite3.connect(tmp_path / "shop.sqlite3")) as other:
            stored = other.execute("SELECT cart FROM checkouts WHERE order_id = ?", (ORDER_ID,)).fetchone()
        assert json.loads(stored[0]) == [["mug-001", quantity]]
    assert len(taken_from_the_pool) == 1  # the first read's; every later statement reused its connection


def test_a_statement_whose_connection_was_lost_runs_again_on_a_new_one(records: Records) -> None:
    assert records.checkout(ORDER_ID) is not None
    for connection in records.hot_connections.idle:
        connection.close()  # as when the database went away
    checkout = records.checkout(ORDER_ID)
    assert checkout is not None and checkout.cart == {"mug-001": 1}
    for connection in records.hot_connections.idle:
        connection.close()
    checkout.cart = {"mug-001": 3}
    records.save_checkout(checkout, ("cart",))
    assert (row := records.checkout(ORDER_ID)) is not None and row.cart == {"mug-001": 3}


def test_a_statement_that_fails_is_not_run_again_and_the_next_one_works(records: Records) -> None:
    checkout = records.checkout(ORDER_ID)
    assert checkout is not None
    checkout.reference = None  # type: ignore[assignment]  # the column is NOT NULL
    with pytest.raises(sqlite3.IntegrityError):  # the driver's own error: the statement runs below SQLAlchemy
        records.save_checkout(checkout, ("reference",))
    assert (row := records.checkout(ORDER_ID)) is not None and row.reference == "reference-1"


def test_the_shop_starts_with_redis_sessions_and_a_new_empty_instance_folder(
        make_app: Callable[..., Any], tmp_path: Path) -> None:
    # With REDIS_URL and SECRET_KEY set, neither the file sessions nor the development key write to the
    # folder, so only the database creates it. redis-py connects lazily: no Redis server is needed to start.
    instance = tmp_path / "new" / "instance"
    make_app(instance=instance, REDIS_URL="redis://127.0.0.1:1/0", KCO_API_URL="http://127.0.0.1:1",
             KCO_USERNAME="demo", KCO_PASSWORD="demo")
    assert (instance / "shop.sqlite3").is_file()
