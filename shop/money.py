"""Money for people: int minor units in the shopper's locale by CLDR's rules (the Jinja filter `|money`).

Amounts stay int minor units everywhere else; this is display only. Babel lays the amount out from the Unicode
CLDR data, the data browsers use for `Intl.NumberFormat`, which `formatMoney` in static/js/cart-editor.js
calls when the page redraws the cart: the server's first render and the redraw read the same
(tests/test_shopper_language.py checks every market's every locale against Chromium).

Babel 2.19 leaves out five CLDR number rules that Intl applies, so `format_money` applies them itself:
- currency-specific patterns: CLDR's en_150 (English in Europe) writes euros as English does, €1,234.56, and
  en-DE, en-FI, en-NL, en-ES, en-FR and en-BE inherit it (en-AT has its own: € 1.234,56);
- the locale's minus sign (sv, nb and fi write U+2212 "−", not "-");
- `minimumGroupingDigits` (es, it, pl: 1234,56 € but 12.345,67 €), which Babel's locale data does not carry;
- `currencyDecimal` (fr-CH writes 1'234,5 but 1'234.50 CHF);
- digit grouping: Babel reads an apostrophe group separator (de-CH, fr-CH, it-CH, en-CH) as pattern quoting
  once an amount has two of them, and drops both ("CHF 1000000.00" for CHF 1'000'000.00).
"""

from __future__ import annotations

import re
from decimal import Decimal

from babel import Locale
from babel.numbers import format_currency, get_currency_precision

# CLDR's minimumGroupingDigits (common/main/<language>.xml, <numbers>) where it is 2, for the languages of
# kco/markets.py's locales; it is 1 for all the others.
MIN_GROUPING_DIGITS = {"es": 2, "it": 2, "pl": 2}
# <currencies><currency type="EUR"><pattern> in CLDR's common/main/en_150.xml, with en_150's separators (as
# ICU applies it), for the locales of kco/markets.py that inherit it; Babel has no such patterns.
EN_150_EURO_PATTERN = "¤#,##0.00"
EN_150_EURO_LOCALES = frozenset({"en-DE", "en-FI", "en-NL", "en-ES", "en-FR", "en-BE"})
INTEGER_DIGITS = re.compile(r"\d+")  # CLDR's currency symbols have no ASCII digits


def format_money(minor_units: int, currency: str, locale: str = "en-GB") -> str:
    """`minor_units` of `currency` as a shopper of `locale` (a KCO locale such as "sv-SE") reads them."""
    cldr_locale, pattern = Locale.parse(locale, sep="-"), None
    if currency == "EUR" and locale in EN_150_EURO_LOCALES:
        cldr_locale, pattern = Locale.parse("en_150"), EN_150_EURO_PATTERN
    amount = Decimal(minor_units).scaleb(-get_currency_precision(currency))
    # Babel places symbol, spacing and sign by the locale's currency pattern; the digits are grouped below.
    text = format_currency(amount, currency, pattern, locale=cldr_locale, group_separator=False)
    symbols = cldr_locale.number_symbols["latn"]
    integer = INTEGER_DIGITS.search(text)
    assert integer is not None
    before, digits, after = text[:integer.start()], integer.group(), text[integer.end():]
    if after.startswith(symbols["decimal"]):
        after = symbols.get("currencyDecimal", symbols["decimal"]) + after[len(symbols["decimal"]):]
    grouped = _grouped(digits, symbols.get("currencyGroup", symbols["group"]), cldr_locale)
    # A "-" in a CLDR pattern stands for the locale's minus sign; Babel writes it as it is.
    minus = symbols.get("minusSign", "-")
    return before.replace("-", minus) + grouped + after.replace("-", minus)


def _grouped(digits: str, separator: str, locale: Locale) -> str:
    primary, secondary = locale.currency_formats["standard"].grouping
    if len(digits) < primary + MIN_GROUPING_DIGITS.get(locale.language, 1):
        return digits
    head, groups = digits[:-primary], [digits[-primary:]]
    while len(head) > secondary:
        head, groups = head[:-secondary], [head[-secondary:], *groups]
    return separator.join([head, *groups])
