"""Answers to KCO's server-side callbacks, computed from the shop's own prices and records.

The callbacks' contract: kco-rules: refine-callbacks, validation-callback, push-and-acknowledge,
pending-orders (the notification after a fraud review).
KCO posts these without the shopper's cookie, so each answer starts from the checkout of the order (the cart
KCO was last sent, market, shipping option), never from amounts in the callback body: a callback body is only
trusted for what the shopper typed (address, country, chosen shipping option). Every callback first checks
the URL's token (`verified_checkout`).

A refusal's text is shown to the shopper in the widget, so it is written in the language of the order KCO
holds (`order_locale`); every other answer here is read by KCO's servers and stays English.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask_babel import gettext

from kco.checkout import content_fingerprint, order_content
from kco.markets import MARKETS, Market, UnsupportedCountry, get_market
from shop.cart import Checkout, arrival
from shop.catalogue import SHIPPING_METHODS
from shop.errors import ShopError
from shop.pricing import kco_order_body
from shop.records import SAVE_ATTEMPTS, CheckoutChanged, Records
from shop.security import callback_token, callback_token_valid
from shop.shopper_language import in_language

CallbackAnswer = tuple[dict[str, Any], int]  # (body, status), as a Flask view returns it
# notification: the outcome of a fraud review of a pending order (kco-rules: pending-orders).
CALLBACKS = ("push", "notification", "validation", "address_update", "country_change",
             "shipping_option_update")
# Replaced by KCO in every merchant URL (kco-rules: merchant-urls).
ORDER_ID_PLACEHOLDER = "{checkout.order.id}"

def confirmation_path(order_id: str | None) -> str:
    return f"/confirmation?order_id={order_id}"


def create_extras(base_url: str, secret_key: str, reference: str) -> dict[str, Any]:
    """What only a create sends: merchant URLs, the callbacks' with the order's reference and its token
    (checked by `verified_checkout`), the countries, and the reference as `merchant_reference2`."""
    token = callback_token(secret_key, reference)
    query = f"order_id={ORDER_ID_PLACEHOLDER}&reference={reference}&token={token}"
    return {
        "merchant_reference2": reference,
        # terms, checkout, confirmation and push are required (kco-rules: merchant-urls); the other callbacks
        # are optional, and KCO calls them only when they are set.
        "merchant_urls": {
            "terms": f"{base_url}/terms",
            "checkout": f"{base_url}/checkout",
            "confirmation": f"{base_url}{confirmation_path(ORDER_ID_PLACEHOLDER)}",
            **{name: f"{base_url}/kco/callbacks/{name}?{query}" for name in CALLBACKS},
        },
        # Lets the shopper pick another country inside the widget (kco-rules: order-fields, market-change).
        "billing_countries": list(MARKETS),
        "shipping_countries": list(MARKETS),
        # Without it a missing or late validation answer counts as approval, so a purchase could complete
        # with a cart the shop never checked; with it KCO waits 10 s and then fails the purchase
        # (kco-rules: order-options, validation-callback).
        "options": {"require_validate_callback_success": True},
    }


def verified_checkout(records: Records, secret_key: str, args: Mapping[str, str]) -> Checkout | None:
    """The checkout of the order the callback URL names, if the URL's token was made by this shop for that
    order; 403 if not.

    None when the token is good but its checkout has moved on to a newer order (the URL's reference is no
    longer its): a replaced order must never be paid."""
    reference = args.get("reference") or ""
    if not callback_token_valid(secret_key, reference, args.get("token")):
        raise ShopError("callback_forbidden", "Unknown order or bad callback token.", 403)
    checkout = records.checkout_for_reference(reference)
    if checkout is None:
        return None
    if checkout.order_id != args.get("order_id"):
        raise ShopError("callback_forbidden", "Unknown order or bad callback token.", 403)
    return checkout


def current_order(checkout: Checkout | None) -> str:
    """The order of a checkout `verified_checkout` found, for the callbacks that act on a paid order (push,
    notification): a replaced order is never paid, so its callback is refused 403."""
    if checkout is None or checkout.order_id is None:
        raise ShopError("callback_forbidden", "This order was replaced by a newer one.", 403)
    return checkout.order_id


def callback_body(body: Any) -> Mapping[str, Any]:
    if not isinstance(body, dict):
        raise ShopError("malformed_json", "The callback body must be a JSON object.", 400)
    return body


def order_locale(order: Mapping[str, Any]) -> str:
    """The locale of the order a callback body carries, as the shop spells it: the language KCO's widget
    speaks. One the shop does not sell in reads as English, as KCO falls back to it (kco-rules: locales)."""
    sent = str(order.get("locale", "")).lower()
    for market in MARKETS.values():
        for locale in market.locales:
            if locale.lower() == sent:
                return locale
    return MARKETS["GB"].default_locale


def _refused(error_type: str, error_text: str) -> CallbackAnswer:
    # 400 {error_type, error_text}; the text is shown to the shopper in the widget
    # (kco-rules: refine-callbacks).
    return {"error_type": error_type, "error_text": error_text}, 400


def _address(body: Mapping[str, Any], *keys: str) -> Mapping[str, Any]:
    for key in keys:
        if isinstance(body.get(key), Mapping) and body[key].get("country"):
            return body[key]
    return {}


def _shipping_service_response(order_body: Mapping[str, Any]) -> dict[str, Any]:
    # checkout-v3-callbacks-openapi.yml shipping_service_response (kco-rules: refine-callbacks): required
    # order_amount, order_tax_amount, order_lines, purchase_currency; locale and shipping_options optional
    # (KCO Global lets them change with the country).
    return {key: order_body[key] for key in ("order_amount", "order_tax_amount", "order_lines",
                                             "purchase_currency", "locale", "shipping_options")}


def _widget_cart(checkout: Checkout) -> dict[str, int]:
    """The cart of the order as KCO holds it: refine callbacks re-price it and never add what the shopper
    changed elsewhere meanwhile (another tab); the validation callback catches that difference instead."""
    return checkout.kco_cart if checkout.kco_cart is not None else checkout.cart


# A refine callback: from the checkout, the callback body and when it reached the shop, the order body KCO
# should hold (the checkout changed to match it), or a refusal. Run again from the stored checkout if another
# request stored it meanwhile.
Refine = Callable[[Checkout, Mapping[str, Any], int], "dict[str, Any] | CallbackAnswer"]


def refine(records: Records, secret_key: str, args: Mapping[str, str], body: Mapping[str, Any],
           decide: Refine) -> CallbackAnswer:
    """Answers a refine callback with `decide`; the checkout keeps the answer's fingerprint, because KCO holds
    that content once it takes the answer."""
    arrived = arrival()
    for _ in range(SAVE_ATTEMPTS):
        checkout = verified_checkout(records, secret_key, args)
        with in_language(order_locale(body)):
            if checkout is None:
                replaced = gettext("This checkout was replaced. Please reload the page.")
                return _refused("approval_failed", replaced)
            decided = decide(checkout, body, arrived)
        if isinstance(decided, tuple):
            return decided
        checkout.kco_fingerprint = content_fingerprint(decided)
        try:
            records.save(checkout)
        except CheckoutChanged:
            continue
        return _shipping_service_response(decided), 200
    raise ShopError("checkout_busy", "The checkout is being changed; please try again.", 503)


def for_address(billing_first: bool) -> Refine:
    """address_update (shipping address first) and country_change (billing address first).

    The new country sets currency and locale (kco-rules: market-change); a US address sets the sales tax of
    its state (kco-rules: us-sales-tax). The checkout records the move, so the shopper's page follows it.
    """
    keys = ("billing_address", "shipping_address")
    if not billing_first:
        keys = ("shipping_address", "billing_address")

    def decide(checkout: Checkout, body: Mapping[str, Any], at: int) -> dict[str, Any] | CallbackAnswer:
        address = _address(body, *keys)
        try:
            market: Market = get_market(str(address.get("country") or checkout.country))
        except UnsupportedCountry:
            refusal = gettext("Sorry, we don't deliver to that country.")
            return _refused("unsupported_shipping_address", refusal)
        if market.country != checkout.country:
            # Unless the shopper's page set the market after this callback reached the shop.
            checkout.move_to(market.country, market.default_locale, at)
        region = str(address.get("region") or "")[:8] or None
        checkout.us_region = region if checkout.country == "US" else None
        order_body = kco_order_body(checkout, cart=_widget_cart(checkout))
        if order_body is None:
            return _refused("approval_failed", gettext("Your cart is empty."))
        return order_body

    return decide


def choose_shipping_option(checkout: Checkout, body: Mapping[str, Any],
                           at: int) -> dict[str, Any] | CallbackAnswer:
    """shipping_option_update: the order with the chosen option's `shipping_fee` line. Only the widget picks
    the shipping option, so `at` (when the callback came) has nothing to be compared with."""
    selected = body.get("selected_shipping_option")
    option_id = selected.get("id") if isinstance(selected, Mapping) else None
    if not isinstance(option_id, str) or option_id not in SHIPPING_METHODS:
        return _refused("approval_failed", gettext("That delivery option is not available."))
    checkout.shipping_option_id = option_id
    order_body = kco_order_body(checkout, cart=_widget_cart(checkout))
    if order_body is None:
        return _refused("approval_failed", gettext("Your cart is empty."))
    return order_body


def order_matches_shop(checkout: Checkout | None, order: Mapping[str, Any]) -> bool:
    """validation (kco-rules: validation-callback): does the order KCO is about to complete equal the cart the
    shop holds for it, at today's prices? Only what decides the price is compared: lines, amounts, currency
    (kco-rules: validation-price). The locale changes only the language (kco-rules: locales), and whether a
    country change inside the widget moves `purchase_country` is not documented: the lines and currency the
    shop answered for the new country are what the shopper pays. A replaced order (no checkout) never
    matches."""
    if checkout is None:
        return False
    expected = kco_order_body(checkout)
    if expected is None:
        return False  # the shop holds no cart for this order: never approve
    received, wanted = order_content(order), order_content(expected)
    for not_priced in ("locale", "purchase_country"):
        received.pop(not_priced)
        wanted.pop(not_priced)
    return received == wanted
