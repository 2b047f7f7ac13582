"""Two tabs of one browser at the same moment, or a tab and a KCO callback: the checkout and the KCO order end
equal, each change applied on top of the other, never one stored over the other.

Both tabs share one cookie jar, as two tabs of one browser do, and post at once. A delay on the KCO call the
first request makes (an emulator fault) keeps that request inside the shop while the second one arrives and
finishes, so the two really overlap. Nothing is locked: the checkout row's version tells the slower request
that the checkout changed, and it applies its change again to what the faster one stored
(shop/checkout_flow.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask

from harness.redis_server import redis_server_binary, start_redis
from harness.shop_client import ApiShopper, KCOCalls, callback_url, kco_order, kco_quantities
from kco_emulator.testing import KcoEmulator, ServerProcess, WsgiServer

ROUNDS = 3
OVERLAP_DELAY_MS = 300


def carts_of_round(round_number: int) -> tuple[dict[str, int], dict[str, int]]:
    """Two carts unlike each other and unlike any earlier round's, so each one really changes the order."""
    return {"mug-001": 1 + round_number, "tee-002": 2}, {"bottle-003": 1 + round_number}


def second_tab(shopper: ApiShopper) -> ApiShopper:
    """Another tab of the same browser: the same cookie jar and the page's CSRF token."""
    tab = ApiShopper(shopper.base_url)
    tab.http.cookies = shopper.http.cookies
    tab.csrf_token = shopper.csrf_token
    return tab


