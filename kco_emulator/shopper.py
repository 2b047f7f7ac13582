"""What a shopper does inside the checkout, and how KCO involves the merchant (kco-rules: refine-callbacks,
validation-callback, push-and-acknowledge).

Used by the widget's iframe endpoints and by the control API (`/_emulator/orders/{id}/...`), so a test
without a browser takes the very same path. Merchant callbacks run without holding the state lock: the
merchant may well read the order through the REST API while it answers.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from kco_emulator import callbacks
from kco_emulator.markets import market_for
from kco_emulator.orders import (
    CALLBACK_RESPONSE_FIELDS,
    CALLBACK_RESPONSE_REQUIRED,
    address,
    allowed_billing_countries,
    charge_shipping,
    merchant_checkboxes,
    order_body,
    recharge_shipping,
    shipping_service_request,
    with_selected_shipping_option,
)
from kco_emulator.shipping import shipping_on_top
from kco_emulator.store import EmulatorState, StoredOrder
from kco_emulator.validation import BadValue, check_order
from kco_emulator.widget_text import widget_text

# Fields the iframe asks for before a purchase; the emulator's form, not KCO's real one.
ADDRESS_FORM_FIELDS = {
    "email": "Email", "postal_code": "Postal code", "given_name": "Given name", "family_name": "Family name",
    "street_address": "Street address", "city": "City",
}
# A separate shipping address asks for the same, but the email (options.allow_separate_shipping_address).
SHIPPING_FORM_FIELDS = {key: label for key, label in ADDRESS_FORM_FIELDS.items() if key != "email"}
OutcomeKind = Literal["updated", "completed", "rejected", "failed"]
# What the widget shows when a refine step fails without a merchant text (kco-rules: refine-callbacks).
CHANGE_FAILED_TEXT = "The shop could not process this change. Please try again."


@dataclass
class Outcome:
    """The result shown to the shopper (and returned by the control API)."""

    result: OutcomeKind
    redirect_url: str | None = None
    error_text: str | None = None
    callback: str | None = None  # which merchant callback ran, if any
    callback_status: int | None = None
    events: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {key: value for key, value in vars(self).items() if value not in (None, [])}


class ShopperError(Exception):
    """The order cannot take shopper input (unknown, expired, aborted, completed)."""


def usable_order(state: EmulatorState, order: StoredOrder | None) -> StoredOrder:
    if order is None or order.aborted or order.expired(state.clock.now()):
        raise ShopperError("This checkout is no longer available.")
    if order.completed:
        raise ShopperError("This purchase is already complete.")
    return order


def _snapshot(state: EmulatorState, order: StoredOrder) -> tuple[int, dict[str, Any]]:
    """A copy of the order's fields with the revision they belong to, read together."""
    with state.lock:
        return order.revision, copy.deepcopy(order.fields)


def change_country(state: EmulatorState, order: StoredOrder, country: str) -> Outcome:
    """The shopper picks another billing country: `country_change` (kco-rules: refine-callbacks)."""
    country = country.upper()
    revision, tentative = _snapshot(state, order)
    if country not in allowed_billing_countries(tentative):
        return Outcome("rejected", error_text="This country is not available in this checkout.")
    for key in ("billing_address", "shipping_address"):
        tentative[key] = {**(tentative.get(key) or {}), "country": country}
    return _refine(state, order, revision, tentative, "country_change",
                   **_country_moves(state, tentative, country))


def _missing(entered: dict[str, Any], form_fields: dict[str, str]) -> list[str]:
    return [label for key, label in form_fields.items()
            if not isinstance(entered.get(key), str) or not entered[key].strip()]


