"""Journey: a merchant copies the files docs/adapt-to-your-shop.md lists into their own shop, and it works.

The copy goes into an empty folder, beside a shop written only for this test (e2e/copy_host/: its own two
products, its own page following the markup contract of static/js/kco-sync.js). That shop runs from the
folder, so it can import nothing of this repository but the copy, against the emulator, in Chromium: the
first load creates one KCO order, a quantity change is one update with the widget resumed, a country change
moves the order's currency and locale, and a purchase ends on the shop's confirmation with the push
acknowledged (kco-rules: push-and-acknowledge).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from e2e.journeys import SyncEvents, Widget, count_of, kco_operations, wait_for
from harness.copy_set import copy_into
from kco_emulator.testing import KcoEmulator, ServerProcess

HOST = Path(__file__).parent / "copy_host"
# `flask run` reports where it listens as " * Running on http://127.0.0.1:PORT".
RUNNING_ON = re.compile(r"Running on (http://[\d.:]+)")
# -E: no PYTHONPATH or other PYTHON* variable can point back into this repository.
PYTHON = [sys.executable, "-E", "-u"]


@pytest.fixture(scope="module")
def merchant_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty folder holding the copied files at their paths, and the test's shop beside them."""
    folder = tmp_path_factory.mktemp("merchant-shop")
    copy_into(folder)
    shutil.copytree(HOST, folder, dirs_exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def merchant_shop(merchant_folder: Path, emulator_server: ServerProcess) -> Iterator[ServerProcess]:
    server = ServerProcess(
        "merchant shop", [*PYTHON, "-m", "flask", "--app", "host_app", "run", "--port", "0"],
        env={"KCO_API_URL": emulator_server.url, "KCO_USERNAME": "demo", "KCO_PASSWORD": "demo",
             "SECRET_KEY": "test-only-merchant-secret"},
        ready=RUNNING_ON, cwd=merchant_folder)
    server.start()
    yield server
    server.stop()


def opens_checkout(page: Page, shop_url: str) -> Widget:
    page.goto(f"{shop_url}/")
    widget = Widget(page)
    widget.expect_ready()
    return widget


def order_id_of(page: Page, shop_url: str) -> str:
    """The KCO order of this tab's session, as the merchant's GET /api/cart names it."""
    answer = page.request.get(f"{shop_url}/api/cart").json()
    return answer["order"]["order_id"]


def test_the_copy_imports_its_own_kco_and_nothing_of_this_repository(merchant_folder: Path) -> None:
    probe = ("import importlib.util, kco; print(kco.__file__); "
             "print(importlib.util.find_spec('shop')); print(importlib.util.find_spec('harness'))")
    result = subprocess.run([*PYTHON, "-c", probe], cwd=merchant_folder, capture_output=True, text=True,
                            check=True, timeout=30)
    kco_file, shop_spec, harness_spec = result.stdout.split()
    assert Path(kco_file).is_relative_to(merchant_folder)
    assert (shop_spec, harness_spec) == ("None", "None")


def test_the_first_load_creates_exactly_one_order(page: Page, merchant_shop: ServerProcess,
                                                  emulator: KcoEmulator, screenshot) -> None:
    widget = opens_checkout(page, merchant_shop.url)

    expect(widget.line("Beeswax candle")).to_be_visible()
    expect(widget.line("Olive oil soap")).to_be_visible()
    expect(page.locator("[data-kco-order-amount]")).to_have_text(widget.total.inner_text())
    screenshot("checkout")
    page.wait_for_load_state("networkidle")
    assert kco_operations(emulator) == ["create"]


def test_a_quantity_change_is_one_update_and_the_widget_is_resumed(page: Page, merchant_shop: ServerProcess,
                                                                   emulator: KcoEmulator) -> None:
    sync_events = SyncEvents(page)
    widget = opens_checkout(page, merchant_shop.url)

    page.get_by_label("Quantity of Beeswax candle").fill("3")

    sync_events.expect_resumed_after_each(("/api/cart", True))
    widget.expect_ready()
    expect(widget.line("Beeswax candle")).to_contain_text("3 × Beeswax candle")
    page.wait_for_load_state("networkidle")
    assert kco_operations(emulator) == ["create", "update"]
    order = emulator.order(order_id_of(page, merchant_shop.url))
    assert [(line["reference"], line["quantity"]) for line in order["order_lines"]] == [
        ("candle", 3), ("soap", 1)]


def test_a_country_change_moves_the_order_to_the_new_currency_and_locale(
        page: Page, merchant_shop: ServerProcess, emulator: KcoEmulator) -> None:
    sync_events = SyncEvents(page)
    widget = opens_checkout(page, merchant_shop.url)
    order_id = order_id_of(page, merchant_shop.url)
    assert emulator.order(order_id)["purchase_currency"] == "SEK"

    page.get_by_label("Country").select_option("DE")

    sync_events.expect_resumed_after_each(("/api/market", True))
    widget.expect_ready()
    expect(widget.language).to_have_attribute("lang", "de")
    order = emulator.order(order_id)
    market = (order["purchase_country"].upper(), order["purchase_currency"], order["locale"])
    assert market == ("DE", "EUR", "de-DE")
    assert [line["unit_price"] for line in order["order_lines"]] == [1190, 550]
    assert count_of(emulator, "update") == 1


def test_a_purchase_shows_the_confirmation_and_the_push_is_acknowledged(
        page: Page, merchant_shop: ServerProcess, emulator: KcoEmulator) -> None:
    widget = opens_checkout(page, merchant_shop.url)
    order_id = order_id_of(page, merchant_shop.url)

    widget.fills_in_the_test_person()
    widget.completes_purchase()

    page.wait_for_url("**/confirmation")
    expect(page.get_by_role("heading", name="Thank you for your order")).to_be_visible()
    wait_for(lambda: emulator.order_state(order_id)["acknowledged"], "the shop to acknowledge the push")
    assert emulator.order(order_id)["status"] == "checkout_complete"
    assert count_of(emulator, "acknowledge") >= 1
