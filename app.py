"""The shop's web server: pages, the JSON API that static/js/kco-sync.js calls, and KCO's callbacks.

`create_app` wires the pieces; then come the routes, each saying why it exists. What KCO is sent and when:
kco/checkout.py; one shopper request from session to KCO and back: shop/checkout_flow.py; the answers to KCO's
callbacks: shop/callbacks.py; the order once paid: shop/paid_orders.py. Each piece of wiring is one
`init_app` in shop/ (sessions, security, csrf, errors, budgets, server_timing); workshop/ is an optional
teaching panel.
Run: `python app.py --host H --port P`, or `flask --app app run`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Flask, Response, current_app, redirect, render_template, request, session
from werkzeug.middleware.proxy_fix import ProxyFix

from kco.checkout import Action, CheckoutSync
from kco.client import KCOClient
from kco.markets import MARKETS
from shop import (
    budgets,
    callbacks,
    csrf,
    dev_server,
    errors,
    paid_orders,
    security,
    server_timing,
    sessions,
    shopper_language,
)
from shop.callbacks import confirmation_path
from shop.cart import Checkout, parse_cart, parse_form_quantity, parse_market, parse_sku
from shop.catalogue import PRODUCTS, priced_products
from shop.checkout_flow import Change, CheckoutFlow, sync_timeout_ms
from shop.checkout_words import header_words
from shop.records import Records
from shop.settings import Settings
from shop.shopper_language import in_language
from workshop import inspector

routes = Blueprint("shop", __name__)


def create_app(config: Mapping[str, str] | None = None) -> Flask:
    """Build the shop from the environment (`config` entries override os.environ, e.g. in tests)."""
    settings = Settings.from_env({**os.environ, **(config or {})})
    app = Flask(__name__, instance_path=str(settings.instance_path))
    # PUBLIC_BASE_URL: where KCO reaches this shop; unset, shop/dev_server.py fills it in once bound.
    app.config.update(SECRET_KEY=settings.secret_key, PUBLIC_BASE_URL=settings.public_base_url)
    records = Records(settings.database_url)
    server_timing.init_app(app)
    sessions.init_app(app, settings, records)
    security.init_app(app, settings)
    csrf.init_app(app)
    errors.init_app(app)
    budgets.init_app(app, settings)
    client = KCOClient(settings.kco, on_call=server_timing.remember_call)
    app.extensions["checkout_flow"] = CheckoutFlow(
        CheckoutSync(client), records, settings.secret_key,
        lambda: app.config["PUBLIC_BASE_URL"] or "http://127.0.0.1:5000", settings.time_budget_seconds)
    # The shop's words, money and names in the shopper's language (Flask-Babel).
    shopper_language.init_app(app, settings.instance_path, shopper_locale)
    app.jinja_env.globals.update(markets=MARKETS, header_words=header_words,
                                 sync_timeout_ms=sync_timeout_ms(settings.time_budget_seconds))
    app.register_blueprint(routes)
    if settings.trusted_proxies:
        # The client's address and scheme as the proxies in front of the shop saw them (shop/budgets.py).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies,  # type: ignore[method-assign]
                                x_proto=settings.trusted_proxies)
    inspector.init_app(app, app.extensions["checkout_flow"], settings)  # workshop mode (docs/workshop.md)
    return app


def flow() -> CheckoutFlow:
    """The app's one `CheckoutFlow`, which holds the KCO client, the records and the secret key."""
    return current_app.extensions["checkout_flow"]  # type: ignore[no-any-return]


def shopper_locale() -> str | None:
    """Flask-Babel's locale selector: a request's words (its errors) are in the language of the session's
    checkout as the request leaves it; KCO's servers, which call the callbacks, read English (None)."""
    if request.path.startswith(errors.CALLBACK_PATH):
        return None
    return flow().current(session).locale


def page(template: str, checkout: Checkout, **context: Any) -> str:
    """A page in the language of the checkout it shows (the confirmation's is no longer the session's)."""
    with in_language(checkout.locale):
        return render_template(template, checkout=checkout, **context)


# --- Health, for a platform's checks (no session, no KCO call) -----------------------------------------

# The process answers.
@routes.get("/healthz")
def healthz() -> dict[str, Any]:
    return {"status": "ok"}


# Ready to serve shoppers: the database and, when set, Redis answer; 503 naming the part that does not.
@routes.get("/readyz")
def readyz() -> tuple[dict[str, Any], int]:
    parts = {"database": flow().records.ready()}
    redis_client = current_app.config.get("SESSION_REDIS")
    if redis_client is not None:
        parts["redis"] = sessions.redis_ready(redis_client)
    failing = [part for part, ready in parts.items() if not ready]
    if failing:
        return {"status": "unavailable", "failing": failing}, 503
    return {"status": "ok"}, 200


# --- Pages ----------------------------------------------------------------------------------------------

# The catalogue; "Add to cart" is a plain form post, so it works without JavaScript.
@routes.get("/")
def catalogue() -> str:
    added = PRODUCTS.get(request.args.get("added", ""))
    return page("catalogue.html", flow().current(session), products=PRODUCTS.values(), added=added)


# Adds one product: no KCO call, but the checkout learns the cart (kco-rules: validation-callback).
@routes.post("/cart/add")
def add_to_cart() -> Response:
    sku = parse_sku(request.form.get("sku"))
    quantity = parse_form_quantity(request.form.get("quantity", "1"))
    flow().note(session, lambda checkout, at: checkout.add(sku, quantity, at))
    return redirect(f"/?added={sku}", 303)


