"""A two-product shop on Kustom Checkout, built on the files docs/adapt-to-your-shop.md tells you to copy.

docs/adapt-to-your-shop.md walks through it part by part. To run it beside the local KCO emulator:

    kco-emulator --port 5001 &
    export KCO_API_URL=http://127.0.0.1:5001 SECRET_KEY=change-me
    flask --app candle_shop run --port 5000
"""

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask, redirect, render_template, request, session, url_for
from werkzeug.exceptions import HTTPException

from kco.checkout import Action, CheckoutSync, Outcome
from kco.client import ClientConfig, KCOClient, time_budget
from kco.errors import KCOApiError, KCOError
from kco.markets import Market, get_market
from kco.order_lines import CartLine, build_order

# The catalogue: each product's name and unit price per currency, VAT included, in minor units (12900 is
# 129.00 SEK). Prices come from here only: the page sends SKUs and quantities, never amounts.
PRODUCTS = {
    "candle": ("Beeswax candle", {"SEK": 12900, "EUR": 1190}),
    "soap": ("Olive oil soap", {"SEK": 5900, "EUR": 550}),
}
# The countries the shop sells to. kco/markets.py knows each one's currency, checkout languages and VAT rate.
MARKETS = {"SE": get_market("SE"), "DE": get_market("DE")}
FIRST_CART = {"candle": 1, "soap": 1}
MAX_QUANTITY = 99
# The longest one page load or cart change may wait for KCO, however many calls it needs (kco.client's
# time_budget). The demo shop reads it from KCO_TIME_BUDGET.
KCO_TIME_BUDGET_SECONDS = 15
# How long the page waits for the shop's answer to one change (its data-timeout-ms): the KCO budget and a
# margin for the shop's own work, so the page gives up only after the shop has answered or given up itself.
PAGE_TIMEOUT_MS = (KCO_TIME_BUDGET_SECONDS + 2) * 1000


def session_market() -> Market:
    return MARKETS[session.get("country", "SE")]


def cart_lines(market: Market) -> list[CartLine]:
    """The session's cart, priced from the catalogue in the market's currency."""
    lines = []
    for sku, quantity in session.get("cart", FIRST_CART).items():
        name, prices = PRODUCTS[sku]
        lines.append(CartLine(reference=sku, name=name, quantity=quantity,
                              unit_price=prices[market.currency], tax_rate=market.vat_rate))
    return lines


def kco_order() -> dict[str, Any] | None:
    """The KCO order the session's cart calls for; None for an empty cart, which needs no order."""
    market = session_market()
    lines = cart_lines(market)
    if not lines:
        return None
    return {
        "purchase_country": market.country,
        "purchase_currency": market.currency,
        "locale": session.get("locale", market.default_locale),
        # order_lines, order_amount and order_tax_amount, in the sums KCO checks.
        **build_order(lines, market).as_kco(),
    }


def merchant_urls() -> dict[str, Any]:
    """What only a create sends: the shop's pages and callbacks, as KCO must reach them."""
    shop = request.host_url
    return {
        "merchant_urls": {
            "terms": shop + "static/terms.html",
            "checkout": shop,
            "confirmation": shop + "confirmation",
            # KCO writes the order's id in place of {checkout.order.id} when it calls the push URL.
            "push": shop + "kco/push?order_id={checkout.order.id}",
        },
    }


