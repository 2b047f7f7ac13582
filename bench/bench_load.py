"""Load: 100 shoppers at once, 20 cart changes each, against the shop under gunicorn and the local emulator.

Every shopper is a thread with its own cookie jar (its own shop session). After a warm-up in which each one
opens the checkout (one KCO create), all of them change their carts as fast as the shop answers. At the end
every shopper's KCO order, read from the emulator's control API (GET /_emulator/orders/{id}), must equal the
last cart that shopper sent: an order that differs is a lost update.

Everything runs on loopback on this machine: gunicorn (gthread workers), Redis for sessions when
redis-server is installed (else files under instance/), one SQLite file, the emulator as KCO. The run is
bounded: a fixed number of threads and requests, a timeout on every request and a deadline for the whole.

    .venv/bin/python -m bench.bench_load
"""

from __future__ import annotations

import os
import random
import re
import socket
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests

from bench.bench_cpu_ratio import cpu_seconds
from bench.stand import markdown_table, percentile, print_report, shop_env
from harness.local_stack import gunicorn_shop_process
from harness.redis_server import redis_server_binary, start_redis
from harness.shop_client import ApiShopper
from kco_emulator.testing import EmulatorProcess, KcoEmulator, ServerProcess

SHOPPERS = 100
CHANGES = 20
WORKERS = 4
THREADS = 8
DEADLINE_SECONDS = 240  # the whole run stops here, finished or not
KCO_TIMING = re.compile(r"kco;dur=([\d.]+)")
SKUS = ("mug-001", "tee-002", "bottle-003", "socks-004", "notebook-005", "tote-006")


