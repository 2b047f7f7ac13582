"""The server's first render and the page's redraw read the same, in every market's every language.

The server formats money and names with Babel (shop/money.py, shop/shopper_language.py); the checkout page
redraws them with the browser's Intl (static/js/cart-editor.js's formatMoney, languageName, countryName). Both
read the Unicode CLDR, so both must write the same text; here Chromium runs the page's own functions.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app import create_app
from e2e.journeys import BrowserShopper
from kco.markets import MARKETS
from shop.money import format_money
from shop.shopper_language import country_name, language_name

PAIRS = [(locale, market.currency) for market in MARKETS.values() for locale in market.locales]
# Zero, cents, a price, 4 digits (CLDR's minimumGroupingDigits), 7 digits (two group separators), a negative.
AMOUNTS = [0, 5, 1790, 123456, 100000000, -123456]
# Where the data of Babel 2.19 (CLDR 49) and of Chromium's ICU 78 (CLDR 48) differ, and exactly how: CLDR 49
# groups French in Switzerland with an apostrophe (1'234.56 CHF), CLDR 48 with a narrow no-break space
# (1 234.56 CHF). Nothing in Babel's options can bridge a data version; a Chromium on CLDR 49 agrees.
CLDR_VERSION_DIFFERENCES = {"fr-CH": ("'", "\u202f")}

IN_THE_PAGE = """async ([pairs, amounts, countries]) => {
  const { formatMoney, languageName, countryName } = await import("/static/js/cart-editor.js");
  return pairs.map(([locale, currency]) => ({
    money: amounts.map((amount) => formatMoney(amount, currency, locale)),
    language: languageName(locale),
    countries: countries.map((country) => countryName(country, locale)),
  }));
}"""


def test_all_30_market_locale_pairs_are_covered() -> None:
    assert len(PAIRS) == 30


def test_money_and_names_read_the_same_from_the_server_and_the_page(
        page, shop_server, emulator_server, tmp_path) -> None:
    page.goto(f"{shop_server.url}/terms")
    countries = list(MARKETS)
    in_the_page = page.evaluate(IN_THE_PAGE, [PAIRS, AMOUNTS, countries])
    shop = create_app({"INSTANCE_PATH": str(tmp_path), "KCO_API_URL": emulator_server.url})
    money_filter = shop.jinja_env.filters["money"]  # the filter the templates use

    for (locale, currency), drawn in zip(PAIRS, in_the_page, strict=True):
        for amount, page_text in zip(AMOUNTS, drawn["money"], strict=True):
            server_text = money_filter(amount, currency, locale)
            if locale in CLDR_VERSION_DIFFERENCES and page_text != server_text:
                server_text = server_text.replace(*CLDR_VERSION_DIFFERENCES[locale])
            assert page_text == server_text, (locale, currency, amount)
        assert drawn["language"] == language_name(locale), locale
        assert drawn["countries"] == [country_name(country, locale) for country in countries], locale


def test_the_checkout_names_countries_and_languages_in_the_shoppers_language(
        page, shop_server, emulator) -> None:
    shopper = BrowserShopper(page, shop_server.url)
    shopper.adds_to_cart("Enamel mug")
    shopper.opens_checkout()
    expect(shopper.country.locator("option:checked")).to_have_text("Sverige")
    expect(shopper.language.locator("option")).to_have_text(["svenska", "English"])

    shopper.chooses_country("Switzerland")
    shopper.waits_until_the_page_is_in_step()
    expect(shopper.country.locator("option:checked")).to_have_text("Schweiz")
    expect(shopper.language.locator("option")).to_have_text(["Deutsch", "français", "italiano", "English"])

    shopper.chooses_language("fr-CH")
    shopper.waits_until_the_page_is_in_step()
    expect(shopper.country.locator("option:checked")).to_have_text("Suisse")
    expect(shopper.order_amount).to_have_text(format_money(shopper.cart()["order_amount"], "CHF", "fr-CH"))


@pytest.mark.parametrize("path", ["/", "/checkout", "/terms"])
def test_pages_name_their_icon_so_the_console_stays_clean(page, shop_server, path) -> None:
    page.goto(f"{shop_server.url}{path}")
    icon = page.locator("link[rel=icon]").get_attribute("href")
    assert icon and page.request.get(f"{shop_server.url}{icon}").ok
