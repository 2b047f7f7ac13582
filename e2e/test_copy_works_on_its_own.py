"""Journey: a merchant copies the files docs/adapt-to-your-shop.md lists, writes the guide's example shop
beside them from the guide's own code blocks, and it works.

The copy goes into an empty folder, and the shop beside it: the guide's Python blocks in order as
candle_shop.py, its page blocks as templates/ (tests/test_doc_examples.py holds them equal to
docs/examples/candle_shop). It runs from that folder with `flask --app candle_shop run`, as the guide says, so
it can import nothing of this repository but the copy, against the emulator, with no KCO credentials set (a
loopback KCO gets the emulator's demo ones). In Chromium the first load creates one KCO order, a quantity
change is one update with the widget resumed, a country change moves the order's currency and locale, and a
purchase ends on the shop's confirmation with the push acknowledged (kco-rules: push-and-acknowledge). Over
plain HTTP, GET /api/cart makes no KCO call, and Hypothesis sends bad bodies to every route that reads one:
each answer is 2xx or 4xx, never 5xx, and every 4xx is {"error": {"code", "message"}}.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from playwright.sync_api import Page, expect

from e2e.journeys import SyncEvents, Widget, count_of, kco_operations, wait_for
from harness.copy_set import copy_into, write_example_from_guide
from harness.json_values import json_values
from kco_emulator.testing import KcoEmulator, ServerProcess

# `flask run` reports where it listens as " * Running on http://127.0.0.1:PORT".
RUNNING_ON = re.compile(r"Running on (http://[\d.:]+)")
# -E: no PYTHONPATH or other PYTHON* variable can point back into this repository.
PYTHON = [sys.executable, "-E", "-u"]
# Each example is an HTTP request to the shop (and a KCO call when the body is usable): too slow for
# Hypothesis's default expectations, and quick enough for 150 per route.
FUZZ = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

# Bodies shaped almost like the real ones: the names the shop reads, with values of any kind.
cart_items = st.fixed_dictionaries({}, optional={
    "sku": st.sampled_from(["candle", "soap"]) | json_values,
    "quantity": st.integers(-3, 120) | json_values,
})
cart_bodies = json_values | st.fixed_dictionaries({"items": st.lists(cart_items | json_values, max_size=3)})
countries = st.sampled_from(["SE", "DE", "FR"]) | json_values
locales = st.sampled_from(["de-DE", "en-DE", "sv-SE"]) | json_values
market_bodies = json_values | st.fixed_dictionaries({"country": countries}, optional={"locale": locales})


@pytest.fixture(scope="module")
def merchant_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty folder holding the copied files at their paths, and the example shop beside them, written from
    the guide's own code blocks as a reader would put them together."""
    folder = tmp_path_factory.mktemp("merchant-shop")
    copy_into(folder)
    write_example_from_guide(folder)
    return folder


