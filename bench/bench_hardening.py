"""The three attacks that once broke the shop, with the figures docs/security.md quotes.

1. Anonymous flood: cookie-less `GET /` requests (Flask's test client, in this process), then a shopper's cart
   and the time of one session write (`POST /cart/add`) before and after the flood.
2. Idle socket: headers of a `POST /api/cart` sent, the body never; how long the victim's cart change takes.
3. Big body: 40 MB of JSON to `/kco/callbacks/push` with a made-up token; time and the shop's memory.

    .venv/bin/python -m bench.bench_hardening                       # this tree
    .venv/bin/python bench/bench_hardening.py --repo /tmp/before    # another checkout, e.g. an older commit

The timings belong here, not in tests (tests/test_hardening.py proves the behaviour). An old tree may spend
a long time in the flood (each write past its session threshold scans the whole folder), so the flood stops
after `--flood-seconds` and reports how far it got.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

FLOOD_REQUESTS = 20_000
WRITES_MEASURED = 20
# The old lock made a request wait 30 s before answering 503 session_busy.
VICTIM_WAIT_SECONDS = 40
BIG_BODY_BYTES = 40 * 1024 * 1024
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def session_files(instance: Path) -> int:
    folder = instance / "sessions"
    return sum(1 for path in folder.iterdir() if not path.name.startswith("__")) if folder.exists() else 0


def write_ms(client: Any, token: str) -> float:
    """Median time of a session write: one "Add to cart" form post."""
    times = []
    for _ in range(WRITES_MEASURED):
        started = time.perf_counter()
        answer = client.post("/cart/add", data={"sku": "mug-001", "quantity": "1", "csrf_token": token})
        times.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 303, answer.status_code
    return statistics.median(times)


def anonymous_flood(flood_seconds: float) -> list[tuple[str, Any]]:
    from app import create_app

    with tempfile.TemporaryDirectory(prefix="bench-flood-") as folder:
        instance = Path(folder)
        app = create_app({"INSTANCE_PATH": str(instance), "SECRET_KEY": "bench-only", "KCO_INSPECTOR": "0",
                          "KCO_API_URL": "http://127.0.0.1:9", "KCO_USERNAME": "demo",
                          "KCO_PASSWORD": "demo"})
        shopper = app.test_client()
        token = CSRF_META.search(shopper.get("/").get_data(as_text=True)).group(1)
        before_ms = write_ms(shopper, token)
        anonymous = app.test_client(use_cookies=False)
        started = time.perf_counter()
        each_ms: list[float] = []
        while len(each_ms) < FLOOD_REQUESTS and time.perf_counter() - started < flood_seconds:
            request_started = time.perf_counter()
            anonymous.get("/")
            each_ms.append((time.perf_counter() - request_started) * 1000)
        sent, flood_s = len(each_ms), time.perf_counter() - started
        stored = session_files(instance)
        cart = shopper.get("/api/cart").get_json()["cart"]["items"]
        intact = bool(cart) and cart[0]["sku"] == "mug-001"
        if not intact:  # the shopper's session was evicted: time the writes of a new one instead
            shopper = app.test_client()
            token = CSRF_META.search(shopper.get("/").get_data(as_text=True)).group(1)
        after_ms = write_ms(shopper, token)
        return [("cookie-less GET / sent", f"{sent} in {flood_s:.1f} s"),
                ("one cookie-less GET /, first 100 / last 100 (median ms)",
                 f"{statistics.median(each_ms[:100]):.2f} / {statistics.median(each_ms[-100:]):.2f}"),
                ("sessions stored after the flood", stored),
                ("shopper's cart intact", intact),
                ("session write before the flood (median ms)", f"{before_ms:.2f}"),
                ("session write after the flood (median ms)", f"{after_ms:.2f}")]


def raw_request(url: str, head: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    connection = socket.create_connection((host, int(port)))
    connection.sendall(head.encode())
    return connection


def stalled_form_post(url: str, cookie: str) -> socket.socket:
    """A form post's headers and never its body: the CSRF check waits for the form field."""
    return raw_request(url, f"POST /cart/add HTTP/1.1\r\nHost: x\r\nCookie: session={cookie}\r\n"
                            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n")


def same_old_stripe(sid: str) -> str:
    """A made-up cookie whose digest fell in the same one of 1,024 lock files as `sid` (the old lock)."""
    def stripe(value: str) -> int:
        return int(hashlib.sha256(value.encode()).hexdigest()[:8], 16) % 1024
    return next(f"made-up-{n}" for n in range(1_000_000) if stripe(f"made-up-{n}") == stripe(sid))


def idle_socket() -> list[tuple[str, Any]]:
    from harness.local_stack import shop_process
    from harness.shop_client import ApiShopper
    from kco_emulator.testing import EmulatorProcess

    rows: list[tuple[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-idle-") as folder:
        env = {"INSTANCE_PATH": folder, "SECRET_KEY": "bench-only", "KCO_INSPECTOR": "0",
               "KCO_USERNAME": "demo", "KCO_PASSWORD": "demo"}
        with EmulatorProcess() as emulator, shop_process(emulator.url, port=0, env=env) as shop:
            victim = ApiShopper(shop.url)
            victim.add_to_cart("mug-001")
            assert victim.open_checkout().status_code == 200
            sid = victim.http.cookies.get("session")
            attackers = (("a made-up cookie", same_old_stripe(sid)), ("the victim's own cookie", sid))
            for name, cookie in attackers:
                attacker = stalled_form_post(shop.url, cookie)
                try:
                    started = time.perf_counter()
                    answer = victim.http.post(f"{shop.url}/api/cart", timeout=VICTIM_WAIT_SECONDS,
                                              json={"items": [{"sku": "mug-001", "quantity": 2}]},
                                              headers={"X-CSRFToken": victim.csrf_token})
                    rows.append((f"victim's cart change, one idle socket with {name}",
                                 f"{answer.status_code} after {time.perf_counter() - started:.2f} s"))
                finally:
                    attacker.close()
    return rows


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def big_body() -> list[tuple[str, Any]]:
    from harness.local_stack import shop_process

    with tempfile.TemporaryDirectory(prefix="bench-body-") as folder:
        shop = shop_process("http://127.0.0.1:9", port=0, env={"INSTANCE_PATH": folder, "SECRET_KEY": "bench",
                                                                "KCO_INSPECTOR": "1", "KCO_USERNAME": "demo",
                                                                "KCO_PASSWORD": "demo"})
        shop.start()
        try:
            import requests

            requests.get(f"{shop.url}/", timeout=10)  # warm: templates loaded, first allocations made
            before = rss_mb(shop.pid)
            body = b'{"pad": "' + b"x" * (BIG_BODY_BYTES - 12) + b'"}'
            started = time.perf_counter()
            try:
                answer = requests.post(f"{shop.url}/kco/callbacks/push?order_id=made-up&token=made-up",
                                       data=body, headers={"Content-Type": "application/json"}, timeout=60)
                status: Any = answer.status_code
            except requests.ConnectionError:
                status = "connection closed"
            elapsed = time.perf_counter() - started
            return [("40 MB push with a made-up token (status)", status),
                    ("... answered after (s)", f"{elapsed:.2f}"),
                    ("shop's peak memory before / after (MB)", f"{before:.0f} / {rss_mb(shop.pid):.0f}")]
        finally:
            shop.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, help="measure this checkout, not the one holding this file")
    parser.add_argument("--flood-seconds", type=float, default=300.0)
    args = parser.parse_args()
    if args.repo is not None:
        sys.path.insert(0, str(args.repo.resolve()))
    rows = anonymous_flood(args.flood_seconds) + idle_socket() + big_body()
    print("| attack | figure |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
