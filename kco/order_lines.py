"""Cart lines in, KCO `order_lines`, `order_amount` and `order_tax_amount` out, in integer minor units.

KCO rejects an order whose numbers do not add up (`400 BAD_VALUE`, "Bad value: order_tax_amount"), and tax
that is off by one cent is the most common way integrations get there (kco-rules: line-tax, order-tax-sum).
So:

- every amount is an `int` in minor units (cents, öre); no float is ever involved;
- `line_tax` computes the tax inside a VAT-included price with one stated rounding rule;
- `build_order` sums the lines exactly and refuses to return an order that `first_violation` rejects;
- `first_violation` checks an order the way KCO does and names the first bad field as KCO would,
  e.g. "Bad value: order_lines[2].total_tax_amount".

US orders carry no VAT: product lines have tax rate 0 and the tax is one `sales_tax` line
(kco-rules: us-sales-tax).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from kco.markets import Market

# Line types KCO knows (kco-rules: order-line-fields; checkout-v3-openapi.yml order_line.type).
LINE_TYPES = frozenset(
    {"physical", "discount", "shipping_fee", "sales_tax", "digital", "gift_card", "store_credit", "surcharge"}
)
MAX_AMOUNT = 100_000_000  # unit_price and total_amount maximum (kco-rules: order-line-fields)
MAX_TAX_RATE = 10_000  # basis points, i.e. 100 % (kco-rules: order-line-fields)
MAX_ORDER_LINES = 1000  # kco-rules: order-fields (order_lines maxItems)
BASIS = 10_000  # tax rates are basis points: 2500 = 25 %

CartLineType = Literal["physical", "digital", "discount", "gift_card", "store_credit", "surcharge"]


@dataclass(frozen=True)
class CartLine:
    """One priced cart line. `unit_price` includes VAT (VAT markets) and is negative for a discount line."""

    reference: str
    name: str
    quantity: int
    unit_price: int
    tax_rate: int
    total_discount_amount: int = 0
    type: CartLineType = "physical"


@dataclass(frozen=True)
class ShippingFee:
    """The shipping charge, sent as its own `shipping_fee` line; `amount` includes VAT like a unit price."""

    name: str
    amount: int
    tax_rate: int
    reference: str = "shipping"


@dataclass(frozen=True)
class OrderTotals:
    """The money part of a KCO order: exactly the three fields `as_kco()` returns."""

    order_lines: list[dict[str, Any]] = field(default_factory=list)
    order_amount: int = 0
    order_tax_amount: int = 0

    def as_kco(self) -> dict[str, Any]:
        return {
            "order_lines": [dict(line) for line in self.order_lines],
            "order_amount": self.order_amount,
            "order_tax_amount": self.order_tax_amount,
        }


def _divide_round_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded to the nearest int, halves away from zero; integers only."""
    if numerator < 0:
        return -_divide_round_half_up(-numerator, denominator)
    return (2 * numerator + denominator) // (2 * denominator)


def line_tax(total_amount: int, tax_rate: int) -> int:
    """The VAT contained in a VAT-included `total_amount` at `tax_rate` basis points.

    KCO accepts a line when its tax is within ±1 of `total_amount - total_amount * 10000 / (10000 + tax_rate)`
    (kco-rules: line-tax; 50000 at 1000 -> 4545, the tax inside the price, not 5000: kco_rest_dotnet #24).
    Rule used here: net = total_amount * 10000 / (10000 + tax_rate) rounded half away from zero, and
    tax = total_amount - net. The result is within 0.5 of the exact value, so it passes whether KCO computes
    the quotient exactly or with integer division. A negative total (a discount line) gives the mirrored,
    negative tax, as the order_line schema asks for discount lines.
    """
    net = _divide_round_half_up(total_amount * BASIS, BASIS + tax_rate)
    return total_amount - net


def sales_tax(taxable_amount: int, sales_tax_rate: int) -> int:
    """US sales tax: amount * rate / 10000 rounded half up; 0 for a non-positive taxable amount."""
    if taxable_amount <= 0:
        return 0
    return _divide_round_half_up(taxable_amount * sales_tax_rate, BASIS)


def _order_line(
    *, type: str, reference: str, name: str, quantity: int, unit_price: int, tax_rate: int,
    total_discount_amount: int = 0,
) -> dict[str, Any]:
    # total_amount = quantity * unit_price - total_discount_amount (kco-rules: line-total).
    total_amount = quantity * unit_price - total_discount_amount
    return {
        "type": type,
        "reference": reference,
        "name": name,
        "quantity": quantity,
        "unit_price": unit_price,
        "tax_rate": tax_rate,
        "total_amount": total_amount,
        "total_discount_amount": total_discount_amount,
        "total_tax_amount": line_tax(total_amount, tax_rate),
    }