def create_app(environ: Mapping[str, str] = os.environ) -> Flask:
    app = Flask(__name__)
    if not environ.get("SECRET_KEY"):
        raise RuntimeError("SECRET_KEY is not set: it signs the session cookie, which holds the cart")
    app.secret_key = environ["SECRET_KEY"]
    # Werkzeug refuses a longer body with 413 before the shop reads it.
    app.config["MAX_CONTENT_LENGTH"] = 16 * 1024
    # KCO_API_URL (or KCO_ENVIRONMENT) and the credentials; a loopback URL without credentials gets the
    # emulator's demo ones. A wrong variable stops the start, named in the error.
    client = KCOClient(ClientConfig.from_env(environ))
    sync = CheckoutSync(client)

    @app.get("/")
    def checkout_page() -> Any:
        """The checkout: the cart, the country, and KCO's widget for the session's order."""
        with time_budget(KCO_TIME_BUDGET_SECONDS):
            outcome = sync.on_page_load(session.get("order_id"), kco_order(), merchant_urls)
        if outcome.action is Action.COMPLETED:
            return redirect(url_for("confirmation"))
        body, status = answer(outcome)
        page = render_template("checkout.html", answer=body, snippet=outcome.html_snippet,
                               markets=MARKETS.values(), timeout_ms=PAGE_TIMEOUT_MS)
        return page, status

    @app.get("/api/cart")
    def cart() -> Any:
        """The cart as the shop holds it, without a KCO call: kco-sync.js asks for it after a failure."""
        return cart_answer()

    @app.post("/api/cart")
    def change_cart() -> Any:
        """The shopper's whole new cart; the KCO order follows it."""
        session["cart"] = wanted_cart(json_body())
        return follow_the_cart()

    @app.post("/api/market")
    def change_market() -> Any:
        """A new country, and maybe a language; the KCO order follows: currency, locale and prices."""
        market, locale = wanted_market(json_body())
        session["country"] = market.country
        session["locale"] = locale
        return follow_the_cart()

    def follow_the_cart() -> Any:
        # An update without reading the order first, or none when KCO holds this content already.
        with time_budget(KCO_TIME_BUDGET_SECONDS):
            outcome = sync.on_change(session.get("order_id"), kco_order(), session.get("kco_fingerprint"),
                                     merchant_urls)
        return answer(outcome)

    @app.get("/confirmation")
    def confirmation() -> Any:
        """Where KCO sends the shopper after the purchase: KCO's confirmation snippet."""
        order_id = session.get("order_id")
        if order_id is None:
            return redirect(url_for("checkout_page"))
        with time_budget(KCO_TIME_BUDGET_SECONDS):
            order = client.read_order(order_id)
        if order["status"] != "checkout_complete":
            return redirect(url_for("checkout_page"))
        # The next visit starts a new cart and a new order.
        session.clear()
        return render_template("confirmation.html", snippet=order["html_snippet"])

    @app.post("/kco/push")
    def push() -> Any:
        """KCO says a purchase is done, and says it again until the shop acknowledges the order
        (kco-rules: push-and-acknowledge). Record the paid order here before acknowledging it."""
        order_id = request.args.get("order_id", "")
        # None, or one that a URL resolves away ("." and "..", which the kco client refuses).
        if order_id in ("", ".", ".."):
            raise Refused(400, "missing_order_id", "The push names no order.")
        with time_budget(KCO_TIME_BUDGET_SECONDS):
            client.acknowledge_order(order_id)
        return "", 204

    @app.errorhandler(Refused)
    def refused(error: Refused) -> Any:
        return {"error": {"code": error.code, "message": error.message}}, error.status

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        # Werkzeug's refusals (unknown path, wrong method, not JSON, too large) in the same shape.
        code = (error.name or "error").lower().replace(" ", "_")
        return {"error": {"code": code, "message": error.description}}, error.code

    @app.errorhandler(KCOError)
    def kco_failed(error: KCOError) -> Any:
        # A KCO call outside CheckoutSync failed: the confirmation's read or the push's acknowledge.
        if isinstance(error, KCOApiError) and error.status == 404:
            return {"error": {"code": "unknown_order", "message": "KCO knows no such order."}}, 404
        return {"error": {"code": "kco_error", "message": "Please try again in a moment."}}, 502

    return app