@pytest.fixture(scope="module")
def merchant_shop(merchant_folder: Path, emulator_server: ServerProcess) -> Iterator[ServerProcess]:
    # No KCO_USERNAME or KCO_PASSWORD: the guide says a loopback KCO needs none.
    server = ServerProcess(
        "merchant shop", [*PYTHON, "-m", "flask", "--app", "candle_shop", "run", "--port", "0"],
        env={"KCO_API_URL": emulator_server.url, "SECRET_KEY": "test-only-merchant-secret"},
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


def test_the_first_load_creates_exactly_one_order_with_the_shops_urls(
        page: Page, merchant_shop: ServerProcess, emulator: KcoEmulator, screenshot) -> None:
    widget = opens_checkout(page, merchant_shop.url)

    expect(widget.line("Beeswax candle")).to_be_visible()
    expect(widget.line("Olive oil soap")).to_be_visible()
    expect(page.locator("[data-kco-order-amount]")).to_have_text(widget.total.inner_text())
    screenshot("checkout")
    page.wait_for_load_state("networkidle")
    assert kco_operations(emulator) == ["create"]
    order = emulator.order(order_id_of(page, merchant_shop.url))
    assert order["merchant_urls"]["push"] == f"{merchant_shop.url}/kco/push?order_id={{checkout.order.id}}"


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


# --- Over plain HTTP: what GET does, and bad bodies on every route ------------------------------------------

def test_get_api_cart_answers_the_cart_without_a_kco_call(merchant_shop: ServerProcess,
                                                          emulator: KcoEmulator) -> None:
    shopper = requests.Session()
    assert shopper.get(f"{merchant_shop.url}/", timeout=30).status_code == 200
    calls_after_the_page = len(emulator.calls())

    answer = shopper.get(f"{merchant_shop.url}/api/cart", timeout=30)

    assert answer.status_code == 200
    assert [item["sku"] for item in answer.json()["cart"]["items"]] == ["candle", "soap"]
    assert len(emulator.calls()) == calls_after_the_page


def refused_in_the_shops_shape(answer: requests.Response) -> bool:
    """A 4xx whose body is {"error": {"code", "message"}}, both text."""
    try:
        error = answer.json()["error"]
    except (ValueError, KeyError, TypeError):
        return False
    if not 400 <= answer.status_code < 500 or not isinstance(error, dict):
        return False
    return isinstance(error.get("code"), str) and isinstance(error.get("message"), str)


def assert_answered_well(answer: requests.Response) -> None:
    assert answer.status_code < 500, answer.text
    if answer.status_code >= 400:
        assert refused_in_the_shops_shape(answer), answer.text


@pytest.fixture(scope="module")
def shopper(merchant_shop: ServerProcess) -> requests.Session:
    """One shopper's session, with a cart and an order, kept across the examples."""
    session = requests.Session()
    assert session.get(f"{merchant_shop.url}/", timeout=30).status_code == 200
    return session


@pytest.mark.parametrize(("path", "bodies"), [("/api/cart", cart_bodies), ("/api/market", market_bodies)])
@FUZZ
@given(data=st.data())
def test_any_json_sent_to_the_cart_and_market_routes_is_answered_2xx_or_4xx(
        shopper: requests.Session, merchant_shop: ServerProcess, path: str, bodies: Any, data: Any) -> None:
    answer = shopper.post(f"{merchant_shop.url}{path}", json=data.draw(bodies), timeout=30)
    assert_answered_well(answer)
    if answer.status_code == 200:
        assert answer.json()["cart"]["country"] in ("SE", "DE")


@FUZZ
@given(order_id=st.text(max_size=40), body=st.binary(max_size=40))
def test_any_push_is_answered_2xx_or_4xx(merchant_shop: ServerProcess, order_id: str, body: bytes) -> None:
    answer = requests.post(f"{merchant_shop.url}/kco/push", params={"order_id": order_id}, data=body,
                           timeout=30)
    assert_answered_well(answer)


@pytest.mark.parametrize("order_id", ["", ".", ".."])
def test_a_push_naming_no_order_or_a_path_instead_is_refused_400(
        merchant_shop: ServerProcess, emulator: KcoEmulator, order_id: str) -> None:
    # "." once made the copy acknowledge /ordermanagement/v1/orders/acknowledge, and answer 502.
    calls_before = len(emulator.calls())
    answer = requests.post(f"{merchant_shop.url}/kco/push", params={"order_id": order_id}, timeout=30)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "missing_order_id"
    assert len(emulator.calls()) == calls_before


@FUZZ
@given(raw=st.binary(max_size=60), content_type=st.sampled_from(["application/json", "text/plain", ""]))
def test_bytes_of_any_kind_are_answered_2xx_or_4xx_on_every_post(
        shopper: requests.Session, merchant_shop: ServerProcess, raw: bytes, content_type: str) -> None:
    for path in ("/api/cart", "/api/market", "/kco/push"):
        answer = shopper.post(f"{merchant_shop.url}{path}", data=raw, headers={"Content-Type": content_type},
                              timeout=30)
        assert_answered_well(answer)


@pytest.mark.parametrize(("path", "body", "code"), [
    # The body that made the guide's previous example answer 500.
    ("/api/market", {"country": "FR"}, "unsupported_country"),
    ("/api/cart", {"country": "FR"}, "invalid_cart"),
    ("/api/cart", {"items": [{"sku": ["candle"], "quantity": 1}]}, "unknown_sku"),
    ("/api/cart", {"items": [{"sku": "candle", "quantity": True}]}, "invalid_quantity"),
    ("/api/market", {"country": "DE", "locale": "sv-SE"}, "unsupported_locale"),
])
def test_bodies_the_shop_cannot_use_are_refused_with_400_and_a_code(
        shopper: requests.Session, merchant_shop: ServerProcess, path: str, body: Any, code: str) -> None:
    answer = shopper.post(f"{merchant_shop.url}{path}", json=body, timeout=30)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == code


@pytest.mark.parametrize(("method", "path", "raw", "status"), [
    ("POST", "/api/cart", "[" * 5000 + "]" * 5000, 400),  # deeper than Python's JSON parser follows
    ("POST", "/api/cart", json.dumps({"items": [{"sku": "candle", "quantity": 1}] * 2000}), 413),
    ("POST", "/api/cart", "{", 400),
    ("PUT", "/api/cart", "{}", 405),
    ("POST", "/confirmation", "{}", 405),
    ("GET", "/no-such-page", "", 404),
    ("POST", "/kco/push", "", 400),
    ("POST", "/kco/push?order_id=no-such-order", "", 404),
])
def test_what_flask_refuses_comes_in_the_shops_shape(merchant_shop: ServerProcess, method: str, path: str,
                                                     raw: str, status: int) -> None:
    answer = requests.request(method, f"{merchant_shop.url}{path}", data=raw,
                              headers={"Content-Type": "application/json"}, timeout=30)
    assert answer.status_code == status
    assert refused_in_the_shops_shape(answer), answer.text