def enter_address(state: EmulatorState, order: StoredOrder, billing_address: dict[str, Any],
                  shipping_address: dict[str, Any] | None = None) -> Outcome:
    """The shopper entered a complete address, and maybe a separate shipping address: `address_update`, or
    `country_change` when the country changed too (one change triggers one refine callback, kco-rules:
    refine-callbacks)."""
    missing = _missing(billing_address, ADDRESS_FORM_FIELDS)
    if shipping_address is not None:
        missing += [f"{label} (shipping)" for label in _missing(shipping_address, SHIPPING_FORM_FIELDS)]
    if missing:
        return Outcome("rejected", error_text="Please fill in: " + ", ".join(missing) + ".")
    revision, tentative = _snapshot(state, order)
    current_country = address(tentative, "billing_address")["country"]
    entered, shipping = entered_addresses(billing_address, shipping_address, current_country)
    allowed = allowed_billing_countries(tentative)
    if entered["country"] not in allowed or shipping["country"] not in allowed:
        return Outcome("rejected", error_text="This country is not available in this checkout.")
    tentative["billing_address"] = entered
    tentative["shipping_address"] = dict(shipping)
    if entered["country"] == str(current_country).upper():
        return _refine(state, order, revision, tentative, "address_update", shopper_address=True)
    return _refine(state, order, revision, tentative, "country_change", shopper_address=True,
                   **_country_moves(state, tentative, entered["country"]))


def _country_moves(state: EmulatorState, tentative: dict[str, Any], country: str) -> dict[str, Any]:
    """How a country picked in the widget moves the order: `_refine` keywords.

    Whether KCO changes purchase_country is not documented (kco-rules: country-change-purchase-country,
    inferred), so the setting country_change_sets_purchase_country plays either. The merchant's answer
    brings the new country's currency and lines (KCO Global, kco-rules: refine-callbacks); when
    purchase_country stays, that new country's market is the one the currency must match.
    """
    if state.settings.country_change_sets_purchase_country:
        tentative["purchase_country"] = country
    kept = str(tentative["purchase_country"]).upper() != country

    def remember(order: StoredOrder) -> None:
        order.widget_country = country if kept else None

    return {"market_country": country, "on_commit": remember}


def normalized_address(billing_address: dict[str, Any], default_country: str) -> dict[str, str]:
    """Trimmed strings, postal code without spaces (as KCO reports it, kco-rules: widget-events), upper-case
    country."""
    entered = {key: value.strip() for key, value in billing_address.items()
               if isinstance(value, str) and value.strip()}
    if "postal_code" in entered:
        entered["postal_code"] = entered["postal_code"].replace(" ", "")
    entered["country"] = str(entered.get("country") or default_country).upper()
    return entered


def entered_addresses(billing_address: dict[str, Any], shipping_address: dict[str, Any] | None,
                      default_country: str) -> tuple[dict[str, str], dict[str, str]]:
    """The billing and shipping address as the order will hold them. Without a separate shipping address the
    shipping address is a clone of billing (checkout-v3-openapi.yml order.shipping_address); a separate one
    is in the billing country unless it names another."""
    billing = normalized_address(billing_address, default_country)
    if shipping_address is None:
        return billing, dict(billing)
    return billing, normalized_address(shipping_address, billing["country"])


def tick_checkbox(state: EmulatorState, order: StoredOrder, key: str, checked: bool) -> Outcome:
    """The shopper ticks or clears one of the merchant's checkboxes: the order's `merchant_requested` follows,
    and the widget fires checkbox_change (kco-rules: merchant-checkboxes). No callback runs."""
    with state.lock:
        offered = [checkbox["key"] for checkbox in merchant_checkboxes(order.fields, order.checkboxes_ticked)]
        if key not in offered:
            return Outcome("rejected", error_text="This checkbox is not available.")
        order.checkboxes_ticked[key] = checked
        # Shopper interaction (kco-rules: expiry-48h); not a change of the merchant's order, so a callback
        # running meanwhile still commits.
        state.touch(order, modified=False)
    return Outcome("updated")