def _check_tax_mode(market: Market, cart_lines: list[CartLine], shipping: ShippingFee | None,
                    sales_tax_rate: int) -> None:
    """VAT markets take no sales tax rate; in sales-tax markets no line carries a tax rate of its own."""
    if market.tax_mode == "vat_included" and sales_tax_rate != 0:
        raise ValueError(f"{market.country} has VAT included in prices; sales_tax_rate must be 0")
    if market.tax_mode == "sales_tax" and any(line.tax_rate != 0 for line in cart_lines):
        raise ValueError(f"{market.country} uses a sales_tax line; cart lines must have tax_rate 0")
    if market.tax_mode == "sales_tax" and shipping is not None and shipping.tax_rate != 0:
        raise ValueError(f"{market.country} uses a sales_tax line; the shipping fee must have tax_rate 0")


def build_order(
    lines: Iterable[CartLine],
    market: Market,
    *,
    shipping: ShippingFee | None = None,
    sales_tax_rate: int = 0,
) -> OrderTotals:
    """Turn cart lines into KCO order lines and exact order sums for `market`.

    VAT markets: each line keeps its VAT-included price and rate; `sales_tax_rate` must be 0.
    Sales-tax markets (US): every line must have tax rate 0; one `sales_tax` line is appended whose amount
    is `sales_tax(taxable subtotal, sales_tax_rate)`, and `order_tax_amount` equals it
    (kco-rules: us-sales-tax). The taxable subtotal is products minus discounts. Shipping is left out:
    whether shipping is taxable differs between US states and the docs do not cover it; a merchant in a state
    that taxes shipping must add it to the base. The line is sent even when the tax is 0, so the order keeps
    the same shape when the `address_update` callback later fills in the tax for the shipping address
    (kco-rules: us-sales-tax: "you may send a default or 0 sales_tax line").

    Raises ValueError for input KCO would reject (e.g. a line total above 100 000 000 minor units, a
    negative order amount); the message is the `first_violation` text.
    """
    cart_lines = list(lines)
    _check_tax_mode(market, cart_lines, shipping, sales_tax_rate)
    order_lines = [
        _order_line(
            type=line.type, reference=line.reference, name=line.name, quantity=line.quantity,
            unit_price=line.unit_price, tax_rate=line.tax_rate,
            total_discount_amount=line.total_discount_amount,
        )
        for line in cart_lines
    ]
    taxable_subtotal = sum(line["total_amount"] for line in order_lines)
    if shipping is not None:
        order_lines.append(_order_line(
            type="shipping_fee", reference=shipping.reference, name=shipping.name, quantity=1,
            unit_price=shipping.amount, tax_rate=shipping.tax_rate,
        ))
    if market.tax_mode == "sales_tax":
        tax = sales_tax(taxable_subtotal, sales_tax_rate)
        # US pattern: quantity 1, unit_price = total_amount = tax, tax_rate 0, no line tax
        # (kco-rules: us-sales-tax).
        order_lines.append(_order_line(
            type="sales_tax", reference="sales-tax", name="Sales Tax", quantity=1, unit_price=tax, tax_rate=0,
        ))
        order_tax_amount = tax
    else:
        # order_tax_amount is the exact sum of the line taxes (kco-rules: order-tax-sum).
        order_tax_amount = sum(line["total_tax_amount"] for line in order_lines)

    totals = OrderTotals(
        order_lines=order_lines,
        # order_amount is the exact sum of the line totals, tax line included (kco-rules: order-amount-sum).
        order_amount=sum(line["total_amount"] for line in order_lines),
        order_tax_amount=order_tax_amount,
    )
    violation = first_violation(totals.as_kco())
    if violation is not None:
        raise ValueError(violation)
    return totals


# --- The checker -------------------------------------------------------------------------------------------

def _is_int(value: object) -> bool:
    # In Python True is an int; KCO's integer fields take neither booleans nor floats
    # (kco-rules: order-line-fields).
    return isinstance(value, int) and not isinstance(value, bool)


def _bad(path: str) -> str:
    # KCO's wording for every field-level failure (kco-rules: error-codes). For a *missing* required
    # field the exact KCO message is not documented; this checker reports it the same way.
    return f"Bad value: {path}"


_PATTERNS: tuple[tuple[str, str], ...] = (
    # Letters only, lengths as in the order schema (kco-rules: order-fields). Checked only when present:
    # `OrderTotals.as_kco()` carries just the money fields, and the caller adds country, currency and locale.
    ("purchase_country", r"[A-Za-z]{2}"),
    ("purchase_currency", r"[A-Za-z]{3}"),
    ("locale", r"[A-Za-z]{2}(?:-[A-Za-z]{2})*"),
)


