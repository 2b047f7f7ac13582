"""The checkout order as KCO shows it: response bodies, the partial merge of updates, the OM view.

`StoredOrder.fields` keeps what the merchant sent (and what callbacks answered); this module adds what KCO
owns (ids, status, timestamps, the html_snippet) in the key order of real responses (kco-rules: order-fields).
"""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

from kco_emulator.shipping import lines_paid, shipping_fee_line
from kco_emulator.snippet import MERCHANT_NAME, checkout_snippet, confirmation_snippet
from kco_emulator.store import StoredOrder, iso8601
from kco_emulator.validation import BadValue

# Read-only on input: silently ignored when a merchant sends them (kco-rules: order-fields).
READ_ONLY_FIELDS = frozenset({
    "order_id", "name", "status", "html_snippet", "started_at", "completed_at", "last_modified_at",
    "merchant_requested", "recurring_token", "recurring_description", "selected_shipping_option",
    "discount_lines",
})
ADDRESS_KEYS = ("billing_address", "shipping_address")
# Key order of an observed create response (kco-rules: order-fields); other fields follow in the merchant's
# order.
LEADING_KEYS = (
    "order_id", "status", "purchase_country", "purchase_currency", "locale", "billing_address", "customer",
    "shipping_address", "order_amount", "order_tax_amount", "order_lines", "merchant_urls", "html_snippet",
    "started_at", "completed_at", "last_modified_at",
)


def writable_fields(body: dict[str, Any]) -> dict[str, Any]:
    """The merchant's input without read-only fields."""
    return {key: value for key, value in body.items() if key not in READ_ONLY_FIELDS}


def merged_update(order: StoredOrder, changes: dict[str, Any], merge: str = "top_level") -> dict[str, Any]:
    """The order after a partial update: omitted top-level properties keep their values
    (kco-rules: update-ongoing-order).

    Addresses are left alone once the shopper typed one in the widget (kco-rules: typed-address-kept: silently
    ignored). Whether an object such as `options` or `merchant_urls` is replaced as a whole, like
    `order_lines`, or merged key by key is not documented: the update_merge setting `merge` plays both,
    "top_level" and "deep" (kco-rules: update-nested-objects, inferred). Lists are always replaced.
    """
    fields = copy.deepcopy(order.fields)
    for key, value in writable_fields(changes).items():
        if value is None:
            # No field of the order schema is nullable: null neither removes nor keeps a value
            # (kco-rules: order-fields).
            raise BadValue(key)
        if key in ADDRESS_KEYS and order.shopper_entered_address:
            continue
        if merge == "deep":
            fields[key] = deep_merged(fields.get(key), value)
        else:
            fields[key] = copy.deepcopy(value)
    return with_selected_shipping_option(fields)


def deep_merged(old: Any, new: Any) -> Any:
    """`new` on top of `old`: objects key by key, at every depth; anything else (lists too) replaced."""
    if not isinstance(old, dict) or not isinstance(new, dict):
        return copy.deepcopy(new)
    merged = copy.deepcopy(old)
    for key, value in new.items():
        merged[key] = deep_merged(old.get(key), value)
    return merged


def with_selected_shipping_option(fields: dict[str, Any]) -> dict[str, Any]:
    """Keep `selected_shipping_option` one of the offered options: the chosen one, else the preselected
    or the first (the emulator's reading of `preselected`, kco-rules: shipping-options)."""
    options = fields.get("shipping_options") or []
    if not isinstance(options, list) or not options:
        fields.pop("selected_shipping_option", None)
        return fields
    chosen = fields.get("selected_shipping_option")
    chosen_id = chosen.get("id") if isinstance(chosen, dict) and isinstance(chosen.get("id"), str) else None
    # Ids are checked after this merge (validation.check_order): only string ids can match here.
    by_id = {option["id"]: option for option in options
             if isinstance(option, dict) and isinstance(option.get("id"), str)}
    if chosen_id in by_id:
        fields["selected_shipping_option"] = copy.deepcopy(by_id[chosen_id])
        return fields
    preselected = [option for option in options if isinstance(option, dict) and option.get("preselected")]
    fields["selected_shipping_option"] = copy.deepcopy((preselected or options)[0])
    return fields


