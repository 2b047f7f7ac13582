"""What the shopper reads in their own language: money, language and country names (Jinja filters).

Names come from the Unicode CLDR through Babel, as the money does (shop/money.py). A language is named in
itself ("svenska", "Deutsch"), so a shopper finds theirs in the Language select whatever the page's language;
a country is named in the shopper's language ("Tyskland" for sv-SE).
"""

from __future__ import annotations

from collections.abc import Callable

from babel import Locale

from shop.money import format_money


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
