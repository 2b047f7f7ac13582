"""The 14 countries this integration sells to: currency, checkout languages and how tax is expressed.

A KCO order names its market with `purchase_country` (ISO 3166-1 alpha-2), `purchase_currency`
(ISO 4217) and `locale` (RFC 1766); country and currency must match the merchant's KCO setup and are never
converted (kco-rules: markets). The locale only changes the checkout language (kco-rules: locales).

VAT countries quote prices with VAT included, so each line carries the country's rate (kco-rules: line-tax).
The US has no VAT: product lines carry tax rate 0 and the tax travels as one `sales_tax` line
(kco-rules: us-sales-tax).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

TaxMode = Literal["vat_included", "sales_tax"]


class UnsupportedCountry(ValueError):
    """The country is not one of the markets in `MARKETS`."""


class UnsupportedLocale(ValueError):
    """The locale is not one of the market's checkout languages."""


@dataclass(frozen=True)
class Market:
    country: str
    """ISO 3166-1 alpha-2, upper case, as sent in `purchase_country`."""
    alpha3: str
    """ISO 3166-1 alpha-3, lower case: the form KCO's widget config and JS events use.

    See kco-rules: widget-events.
    """
    name: str
    currency: str
    locales: tuple[str, ...]
    """Checkout languages offered for this country; the first one is the default."""
    vat_rate: int
    """Standard VAT rate in basis points (2500 = 25 %) like KCO's `tax_rate`; 0 for US.

    See kco-rules: order-line-fields.
    """
    tax_mode: TaxMode

    @property
    def default_locale(self) -> str:
        return self.locales[0]


# Standard VAT rates as in force in 2026: the European Commission's table "VAT rates applied in the Member
# States of the European Union" (taxation-customs.ec.europa.eu) for the EU members, and the national tax
# authorities for the others: Skatteetaten (NO 25 %), HMRC (GB 20 %), the Swiss Federal Tax Administration
# ESTV (CH 8.1 % since 1 January 2024). FI is 25.5 % since 1 September 2024 (Vero). Only the standard rate
# is modelled; reduced rates (food, books...) belong to the product catalogue.
#
# Locales: the pairs for AT, BE, DK, FI, FR and DE are the per-country locales Klarna documents for Klarna
# *Payments*, https://docs.klarna.com/klarna-payments/in-depth-knowledge/puchase-countries-currencies-locales;
# the others (SE, NO, NL, GB, US, CH, ES, PL) are inferred from the languages KCO supports
# (kco-rules: locales). KCO accepts any well-formed locale and falls back to a language it has (e.g. `it-CH`
# -> Italian, unknown -> English), so an inferred pair never breaks an order (kco-rules: locales).
MARKETS: dict[str, Market] = {
    market.country: market
    for market in (
        Market("SE", "swe", "Sweden", "SEK", ("sv-SE", "en-SE"), 2500, "vat_included"),
        Market("NO", "nor", "Norway", "NOK", ("nb-NO", "en-NO"), 2500, "vat_included"),
        Market("FI", "fin", "Finland", "EUR", ("fi-FI", "sv-FI", "en-FI"), 2550, "vat_included"),
        Market("DK", "dnk", "Denmark", "DKK", ("da-DK", "en-DK"), 2500, "vat_included"),
        Market("GB", "gbr", "United Kingdom", "GBP", ("en-GB",), 2000, "vat_included"),
        Market("DE", "deu", "Germany", "EUR", ("de-DE", "en-DE"), 1900, "vat_included"),
        Market("NL", "nld", "Netherlands", "EUR", ("nl-NL", "en-NL"), 2100, "vat_included"),
        Market("AT", "aut", "Austria", "EUR", ("de-AT", "en-AT"), 2000, "vat_included"),
        Market("CH", "che", "Switzerland", "CHF", ("de-CH", "fr-CH", "it-CH", "en-CH"), 810, "vat_included"),
        Market("US", "usa", "United States", "USD", ("en-US",), 0, "sales_tax"),
        Market("ES", "esp", "Spain", "EUR", ("es-ES", "en-ES"), 2100, "vat_included"),
        Market("FR", "fra", "France", "EUR", ("fr-FR", "en-FR"), 2000, "vat_included"),
        Market("BE", "bel", "Belgium", "EUR", ("nl-BE", "fr-BE", "en-BE"), 2100, "vat_included"),
        # PL is listed as a core country by Kustom only (kco-rules: markets).
        Market("PL", "pol", "Poland", "PLN", ("pl-PL", "en-PL"), 2300, "vat_included"),
    )
}


def get_market(country: str) -> Market:
    """The market for an alpha-2 country code, in any letter case."""
    market = MARKETS.get(country.strip().upper()) if isinstance(country, str) else None
    if market is None:
        raise UnsupportedCountry(f"unsupported country {country!r}; supported: {', '.join(MARKETS)}")
    return market


def market_for_alpha3(alpha3: str) -> Market:
    """The market for an alpha-3 code such as `swe`, the form KCO's JS events report.

    See kco-rules: widget-events.
    """
    wanted = alpha3.strip().lower() if isinstance(alpha3, str) else ""
    for market in MARKETS.values():
        if market.alpha3 == wanted:
            return market
    raise UnsupportedCountry(f"unsupported country {alpha3!r}")


def check_locale(market: Market, locale: str) -> str:
    """Return the market's own spelling of `locale` (matched ignoring case), or raise `UnsupportedLocale`."""
    wanted = locale.strip().lower() if isinstance(locale, str) else ""
    for allowed in market.locales:
        if allowed.lower() == wanted:
            return allowed
    raise UnsupportedLocale(
        f"unsupported locale {locale!r} for {market.country}; supported: {', '.join(market.locales)}"
    )
