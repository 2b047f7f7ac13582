"""The checkout row: one home for a checkout, stored only over the version it was read at, so a KCO callback
that lands while the shopper's request waits for KCO is never rolled back by that request; and the engine
used as SQLAlchemy documents it (its pool, pre-ping, a fresh pool after a fork)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from kco.checkout import Action, Outcome
from shop.callbacks import choose_shipping_option, for_address, refine
from shop.cart import Checkout
from shop.checkout_flow import CheckoutFlow
from shop.records import CheckoutChanged, Records
from shop.security import callback_token

ORDER_ID = "order-1"
SECRET = "secret"


class CallbackDuringTheUpdate:
    """Stands in for kco.checkout.CheckoutSync: while the shop "waits for KCO" the first time, a callback
    stores the checkout; every update it is asked for is counted."""

    def __init__(self, callback: Callable[[], None]) -> None:
        self.callback: Callable[[], None] | None = callback
        self.known: list[str | None] = []

    def on_change(self, order_id: str | None, desired: Mapping[str, Any] | None,
                  known_fingerprint: str | None, create_extras: Any) -> Outcome:
        self.known.append(known_fingerprint)
        if self.callback is not None:
            callback, self.callback = self.callback, None
            callback()
        return Outcome(Action.UPDATED, order_id, fingerprint=f"update-{len(self.known)}")


@pytest.fixture
def records(tmp_path: Path) -> Records:
    records = Records(f"sqlite:///{tmp_path / 'shop.sqlite3'}")
    records.save(Checkout(id="checkout-1", order_id=ORDER_ID, reference="reference-1", cart={"mug-001": 1},
                          kco_cart={"mug-001": 1}, kco_fingerprint="first"))
    return records


def callback_args() -> dict[str, str]:
    return {"order_id": ORDER_ID, "reference": "reference-1", "token": callback_token(SECRET, "reference-1")}


def change_cart_while(records: Records, callback: Callable[[], None]) -> CallbackDuringTheUpdate:
    sync = CallbackDuringTheUpdate(callback)
    flow = CheckoutFlow(sync, records, SECRET, lambda: "https://shop.example.com")  # type: ignore[arg-type]

    def add_a_mug(checkout: Checkout, at: int) -> None:
        checkout.set_cart({"mug-001": 2}, at)

    flow.change({"checkout_id": "checkout-1"}, add_a_mug)
    return sync


def test_a_country_change_during_a_cart_update_keeps_its_market_and_the_cart_is_sent_again(
        records: Records) -> None:
    def country_change() -> None:
        _, status = refine(records, SECRET, callback_args(), {"billing_address": {"country": "DE"}},
                           for_address(billing_first=True))
        assert status == 200

    sync = change_cart_while(records, country_change)
    row = records.checkout("checkout-1")
    assert row is not None
    assert (row.country, row.locale, row.cart) == ("DE", "de-DE", {"mug-001": 2})
    # The first update went out for Sweden; after the callback the change ran again for Germany, not trusting
    # what the callback's answer left at KCO, since the first update may have landed after it.
    assert sync.known == ["first", None]
    assert row.kco_fingerprint == "update-2"


def test_a_shipping_choice_during_a_cart_update_stays_in_the_checkout(records: Records) -> None:
    def shipping_option_update() -> None:
        _, status = refine(records, SECRET, callback_args(), {"selected_shipping_option": {"id": "express"}},
                           choose_shipping_option)
        assert status == 200

    change_cart_while(records, shipping_option_update)
    row = records.checkout("checkout-1")
    assert row is not None
    assert row.shipping_option_id == "express" and row.cart == {"mug-001": 2}


def flow_over(records: Records, sync: CallbackDuringTheUpdate) -> CheckoutFlow:
    return CheckoutFlow(sync, records, SECRET, lambda: "https://shop.example.com")  # type: ignore[arg-type]


def test_of_two_cart_changes_at_once_the_one_that_came_later_wins_even_when_stored_first(
        records: Records) -> None:
    session = {"checkout_id": "checkout-1"}

    def later_tab() -> None:
        flow_over(records, CallbackDuringTheUpdate(lambda: None)).change(
            session, lambda checkout, at: checkout.set_cart({"tee-002": 5}, at))

    sync = CallbackDuringTheUpdate(later_tab)
    flow_over(records, sync).change(session, lambda checkout, at: checkout.set_cart({"socks-004": 1}, at))
    row = records.checkout("checkout-1")
    assert row is not None and row.cart == {"tee-002": 5}
    # The earlier tab's update may have reached KCO after the later one's: it sent the later cart again.
    assert sync.known == ["first", None]


def test_of_a_cart_change_and_a_market_change_at_once_both_survive_whichever_is_stored_first(
        records: Records) -> None:
    session = {"checkout_id": "checkout-1"}

    def later_tab() -> None:
        flow_over(records, CallbackDuringTheUpdate(lambda: None)).change(
            session, lambda checkout, at: checkout.move_to("DE", "de-DE", at))

    flow_over(records, CallbackDuringTheUpdate(later_tab)).change(
        session, lambda checkout, at: checkout.set_cart({"socks-004": 1}, at))
    row = records.checkout("checkout-1")
    assert row is not None and (row.cart, row.country) == ({"socks-004": 1}, "DE")


def test_a_store_over_a_version_that_is_no_longer_the_rows_changes_nothing(records: Records) -> None:
    first, second = records.checkout("checkout-1"), records.checkout("checkout-1")
    assert first is not None and second is not None
    first.cart = {"tee-002": 1}
    records.save(first)
    second.cart = {"socks-004": 5}
    with pytest.raises(CheckoutChanged):
        records.save(second)
    stored = records.checkout("checkout-1")
    assert stored is not None and stored.cart == {"tee-002": 1} and stored.version == 2


def test_a_refine_callback_that_finds_the_checkout_changed_runs_again_from_the_stored_row(
        records: Records) -> None:
    def decide(checkout: Checkout, body: Mapping[str, Any],
               at: int) -> dict[str, Any] | tuple[dict[str, Any], int]:
        if not decided:
            other = records.checkout("checkout-1")  # the shopper's request stores a new cart meanwhile
            assert other is not None
            other.cart = other.kco_cart = {"tee-002": 3}
            records.save(other)
        decided.append(dict(checkout.cart))
        return choose_shipping_option(checkout, body, at)

    decided: list[dict[str, int]] = []
    answer, status = refine(records, SECRET, callback_args(), {"selected_shipping_option": {"id": "express"}},
                            decide)
    assert status == 200
    assert decided == [{"mug-001": 1}, {"tee-002": 3}]
    assert [line["reference"] for line in answer["order_lines"]] == ["tee-002", "express"]


def test_a_replaced_order_finds_no_checkout_so_its_callbacks_are_refused(records: Records) -> None:
    checkout = records.checkout("checkout-1")
    assert checkout is not None
    checkout.order_id, checkout.reference = "order-2", "reference-2"
    records.save(checkout)
    body, status = refine(records, SECRET, callback_args(), {"selected_shipping_option": {"id": "express"}},
                          choose_shipping_option)
    assert status == 400 and "replaced" in body["error_text"]


def test_a_forked_process_never_uses_a_connection_of_its_parent(records: Records) -> None:
    # gunicorn --preload forks its workers after create_app made connections; two processes on one
    # connection mix their statements (PostgreSQL answered DuplicatePreparedStatement).
    with records.engine.connect() as connection:
        parents = id(connection.connection.dbapi_connection)
    assert records.engine.pool.checkedin() == 1
    child = os.fork()
    if child == 0:  # the child reports through its exit code only
        with records.engine.connect() as connection:
            reused = id(connection.connection.dbapi_connection) == parents
        os._exit(1 if reused else 0)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the child was handed its parent's connection"
    with records.engine.connect() as connection:
        assert id(connection.connection.dbapi_connection) == parents  # the parent's pool is untouched


def test_a_database_from_an_earlier_version_of_the_shop_is_upgraded(tmp_path: Path) -> None:
    database = tmp_path / "old.sqlite3"
    old = Records(f"sqlite:///{database}")
    with old.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE checkouts")
        connection.exec_driver_sql("CREATE TABLE checkouts (order_id VARCHAR PRIMARY KEY, cart TEXT)")
        connection.exec_driver_sql("ALTER TABLE orders DROP COLUMN fraud_status")
    old.engine.dispose()
    records = Records(f"sqlite:///{database}")
    records.save(Checkout(id="new", cart={"mug-001": 1}))
    assert records.checkout("new") is not None
    assert records.record_order({"order_id": "o"}, recorded_by="push", fraud_status="pending")
    assert (records.order("o") or {})["fraud_status"] == "pending"
