"""Test a shop against the KCO emulator: drive a running one, and start the servers a test needs.

- `KcoEmulator` wraps one emulator's control API (/_emulator/...), described in kco_emulator/openapi.json
  and served at /_emulator/openapi.json.
- `ServerProcess` runs a server command (a shop under gunicorn, Redis, ...) in a child process and waits for
  the line that says it listens; `EmulatorProcess` is the emulator's, on a free port.
- `WsgiServer` serves a WSGI app that the test holds in its own process from a thread, on a free port.

The pytest plugin (kco_emulator.pytest_plugin) hands out an `EmulatorProcess` and a `KcoEmulator` as
fixtures; anything else (a benchmark, a script) can use these classes directly. Only `requests` is needed
here: no pytest, and Flask's Werkzeug only for `WsgiServer`.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Self

import requests

# Where a server says it listens: the emulator's and the demo shop's "listening on URL", gunicorn's
# "Listening at: URL (pid)".
LISTENING = re.compile(r"[Ll]istening (?:on|at:) (http://[^\s)]+)")
# What `python -m kco_emulator` prints once its socket accepts connections.
EMULATOR_LISTENING = re.compile(r"KCO emulator listening on (http://\S+)")
DEMO_CREDENTIALS = ("demo", "demo")


class KcoEmulator:
    """One running emulator: its `url`, the demo `credentials`, and a method per control action.

    Shopper actions (`complete`, `change_country`, `enter_address`, `choose_shipping`) run exactly what the
    widget runs, merchant callbacks included, and answer with the outcome. Reading an order here does not
    appear in `calls()`, so a test can look without changing what it counts.
    """

    def __init__(self, url: str, credentials: tuple[str, str] = DEMO_CREDENTIALS) -> None:
        self.url = url.rstrip("/")
        self.credentials = credentials
        self.http = requests.Session()

    def _get(self, path: str) -> Any:
        return _answer(self.http.get(f"{self.url}/_emulator{path}", timeout=10))

    def _post(self, path: str, payload: Mapping[str, Any] | None = None) -> Any:
        # Always a JSON body, also when empty: the control API accepts JSON only.
        return _answer(self.http.post(f"{self.url}/_emulator{path}", json=dict(payload or {}), timeout=30))

    # --- the whole emulator ----------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget orders, faults, the request log, the clock offset and changed settings."""
        self._post("/reset")

    def settings(self, **changes: Any) -> dict[str, Any]:
        """Change settings until the next reset (e.g. `validation_timeout_seconds=1`,
        `push_retry_seconds=[]`); without arguments, read them. Answers every setting's current value."""
        return self._post("/settings", changes) if changes else self._get("/settings")

    def status(self) -> dict[str, Any]:
        """{"orders": n, "active_push_schedules": n, "now": the emulator's time}"""
        return self._get("/status")

    def calls(self, operation: str | None = None) -> list[dict[str, Any]]:
        """The REST requests the emulator served since the last reset, oldest first, each
        {"method", "path", "status", "order_id", "at", "operation"}; only those of one `operation` (create,
        read, update, abort, om_read, acknowledge) when given."""
        log = self._get("/requests")["requests"]
        return [entry for entry in log if operation is None or entry.get("operation") == operation]

    # --- orders ----------------------------------------------------------------------------------------

    def order(self, order_id: str) -> dict[str, Any]:
        """The order as KCO's read would answer it, also once expired or aborted."""
        return self._get(f"/orders/{order_id}")["order"]

    def order_state(self, order_id: str) -> dict[str, Any]:
        """What only the emulator knows of an order: expired, aborted, acknowledged, push_attempts,
        fraud_status, ... (every field: StoredOrder in kco_emulator/openapi.json)."""
        return self._get(f"/orders/{order_id}")["state"]

    # --- time ------------------------------------------------------------------------------------------

    def advance(self, hours: float = 0, minutes: float = 0, seconds: float = 0) -> str:
        """Move the emulator's clock forward; answers its new time (ISO 8601)."""
        total = hours * 3600 + minutes * 60 + seconds
        return self._post("/clock", {"advance_seconds": total})["now"]

    def expire(self, order_id: str) -> str:
        """Move the clock just past this order's 48 h window (kco-rules: expiry-48h); orders idle for longer
        expire with it."""
        last_activity = _parse_time(self.order_state(order_id)["last_activity"])
        now = _parse_time(self.status()["now"])
        # Timestamps have whole seconds: one more second makes sure the window has passed.
        window_end = last_activity + timedelta(hours=48, seconds=1)
        return self.advance(seconds=max((window_end - now).total_seconds(), 0) + 1)

    # --- faults in the REST API ------------------------------------------------------------------------

    def fail_next(self, operation: str = "any", status: int | None = 500, body: str = "json", times: int = 1,
                  delay_ms: int = 0) -> dict[str, Any]:
        """The next `times` requests of `operation` answer `status` with a KCO error body (`body="json"`), an
        empty one or an HTML error page, after `delay_ms`. `status=None` with a delay only slows them down."""
        return self._arm_fault(operation, status=status, body=body, times=times, delay_ms=delay_ms)

    def disconnect_next(self, operation: str = "any", times: int = 1, delay_ms: int = 0) -> dict[str, Any]:
        """The next `times` requests of `operation` get no HTTP answer: the connection is dropped."""
        return self._arm_fault(operation, mode="disconnect", times=times, delay_ms=delay_ms)

    def _arm_fault(self, operation: str, status: int | None = None, body: str = "json", times: int = 1,
                   delay_ms: int = 0, mode: str | None = None) -> dict[str, Any]:
        spec: dict[str, Any] = {"operation": operation, "body": body, "times": times, "delay_ms": delay_ms}
        if status is not None:
            spec["status"] = status
        if mode is not None:
            spec["mode"] = mode
        return self._post("/faults", spec)["fault"]

    # --- what the shopper does in the widget -----------------------------------------------------------

    def complete(self, order_id: str, fraud_status: str | None = None,
                 billing_address: Mapping[str, Any] | None = None,
                 shipping_address: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Finish the purchase as the shopper would: address, validation callback, completion, push.

        Answers e.g. {"result": "completed", "redirect_url": ...} or
        {"result": "rejected", "error_text": ...}.
        `fraud_status="PENDING"` leaves the order in fraud review until `decide_fraud`. A `billing_address`
        without `shipping_address` ships to the billing address.
        """
        payload: dict[str, Any] = {}
        if billing_address is not None:
            payload["billing_address"] = dict(billing_address)
        if shipping_address is not None:
            payload["shipping_address"] = dict(shipping_address)
        if fraud_status is not None:
            payload["fraud_status"] = fraud_status
        return self._post(f"/orders/{order_id}/complete", payload)

    def change_country(self, order_id: str, country: str) -> dict[str, Any]:
        """The shopper picks another billing country (alpha-2) in the widget: runs country_change. Refused
        (ControlRefused, 409) unless the order offers two or more billing_countries, this one among them."""
        return self._post(f"/orders/{order_id}/country", {"country": country})

    def enter_address(self, order_id: str, billing_address: Mapping[str, Any],
                      shipping_address: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The shopper enters this billing address, and `shipping_address` as a separate one (the widget
        offers it with options.allow_separate_shipping_address): runs address_update (or country_change)."""
        payload: dict[str, Any] = {"billing_address": dict(billing_address)}
        if shipping_address is not None:
            payload["shipping_address"] = dict(shipping_address)
        return self._post(f"/orders/{order_id}/address", payload)

    def choose_shipping(self, order_id: str, option_id: str) -> dict[str, Any]:
        """The shopper picks a shipping option by id: runs shipping_option_update."""
        return self._post(f"/orders/{order_id}/shipping-option", {"id": option_id})

    def tick_checkbox(self, order_id: str, key: str, checked: bool = True) -> dict[str, Any]:
        """The shopper ticks (or clears) one of the merchant's checkboxes: `key` is an id of
        options.additional_checkboxes, or "additional_checkbox" for options.additional_checkbox. The order's
        `merchant_requested` follows."""
        return self._post(f"/orders/{order_id}/checkbox", {"key": key, "checked": checked})

    def cannot_complete(self, order_id: str) -> dict[str, Any]:
        """The widget fires `can_not_complete_order`, as KCO's does when the purchase cannot go through."""
        return self._post(f"/orders/{order_id}/cannot-complete")

    # --- what KCO does to the merchant ----------------------------------------------------------------

    def push(self, order_id: str) -> dict[str, Any]:
        """Deliver one push to merchant_urls.push now; answers the attempt
        {"at", "url", "status", "error"}."""
        return self._post(f"/orders/{order_id}/push")["attempt"]

    def lock(self, order_id: str, refusals: int = 1) -> dict[str, Any]:
        """The next `refusals` merchant updates of the order are refused as if a refine callback were running
        (status from the `callback_lock_status` setting)."""
        return self._post(f"/orders/{order_id}/lock", {"refusals": refusals})

    def decide_fraud(self, order_id: str, event_type: str) -> dict[str, Any]:
        """End the fraud review of a PENDING order: FRAUD_RISK_ACCEPTED, FRAUD_RISK_REJECTED or
        FRAUD_RISK_STOPPED; KCO notifies merchant_urls.notification."""
        return self._post(f"/orders/{order_id}/fraud-decision", {"event_type": event_type})


class ControlRefused(requests.HTTPError):
    """The control API refused a call; the message is the emulator's reason."""


def _answer(response: requests.Response) -> Any:
    """The JSON of a control API answer, or ControlRefused with the reason of its error body."""
    if response.ok:
        return response.json()
    try:
        reason = response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        reason = response.text
    raise ControlRefused(f"{response.status_code} {response.request.method} {response.url}: {reason}",
                         response=response)


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class ServerNotReady(RuntimeError):
    """The server's process exited, or did not say where it listens in time; the message ends with its last
    lines of output."""


class ServerProcess:
    """A server command in a child process, ready once a line of its output matches `ready`.

    `start()` answers the server's URL: the first group of `ready`'s match (a server on port 0 says which
    port it got), or `url` when the pattern has no group (e.g. Redis, on a port chosen beforehand). Every
    line of output is kept in `output` (and echoed as `[name] line` if `echo`). `env` adds variables to this
    process's environment; `cwd` is where the command runs (this process's directory unless given);
    `pass_fds` hands the child sockets it already listens on (e.g. gunicorn's `--bind fd://N`). `stop()`
    sends SIGTERM, and kills the process if it has not ended 5 seconds later. As a context manager it starts
    and stops the server.
    """

    def __init__(self, name: str, argv: list[str], env: Mapping[str, str] | None = None,
                 echo: bool = False, ready: re.Pattern[str] = LISTENING, url: str = "",
                 pass_fds: tuple[int, ...] = (), cwd: str | Path | None = None) -> None:
        self.name = name
        self.argv = argv
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.echo = echo
        self.ready = ready
        self.url = url
        self.pass_fds = pass_fds
        self.cwd = cwd
        self.output: list[str] = []
        self._matched = False
        self._process: subprocess.Popen[str] | None = None
        self._ready = threading.Event()

    def start(self, timeout: float = 20.0) -> str:
        self._process = subprocess.Popen(
            self.argv, cwd=self.cwd, env=self.env, text=True, pass_fds=self.pass_fds,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        threading.Thread(target=self._read_output, name=f"{self.name}-output", daemon=True).start()
        if not self._ready.wait(timeout) or not self._matched:
            self.stop()
            raise ServerNotReady(f"{self.name} did not start:\n" + "".join(self.output[-40:]))
        return self.url

    def _read_output(self) -> None:
        # Reading to the end also keeps the pipe from filling up and blocking the server.
        assert self._process is not None and self._process.stdout is not None
        for line in self._process.stdout:
            self.output.append(line)
            if self.echo:
                sys.stdout.write(f"[{self.name}] {line}")
            if not self._matched and (match := self.ready.search(line)):
                if self.ready.groups:
                    self.url = match.group(1).rstrip("/")
                self._matched = True
                self._ready.set()
        self._ready.set()  # the process ended: wake a waiting start()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int:
        """The child's process id, once started (for a test that looks at the process from outside)."""
        assert self._process is not None, f"start() the {self.name} first"
        return self._process.pid

    def wait(self, timeout: float | None = None) -> int:
        """Wait until the process ends by itself; its exit status."""
        assert self._process is not None, f"start() the {self.name} first"
        return self._process.wait(timeout)

    def stop(self) -> None:
        if self._process is None or self._process.poll() is not None:
            return
        self._process.send_signal(signal.SIGTERM)
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class EmulatorNotReady(ServerNotReady):
    """The emulator process exited, or did not say where it listens."""


class EmulatorProcess(ServerProcess):
    """`python -m kco_emulator` in a child process, on a free port unless `port` is given.

    `env` adds variables (e.g. KCO_EMULATOR_PUSH_RETRY_SECONDS); the process inherits the rest.
    """

    def __init__(self, env: Mapping[str, str] | None = None, host: str = "127.0.0.1", port: int = 0,
                 echo: bool = False) -> None:
        argv = [sys.executable, "-m", "kco_emulator", "--host", host, "--port", str(port)]
        super().__init__("emulator", argv, env, echo=echo, ready=EMULATOR_LISTENING)

    def start(self, timeout: float = 20.0) -> str:
        try:
            return super().start(timeout)
        except ServerNotReady as error:
            raise EmulatorNotReady(str(error)) from None


class WsgiServer:
    """A WSGI app that the test holds in its own process, served over HTTP from a thread on a free loopback
    port: for what must be reachable over a socket, such as a shop whose callbacks the emulator calls.

    `start()` answers its URL, `stop()` ends it; as a context manager it does both. Werkzeug's threaded
    development server, which comes with Flask (the emulator extra).
    """

    def __init__(self, app: Callable[..., Any], host: str = "127.0.0.1") -> None:
        self.app = app
        self.host = host
        self.url = ""
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        # Imported here: the pytest plugin imports this module also where only the `kco` library is installed.
        from werkzeug.serving import make_server

        self._server = make_server(self.host, 0, self.app, threaded=True)
        self.url = f"http://{self.host}:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="wsgi-server", daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        assert self._thread is not None
        self._thread.join()
        self._server = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
