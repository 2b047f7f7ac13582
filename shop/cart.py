"""The shopper's state (cart, market, KCO order id) and the validation of what the browser sends.

The browser sends only SKUs, quantities, a country and a locale; prices come from the catalogue
(`shop.pricing`). Every input is checked here before anything changes, so a rejected request leaves the
session exactly as it was.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any

from kco.markets import Market, UnsupportedCountry, UnsupportedLocale, check_locale, get_market
from shop.catalogue import PRODUCTS
from shop.errors import ShopError

MAX_QUANTITY = 99
DEFAULT_COUNTRY = "SE"


@dataclass
class ShopperState:
    """What the shop keeps in the shopper's session. `cart` maps SKU to quantity, in the order added."""

    cart: dict[str, int] = field(default_factory=dict)
    country: str = DEFAULT_COUNTRY
    locale: str = ""
    order_id: str | None = None
    market_revision: int = 0  # the checkout row's revision this session has seen (callbacks bump it)
    confirmed_order_id: str | None = None

    def __post_init__(self) -> None:
        if not self.locale:
            self.locale = get_market(self.country).default_locale

    @property
    def market(self) -> Market:
        return get_market(self.country)

    def add(self, sku: str, quantity: int) -> None:
        self.cart[sku] = min(self.cart.get(sku, 0) + quantity, MAX_QUANTITY)

    def set_cart(self, cart: dict[str, int]) -> None:
        self.cart = cart

    def move_to(self, country: str, locale: str) -> None:
        self.country, self.locale = country, locale

    @classmethod
    def from_session(cls, session: MutableMapping[str, Any]) -> ShopperState:
        return cls(
            cart={sku: quantity for sku, quantity in session.get("cart", []) if sku in PRODUCTS},
            country=session.get("country", DEFAULT_COUNTRY),
            locale=session.get("locale", ""),
            order_id=session.get("order_id"),
            market_revision=session.get("market_revision", 0),
            confirmed_order_id=session.get("confirmed_order_id"),
        )

    def save_to(self, session: MutableMapping[str, Any]) -> None:
        """Write the state into the session, unless it is what the session holds already: a visitor who
        changed nothing then costs no stored session (shop/sessions.py)."""
        values = self._session_values()
        if values == ShopperState.from_session(session)._session_values():
            return
        session.update(values)

    def _session_values(self) -> dict[str, Any]:
        return {"cart": [[sku, quantity] for sku, quantity in self.cart.items()], "country": self.country,
                "locale": self.locale, "order_id": self.order_id, "market_revision": self.market_revision,
                "confirmed_order_id": self.confirmed_order_id}


def _check_json(body: Any) -> None:
    """`body` is `request.get_json(silent=True)`: None when the request body was not JSON."""
    if body is None:
        raise ShopError("malformed_json", "The request body must be JSON.", 400)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_quantity(value: Any) -> int:
    if not _is_int(value) or not 0 <= value <= MAX_QUANTITY:
        raise ShopError("invalid_quantity", f"Quantity must be a whole number from 0 to {MAX_QUANTITY}.")
    return value


def parse_form_quantity(text: str | None) -> int:
    """A quantity typed into a form field: ASCII digits only (`int()` alone would take "1_0" and "٣")."""
    text = text or ""
    number = int(text) if 0 < len(text) <= 3 and text.isascii() and text.isdigit() else -1
    return parse_quantity(number)  # -1 is refused there, with the same message as any other bad quantity


def parse_sku(value: Any) -> str:
    if not isinstance(value, str):
        raise ShopError("invalid_cart", "Each item needs a sku (a string).")
    if value not in PRODUCTS:
        raise ShopError("unknown_sku", "That product is not in the catalogue.")
    return value


def parse_cart(body: Any) -> dict[str, int]:
    """`{"items": [{"sku": "...", "quantity": 2}]}` -> the new cart; quantity 0 drops the line."""
    _check_json(body)
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        raise ShopError("invalid_cart", 'Send {"items": [{"sku": "...", "quantity": 1}]}.')
    cart: dict[str, int] = {}
    for item in body["items"]:
        if not isinstance(item, dict) or "sku" not in item or "quantity" not in item:
            raise ShopError("invalid_cart", "Each item needs a sku and a quantity.")
        sku = parse_sku(item["sku"])
        quantity = parse_quantity(item["quantity"])
        if sku in cart:
            raise ShopError("invalid_cart", "Each sku may appear only once.")
        cart[sku] = quantity
    return {sku: quantity for sku, quantity in cart.items() if quantity > 0}


def parse_market(body: Any, state: ShopperState) -> tuple[str, str]:
    """`{"country": "DE", "locale": "de-DE"}` -> (country, locale).

    Without a locale: the country's default when the country changes, else the locale the shopper has.
    """
    _check_json(body)
    if not isinstance(body, dict) or not isinstance(body.get("country"), str):
        raise ShopError("unsupported_country", 'Send {"country": "DE"} with an optional "locale".')
    try:
        market = get_market(body["country"])
    except UnsupportedCountry:
        raise ShopError("unsupported_country", "We don't sell to that country.") from None
    locale = body.get("locale")
    if locale is None:
        return market.country, state.locale if market.country == state.country else market.default_locale
    if not isinstance(locale, str):
        raise ShopError("unsupported_locale", "The locale must be a string such as de-DE.")
    try:
        return market.country, check_locale(market, locale)
    except UnsupportedLocale:
        raise ShopError("unsupported_locale", f"That language is not offered in {market.name}.") from None
