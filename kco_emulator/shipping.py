"""The shipping KCO charges itself, when the merchant has no shipping_option_update URL
(kco-rules: automatic-shipping-cost): its line, and what the shopper pays with it under either reading of
where it shows.
"""

from __future__ import annotations

import copy
from typing import Any

from kco_emulator.store import StoredOrder


def shipping_fee_line(option: dict[str, Any]) -> dict[str, Any]:
    """The line KCO adds for a shipping option it charges itself (kco-rules: automatic-shipping-cost): the
    option's id as reference, its price and tax."""
    return {
        "type": "shipping_fee", "reference": option["id"], "name": option["name"], "quantity": 1,
        "unit_price": option["price"], "tax_rate": option["tax_rate"], "total_amount": option["price"],
        "total_tax_amount": option["tax_amount"],
    }


def shipping_on_top(fields: dict[str, Any], reading: str) -> dict[str, Any] | None:
    """Under automatic_shipping_cost "separate", the line of the selected option that KCO charges on top of
    `order_amount` when it handles shipping itself (no shipping_option_update URL); else None.

    That reading leaves the option out of the checkout order's lines and `order_amount`, while Order
    Management's `order_amount` is the full total (kco-rules: automatic-shipping-cost, inferred).
    """
    if reading != "separate" or (fields.get("merchant_urls") or {}).get("shipping_option_update"):
        return None
    option = fields.get("selected_shipping_option")
    return shipping_fee_line(option) if option else None


def lines_paid(order: StoredOrder, reading: str = "") -> tuple[list[dict[str, Any]], int]:
    """The order's lines and the total the shopper pays: `order_amount`, plus the shipping KCO charges on top
    (kco-rules: automatic-shipping-cost). Once completed, as charged then; before, as the setting `reading`
    (automatic_shipping_cost) has it now."""
    fields = order.fields
    on_top = order.shipping_on_top if order.completed_at is not None else shipping_on_top(fields, reading)
    lines = copy.deepcopy(fields["order_lines"])
    if on_top is None:
        return lines, fields["order_amount"]
    return [*lines, copy.deepcopy(on_top)], fields["order_amount"] + on_top["total_amount"]
