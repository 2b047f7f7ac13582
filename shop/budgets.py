"""How many checkouts one client may start: without a budget, a loop of new sessions could store a session and
a checkout per request, and create a KCO order per checkout.

A fixed-window counter per client address (the `limits` library) counts the requests that would store a new
checkout for a session that has none (CHECKOUT_CREATION_LIMIT, e.g. "30 per hour"). Once it is spent, such
requests are refused with 429 `too_many_checkouts`. A checkout creates a KCO order when the shopper opens the
checkout, and another only when KCO gave that one up, which a client cannot repeat at will: so the budget
bounds the stored sessions, the checkouts and the KCO orders alike. A shopper who has a checkout is never
counted, and costs the counter nothing. The counter lives in Redis when REDIS_URL is set (shared by every
process), else in each process's memory.

Behind reverse proxies every client has the last proxy's address: TRUSTED_PROXIES puts Werkzeug's ProxyFix
in front (app.py), so the client's own address counts.
"""

from __future__ import annotations

from flask import Flask, request, session
from flask_babel import lazy_gettext as _l
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
    def count_new_checkouts() -> None:
        # Counted before the request runs, in one atomic step: requests at the same moment cannot all slip
        # under the budget before any of them is counted. A request that then stores nothing (bad input) has
        # spent a unit all the same.
        if request.endpoint not in CHECKOUT_CREATING_VIEWS or "checkout_id" in session:
            return
        if not counter.hit(budget, SCOPE, request.remote_addr or ""):
            raise ShopError("too_many_checkouts", _l("Too many checkouts were started from your address. "
                                                   "Please try again later."), 429)
