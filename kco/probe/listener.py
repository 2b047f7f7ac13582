"""The probe's own web server (standard library `http.server`, one thread per request): the guided page, the
events that page posts, and the callbacks KCO makes.

Paths:

    GET  /                              the guided page with the snippet of the current order (page.html)
    GET  /probe/page.js                 its script
    GET  /probe/step?seen=N             the current step, once it is not step N (waits up to 20 s)
    POST /probe/events                  one widget event, as the page saw it
    POST /probe/done                    the page's Done for a step, with what the page observed
    GET  /probe/second-snippet          the snippet of the second order, for the step that swaps it in
    POST /kco/<callback>/<order_id>     address_update, country_change, shipping_option_update, validation,
                                        push, notification: recorded, then answered by `answers[callback]`
    GET  /kco/confirmation/<order_id>   the confirmation page: recorded, then the confirmation snippet
    GET  /kco/checkout/<order_id>       back to the guided page; /kco/terms/... a line of terms

Everything KCO sends is recorded with its body, headers and the time on the probe's clock.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

from kco.probe.clock import Clock

STEP_POLL_SECONDS = 20.0
# Never kept in the report, whoever sends them.
SECRET_HEADERS = frozenset({"authorization", "cookie"})
# Only the page's own origin may run scripts without being reported: every script, frame or connection the
# widget adds from elsewhere fires a securitypolicyviolation event, which the page posts as event "csp".
REPORT_ONLY_POLICY = "default-src 'self' 'unsafe-inline' data: blob:"
Answer = tuple[int, Any]


@dataclass
class Callback:
    """One call KCO made to the probe."""

    name: str
    order_id: str
    body: Any
    headers: dict[str, str]
    at: float


@dataclass
class Step:
    """One thing the person at the browser (or a test's guide) does: `details` holds the values to type or
    pick, `action` a button the page offers for it."""

    id: str
    instruction: str
    order_id: str | None
    details: dict[str, Any] = field(default_factory=dict)
    action: str | None = None
    number: int = 0
    total: int = 0


def echo_answer(callback: Callback) -> Answer:
    """A refine callback answered with the order as KCO sent it, so nothing changes
    (kco-rules: refine-callbacks)."""
    body = callback.body if isinstance(callback.body, dict) else {}
    keys = ("order_amount", "order_tax_amount", "order_lines", "purchase_currency")
    return 200, {key: body[key] for key in keys if key in body}


class Listener:
    """The server, what it recorded, and the step the page shows."""

    def __init__(self, clock: Clock, host: str = "127.0.0.1", port: int = 0) -> None:
        self.clock = clock
        self.lock = threading.Condition()
        self.callbacks: list[Callback] = []
        self.events: list[dict[str, Any]] = []
        self.answers: dict[str, Callable[[Callback], Answer]] = {}
        self.page_snippet = ""
        self.page_order_id = ""
        self.second_snippet: dict[str, str] = {}
        self.confirmation_snippet: Callable[[str], str] = lambda order_id: ""
        self.push_arrived = threading.Event()
        self.step: Step | None = None
        self.step_seq = 0
        self.done: dict[int, dict[str, Any]] = {}
        self.server = ThreadingHTTPServer((host, port), _handler(self))
        self.server.daemon_threads = True
        self.url = f"http://{host}:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, name="kco-probe", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- what the probe steers ---------------------------------------------------------------------------

    def show(self, step: Step | None) -> int:
        """Make `step` the page's current one; answers its sequence number for `wait_done`."""
        with self.lock:
            self.step = step
            self.step_seq += 1
            self.lock.notify_all()
            return self.step_seq

    def wait_done(self, seq: int, timeout: float) -> dict[str, Any] | None:
        """What the page posted with its Done for step `seq`, or None when nobody pressed it in time."""
        with self.lock:
            self.lock.wait_for(lambda: seq in self.done, timeout)
            return self.done.get(seq)

    def mark_done(self, seq: int, observed: dict[str, Any]) -> None:
        with self.lock:
            self.done.setdefault(seq, observed)
            self.lock.notify_all()

    def recorded(self, name: str, order_id: str) -> list[Callback]:
        with self.lock:
            return [callback for callback in self.callbacks
                    if callback.name == name and callback.order_id == order_id]

    def events_of(self, order_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return [event for event in self.events if event.get("order_id") == order_id]

    # --- what the handler records -----------------------------------------------------------------------

    def record_callback(self, callback: Callback) -> Answer:
        with self.lock:
            self.callbacks.append(callback)
        if callback.name == "push":
            self.push_arrived.set()
        answer = self.answers.get(callback.name)
        return answer(callback) if answer is not None else (200, {})

    def record_event(self, event: dict[str, Any]) -> None:
        with self.lock:
            self.events.append({**event, "received_at": self.clock.now()})

    def current_step(self, seen: int) -> dict[str, Any]:
        with self.lock:
            self.lock.wait_for(lambda: self.step_seq != seen, STEP_POLL_SECONDS)
            step = self.step
            return {"seq": self.step_seq, **(vars(step) if step is not None else {"id": "finished"})}


def _handler(listener: Listener) -> type[BaseHTTPRequestHandler]:
    class Handler(ProbeHandler):
        pass

    Handler.listener = listener
    return Handler


class ProbeHandler(BaseHTTPRequestHandler):
    listener: Listener
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the report, not the terminal, is where requests are told."""

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        order_id = path.rpartition("/")[2]
        if path == "/":
            self._page(self.listener.page_order_id, self.listener.page_snippet)
        elif path == "/probe/page.js":
            self._send(200, "text/javascript", _resource("page.js"))
        elif path == "/probe/step":
            seen = int((parse_qs(urlsplit(self.path).query).get("seen") or ["0"])[0] or 0)
            self._json(200, self.listener.current_step(seen))
        elif path == "/probe/second-snippet":
            self._json(200, self.listener.second_snippet)
        elif path.startswith("/kco/confirmation/"):
            self.listener.record_callback(Callback("confirmation", order_id, None, self._headers(),
                                                   self.listener.clock.now()))
            self._page(order_id, self.listener.confirmation_snippet(order_id))
        elif path.startswith("/kco/checkout/"):
            self.send_response(303)
            self.send_header("Location", "/")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/favicon.ico":
            self._send(204, "image/x-icon", b"")
        elif path.startswith("/kco/terms/"):
            self._send(200, "text/plain", b"Terms of the kco-probe test orders: nothing is sold.")
        else:
            self._send(404, "text/plain", b"Not found")

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        body = self._body()
        if path == "/probe/events":
            self.listener.record_event(body if isinstance(body, dict) else {"payload": body})
            self._json(200, {"recorded": True})
        elif path == "/probe/done":
            observed = body if isinstance(body, dict) else {}
            self.listener.mark_done(int(observed.get("seq") or 0), observed)
            self._json(200, {"done": True})
        elif path.startswith("/kco/"):
            kind, _, order_id = path.removeprefix("/kco/").partition("/")
            callback = Callback(kind, order_id, body, self._headers(), self.listener.clock.now())
            status, answer = self.listener.record_callback(callback)
            self._json(status, answer)
        else:
            self._send(404, "text/plain", b"Not found")

    def _headers(self) -> dict[str, str]:
        return {name: value for name, value in self.headers.items() if name.lower() not in SECRET_HEADERS}

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw) if raw.strip() else None
        except ValueError:
            return raw.decode("utf-8", "replace")

    def _page(self, order_id: str, snippet: str) -> None:
        page = _resource("page.html").decode("utf-8")
        page = page.replace("{{order_id}}", order_id).replace("{{snippet}}", snippet)
        self._send(200, "text/html; charset=utf-8", page.encode("utf-8"),
                   {"Content-Security-Policy-Report-Only": REPORT_ONLY_POLICY, "Cache-Control": "no-store"})

    def _json(self, status: int, body: Any) -> None:
        self._send(status, "application/json", json.dumps(body).encode("utf-8"))

    def _send(self, status: int, content_type: str, body: bytes,
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the page went on (a reload, a new step) before its answer came: nothing waits for it


def _resource(name: str) -> bytes:
    return resources.files("kco.probe").joinpath(name).read_bytes()
