"""The merchant's products and shipping options, priced per currency by the merchant (never converted).

Prices are int minor units and include VAT where the market's prices include VAT (all but the US, whose
prices exclude sales tax; kco-rules: us-sales-tax). KCO does no currency conversion (kco-rules: markets), so
every currency the shop sells in has its own price list here.

Product names stay as the merchant wrote them; the shipping options' words are the shop's own and are
translated (`lazy_gettext`, shop/shopper_language.py) where they are shown: on the page and in KCO's widget.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    prices: dict[str, int]  # currency -> unit price in minor units

    def unit_price(self, currency: str) -> int:
        return self.prices[currency]


@dataclass(frozen=True)
class ShippingMethod:
    id: str
    name: LazyString  # str() in the shopper's language (shop/pricing.py)
    description: LazyString
    prices: dict[str, int]  # currency -> price in minor units, VAT included as for products


PRODUCTS: dict[str, Product] = {product.sku: product for product in (
    Product("mug-001", "Enamel mug", {
        "SEK": 19900, "NOK": 19900, "DKK": 14900, "EUR": 1790, "GBP": 1500, "CHF": 1790, "USD": 1900,
        "PLN": 7900}),
    Product("tee-002", "Organic cotton T-shirt", {
        "SEK": 34900, "NOK": 35900, "DKK": 24900, "EUR": 2990, "GBP": 2500, "CHF": 2990, "USD": 2900,
        "PLN": 12900}),
    Product("bottle-003", "Steel water bottle", {
        "SEK": 29900, "NOK": 29900, "DKK": 21900, "EUR": 2490, "GBP": 2200, "CHF": 2590, "USD": 2700,
        "PLN": 10900}),
    Product("socks-004", "Wool socks", {
        "SEK": 14900, "NOK": 15900, "DKK": 10900, "EUR": 1290, "GBP": 1100, "CHF": 1390, "USD": 1400,
        "PLN": 5900}),
    Product("notebook-005", "Dotted notebook", {
        "SEK": 12900, "NOK": 13900, "DKK": 9900, "EUR": 1150, "GBP": 995, "CHF": 1250, "USD": 1250,
        "PLN": 4900}),
    Product("tote-006", "Canvas tote bag", {
        "SEK": 24900, "NOK": 25900, "DKK": 17900, "EUR": 2190, "GBP": 1800, "CHF": 2290, "USD": 2300,
        "PLN": 8900}),
)}

# Two options per market, offered inside the KCO widget (kco-rules: shipping-options); the first is
# preselected.
SHIPPING_METHODS: dict[str, ShippingMethod] = {method.id: method for method in (
    ShippingMethod("standard", _l("Standard delivery"), _l("2-5 working days"), {
        "SEK": 4900, "NOK": 5900, "DKK": 3900, "EUR": 490, "GBP": 395, "CHF": 590, "USD": 500,
        "PLN": 1490}),
    ShippingMethod("express", _l("Express delivery"), _l("Next working day"), {
        "SEK": 12900, "NOK": 13900, "DKK": 8900, "EUR": 1290, "GBP": 995, "CHF": 1490, "USD": 1500,
        "PLN": 3900}),
)}
DEFAULT_SHIPPING_METHOD = "standard"


def priced_products(currency: str) -> list[dict[str, object]]:
    """The catalogue as the JSON API shows it: each product at its price in `currency`."""
    return [{"sku": product.sku, "name": product.name, "unit_price": product.unit_price(currency),
             "currency": currency} for product in PRODUCTS.values()]
