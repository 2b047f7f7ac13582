"""The shopper's checkout (cart, market, shipping choice, KCO order) and the validation of what the browser
sends: only SKUs, quantities, a country and a locale, each checked before anything changes, so a rejected
request leaves the checkout as it was. Prices come from the catalogue (shop/pricing.py).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l

from kco.markets import Market, UnsupportedCountry, UnsupportedLocale, check_locale, get_market
from shop.catalogue import PRODUCTS
from shop.errors import ShopError

MAX_QUANTITY = 99
DEFAULT_COUNTRY = "SE"


@dataclass
class Checkout:
    """What one shopper is buying, and what the shop knows of the KCO order that sells it: a row of the shop's
    database (shop/records.py), whose id the shopper's session holds."""

    id: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    cart: dict[str, int] = field(default_factory=dict)  # SKU -> quantity, in the order added
    country: str = DEFAULT_COUNTRY
    locale: str = ""
    shipping_option_id: str | None = None
    us_region: str | None = None
    order_id: str | None = None
    reference: str | None = None  # the order's callback reference (shop/security.py)
    # What KCO was last sent (None: unknown, read before trusting). The carts differ when the shopper changed
    # the cart away from the checkout page since.
    kco_cart: dict[str, int] | None = None
    kco_fingerprint: str | None = None
    # When the requests that set the cart and the market reached the shop (`arrival`). Of two requests that
    # change the same part at once, the later one wins even if it is stored first: the earlier one then finds
    # a newer value and leaves it (shop/checkout_flow.py).
    cart_set_at: int = 0
    market_set_at: int = 0
    version: int = 0  # of the stored row; 0: not stored yet
    paid: bool = False  # read with the row: the order is recorded as completed

    def __post_init__(self) -> None:
        if not self.locale:
            self.locale = get_market(self.country).default_locale

    @property
    def market(self) -> Market:
        return get_market(self.country)

    @property
    def region(self) -> str | None:
        """The US state whose sales tax applies; None outside the US."""
        return self.us_region if self.country == "US" else None

    def add(self, sku: str, quantity: int, at: int) -> None:
        """Adds to whatever the cart holds, however late the request: an addition never undoes another."""
        self.cart[sku] = min(self.cart.get(sku, 0) + quantity, MAX_QUANTITY)
        self.cart_set_at = max(self.cart_set_at, at)

    def set_cart(self, cart: dict[str, int], at: int) -> None:
        """The whole cart, unless a request that came later set it already."""
        if at >= self.cart_set_at:
            self.cart = cart
            self.cart_set_at = at

    def move_to(self, country: str, locale: str, at: int) -> None:
        """The market, unless a request that came later set it already."""
        if at >= self.market_set_at:
            self.country = country
            self.locale = locale
            self.market_set_at = at


def arrival() -> int:
    """This moment, as `Checkout` stamps its changes: microseconds since the epoch."""
    return time.time_ns() // 1000


def _check_json(body: Any) -> None:
    """`body` is `request.get_json(silent=True)`: None when the request body was not JSON."""
    if body is None:
        raise ShopError("malformed_json", _l("The request body must be JSON."), 400)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_quantity(value: Any) -> int:
    if not _is_int(value) or not 0 <= value <= MAX_QUANTITY:
        raise ShopError("invalid_quantity",
                        _l("Quantity must be a whole number from 0 to %(most)d.", most=MAX_QUANTITY))
    return value


def parse_form_quantity(text: str | None) -> int:
    """A quantity typed into a form field: ASCII digits only (`int()` alone would take "1_0" and "٣")."""
    text = text or ""
    number = int(text) if 0 < len(text) <= 3 and text.isascii() and text.isdigit() else -1
    return parse_quantity(number)  # -1 is refused there, with the same message as any other bad quantity


def parse_sku(value: Any) -> str:
    if not isinstance(value, str):
        raise ShopError("invalid_cart", _l("Each item needs a sku (a string)."))
    if value not in PRODUCTS:
        raise ShopError("unknown_sku", _l("That product is not in the catalogue."))
    return value


def parse_cart(body: Any) -> dict[str, int]:
    """`{"items": [{"sku": "...", "quantity": 2}]}` -> the new cart; quantity 0 drops the line."""
    _check_json(body)
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        raise ShopError("invalid_cart", _l('Send {"items": [{"sku": "...", "quantity": 1}]}.'))
    cart: dict[str, int] = {}
    for item in body["items"]:
        if not isinstance(item, dict) or "sku" not in item or "quantity" not in item:
            raise ShopError("invalid_cart", _l("Each item needs a sku and a quantity."))
        sku = parse_sku(item["sku"])
        quantity = parse_quantity(item["quantity"])
        if sku in cart:
            raise ShopError("invalid_cart", _l("Each sku may appear only once."))
        cart[sku] = quantity
    return {sku: quantity for sku, quantity in cart.items() if quantity > 0}


def parse_market(body: Any, checkout: Checkout) -> tuple[str, str]:
    """`{"country": "DE", "locale": "de-DE"}` -> (country, locale).

    Without a locale: the country's default when the country changes, else the locale the shopper has.
    """
    _check_json(body)
    if not isinstance(body, dict) or not isinstance(body.get("country"), str):
        raise ShopError("unsupported_country", _l('Send {"country": "DE"} with an optional "locale".'))
    try:
        market = get_market(body["country"])
    except UnsupportedCountry:
        raise ShopError("unsupported_country", _l("We don't sell to that country.")) from None
    locale = body.get("locale")
    if locale is None:
        same_country = market.country == checkout.country
        return market.country, checkout.locale if same_country else market.default_locale
    if not isinstance(locale, str):
        raise ShopError("unsupported_locale", _l("The locale must be a string such as de-DE."))
    try:
        return market.country, check_locale(market, locale)
    except UnsupportedLocale:
        raise ShopError("unsupported_locale", _l("That language is not offered in that country.")) from None
