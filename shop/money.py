"""Money for people: int minor units shown in the shopper's locale (a Jinja filter, `|money`).

Amounts stay int minor units everywhere else; this is display only. All 14 market currencies have two
decimals. The page's JavaScript re-formats with Intl.NumberFormat; this keeps the first render right
without adding a localisation library.
"""

from __future__ import annotations

SYMBOLS = {"SEK": "kr", "NOK": "kr", "DKK": "kr.", "EUR": "€", "GBP": "£", "CHF": "CHF", "USD": "$",
           "PLN": "zł"}
# English (and Swiss francs) write 1,234.56, with £, $ and € in front and other currencies as a code in
# front; the other languages here write 1 234,56 (or 1.234,56) with the symbol after the number.
SYMBOL_FIRST = {"GBP", "USD", "EUR"}


def format_money(minor_units: int, currency: str, locale: str = "en-GB") -> str:
    sign = "-" if minor_units < 0 else ""
    whole, cents = divmod(abs(minor_units), 100)
    symbol = SYMBOLS.get(currency, currency)
    language = locale.split("-")[0].lower()
    if language == "en" or currency == "CHF":
        number = f"{whole:,}.{cents:02d}"
        if currency in SYMBOL_FIRST:
            return f"{sign}{symbol}{number}"
        return f"{sign}{currency} {number}"
    thousands = "." if language in ("de", "nl", "es") else "\u00a0"
    number = f"{whole:,}".replace(",", thousands) + f",{cents:02d}"
    return f"{sign}{number}\u00a0{symbol}"
