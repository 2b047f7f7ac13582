"""How many carts and KCO orders one client may start: without a budget, a loop of new sessions could store a
session and a checkout per request, or create a KCO order per request by opening /checkout.

Fixed-window counters per client address (the `limits` library):
- carts: the requests that stored a new checkout for a session that had none (CART_CREATION_LIMIT, e.g.
  "60 per hour"). Once spent, such requests are refused with 429 `too_many_carts`; a shopper who has a cart
  keeps changing it.
- KCO orders: the requests that created one (a `create` answered 201 among this request's KCO calls, which
  shop/server_timing.py keeps; ORDER_CREATION_LIMIT, e.g. "20 per hour"). Once spent, the requests that would
  create one are refused with 429 `too_many_orders`: the checkout page and cart and market changes of a
  checkout that has no KCO order yet. A checkout with an order updates it and creates another only when KCO
  gave that one up, which a client cannot repeat at will; those creates still count.
Every other request passes without touching the counters. They live in Redis when REDIS_URL is set (shared
by every process), else in each process's memory.

Behind a reverse proxy every client has the proxy's address: put Werkzeug's ProxyFix in front so the
client's own address counts (docs/security.md).
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, Response, g, request, session
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from shop.errors import ShopError
from shop.settings import Settings, SettingsError

# The app.py views that may store a new checkout, and those that may create a KCO order (kco/checkout.py
# decides when).
CART_CREATING_VIEWS = frozenset({"add_to_cart", "replace_cart", "change_market"})
ORDER_CREATING_VIEWS = frozenset({"checkout_page", "replace_cart", "change_market"})


def created_an_order() -> bool:
    return any(call.operation == "create" and call.status == 201 for call in g.get("kco_calls", []))


def _rate(variable: str, text: str) -> RateLimitItem:
    try:
        return parse(text)
    except ValueError:
        raise SettingsError(f"{variable} must be a rate such as '20 per hour'") from None


def init_app(app: Flask, settings: Settings, has_order: Callable[[], bool]) -> None:
    """`has_order()`: whether the session's checkout has a KCO order (asked only once a budget is spent)."""
    carts = _rate("CART_CREATION_LIMIT", settings.cart_creation_limit)
    orders = _rate("ORDER_CREATION_LIMIT", settings.order_creation_limit)
    counter = FixedWindowRateLimiter(storage_from_string(settings.redis_url or "memory://"))

    def client() -> str:
        return request.remote_addr or ""

    @app.before_request
    def refuse_when_spent() -> None:
        g.had_checkout = "checkout_id" in session
        if request.endpoint in CART_CREATING_VIEWS and not g.had_checkout \
                and not counter.test(carts, "carts", client()):
            raise ShopError("too_many_carts",
                            "Too many carts were started from your address. Please try again later.", 429)
        if request.endpoint in ORDER_CREATING_VIEWS and not counter.test(orders, "kco-orders", client()) \
                and not has_order():
            raise ShopError("too_many_orders",
                            "Too many checkouts were started from your address. Please try again later.", 429)

    @app.after_request
    def count(response: Response) -> Response:
        if not g.get("had_checkout", True) and "checkout_id" in session:
            counter.hit(carts, "carts", client())
        if created_an_order():
            counter.hit(orders, "kco-orders", client())
        return response