def charge_shipping(fields: dict[str, Any], previous_line: dict[str, Any] | None) -> dict[str, Any] | None:
    """Without a shipping_option_update URL KCO adds the chosen option's price to the order itself, as a
    shipping_fee line (kco-rules: automatic-shipping-cost); a line it added for an earlier choice goes.

    Changes `fields` in place and returns the line added (None when no option is selected).
    """
    lines = fields["order_lines"]
    if previous_line is not None and previous_line in lines:
        lines.remove(previous_line)
        fields["order_amount"] -= previous_line["total_amount"]
        fields["order_tax_amount"] -= previous_line["total_tax_amount"]
    option = fields.get("selected_shipping_option")
    if not option:
        return None
    line = shipping_fee_line(option)
    lines.append(line)
    fields["order_amount"] += line["total_amount"]
    fields["order_tax_amount"] += line["total_tax_amount"]
    return copy.deepcopy(line)


def recharge_shipping(fields: dict[str, Any], line: dict[str, Any] | None) -> dict[str, Any] | None:
    """KCO's own shipping line, still on the order, charges the option selected now: when the merchant's new
    `shipping_options` (an update or a callback answer) drop the chosen one, the selection moves
    (`with_selected_shipping_option`) and the price moves with it (kco-rules: automatic-shipping-cost).

    Changes `fields` in place and returns KCO's line afterwards; a line the merchant's own lines replaced is
    left to `shopper.complete_purchase`, which charges the selected option before validation.
    """
    if line is None or line not in fields["order_lines"]:
        return line
    option = fields.get("selected_shipping_option")
    if option and shipping_fee_line(option) == line:
        return line
    return charge_shipping(fields, line)


def address(order_fields: dict[str, Any], key: str) -> dict[str, Any]:
    """The billing or shipping address; before any data it holds only the country (observed;
    kco-rules: order-fields)."""
    given = order_fields.get(key) or {}
    return {"country": order_fields.get("purchase_country"), **given}


def allowed_billing_countries(fields: dict[str, Any]) -> list[str]:
    """billing_countries, else shipping_countries, else the purchase country (checkout-v3-openapi.yml
    descriptions)."""
    countries = fields.get("billing_countries") or fields.get("shipping_countries")
    if countries:
        return [country.upper() for country in countries]
    return [str(fields.get("purchase_country", "")).upper()]


# The key the single options.additional_checkbox reports in checkbox_change; the emulator's choice, since only
# the checkboxes of options.additional_checkboxes have an id (kco-rules: merchant-checkboxes, inferred).
SINGLE_CHECKBOX_KEY = "additional_checkbox"


def merchant_checkboxes(fields: dict[str, Any], ticked: dict[str, bool]) -> list[dict[str, Any]]:
    """The merchant's checkboxes (options.additional_checkbox and options.additional_checkboxes) as the
    shopper sees them: key, text, required, and checked, which is the shopper's choice or else the merchant's
    default (kco-rules: merchant-checkboxes)."""
    options = fields.get("options") or {}
    declared = []
    if "additional_checkbox" in options:
        declared.append((SINGLE_CHECKBOX_KEY, options["additional_checkbox"]))
    declared += [(checkbox["id"], checkbox) for checkbox in options.get("additional_checkboxes") or []]
    return [{"key": key, "text": checkbox["text"], "required": checkbox["required"],
             "checked": ticked.get(key, checkbox["checked"])} for key, checkbox in declared]


def merchant_requested(fields: dict[str, Any], ticked: dict[str, bool]) -> dict[str, Any] | None:
    """The order's read-only `merchant_requested`: whether each merchant checkbox is checked now, or None when
    the order has none (checkout-v3-openapi.yml order.merchant_requested; kco-rules: merchant-checkboxes)."""
    requested: dict[str, Any] = {}
    for checkbox in merchant_checkboxes(fields, ticked):
        if checkbox["key"] == SINGLE_CHECKBOX_KEY:
            requested["additional_checkbox"] = checkbox["checked"]
        else:
            requested.setdefault("additional_checkboxes", []).append(
                {"id": checkbox["key"], "checked": checkbox["checked"]})
    return requested or None


