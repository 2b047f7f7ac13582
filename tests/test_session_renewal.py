"""A new session id whenever an answer shows a KCO order (session fixation), and what a request sent with the
old id gets however late it comes: never a new visitor's answer (shop/sessions.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from harness.shop_client import page_csrf_token, shop_text
from kco_emulator.testing import KcoEmulator
from shop import records as records_module
from shop.records import Records

NEW_CART = {"items": [{"sku": "mug-001", "quantity": 3}]}


def session_id(client: FlaskClient) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None, "the client holds no session cookie"
    return cookie.value


def shopper_at_checkout(app: Flask) -> tuple[FlaskClient, str]:
    """A shopper with a cart whose checkout page showed the widget; their page's CSRF token."""
    shopper = app.test_client()
    token = page_csrf_token(shopper)
    assert shopper.post("/cart/add", data={"sku": "mug-001", "csrf_token": token}).status_code == 303
    assert shopper.get("/checkout").status_code == 200
    return shopper, token


def tab_with_cookie(app: Flask, session: str) -> FlaskClient:
    tab = app.test_client()
    tab.set_cookie("session", session)
    return tab


def test_a_change_sent_with_the_old_id_after_the_renewal_is_told_so_and_lands_when_sent_again(
        app: Flask, emulator: KcoEmulator) -> None:
    shopper, token = shopper_at_checkout(app)
    old = session_id(shopper)
    assert shopper.get("/checkout").status_code == 200  # another tab loads the checkout: a new id
    assert session_id(shopper) != old

    late = tab_with_cookie(app, old)  # a request the first tab sent just before, arriving only now
    refused = late.post("/api/cart", json=NEW_CART, headers={"X-CSRFToken": token})
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "session_renewed"
    read = late.get("/api/cart")
    assert read.status_code == 409 and read.get_json()["error"]["code"] == "session_renewed"

    resent = shopper.post("/api/cart", json=NEW_CART, headers={"X-CSRFToken": token})  # the browser's cookie
    assert resent.status_code == 200
    assert resent.get_json()["cart"]["items"][0]["quantity"] == 3


def test_a_page_asked_for_with_the_old_id_is_sent_to_itself_once_and_never_loops(
        app: Flask, emulator: KcoEmulator) -> None:
    shopper, _ = shopper_at_checkout(app)
    old = session_id(shopper)
    shopper.get("/checkout")
    lost = tab_with_cookie(app, old)  # a browser that never got the new cookie
    first = lost.get("/checkout")
    assert first.status_code == 303 and first.headers["Location"] == "/checkout"
    again = lost.get("/checkout")
    assert again.status_code == 200  # a new visitor now: the cart left with the new id
    assert shop_text("Your cart is empty.") in again.get_data(as_text=True)


def test_a_planted_session_that_already_has_an_order_is_cut_off_when_the_victim_opens_the_checkout(
        app: Flask, emulator: KcoEmulator) -> None:
    attacker, attacker_token = shopper_at_checkout(app)  # the attacker's own order, then its session id
    planted = session_id(attacker)

    victim = tab_with_cookie(app, planted)  # e.g. through a link or a subdomain the attacker controls
    victim_token = page_csrf_token(victim)
    assert victim.post("/cart/add", data={"sku": "tee-002", "csrf_token": victim_token}).status_code == 303
    assert victim.get("/checkout").status_code == 200  # the widget the victim types into
    assert session_id(victim) != planted

    assert attacker.get("/api/cart").status_code == 409
    change = attacker.post("/api/cart", json=NEW_CART, headers={"X-CSRFToken": attacker_token})
    assert change.status_code == 409
    assert attacker.get("/checkout").status_code == 303
    page = attacker.get("/checkout").get_data(as_text=True)
    assert "Organic cotton T-shirt" not in page and 'data-kco-order-id=""' in page
    assert {item["sku"] for item in victim.get("/api/cart").get_json()["cart"]["items"]} == {"mug-001",
                                                                                             "tee-002"}


def test_a_planted_session_id_sees_neither_the_victims_order_nor_the_confirmation(
        app: Flask, served_app: str, emulator: KcoEmulator) -> None:
    attacker = app.test_client()
    token = page_csrf_token(attacker)
    assert attacker.post("/cart/add", data={"sku": "socks-004", "csrf_token": token}).status_code == 303
    planted = session_id(attacker)

    victim = tab_with_cookie(app, planted)
    victim_token = page_csrf_token(victim)
    assert victim.post("/cart/add", data={"sku": "mug-001", "csrf_token": victim_token}).status_code == 303
    assert victim.get("/checkout").status_code == 200
    order_id = victim.get("/api/cart").get_json()["order"]["order_id"]
    paying = session_id(victim)
    assert paying != planted
    assert attacker.get("/api/cart").status_code == 409
    assert attacker.get(f"/confirmation?order_id={order_id}").status_code == 303  # once, then a stranger
    assert attacker.get(f"/confirmation?order_id={order_id}").status_code == 404

    assert emulator.complete(order_id)["result"] == "completed"
    assert victim.get(f"/confirmation?order_id={order_id}").status_code == 200
    assert session_id(victim) not in (planted, paying)  # and again at the confirmation
    thief = tab_with_cookie(app, paying)  # even the id used while paying no longer reads the confirmation
    assert thief.get(f"/confirmation?order_id={order_id}").status_code == 303
    assert thief.get(f"/confirmation?order_id={order_id}").status_code == 404


def test_a_superseded_id_is_forgotten_after_an_hour(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    records = Records(f"sqlite:///{tmp_path / 'shop.sqlite3'}")
    records.supersede_session("old-id")
    assert records.was_superseded("old-id") and not records.was_superseded("other-id")
    later = records_module._now() + timedelta(hours=1, seconds=1)
    monkeypatch.setattr(records_module, "_now", lambda: later)
    assert not records.was_superseded("old-id")