def cart_answer() -> dict[str, Any]:
    """The session's cart and order in the Answer shape of kco-sync.js's header."""
    market = session_market()
    totals = build_order(cart_lines(market), market)
    items = []
    for line in totals.order_lines:
        items.append({
            "sku": line["reference"],
            "name": line["name"],
            "quantity": line["quantity"],
            "unit_price": line["unit_price"],
            "total_amount": line["total_amount"],
        })
    cart = {
        "items": items,
        "country": market.country,
        "currency": market.currency,
        "locale": session.get("locale", market.default_locale),
        "locales": list(market.locales),
        "order_amount": totals.order_amount,
        "order_tax_amount": totals.order_tax_amount,
        "shipping": None,
    }
    order = None
    if session.get("order_id"):
        order = {"order_id": session["order_id"], "status": "checkout_incomplete"}
    return {"cart": cart, "order": order}


def answer(outcome: Outcome) -> tuple[dict[str, Any], int]:
    """Keep what KCO holds now, and answer the page with the cart, the order, or what went wrong."""
    session["order_id"] = outcome.order_id
    session["kco_fingerprint"] = outcome.fingerprint
    body = cart_answer()
    if outcome.action is Action.CREATED:
        body["html_snippet"] = outcome.html_snippet
    if outcome.action is Action.COMPLETED:
        body["error"] = {"code": "purchase_completed", "message": "You have paid for this order already."}
        body["redirect"] = url_for("confirmation")
        return body, 409
    if outcome.action is Action.FAILED and outcome.unreachable:
        # The cart is kept; kco-sync.js sends it again with the shopper's next change.
        body["error"] = {"code": "kco_unreachable", "message": "The checkout did not answer. Try again."}
        return body, 503
    if outcome.action is Action.FAILED:
        body["error"] = {"code": "kco_error", "message": "The checkout could not take that. Try again."}
        return body, 502
    return body, 200


class Refused(Exception):
    """A request the shop turns down: answered `status` with {"error": {"code", "message"}}."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def json_body() -> Any:
    """The request's JSON body. Flask's get_json answers 415 to another content type, which a form on another
    site cannot send, and 400 to a body that is not JSON."""
    try:
        return request.get_json()
    except RecursionError:
        # Python's parser gives up on JSON nested about a thousand deep; without this, a 500.
        raise Refused(400, "malformed_json", "That request was not readable.") from None


def wanted_cart(body: Any) -> dict[str, int]:
    """{sku: quantity} from {"items": [{"sku", "quantity"}]}; quantity 0 drops a line."""
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        raise Refused(400, "invalid_cart", "That cart was not readable.")
    cart = {}
    for item in body["items"]:
        if not isinstance(item, dict):
            raise Refused(400, "invalid_cart", "That cart was not readable.")
        sku = item.get("sku")
        quantity = item.get("quantity")
        if not isinstance(sku, str) or sku not in PRODUCTS:
            raise Refused(400, "unknown_sku", "One of those products is not sold here.")
        # bool is an int in Python, and true is no quantity.
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            raise Refused(400, "invalid_quantity", f"Choose a quantity from 0 to {MAX_QUANTITY}.")
        if not 0 <= quantity <= MAX_QUANTITY:
            raise Refused(400, "invalid_quantity", f"Choose a quantity from 0 to {MAX_QUANTITY}.")
        if quantity > 0:
            cart[sku] = quantity
    return cart


def wanted_market(body: Any) -> tuple[Market, str]:
    """The market and locale from {"country", "locale"?}; without a locale, the country's first language."""
    if not isinstance(body, dict) or not isinstance(body.get("country"), str):
        raise Refused(400, "unsupported_country", "The shop does not sell to that country.")
    market = MARKETS.get(body["country"])
    if market is None:
        raise Refused(400, "unsupported_country", "The shop does not sell to that country.")
    locale = body.get("locale")
    if locale is None:
        return market, market.default_locale
    if not isinstance(locale, str) or locale not in market.locales:
        raise Refused(400, "unsupported_locale", "The checkout does not speak that language there.")
    return market, locale
