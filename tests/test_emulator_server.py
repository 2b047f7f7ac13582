"""The emulator's own HTTP server (kco_emulator/server.py) holds up against a client that misbehaves: a body
too big to read, a Content-Length that is no number, sent twice or huge, connections left idle by the hundred
and a burst of connections while the process is busy.

Each test talks raw HTTP over a socket to an emulator process of its own module, so stopping that process
(SIGSTOP) or filling it with connections leaves the suite's shared emulator alone.
"""

from __future__ import annotations

import json
import os
import signal
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests

from harness.emulator_samples import sample_order
from kco_emulator.server import BACKLOG, MAX_THREADS
from kco_emulator.testing import EmulatorProcess

# Long enough for any answer on this machine; an answer that never comes fails the test instead of hanging.
ANSWER_SECONDS = 10
CREATE = (b"POST /checkout/v3/orders HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic ZGVtbzpkZW1v\r\n"
          b"Content-Type: application/json\r\n")


@pytest.fixture(scope="module")
def emulator_process() -> Iterator[EmulatorProcess]:
    process = EmulatorProcess()
    process.start()
    yield process
    process.stop()


def address(process: EmulatorProcess) -> tuple[str, int]:
    parts = urlsplit(process.url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


def status_line(process: EmulatorProcess, request: bytes) -> bytes:
    """Send `request` as it is and answer the first line of the reply."""
    with socket.create_connection(address(process), timeout=ANSWER_SECONDS) as connection:
        connection.sendall(request)
        return connection.makefile("rb").readline()


def test_a_body_over_the_limit_is_refused_413_before_it_is_read(emulator_process: EmulatorProcess) -> None:
    # 300 MB announced, none sent: a server that reads the body first never answers.
    assert status_line(emulator_process, CREATE + b"Content-Length: 300000000\r\n\r\n").startswith(
        b"HTTP/1.1 413 ")


def test_a_content_length_of_ten_to_the_fifteen_is_refused_413(emulator_process: EmulatorProcess) -> None:
    assert status_line(emulator_process, CREATE + b"Content-Length: 1000000000000000\r\n\r\n").startswith(
        b"HTTP/1.1 413 ")


# A valid order, so that a server that let the request through would answer 201, not 400.
ORDER = json.dumps(sample_order()).encode()
SIZE = str(len(ORDER)).encode()


NOT_DIGITS = [b"\xb2", b"+" + SIZE, b"-" + SIZE, SIZE + b".0", SIZE[:1] + b"_" + SIZE[1:]]


@pytest.mark.parametrize("length", NOT_DIGITS)
def test_a_content_length_that_is_not_digits_is_refused_400(
    emulator_process: EmulatorProcess, length: bytes
) -> None:
    request = CREATE + b"Content-Length: " + length + b"\r\n\r\n" + ORDER
    assert status_line(emulator_process, request).startswith(b"HTTP/1.1 400 ")


def test_the_valid_order_of_these_tests_is_created(emulator_process: EmulatorProcess) -> None:
    request = CREATE + b"Content-Length: " + SIZE + b"\r\n\r\n" + ORDER
    assert status_line(emulator_process, request).startswith(b"HTTP/1.1 201 ")


def test_a_content_length_sent_twice_is_refused_400(emulator_process: EmulatorProcess) -> None:
    # Whichever of the two a server believed, it would read a whole order or wait for more.
    request = CREATE + b"Content-Length: " + SIZE + b"\r\nContent-Length: 99999\r\n\r\n" + ORDER
    assert status_line(emulator_process, request).startswith(b"HTTP/1.1 400 ")


def threads_of(process: EmulatorProcess) -> int:
    with open(f"/proc/{process.pid}/status", encoding="ascii") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("Threads:"))


def test_idle_connections_hold_no_thread_each(emulator_process: EmulatorProcess) -> None:
    idle = [socket.create_connection(address(emulator_process)) for _ in range(3 * MAX_THREADS)]
    try:
        # The server accepts in the order the connections came, so once this request is answered every idle
        # connection above has been accepted too.
        assert requests.get(f"{emulator_process.url}/_emulator/status", timeout=ANSWER_SECONDS).ok
        # Request threads, the accepting main thread and cheroot's helper for refused connections.
        assert threads_of(emulator_process) <= MAX_THREADS + 2
    finally:
        for connection in idle:
            connection.close()


def test_the_backlog_holds_a_burst_of_connections_while_the_process_cannot_accept(
    emulator_process: EmulatorProcess,
) -> None:
    burst = 64
    assert BACKLOG >= burst
    os.kill(emulator_process.pid, signal.SIGSTOP)
    connections = []
    try:
        # The kernel completes each handshake into the listen queue while the process is stopped; past the
        # backlog it drops the connection attempt, and that connect times out.
        for _ in range(burst):
            connections.append(socket.create_connection(address(emulator_process), timeout=ANSWER_SECONDS))
    finally:
        os.kill(emulator_process.pid, signal.SIGCONT)
        for connection in connections:
            connection.close()
    assert len(connections) == burst
    assert requests.get(f"{emulator_process.url}/_emulator/status", timeout=ANSWER_SECONDS).ok
