"""Playwright helpers (sync API) for the emulator's checkout widget on a shop's page.

`KcoWidget(page)` drives the widget the way a shopper does; `expect_widget(page)` asserts its state, retrying
like Playwright's own `expect`. Both read the emulator's test hooks: the container's `data-kco-widget-state`
(loading, ready, suspended, resuming; "ready" again only once a resume re-read the order; validating while
the page's validation_callback has not answered; confirmation once the confirmation snippet fired
load_confirmation) and, inside the iframe, the form fields named as KCO names them, `[data-kco-order-total]`,
the message in role="alert" and the submit button: never the widget's words, which follow the order's
language.

    widget = KcoWidget(page)
    widget.wait_ready()
    widget.fill_shopper()
    widget.complete()
    page.wait_for_url("**/confirmation**")
"""

from __future__ import annotations

from playwright.sync_api import FrameLocator, Locator, Page, expect

CONTAINER = "#klarna-checkout-container"  # where the html_snippet puts the widget (kco-rules: html-snippet)
STATE = "data-kco-widget-state"

# In the order a shopper types them; the last one is left with Tab, which hands the address to KCO.
SHOPPER_FIELDS = ("email", "given_name", "family_name", "street_address", "postal_code", "city")
TEST_PERSON = {"email": "test.person@example.com", "given_name": "Test", "family_name": "Person"}
# A separate shipping address has the same fields but the email; the widget names them shipping_<field>.
SHIPPING_FIELDS = SHOPPER_FIELDS[1:]
RECIPIENT = {"given_name": "Other", "family_name": "Recipient"}
# A plausible address per market, so a shop that checks postal codes or cities accepts the defaults.
SAMPLE_ADDRESSES: dict[str, dict[str, str]] = {
    "SE": {"street_address": "Drottninggatan 1", "postal_code": "11151", "city": "Stockholm"},
    "NO": {"street_address": "Karl Johans gate 1", "postal_code": "0154", "city": "Oslo"},
    "FI": {"street_address": "Mannerheimintie 1", "postal_code": "00100", "city": "Helsinki"},
    "DK": {"street_address": "Vesterbrogade 1", "postal_code": "1620", "city": "København"},
    "GB": {"street_address": "1 Whitehall", "postal_code": "SW1A 2AA", "city": "London"},
    "DE": {"street_address": "Unter den Linden 1", "postal_code": "10117", "city": "Berlin"},
    "NL": {"street_address": "Damrak 1", "postal_code": "1012 LG", "city": "Amsterdam"},
    "AT": {"street_address": "Stephansplatz 1", "postal_code": "1010", "city": "Wien"},
    "CH": {"street_address": "Bahnhofstrasse 1", "postal_code": "8001", "city": "Zürich"},
    "US": {"street_address": "1 Main Street", "postal_code": "10001", "city": "New York"},
    "ES": {"street_address": "Gran Vía 1", "postal_code": "28013", "city": "Madrid"},
    "FR": {"street_address": "1 Rue de Rivoli", "postal_code": "75001", "city": "Paris"},
    "BE": {"street_address": "Grand-Place 1", "postal_code": "1000", "city": "Bruxelles"},
    "PL": {"street_address": "ul. Marszałkowska 1", "postal_code": "00-001", "city": "Warszawa"},
}


