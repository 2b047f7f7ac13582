"""The shop's words that a change on the checkout page can alter, in the checkout's language.

Every page's header (templates/base.html) and the checkout page's own words (templates/checkout.html) are
rendered from here, and each cart the JSON API answers carries them again (`cart.texts`,
shop/pricing.py's `cart_summary`): after a change of language, country or cart, static/js/cart-editor.js
redraws the page in the new language, with the new tax label and the new cart count, without a reload. The
page marks each such element with `data-kco-text` (its text) or `data-kco-label` (its aria-label), naming a
key of `checkout_words`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_babel import get_translations

from shop.cart import Checkout
from shop.catalogue import PRODUCTS
from shop.shopper_language import in_language

# Each answer carries some 25 words: the catalogue of the checkout's language is looked up once for all of
# them (Flask-Babel's gettext finds it anew for each word), and its gettext used as the shop's gettext.
Gettext = Callable[[str], str]


def header_words(checkout: Checkout | None) -> dict[str, str]:
    """The header of every page: the shop's name and its two links, the cart's count in the second. Without
    a checkout (an error page), in the request's language and without a count."""
    if checkout is None:
        return _header_words(get_translations().gettext, 0)
    with in_language(checkout.locale):
        return _header_words(get_translations().gettext, _count(checkout))


def _count(checkout: Checkout) -> int:
    return 0 if checkout.paid else sum(checkout.cart.values())


def _header_words(gettext: Gettext, count: int) -> dict[str, str]:
    return {
        "shop_name": gettext("Demo shop"),
        "site_name": gettext("KCO reference shop"),
        "navigation": gettext("Main"),
        "products": gettext("Products"),
        "checkout_link": gettext("Checkout (%(count)d)") % {"count": count} if count else gettext("Checkout"),
    }


def checkout_words(checkout: Checkout) -> dict[str, Any]:
    """The checkout page's words: the header's, the page's own, the tax label of the market, and for each
    line of the cart the names of its quantity field and its remove button (`lines`, by SKU)."""
    with in_language(checkout.locale):
        gettext = get_translations().gettext
        heading = gettext("Checkout")
        # US prices exclude sales tax, which comes on top; elsewhere VAT is part of the total.
        sales_tax = checkout.market.tax_mode == "sales_tax"
        tax_label = gettext("Sales tax") if sales_tax else gettext("Of which VAT")
        words: dict[str, Any] = {
            **_header_words(gettext, _count(checkout)),
            "heading": heading,
            "market": gettext("Country and language"),
            "country": gettext("Country"),
            "language": gettext("Language"),
            "cart": gettext("Your cart"),
            "empty": gettext("Your cart is empty."),
            "browse": gettext("Browse the products"),
            "total": gettext("Total"),
            "tax": tax_label,
            "payment": gettext("Payment"),
            "lines": {
                sku: {"quantity": gettext("Quantity of %(product)s") % {"product": PRODUCTS[sku].name},
                      "remove": gettext("Remove %(product)s") % {"product": PRODUCTS[sku].name}}
                for sku in checkout.cart
            },
        }
        words["title"] = f"{heading} · {words['site_name']}"
        return words
