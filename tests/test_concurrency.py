"""Two tabs of one session at the same moment: the session's cart and the KCO order end equal, never a mix.

Both tabs share one cookie jar, as two tabs of one browser do, and post different carts at once. A delay on
the KCO call the first request makes (an emulator fault) keeps that request inside the shop while the second
one arrives, so the two really overlap. shop/session_lock.py makes the second wait until the first has saved
the session; the KCO calls counted here show it: the second request starts from the first one's session.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask

from harness.devserver import ServerProcess
from harness.emulator_control import EmulatorControl
from harness.redis_server import redis_server_binary, start_redis
from harness.shop_client import ApiShopper, KCOCalls, kco_order, kco_quantities
from harness.wsgi_server import WsgiServer
from shop import session_lock
from shop.session_lock import FileLocks, Found, RedisLocks, SessionBusy

ROUNDS = 5
OVERLAP_DELAY_MS = 200


def carts_of_round(round_number: int) -> tuple[dict[str, int], dict[str, int]]:
    """Two carts unlike each other and unlike any earlier round's, so each one really changes the order."""
    return {"mug-001": 1 + round_number, "tee-002": 2}, {"bottle-003": 1 + round_number}


def second_tab(shopper: ApiShopper) -> ApiShopper:
    """Another tab of the same browser: the same cookies and the page's CSRF token."""
    tab = ApiShopper(shopper.base_url)
    tab.http.cookies.update(shopper.http.cookies)
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


def post_at_once(tabs: list[ApiShopper], carts: list[dict[str, int]]) -> list[requests.Response]:
    return at_once(*(partial(tab.set_cart, cart) for tab, cart in zip(tabs, carts, strict=True)))


def test_two_tabs_creating_the_first_order_at_once_make_one_order_holding_one_of_the_carts(
        shop_server: ServerProcess, emulator: EmulatorControl, calls: KCOCalls) -> None:
    for round_number in range(ROUNDS):
        cart_a, cart_b = carts_of_round(round_number)
        shopper = ApiShopper(shop_server.url)
        shopper.add_to_cart("socks-004")  # a cart but no KCO order yet: the next change creates it
        calls.mark()
        emulator.fault("create", delay_ms=OVERLAP_DELAY_MS)
        tabs = [shopper, second_tab(shopper)]
        answers = post_at_once(tabs, [cart_a, cart_b])
        assert sorted(answer.status_code for answer in answers) == [200, 409]
        # One create. The other request waited for the lock; creating the order gave the session a new id
        # (shop/sessions.py, against session fixation), so the waiting request, sent with the old id, is told
        # to reload instead of starting a second order from an empty session.
        first = 0 if answers[0].status_code == 200 else 1
        assert answers[1 - first].json()["error"]["code"] == "session_renewed"  # it never reached the shop
        assert calls.since(tabs[first].order_id()) == ["create"]
        cart = tabs[first].quantities()
        assert cart == (cart_a, cart_b)[first]
        assert kco_quantities(emulator, tabs[first].order_id()) == cart


def test_two_tabs_changing_the_cart_at_once_end_with_one_cart_in_the_session_and_in_kco(
        shop_server: ServerProcess, emulator: EmulatorControl, calls: KCOCalls) -> None:
    shopper = ApiShopper(shop_server.url)
    shopper.add_to_cart("socks-004")
    assert shopper.open_checkout().status_code == 200
    order_id = shopper.order_id()
    tab = second_tab(shopper)
    for round_number in range(ROUNDS):
        calls.mark()
        emulator.fault("update", delay_ms=OVERLAP_DELAY_MS)
        cart_a, cart_b = carts_of_round(round_number)
        answers = post_at_once([shopper, tab], [cart_a, cart_b])
        assert [answer.status_code for answer in answers] == [200, 200]
        # Both changes reached KCO, one after the other; the later one is what both hold now.
        assert Counter(calls.since()) == Counter({"update": 2})
        cart = shopper.quantities()
        assert cart in (cart_a, cart_b)
        assert shopper.order_id() == order_id
        assert kco_quantities(emulator, order_id) == cart


def test_a_cart_change_and_a_country_change_from_two_tabs_at_once_both_survive(
        shop_server: ServerProcess, emulator: EmulatorControl, calls: KCOCalls) -> None:
    # Without the lock both requests would start from the same session and the one finishing last would
    # write its session (and KCO order) over the other: one of the two changes would be lost.
    for round_number in range(ROUNDS):
        shopper = ApiShopper(shop_server.url)
        shopper.add_to_cart("socks-004")
        assert shopper.open_checkout().status_code == 200
        tab = second_tab(shopper)
        cart, _ = carts_of_round(round_number)
        emulator.fault("update", delay_ms=OVERLAP_DELAY_MS)
        answers = at_once(partial(shopper.set_cart, cart), partial(tab.set_market, "DE"))
        assert [answer.status_code for answer in answers] == [200, 200]
        held = shopper.cart()["cart"]
        assert (shopper.quantities(), held["country"]) == (cart, "DE")
        order = kco_order(emulator, shopper.order_id())
        assert kco_quantities(emulator, shopper.order_id()) == cart
        assert (order["purchase_country"].upper(), order["purchase_currency"]) == ("DE", "EUR")


# --- the lock itself, across processes ---------------------------------------------------------------------

HOLDER = """
import sys
from pathlib import Path
from shop.session_lock import FileLocks
with FileLocks(Path(sys.argv[1])).hold(sys.argv[2]):
    print("held", flush=True)
    sys.stdin.read()
"""


