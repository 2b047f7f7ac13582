"""Going live without surprises: every setting in docs/real-playground.md's table tried as a merchant would
set it, stores that go away after the start, health checks, shoppers behind a proxy, and one time budget for
KCO per shopper request."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask

from harness.local_stack import ROOT
from harness.postgres_server import postgres_bin_dir, start_postgres
from harness.redis_server import redis_server_binary, start_redis
from harness.shop_client import ApiShopper, page_csrf_token, shop_text
from kco_emulator.testing import KcoEmulator, ServerProcess, WsgiServer
from shop.settings import Settings

PLAYGROUND = {
    "KCO_ENVIRONMENT": "playground",
    "KCO_API_KEY": "kco_test_api_not-a-real-key",
    "PUBLIC_BASE_URL": "https://shop.example.com",
    "KCO_SNIPPET_ORIGINS": "https://js.example.com",
    "SECRET_KEY": "a-test-secret-key-of-at-least-32-bytes-long",
}
ROW = re.compile(
    r'^\| `(?P<variable>[A-Z_]+)` \| `(?P<set>[^`]*)` \| (?P<kind>stops|warns): "(?P<says>[^"]+)"')


def setting_rows() -> list[dict[str, str]]:
    text = (ROOT / "docs" / "real-playground.md").read_text(encoding="utf-8")
    section = text.split("## Every setting, and what a wrong value does", 1)[1].split("\n## ", 1)[0]
    return [match.groupdict() for match in map(ROW.match, section.splitlines()) if match]


def test_the_table_has_a_row_for_every_variable_the_shop_reads_for_going_live() -> None:
    rows = setting_rows()
    assert len(rows) >= 30
    assert {row["variable"] for row in rows} >= {
        "SECRET_KEY", "PUBLIC_BASE_URL", "KCO_ENVIRONMENT", "KCO_API_KEY", "KCO_BRAND", "KCO_REGION",
        "KCO_API_URL", "KCO_SNIPPET_ORIGINS", "REDIS_URL", "DATABASE_URL", "INSTANCE_PATH", "TRUSTED_PROXIES",
        "KCO_TIME_BUDGET", "CHECKOUT_CREATION_LIMIT"}


@pytest.mark.parametrize("row", setting_rows(), ids=lambda row: row["set"])
def test_each_wrong_setting_stops_the_shop_with_one_line_naming_it_or_is_warned_about(
        row: dict[str, str], tmp_path: Path) -> None:
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("KCO_") and name not in PLAYGROUND}
    env.update(PLAYGROUND, INSTANCE_PATH=str(tmp_path), PYTHONUNBUFFERED="1")
    for assignment in row["set"].split():
        name, _, value = assignment.partition("=")
        if value:
            env[name] = value
        else:
            env.pop(name, None)
    argv = [sys.executable, "app.py", "--host", "127.0.0.1", "--port", "0"]
    if row["kind"] == "stops":
        started = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert started.returncode == 1, started.stdout + started.stderr
        lines = started.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Configuration error: "), started.stderr
        assert row["variable"] in lines[0] and row["says"] in lines[0]
        return
    with ServerProcess("shop", argv, env, cwd=ROOT) as shop:
        warnings = [line for line in shop.output if line.startswith("Warning: ")]
        assert len(warnings) == 1 and row["variable"] in warnings[0] and row["says"] in warnings[0]


def test_postgres_urls_as_hosts_hand_them_out_are_read_as_postgresql_through_psycopg(tmp_path: Path) -> None:
    for given in ("postgres://shop:pw@db.example.com/shop", "postgresql://shop:pw@db.example.com/shop"):
        settings = Settings.from_env({"INSTANCE_PATH": str(tmp_path), "DATABASE_URL": given})
        assert settings.database_url == "postgresql+psycopg://shop:pw@db.example.com/shop"


def test_env_example_copied_to_env_sets_nothing(tmp_path: Path) -> None:
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    assert [line for line in example.splitlines() if line and not line.startswith("#")] == []


# --- Stores that go away after the start ---------------------------------------------------------------

@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[tuple[str, Any]]:
    if redis_server_binary() is None:
        pytest.skip("redis-server is not installed")
    server = start_redis(tmp_path)
    yield server.url, server
    server.stop()


def test_with_redis_gone_a_shopper_gets_503_with_a_message_and_readyz_names_redis(
        make_app: Any, emulator_server: ServerProcess, redis_url: tuple[str, Any]) -> None:
    url, server = redis_url
    app: Flask = make_app(KCO_API_URL=emulator_server.url, REDIS_URL=url)
    shopper = app.test_client()
    token = page_csrf_token(shopper)
    assert shopper.post("/cart/add", data={"sku": "mug-001", "csrf_token": token}).status_code == 303
    assert app.test_client().get("/readyz").get_json() == {"status": "ok"}
    server.stop()
    # In the default market's language: the shopper's checkout cannot be read.
    unreachable = shop_text("The shop cannot reach its storage just now; nothing was changed. Please try "
                            "again in a moment.")
    for answer in (shopper.get("/api/cart"), shopper.get("/checkout", headers={"Accept": "text/html"})):
        assert answer.status_code == 503
        shown = answer.get_json()["error"]["message"] if answer.is_json else answer.get_data(as_text=True)
        assert unreachable in shown
        assert "Traceback" not in answer.get_data(as_text=True)
    probe = app.test_client()
    assert probe.get("/healthz").status_code == 200
    ready = probe.get("/readyz")
    assert (ready.status_code, ready.get_json()) == (503, {"status": "unavailable", "failing": ["redis"]})


@pytest.mark.skipif(postgres_bin_dir() is None, reason="PostgreSQL is not installed")
def test_with_the_database_gone_a_shopper_gets_503_with_a_message_and_readyz_names_it(
        make_app: Any, emulator_server: ServerProcess) -> None:
    database = start_postgres()
    try:
        app: Flask = make_app(KCO_API_URL=emulator_server.url, DATABASE_URL=database.url)
        shopper = app.test_client()
        token = page_csrf_token(shopper)
        assert shopper.post("/cart/add", data={"sku": "mug-001", "csrf_token": token}).status_code == 303
    finally:
        database.stop()
    answer = shopper.post("/api/cart", json={"items": [{"sku": "mug-001", "quantity": 2}]},
                          headers={"X-CSRFToken": token})
    assert answer.status_code == 503 and answer.get_json()["error"]["code"] == "store_unavailable"
    assert app.test_client().get("/healthz").status_code == 200
    ready = app.test_client().get("/readyz")
    assert (ready.status_code, ready.get_json()["failing"]) == (503, ["database"])


# --- Shoppers behind a proxy, and the budget counted atomically -------------------------------------------

def new_visitor_adds(app: Flask, forwarded_for: str | None = None) -> int:
    visitor = app.test_client()
    token = page_csrf_token(visitor)
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    added = visitor.post("/cart/add", data={"sku": "mug-001", "csrf_token": token}, headers=headers)
    return added.status_code


def test_behind_a_trusted_proxy_each_shopper_has_a_budget_of_their_own(
        make_app: Any, emulator_server: ServerProcess) -> None:
    trusting = make_app(KCO_API_URL=emulator_server.url, CHECKOUT_CREATION_LIMIT="2 per hour",
                        TRUSTED_PROXIES="1")
    assert [new_visitor_adds(trusting, f"203.0.113.{n}") for n in range(1, 6)] == [303] * 5
    assert [new_visitor_adds(trusting, "203.0.113.1") for _ in range(2)] == [303, 429]
    # Without TRUSTED_PROXIES the header is no one's word: every shopper is the proxy's address.
    untrusting = make_app(KCO_API_URL=emulator_server.url, CHECKOUT_CREATION_LIMIT="2 per hour")
    assert [new_visitor_adds(untrusting, f"203.0.113.{n}") for n in range(1, 4)] == [303, 303, 429]


def test_new_checkouts_at_the_same_moment_never_slip_past_the_budget(
        make_app: Any, emulator_server: ServerProcess) -> None:
    app: Flask = make_app(KCO_API_URL=emulator_server.url, CHECKOUT_CREATION_LIMIT="3 per hour")
    statuses: list[int] = []
    with WsgiServer(app) as server:
        visitors = [ApiShopper(server.url) for _ in range(12)]
        for visitor in visitors:
            visitor.get("/")  # each has its page's token
        start = threading.Barrier(len(visitors))

        def add(visitor: ApiShopper) -> None:
            start.wait()
            statuses.append(visitor.add_to_cart("mug-001").status_code)

        threads = [threading.Thread(target=add, args=(visitor,)) for visitor in visitors]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(statuses) == [303] * 3 + [429] * 9


# --- One time budget for KCO per shopper request ------------------------------------------------------

def test_a_slow_create_after_a_failed_update_never_keeps_the_shopper_past_the_time_budget(
        make_app: Any, emulator_server: ServerProcess, emulator: KcoEmulator) -> None:
    app: Flask = make_app(KCO_API_URL=emulator_server.url, KCO_TIME_BUDGET="2")
    with WsgiServer(app) as server:
        url = server.url
        app.config["PUBLIC_BASE_URL"] = url
        shopper = ApiShopper(url)
        order_id = shopper.start_checkout({"mug-001": 1})
        assert 'data-timeout-ms="4000"' in shopper.open_checkout().text  # the budget and 2 s
        emulator.fail_next("update", status=401)  # refused for good: the order is replaced, abort, create ...
        emulator.fail_next("create", status=None, delay_ms=30_000)  # ... and the create is very slow
        # Without the budget the create alone would wait KCO_READ_TIMEOUT (10 s), past this client's patience.
        answer = shopper.http.post(f"{url}/api/cart", json={"items": [{"sku": "mug-001", "quantity": 2}]},
                                   headers={"X-CSRFToken": shopper.csrf_token}, timeout=8)
        assert answer.status_code == 503
        assert answer.json()["error"]["code"] == "kco_unreachable"
        assert answer.json()["cart"]["items"][0]["quantity"] == 2  # the shopper's change is kept
        assert order_id in [entry["order_id"] for entry in emulator.calls("abort")]


def test_every_kco_call_of_a_change_shares_the_budget(make_app: Any, emulator_server: ServerProcess,
                                                       emulator: KcoEmulator) -> None:
    app: Flask = make_app(KCO_API_URL=emulator_server.url, KCO_TIME_BUDGET="3")
    shopper = app.test_client()
    token = page_csrf_token(shopper)
    shopper.post("/cart/add", data={"sku": "mug-001", "csrf_token": token})
    assert shopper.get("/checkout").status_code == 200
    seen: list[Any] = []
    original = requests.Session.request

    def recording(session: requests.Session, method: str, url: str, **options: Any) -> requests.Response:
        if "/checkout/v3/" in url:  # the shop's KCO calls, not this test's own to the emulator
            seen.append(options["timeout"])
        return original(session, method, url, **options)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(requests.Session, "request", recording)
        emulator.fail_next("update", status=503, times=3)  # refused thrice: reads and retries in between
        shopper.post("/api/cart", json={"items": [{"sku": "mug-001", "quantity": 2}]},
                     headers={"X-CSRFToken": token})
    assert len(seen) >= 4
    assert all(connect <= 3 and read <= 3 for connect, read in seen)
    assert [read for _, read in seen] == sorted((read for _, read in seen), reverse=True)  # what is left
