"""From the cart and the market to the KCO order body, with prices from the catalogue only.

One function, `kco_order_body`, builds what the shop wants KCO to hold; both the page/API path and the KCO
callbacks call it, so a callback can never be answered with amounts the shopper's browser (or the callback
body) chose. `cart_summary` shapes the same figures for the page and the JSON API. The shipping options' names
are written in the checkout's language (`in_language`), for KCO's widget as for the page.

US sales tax: KCO expects it as one `sales_tax` line computed from the shipping address (inferred for KCO;
kco-rules: us-sales-tax), which the `address_update` callback lets the shop recompute once the shopper typed
it (kco-rules: refine-callbacks). `STATE_RATES` is a demo table of state base rates; a real US merchant asks
their tax service (county, city and nexus matter too).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kco.markets import Market
from kco.order_lines import CartLine, OrderTotals, ShippingFee, build_order, line_tax
from shop.cart import Checkout
from shop.catalogue import DEFAULT_SHIPPING_METHOD, PRODUCTS, SHIPPING_METHODS, ShippingMethod
from shop.checkout_words import checkout_words
from shop.shopper_language import in_language

# US state sales tax base rates in basis points, for the demo.
STATE_RATES: dict[str, int] = {
    "CA": 725, "NY": 400, "TX": 625, "FL": 600, "WA": 650, "IL": 625, "MA": 625, "NJ": 663,
    "PA": 600, "GA": 400, "CO": 290, "OR": 0, "MT": 0, "NH": 0, "DE": 0,
}


def sales_tax_rate(region: str | None) -> int:
    """The rate for a US state (two-letter code); 0 before the address is known and for other states."""
    return STATE_RATES.get((region or "").strip().upper(), 0)


def cart_lines(cart: Mapping[str, int], market: Market) -> list[CartLine]:
    return [
        CartLine(reference=sku, name=PRODUCTS[sku].name, quantity=quantity,
                 unit_price=PRODUCTS[sku].unit_price(market.currency), tax_rate=market.vat_rate)
        for sku, quantity in cart.items() if quantity > 0
    ]


def shipping_method(method_id: str | None) -> ShippingMethod:
    return SHIPPING_METHODS.get(method_id or "", SHIPPING_METHODS[DEFAULT_SHIPPING_METHOD])


def shipping_fee(method: ShippingMethod, market: Market) -> ShippingFee:
    # US: shipping carries no VAT, and build_order leaves it out of the sales tax base
    # (kco-rules: us-sales-tax).
    return ShippingFee(name=str(method.name), amount=method.prices[market.currency], tax_rate=market.vat_rate,
                       reference=method.id)


def shipping_options(market: Market, selected: str | None) -> list[dict[str, Any]]:
    """The `shipping_options` KCO shows in the widget, priced in the market's currency
    (kco-rules: shipping-options)."""
    chosen = shipping_method(selected).id
    return [
        {
            "id": method.id,
            "name": str(method.name),
            "description": str(method.description),
            "price": method.prices[market.currency],
            "tax_amount": line_tax(method.prices[market.currency], market.vat_rate),
            "tax_rate": market.vat_rate,
            "preselected": method.id == chosen,
        }
        for method in SHIPPING_METHODS.values()
    ]


def order_totals(checkout: Checkout, cart: Mapping[str, int] | None = None) -> OrderTotals | None:
    """Lines and exact sums of the checkout's cart (or of `cart`, priced in the checkout's market): products,
    the chosen shipping, and (US) the sales tax of the shipping state. None for an empty cart."""
    cart = checkout.cart if cart is None else cart
    if not any(quantity > 0 for quantity in cart.values()):
        return None
    market = checkout.market
    rate = sales_tax_rate(checkout.region) if market.tax_mode == "sales_tax" else 0
    with in_language(checkout.locale):
        shipping = shipping_fee(shipping_method(checkout.shipping_option_id), market)
    return build_order(cart_lines(cart, market), market, shipping=shipping, sales_tax_rate=rate)


def kco_order_body(checkout: Checkout, cart: Mapping[str, int] | None = None,
                   totals: OrderTotals | None = None) -> dict[str, Any] | None:
    """The order content the cart calls for, plus its shipping options; None for an empty cart. `totals`:
    `order_totals` of the same arguments, when the caller has it already."""
    totals = totals or order_totals(checkout, cart)
    if totals is None:
        return None
    with in_language(checkout.locale):
        options = shipping_options(checkout.market, checkout.shipping_option_id)
    return {
        "purchase_country": checkout.market.country,
        "purchase_currency": checkout.market.currency,
        "locale": checkout.locale,
        **totals.as_kco(),
        "shipping_options": options,
    }


def cart_summary(checkout: Checkout, totals: OrderTotals | None = None) -> dict[str, Any]:
    """The `cart` object of the JSON API (its contract: static/js/kco-sync.js): items, market and the totals
    KCO is asked to charge, and the page's words in the cart's language (`texts`, for
    static/js/cart-editor.js). `totals` as for `kco_order_body`."""
    market = checkout.market
    items = [
        {"sku": line.reference, "name": line.name, "quantity": line.quantity, "unit_price": line.unit_price,
         "total_amount": line.quantity * line.unit_price}
        for line in cart_lines(checkout.cart, market)
    ]
    summary: dict[str, Any] = {
        "items": items,
        "country": market.country,
        "currency": market.currency,
        "locale": checkout.locale,
        "locales": list(market.locales),
        "order_amount": 0,
        "order_tax_amount": 0,
        "shipping": None,
        "texts": checkout_words(checkout),
    }
    totals = totals or order_totals(checkout)
    if totals is not None:
        method = shipping_method(checkout.shipping_option_id)
        summary["order_amount"] = totals.order_amount
        summary["order_tax_amount"] = totals.order_tax_amount
        with in_language(checkout.locale):
            name = str(method.name)
        summary["shipping"] = {"id": method.id, "name": name, "total_amount": method.prices[market.currency]}
    return summary
