"""A small client for the emulator's control API (/_emulator/...), used by tests and benchmarks.

It also carries a REST session with the emulator's demo credentials (`api`), for tests that need to
create or read orders directly rather than through the shop.
"""

from __future__ import annotations

import os
from typing import Any

import requests


class EmulatorControl:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = requests.Session()
        self.api = requests.Session()
        self.api.auth = (
            os.environ.get("KCO_EMULATOR_USERNAME", "demo"),
            os.environ.get("KCO_EMULATOR_PASSWORD", "demo"),
        )

    def _post(self, path: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.http.post(f"{self.base_url}/_emulator{path}", json=payload or {}, timeout=30)
        response.raise_for_status()
        return response.json()

    def _get(self, path: str) -> dict[str, Any]:
        response = self.http.get(f"{self.base_url}/_emulator{path}", timeout=10)
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        self.http.post(f"{self.base_url}/_emulator/reset", timeout=5).raise_for_status()

    def requests(self) -> list[dict[str, Any]]:
        """Every REST API request served since the last reset, oldest first."""
        return self._get("/requests")["requests"]

    def api_calls(self, method: str | None = None, kind: str | None = None) -> list[dict[str, Any]]:
        """The request log filtered by HTTP method and/or operation (create, read, update, abort,
        om_read, acknowledge)."""
        return [
            entry
            for entry in self.requests()
            if (method is None or entry["method"] == method) and (kind is None or entry["operation"] == kind)
        ]

    def advance_clock(self, seconds: float) -> str:
        return self._post("/clock", {"advance_seconds": seconds})["now"]

    def fault(
        self,
        operation: str,
        status: int | None = None,
        body: str = "json",
        delay_ms: int = 0,
        times: int = 1,
        mode: str | None = None,
    ) -> dict[str, Any]:
        spec: dict[str, Any] = {"operation": operation, "body": body, "delay_ms": delay_ms, "times": times}
        if status is not None:
            spec["status"] = status
        if mode is not None:
            spec["mode"] = mode
        return self._post("/faults", spec)["fault"]

    def settings(self, **changes: Any) -> dict[str, Any]:
        """Change timings until the next reset: validation_timeout_seconds,
        strict_validation_timeout_seconds, callback_timeout_seconds, push_retry_seconds (list)."""
        return self._post("/settings", changes)

    def complete(self, order_id: str, billing_address: dict[str, Any] | None = None) -> dict[str, Any]:
        """Finish the purchase as a shopper would (address, validation, completion, push).

        Returns e.g. {"result": "completed", "redirect_url": ...}
        or {"result": "rejected", "error_text": ...}.
        """
        payload = {"billing_address": billing_address} if billing_address is not None else {}
        return self._post(f"/orders/{order_id}/complete", payload)

    def change_country(self, order_id: str, country: str) -> dict[str, Any]:
        return self._post(f"/orders/{order_id}/country", {"country": country})

    def enter_address(self, order_id: str, billing_address: dict[str, Any]) -> dict[str, Any]:
        return self._post(f"/orders/{order_id}/address", {"billing_address": billing_address})

    def choose_shipping_option(self, order_id: str, option_id: str) -> dict[str, Any]:
        return self._post(f"/orders/{order_id}/shipping-option", {"id": option_id})

    def push(self, order_id: str) -> dict[str, Any]:
        """Deliver one push to the merchant now; returns the attempt (status or error)."""
        return self._post(f"/orders/{order_id}/push")["attempt"]

    def stored(self, order_id: str) -> dict[str, Any]:
        """{"order": <as read shows it>, "state": {expired, aborted, acknowledged, push_attempts, ...}},
        without credentials and without touching the request log."""
        return self._get(f"/orders/{order_id}")

    def create_order(self, order: dict[str, Any]) -> dict[str, Any]:
        """Create a checkout order through the REST API with the demo credentials."""
        response = self.api.post(f"{self.base_url}/checkout/v3/orders", json=order, timeout=10)
        response.raise_for_status()
        return response.json()

    def order(self, order_id: str) -> dict[str, Any]:
        """Read the order through the REST API with the demo credentials (this is logged as a read)."""
        response = self.api.get(f"{self.base_url}/checkout/v3/orders/{order_id}", timeout=10)
        response.raise_for_status()
        return response.json()

    def status(self) -> dict[str, Any]:
        """{"orders": n, "active_push_schedules": n, "now": ...}"""
        return self._get("/status")
