"""Validation of checkout orders as KCO does it: the first broken rule becomes `Bad value: <json path>`.

Rules come from the rows of docs/kco-rules.md: order-fields (fields, patterns, limits), merchant-urls,
order-options, shipping-options (and payment providers, from the same schema), order-line-fields, line-total,
line-tax, order-amount-sum, order-tax-sum and us-sales-tax (order lines and amount formulas), and markets and
locales (market combinations). The same checks run on create, on the merged result of an update, and on a
merchant's callback answer, so a callback can never put the order into a state the API would have refused.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from kco_emulator.markets import LOCALE_PATTERN, market_for

MAX_AMOUNT = 100_000_000  # unit_price and total_amount limit (kco-rules: order-line-fields)
MAX_ORDER_LINES = 1000  # kco-rules: order-fields
ORDER_LINE_TYPES = frozenset(
    {"physical", "discount", "shipping_fee", "sales_tax", "digital", "gift_card", "store_credit", "surcharge"}
)
REQUIRED_ORDER_FIELDS = (
    "purchase_country", "purchase_currency", "locale", "order_amount", "order_tax_amount", "order_lines",
)  # kco-rules: order-fields (top-level `required`)
REQUIRED_MERCHANT_URLS = ("terms", "checkout", "confirmation", "push")  # kco-rules: merchant-urls
OPTIONAL_MERCHANT_URLS = (
    "validation", "notification", "cancellation_terms", "shipping_option_update", "address_update",
    "country_change",
)
# Callbacks that must be https (kco-rules: https-callbacks).
HTTPS_MERCHANT_URLS = ("validation", "address_update", "country_change", "shipping_option_update")
ADDRESS_FIELDS = (
    "given_name", "family_name", "email", "title", "street_address", "street_address2", "street_name",
    "street_number", "house_extension", "postal_code", "city", "region", "phone", "country", "care_of",
    "organization_name", "reference", "attention",
)
COLOUR = re.compile(r"^#[A-Fa-f0-9]{6}$")
COLOUR_OPTIONS = (
    "color_button", "color_button_text", "color_checkbox", "color_checkbox_checkmark", "color_header",
    "color_link",
)
BOOLEAN_OPTIONS = (
    "require_validate_callback_success", "vat_removed", "allow_separate_shipping_address",
    "date_of_birth_mandatory", "title_mandatory", "national_identification_number_mandatory",
    "verify_national_identification_number", "phone_mandatory", "show_subtotal_detail", "auto_capture",
    "require_client_validation", "enable_discount_module", "show_vat_registration_number_field",
)
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ALPHA2 = re.compile(r"^[A-Za-z]{2}$")
CURRENCY = re.compile(r"^[A-Za-z]{3}$")


class BadValue(Exception):
    """The first rule an order breaks; `str()` is KCO's error message."""

    def __init__(self, path: str, reason: str = "") -> None:
        self.path = path
        super().__init__(f"Bad value: {path}" + (f" ({reason})" if reason else ""))


def first_violation(order: Mapping[str, Any]) -> str | None:
    """`Bad value: <path>` for the first broken rule of a complete order, or None when it is valid."""
    try:
        check_order(order)
    except BadValue as error:
        return str(error)
    return None


def check_read_only_fields(body: Mapping[str, Any]) -> None:
    """Fields KCO sets itself are ignored on input (kco-rules: order-fields), but a value that breaks the
    schema is still a bad request: checked before they are dropped."""
    if "discount_lines" in body:
        _array(body["discount_lines"], "discount_lines", _check_discount_line)
    if "selected_shipping_option" in body:
        _check_shipping_option(body["selected_shipping_option"], "selected_shipping_option")
    if "merchant_requested" in body:
        _object(body["merchant_requested"], "merchant_requested")
    for field in ("order_id", "name", "status", "html_snippet", "started_at", "completed_at",
                  "last_modified_at", "recurring_token", "recurring_description"):
        if field in body:
            _string(body[field], field)


