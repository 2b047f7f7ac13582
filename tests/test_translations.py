"""The shop's own words in every checkout language (shop/shopper_language.py, translations/).

Two checks keep the catalogues whole: every string the source marks has a translation in each language's
catalogue, and every page, rendered in every locale of every market, shows no shop string in English (only
product names, amounts and CLDR names may read the same in two languages). What a shopper reads after an
in-page change: e2e/test_shopper_language.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
import requests
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from flask import Flask

from harness.shop_client import ApiShopper, callback_url, shop_catalogue, shop_text
from kco.markets import MARKETS
from kco_emulator.testing import KcoEmulator, ServerProcess, WsgiServer
from shop.catalogue import PRODUCTS
from shop.shopper_language import TRANSLATIONS, country_name, language_name

ROOT = Path(__file__).resolve().parent.parent
LOCALES = [locale for market in MARKETS.values() for locale in market.locales]
LANGUAGES = sorted({locale.split("-")[0] for locale in LOCALES} - {"en"})
# What may read the same in any language: the merchant's product names and the CLDR's names of languages
# (each named in itself) and countries.
NAMES = sorted({*(product.name for product in PRODUCTS.values()), *map(language_name, LOCALES),
                *(country_name(country, locale) for country in MARKETS for locale in LOCALES)},
               key=len, reverse=True)
LETTER = re.compile(r"[^\W\d_]")


def marked_strings() -> set[str]:
    """The msgids `make translations` extracts: babel.cfg's files, gettext's and lazy_gettext's keywords."""
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    keywords = {"_": None, "gettext": None, "_l": None}
    return {message for _, _, message, _, _ in extract_from_dir(str(ROOT), method_map, options_map, keywords)}


