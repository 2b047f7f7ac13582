"""The attacks that once broke the shop or found a weak spot, each performed against it (docs/security.md).

Each test does what a hostile client did: flood the shop with cookie-less requests or new carts, hold a
connection with an idle socket, post huge or absurdly nested bodies, forge callbacks, type odd quantities,
create orders in a loop, look for an answer without the security headers. Planted session ids:
tests/test_session_renewal.py. Timings are in bench/bench_hardening.py, never here: these tests prove
the behaviour (nothing evicted, nothing blocked, the right answer), bounded by timeouts.
"""

from __future__ import annotations

import re
import socket
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from harness.local_stack import ROOT
from harness.shop_client import ApiShopper, KCOCalls, callback_url, page_csrf_token
from kco_emulator.testing import KcoEmulator, ServerProcess
from shop.settings import Settings, inspector_enabled

FLOOD = 20_000
FLOOD_CHECK_EVERY = 1_000
# Bounds on the victim's answer: far below the 30 s a request used to wait for a held session lock.
VICTIM_TIMEOUT_SECONDS = 10


def stored_sessions(app: Flask) -> list[Path]:
    """The session files, less cachelib's own file that counts them."""
    cache = app.config["SESSION_CACHELIB"]
    count_file = Path(cache._get_filename(cache._fs_count_file))
    folder = Path(app.instance_path) / "sessions"
    return [path for path in folder.iterdir() if path != count_file] if folder.exists() else []


def cart_quantities(client: FlaskClient) -> dict[str, int]:
    return {item["sku"]: item["quantity"] for item in client.get("/api/cart").get_json()["cart"]["items"]}


def add_to_cart(client: FlaskClient, sku: str, quantity: str = "1", token: str | None = None) -> Any:
    token = token or page_csrf_token(client)
    return client.post("/cart/add", data={"sku": sku, "quantity": quantity, "csrf_token": token})


def session_id(client: FlaskClient) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None, "the client holds no session cookie"
    return cookie.value



# --- 1. Anonymous traffic cannot evict a shopper's session ------------------------------------------------

def test_twenty_thousand_cookie_less_requests_store_no_session_and_the_shoppers_cart_survives(
        app: Flask) -> None:
    shopper = app.test_client()
    token = page_csrf_token(shopper)
    assert add_to_cart(shopper, "mug-001", token=token).status_code == 303
    assert len(stored_sessions(app)) == 1

    crawler = app.test_client(use_cookies=False)
    for sent in range(1, FLOOD + 1):
        assert crawler.get("/").status_code == 200
        if sent % FLOOD_CHECK_EVERY == 0:
            assert len(stored_sessions(app)) == 1, f"{sent} cookie-less requests stored sessions"

    assert cart_quantities(shopper) == {"mug-001": 1}
    assert add_to_cart(shopper, "mug-001", token=token).status_code == 303  # the same session, written again
    assert cart_quantities(shopper) == {"mug-001": 2}
    assert len(stored_sessions(app)) == 1


def test_browsing_every_page_without_changing_anything_stores_no_session(app: Flask) -> None:
    visitor = app.test_client()
    for path in ("/", "/checkout", "/terms", "/api/cart", "/api/products"):
        assert visitor.get(path).status_code == 200, path
    assert stored_sessions(app) == []
    # The page's token (kept in the visitor's own cookie meanwhile) still works for the first change.
    assert add_to_cart(visitor, "tee-002").status_code == 303
    assert cart_quantities(visitor) == {"tee-002": 1}
    assert len(stored_sessions(app)) == 1


# --- 2. An idle socket cannot hold up a shopper's change ------------------------------------------------

def stalled_form_post(url: str, cookie_header: str) -> socket.socket:
    """A form post's headers, and never its body."""
    host, port = url.removeprefix("http://").split(":")
    connection = socket.create_connection((host, int(port)))
    connection.sendall((f"POST /cart/add HTTP/1.1\r\nHost: {host}\r\nCookie: {cookie_header}\r\n"
                        "Content-Type: application/x-www-form-urlencoded\r\n"
                        "Content-Length: 100\r\n\r\n").encode())
    return connection