def _check_discount_line(line: Any, path: str) -> None:
    line = _object(line, path)
    for field in ("name", "quantity", "unit_price", "tax_rate", "total_amount", "total_tax_amount"):
        if line.get(field) is None:
            raise BadValue(f"{path}.{field}")
    _string(line["name"], f"{path}.name", min_length=1, max_length=255)
    _integer(line["quantity"], f"{path}.quantity", minimum=0)
    _integer(line["unit_price"], f"{path}.unit_price", maximum=0)
    _integer(line["tax_rate"], f"{path}.tax_rate", maximum=10_000)
    _integer(line["total_amount"], f"{path}.total_amount", maximum=0)
    _integer(line["total_tax_amount"], f"{path}.total_tax_amount")
    for field, limit in (("reference", 255), ("merchant_data", 1024)):
        if field in line:
            _string(line[field], f"{path}.{field}", max_length=limit)


def check_order(order: Mapping[str, Any], market_country: str | None = None) -> None:
    """Raise BadValue for the first broken rule; field order follows the spec's field list.

    The currency must be that of `market_country`'s market, by default purchase_country's (another country
    only after a country change in the widget that kept purchase_country,
    kco-rules: country-change-purchase-country).
    """
    if not isinstance(order, Mapping):
        raise BadValue("body", "must be a JSON object")
    for field in REQUIRED_ORDER_FIELDS:
        if order.get(field) is None:
            raise BadValue(field)
    _check_market(order, market_country)
    _check_amounts(order)
    _check_merchant_urls(order.get("merchant_urls"))
    for field in ("billing_address", "shipping_address"):
        if field in order:
            _check_address(order[field], field)
    if "customer" in order:
        _check_customer(order["customer"])
    for field, limit in (("merchant_reference1", 255), ("merchant_reference2", 255), ("merchant_data", 6000)):
        if field in order:
            _string(order[field], field, max_length=limit)
    for field in ("billing_countries", "shipping_countries"):
        if field in order:
            _array(order[field], field, lambda item, path: _pattern(item, path, ALPHA2))
    if "shipping_options" in order:
        _array(order["shipping_options"], "shipping_options", _check_shipping_option)
    for field in ("external_payment_methods", "external_checkouts"):
        if field in order:
            _array(order[field], field, _check_payment_provider)
    if "options" in order:
        _check_options(order["options"])
    if "attachment" in order:
        _check_attachment(order["attachment"])
    if "gui" in order:
        gui = _object(order["gui"], "gui")
        if "options" in gui:
            _array(gui["options"], "gui.options", lambda item, path: _string(item, path))
    if "tags" in order:
        _array(order["tags"], "tags", lambda item, path: _string(item, path))
    if "recurring" in order and not isinstance(order["recurring"], bool):
        raise BadValue("recurring")


def _check_market(order: Mapping[str, Any], market_country: str | None) -> None:
    """Country, currency and locale must form a market of the merchant's setup.

    See kco-rules: markets, locales.
    """
    country = _pattern(order["purchase_country"], "purchase_country", ALPHA2)
    if market_country is not None:
        country = market_country
    currency = _pattern(order["purchase_currency"], "purchase_currency", CURRENCY)
    # Malformed locales are refused; well-formed ones outside the language table fall back to
    # English or the same language rather than failing (kco-rules: locales).
    _pattern(order["locale"], "locale", LOCALE_PATTERN)
    market = market_for(country)
    if market is None:
        # The emulated merchant is configured for the core countries only (kco-rules: markets).
        raise BadValue("purchase_country")
    if currency.upper() != market.currency:
        # No currency conversion; a currency that does not match the setup (kco-rules: markets).
        raise BadValue("purchase_currency")


def _check_amounts(order: Mapping[str, Any]) -> None:
    """Line formulas and exact order sums (kco-rules: line-total, line-tax,
    order-amount-sum, order-tax-sum)."""
    lines = _array(order["order_lines"], "order_lines", _check_order_line, max_items=MAX_ORDER_LINES)
    order_amount = _integer(order["order_amount"], "order_amount", minimum=0)
    order_tax_amount = _integer(order["order_tax_amount"], "order_tax_amount", minimum=0)
    if order_amount != sum(line["total_amount"] for line in lines):
        raise BadValue("order_amount")
    # The order tax is the sum of the line taxes (kco-rules: order-tax-sum), plus US sales tax sent as its own
    # line of type sales_tax whose amount is the tax (kco-rules: us-sales-tax: that line carries tax_rate 0,
    # so its own total_tax_amount is 0).
    sales_tax = sum(line["total_amount"] for line in lines if line.get("type") == "sales_tax")
    if order_tax_amount != sum(line["total_tax_amount"] for line in lines) + sales_tax:
        raise BadValue("order_tax_amount")