def order_body(order: StoredOrder, widget_base_url: str, *, with_snippet: bool = True) -> dict[str, Any]:
    """The order as create, read, update and abort return it."""
    fields = order.fields
    body: dict[str, Any] = {
        "order_id": order.order_id,
        # Lower-case, as every real payload (the spec example is upper-case; kco-rules: order-status).
        "status": order.status,
        "purchase_country": fields["purchase_country"],
        "purchase_currency": fields["purchase_currency"],
        "locale": fields["locale"],
        "billing_address": address(fields, "billing_address"),
        "customer": copy.deepcopy(fields.get("customer", {})),
        "shipping_address": address(fields, "shipping_address"),
        "order_amount": fields["order_amount"],
        "order_tax_amount": fields["order_tax_amount"],
        "order_lines": copy.deepcopy(fields["order_lines"]),
        "merchant_urls": copy.deepcopy(fields.get("merchant_urls", {})),
    }
    if with_snippet:
        body["html_snippet"] = (confirmation_snippet(order, widget_base_url) if order.completed
                                else checkout_snippet(order, widget_base_url))
    body["started_at"] = iso8601(order.started_at)
    if order.completed_at is not None:
        body["completed_at"] = iso8601(order.completed_at)
    body["last_modified_at"] = iso8601(order.last_modified_at)
    body["name"] = MERCHANT_NAME
    requested = merchant_requested(fields, order.checkboxes_ticked)
    if requested is not None:
        body["merchant_requested"] = requested
    for key, value in fields.items():
        if key not in body and key not in LEADING_KEYS:
            body[key] = copy.deepcopy(value)
    return body


def shipping_service_request(fields: dict[str, Any]) -> dict[str, Any]:
    """Body of address_update / country_change / shipping_option_update (kco-rules: refine-callbacks;
    shipping_service_request)."""
    body: dict[str, Any] = {
        "order_amount": fields["order_amount"],
        "order_tax_amount": fields["order_tax_amount"],
        "order_lines": copy.deepcopy(fields["order_lines"]),
        "purchase_currency": fields["purchase_currency"],
        "billing_address": address(fields, "billing_address"),
        "shipping_address": address(fields, "shipping_address"),
        "customer": copy.deepcopy(fields.get("customer", {"type": "person"})),
        "locale": fields["locale"],
    }
    for key in ("selected_shipping_option", "tags", "merchant_data", "merchant_reference1",
                "merchant_reference2"):
        if key in fields:
            body[key] = copy.deepcopy(fields[key])
    return body


# Fields of shipping_service_response that KCO applies to the order (kco-rules: refine-callbacks).
CALLBACK_RESPONSE_FIELDS = (
    "order_amount", "order_tax_amount", "order_lines", "purchase_currency", "locale", "shipping_options",
    "merchant_data", "attachment", "external_payment_methods", "tags",
)
CALLBACK_RESPONSE_REQUIRED = ("order_amount", "order_tax_amount", "order_lines", "purchase_currency")


def om_body(order: StoredOrder) -> dict[str, Any]:
    """The Order Management view of a completed order (kco-rules: order-management; getOrder's
    MerchantOrderDto)."""
    fields = order.fields
    assert order.completed_at is not None
    order_lines, order_amount = lines_paid(order)
    body: dict[str, Any] = {
        "order_id": order.order_id,
        # Authorized, also while under fraud review; a rejected order is not cancelled here (kco-rules:
        # pending-orders, inferred).
        "status": "AUTHORIZED",
        "fraud_status": order.fraud_status,
        "order_amount": order_amount,
        "original_order_amount": order_amount,
        "captured_amount": 0,
        "refunded_amount": 0,
        "remaining_authorized_amount": order_amount,
        "purchase_country": fields["purchase_country"],
        "purchase_currency": fields["purchase_currency"],
        "locale": fields["locale"],
        "order_lines": order_lines,
        "billing_address": address(fields, "billing_address"),
        "shipping_address": address(fields, "shipping_address"),
        "customer": copy.deepcopy(fields.get("customer", {})),
        "klarna_reference": order.klarna_reference,
        "created_at": iso8601(order.completed_at),
        # The capture deadline; 28 days is the emulator's choice (not found in Kustom's docs).
        "expires_at": iso8601(order.completed_at + timedelta(days=28)),
        "captures": [],
        "refunds": [],
        "initial_payment_method": {"type": "INVOICE", "description": "Pay later (emulated)"},
        "shipping_info": [],
    }
    for key in ("merchant_reference1", "merchant_reference2", "merchant_data", "selected_shipping_option"):
        if key in fields:
            body[key] = copy.deepcopy(fields[key])
    return body
