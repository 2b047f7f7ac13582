"""Nothing a shopper has lives in one process's memory: a restart or a second process loses nothing.

The session is in the session store (files under INSTANCE_PATH, or Redis when REDIS_URL is set); each KCO
order's state and the recorded orders are in the database (DATABASE_URL). So a shop restarted mid-checkout
picks up where it stopped, and several gunicorn instances behind a load balancer without sticky sessions
serve one shopper in turn. These tests stop and start real shop processes, and run two gunicorn instances
sharing one Redis and one PostgreSQL with the shopper's requests alternating between them: the production
shape docs/production.md describes (harness/postgres_server.py starts a throwaway cluster; SQLite stays the
default for `make run`).
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, select, text

from harness.local_stack import gunicorn_shop_process, shop_process
from harness.postgres_server import postgres_bin_dir, start_postgres
from harness.redis_server import redis_server_binary, start_redis
from harness.shop_client import ApiShopper, KCOCalls, callback_url, kco_order
from kco_emulator.testing import KcoEmulator, ServerProcess
from shop.database import orders

KCO_DEMO_CREDENTIALS = {"KCO_USERNAME": "demo", "KCO_PASSWORD": "demo"}
# Every process of one shop shares the key: it signs the session cookie and the callback tokens.
SHOP_SECRET_KEY = "test-only-secret-key-shared-by-every-instance"


def product_lines(order: dict[str, Any]) -> list[tuple[str, int]]:
    return [(line["reference"], line["quantity"]) for line in order["order_lines"]
            if line.get("type", "physical") == "physical"]


def cart_lines(shopper: ApiShopper) -> list[tuple[str, int]]:
    return [(item["sku"], item["quantity"]) for item in shopper.cart()["cart"]["items"]]


def recorded_orders(database_url: str, order_id: str) -> list[tuple[Any, Any]]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(
                select(orders.c.recorded_by, orders.c.acknowledged_at).where(orders.c.order_id == order_id))]
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    """One PostgreSQL for the module, as production runs the shop."""
    if postgres_bin_dir() is None:
        pytest.skip("PostgreSQL is not installed: `apt-get install postgresql` (make test does this as root)")
    server = start_postgres()
    yield server.url
    server.stop()


def acknowledgements(emulator: KcoEmulator, order_id: str) -> int:
    return sum(1 for entry in emulator.calls()
               if entry.get("operation") == "acknowledge" and entry.get("order_id") == order_id)


# --- Restart ---------------------------------------------------------------------------------------------

@dataclass
class RestartableShop:
    """One shop process (the development server) that a test can restart with the same configuration."""

    kco_api_url: str
    env: dict[str, str]
    server: ServerProcess | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    def start(self, port: int = 0) -> None:
        self.server = shop_process(self.kco_api_url, port=port, env=self.env)
        self.server.start()

    def restart(self) -> None:
        """Stop the process and start a new one on the same address, as a deploy behind a proxy would:
        KCO's callback URLs (PUBLIC_BASE_URL unset, so this address) keep reaching the shop."""
        assert self.server is not None
        port = int(self.server.url.rsplit(":", 1)[1])
        self.server.stop()
        self.start(port)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


@pytest.fixture
def restartable_shop(emulator_server: ServerProcess, tmp_path: Path, database_url: str
                     ) -> Iterator[RestartableShop]:
    shop = RestartableShop(emulator_server.url, {
        "SECRET_KEY": SHOP_SECRET_KEY,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": database_url,
        **KCO_DEMO_CREDENTIALS,
    })
    shop.start()
    yield shop
    shop.stop()


def test_a_restart_between_a_cart_change_and_a_reload_keeps_the_cart_and_reads_the_same_order_once(
        restartable_shop: RestartableShop, emulator: KcoEmulator, calls: KCOCalls) -> None:
    shopper = ApiShopper(restartable_shop.url)
    shopper.add_to_cart("mug-001")
    assert shopper.open_checkout().status_code == 200
    order_id = shopper.order_id()
    assert shopper.set_cart({"mug-001": 3, "tee-002": 1}).status_code == 200

    restartable_shop.restart()
    calls.mark()
    assert shopper.open_checkout().status_code == 200

    assert calls.since() == ["read"]  # the same order, found in step: no create, no update
    assert shopper.order_id() == order_id
    assert cart_lines(shopper) == [("mug-001", 3), ("tee-002", 1)]
    assert product_lines(kco_order(emulator, order_id)) == [("mug-001", 3), ("tee-002", 1)]