def test_catalogues_exist_for_exactly_the_checkout_languages_but_english() -> None:
    found = sorted(path.parent.parent.name for path in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"))
    assert found == LANGUAGES == ["da", "de", "es", "fi", "fr", "it", "nb", "nl", "pl", "sv"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_marked_string_is_translated_with_the_same_placeholders(language) -> None:
    catalogue = shop_catalogue(language)
    wanted = marked_strings()
    assert wanted, "babel.cfg found no marked string"
    translated = {message.id for message in catalogue if message.id and message.string and not message.fuzzy}
    assert sorted(wanted - translated) == [], f"untranslated in {language}: make translations, then translate"
    assert [(message.id, errors) for message, errors in catalogue.check()] == []


# --- every page in every locale ---------------------------------------------------------------------------

class ShownText(HTMLParser):
    """The text a shopper is shown or read out: text nodes, <title>, aria-label, alt and placeholder; not
    scripts, styles, <code> (identifiers) or KCO's snippet (KCO's words, not the shop's)."""

    ATTRIBUTES = ("aria-label", "alt", "placeholder", "title")

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self.skipping: list[str] = []  # the open elements whose content is not the shop's text

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        kco_snippet = any(name == "data-kco-snippet" for name, _ in attrs)
        if self.skipping or tag in ("script", "style", "code") or kco_snippet:
            self.skipping.append(tag)
        if not self.skipping:
            self.texts.extend(value.strip() for name, value in attrs if name in self.ATTRIBUTES and value)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self.skipping:
            self.texts.extend(value.strip() for name, value in attrs if name in self.ATTRIBUTES and value)

    def handle_endtag(self, tag: str) -> None:
        if self.skipping and self.skipping[-1] == tag:
            self.skipping.pop()

    def handle_data(self, data: str) -> None:
        text = " ".join(data.split())
        if text and not self.skipping:
            self.texts.append(text)


def shown_texts(html: str) -> set[str]:
    parser = ShownText()
    parser.feed(html)
    # Void elements inside a skipped element never end it; none of the skipped ones holds one.
    return set(parser.texts)


def has_words(text: str) -> bool:
    """True unless the text is only names (products, languages, countries), numbers and signs."""
    for name in NAMES:
        text = text.replace(name, "")
    return bool(LETTER.search(text))


@pytest.fixture(scope="module")
def shop(make_app: Callable[..., Flask], emulator_server: ServerProcess) -> Iterator[str]:
    """The shop in-process without the workshop inspector (it speaks to presenters, in English), served
    over HTTP so that KCO's callbacks reach it."""
    app = make_app(KCO_API_URL=emulator_server.url, KCO_USERNAME="demo", KCO_PASSWORD="demo")
    with WsgiServer(app) as server:
        app.config["PUBLIC_BASE_URL"] = server.url
        yield server.url


def every_page(shop: str, emulator: KcoEmulator, country: str, locale: str) -> dict[str, str]:
    """Each page a shopper of `locale` sees, by name: catalogue, checkout (full, then empty), terms, an
    error, and the confirmation of a paid order, of one under fraud review and of a rejected one."""
    shopper = ApiShopper(shop)
    shopper.get("/")
    assert shopper.set_market(country, locale).status_code == 200
    pages = {"catalogue": shopper.get("/").text, "terms": shopper.get("/terms").text,
             "empty checkout": shopper.open_checkout().text, "error": shopper.get("/no-such-page").text}
    shopper.add_to_cart("mug-001")
    pages["added"] = shopper.get("/?added=mug-001").text
    pages["checkout"] = shopper.open_checkout().text
    pages["sent back"] = shopper.open_checkout("?error=cart_changed").text
    order_id = shopper.order_id()
    assert emulator.complete(order_id, fraud_status="PENDING")["result"] == "completed"
    pages["payment under review"] = shopper.get(f"/confirmation?order_id={order_id}").text
    assert 'data-fraud-status="pending"' in pages["payment under review"]
    emulator.decide_fraud(order_id, "FRAUD_RISK_REJECTED")
    pages["payment refused"] = shopper.get(f"/confirmation?order_id={order_id}").text
    assert 'data-fraud-status="rejected"' in pages["payment refused"]
    assert shopper.set_market(country, locale).status_code == 200
    shopper.add_to_cart("tee-002")
    shopper.open_checkout()
    paid = shopper.order_id()
    assert emulator.complete(paid)["result"] == "completed"
    pages["confirmation"] = shopper.get(f"/confirmation?order_id={paid}").text
    return pages


@pytest.fixture(scope="module")
def english(shop: str, kco_emulator_server: ServerProcess) -> set[str]:
    """Every text of every page in English, with VAT (GB) and with sales tax (US)."""
    emulator = KcoEmulator(kco_emulator_server.url)
    return {text for country, locale in (("GB", "en-GB"), ("US", "en-US"))
            for html in every_page(shop, emulator, country, locale).values() for text in shown_texts(html)}


@pytest.mark.parametrize("locale", LOCALES)
def test_every_page_in_every_locale_shows_no_shop_string_left_in_english(
        shop, english, emulator: KcoEmulator, locale) -> None:
    country = locale.split("-")[1]
    pages = every_page(shop, emulator, country, locale)
    language = locale.split("-")[0]
    for name, html in pages.items():
        assert f'<html lang="{language}">' in html, name
        if language == "en":
            continue
        # A word may read the same in both languages ("Total" in French) where its translation says so.
        same_in_both = {message.id for message in shop_catalogue(language) if message.id == message.string}
        untranslated = {text for text in shown_texts(html) & english if has_words(text)} - same_in_both
        assert untranslated == set(), f"{name} in {locale}"


def test_the_callbacks_refuse_in_the_language_of_the_order(shop, emulator: KcoEmulator) -> None:
    shopper = ApiShopper(shop)
    shopper.set_market("DE", "de-DE")
    order_id = shopper.start_checkout({"mug-001": 1})
    order = emulator.order(order_id)
    refused = requests.post(callback_url(emulator, order_id, "shipping_option_update"),
                            json={**order, "selected_shipping_option": {"id": "by-camel"}}, timeout=10)
    assert refused.status_code == 400
    assert refused.json()["error_text"] == shop_text("That delivery option is not available.", "de-DE")


def test_an_api_error_speaks_the_language_the_request_left_the_checkout_in(
        shop, emulator: KcoEmulator) -> None:
    shopper = ApiShopper(shop)
    shopper.start_checkout({"mug-001": 1})  # Sweden, in Swedish
    emulator.disconnect_next("update")
    moved = shopper.set_market("DE", "de-DE")  # stored, though KCO could not be told
    assert moved.status_code == 503 and moved.json()["cart"]["locale"] == "de-DE"
    assert moved.json()["error"]["message"] == shop_text(
        "The checkout could not be reached just now; nothing is lost. Please try again in a moment.", "de-DE")
    refused = shopper.post_json("/api/cart", {"items": [{"sku": "mug-001", "quantity": 500}]})
    assert refused.json()["error"]["message"] == shop_text(
        "Quantity must be a whole number from 0 to %(most)d.", "de-DE", most=99)
    # A change refused before anything is stored answers in the language the checkout still has.
    refused = shopper.set_market("FR", "de-DE")
    not_offered = shop_text("That language is not offered in that country.", "de-DE")
    assert refused.json()["error"]["message"] == not_offered