def _check_order_line(line: Any, path: str) -> None:
    line = _object(line, path)
    for field in ("name", "quantity", "unit_price", "tax_rate", "total_amount", "total_tax_amount"):
        if line.get(field) is None:
            raise BadValue(f"{path}.{field}")
    if "type" in line and (not isinstance(line["type"], str) or line["type"] not in ORDER_LINE_TYPES):
        raise BadValue(f"{path}.type")
    if "reference" in line:
        _string(line["reference"], f"{path}.reference", max_length=255)
    _string(line["name"], f"{path}.name", min_length=1, max_length=255)
    quantity = _integer(line["quantity"], f"{path}.quantity", minimum=0)
    if "quantity_unit" in line:
        _string(line["quantity_unit"], f"{path}.quantity_unit", min_length=1, max_length=8)
    unit_price = _integer(line["unit_price"], f"{path}.unit_price", maximum=MAX_AMOUNT)
    tax_rate = _integer(line["tax_rate"], f"{path}.tax_rate", minimum=0, maximum=10_000)
    total_amount = _integer(line["total_amount"], f"{path}.total_amount", maximum=MAX_AMOUNT)
    discount = _integer(line.get("total_discount_amount", 0), f"{path}.total_discount_amount", minimum=0)
    total_tax_amount = _integer(line["total_tax_amount"], f"{path}.total_tax_amount")
    if total_amount != quantity * unit_price - discount:
        raise BadValue(f"{path}.total_amount")
    # |tax - (total - total*10000/(10000+rate))| <= 1, multiplied out to stay in integers
    # (kco-rules: line-tax).
    if abs(total_tax_amount * (10_000 + tax_rate) - total_amount * tax_rate) > 10_000 + tax_rate:
        raise BadValue(f"{path}.total_tax_amount")
    for field in ("merchant_data", "product_url", "image_url"):
        if field in line:
            _string(line[field], f"{path}.{field}", max_length=1024)
    if "product_identifiers" in line:
        identifiers = _object(line["product_identifiers"], f"{path}.product_identifiers")
        for field, limit in (("brand", 70), ("category_path", 750), ("global_trade_item_number", 50),
                             ("manufacturer_part_number", 70), ("color", 64), ("size", 64)):
            if field in identifiers:
                _string(identifiers[field], f"{path}.product_identifiers.{field}", max_length=limit)
    if "shipping_attributes" in line:
        _check_shipping_attributes(line["shipping_attributes"], f"{path}.shipping_attributes")
    if "subscription" in line:
        subscription = _object(line["subscription"], f"{path}.subscription")
        if "name" in subscription:
            _string(subscription["name"], f"{path}.subscription.name")
        if subscription.get("interval") not in ("DAY", "WEEK", "MONTH", "YEAR"):
            raise BadValue(f"{path}.subscription.interval")
        _integer(subscription.get("interval_count"), f"{path}.subscription.interval_count", minimum=1,
                 maximum=2**31 - 1)  # format: int32


def _check_shipping_attributes(attributes: Any, path: str) -> None:
    attributes = _object(attributes, path)
    if "weight" in attributes:
        _integer(attributes["weight"], f"{path}.weight", minimum=0)
    if "dimensions" in attributes:
        dimensions = _object(attributes["dimensions"], f"{path}.dimensions")
        for field in ("height", "width", "length"):
            if field in dimensions:
                _integer(dimensions[field], f"{path}.dimensions.{field}", minimum=0)
    if "tags" in attributes:
        _array(attributes["tags"], f"{path}.tags", lambda item, item_path: _string(item, item_path))