def test_an_order_recorded_before_a_restart_is_known_to_the_restarted_shop(
        restartable_shop: RestartableShop, emulator: KcoEmulator, calls: KCOCalls,
        database_url: str) -> None:
    emulator.settings(push_retry_seconds=[])  # only the push this test delivers
    shopper = ApiShopper(restartable_shop.url)
    shopper.add_to_cart("bottle-003", 2)
    assert shopper.open_checkout().status_code == 200
    order_id = shopper.order_id()
    assert emulator.complete(order_id)["result"] == "completed"
    assert shopper.get(f"/confirmation?order_id={order_id}").status_code == 200

    restartable_shop.restart()
    calls.mark()
    assert emulator.push(order_id)["status"] == 200

    # No Order Management read: the restarted shop found the order it had recorded, and only acknowledges.
    assert calls.since() == ["acknowledge"]
    rows = recorded_orders(database_url, order_id)
    assert len(rows) == 1 and rows[0][0] == "confirmation" and rows[0][1] is not None
    assert shopper.get(f"/confirmation?order_id={order_id}").status_code == 200
    assert shopper.cart()["cart"]["items"] == []


def drop_connections(database_url: str, application_name: str) -> int:
    """As after a database restart: PostgreSQL ends the connections of one application, found by name."""
    admin = create_engine(database_url)
    try:
        with admin.connect() as connection:
            ended = connection.execute(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                            "WHERE application_name = :name"), {"name": application_name})
            return int(ended.scalar_one())
    finally:
        admin.dispose()


def test_when_postgresql_drops_the_shops_connections_no_shopper_sees_an_error(
        emulator_server: ServerProcess, emulator: KcoEmulator, database_url: str, tmp_path: Path) -> None:
    shop = shop_process(emulator_server.url, port=0, env={
        "SECRET_KEY": SHOP_SECRET_KEY, "INSTANCE_PATH": str(tmp_path),
        "DATABASE_URL": f"{database_url}?application_name=dropped-by-the-test", **KCO_DEMO_CREDENTIALS})
    shop.start()
    try:
        shopper = ApiShopper(shop.url)
        order_id = shopper.start_checkout({"mug-001": 1})
        assert drop_connections(database_url, "dropped-by-the-test") >= 1
        assert shopper.set_cart({"mug-001": 2}).status_code == 200
        assert emulator.complete(order_id)["result"] == "completed"
        assert drop_connections(database_url, "dropped-by-the-test") >= 1
        # The page a shopper sees right after paying.
        assert shopper.get(f"/confirmation?order_id={order_id}").status_code == 200
        assert drop_connections(database_url, "dropped-by-the-test") >= 1
        assert shopper.open_checkout().status_code == 200
    finally:
        shop.stop()
    assert " 500 " not in "".join(shop.output)


def worker_pids(master_pid: int) -> list[int]:
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    return [int(pid) for pid in children]


def test_a_worker_killed_in_the_middle_of_a_change_leaves_nothing_that_holds_up_the_next_one(
        emulator_server: ServerProcess, emulator: KcoEmulator, redis_url: str, database_url: str,
        tmp_path: Path) -> None:
    # Once a Redis lock of the killed worker's made the shopper wait 30 s, then answered 503 session_busy.
    shop = gunicorn_shop_process(emulator_server.url, workers=1, env={
        "SECRET_KEY": SHOP_SECRET_KEY, "INSTANCE_PATH": str(tmp_path), "REDIS_URL": redis_url,
        "DATABASE_URL": database_url, **KCO_DEMO_CREDENTIALS})
    shop.start()
    try:
        shopper = ApiShopper(shop.url)
        shopper.start_checkout({"mug-001": 1})
        [worker] = worker_pids(shop.pid)
        # No failure, only a delay: the change is inside KCO's call when its worker dies.
        emulator.fail_next("update", status=None, delay_ms=5000)
        slow = threading.Thread(target=lambda: _ignore_failure(lambda: shopper.set_cart({"mug-001": 2})))
        slow.start()
        _wait_for(lambda: any(entry["operation"] == "update" for entry in emulator.calls()))
        os.kill(worker, signal.SIGKILL)
        slow.join()
        _wait_for(lambda: worker_pids(shop.pid) not in ([], [worker]))  # gunicorn started a new worker
        answer = shopper.set_cart({"mug-001": 3})
        assert answer.status_code == 200, answer.text
        assert shopper.quantities() == {"mug-001": 3}
    finally:
        shop.stop()


def _ignore_failure(send: Any) -> None:
    try:
        send()
    except requests.RequestException:
        pass  # the worker died under it


