"""How many checkouts one client may start: without a budget, a loop of new sessions could store a session and
a checkout per request, and create a KCO order per checkout.

A fixed-window counter per client address (the `limits` library) counts the requests that stored a new
checkout for a session that had none (CHECKOUT_CREATION_LIMIT, e.g. "30 per hour"). Once it is spent, such
requests are refused with 429 `too_many_checkouts`. A checkout creates a KCO order when the shopper opens the
checkout, and another only when KCO gave that one up, which a client cannot repeat at will: so the budget
bounds the stored sessions, the checkouts and the KCO orders alike. A shopper who has a checkout is never
counted, and costs the counter nothing. The counter lives in Redis when REDIS_URL is set (shared by every
process), else in each process's memory.

Behind a reverse proxy every client has the proxy's address: put Werkzeug's ProxyFix in front so the
client's own address counts (docs/security.md).
"""

from __future__ import annotations

from flask import Flask, Response, g, request, session
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from shop.errors import ShopError
from shop.settings import Settings, SettingsError

# The app.py views that may store a new checkout.
CHECKOUT_CREATING_VIEWS = frozenset({"shop.add_to_cart", "shop.replace_cart", "shop.change_market"})
SCOPE = "checkouts"


def init_app(app: Flask, settings: Settings) -> None:
    try:
        budget = parse(settings.checkout_creation_limit)
    except ValueError:
        raise SettingsError("CHECKOUT_CREATION_LIMIT must be a rate such as '30 per hour'") from None
    counter = FixedWindowRateLimiter(storage_from_string(settings.redis_url or "memory://"))

    @app.before_request
    def refuse_when_spent() -> None:
        g.had_checkout = "checkout_id" in session
        if request.endpoint not in CHECKOUT_CREATING_VIEWS or g.had_checkout:
            return
        if not counter.test(budget, SCOPE, request.remote_addr or ""):
            raise ShopError("too_many_checkouts",
                            "Too many checkouts were started from your address. Please try again later.", 429)

    @app.after_request
    def count_new_checkouts(response: Response) -> Response:
        if not g.get("had_checkout", True) and "checkout_id" in session:
            counter.hit(budget, SCOPE, request.remote_addr or "")
        return response