def _check_merchant_urls(urls: Any) -> None:
    # The schema does not list merchant_urls as required, but an order without them cannot be completed (no
    # confirmation or push URL); KCO refuses a missing terms URL (kco-rules: merchant-urls; observed in
    # Krokedil's FAQ).
    urls = _object(urls, "merchant_urls")
    for key in REQUIRED_MERCHANT_URLS:
        _url(urls.get(key), f"merchant_urls.{key}")
    for key in OPTIONAL_MERCHANT_URLS:
        if key in urls:
            _url(urls[key], f"merchant_urls.{key}")
            if key in HTTPS_MERCHANT_URLS and not _https_or_loopback(urls[key]):
                # KCO requires https for validation and the three refine callbacks (kco-rules:
                # https-callbacks); the emulator lets http through only to this machine, so that a shop on a
                # laptop still receives them.
                raise BadValue(f"merchant_urls.{key}")


def _https_or_loopback(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme == "https":
        return True
    host = (parts.hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _url(value: Any, path: str) -> None:
    reason = "must be a valid http or https URI"  # wording seen from KCO (observed)
    if not isinstance(value, str) or len(value) > 2000:
        raise BadValue(path, reason)
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BadValue(path, reason)


def _check_address(address: Any, path: str) -> None:
    address = _object(address, path)
    for field in ADDRESS_FIELDS:
        if field in address:
            _string(address[field], f"{path}.{field}")
    if "country" in address:
        _pattern(address["country"], f"{path}.country", ALPHA2)


def _check_customer(customer: Any) -> None:
    customer = _object(customer, "customer")
    if "type" in customer and customer["type"] not in ("person", "organization"):
        raise BadValue("customer.type")
    if "date_of_birth" in customer:
        _pattern(customer["date_of_birth"], "customer.date_of_birth", DATE)
    for field in ("gender", "organization_registration_id", "vat_id"):
        if field in customer:
            _string(customer[field], f"customer.{field}")


def _check_shipping_option(option: Any, path: str) -> None:
    option = _object(option, path)
    for field in ("id", "name", "price", "tax_amount", "tax_rate"):
        if option.get(field) is None:
            raise BadValue(f"{path}.{field}")
    _string(option["id"], f"{path}.id", min_length=1)
    _string(option["name"], f"{path}.name", min_length=1, max_length=255)
    for field in ("price", "tax_amount"):
        _integer(option[field], f"{path}.{field}")
    _integer(option["tax_rate"], f"{path}.tax_rate", minimum=0, maximum=10_000)
    for field in ("description", "promo", "shipping_method", "tms_reference"):
        if field in option:
            _string(option[field], f"{path}.{field}")
    if "preselected" in option and not isinstance(option["preselected"], bool):
        raise BadValue(f"{path}.preselected")
    if "delivery_details" in option:
        _check_strings(option["delivery_details"], f"{path}.delivery_details", DELIVERY_DETAILS)
    if "selected_addons" in option:
        _array(option["selected_addons"], f"{path}.selected_addons", _check_addon)


# Nested objects of strings in the shipping_option schema (DeliveryDetailsV1): None marks a string field, a
# dict an object of such fields, "address" an address.
DELIVERY_DETAILS: dict[str, Any] = {
    "carrier": None, "class": None, "product": {"name": None, "identifier": None},
    "timeslot": {"id": None, "start": None, "end": None},
    "pickup_location": {"id": None, "name": None, "address": "address"},
}


def _check_strings(value: Any, path: str, shape: dict[str, Any]) -> None:
    value = _object(value, path)
    for field, inner in shape.items():
        if field not in value:
            continue
        if inner is None:
            _string(value[field], f"{path}.{field}")
        elif inner == "address":
            _check_address(value[field], f"{path}.{field}")
        else:
            _check_strings(value[field], f"{path}.{field}", inner)


def _check_addon(addon: Any, path: str) -> None:
    addon = _object(addon, path)
    for field in ("type", "external_id", "user_input"):
        if field in addon:
            _string(addon[field], f"{path}.{field}")
    if "price" in addon:
        _integer(addon["price"], f"{path}.price")


def _check_payment_provider(provider: Any, path: str) -> None:
    provider = _object(provider, path)
    _string(provider.get("name"), f"{path}.name", max_length=255)
    _string(provider.get("redirect_url"), f"{path}.redirect_url", min_length=7, max_length=2000)
    if "description" in provider:
        _string(provider["description"], f"{path}.description", max_length=500)
    if "image_url" in provider:
        _string(provider["image_url"], f"{path}.image_url", max_length=2000)
    if "fee" in provider:
        _integer(provider["fee"], f"{path}.fee")
    if "label" in provider:
        _string(provider["label"], f"{path}.label")
    if "countries" in provider:
        _array(provider["countries"], f"{path}.countries", lambda item, item_path: _string(item, item_path))


def _check_options(options: Any) -> None:
    options = _object(options, "options")
    for field in BOOLEAN_OPTIONS:
        if field in options and not isinstance(options[field], bool):
            raise BadValue(f"options.{field}")
    for field in COLOUR_OPTIONS:
        if field in options:
            _pattern(options[field], f"options.{field}", COLOUR)
    if "acquiring_channel" in options and options["acquiring_channel"] not in (
        "ECOMMERCE", "MOTO", "IN_STORE", "TELESALES"
    ):
        raise BadValue("options.acquiring_channel")
    if "shipping_details" in options:
        _string(options["shipping_details"], "options.shipping_details", max_length=255)
    for field in ("additional_merchant_terms", "radius_border"):
        if field in options:
            _string(options[field], f"options.{field}")
    if "additional_checkbox" in options:
        _check_checkbox(options["additional_checkbox"], "options.additional_checkbox")
    if "additional_checkboxes" in options:
        _array(options["additional_checkboxes"], "options.additional_checkboxes",
               lambda item, path: _check_checkbox(item, path, with_id=True))
    if "allowed_customer_types" in options:
        types = _array(options["allowed_customer_types"], "options.allowed_customer_types",
                       lambda item, path: None, max_items=2)
        if not types or any(kind not in ("person", "organization") for kind in types):
            raise BadValue("options.allowed_customer_types")


def _check_checkbox(checkbox: Any, path: str, with_id: bool = False) -> None:
    """checkbox and checkbox-v2 of the spec: text (at most 1000 characters), checked, required (and id)."""
    checkbox = _object(checkbox, path)
    _string(checkbox.get("text"), f"{path}.text", max_length=1000)
    for field in ("checked", "required"):
        if not isinstance(checkbox.get(field), bool):
            raise BadValue(f"{path}.{field}")
    if with_id:
        _string(checkbox.get("id"), f"{path}.id")


def _check_attachment(attachment: Any) -> None:
    attachment = _object(attachment, "attachment")
    _string(attachment.get("content_type"), "attachment.content_type", min_length=1)
    _string(attachment.get("body"), "attachment.body")


# Small typed readers: each returns the value when it fits, else raises BadValue(path).

def _object(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise BadValue(path)
    return value


def _array(value: Any, path: str, check_item: Callable[[Any, str], None],
           max_items: int | None = None) -> list[Any]:
    if not isinstance(value, list) or (max_items is not None and len(value) > max_items):
        raise BadValue(path)
    for index, item in enumerate(value):
        check_item(item, f"{path}[{index}]")
    return value


def _string(value: Any, path: str, min_length: int = 0, max_length: int | None = None) -> str:
    if not isinstance(value, str) or len(value) < min_length:
        raise BadValue(path)
    if max_length is not None and len(value) > max_length:
        raise BadValue(path)
    return value


def _pattern(value: Any, path: str, pattern: re.Pattern[str]) -> str:
    if not isinstance(value, str) or not pattern.match(value):
        raise BadValue(path)
    return value


INT64 = range(-(2**63), 2**63)  # the spec's integers are `format: int64`


def _integer(value: Any, path: str, minimum: int | None = None, maximum: int | None = None) -> int:
    # Money is integer minor units: booleans and floats (even 100.0) are refused.
    if isinstance(value, bool) or not isinstance(value, int) or value not in INT64:
        raise BadValue(path)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise BadValue(path)
    return value
