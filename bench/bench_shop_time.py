"""The shop's own time per POST /api/cart, apart from the KCO call, from its Server-Timing header.

Each answer carries `Server-Timing: kco;dur=<ms spent in KCO calls>, total;dur=<ms in the request>`
(app.py). total - kco is what the shop itself spends: session, validation, pricing, the database. The two
carts alternate so every request changes the cart and makes exactly one KCO update.

    .venv/bin/python -m bench.bench_shop_time
"""

from __future__ import annotations

import re
import time

from bench.stand import markdown_table, percentile, print_report, running_stand
from harness.shop_client import ApiShopper

REQUESTS = 600
WARM_UP = 20  # not counted: first imports, connection pools, the first database pages
CARTS = ({"mug-001": 1, "tee-002": 2}, {"mug-001": 2, "tee-002": 1})
TIMING = re.compile(r"(\w+);dur=([\d.]+)")


def server_timing(header: str) -> dict[str, float]:
    return {name: float(duration) for name, duration in TIMING.findall(header)}


def main() -> None:
    own, kco, round_trip_less_kco = [], [], []
    with running_stand() as stand:
        shopper = ApiShopper(stand.shop_url)
        for sku, quantity in CARTS[1].items():
            shopper.add_to_cart(sku, quantity)
        assert shopper.open_checkout().status_code == 200
        for number in range(WARM_UP + REQUESTS):
            started = time.perf_counter()
            answer = shopper.set_cart(CARTS[number % 2])
            round_trip = (time.perf_counter() - started) * 1000
            assert answer.status_code == 200, answer.text
            timing = server_timing(answer.headers["Server-Timing"])
            if number < WARM_UP:
                continue
            own.append(timing["total"] - timing["kco"])
            kco.append(timing["kco"])
            round_trip_less_kco.append(round_trip - timing["kco"])
        updates = len(stand.emulator.calls("update"))
    assert updates == WARM_UP + REQUESTS, f"expected one update per request, KCO saw {updates}"

    def row(name: str, values: list[float]) -> list[str]:
        return [name, f"{percentile(values, 50):.1f}", f"{percentile(values, 99):.1f}",
                f"{max(values):.1f}"]

    print_report(f"Shop's own time per POST /api/cart ({REQUESTS} requests, each one KCO update)",
                 markdown_table(["Measure (ms)", "p50", "p99", "max"], [
                     row("**Shop's own time** (Server-Timing total - kco)", own),
                     row("KCO update call, for context (Server-Timing kco; the local emulator)", kco),
                     row("Round trip seen by the client - kco (adds loopback HTTP and loading the session)",
                         round_trip_less_kco),
                 ]), [
                     "Development server (werkzeug, threaded), session in files under instance/, SQLite; "
                     "one shopper, requests one after another; the workshop inspector off.",
                     "Server-Timing's total runs from Flask's before_request to after_request: loading and "
                     "saving the session around them are only in the round trip.",
                 ])


if __name__ == "__main__":
    main()
