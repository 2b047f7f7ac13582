"""Injected failures for the REST API: `/_emulator/faults` arms them, the API consumes them.

A fault matches an operation (or `any`) and fires for the next `times` matching requests. It can delay
the answer, replace it with a status and a JSON, empty or HTML body, or drop the connection without
any HTTP answer (`mode: "disconnect"`), which a client sees as a connection error.
"""

from __future__ import annotations

import socket
import time
from dataclasses import asdict, dataclass
from http import HTTPStatus
from typing import Any

from flask import Response, json, request

from kco_emulator.store import EmulatorState

OPERATIONS = ("create", "read", "update", "abort", "om_read", "acknowledge", "any")
# The WSGI environ key under which the emulator's server (kco_emulator.server) hands over the client's socket.
CLIENT_SOCKET = "kco_emulator.client_socket"
BODIES = ("json", "empty", "html")


class FaultSpecError(ValueError):
    """The control request describing a fault is malformed."""


@dataclass
class Fault:
    operation: str
    status: int | None = None
    body: str = "json"
    delay_ms: int = 0
    times: int = 1
    mode: str | None = None

    @classmethod
    def from_request(cls, spec: Any) -> Fault:
        if not isinstance(spec, dict):
            raise FaultSpecError("the fault must be a JSON object")
        fault = cls(
            operation=spec.get("operation", "any"),
            status=spec.get("status"),
            body=spec.get("body", "json"),
            delay_ms=spec.get("delay_ms", 0),
            times=spec.get("times", 1),
            mode=spec.get("mode"),
        )
        if fault.operation not in OPERATIONS:
            raise FaultSpecError(f"operation must be one of {', '.join(OPERATIONS)}")
        if fault.status is not None and (not isinstance(fault.status, int) or not 100 <= fault.status <= 599):
            raise FaultSpecError("status must be an HTTP status code")
        if fault.body not in BODIES:
            raise FaultSpecError(f"body must be one of {', '.join(BODIES)}")
        if fault.mode not in (None, "disconnect"):
            raise FaultSpecError('mode must be "disconnect" or absent')
        for name in ("delay_ms", "times"):
            value = getattr(fault, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise FaultSpecError(f"{name} must be a non-negative integer")
        if fault.status is None and fault.mode is None and fault.delay_ms == 0:
            raise FaultSpecError("a fault needs a status, a delay_ms or mode \"disconnect\"")
        return fault

    def describe(self) -> dict[str, Any]:
        return asdict(self)


def arm(state: EmulatorState, fault: Fault) -> None:
    with state.lock:
        state.faults.append(fault)


def take(state: EmulatorState, operation: str) -> Fault | None:
    """The first armed fault matching this operation, counting one use of it."""
    with state.lock:
        for fault in state.faults:
            if fault.times > 0 and fault.operation in (operation, "any"):
                fault.times -= 1
                if fault.times == 0:
                    state.faults.remove(fault)
                return fault
    return None


def wait(fault: Fault) -> None:
    # A real delay on purpose: it is what a client's read timeout has to cope with.
    if fault.delay_ms:
        time.sleep(fault.delay_ms / 1000)


def fault_response(fault: Fault, correlation_id: str) -> Response:
    """The replacement answer of a fault with a status."""
    assert fault.status is not None
    if fault.body == "empty":
        return Response(b"", status=fault.status)
    try:
        known: HTTPStatus | None = HTTPStatus(fault.status)
    except ValueError:
        known = None
    if fault.body == "html":
        # Like an edge proxy's error page: not JSON (kco-rules: error-body).
        phrase = known.phrase if known else "Error"
        html = (f"<html><head><title>{fault.status} {phrase}</title></head>"
                f"<body><h1>{phrase}</h1></body></html>")
        return Response(html, status=fault.status, mimetype="text/html")
    # The error code of an injected failure is the emulator's choice: the status phrase in KCO's style.
    code = known.name if known else "ERROR"
    body = {"error_code": code, "error_messages": [f"Emulated fault: HTTP {fault.status}"],
            "correlation_id": correlation_id}
    return Response(json.dumps(body), status=fault.status, mimetype="application/json")


def drop_connection() -> None:
    """Close the client's TCP connection so that no HTTP answer at all is sent."""
    connection = request.environ.get(CLIENT_SOCKET)
    if connection is None:
        raise RuntimeError("disconnect faults need the emulator's own server (kco_emulator.server)")
    try:
        connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # the client went away already
