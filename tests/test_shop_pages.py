"""The shop's pages (catalogue, checkout markup contract, confirmation) and its configuration."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from flask import Flask

from harness.shop_client import ApiShopper, KCOCalls, callback_url, csrf_token_in, kco_order, shop_text
from kco.errors import KCOConfigError
from kco.markets import MARKETS
from shop.money import format_money
from shop.settings import Settings, SettingsError


def completed_purchase(shopper: ApiShopper, emulator) -> str:
    shopper.add_to_cart("mug-001", 1)
    shopper.open_checkout()
    order_id = shopper.order_id()
    emulator.settings(push_retry_seconds=[])
    assert emulator.complete(order_id)["result"] == "completed"
    return order_id


# --- pages -------------------------------------------------------------------------------------------------

def test_catalogue_offers_every_product_with_an_add_to_cart_button(shopper: ApiShopper) -> None:
    page = shopper.get("/").text
    assert page.count(f">{shop_text('Add to cart')}</button>") >= 5
    assert len(csrf_token_in(page) or "") >= 20
    answer = shopper.add_to_cart("tee-002", 2)
    assert answer.status_code == 303 and answer.headers["Location"] == "/?added=tee-002"
    assert shopper.cart()["cart"]["items"][0]["quantity"] == 2


def test_checkout_page_follows_the_markup_contract(shopper: ApiShopper) -> None:
    shopper.add_to_cart("mug-001", 2)
    shopper.add_to_cart("tee-002", 1)
    page = shopper.open_checkout().text
    root = re.search(r"<div[^>]*data-kco-sync[^>]*>", page, re.S)
    assert root
    for attribute in ('data-cart-url="/api/cart"', 'data-market-url="/api/market"',
                      'data-kco-sync-state="idle"'):
        assert attribute in root.group(0)
    assert re.search(r'data-timeout-ms="[1-9][0-9]*"', root.group(0))
    # The page starts from the cart as the shop rendered it: the same JSON GET /api/cart answers.
    rendered_cart = re.search(r"data-kco-cart='([^']*)'", root.group(0))
    assert rendered_cart and json.loads(rendered_cart.group(1)) == shopper.cart()["cart"]
    for sku, name in (("mug-001", "Enamel mug"), ("tee-002", "Organic cotton T-shirt")):
        line = re.search(rf'<li[^>]*data-kco-line data-sku="{sku}">(.*?)</li>', page, re.S)
        assert line, sku
        quantity_label = shop_text("Quantity of %(product)s", product=name)
        assert re.search(rf'<input type="number" min="0" max="99"[^>]*data-kco-quantity\s+'
                         rf'aria-label="{quantity_label}">', line.group(1))
        remove = shop_text("Remove %(product)s", product=name)
        assert f"<button type=\"button\" data-kco-remove>{remove}</button>" in line.group(1)
        assert "data-kco-line-total" in line.group(1) and "data-kco-unit-price" in line.group(1)
    country = re.search(r"<label><span data-kco-text=\"country\">[^<]+</span>\s*"
                        r"<select data-kco-country[^>]*>(.*?)</select>", page, re.S)
    assert country
    options = re.findall(r'<option value="([A-Z]{2})" data-alpha3="([a-z]{3})"', country.group(1))
    assert options == [(market.country, market.alpha3) for market in MARKETS.values()]
    language = re.search(r"<label><span data-kco-text=\"language\">[^<]+</span>\s*"
                         r"<select data-kco-language[^>]*>(.*?)</select>", page, re.S)
    assert language
    assert re.findall(r'<option value="([^"]+)"', language.group(1)) == ["sv-SE", "en-SE"]
    assert "data-kco-order-amount" in page and "data-kco-order-tax-amount" in page
    assert re.search(r'data-kco-message aria-live="polite"', page)
    assert re.search(r"<div data-kco-snippet>\s*<div id=\"klarna-checkout-container\"", page)
    assert '<script type="module" src="/static/js/checkout-page.js"></script>' in page
    assert re.search(r"<p[^>]*data-kco-empty[^>]*hidden", page)


def test_product_names_and_amounts_are_escaped_and_formatted(shopper: ApiShopper) -> None:
    shopper.add_to_cart("mug-001", 1)
    shopper.set_market("DE")
    page = shopper.open_checkout().text
    assert "17,90\u00a0€" in page


def test_money_is_formatted_per_locale() -> None:
    assert format_money(123456, "SEK", "sv-SE") == "1\u00a0234,56\u00a0kr"
    assert format_money(1790, "EUR", "de-DE") == "17,90\u00a0€"
    assert format_money(1790, "EUR", "en-DE") == "€17.90"
    assert format_money(250000, "USD", "en-US") == "$2,500.00"
    assert format_money(1500, "GBP", "en-GB") == "£15.00"


def test_confirmation_shows_the_snippet_records_the_order_and_clears_the_cart(shopper: ApiShopper,
                                                                              emulator) -> None:
    order_id = completed_purchase(shopper, emulator)
    page = shopper.get(f"/confirmation?order_id={order_id}")
    assert page.status_code == 200 and order_id in page.text
    assert "klarna-checkout-container" in page.text
    assert shopper.cart() == {**shopper.cart(), "order": None}
    assert shopper.cart()["cart"]["items"] == []
    assert shopper.get(f"/confirmation?order_id={order_id}").status_code == 200  # a reload still works
    checkout = shopper.open_checkout()  # the back button: a fresh, empty checkout, no error
    assert checkout.status_code == 200 and shop_text("Your cart is empty.") in checkout.text


def test_confirmation_reload_after_kco_forgot_the_order_still_thanks_the_shopper(shopper: ApiShopper,
                                                                                 emulator) -> None:
    order_id = completed_purchase(shopper, emulator)
    assert shopper.get(f"/confirmation?order_id={order_id}").status_code == 200
    emulator.fail_next("read", status=404, body="empty")
    again = shopper.get(f"/confirmation?order_id={order_id}")
    assert again.status_code == 200 and order_id in again.text


def test_a_second_session_cannot_open_the_first_sessions_confirmation(shopper: ApiShopper, emulator,
                                                                      shop_server) -> None:
    order_id = completed_purchase(shopper, emulator)
    stranger = ApiShopper(shop_server.url)
    calls = KCOCalls(emulator)
    calls.mark()
    answer = stranger.get(f"/confirmation?order_id={order_id}", headers={"Accept": "application/json"})
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"
    assert calls.since() == []
    assert f"<h1>{shop_text('Sorry')}</h1>" in stranger.get(f"/confirmation?order_id={order_id}").text


def test_confirmation_of_an_order_not_yet_completed_goes_back_to_checkout(shopper: ApiShopper,
                                                                          emulator) -> None:
    shopper.add_to_cart("mug-001", 1)
    shopper.open_checkout()
    answer = shopper.get(f"/confirmation?order_id={shopper.order_id()}")
    assert answer.status_code == 303 and answer.headers["Location"] == "/checkout"
    assert kco_order(emulator, shopper.order_id())["status"] == "checkout_incomplete"


def test_session_cookie_is_http_only_and_same_site_lax(shopper: ApiShopper) -> None:
    cookie = shopper.get("/").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


# --- configuration -----------------------------------------------------------------------------------------

def test_configuration_fails_fast_naming_the_variable(make_app: Callable[..., Flask]) -> None:
    with pytest.raises(SettingsError, match="PUBLIC_BASE_URL"):
        make_app(PUBLIC_BASE_URL="shop.example.com")
    with pytest.raises(SettingsError, match="SESSION_COOKIE_SECURE"):
        make_app(SESSION_COOKIE_SECURE="maybe")
    with pytest.raises(KCOConfigError, match="KCO_USERNAME"):
        make_app(KCO_API_URL="", KCO_ENVIRONMENT="playground", KCO_USERNAME="", KCO_PASSWORD="",
                 KCO_API_KEY="")


def test_without_secret_key_a_development_key_is_kept_in_the_instance_folder(
        make_app: Callable[..., Flask], tmp_path: Path) -> None:
    first = make_app(tmp_path, SECRET_KEY="")
    second = make_app(tmp_path, SECRET_KEY="")
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert len(first.config["SECRET_KEY"]) >= 40
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_with_nothing_set_the_shop_talks_to_the_local_emulator(tmp_path: Path) -> None:
    settings = Settings.from_env({"INSTANCE_PATH": str(tmp_path)})
    assert settings.kco.base_url == "http://127.0.0.1:5001"
    assert (settings.kco.username, settings.kco.password) == ("demo", "demo")
    assert settings.public_base_url is None
    assert settings.database_url == f"sqlite:///{tmp_path.resolve() / 'shop.sqlite3'}"


def test_a_local_kco_url_without_credentials_uses_the_emulators_demo_credentials(tmp_path: Path) -> None:
    settings = Settings.from_env({"INSTANCE_PATH": str(tmp_path), "KCO_API_URL": "http://127.0.0.1:5999"})
    assert (settings.kco.base_url, settings.kco.username) == ("http://127.0.0.1:5999", "demo")


def push(emulator, order_id: str) -> None:
    assert requests.post(callback_url(emulator, order_id, "push"), data=b"", timeout=15).status_code == 200


def test_confirmation_of_an_order_kco_forgot_but_the_push_recorded_clears_the_cart(shopper: ApiShopper,
                                                                                   emulator) -> None:
    order_id = completed_purchase(shopper, emulator)
    push(emulator, order_id)
    emulator.fail_next("read", status=404, body="empty")
    page = shopper.get(f"/confirmation?order_id={order_id}")
    assert page.status_code == 200 and order_id in page.text
    assert shopper.cart()["cart"]["items"] == [] and shopper.cart()["order"] is None


def test_a_purchase_recorded_by_the_push_goes_to_the_confirmation_without_calling_kco(shopper: ApiShopper,
                                                                                        emulator) -> None:
    order_id = completed_purchase(shopper, emulator)
    push(emulator, order_id)
    calls = KCOCalls(emulator)
    calls.mark()
    page = shopper.open_checkout()
    assert page.status_code == 303 and page.headers["Location"] == f"/confirmation?order_id={order_id}"
    changed = shopper.set_cart({"mug-001": 2})
    assert changed.status_code == 409 and changed.json()["error"]["code"] == "purchase_completed"
    assert changed.json()["order"] == {"order_id": order_id, "status": "checkout_complete"}
    assert shopper.cart()["order"] == {"order_id": order_id, "status": "checkout_complete"}
    assert calls.since() == []


def test_an_unusable_kco_answer_on_the_confirmation_is_a_kco_error(shopper: ApiShopper, emulator) -> None:
    order_id = completed_purchase(shopper, emulator)
    emulator.fail_next("read", status=200, body="html")
    answer = shopper.get(f"/confirmation?order_id={order_id}", headers={"Accept": "application/json"})
    assert answer.status_code == 502 and answer.json()["error"]["code"] == "kco_error"