def choose_shipping_option(state: EmulatorState, order: StoredOrder, option_id: str) -> Outcome:
    """The shopper picks a shipping option: `shipping_option_update` (kco-rules: refine-callbacks)."""
    revision, tentative = _snapshot(state, order)
    options = {option.get("id"): option for option in tentative.get("shipping_options") or []}
    if option_id not in options:
        return Outcome("rejected", error_text="This shipping option is not available.")
    tentative["selected_shipping_option"] = copy.deepcopy(options[option_id])
    merchant_decides = callbacks.merchant_url(order, "shipping_option_update")
    if merchant_decides or state.settings.automatic_shipping_cost == "separate":
        # With the URL the merchant's answer decides; under "separate" KCO charges the option on top of
        # order_amount at the purchase, so the lines stay the merchant's (kco-rules: automatic-shipping-cost).
        return _refine(state, order, revision, tentative, "shipping_option_update")
    line = charge_shipping(tentative, order.automatic_shipping_line)

    def remember(order: StoredOrder) -> None:
        order.automatic_shipping_line = line

    return _refine(state, order, revision, tentative, "shipping_option_update", on_commit=remember)


def _refine(state: EmulatorState, order: StoredOrder, revision: int, tentative: dict[str, Any],
            callback: str, *, shopper_address: bool = False, market_country: str | None = None,
            on_commit: Callable[[StoredOrder], None] | None = None) -> Outcome:
    """Ask the merchant (when it set that callback URL), apply a 200 answer, then commit or refuse.

    `tentative` is the shopper's change on top of the order at `revision`; the callback runs without the
    state lock (it may take up to callback_timeout, and the merchant may call the REST API meanwhile). From
    the call until the commit the order is locked against merchant updates (kco-rules: callback-lock).
    `market_country` is the country whose market the currency must match (kco-rules:
    country-change-purchase-country): the country the shopper picks, else the one picked earlier while
    purchase_country stayed, else purchase_country. `on_commit` runs under the lock at the commit.
    """
    url = callbacks.merchant_url(order, callback)
    if url:
        with state.lock:
            order.callbacks_running += 1
    try:
        return _refine_unlocked(state, order, revision, tentative, callback, url,
                                shopper_address=shopper_address, market_country=market_country,
                                on_commit=on_commit)
    finally:
        if url:
            with state.lock:
                order.callbacks_running -= 1


def _refine_unlocked(state: EmulatorState, order: StoredOrder, revision: int, tentative: dict[str, Any],
                     callback: str, url: str | None, *, shopper_address: bool, market_country: str | None,
                     on_commit: Callable[[StoredOrder], None] | None) -> Outcome:
    if market_country is None:
        market_country = order.widget_country
    outcome = Outcome("updated")
    if url:
        stopped = _ask_merchant(state, tentative, callback, url, outcome)
        if stopped is not None:
            return stopped
    tentative = with_selected_shipping_option(tentative)
    shipping_line = recharge_shipping(tentative, order.automatic_shipping_line)
    try:
        check_order(tentative, market_country=market_country)
    except BadValue as error:
        if not url and error.path == "purchase_currency":
            # No country_change URL: the merchant cannot switch currency, so this country is not possible
            # in this order's currency (kco-rules: markets: no conversion).
            country = market_country or tentative["purchase_country"]
            market = market_for(country)
            name = market.name if market else country
            return Outcome("rejected", error_text=f"{name} is not available in this checkout.")
        if url:
            # The merchant's answer would break the order: show an error, keep the order as it was.
            return Outcome("failed", callback=callback, callback_status=outcome.callback_status,
                           error_text=f"The shop answered with an order that cannot be used ({error}).",
                           events=["shipping_address_update_error"])
        return Outcome("failed", error_text=f"This change cannot be applied ({error}).")
    with state.lock:
        if order.revision != revision:
            # The order changed while the merchant answered (the purchase completed in another tab, or a
            # merchant update with callback_lock_status 0). Committing `tentative` would undo that change;
            # re-applying only the callback's fields on the newer order would bring back order lines the
            # merchant priced for the older one. So the change fails like an unusable answer
            # (kco-rules: refine-callbacks: the flow stops) and a retry starts from the newer order.
            # [inferred: KCO's behaviour here is not documented]
            return Outcome("failed", callback=outcome.callback, callback_status=outcome.callback_status,
                           error_text=CHANGE_FAILED_TEXT,
                           events=["shipping_address_update_error"] if url else [])
        order.fields = tentative
        # Read before the callback and unchanged since: the revision is the same.
        order.automatic_shipping_line = shipping_line
        state.touch(order)
        if shopper_address:
            # From now on merchant updates of the addresses are ignored (kco-rules: typed-address-kept).
            order.shopper_entered_address = True
        if on_commit is not None:
            on_commit(order)
    return outcome