def _line_violation(line: object, path: str) -> str | None:
    if not isinstance(line, Mapping):
        return _bad(path)
    # Required: name, quantity, unit_price, tax_rate, total_amount, total_tax_amount
    # (kco-rules: order-line-fields).
    name = line.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= 255:
        return _bad(f"{path}.name")
    for key in ("quantity", "unit_price", "tax_rate", "total_amount", "total_tax_amount"):
        if not _is_int(line.get(key)):
            return _bad(f"{path}.{key}")
    if "total_discount_amount" in line and not _is_int(line["total_discount_amount"]):
        return _bad(f"{path}.total_discount_amount")
    if "type" in line and line["type"] not in LINE_TYPES:
        return _bad(f"{path}.type")
    reference = line.get("reference")
    if reference is not None and (not isinstance(reference, str) or len(reference) > 255):
        return _bad(f"{path}.reference")
    quantity_unit = line.get("quantity_unit")
    if quantity_unit is not None and (not isinstance(quantity_unit, str) or not 1 <= len(quantity_unit) <= 8):
        return _bad(f"{path}.quantity_unit")

    quantity, unit_price, tax_rate = line["quantity"], line["unit_price"], line["tax_rate"]
    total_amount, total_tax_amount = line["total_amount"], line["total_tax_amount"]
    discount = line.get("total_discount_amount", 0)
    if quantity < 0:
        return _bad(f"{path}.quantity")
    if unit_price > MAX_AMOUNT:
        return _bad(f"{path}.unit_price")
    if not 0 <= tax_rate <= MAX_TAX_RATE:
        return _bad(f"{path}.tax_rate")
    if discount < 0:
        return _bad(f"{path}.total_discount_amount")
    if total_amount > MAX_AMOUNT or total_amount != quantity * unit_price - discount:
        return _bad(f"{path}.total_amount")
    # |tax - (total - total*10000/(10000+rate))| <= 1, multiplied through by (10000+rate) so it stays exact
    # in integers: |tax*(10000+rate) - total*rate| <= 10000+rate (kco-rules: line-tax).
    if abs(total_tax_amount * (BASIS + tax_rate) - total_amount * tax_rate) > BASIS + tax_rate:
        return _bad(f"{path}.total_tax_amount")
    return None


def first_violation(order: Mapping[str, Any]) -> str | None:
    """The first KCO amount/line rule `order` breaks, as "Bad value: <json path>", or None if it passes.

    Rules (kco-rules: order-fields, order-line-fields, line-total, line-tax): required fields present with
    integer (not bool, not float) values; quantity >= 0; tax_rate 0..10000; unit_price and total_amount
    <= 100 000 000; name 1..255 characters; at most 1000 lines; each line total exact; each line tax within
    ±1; order_amount and order_tax_amount non-negative and exactly the sums of the lines. Lines are checked
    before the order sums because a bad line usually explains a bad sum. The order in which KCO itself checks
    is not documented.

    Exact order sums are our reading: KCO's spec implies equality for order_amount, and a tax sum 666 vs 700
    was rejected (kco-rules: order-amount-sum, order-tax-sum). Klarna *Payments* tolerates order tax ± the
    number of items, which is unverified for KCO; this checker is strict.
    """
    for key, pattern in _PATTERNS:
        if key in order and (not isinstance(order[key], str) or not re.fullmatch(pattern, order[key])):
            return _bad(key)
    for key in ("order_amount", "order_tax_amount"):
        if not _is_int(order.get(key)) or order[key] < 0:
            return _bad(key)
    lines = order.get("order_lines")
    if not isinstance(lines, list) or len(lines) > MAX_ORDER_LINES:
        return _bad("order_lines")
    for index, line in enumerate(lines):
        violation = _line_violation(line, f"order_lines[{index}]")
        if violation is not None:
            return violation
    if order["order_amount"] != sum(line["total_amount"] for line in lines):
        return _bad("order_amount")
    # A sales_tax line carries its tax as total_amount with total_tax_amount 0, and order_tax_amount must
    # include it (kco-rules: us-sales-tax). Adding both is our generalisation [inferred]: in a US order
    # the other lines carry 0 tax, in a VAT order there is no sales_tax line.
    expected_tax = sum(line["total_tax_amount"] for line in lines) + sum(
        line["total_amount"] for line in lines if line.get("type") == "sales_tax"
    )
    if order["order_tax_amount"] != expected_tax:
        return _bad("order_tax_amount")
    return None
