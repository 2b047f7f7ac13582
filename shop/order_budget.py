"""How many KCO orders one client may create: without a budget, a loop of new sessions each opening /checkout
creates one KCO order per request.

Flask-Limiter counts, per client address, the requests that created a KCO order (a `create` answered 201 in
this request's KCO calls, which shop/server_timing.py keeps), and refuses the requests that may create one
(the checkout page, cart and market changes) with 429 in the one error shape once the budget is spent.
Reads and everything else stay open. The count lives in Redis when REDIS_URL is set (shared by every
process), else in each process's memory. ORDER_CREATION_LIMIT sets the budget, e.g. "20 per hour".

Behind a reverse proxy every client has the proxy's address: put Werkzeug's ProxyFix in front so the
client's own address counts (docs/security.md).
"""

from __future__ import annotations

from flask import Flask, Response, g, request
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from limits import parse

from shop.errors import ShopError, answer_error
from shop.settings import Settings, SettingsError

# The app.py views that may create a KCO order (kco/checkout.py decides when).
ORDER_CREATING_VIEWS = frozenset({"checkout_page", "replace_cart", "change_market"})


def created_an_order(_response: Response) -> bool:
    return any(call.operation == "create" and call.status == 201 for call in g.get("kco_calls", []))


def init_app(app: Flask, settings: Settings) -> Limiter:
    try:
        parse(settings.order_creation_limit)
    except ValueError:
        raise SettingsError("ORDER_CREATION_LIMIT must be a rate such as '20 per hour'") from None
    limiter = Limiter(
        get_remote_address, app=app, storage_uri=settings.redis_url or "memory://",
        application_limits=[settings.order_creation_limit],
        application_limits_exempt_when=lambda: request.endpoint not in ORDER_CREATING_VIEWS,
        application_limits_deduct_when=created_an_order,
    )
    app.register_error_handler(RateLimitExceeded, lambda _: answer_error(ShopError(
        "too_many_orders", "Too many checkouts were started from your address. Please try again later.",
        429)))
    return limiter
