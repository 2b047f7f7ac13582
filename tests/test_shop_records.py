"""The checkout row: each writer writes only its own columns, so a KCO callback that lands while the shopper's
request waits for KCO is not rolled back by that request's older copy of the row."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

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


def test_the_shop_starts_with_redis_sessions_and_a_new_empty_instance_folder(
        make_app: Callable[..., Any], tmp_path: Path) -> None:
    # With REDIS_URL and SECRET_KEY set, neither the file sessions nor the development key write to the
    # folder, so only the database creates it. redis-py connects lazily: no Redis server is needed to start.
    instance = tmp_path / "new" / "instance"
    make_app(instance=instance, REDIS_URL="redis://127.0.0.1:1/0", KCO_API_URL="http://127.0.0.1:1",
             KCO_USERNAME="demo", KCO_PASSWORD="demo")
    assert (instance / "shop.sqlite3").is_file()
