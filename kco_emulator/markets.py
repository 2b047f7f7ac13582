"""The markets the emulated merchant is configured for: country -> currency, and locale rules
(kco-rules: markets, locales).

The emulator plays one merchant whose KCO setup covers the 14 core countries (kco-rules: markets). The
alpha-3 codes are what the widget reports in `config.PURCHASE_COUNTRY` and in client-side events
(kco-rules: widget-events: lower-case alpha-3).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Market:
    country: str  # ISO 3166-1 alpha-2, upper case
    alpha3: str  # ISO 3166-1 alpha-3, lower case (widget config and events)
    name: str
    currency: str  # ISO 4217


# kco-rules: markets (PL listed by Kustom only)
MARKETS: dict[str, Market] = {
    market.country: market
    for market in (
        Market("SE", "swe", "Sweden", "SEK"),
        Market("NO", "nor", "Norway", "NOK"),
        Market("FI", "fin", "Finland", "EUR"),
        Market("DK", "dnk", "Denmark", "DKK"),
        Market("GB", "gbr", "United Kingdom", "GBP"),
        Market("DE", "deu", "Germany", "EUR"),
        Market("NL", "nld", "Netherlands", "EUR"),
        Market("AT", "aut", "Austria", "EUR"),
        Market("CH", "che", "Switzerland", "CHF"),
        Market("US", "usa", "United States", "USD"),
        Market("ES", "esp", "Spain", "EUR"),
        Market("FR", "fra", "France", "EUR"),
        Market("BE", "bel", "Belgium", "EUR"),
        Market("PL", "pol", "Poland", "PLN"),
    )
}

# RFC 1766 shape as the spec writes it (checkout-v3-openapi.yml `order.locale` pattern).
LOCALE_PATTERN = re.compile(r"^[A-Za-z]{2}(?:-[A-Za-z]{2})*$")
# Languages the checkout is translated into (kco-rules: locales); anything else falls back to English.
CHECKOUT_LANGUAGES = frozenset({"da", "nl", "en", "fi", "fr", "de", "it", "nb", "pl", "pt", "es", "sv"})


def market_for(country: str) -> Market | None:
    """The market of an alpha-2 country code in any letter case, or None when not configured."""
    return MARKETS.get(country.upper())


def alpha3(country: str) -> str:
    """Lower-case alpha-3 for the widget; unknown countries are passed through lower-cased."""
    market = market_for(country)
    return market.alpha3 if market else country.lower()


def display_language(locale: str) -> str:
    """The language the widget shows for a well-formed locale (the fallback rule of kco-rules: locales)."""
    language = locale.split("-")[0].lower()
    return language if language in CHECKOUT_LANGUAGES else "en"
