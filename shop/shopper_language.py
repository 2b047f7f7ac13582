"""What the shopper reads in their own language: the shop's own words (gettext, Flask-Babel), money, language
and country names (Jinja filters).

The shopper's language is their checkout's locale, a KCO locale such as "sv-SE" (kco/markets.py): the same
language KCO's widget speaks. `init_app` gives Flask-Babel a locale selector that reads the session's
checkout; text meant for one checkout in particular (a page, the cart the page redraws, KCO's order lines, a
callback's refusal) is written inside `in_language(checkout.locale)`, Flask-Babel's `force_locale`.

The catalogues are translations/<language>/LC_MESSAGES/messages.po, one per checkout language but English,
the language of the source. They are compiled with Babel when the shop starts (`compile_catalogues`), into
the instance folder, so a fresh clone, `make run`, the tests and gunicorn need no build step and never read a
stale catalogue. `make translations` extracts the marked strings again (babel.cfg) and updates the
catalogues; tests/test_translations.py fails while one lacks a translation.

Names come from the Unicode CLDR through Babel, as the money does (shop/money.py). A language is named in
itself ("svenska", "Deutsch"), so a shopper finds theirs in the Language select whatever the page's language;
a country is named in the shopper's language ("Tyskland" for sv-SE).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask
from flask_babel import Babel, force_locale, get_locale
from flask_babel import lazy_gettext as _l

from shop.errors import STORE_FAILURES
from shop.money import format_money

TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"
# The language of the msgids, and of a request whose checkout cannot be read.
SOURCE_LANGUAGE = "en"
# What the checkout page says on its own when the shop gives no answer, or KCO's widget reports a problem:
# static/js/kco-sync-messages.js, a plain module merchants copy, holds these in every checkout language.
# Marked here, they are in the catalogues too, and tests/test_translations.py checks the module against them.
SYNC_MESSAGES = {
    "timeout": _l("The shop took too long to answer. Please try again."),
    "offline": _l("You seem to be offline. Your cart is as shown; please try again."),
    "failed": _l("Something went wrong on this page. Please reload it."),
    "shippingFailed": _l("Delivery could not be updated for that address. Please check the address or choose "
                         "another delivery option."),
    "cannotComplete": _l("The purchase cannot be completed with the payment methods offered. Please try "
                         "another payment method or contact us."),
}


def init_app(app: Flask, instance_path: Path, session_locale: Callable[[], str | None]) -> None:
    """Flask-Babel with the catalogues compiled into `instance_path`; `session_locale` answers the KCO locale
    of the session's checkout, or None for the source language."""

    def select_locale() -> str | None:
        try:
            locale = session_locale()
        except STORE_FAILURES:
            return None  # the store is down: the source language, for the page that says so (shop/errors.py)
        return babel_locale(locale) if locale is not None else None

    compiled = compile_catalogues(TRANSLATIONS, instance_path / "translations")
    Babel(app, locale_selector=select_locale, default_locale=SOURCE_LANGUAGE,
          default_translation_directories=str(compiled))
    app.jinja_env.filters.update(SHOPPER_LANGUAGE_FILTERS)
    app.jinja_env.globals["text_language"] = text_language


def compile_catalogues(source: Path, target: Path) -> Path:
    """Each translations/<language>/LC_MESSAGES/messages.po compiled to a .mo under `target`, as
    `pybabel compile` writes it (fuzzy entries left out); answers `target`."""
    for po_file in sorted(source.glob("*/LC_MESSAGES/messages.po")):
        language = po_file.parent.parent.name
        with po_file.open("rb") as po:
            catalog = read_po(po, locale=language)
        mo_file = target / language / "LC_MESSAGES" / "messages.mo"
        mo_file.parent.mkdir(parents=True, exist_ok=True)
        # Written aside, then renamed: a worker starting beside this one never reads half a file.
        partial = mo_file.with_name(f"messages.{os.getpid()}.partial")
        with partial.open("wb") as mo:
            write_mo(mo, catalog)
        partial.replace(mo_file)
    return target


def babel_locale(locale: str) -> str:
    """A KCO locale ("sv-SE") as Babel spells it ("sv_SE")."""
    return str(Locale.parse(locale, sep="-"))


@contextmanager
def in_language(locale: str) -> Iterator[None]:
    """gettext in the language of a KCO locale ("de-CH") for the duration, whatever the request's."""
    with force_locale(babel_locale(locale)):
        yield


def text_language() -> str:
    """The language gettext writes in just now, as `<html lang>` names it: "sv" for the locale "sv-SE"."""
    locale = get_locale()
    return locale.language if locale is not None else SOURCE_LANGUAGE


def language_name(locale: str) -> str:
    """The language of a KCO locale ("sv-SE") in that language: "svenska"."""
    parsed = Locale.parse(locale, sep="-")
    return parsed.languages.get(parsed.language) or locale


def country_name(country: str, locale: str) -> str:
    """An ISO 3166-1 alpha-2 country ("DE") named in the shopper's language ("sv-SE"): "Tyskland"."""
    return Locale.parse(locale, sep="-").territories.get(country) or country


SHOPPER_LANGUAGE_FILTERS: dict[str, Callable[..., str]] = {
    "money": format_money, "language_name": language_name, "country_name": country_name,
}