def at_once(*requests_to_send: Callable[[], requests.Response]) -> list[requests.Response]:
    """Send the requests from threads released together; their answers in the given order."""
    start = threading.Barrier(len(requests_to_send))
    answers: list[requests.Response | None] = [None] * len(requests_to_send)

    def send(index: int) -> None:
        start.wait()
        answers[index] = requests_to_send[index]()

    threads = [threading.Thread(target=send, args=(index,)) for index in range(len(requests_to_send))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(answer is not None for answer in answers)
    return [answer for answer in answers if answer is not None]


def created_orders(emulator: KcoEmulator, calls: KCOCalls) -> list[str]:
    entries = emulator.calls()[calls.start:]
    return [entry["order_id"] for entry in entries
            if entry["operation"] == "create" and entry["status"] == 201]


def assert_one_payable_order(shopper: ApiShopper, emulator: KcoEmulator, calls: KCOCalls) -> str:
    """The session's order holds the session's cart; every other order made meanwhile is aborted."""
    order_id = shopper.order_id()
    assert kco_quantities(emulator, order_id) == shopper.quantities()
    for other in created_orders(emulator, calls):
        if other != order_id:
            assert emulator.order_state(other)["aborted"], f"{other} is left payable"
    return order_id


def test_two_tabs_creating_the_first_order_at_once_leave_one_payable_order_holding_the_cart(
        shop_server: ServerProcess, emulator: KcoEmulator, calls: KCOCalls) -> None:
    for round_number in range(ROUNDS):
        cart_a, cart_b = carts_of_round(round_number)
        shopper = ApiShopper(shop_server.url)
        shopper.add_to_cart("socks-004")  # a cart but no KCO order yet: the next change creates it
        calls.mark()
        emulator.fail_next("create", status=None, delay_ms=OVERLAP_DELAY_MS)
        tab = second_tab(shopper)
        answers = at_once(partial(shopper.set_cart, cart_a), partial(tab.set_cart, cart_b))
        assert [answer.status_code for answer in answers] == [200, 200]
        order_id = assert_one_payable_order(shopper, emulator, calls)
        assert {answer.json()["order"]["order_id"] for answer in answers} == {order_id}
        assert shopper.quantities() in (cart_a, cart_b)


def test_two_tabs_changing_the_cart_at_once_end_with_one_cart_in_the_checkout_and_in_kco(
        shop_server: ServerProcess, emulator: KcoEmulator, calls: KCOCalls) -> None:
    shopper = ApiShopper(shop_server.url)
    order_id = shopper.start_checkout({"socks-004": 1})
    tab = second_tab(shopper)
    for round_number in range(ROUNDS):
        calls.mark()
        emulator.fail_next("update", status=None, delay_ms=OVERLAP_DELAY_MS)
        cart_a, cart_b = carts_of_round(round_number)
        answers = at_once(partial(shopper.set_cart, cart_a), partial(tab.set_cart, cart_b))
        assert [answer.status_code for answer in answers] == [200, 200]
        assert shopper.quantities() in (cart_a, cart_b)
        assert assert_one_payable_order(shopper, emulator, calls) == order_id


def test_a_cart_change_and_a_country_change_from_two_tabs_at_once_both_survive(
        shop_server: ServerProcess, emulator: KcoEmulator) -> None:
    for round_number in range(ROUNDS):
        shopper = ApiShopper(shop_server.url)
        shopper.start_checkout({"socks-004": 1})
        tab = second_tab(shopper)
        cart, _ = carts_of_round(round_number)
        emulator.fail_next("update", status=None, delay_ms=OVERLAP_DELAY_MS)
        answers = at_once(partial(shopper.set_cart, cart), partial(tab.set_market, "DE"))
        assert [answer.status_code for answer in answers] == [200, 200]
        held = shopper.cart()["cart"]
        assert (shopper.quantities(), held["country"]) == (cart, "DE")
        order = kco_order(emulator, shopper.order_id())
        assert kco_quantities(emulator, shopper.order_id()) == cart
        assert (order["purchase_country"].upper(), order["purchase_currency"]) == ("DE", "EUR")


def test_a_slow_change_overtaken_by_one_that_replaced_the_order_lands_on_the_new_order(
        shop_server: ServerProcess, emulator: KcoEmulator, calls: KCOCalls) -> None:
    # Once a lock that expired before a slow request ended: the other tab replaced the order meanwhile, the
    # slow request then saved its session over it, and the new order stayed payable, known to nobody.
    shopper = ApiShopper(shop_server.url)
    old_order = shopper.start_checkout({"socks-004": 1})
    tab = second_tab(shopper)
    calls.mark()
    emulator.fail_next("update", status=None, delay_ms=OVERLAP_DELAY_MS)  # the slow tab's update
    emulator.fail_next("update", status=404, body="empty")  # the other tab's: the order is gone, replaced
    answers = at_once(partial(shopper.set_cart, {"mug-001": 2}), partial(tab.set_market, "DE"))
    assert [answer.status_code for answer in answers] == [200, 200]
    new_order = shopper.order_id()
    assert new_order != old_order
    assert (shopper.quantities(), shopper.cart()["cart"]["country"]) == ({"mug-001": 2}, "DE")
    assert kco_quantities(emulator, new_order) == {"mug-001": 2}
    # The old order, updated late by the slow tab, cannot be paid: the shop refuses its validation.
    validation = callback_url(emulator, old_order, "validation")
    refused = requests.post(validation, json=kco_order(emulator, old_order), allow_redirects=False,
                            timeout=10)
    assert refused.status_code == 303


def test_reading_the_cart_writes_neither_the_session_nor_the_checkout(
        shop_server: ServerProcess, shopper: ApiShopper) -> None:
    shopper.add_to_cart("mug-001", 2)
    sessions = Path(shop_server.env["INSTANCE_PATH"]) / "sessions"
    before = {path: path.stat().st_mtime_ns for path in sessions.iterdir()}
    version = shopper.cart()
    for _ in range(3):
        assert shopper.get("/api/cart").status_code == 200
    assert {path: path.stat().st_mtime_ns for path in sessions.iterdir()} == before
    assert shopper.cart() == version


def redis_commands(client: Any) -> dict[str, int]:
    """How often Redis ran each command since its statistics were last reset."""
    statistics = client.info("commandstats")
    return {name.removeprefix("cmdstat_"): counts["calls"] for name, counts in statistics.items()}


@pytest.mark.skipif(redis_server_binary() is None, reason="redis-server is not installed")
def test_with_redis_a_cart_change_reads_the_session_once_and_never_writes_it(
        make_app: Callable[..., Flask], emulator_server: ServerProcess, tmp_path: Path) -> None:
    import redis

    server = start_redis(tmp_path)
    shop = None
    try:
        client = redis.Redis.from_url(server.url)
        shop = WsgiServer(make_app(KCO_API_URL=emulator_server.url, REDIS_URL=server.url))
        shopper = ApiShopper(shop.start())
        shopper.start_checkout({"mug-001": 1})
        client.config_resetstat()
        assert shopper.set_cart({"mug-001": 2}).status_code == 200
        # One read, of the session, and no write: the checkout is the database's, the session only names it,
        # and a shopper who has a checkout costs the budget's counter nothing (shop/budgets.py).
        assert redis_commands(client) == {"config|resetstat": 1, "get": 1}
        assert shopper.quantities() == {"mug-001": 2}
    finally:
        if shop is not None:
            shop.stop()
        server.stop()