def _wait_for(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition never came true"
        time.sleep(0.05)


# --- Scale-out: two gunicorn instances, one Redis, one PostgreSQL --------------------------------------

@dataclass(frozen=True)
class ShopInstances:
    first: ServerProcess
    second: ServerProcess
    database_url: str


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if redis_server_binary() is None:
        pytest.skip("redis-server is not installed: `apt-get install redis-server` (make test does this "
                    "as root)")
    server = start_redis(tmp_path_factory.mktemp("redis"))
    yield server.url
    server.stop()


@pytest.fixture(scope="module")
def instances(emulator_server: ServerProcess, redis_url: str, database_url: str,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShopInstances]:
    shared = tmp_path_factory.mktemp("scale-out")
    # The first instance's socket is opened here, so its address is known before either instance starts.
    listener = socket.create_server(("127.0.0.1", 0))
    first_url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    common = {
        "SECRET_KEY": SHOP_SECRET_KEY,
        "REDIS_URL": redis_url,
        "DATABASE_URL": database_url,
        # gunicorn's access log on, in its own format, with the request line and its query.
        "GUNICORN_CMD_ARGS": "--access-logfile -",
        # The address KCO sends callbacks and the shopper's return to. In production it is the load
        # balancer's https URL, the same for every instance; here the first instance plays that part.
        "PUBLIC_BASE_URL": first_url,
        **KCO_DEMO_CREDENTIALS,
    }
    # Each instance gets its own INSTANCE_PATH: nothing may depend on one machine's disk.
    first = gunicorn_shop_process(
        emulator_server.url, bind=f"fd://{listener.fileno()}", pass_fds=(listener.fileno(),),
        env={**common, "INSTANCE_PATH": str(shared / "first")}, name="shop-first")
    second = gunicorn_shop_process(
        emulator_server.url, env={**common, "INSTANCE_PATH": str(shared / "second")}, name="shop-second")
    try:
        first.start()
        listener.close()  # gunicorn holds its own copy
        second.start()
        yield ShopInstances(first, second, database_url)
    finally:
        listener.close()
        first.stop()
        second.stop()


def test_requests_alternating_between_two_instances_continue_cart_order_and_confirmation(
        instances: ShopInstances, emulator: KcoEmulator, calls: KCOCalls) -> None:
    emulator.settings(push_retry_seconds=[])
    first, second = instances.first.url, instances.second.url
    shopper = ApiShopper(first)
    shopper.add_to_cart("mug-001")

    shopper.base_url = second
    calls.mark()
    assert shopper.open_checkout().status_code == 200
    assert calls.since() == ["create"]
    order_id = shopper.order_id()

    shopper.base_url = first
    calls.mark()
    answer = shopper.set_cart({"mug-001": 2, "socks-004": 1})
    assert answer.status_code == 200, answer.text
    assert calls.since() == ["update"]
    assert answer.json()["order"]["order_id"] == order_id

    shopper.base_url = second
    calls.mark()
    assert shopper.open_checkout().status_code == 200
    assert calls.since() == ["read"]
    assert shopper.order_id() == order_id
    assert cart_lines(shopper) == [("mug-001", 2), ("socks-004", 1)]
    assert product_lines(kco_order(emulator, order_id)) == [("mug-001", 2), ("socks-004", 1)]

    assert emulator.complete(order_id)["result"] == "completed"  # validation reaches PUBLIC_BASE_URL
    shopper.base_url = first
    assert shopper.get(f"/confirmation?order_id={order_id}").status_code == 200

    shopper.base_url = second
    assert shopper.cart()["cart"]["items"] == [] and shopper.cart()["order"] is None
    assert shopper.get(f"/confirmation?order_id={order_id}").status_code == 200
    assert recorded_orders(instances.database_url, order_id) == [("confirmation", None)]


def test_a_push_on_one_instance_and_the_confirmation_on_the_other_record_the_order_once(
        instances: ShopInstances, emulator: KcoEmulator) -> None:
    emulator.settings(push_retry_seconds=[])
    shopper = ApiShopper(instances.second.url)  # KCO pushes to the first instance (PUBLIC_BASE_URL)
    shopper.add_to_cart("tote-006")
    assert shopper.open_checkout().status_code == 200
    order_id = shopper.order_id()
    assert emulator.complete(order_id)["result"] == "completed"

    start_together = threading.Barrier(2)
    outcomes: dict[str, Any] = {}

    def push() -> None:
        start_together.wait()
        outcomes["push"] = emulator.push(order_id)["status"]

    def confirmation() -> None:
        start_together.wait()
        outcomes["confirmation"] = shopper.get(f"/confirmation?order_id={order_id}").status_code

    threads = [threading.Thread(target=push), threading.Thread(target=confirmation)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes == {"push": 200, "confirmation": 200}
    rows = recorded_orders(instances.database_url, order_id)
    assert len(rows) == 1 and rows[0][1] is not None
    assert acknowledgements(emulator, order_id) == 1


def test_gunicorns_access_log_never_holds_a_callback_token(
        instances: ShopInstances, emulator: KcoEmulator) -> None:
    emulator.settings(push_retry_seconds=[])
    shopper = ApiShopper(instances.first.url)
    shopper.add_to_cart("mug-001")
    assert shopper.open_checkout().status_code == 200
    order_id = shopper.order_id()
    token = callback_url(emulator, order_id, "push").split("token=", 1)[1]
    assert emulator.complete(order_id)["result"] == "completed"
    assert emulator.push(order_id)["status"] == 200  # KCO calls the push URL, token in its query

    logged = "".join(instances.first.output)
    assert "POST /kco/callbacks/push?order_id=" in logged  # the access log is on and saw the push
    assert "token=[hidden]" in logged
    assert token not in logged