def _ask_merchant(state: EmulatorState, tentative: dict[str, Any], callback: str, url: str,
                  outcome: Outcome) -> Outcome | None:
    """Posts the refine callback and applies the merchant's answer to `tentative`, noting the callback in
    `outcome`; the outcome that stops the change when the answer refuses it or cannot be used."""
    answer = callbacks.post_to_merchant(url, shipping_service_request(tentative),
                                        state.settings.callback_timeout)
    outcome.callback, outcome.callback_status = callback, answer.status
    if answer.kind == "redirect":
        # 3xx: KCO sends the shopper to Location (kco-rules: refine-callbacks).
        return Outcome("rejected", redirect_url=answer.location, callback=callback,
                       callback_status=answer.status)
    if answer.kind == "rejected":
        return Outcome("rejected", callback=callback, callback_status=answer.status,
                       error_text=answer.error_text or "Your address could not be used.")
    if answer.kind == "failed":
        # Any other answer stops the flow; the web widget signals it with shipping_address_update_error
        # (kco-rules: refine-callbacks, widget-events; observed in
        # krokedil/klarna-checkout-for-woocommerce #195).
        return Outcome("failed", callback=callback, callback_status=answer.status,
                       error_text=CHANGE_FAILED_TEXT, events=["shipping_address_update_error"])
    try:
        _apply_merchant_answer(tentative, answer.body)
    except BadValue as error:
        return Outcome("failed", callback=callback, callback_status=answer.status,
                       error_text=f"The shop answered with an order that cannot be used ({error}).",
                       events=["shipping_address_update_error"])
    return None


def _apply_merchant_answer(tentative: dict[str, Any], body: Any) -> None:
    """Copy a shipping_service_response into the order (kco-rules: refine-callbacks); validated with the order
    afterwards."""
    if not isinstance(body, dict):
        raise BadValue("body", "must be a JSON object")
    for key in CALLBACK_RESPONSE_REQUIRED:
        if key not in body:
            raise BadValue(key)
    if isinstance(body.get("merchant_data"), str) and len(body["merchant_data"]) > 1024:
        # 1024 in the callback response (shipping_service_response), 6000 on the order.
        raise BadValue("merchant_data")
    for key in CALLBACK_RESPONSE_FIELDS:
        if key in body:
            tentative[key] = copy.deepcopy(body[key])


def default_shopper(country: str) -> dict[str, str]:
    """An approved test person for purchases completed without a browser."""
    return {
        "given_name": "Test", "family_name": "Person", "email": "test.person@example.com",
        "street_address": "Teststreet 1", "postal_code": "12345", "city": "Testcity", "country": country,
    }


def complete_purchase(state: EmulatorState, order: StoredOrder, widget_base_url: str,
                      billing_address: dict[str, Any] | None = None,
                      fraud_status: str = "ACCEPTED",
                      shipping_address: dict[str, Any] | None = None) -> Outcome:
    """The shopper presses Complete purchase: validation callback, then completion and push
    (kco-rules: validation-callback).

    `fraud_status` PENDING completes the order under fraud review (kco-rules: pending-orders); an order armed
    with `cannot_complete` fails after validation, as a refused payment would (kco-rules: widget-events).
    """
    stored = order.fields.get("billing_address") or {}
    country = address(order.fields, "billing_address")["country"]
    if billing_address is None and not order.shopper_entered_address:
        billing_address = {**default_shopper(country), **stored}
    # An address the shopper already sent (and the merchant already saw) is not sent again.
    if billing_address is not None and (not order.shopper_entered_address
                                        or _addresses_changed(order, billing_address, shipping_address)):
        outcome = enter_address(state, order, billing_address, shipping_address)
        if outcome.result != "updated":
            return outcome
    unticked = [checkbox["text"] for checkbox in merchant_checkboxes(order.fields, order.checkboxes_ticked)
                if checkbox["required"] and not checkbox["checked"]]
    if unticked:
        # A required checkbox must be ticked to complete the purchase (checkout-v3-openapi.yml
        # options.additional_checkboxes.required).
        return Outcome("rejected", error_text="Please tick: " + "; ".join(unticked))
    _charge_preselected_shipping(state, order)
    validation = _validate(state, order, widget_base_url)
    if validation is not None:
        return validation
    with state.lock:
        if order.completed:
            return Outcome("rejected", error_text="This purchase is already complete.")
        if order.cannot_complete:
            # As the widget tells it when the order turns so, in the order's language.
            cannot_complete = widget_text(order.fields["locale"])["cannot_complete"]
            return Outcome("failed", error_text=cannot_complete, events=["can_not_complete_order"])
        now = state.clock.now()
        order.status = "checkout_complete"
        order.completed_at = now
        order.fraud_status = fraud_status
        order.shipping_on_top = shipping_on_top(order.fields, state.settings.automatic_shipping_cost)
        state.touch(order)
    callbacks.schedule_push(state, order)
    # Completed: KCO fires redirect_initiated and sends the shopper to the confirmation URL
    # (kco-rules: widget-events).
    return Outcome("completed", redirect_url=callbacks.merchant_url(order, "confirmation"),
                   callback="validation" if callbacks.merchant_url(order, "validation") else None,
                   events=["redirect_initiated"])