def test_a_session_locked_by_another_process_waits_until_that_process_lets_go(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = "ab" * 32
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path), key],
                              cwd=Path(__file__).parent.parent, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        monkeypatch.setattr(session_lock, "WAIT_SECONDS", 0)
        with pytest.raises(SessionBusy), FileLocks(tmp_path).hold(key):
            pass
        assert holder.stdin is not None
        holder.stdin.close()  # the holder lets go and exits
        assert holder.wait(timeout=10) == 0
        with FileLocks(tmp_path).hold(key):
            pass
    finally:
        if holder.poll() is None:
            holder.kill()


@pytest.mark.skipif(redis_server_binary() is None, reason="redis-server is not installed")
def test_with_redis_a_session_locked_elsewhere_is_busy_until_released(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import redis

    server = start_redis(tmp_path)
    try:
        first, second = (RedisLocks(redis.Redis.from_url(server.url)) for _ in range(2))
        first.client.set("session:the-sid", b"stored")
        monkeypatch.setattr(session_lock, "WAIT_SECONDS", 0.05)
        with first.hold_if_stored("the-sid"):
            with pytest.raises(SessionBusy), second.hold_if_stored("the-sid"):
                pass
        with second.hold_if_stored("the-sid"):
            pass
    finally:
        server.stop()


@pytest.mark.skipif(redis_server_binary() is None, reason="redis-server is not installed")
def test_with_redis_one_round_trip_tells_a_never_stored_session_from_one_renewed_while_waiting(
        tmp_path: Path) -> None:
    import redis

    server = start_redis(tmp_path)
    try:
        client = redis.Redis.from_url(server.url)
        first, second = RedisLocks(client), RedisLocks(client)
        with first.hold_if_stored("made-up") as found:
            assert found is Found.NEVER_STORED
        assert client.keys("shop:session-lock:*") == []  # a made-up id locks nothing

        client.set("session:the-sid", b"stored")
        with first.hold_if_stored("the-sid") as found:
            assert found is Found.HELD
            outcomes: list[Found] = []
            waiter = threading.Thread(target=lambda: outcomes.append(_found(second, "the-sid")))
            waiter.start()
            time.sleep(0.1)  # the second request is waiting for the lock
            # The holder renews the session (a new id, the old one deleted) and lets go.
            client.delete("session:the-sid")
        waiter.join(timeout=5)
        assert outcomes == [Found.RENEWED]
    finally:
        server.stop()


def _found(locks: RedisLocks, sid: str) -> Found:
    with locks.hold_if_stored(sid) as found:
        return found


def test_reading_the_cart_never_writes_the_session_so_it_cannot_undo_a_concurrent_change(
    shop_server: ServerProcess, shopper: ApiShopper
) -> None:
    # Reads run without the session lock; were they to save the session they loaded, a read overlapping a
    # cart change could write the older cart back. So a read must leave the stored session untouched.
    shopper.add_to_cart("mug-001", 2)
    sessions = Path(shop_server.env["INSTANCE_PATH"]) / "sessions"
    before = {path: path.stat().st_mtime_ns for path in sessions.iterdir()}
    for _ in range(3):
        assert shopper.get("/api/cart").status_code == 200
    assert {path: path.stat().st_mtime_ns for path in sessions.iterdir()} == before


def redis_commands(client: Any) -> dict[str, int]:
    """How often Redis ran each command since its statistics were last reset."""
    statistics = client.info("commandstats")
    return {name.removeprefix("cmdstat_"): counts["calls"] for name, counts in statistics.items()}


@pytest.mark.skipif(redis_server_binary() is None, reason="redis-server is not installed")
def test_with_redis_a_locked_change_opens_its_session_from_the_lock_and_frees_the_lock_with_the_save(
        make_app: Callable[..., Flask], emulator_server: ServerProcess, tmp_path: Path) -> None:
    import redis

    server = start_redis(tmp_path)
    shop = None
    try:
        client = redis.Redis.from_url(server.url)
        shop = WsgiServer(make_app(KCO_API_URL=emulator_server.url, REDIS_URL=server.url))
        shopper = ApiShopper(shop.url)
        shopper.add_to_cart("mug-001")
        assert shopper.open_checkout().status_code == 200

        client.config_resetstat()
        assert shopper.set_cart({"mug-001": 2}).status_code == 200
        # Sent: the lock's script (EVALSHA), then the script that saves the session and frees the lock (a
        # second EVALSHA); no GET of the session. Inside the scripts Redis runs get and set (taking), and set,
        # get and del (saving and freeing), which its statistics count too.
        assert redis_commands(client) == {"config|resetstat": 1, "evalsha": 2, "get": 2, "set": 2, "del": 1}
        assert client.keys("shop:session-lock:*") == []
        assert shopper.cart()["cart"]["items"][0]["quantity"] == 2

        unknown_sku = {"items": [{"sku": "no-such-sku", "quantity": 1}]}
        # The first refusal also loads the freeing script into Redis (EVALSHA, NOSCRIPT, SCRIPT LOAD).
        assert shopper.post_json("/api/cart", unknown_sku).status_code == 400
        client.config_resetstat()
        assert shopper.post_json("/api/cart", unknown_sku).status_code == 400
        # Nothing saved: the lock is freed by a script of its own (a second EVALSHA).
        assert redis_commands(client) == {"config|resetstat": 1, "evalsha": 2, "get": 2, "set": 1, "del": 1}
        assert client.keys("shop:session-lock:*") == []
    finally:
        if shop is not None:
            shop.close()
        server.stop()
