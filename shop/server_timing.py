"""The Server-Timing header: how much of each answer was spent waiting for KCO, and how much in the shop.

Browser dev tools show it beside each request, and the benchmarks read it. Optional for a merchant's copy;
the workshop inspector (workshop/inspector.py) reads the same list of this request's KCO calls.
"""

from __future__ import annotations

import time

from flask import Flask, Response, g, has_request_context

from kco.client import KCOCall


def remember_call(call: KCOCall) -> None:
    """kco.client's `on_call` hook: keep this request's KCO calls (their timings, never credentials)."""
    if has_request_context() and "kco_calls" in g:
        g.kco_calls.append(call)


def init_app(app: Flask) -> None:
    @app.before_request
    def start_clock() -> None:
        g.started = time.perf_counter()
        g.kco_calls = []

    @app.after_request
    def add_server_timing(response: Response) -> Response:
        kco_ms = sum(call.duration_ms for call in g.get("kco_calls", []))
        total_ms = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
        response.headers["Server-Timing"] = f'kco;dur={kco_ms:.1f};desc="KCO calls", total;dur={total_ms:.1f}'
        return response