def _addresses_changed(order: StoredOrder, billing_address: dict[str, Any],
                       shipping_address: dict[str, Any] | None) -> bool:
    """Whether these addresses differ from those the order holds (without a separate shipping address, the
    shipping address is the billing one)."""
    country = address(order.fields, "billing_address")["country"]
    billing, shipping = entered_addresses(billing_address, shipping_address, country)
    return (billing != order.fields.get("billing_address")
            or shipping != order.fields.get("shipping_address"))


def _charge_preselected_shipping(state: EmulatorState, order: StoredOrder) -> None:
    """A shopper who never picked a shipping option buys the selected one: without a shipping_option_update
    URL its price is on the order before validation (kco-rules: automatic-shipping-cost; when KCO adds it is
    inferred)."""
    if state.settings.automatic_shipping_cost == "separate":
        return  # charged on top at the purchase instead (kco-rules: automatic-shipping-cost)
    with state.lock:
        charged = order.automatic_shipping_line in order.fields["order_lines"]
        if charged or callbacks.merchant_url(order, "shipping_option_update") or not order.fields.get(
                "shipping_options"):
            return
        fields = copy.deepcopy(order.fields)
        line = charge_shipping(fields, None)
        try:
            check_order(fields, market_country=order.widget_country)
        except BadValue:
            return  # an option that cannot be charged (e.g. its tax breaks the line rules) is left as it is
        order.fields = fields
        order.automatic_shipping_line = line
        state.touch(order)


def _validate(state: EmulatorState, order: StoredOrder, widget_base_url: str) -> Outcome | None:
    """None when the purchase may go ahead, else what the shopper sees (kco-rules: validation-callback)."""
    url = callbacks.merchant_url(order, "validation")
    if not url:
        return None
    strict = bool((order.fields.get("options") or {}).get("require_validate_callback_success"))
    timeout = state.settings.strict_validation_timeout if strict else state.settings.validation_timeout
    # The full order, as KCO sends it; the snippet is left out (it carries the widget token).
    answer = callbacks.post_to_merchant(url, order_body(order, widget_base_url, with_snippet=False), timeout)
    if answer.kind == "approved":
        return None
    if answer.kind == "redirect":
        return Outcome("rejected", redirect_url=answer.location, callback="validation",
                       callback_status=answer.status)
    if answer.kind == "rejected":
        return Outcome("rejected", callback="validation", callback_status=answer.status,
                       error_text=answer.error_text or "The shop could not accept this purchase.")
    if not strict:
        # Without require_validate_callback_success a missing answer counts as approval
        # (kco-rules: validation-callback). The emulator treats 5xx the same way [inferred].
        return None
    return Outcome("failed", callback="validation", callback_status=answer.status,
                   error_text="The purchase could not be completed. Please try again or choose another "
                              "way to pay.", events=["can_not_complete_order"])
