"""The shop's web server: pages, a small JSON API for the checkout page, and the callbacks KCO makes.

Read it top to bottom: configuration, then pages, then the JSON API the checkout page's kco-sync.js calls,
then KCO's server-side callbacks. The KCO decisions themselves (create, read, update, when and why) are in
`kco/checkout.py`; the shop's catalogue, cart and records are in `shop/`.

    python app.py --host 127.0.0.1 --port 5000
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from collections.abc import Mapping
from typing import Any

from cachelib.file import FileSystemCache
from flask import (
    Flask,
    Response,
    g,
    has_request_context,
    jsonify,
    redirect,
    render_template,
    request,
    session,
)
from flask_session import Session
from werkzeug.exceptions import HTTPException
from werkzeug.serving import make_server

from kco.checkout import Action, CheckoutSync
from kco.client import KCOCall, KCOClient
from kco.errors import KCOApiError, KCOError, KCOUnreachable
from kco.markets import MARKETS
from shop.callbacks import acknowledge_push, choose_shipping_option, order_matches_shop, refine_for_address
from shop.cart import ShopperState, parse_cart, parse_market, parse_quantity, parse_sku
from shop.catalogue import PRODUCTS
from shop.checkout_flow import CheckoutFlow, confirmation_path
from shop.errors import ShopError
from shop.inspector import register_inspector
from shop.money import format_money
from shop.records import Records
from shop.security import (
    callback_token_valid,
    content_security_policy,
    csrf_token,
    csrf_valid,
    new_csp_nonce,
    snippet_with_nonce,
)
from shop.session_lock import session_lock
from shop.settings import Settings

log = logging.getLogger("shop")
DEFAULT_PUBLIC_BASE_URL = "http://127.0.0.1:5000"


def create_app(config: Mapping[str, str] | None = None) -> Flask:
    """Build the shop from the environment (`config` entries override os.environ, e.g. in tests)."""
    settings = Settings.from_env({**os.environ, **(config or {})})
    app = Flask(__name__, instance_path=str(settings.instance_path))
    app.config.update(
        SECRET_KEY=settings.secret_key,
        PUBLIC_BASE_URL=settings.public_base_url,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.session_cookie_secure,
        SESSION_PERMANENT=True,
        # Write the session only when a request changed it: a read (GET /api/cart) that overlaps a cart change
        # must not save its older copy over the change (the session lock covers writing requests only).
        SESSION_REFRESH_EACH_REQUEST=False,
    )
    # Server-side sessions (Flask-Session): Redis when shared by several processes, else files in instance/.
    if settings.redis_url:
        import redis

        app.config.update(SESSION_TYPE="redis", SESSION_REDIS=redis.Redis.from_url(settings.redis_url))
    else:
        app.config.update(SESSION_TYPE="cachelib", SESSION_CACHELIB=FileSystemCache(
            str(settings.instance_path / "sessions"), threshold=10_000, mode=0o600))
    Session(app)
    # Two tabs of one session must not interleave "read session -> call KCO -> save session": each
    # session-writing request runs alone, also across processes (shop/session_lock.py).
    app.wsgi_app = session_lock(app.wsgi_app, settings.instance_path,
                                app.config.get("SESSION_REDIS"), app.config["SESSION_COOKIE_NAME"])

    records = Records(settings.database_url)
    client = KCOClient(settings.kco, on_call=_remember_call)

    def public_base_url() -> str:
        """Where KCO reaches this shop; main() fills PUBLIC_BASE_URL in once the server is bound."""
        return app.config["PUBLIC_BASE_URL"] or DEFAULT_PUBLIC_BASE_URL

    flow = CheckoutFlow(CheckoutSync(client), records, settings.secret_key, public_base_url)
    app.jinja_env.filters["money"] = format_money
    # KCO's html_snippet is rendered as trusted markup, its <script> tags carrying this response's CSP nonce.
    app.jinja_env.filters["kco_snippet"] = lambda html: snippet_with_nonce(html or "", _csp_nonce())
    # Workshop mode (docs/workshop.md): the KCO inspector panel, on by default with the local emulator only.
    register_inspector(app, flow, settings.kco, {**os.environ, **(config or {})})

    @app.context_processor
    def page_globals() -> dict[str, Any]:
        return {"csrf_token": csrf_token(session), "csp_nonce": _csp_nonce(), "markets": MARKETS}

    @app.before_request
    def start_request() -> None:
        g.started = time.perf_counter()
        g.kco_calls = []
        g.csp_nonce = new_csp_nonce()
        # CSRF: every state-changing request from a browser carries the session's token (header for JSON,
        # field for forms). KCO's callbacks have no shopper session; their URL token protects them instead.
        is_callback = request.path.startswith("/kco/callbacks/")
        if request.method not in ("GET", "HEAD", "OPTIONS") and not is_callback:
            sent = request.headers.get("X-CSRFToken") or request.form.get("csrf_token")
            if not csrf_valid(session, sent):
                raise ShopError("csrf_failed", "The page's security token is missing or expired. "
                                "Please reload the page.", 403)

    @app.after_request
    def server_timing(response: Response) -> Response:
        # Server-Timing lets browser dev tools (and the benchmarks) split KCO's time from the shop's own.
        kco_ms = sum(call.duration_ms for call in g.get("kco_calls", []))
        total_ms = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
        response.headers["Server-Timing"] = f'kco;dur={kco_ms:.1f};desc="KCO calls", total;dur={total_ms:.1f}'
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        if not request.path.startswith("/static/"):
            # The checkout must never come from a cache (e.g. the back button after a purchase).
            response.headers["Cache-Control"] = "no-store"
        response.headers["Content-Security-Policy"] = content_security_policy(_csp_nonce(),
                                                                              settings.snippet_origins)
        return response

    @app.errorhandler(Exception)
    def error_answer(error: Exception) -> tuple[Any, int]:
        """Every failure has one shape: {"error": {"code", "message"}} (pages get the same text in HTML)."""
        if isinstance(error, ShopError):
            shop_error = error
        elif isinstance(error, HTTPException):
            shop_error = ShopError((error.name or "error").lower().replace(" ", "_"),
                                   error.description or "", error.code or 500)
        else:
            log.exception("unexpected error")
            shop_error = ShopError("internal_error", "Something went wrong on our side.", 500)
        wants_page = (request.method == "GET" and not request.path.startswith(("/api/", "/kco/"))
                      and request.accept_mimetypes.accept_html)
        if wants_page:
            return render_template("error.html", error=shop_error), shop_error.status
        return jsonify(shop_error.body()), shop_error.status

    # --- Pages -------------------------------------------------------------------------------------------

    # The catalogue; "Add to cart" is a plain form post, so it works without JavaScript.
    @app.get("/")
    def catalogue() -> str:
        state = ShopperState.from_session(session)
        return render_template("catalogue.html", products=PRODUCTS.values(), state=state,
                               added=PRODUCTS.get(request.args.get("added", "")))

    # Adds one product; no KCO call here (the checkout page brings the order in step on its next load),
    # but the checkout row learns the cart so KCO's validation callback sees it (notes §7.2).
    @app.post("/cart/add")
    def add_to_cart() -> Response:
        sku = parse_sku(request.form.get("sku"))
        quantity = parse_quantity(_form_int(request.form.get("quantity", "1")))

        def add(state: ShopperState) -> None:
            state.cart[sku] = min(state.cart.get(sku, 0) + quantity, 99)

        flow.note_cart(session, add)
        return redirect(f"/?added={sku}", 303)

    # The checkout: reads the KCO order once and creates/updates only when needed (kco/checkout.py,
    # notes §12.1-2). The markup contract for kco-sync.js is in templates/checkout.html.
    @app.get("/checkout")
    def checkout_page() -> Response | str:
        page = flow.page_load(session)
        outcome = page.outcome
        if outcome.action is Action.COMPLETED:
            return redirect(confirmation_path(outcome.order_id), 303)
        message = None
        if request.args.get("error") == "cart_changed":
            message = ("Your cart changed while you were paying, so the purchase was stopped. "
                       "Please check your order and complete it again.")
        if outcome.action is Action.FAILED:
            message = ("The checkout could not be reached just now. Your cart is saved; "
                       "please reload the page in a moment.")
        return render_template("checkout.html", state=page.state, answer=page.answer,
                               html_snippet=outcome.html_snippet, message=message)

    # KCO sends the shopper here after a completed purchase (merchant_urls.confirmation, notes §3.5, K-CONF):
    # show KCO's confirmation snippet, record the order, and start a fresh cart.
    @app.get("/confirmation")
    def confirmation() -> Response | str:
        order_id = request.args.get("order_id", "")
        state = ShopperState.from_session(session)
        if not order_id or order_id not in (state.order_id, state.confirmed_order_id):
            raise ShopError("not_found", "There is no such order in your session.", 404)
        order: Mapping[str, Any] | None
        try:
            order = client.read_order(order_id)
        except KCOApiError as error:
            # A completed order may later 404 on the Checkout API while Order Management still has it
            # (notes §2, observed): a reload of this page then shows the thank-you without KCO's snippet.
            if error.status != 404 or records.order(order_id) is None:
                raise ShopError("kco_error", "Your order could not be loaded; please reload this page.",
                                502) from None
            order = None  # recorded already (by the push or an earlier visit): the cart is cleared below too
        except KCOUnreachable:
            raise ShopError("kco_unreachable", "Your order could not be loaded just now; please reload "
                            "this page in a moment.", 503) from None
        except KCOError:  # an answer the client could not use (KCOProtocolError)
            raise ShopError("kco_error", "Your order could not be loaded; please reload this page.",
                            502) from None
        if order is not None:
            if order.get("status") != "checkout_complete":
                return redirect("/checkout", 303)
            records.record_order(order, recorded_by="confirmation")
        if state.order_id == order_id:
            state.cart, state.order_id, state.confirmed_order_id = {}, None, order_id
            state.save_to(session)
        html_snippet = order.get("html_snippet", "") if order is not None else ""
        return render_template("confirmation.html", state=state, html_snippet=html_snippet, order_id=order_id)

    # Terms page linked from inside the KCO widget (merchant_urls.terms is required, notes §3.5).
    @app.get("/terms")
    def terms() -> str:
        return render_template("terms.html", state=ShopperState.from_session(session))

    # --- JSON API (used by static/js/kco-sync.js; CSRF header X-CSRFToken) -----------------------------

    # Products priced for the session's market: prices always come from the server.
    @app.get("/api/products")
    def products() -> Response:
        market = ShopperState.from_session(session).market
        return jsonify({"products": [
            {"sku": product.sku, "name": product.name, "unit_price": product.unit_price(market.currency),
             "currency": market.currency}
            for product in PRODUCTS.values()
        ]})

    # The cart as the server holds it: the page's source of truth after any failure.
    @app.get("/api/cart")
    def cart() -> Response:
        state, checkout = flow.load(session)
        return jsonify(flow.answer(state, None, checkout))

    # Replaces the whole cart and updates the KCO order directly, without reading it first
    # (notes §12.3, K-UPD).
    @app.post("/api/cart")
    def replace_cart() -> Response:
        new_cart = parse_cart(_json_body())

        def apply(state: ShopperState) -> None:
            state.cart = new_cart

        return jsonify(flow.change(session, apply))

    # Switches country and/or language; the KCO order gets the new country, currency, locale and prices
    # (notes §10.3, §12.4). A repeat of what KCO already holds (e.g. after country_change) costs no call.
    @app.post("/api/market")
    def change_market() -> Response:
        body = _json_body()

        def apply(state: ShopperState) -> None:
            state.country, state.locale = parse_market(body, state)

        return jsonify(flow.change(session, apply))

    # --- KCO callbacks (notes §7; URLs set at create time in shop/checkout_flow.py) -------------------

    def verified_checkout() -> Any:
        """The checkout row named by the URL, if the URL's token was made by this shop for it; else 403."""
        checkout = records.checkout(request.args.get("order_id"))
        if checkout is None or not callback_token_valid(settings.secret_key, checkout.reference,
                                                        request.args.get("token")):
            raise ShopError("callback_forbidden", "Unknown order or bad callback token.", 403)
        return checkout

    def callback_body() -> Mapping[str, Any]:
        body = request.get_json(force=True, silent=True)
        if not isinstance(body, dict):
            raise ShopError("malformed_json", "The callback body must be a JSON object.", 400)
        return body

    # The shopper typed a (shipping) address: new country -> currency, locale and prices follow; US sales
    # tax from the state (notes §7.1, §4.3, K-GLOBAL).
    @app.post("/kco/callbacks/address_update")
    def address_update() -> tuple[Response, int]:
        checkout = verified_checkout()
        status, answer = refine_for_address(records, checkout, callback_body(), billing_first=False)
        return jsonify(answer), status

    # The shopper changed the billing country inside the widget (notes §7.1, §10.3).
    @app.post("/kco/callbacks/country_change")
    def country_change() -> tuple[Response, int]:
        checkout = verified_checkout()
        status, answer = refine_for_address(records, checkout, callback_body(), billing_first=True)
        return jsonify(answer), status

    # The shopper picked a shipping option in the widget: answer with its shipping_fee line (notes §7.1).
    @app.post("/kco/callbacks/shipping_option_update")
    def shipping_option_update() -> tuple[Response, int]:
        checkout = verified_checkout()
        status, answer = choose_shipping_option(records, checkout, callback_body())
        return jsonify(answer), status

    # Last check before KCO completes the purchase: the order must equal what the shop holds for it at
    # today's prices; otherwise send the shopper back with 303 (notes §7.2, KU-VAL).
    @app.post("/kco/callbacks/validation")
    def validation() -> Response:
        checkout = verified_checkout()
        if not order_matches_shop(checkout, callback_body()):
            return redirect(f"{public_base_url()}/checkout?error=cart_changed", 303)
        return Response(status=200)

    # KCO's push after completion: record the order from Order Management and acknowledge it, once, however
    # often KCO pushes (notes §7.3, K-CONF, K-ACK). A KCO failure answers 503 so KCO pushes again later.
    @app.post("/kco/callbacks/push")
    def push() -> Response:
        checkout = verified_checkout()
        try:
            acknowledge_push(client, records, checkout.order_id)
        except KCOError:
            raise ShopError("kco_unreachable", "Order Management could not be reached; push again.",
                            503) from None
        return Response(status=200)

    return app