def test_a_socket_that_never_sends_its_body_does_not_hold_up_the_victims_change(
        served_app: str, emulator: KcoEmulator) -> None:
    victim = ApiShopper(served_app)
    victim.start_checkout({"mug-001": 1})
    attackers = [stalled_form_post(served_app, f"session={victim.http.cookies['session']}") for _ in range(3)]
    try:
        answer = victim.http.post(f"{served_app}/api/cart", timeout=VICTIM_TIMEOUT_SECONDS,
                                  json={"items": [{"sku": "mug-001", "quantity": 2}]},
                                  headers={"X-CSRFToken": victim.csrf_token})
        assert answer.status_code == 200, answer.text
        assert victim.quantities() == {"mug-001": 2}
    finally:
        for attacker in attackers:
            attacker.close()


def test_two_checkouts_at_once_with_an_odd_cookie_header_leave_one_payable_order(
        served_app: str, emulator: KcoEmulator, calls: KCOCalls) -> None:
    shopper = ApiShopper(served_app)
    shopper.add_to_cart("mug-001")  # a cart, no KCO order yet: opening the checkout creates it
    cookie_header = f"a b=1; session={shopper.http.cookies['session']}"
    # No failure, only a delay: keeps the first request inside the shop while the second arrives.
    emulator.fail_next("create", status=None, delay_ms=300)
    calls.mark()
    start = threading.Barrier(2)
    statuses: list[int] = []

    def open_checkout() -> None:
        start.wait()
        statuses.append(requests.get(f"{served_app}/checkout", headers={"Cookie": cookie_header},
                                     allow_redirects=False, timeout=VICTIM_TIMEOUT_SECONDS).status_code)

    threads = [threading.Thread(target=open_checkout) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Both were read from the odd header as Flask reads it, so both found the shopper's checkout: each made
    # an order, and the one whose checkout had changed meanwhile aborted its own and showed the other.
    assert statuses == [200, 200]
    created = [entry["order_id"] for entry in emulator.calls()[calls.start:]
               if entry["operation"] == "create"]
    kept = [order_id for order_id in created if not emulator.order_state(order_id)["aborted"]]
    assert len(created) == 2 and len(kept) == 1


# --- 3. Request size and nesting --------------------------------------------------------------------------

def test_a_huge_callback_body_with_a_made_up_token_is_refused_413_before_it_is_read(
        client: FlaskClient) -> None:
    answer = client.post("/kco/callbacks/push?order_id=made-up&token=made-up", data=b"{" + b" " * 1_000_000,
                         content_type="application/json")
    assert answer.status_code == 413
    assert answer.get_json()["error"]["code"] == "body_too_large"


def test_a_huge_cart_body_on_a_real_session_is_refused_413(client: FlaskClient) -> None:
    token = page_csrf_token(client)
    assert add_to_cart(client, "mug-001", token=token).status_code == 303  # a stored session: the lock path
    answer = client.post("/api/cart", data=b"[" + b" " * 1_000_000 + b"]", content_type="application/json",
                         headers={"X-CSRFToken": token})
    assert answer.status_code == 413
    assert answer.get_json()["error"]["code"] == "body_too_large"
    assert cart_quantities(client) == {"mug-001": 1}


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def test_json_nested_deeper_than_the_parser_follows_answers_400(app: Flask, client: FlaskClient) -> None:
    token = page_csrf_token(client)
    assert add_to_cart(client, "mug-001", token=token).status_code == 303
    within_limit = client.post("/api/cart", data=nested(30_000), content_type="application/json",
                               headers={"X-CSRFToken": token})
    assert within_limit.status_code == 400
    assert within_limit.get_json()["error"]["code"] == "malformed_json"

    app.config["MAX_CONTENT_LENGTH"] = 1_000_000  # let 100,000 levels (200 KB) through to the parser
    deep = client.post("/api/cart", data=nested(100_000), content_type="application/json",
                       headers={"X-CSRFToken": token})
    assert deep.status_code == 400
    assert deep.get_json()["error"]["code"] == "malformed_json"


def test_a_callback_with_deeply_nested_json_and_a_valid_token_answers_400(
        served_app: str, emulator: KcoEmulator) -> None:
    shopper = ApiShopper(served_app)
    order_id = shopper.start_checkout({"mug-001": 1})
    answer = requests.post(callback_url(emulator, order_id, "address_update"), data=nested(30_000),
                           headers={"Content-Type": "application/json"}, timeout=VICTIM_TIMEOUT_SECONDS)
    assert answer.status_code == 400


def test_a_forged_callback_is_never_recorded_by_the_inspector(served_app: str,
                                                              emulator: KcoEmulator) -> None:
    shopper = ApiShopper(served_app)
    order_id = shopper.start_checkout({"mug-001": 1})
    forged = requests.post(f"{served_app}/kco/callbacks/address_update?order_id={order_id}&token=forged",
                           json={"shipping_address": {"country": "DE"}}, timeout=VICTIM_TIMEOUT_SECONDS)
    assert forged.status_code == 403
    log = shopper.http.get(f"{served_app}/api/inspector", timeout=VICTIM_TIMEOUT_SECONDS)
    entries = log.json()["entries"]
    assert [entry for entry in entries if entry["kind"] == "callback"] == []
    assert [entry["operation"] for entry in entries if entry["kind"] == "kco"][-1] == "create"


# --- 4. The callback token stays out of the access log ----------------------------------------------------

def test_the_development_servers_access_log_never_holds_a_callback_token(
        shop_server: ServerProcess, emulator: KcoEmulator) -> None:
    emulator.settings(push_retry_seconds=[])
    shopper = ApiShopper(shop_server.url)
    order_id = shopper.start_checkout({"mug-001": 1})
    token = callback_url(emulator, order_id, "push").split("token=", 1)[1]
    assert emulator.complete(order_id)["result"] == "completed"  # calls validation, with the token
    assert emulator.push(order_id)["status"] == 200

    logged = "".join(shop_server.output)
    assert "token=[hidden]" in logged
    assert token not in logged


FLASK_RUNNING = re.compile(r"Running on (http://[^\s]+)")


def test_flask_run_logs_a_callback_url_without_its_token(tmp_path: Path) -> None:
    # `flask --app app run`, Flask's own way to start an app, uses Werkzeug's server and its logger: the
    # filter create_app puts on that logger is what hides the token there.
    server = ServerProcess("flask run", [sys.executable, "-m", "flask", "--app", "app", "run", "--port", "0"],
                           env={"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "flask-run-test"},
                           ready=FLASK_RUNNING, cwd=ROOT)
    server.start()
    try:
        made_up = "a-made-up-token-that-must-not-be-logged"
        answer = requests.post(f"{server.url}/kco/callbacks/push?order_id=o&reference=r&token={made_up}",
                               timeout=10)
        assert answer.status_code == 403
    finally:
        server.stop()
    logged = "".join(server.output)
    assert "/kco/callbacks/push?order_id=o&reference=r&token=[hidden]" in logged
    assert made_up not in logged


# --- 5. The session cookie is Secure behind https ---------------------------------------------------------

@pytest.mark.parametrize(("variables", "secure"), [
    ({"PUBLIC_BASE_URL": "https://shop.example.com"}, True),
    ({"PUBLIC_BASE_URL": "https://shop.example.com", "SESSION_COOKIE_SECURE": "false"}, False),
    ({"PUBLIC_BASE_URL": "http://127.0.0.1:5000"}, False),
    ({}, False),
])
def test_the_session_cookie_is_secure_by_default_when_the_public_address_is_https(
        make_app: Any, variables: dict[str, str], secure: bool) -> None:
    app = make_app(KCO_API_URL="http://127.0.0.1:9", KCO_USERNAME="demo", KCO_PASSWORD="demo", **variables)
    client = app.test_client()
    page = client.get("/")
    assert ("Secure" in page.headers["Set-Cookie"]) is secure  # the visitor's CSRF cookie
    added = add_to_cart(client, "mug-001")
    session_cookie = next(value for value in added.headers.getlist("Set-Cookie")
                          if value.startswith("session="))
    assert ("Secure" in session_cookie) is secure


# --- 7. Workshop mode only when asked for, its global buttons said to be global ---------------------------

def test_workshop_mode_is_never_switched_on_by_a_local_kco_address_alone() -> None:
    proxy = Settings.from_env({"KCO_API_URL": "http://127.0.0.1:8443", "KCO_USERNAME": "u",
                               "KCO_PASSWORD": "p"})
    assert proxy.inspector is False
    assert inspector_enabled({"KCO_INSPECTOR": "1"}) is True


def test_the_panel_says_expire_fail_and_hold_act_on_every_shopper(client: FlaskClient, emulator: KcoEmulator
                                                                  ) -> None:
    add_to_cart(client, "mug-001")
    page = client.get("/checkout").get_data(as_text=True)
    assert "Expire, Fail and Hold act on the whole emulator, every shopper's orders" in page


# --- 8. Quantities are ASCII digits -----------------------------------------------------------------------

@pytest.mark.parametrize("quantity", ["1_0", "٣", " 3", "+3", "3.0", "", "0003"])
def test_add_to_cart_refuses_anything_but_ascii_digits(client: FlaskClient, quantity: str) -> None:
    answer = add_to_cart(client, "mug-001", quantity=quantity)
    assert answer.status_code == 400
    assert answer.get_json()["error"]["code"] == "invalid_quantity"


# --- 9. A budget of checkouts per client: sessions stored and KCO orders made ------------------------------

def test_a_loop_of_new_sessions_opening_the_checkout_is_stopped_with_429(
        make_app: Any, emulator_server: ServerProcess, emulator: KcoEmulator, calls: KCOCalls) -> None:
    app = make_app(KCO_API_URL=emulator_server.url, KCO_USERNAME="demo", KCO_PASSWORD="demo",
                   CHECKOUT_CREATION_LIMIT="3 per hour")
    calls.mark()
    for _ in range(3):
        shopper = app.test_client()
        add_to_cart(shopper, "mug-001")
        assert shopper.get("/checkout").status_code == 200
    assert calls.since().count("create") == 3

    shopper = app.test_client()
    token = page_csrf_token(shopper)
    assert add_to_cart(shopper, "mug-001", token=token).status_code == 429
    answer = shopper.post("/api/cart", json={"items": [{"sku": "mug-001", "quantity": 2}]},
                          headers={"X-CSRFToken": token})
    assert answer.status_code == 429
    assert answer.get_json()["error"]["code"] == "too_many_checkouts"
    assert shopper.get("/checkout").status_code == 200  # an empty cart: no order, nothing to refuse
    assert calls.since().count("create") == 3
    assert shopper.get("/api/cart").status_code == 200  # reading is never limited


def test_a_flood_of_cart_adds_from_one_address_stores_no_more_sessions_than_its_budget(
        make_app: Any, emulator_server: ServerProcess) -> None:
    app = make_app(KCO_API_URL=emulator_server.url, KCO_USERNAME="demo", KCO_PASSWORD="demo",
                   CHECKOUT_CREATION_LIMIT="5 per hour")
    statuses = []
    for _ in range(40):
        visitor = app.test_client()  # a new cookie jar: a new visitor each time
        statuses.append(add_to_cart(visitor, "mug-001").status_code)
    assert statuses == [303] * 5 + [429] * 35
    assert len(stored_sessions(app)) == 5
    browsing = app.test_client()
    assert browsing.get("/").status_code == 200  # browsing is never limited


# --- 11. Every answer carries the security headers, whatever made it ----------------------------------

def test_every_kind_of_answer_carries_the_security_headers(app: Flask, emulator: KcoEmulator) -> None:
    shopper = app.test_client()
    token = page_csrf_token(shopper)
    add_to_cart(shopper, "mug-001", token=token)
    old_session = session_id(shopper)
    assert shopper.get("/checkout").status_code == 200  # a new session id: the old one is superseded
    late = app.test_client()
    late.set_cookie("session", old_session)
    json_headers = {"X-CSRFToken": token}
    answers = {
        "page": shopper.get("/checkout"),
        "json": shopper.get("/api/cart"),
        "redirect": add_to_cart(shopper, "mug-001", token=token),
        "413": shopper.post("/api/cart", data=b"[" + b" " * 100_000 + b"]", content_type="application/json",
                            headers=json_headers),
        "400": shopper.post("/api/cart", data=b"{", content_type="application/json", headers=json_headers),
        "403 csrf": shopper.post("/api/cart", json={"items": []}),
        "403 callback": shopper.post("/kco/callbacks/push?order_id=o&reference=r&token=t"),
        "404": shopper.get("/no-such-page"),
        "405": shopper.put("/api/cart"),
        "409 late": late.post("/api/cart", json={"items": []}, headers=json_headers),
        "static": shopper.get("/static/css/shop.css"),
    }
    for kind, answer in answers.items():
        assert answer.headers.get("X-Content-Type-Options") == "nosniff", kind
        assert answer.headers.get("Content-Security-Policy"), kind
        assert answer.headers.get("Referrer-Policy") == "same-origin", kind
    assert answers["409 late"].status_code == 409