# The checkout: one read of the KCO order, then a create or update only when needed (kco/checkout.py).
# A page that shows the widget gives the session a new id (session fixation, shop/sessions.py).
@routes.get("/checkout")
def checkout_page() -> Response | str:
    loaded = flow().page_load(session)
    if loaded.outcome.action is Action.COMPLETED:
        return redirect(confirmation_path(loaded.outcome.order_id), 303)
    if loaded.outcome.html_snippet:
        sessions.renew_session_id(flow().records)
    return page("checkout.html", loaded.checkout, answer=loaded.answer,
                message=loaded.message(request.args.get("error")), html_snippet=loaded.outcome.html_snippet)


# KCO sends the shopper here after the purchase (merchant_urls.confirmation, kco-rules: merchant-urls).
@routes.get("/confirmation")
def confirmation() -> Response | str:
    shown = flow().confirmation(session, request.args.get("order_id", ""))
    if shown is None:  # KCO says the order is not complete
        return redirect("/checkout", 303)
    sessions.renew_session_id(flow().records)
    return page("confirmation.html", **vars(shown), short_reference=shown.short_reference)


@routes.get("/terms")  # linked in the widget: merchant_urls.terms is required (kco-rules: merchant-urls)
def terms() -> str:
    return page("terms.html", flow().current(session))


# --- The JSON API of static/js/kco-sync.js -------------------------------------------------------------

# Products priced for the shopper's market: prices always come from the server.
@routes.get("/api/products")
def products() -> dict[str, Any]:
    return {"products": priced_products(flow().current(session).market.currency)}


# The cart as the server holds it, with its order id: the page's source of truth after any failure.
@routes.get("/api/cart")
def cart() -> dict[str, Any]:
    return flow().answer(flow().current(session))


# Replaces the whole cart and updates the KCO order without reading it (kco-rules: update-ongoing-order).
@routes.post("/api/cart")
def replace_cart() -> dict[str, Any]:
    new_cart = parse_cart(request.get_json(force=True, silent=True))
    return changed(lambda checkout, at: checkout.set_cart(new_cart, at))


# Country and/or language: the order's currency, locale and prices follow (kco-rules: market-change).
@routes.post("/api/market")
def change_market() -> dict[str, Any]:
    body = request.get_json(force=True, silent=True)
    return changed(lambda checkout, at: checkout.move_to(*parse_market(body, checkout), at))


def changed(apply: Change) -> dict[str, Any]:
    answer = flow().change(session, apply)
    if "html_snippet" in answer:  # a new order: a new session id (shop/sessions.py)
        sessions.renew_session_id(flow().records)
    return answer


# --- KCO's server-side callbacks: their URLs, with a token only this shop can make, are set at create time --

def callback_body() -> Mapping[str, Any]:
    return callbacks.callback_body(request.get_json(force=True, silent=True))


def callback_checkout() -> Checkout | None:
    """The checkout the callback URL names; None for a replaced order (`callbacks.verified_checkout`)."""
    return callbacks.verified_checkout(flow().records, flow().secret_key, request.args)


def refined(decide: callbacks.Refine) -> tuple[dict[str, Any], int]:
    return callbacks.refine(flow().records, flow().secret_key, request.args, callback_body(), decide)


# A (shipping) address typed: prices, currency, locale, US sales tax follow (kco-rules: refine-callbacks).
@routes.post("/kco/callbacks/address_update")
def address_update() -> tuple[dict[str, Any], int]:
    return refined(callbacks.for_address(billing_first=False))


# The shopper changed the billing country inside the widget (kco-rules: refine-callbacks, market-change).
@routes.post("/kco/callbacks/country_change")
def country_change() -> tuple[dict[str, Any], int]:
    return refined(callbacks.for_address(billing_first=True))


# A shipping option picked in the widget: its shipping_fee line (kco-rules: automatic-shipping-cost).
@routes.post("/kco/callbacks/shipping_option_update")
def shipping_option_update() -> tuple[dict[str, Any], int]:
    return refined(callbacks.choose_shipping_option)


# Last check before KCO completes the purchase: lines, amounts and currency must be the shop's at today's
# prices, not the country (kco-rules: validation-price); else 303 back (kco-rules: validation-callback).
@routes.post("/kco/callbacks/validation")
def validation() -> Response:
    if callbacks.order_matches_shop(callback_checkout(), callback_body()):
        return Response(status=200)
    return redirect(f"{flow().public_base_url()}/checkout?error=cart_changed", 303)


# KCO's push: record and acknowledge once, however often KCO pushes; a KCO failure answers 503
# (shop/errors.py), so KCO pushes again (kco-rules: push-and-acknowledge).
@routes.post("/kco/callbacks/push")
def push() -> Response:
    order_id = callbacks.current_order(callback_checkout())
    paid_orders.acknowledge_push(flow().sync.client, flow().records, order_id)
    return Response(status=200)


# After the fraud review of a pending order, KCO posts the decision (kco-rules: pending-orders).
@routes.post("/kco/callbacks/notification")
def notification() -> Response:
    order_id = callbacks.current_order(callback_checkout())
    paid_orders.record_fraud_review(flow().sync.client, flow().records, order_id, callback_body())
    return Response(status=200)


if __name__ == "__main__":
    dev_server.run(create_app)