class KcoWidget:
    """The checkout widget that the html_snippet renders into `#klarna-checkout-container`."""

    def __init__(self, page: Page, container: str = CONTAINER) -> None:
        self.page = page
        self.container: Locator = page.locator(container)
        self.frame: FrameLocator = page.frame_locator(f"{container} iframe")
        self.order_total: Locator = self.frame.locator("[data-kco-order-total]")
        self.country: Locator = self.frame.locator("select[name=country]")
        # What the widget tells the shopper: a refused change, a message of the page's validation_callback.
        self.message: Locator = self.frame.get_by_role("alert")

    def wait_ready(self, timeout: float | None = None) -> None:
        """Until the widget shows the order and takes input (also after a resume)."""
        expect(self.container).to_have_attribute(STATE, "ready", timeout=timeout)

    def fill_shopper(self, country: str | None = None, **fields: str) -> dict[str, str]:
        """Type a test shopper and leave the last field, as a shopper would; answers what was typed.

        Leaving the field hands the address to KCO, which calls the shop's address_update. The address is the
        sample of `country` (default: the billing country the widget shows; this does not change it, see
        `change_country`); keyword arguments replace fields: email, given_name, family_name, street_address,
        postal_code, city.
        """
        unknown = set(fields) - set(SHOPPER_FIELDS)
        if unknown:
            raise TypeError(f"unknown shopper fields: {', '.join(sorted(unknown))}")
        market = (country or self.country.input_value()).upper()
        shopper = {**TEST_PERSON, **SAMPLE_ADDRESSES.get(market, SAMPLE_ADDRESSES["GB"]), **fields}
        for name in SHOPPER_FIELDS:
            self.frame.locator(f"input[name={name}]").fill(shopper[name])
        self.frame.locator(f"input[name={SHOPPER_FIELDS[-1]}]").press("Tab")
        return shopper

    def ship_to(self, **fields: str) -> dict[str, str]:
        """Tick "Ship to another address", type a separate shipping address and leave its last field; answers
        what was typed. The widget offers it only with options.allow_separate_shipping_address; KCO then
        calls address_update and fires shipping_address_change. Keyword arguments replace fields: given_name,
        family_name, street_address, postal_code, city (default: another recipient at the sample address of
        the billing country)."""
        unknown = set(fields) - set(SHIPPING_FIELDS)
        if unknown:
            raise TypeError(f"unknown shipping fields: {', '.join(sorted(unknown))}")
        market = self.country.input_value().upper()
        recipient = {**RECIPIENT, **SAMPLE_ADDRESSES.get(market, SAMPLE_ADDRESSES["GB"]), **fields}
        self.frame.locator("input[name=separate_shipping_address]").check()
        for name in SHIPPING_FIELDS:
            self.frame.locator(f"input[name=shipping_{name}]").fill(recipient[name])
        self.frame.locator(f"input[name=shipping_{SHIPPING_FIELDS[-1]}]").press("Tab")
        return {name: recipient[name] for name in SHIPPING_FIELDS}

    def choose_shipping(self, name: str) -> None:
        """Pick the shipping option whose label contains `name` (KCO then runs shipping_option_update)."""
        self.frame.get_by_role("radio", name=name).check()

    def change_country(self, alpha2: str) -> None:
        """Pick another billing country (KCO then runs country_change, or address_update with an address).

        The widget offers a country only when the order lists two or more `billing_countries` (or
        `shipping_countries`); without them this fails at once, naming them, rather than waiting for a
        choice that never appears.
        """
        self.wait_ready()
        offered = self.country.locator("option").all_inner_texts()
        if len(offered) < 2:
            raise AssertionError(
                f"the KCO widget offers no country choice (the order offers {', '.join(offered) or 'none'}): "
                "create the order with two or more billing_countries")
        self.country.select_option(alpha2.upper())

    def tick(self, text: str, checked: bool = True) -> None:
        """Tick (or clear) the merchant's checkbox whose text contains `text` (options.additional_checkbox
        or additional_checkboxes): merchant_requested follows and the widget fires checkbox_change."""
        self.frame.get_by_role("checkbox", name=text).set_checked(checked)

    def wait_confirmation_loaded(self, timeout: float | None = None) -> None:
        """On the confirmation page: until the confirmation snippet has fired load_confirmation to the
        handlers the page registered."""
        expect(self.container).to_have_attribute(STATE, "confirmation", timeout=timeout)

    def complete(self) -> None:
        """Click Complete purchase. KCO validates, completes and sends the browser to the confirmation URL:
        wait for that page (`page.wait_for_url`), not for the widget, which goes away with the page."""
        self.frame.locator("button[type=submit]").click()

    def is_suspended(self) -> bool:
        """Whether the shop's page suspended the widget and has not resumed it yet (no waiting)."""
        return self.container.get_attribute(STATE) == "suspended"

    def total(self) -> str:
        """The order total as the widget shows it, e.g. "1 234,00 kr"."""
        return self.order_total.inner_text()

    def line(self, name: str) -> Locator:
        """The order line that mentions `name`; its text reads "2 × Name" and the line total."""
        return self.frame.locator("[data-kco-order-line]").filter(has_text=name)


class WidgetAssertions:
    """What `expect_widget` answers: assertions that retry until they hold or time out."""

    def __init__(self, widget: KcoWidget) -> None:
        self.widget = widget

    def _state_is(self, state: str, message: str, timeout: float | None) -> None:
        expect(self.widget.container, message).to_have_attribute(STATE, state, timeout=timeout)

    def to_be_resumed(self, timeout: float | None = None) -> None:
        """Not suspended, and a resume has re-read the order: what a page's `api.resume()` must lead to."""
        self._state_is("ready", "the KCO widget was not resumed (suspended, resuming or loading)", timeout)

    def to_be_suspended(self, timeout: float | None = None) -> None:
        self._state_is("suspended", "the KCO widget was not suspended", timeout)

    def to_await_client_validation(self, timeout: float | None = None) -> None:
        """With options.require_client_validation, after Complete purchase: the widget waits for the page's
        validation_callback handler to call back."""
        self._state_is("validating", "the KCO widget does not wait for the page's validation_callback",
                       timeout)

    def to_show_message(self, text: str, timeout: float | None = None) -> None:
        """The widget tells the shopper `text` (e.g. the `message` of a should_proceed false answer)."""
        expect(self.widget.message, "the KCO widget shows another message").to_have_text(
            text, timeout=timeout)

    def to_show_total(self, text: str, timeout: float | None = None) -> None:
        expect(self.widget.order_total, "the KCO widget shows another total").to_have_text(
            text, timeout=timeout)


def expect_widget(page_or_widget: Page | KcoWidget) -> WidgetAssertions:
    """`expect_widget(page).to_be_resumed()`, like Playwright's `expect(locator)`."""
    widget = page_or_widget if isinstance(page_or_widget, KcoWidget) else KcoWidget(page_or_widget)
    return WidgetAssertions(widget)
