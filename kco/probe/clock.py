"""The time the probe measures KCO's pushes with (kco-rules: push-and-acknowledge).

Against the real playground that is the wall clock, and waiting for the second push takes minutes. A test
that points the probe at the local emulator passes a clock of its own: one that reads the emulator's clock
and moves it on instead of waiting (tests/test_probe.py).
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch."""
        ...

    def sleep(self, seconds: float, wake: threading.Event) -> None:
        """Let `seconds` pass, or less once `wake` is set."""
        ...


class WallClock:
    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float, wake: threading.Event) -> None:
        wake.wait(seconds)
