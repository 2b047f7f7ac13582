"""The emulator client of this repository's tests and benchmarks: the plugin's `KcoEmulator`
(kco_emulator.testing) plus a REST session with the demo credentials (`api`), for tests that create or read
orders directly rather than through the shop, and the names the older tests use.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

from kco_emulator.testing import KcoEmulator


class EmulatorControl(KcoEmulator):
    def __init__(self, base_url: str) -> None:
        super().__init__(base_url)
        self.base_url = self.url
        self.api = requests.Session()
        self.api.auth = self.credentials

    def requests(self) -> list[dict[str, Any]]:
        """Every REST API request served since the last reset, oldest first."""
        return self.calls()

    def api_calls(self, method: str | None = None, kind: str | None = None) -> list[dict[str, Any]]:
        """The request log filtered by HTTP method and/or operation (`kind`)."""
        return [entry for entry in self.calls(kind) if method is None or entry["method"] == method]

    def advance_clock(self, seconds: float) -> str:
        return self.advance(seconds=seconds)

    def fault(self, operation: str, status: int | None = None, body: str = "json", delay_ms: int = 0,
              times: int = 1, mode: str | None = None) -> dict[str, Any]:
        """A fault as /_emulator/faults takes it; `fail_next` and `disconnect_next` read better."""
        return self._arm_fault(operation, status=status, body=body, times=times, delay_ms=delay_ms, mode=mode)

    def choose_shipping_option(self, order_id: str, option_id: str) -> dict[str, Any]:
        return self.choose_shipping(order_id, option_id)

    def complete(self, order_id: str, billing_address: Mapping[str, Any] | None = None,  # type: ignore[override]
                 fraud_status: str | None = None) -> dict[str, Any]:
        """The older tests pass the billing address second."""
        return super().complete(order_id, fraud_status=fraud_status, billing_address=billing_address)

    def stored(self, order_id: str) -> dict[str, Any]:
        """{"order": `order(order_id)`, "state": `order_state(order_id)`} in one request."""
        return self._get(f"/orders/{order_id}")

    def create_order(self, order: dict[str, Any]) -> dict[str, Any]:
        """Create a checkout order through the REST API with the demo credentials."""
        response = self.api.post(f"{self.url}/checkout/v3/orders", json=order, timeout=10)
        response.raise_for_status()
        return response.json()
