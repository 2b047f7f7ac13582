"""`make run`'s local stack (harness/local_stack.py): a SIGTERM stops the emulator and the shop it started, as
Ctrl-C does."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.local_stack import ROOT
from kco_emulator.testing import ServerProcess

READY = re.compile(r"The shop is ready: (http://\S+)")
PROC = Path("/proc")
GONE_WITHIN_SECONDS = 15.0


def children_of(pid: int) -> list[int]:
    """The live child processes of `pid`, from /proc (field 4 of /proc/PID/stat is the parent's pid)."""
    children = []
    for stat in PROC.glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended while we looked
        if int(fields[1]) == pid and fields[0] != "Z":
            children.append(int(stat.parent.name))
    return children


def is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@contextlib.contextmanager
def sigint_as_in_a_terminal() -> Iterator[None]:
    """Processes started inside get SIGINT's default disposition, as `make run` in a terminal does.

    An ignored SIGINT is inherited through exec (pytest run from a background job has one), a handler is reset
    to the default: so this process handles SIGINT while they start, whatever it inherited itself.
    """
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        if inherited is not None:  # None: not set from Python, nothing to put back
            signal.signal(signal.SIGINT, inherited)


def wait_until_gone(pids: list[int]) -> list[int]:
    """Polls until none of `pids` runs, or the time is up; the ones still running."""
    deadline = time.monotonic() + GONE_WITHIN_SECONDS
    running = [pid for pid in pids if is_running(pid)]
    while running and time.monotonic() < deadline:
        time.sleep(0.05)
        running = [pid for pid in running if is_running(pid)]
    return running


@pytest.mark.skipif(not PROC.is_dir(), reason="reads the process tree from /proc (Linux)")
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_a_stop_signal_to_the_local_stack_stops_the_emulator_and_the_shop(
        stop_signal: signal.Signals, tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "harness.local_stack", "--emulator-port", "0", "--shop-port", "0"]
    local_stack = ServerProcess(
        "local stack", argv,
        env={"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "test-only-secret-of-the-local-stack-test"},
        ready=READY, cwd=ROOT)
    with sigint_as_in_a_terminal():
        local_stack.start()
    children: list[int] = []
    try:
        children = children_of(local_stack.pid)
        assert len(children) == 2, "".join(local_stack.output)  # the emulator and the shop

        os.kill(local_stack.pid, stop_signal)
        assert local_stack.wait(timeout=GONE_WITHIN_SECONDS) == 0
        assert wait_until_gone(children) == [], "".join(local_stack.output)
        assert "Stopping." in "".join(local_stack.output)
    finally:
        local_stack.stop()
        for pid in wait_until_gone(children):  # a failed test leaves no orphans behind either
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
