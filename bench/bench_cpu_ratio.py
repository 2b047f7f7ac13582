"""CPU per cart change: the shop against the lean baseline (bench/lean_app.py), and connection reuse.

The shop (inspector off, and on) and the lean app run side by side against one emulator, driven by the same
loop: one client posting alternating carts to /api/cart, each post one KCO update. Each server runs as two
processes (`COPIES`), and all of them take turns change by change (lean, lean, shop, shop, shop with
inspector, ...), so a busy moment on the shared machine hits all of them alike. CPU is each server's
processes' own utime + stime from /proc/<pid>/stat, read at the start and end of each round (the clock ticks
every 10 ms, so a round needs a few hundred changes), divided by the changes.
The ratio of the totals is the figure, with the lowest and highest round's ratio beside it; absolute times
are noise on a shared machine. Sessions in files (the default) and, when redis-server is installed, in
Redis.

The emulator logs each call's TCP connection (GET /_emulator/requests, "connection"), which gives the
connections the shop opened per 100 KCO calls.

    .venv/bin/python -m bench.bench_cpu_ratio
    .venv/bin/python -m bench.bench_cpu_ratio --rounds 2 --changes 200 --store files   # a quick look
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path

import requests

from bench.stand import markdown_table, print_report, shop_env
from harness.local_stack import ROOT, shop_process
from harness.redis_server import redis_server_binary, start_redis
from harness.shop_client import ApiShopper
from kco_emulator.testing import EmulatorProcess, KcoEmulator, ServerProcess

ROUNDS = 5
CHANGES_PER_ROUND = 200  # per server process
# Each server runs as this many processes, taking turns too: one process can run a few percent faster or
# slower than another of the same code (where its memory happens to land), and the lean app's luck would
# move the ratio as much as the shop's.
COPIES = 2
WARM_UP = 20
CARTS = ({"mug-001": 1, "tee-002": 2}, {"mug-001": 2, "tee-002": 1})
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of the process (all its threads), from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def cpu_of(processes: list[ServerProcess]) -> float:
    return sum(cpu_seconds(process.pid) for process in processes)


class Driver:
    """Posts the whole cart to /api/cart, as kco-sync.js does; the same loop for every server."""

    def __init__(self, base_url: str, csrf_token: str = "") -> None:
        self.base_url = base_url
        self.http = requests.Session()
        self.headers = {"Content-Type": "application/json", "X-CSRFToken": csrf_token}
        self.number = 0

    def change(self) -> None:
        cart = CARTS[self.number % 2]
        self.number += 1
        answer = self.http.post(f"{self.base_url}/api/cart", headers=self.headers, timeout=30,
                                json={"items": [{"sku": sku, "quantity": n} for sku, n in cart.items()]})
        assert answer.status_code == 200, answer.text


def shop_driver(url: str) -> Driver:
    shopper = ApiShopper(url)
    for sku, quantity in CARTS[1].items():
        shopper.add_to_cart(sku, quantity)
    assert shopper.open_checkout().status_code == 200
    driver = Driver(url, shopper.csrf_token)
    driver.http = shopper.http  # its cookie jar holds the shop session
    return driver


def measure(store: str, settings: Mapping[str, str], emulator_url: str, work_dir: Path,
            emulator: KcoEmulator, rounds: int = ROUNDS,
            changes_per_round: int = CHANGES_PER_ROUND) -> tuple[dict[str, list[float]], float]:
    """Each server's CPU ms per change in each round, and the connections opened per 100 KCO calls."""
    with ExitStack() as stack:
        def lean(copy: int) -> ServerProcess:
            env = {"KCO_API_URL": emulator_url, **shop_env(work_dir / f"{store}-lean-{copy}"), **settings}
            argv = [sys.executable, "-m", "bench.lean_app", "--port", "0"]
            return stack.enter_context(ServerProcess("lean", argv, env, cwd=ROOT))

        def shop(folder: str, **extra: str) -> ServerProcess:
            env = {**shop_env(work_dir / f"{store}-{folder}"), **settings, **extra}
            return stack.enter_context(shop_process(emulator_url, port=0, env=env))

        servers = {
            "lean app": [lean(copy) for copy in range(COPIES)],
            "shop": [shop(f"shop-{copy}") for copy in range(COPIES)],
            "shop, workshop inspector on": [shop(f"inspector-{copy}", KCO_INSPECTOR="1")
                                            for copy in range(COPIES)],
        }
        drivers = {name: [Driver(server.url) if name == "lean app" else shop_driver(server.url)
                          for server in copies] for name, copies in servers.items()}
        for driver in (driver for copies in drivers.values() for driver in copies):
            for _ in range(WARM_UP):
                driver.change()
        first_call = len(emulator.calls())
        per_change: dict[str, list[float]] = {name: [] for name in servers}
        for _ in range(rounds):
            before = {name: cpu_of(copies) for name, copies in servers.items()}
            for _ in range(changes_per_round):
                for driver in (driver for copies in drivers.values() for driver in copies):
                    driver.change()
            for name, copies in servers.items():
                spent = cpu_of(copies) - before[name]
                per_change[name].append(spent * 1000 / (changes_per_round * COPIES))
        calls = emulator.calls()[first_call:]
    # The calls come from all the servers, interleaved. Count all connections.
    connections = len({call["connection"] for call in calls})
    return per_change, 100 * connections / max(1, len(calls))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="CPU readings per server")
    parser.add_argument("--changes", type=int, default=CHANGES_PER_ROUND,
                        help="cart changes per server process and round")
    parser.add_argument("--store", choices=("files", "redis", "both"), default="both",
                        help="session store(s) to measure (Redis only when redis-server is installed)")
    args = parser.parse_args()
    rows, reuse = [], []
    with (tempfile.TemporaryDirectory(prefix="kco-bench-ratio-") as work_dir,
          EmulatorProcess() as emulator_server, ExitStack() as stack):
        emulator = KcoEmulator(emulator_server.url)
        stores: dict[str, dict[str, str]] = {}
        if args.store != "redis":
            stores["files (embedded default)"] = {}
        if args.store != "files" and redis_server_binary() is not None:
            redis = start_redis(Path(work_dir))
            stack.callback(redis.stop)
            stores["Redis"] = {"REDIS_URL": redis.url}
        for store, settings in stores.items():
            per_change, connections = measure(store.split()[0], settings, emulator_server.url, Path(work_dir),
                                              emulator, args.rounds, args.changes)
            lean = per_change["lean app"]
            for name, rounds in per_change.items():
                ratios = [mine / theirs for mine, theirs in zip(rounds, lean, strict=True)]
                rows.append([store, name, f"{sum(rounds) / len(rounds):.2f}",
                             f"{sum(rounds) / sum(lean):.2f}", f"{min(ratios):.2f} to {max(ratios):.2f}"])
            reuse.append([store, f"{connections:.1f}"])

    headers = ["Sessions", "Server", "CPU ms per change", "Ratio to lean", "Rounds' ratios"]
    print_report(f"CPU per cart change: the shop vs the lean app ({args.rounds} rounds of {args.changes} "
                 f"changes per server process, {COPIES} processes per server, taking turns change by change)",
                 markdown_table(headers, rows), [
                     "Each server's own processes' CPU (utime + stime from /proc), development server "
                     "(werkzeug, threaded), SQLite, one client posting alternating carts; every change is "
                     "one KCO update.",
                     "Lean app: bench/lean_app.py, the essential work only (session, JSON, integer order "
                     "math, one requests.Session POST, session save).",
                 ])
    print_report("KCO connections opened per 100 calls (all the servers' calls, keep-alive emulator)",
                 markdown_table(["Sessions", "Connections per 100 KCO calls"], reuse), [
                     "From the emulator's request log: distinct client connections (address:port) over "
                     "calls. Without reuse it would be 100.",
                 ])
    return 0


if __name__ == "__main__":
    sys.exit(main())
