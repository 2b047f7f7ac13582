"""The server's first render and the page's redraw read the same, in every market's every language.

The server formats money and names with Babel (shop/money.py, shop/shopper_language.py); the checkout page
redraws them with the browser's Intl (static/js/cart-editor.js's formatMoney, languageName, countryName). Both
read the Unicode CLDR, so both must write the same text; here Chromium runs the page's own functions.

The shop's own words follow an in-page change too: cart-editor.js redraws them from each cart (`cart.texts`),
with `<html lang>`, the tax label and the cart count, without a reload; and kco-sync-messages.js, the page's
words when the shop gives no answer, says what the catalogues say (translations/).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app import create_app
from e2e.journeys import BrowserShopper
from harness.shop_client import shop_text
from kco.markets import MARKETS
from shop.money import format_money
from shop.shopper_language import SYNC_MESSAGES, country_name, language_name

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


# Every word the page redraws after a change, as the shop drew it: the title, each [data-kco-text]'s text and
# [data-kco-label]'s aria-label, and the lines' quantity labels and remove buttons.
PAGE_WORDS = """() => ({
  lang: document.documentElement.lang,
  title: document.title,
  texts: [...document.querySelectorAll("[data-kco-text]")].map((element) => element.textContent.trim()),
  labels: [...document.querySelectorAll("[data-kco-label]")].map((element) => element.ariaLabel),
  lines: [...document.querySelectorAll("[data-kco-line]:not([hidden])")].map((line) => [
    line.querySelector("[data-kco-quantity]").getAttribute("aria-label"),
    line.querySelector("[data-kco-remove]").textContent.trim()]),
})"""


def test_switching_to_germany_then_the_us_redraws_every_word_as_the_shop_renders_it_without_a_reload(
        page, shop_server, emulator, docs_screenshot) -> None:
    shopper = BrowserShopper(page, shop_server.url)
    shopper.adds_to_cart("Enamel mug")
    shopper.adds_to_cart("Organic cotton T-shirt")
    shopper.opens_checkout()
    shopper.waits_until_the_page_is_quiet()
    heading = page.get_by_role("heading", level=1)
    tax_label = page.locator("[data-kco-text=tax]")
    expect(tax_label).to_have_text(shop_text("Of which VAT", "sv-SE"))
    docs_screenshot("checkout-sv-SE")
    page.evaluate("window.drawnHere = true")  # a reload would lose it

    shopper.chooses_country("Germany")
    shopper.waits_until_the_page_is_in_step()
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(heading).to_have_text(shop_text("Checkout", "de-DE"))
    expect(tax_label).to_have_text(shop_text("Of which VAT", "de-DE"))
    shopper.widget.expect_ready()
    expect(shopper.widget.language).to_have_attribute("lang", "de")
    docs_screenshot("checkout-de-DE")

    shopper.chooses_country("United States")
    shopper.waits_until_the_page_is_in_step()

    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(tax_label).to_have_text("Sales tax")
    expect(heading).to_have_text("Checkout")
    expect(shopper.country.locator("option:checked")).to_have_text("United States")
    assert page.evaluate("window.drawnHere") is True
    redrawn = page.evaluate(PAGE_WORDS)
    shopper.widget.expect_ready()
    expect(shopper.widget.language).to_have_attribute("lang", "en")
    docs_screenshot("checkout-en-US-after-switch")
    page.reload()
    assert page.evaluate(PAGE_WORDS) == redrawn


def test_removing_a_line_updates_the_carts_count_in_the_header(page, shop_server, emulator) -> None:
    shopper = BrowserShopper(page, shop_server.url)
    shopper.adds_to_cart("Enamel mug")
    shopper.adds_to_cart("Wool socks")
    shopper.opens_checkout()
    checkout_link = page.get_by_role("navigation").get_by_role("link").nth(1)
    expect(checkout_link).to_have_text(shop_text("Checkout (%(count)d)", count=2))

    shopper.removes("Wool socks")
    shopper.waits_until_the_page_is_in_step()

    expect(checkout_link).to_have_text(shop_text("Checkout (%(count)d)", count=1))
    shopper.removes("Enamel mug")
    shopper.waits_until_the_page_is_in_step()
    expect(checkout_link).to_have_text(shop_text("Checkout"))


def test_the_pages_own_messages_say_what_the_catalogues_say_in_every_checkout_language(
        page, shop_server) -> None:
    page.goto(f"{shop_server.url}/terms")
    languages = sorted({locale for market in MARKETS.values() for locale in market.locales})
    in_the_page = page.evaluate("""async (locales) => {
      const { messagesFor } = await import("/static/js/kco-sync-messages.js");
      return locales.map((locale) => messagesFor(locale));
    }""", languages)
    for locale, messages in zip(languages, in_the_page, strict=True):
        # Outside a request, lazy_gettext reads as its msgid: the English text.
        catalogued = {key: shop_text(str(msgid), locale) for key, msgid in SYNC_MESSAGES.items()}
        assert messages == catalogued, locale
