"""The market table: the 14 countries, their currencies, languages and tax modes."""

from __future__ import annotations

import re

import pytest

from kco.markets import (
    MARKETS,
    UnsupportedCountry,
    UnsupportedLocale,
    check_locale,
    get_market,
    market_for_alpha3,
)

# Same patterns as checkout-v3-openapi.yml's purchase_country / purchase_currency / locale (kco-rules:
# order-fields).
LOCALE_PATTERN = re.compile(r"[A-Za-z]{2}(?:-[A-Za-z]{2})*")


def test_markets_are_the_fourteen_core_countries_in_the_agreed_order():
    assert list(MARKETS) == [
        "SE", "NO", "FI", "DK", "GB", "DE", "NL", "AT", "CH", "US", "ES", "FR", "BE", "PL",
    ]


def test_each_country_pays_in_its_documented_currency():
    # kco-rules: markets
    assert {code: market.currency for code, market in MARKETS.items()} == {
        "SE": "SEK", "NO": "NOK", "FI": "EUR", "DK": "DKK", "GB": "GBP", "DE": "EUR", "NL": "EUR",
        "AT": "EUR", "CH": "CHF", "US": "USD", "ES": "EUR", "FR": "EUR", "BE": "EUR", "PL": "PLN",
    }


def test_standard_vat_rates_are_in_basis_points():
    rates = {code: market.vat_rate for code, market in MARKETS.items()}
    assert rates == {
        "SE": 2500, "NO": 2500, "FI": 2550, "DK": 2500, "GB": 2000, "DE": 1900, "NL": 2100,
        "AT": 2000, "CH": 810, "US": 0, "ES": 2100, "FR": 2000, "BE": 2100, "PL": 2300,
    }
    assert all(type(rate) is int for rate in rates.values())


def test_only_the_us_uses_a_sales_tax_line():
    assert [code for code, market in MARKETS.items() if market.tax_mode == "sales_tax"] == ["US"]
    assert all(market.tax_mode == "vat_included" for code, market in MARKETS.items() if code != "US")


@pytest.mark.parametrize("market", MARKETS.values(), ids=list(MARKETS))
def test_every_market_is_well_formed_for_kco(market):
    assert re.fullmatch(r"[A-Z]{2}", market.country)
    assert re.fullmatch(r"[a-z]{3}", market.alpha3)
    assert re.fullmatch(r"[A-Z]{3}", market.currency)
    assert market.locales and len(set(market.locales)) == len(market.locales)
    assert all(LOCALE_PATTERN.fullmatch(locale) for locale in market.locales)
    # Every locale names the market's own country, so a language switch never implies a country switch.
    assert all(locale.endswith(f"-{market.country}") for locale in market.locales)
    assert market.default_locale == market.locales[0]


def test_default_locales_and_documented_language_choices():
    assert MARKETS["SE"].locales == ("sv-SE", "en-SE")
    assert MARKETS["FI"].locales == ("fi-FI", "sv-FI", "en-FI")
    assert MARKETS["CH"].locales == ("de-CH", "fr-CH", "it-CH", "en-CH")
    assert MARKETS["BE"].locales == ("nl-BE", "fr-BE", "en-BE")
    assert MARKETS["US"].default_locale == "en-US"
    assert MARKETS["NO"].default_locale == "nb-NO"


def test_get_market_ignores_case_and_surrounding_space():
    assert get_market("se") is MARKETS["SE"]
    assert get_market(" Gb ") is MARKETS["GB"]


@pytest.mark.parametrize("country", ["IT", "", "SWE", "xx", None])
def test_get_market_rejects_unsupported_countries_with_a_value_error(country):
    with pytest.raises(UnsupportedCountry) as raised:
        get_market(country)
    assert isinstance(raised.value, ValueError)
    assert "supported" in str(raised.value)


def test_market_for_alpha3_finds_the_lower_case_codes_kco_events_report():
    assert market_for_alpha3("swe") is MARKETS["SE"]
    assert market_for_alpha3("GBR") is MARKETS["GB"]
    assert market_for_alpha3("che") is MARKETS["CH"]
    with pytest.raises(UnsupportedCountry):
        market_for_alpha3("ita")


def test_each_market_has_its_iso_alpha3_code():
    # ISO 3166-1 alpha-3, lower case as KCO's widget events report it (kco-rules: widget-events): a wrong code
    # (Austria as "aus", which is Australia) leaves a country chosen in the widget unrecognised.
    assert {code: market.alpha3 for code, market in MARKETS.items()} == {
        "SE": "swe", "NO": "nor", "FI": "fin", "DK": "dnk", "GB": "gbr", "DE": "deu", "NL": "nld",
        "AT": "aut", "CH": "che", "US": "usa", "ES": "esp", "FR": "fra", "BE": "bel", "PL": "pol",
    }
    assert all(market_for_alpha3(market.alpha3) is market for market in MARKETS.values())


def test_check_locale_returns_the_canonical_spelling():
    assert check_locale(MARKETS["FI"], "sv-fi") == "sv-FI"
    assert check_locale(MARKETS["CH"], "IT-ch") == "it-CH"


@pytest.mark.parametrize(("country", "locale"), [("SE", "de-DE"), ("US", "en-GB"), ("FI", "sv"), ("DE", "")])
def test_check_locale_rejects_a_language_the_market_does_not_offer(country, locale):
    with pytest.raises(UnsupportedLocale) as raised:
        check_locale(MARKETS[country], locale)
    assert isinstance(raised.value, ValueError)
    assert country in str(raised.value)


def test_an_unsupported_country_or_locale_is_named_with_the_supported_ones():
    with pytest.raises(UnsupportedCountry) as country:
        get_market("IT")
    assert str(country.value) == (
        "unsupported country 'IT'; supported: SE, NO, FI, DK, GB, DE, NL, AT, CH, US, ES, FR, BE, PL")
    with pytest.raises(UnsupportedCountry) as alpha3:
        market_for_alpha3("ita")
    assert str(alpha3.value) == "unsupported country 'ita'"
    with pytest.raises(UnsupportedLocale) as locale:
        check_locale(MARKETS["FI"], "de-DE")
    assert str(locale.value) == "unsupported locale 'de-DE' for FI; supported: fi-FI, sv-FI, en-FI"


def test_alpha3_and_locale_lookups_refuse_what_is_not_a_string():
    with pytest.raises(UnsupportedCountry):
        market_for_alpha3(None)  # type: ignore[arg-type]
    with pytest.raises(UnsupportedLocale):
        check_locale(MARKETS["SE"], None)  # type: ignore[arg-type]
