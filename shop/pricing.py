"""From the cart and the market to the KCO order body, with prices from the catalogue only.

One function, `kco_order_body`, builds what the shop wants KCO to hold; both the page/API path and the KCO
callbacks call it, so a callback can never be answered with amounts the shopper's browser (or the callback
body) chose. `cart_summary` shapes the same figures for the page and the JSON API.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kco.markets import Market
from kco.order_lines import CartLine, OrderTotals, ShippingFee, build_order, line_tax
from shop.catalogue import DEFAULT_SHIPPING_METHOD, PRODUCTS, SHIPPING_METHODS, ShippingMethod
from shop.sales_tax import sales_tax_rate


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
    return ShippingFee(name=method.name, amount=method.prices[market.currency], tax_rate=market.vat_rate,
                       reference=method.id)


def shipping_options(market: Market, selected: str | None) -> list[dict[str, Any]]:
    """The `shipping_options` KCO shows in the widget, priced in the market's currency
    (kco-rules: shipping-options)."""
    chosen = shipping_method(selected).id
    return [
        {
            "id": method.id,
            "name": method.name,
            "description": method.description,
            "price": method.prices[market.currency],
            "tax_amount": line_tax(method.prices[market.currency], market.vat_rate),
            "tax_rate": market.vat_rate,
            "preselected": method.id == chosen,
        }
        for method in SHIPPING_METHODS.values()
    ]


def order_totals(cart: Mapping[str, int], market: Market, shipping_id: str | None,
                 us_region: str | None) -> OrderTotals:
    """Lines and exact sums: products, the chosen shipping, and (US) the sales tax of the shipping state."""
    rate = sales_tax_rate(us_region) if market.tax_mode == "sales_tax" else 0
    return build_order(cart_lines(cart, market), market,
                       shipping=shipping_fee(shipping_method(shipping_id), market), sales_tax_rate=rate)


def kco_order_body(cart: Mapping[str, int], market: Market, locale: str, shipping_id: str | None,
                   us_region: str | None, totals: OrderTotals | None = None) -> dict[str, Any] | None:
    """The order content the cart calls for, plus its shipping options; None for an empty cart. `totals`:
    `order_totals` of the same arguments, when the caller has it already."""
    if not any(quantity > 0 for quantity in cart.values()):
        return None
    return {
        "purchase_country": market.country,
        "purchase_currency": market.currency,
        "locale": locale,
        **(totals or order_totals(cart, market, shipping_id, us_region)).as_kco(),
        "shipping_options": shipping_options(market, shipping_id),
    }


def cart_summary(cart: Mapping[str, int], market: Market, locale: str, shipping_id: str | None,
                 us_region: str | None, totals: OrderTotals | None = None) -> dict[str, Any]:
    """The `cart` object of the JSON API (contracts): items, market and the totals KCO is asked to charge.
    `totals` as for `kco_order_body`."""
    items = [
        {"sku": line.reference, "name": line.name, "quantity": line.quantity, "unit_price": line.unit_price,
         "total_amount": line.quantity * line.unit_price}
        for line in cart_lines(cart, market)
    ]
    summary: dict[str, Any] = {
        "items": items,
        "country": market.country,
        "currency": market.currency,
        "locale": locale,
        "locales": list(market.locales),
        "order_amount": 0,
        "order_tax_amount": 0,
        "shipping": None,
    }
    if items:
        totals = totals or order_totals(cart, market, shipping_id, us_region)
        method = shipping_method(shipping_id)
        summary["order_amount"] = totals.order_amount
        summary["order_tax_amount"] = totals.order_tax_amount
        summary["shipping"] = {"id": method.id, "name": method.name,
                               "total_amount": method.prices[market.currency]}
    return summary