def _remember_call(call: KCOCall) -> None:
    """kco.client's on_call hook: keep this request's KCO calls for Server-Timing (never credentials)."""
    if has_request_context() and "kco_calls" in g:
        g.kco_calls.append(call)


def _csp_nonce() -> str:
    """This response's Content-Security-Policy nonce (shop/security.py); made here if no hook made it yet."""
    return g.setdefault("csp_nonce", new_csp_nonce())


def _json_body() -> Any:
    body = request.get_json(force=True, silent=True)
    if body is None:
        raise ShopError("malformed_json", "The request body must be JSON.", 400)
    return body


def _form_int(text: str | None) -> int:
    try:
        return int(text or "")
    except ValueError:
        raise ShopError("invalid_quantity", "Quantity must be a whole number from 0 to 99.") from None


def main() -> int:
    parser = argparse.ArgumentParser(description="Run the shop (development server).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        app = create_app()
    except (ValueError, KCOError) as error:
        print(f"Configuration error: {error}", file=sys.stderr, flush=True)
        return 1
    server = make_server(args.host, args.port, app, threaded=True)
    if not app.config["PUBLIC_BASE_URL"]:
        # Unset PUBLIC_BASE_URL: KCO's callbacks come back to this very server (fine for the emulator).
        app.config["PUBLIC_BASE_URL"] = f"http://{args.host}:{server.port}"
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop cleanly; devserver sends SIGTERM
    print(f"Shop listening on http://{args.host}:{server.port}", flush=True)
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
