"""The test stand every benchmark runs on: the emulator and the shop as real processes, and the reporting.

Each benchmark starts its own emulator and shop on ports the OS picks, prints one markdown table and stops
them again. Run one with `.venv/bin/python -m bench.bench_kco_calls`, all with `make bench`.
"""

from __future__ import annotations

import math
import os
import platform
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.local_stack import shop_process
from harness.shop_client import shop_text
from kco_emulator.testing import EmulatorProcess, KcoEmulator

SECRET_KEY = "benchmark-only-secret-key-not-for-production"
KCO_DEMO_CREDENTIALS = {"KCO_USERNAME": "demo", "KCO_PASSWORD": "demo"}
# The same flags as the end-to-end suite (e2e/conftest.py): keep Chromium from calling home.
QUIET_CHROMIUM = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]


@dataclass(frozen=True)
class Stand:
    emulator: KcoEmulator
    emulator_url: str
    shop_url: str
    instance_path: Path


def shop_env(instance_path: Path) -> dict[str, str]:
    """The shop as a merchant runs it: the workshop's KCO inspector is off, so the figures are the shop's,
    not the inspector's."""
    # Every benchmark shopper comes from 127.0.0.1: lift the per-client budgets (shop/budgets.py).
    return {"SECRET_KEY": SECRET_KEY, "INSTANCE_PATH": str(instance_path), "KCO_INSPECTOR": "0",
            "CHECKOUT_CREATION_LIMIT": "100000 per hour",
            **KCO_DEMO_CREDENTIALS}


@contextmanager
def running_stand(shop_settings: Mapping[str, str] | None = None) -> Iterator[Stand]:
    """The emulator and the shop (development server), each on a free port, in a fresh instance folder."""
    with tempfile.TemporaryDirectory(prefix="kco-bench-") as work_dir, EmulatorProcess() as emulator:
        instance_path = Path(work_dir) / "instance"
        shop = shop_process(emulator.url, port=0, env={**shop_env(instance_path), **(shop_settings or {})})
        with shop:
            yield Stand(KcoEmulator(emulator.url), emulator.url, shop.url, instance_path)


def percentile(values: Sequence[float], percent: float) -> float:
    """Nearest-rank percentile: the smallest value with at least `percent` % of the values at or below it."""
    ordered = sorted(values)
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1]


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def machine() -> str:
    """One line naming the machine: cores, CPU model, memory, Python, and how busy it was."""
    model = "unknown CPU"
    memory = "unknown memory"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB RAM"
                break
    except OSError:
        pass
    load = os.getloadavg()[0]
    return (f"{os.cpu_count()} cores ({model}), {memory}, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}; load average {load:.1f} when this table was printed")


def chromium_executable() -> str | None:
    """Playwright's bundled Chromium when installed, else Debian's /usr/bin/chromium (None: neither)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        if Path(playwright.chromium.executable_path).exists():
            return playwright.chromium.executable_path
    return shutil.which("chromium")


@contextmanager
def checkout_in_chromium(executable: str, shop_url: str, product: str) -> Iterator[Any]:
    """A Chromium page on the shop's checkout, `product` in the cart and the KCO widget ready; then closed."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=QUIET_CHROMIUM)
        try:
            page = browser.new_page()
            page.goto(f"{shop_url}/")
            page.get_by_role("button", name=shop_text("Add %(product)s to cart", product=product)).click()
            page.goto(f"{shop_url}/checkout")
            widget = page.locator("#klarna-checkout-container")
            expect(widget).to_have_attribute("data-kco-widget-state", "ready")
            yield page
        finally:
            browser.close()


def print_report(title: str, table: str, notes: Sequence[str] = ()) -> None:
    print(f"\n### {title}\n\n{table}\n")
    for note in notes:
        print(f"- {note}")
    print(f"\nMachine: {machine()}\n", flush=True)