@dataclass
class ShopperRun:
    number: int
    shopper: ApiShopper
    order_id: str | None = None
    final_cart: dict[str, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    kco_ms: list[float] = field(default_factory=list)  # Server-Timing: the KCO update inside each change
    errors: list[str] = field(default_factory=list)
    finished: bool = False


def random_cart(chooser: random.Random, previous: dict[str, int]) -> dict[str, int]:
    """A non-empty cart different from the previous one, so every change is a KCO update."""
    while True:
        skus = chooser.sample(SKUS, chooser.randint(1, 3))
        cart = {sku: chooser.randint(1, 5) for sku in sorted(skus)}
        if cart != previous:
            return cart


def open_checkout(run: ShopperRun) -> None:
    try:
        run.shopper.add_to_cart("mug-001")
        run.final_cart = {"mug-001": 1}
        page = run.shopper.open_checkout()
        if page.status_code != 200:
            run.errors.append(f"checkout {page.status_code}")
            return
        run.order_id = run.shopper.order_id()
    except (requests.RequestException, AssertionError) as error:
        run.errors.append(f"checkout {type(error).__name__}")


def change_carts(run: ShopperRun, deadline: float) -> None:
    if run.order_id is None:
        return
    chooser = random.Random(run.number)
    for _ in range(CHANGES):
        if time.monotonic() > deadline:
            return
        cart = random_cart(chooser, run.final_cart)
        started = time.perf_counter()
        try:
            answer = run.shopper.set_cart(cart)
        except requests.RequestException as error:
            run.errors.append(type(error).__name__)
            continue
        run.latencies_ms.append((time.perf_counter() - started) * 1000)
        if answer.status_code != 200:
            run.errors.append(f"HTTP {answer.status_code}")
            continue
        run.final_cart = cart
        run.kco_ms.append(kco_duration(answer.headers.get("Server-Timing", "")))
        if answer.json()["order"]["order_id"] != run.order_id:
            run.errors.append("order replaced")
            run.order_id = answer.json()["order"]["order_id"]
    run.finished = True


def kco_duration(server_timing: str) -> float:
    match = KCO_TIMING.search(server_timing)
    return float(match.group(1)) if match else 0.0


def lost_update(emulator: KcoEmulator, run: ShopperRun) -> bool:
    """True when KCO's order for this shopper is not the last cart the shop accepted from it."""
    if run.order_id is None:
        return False
    order = emulator.order(run.order_id)
    lines = {line["reference"]: line["quantity"] for line in order["order_lines"]
             if line.get("type", "physical") == "physical"}
    return lines != run.final_cart


@contextmanager
def running_shop_under_gunicorn(emulator_url: str, work_dir: Path
                                ) -> Iterator[tuple[ServerProcess, str, int]]:
    with ExitStack() as stack:
        sessions, redis_pid = "files under instance/", 0
        database_url = f"sqlite:///{work_dir / 'shop.sqlite3'}"
        settings = {**shop_env(work_dir / "instance"), "DATABASE_URL": database_url}
        if redis_server_binary() is not None:
            redis = start_redis(work_dir)
            stack.callback(redis.stop)
            settings["REDIS_URL"] = redis.url
            sessions, redis_pid = "Redis", redis.pid
        listener = stack.enter_context(socket.create_server(("127.0.0.1", 0), backlog=256))
        settings["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{listener.getsockname()[1]}"
        shop = gunicorn_shop_process(emulator_url, bind=f"fd://{listener.fileno()}", workers=WORKERS,
                                     threads=THREADS, env=settings, pass_fds=(listener.fileno(),))
        shop.start(timeout=60)
        stack.callback(shop.stop)
        listener.close()
        yield shop, sessions, redis_pid


def process_tree(pid: int) -> list[int]:
    """`pid` and its children (gunicorn's master and its workers), from /proc/<pid>/task/*/children."""
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += [int(child) for child in (task / "children").read_text().split()]
    return [pid, *(grandchild for child in children for grandchild in process_tree(child))]


def tree_cpu_seconds(pid: int) -> float:
    return sum(cpu_seconds(process) for process in process_tree(pid))


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="kco-load-") as work_dir, EmulatorProcess() as emulator_server, \
            running_shop_under_gunicorn(emulator_server.url, Path(work_dir)) as (shop, sessions, redis_pid):
        emulator = KcoEmulator(emulator_server.url)
        runs = [ShopperRun(number, ApiShopper(shop.url)) for number in range(SHOPPERS)]
        deadline = time.monotonic() + DEADLINE_SECONDS
        with ThreadPoolExecutor(max_workers=SHOPPERS) as pool:
            list(pool.map(open_checkout, runs))
            processes = {"shop (gunicorn, all workers)": shop.pid, "emulator": emulator_server.pid,
                         "load generator (this script)": os.getpid()}
            if redis_pid:
                processes["Redis"] = redis_pid
            cpu_before = {name: tree_cpu_seconds(pid) for name, pid in processes.items() if pid}
            started = time.perf_counter()
            list(pool.map(lambda run: change_carts(run, deadline), runs))
            seconds = time.perf_counter() - started
            cpu = {name: tree_cpu_seconds(processes[name]) - before for name, before in cpu_before.items()}
        lost = sum(lost_update(emulator, run) for run in runs)
        updates = len(emulator.calls("update"))
        tracebacks = sum("Traceback" in line for line in shop.output)

    latencies = [latency for run in runs for latency in run.latencies_ms]
    kco_latencies = [latency for run in runs for latency in run.kco_ms]
    changes = len(latencies)
    errors = [error for run in runs for error in run.errors]
    unfinished = sum(not run.finished for run in runs)
    total_cpu = sum(cpu.values()) or 1.0
    shop_cpu = cpu["shop (gunicorn, all workers)"] or 1.0
    error_kinds = ", ".join(f"{errors.count(kind)}x {kind}" for kind in sorted(set(errors))) or "none"
    print_report(
        f"Load: {SHOPPERS} concurrent shoppers x {CHANGES} cart changes, gunicorn {WORKERS} workers x "
        f"{THREADS} threads", markdown_table(["Measure", "Value"], [
            ["Cart changes answered (POST /api/cart)", f"{changes} of {SHOPPERS * CHANGES}"],
            ["KCO updates the emulator served", updates],
            ["Wall time of the change phase", f"{seconds:.1f} s"],
            ["**Throughput**", f"{changes / seconds:.0f} cart changes/s"],
            ["Latency p50 / p99 / max", f"{percentile(latencies, 50):.0f} / "
                                        f"{percentile(latencies, 99):.0f} / {max(latencies):.0f} ms"],
            ["of which the KCO update, p50 / p99 (Server-Timing kco)",
             f"{percentile(kco_latencies, 50):.0f} / {percentile(kco_latencies, 99):.0f} ms"],
            ["**Errors** (non-200 or no answer)", f"{len(errors)} ({error_kinds})"],
            ["**Lost updates** (KCO order differs from the shopper's last cart)", lost],
            ["Shoppers that did not finish before the deadline", unfinished],
            ["Tracebacks in the shop's log", tracebacks],
            *[[f"CPU-s of the {name}", f"{used:.1f} ({100 * used / total_cpu:.0f} % of all, "
               f"{100 * used / seconds:.0f} % of one core)"] for name, used in cpu.items()],
            ["**Changes per shop CPU-second**", f"{changes / shop_cpu:.0f}"],
            ["Bottleneck (the process using the most CPU)", max(cpu, key=cpu.__getitem__)],
        ]), [
            f"Sessions in {sessions}, one SQLite file (WAL), the local emulator as KCO (one process, "
            "threaded, keep-alive), 100 client threads: all on this machine, sharing its cores.",
            "Each shopper first opens the checkout (one KCO create, not timed); every timed change is a "
            "different cart, so each one is a KCO update.",
        ])


if __name__ == "__main__":
    main()
