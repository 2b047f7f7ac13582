"""How many KCO orders one client may create: without a budget, a loop of new sessions each opening /checkout
creates one KCO order per request.

A fixed-window counter per client address (the `limits` library) counts the requests that created a KCO order
(a `create` answered 201 in this request's KCO calls, which shop/server_timing.py keeps). Once the budget is
spent, the requests that would create one are refused with 429 in the one error shape: the checkout page and
cart and market changes of a session that has no KCO order yet. A session with an order updates it and
creates another only when KCO gave that one up, which a client cannot repeat at will; those creates still
count. Every other request passes without touching the counter. The count lives in Redis when REDIS_URL is
set (shared by every process), else in each process's memory. ORDER_CREATION_LIMIT sets the budget, e.g.
"20 per hour".

Behind a reverse proxy every client has the proxy's address: put Werkzeug's ProxyFix in front so the
client's own address counts (docs/security.md).
"""

from __future__ import annotations

from flask import Flask, Response, g, request, session
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from shop.errors import ShopError
from shop.settings import Settings, SettingsError

# The app.py views that may create a KCO order (kco/checkout.py decides when).
ORDER_CREATING_VIEWS = frozenset({"checkout_page", "replace_cart", "change_market"})
SCOPE = "kco-orders"


def created_an_order() -> bool:
    return any(call.operation == "create" and call.status == 201 for call in g.get("kco_calls", []))


def init_app(app: Flask, settings: Settings) -> None:
    try:
        budget: RateLimitItem = parse(settings.order_creation_limit)
    except ValueError:
        raise SettingsError("ORDER_CREATION_LIMIT must be a rate such as '20 per hour'") from None
    counter = FixedWindowRateLimiter(storage_from_string(settings.redis_url or "memory://"))

    @app.before_request
    def refuse_new_orders_when_spent() -> None:
        if request.endpoint not in ORDER_CREATING_VIEWS or session.get("order_id"):
            return
        if not counter.test(budget, SCOPE, request.remote_addr or ""):
            raise ShopError("too_many_orders",
                            "Too many checkouts were started from your address. Please try again later.", 429)

    @app.after_request
    def count_created_orders(response: Response) -> Response:
        if created_an_order():
            counter.hit(budget, SCOPE, request.remote_addr or "")
        return response
