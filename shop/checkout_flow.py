"""One shopper request, start to end: read the checkout, apply the change, let `kco.checkout` decide and call
KCO, store the checkout, and shape the answer.

The checkout is a database row (shop/records.py); the session holds only its id. Each store names the version
of the row it started from. When another request stored the checkout meanwhile (another tab, or a KCO callback
that moved the market), the store changes nothing and the request starts again from the row as it is now:
its change is applied to the other request's result, never the other way round, and to a part the other one
set (the cart, the market) only if it came later (`Checkout.set_cart`). If this request's update may have
reached KCO after the other's, the next attempt forgets what the shop knew KCO holds; an order it created
that the row does not keep is aborted. A change that the shop rejects raises before anything is stored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from kco.checkout import COMPLETE, INCOMPLETE, Action, CheckoutSync, Outcome
from kco.client import time_budget
from kco.errors import KCOError
from kco.order_lines import OrderTotals
from shop import paid_orders
from shop.callbacks import confirmation_path, create_extras
from shop.cart import Checkout, arrival
from shop.errors import ShopError, kco_failure
from shop.pricing import cart_summary, kco_order_body, order_totals
from shop.records import SAVE_ATTEMPTS, CheckoutChanged, Records, checkout_columns
from shop.security import new_checkout_reference
from shop.settings import DEFAULT_TIME_BUDGET_SECONDS

# The page waits this much longer than the shop's time budget for KCO, so it gives up only after the shop.
PAGE_MARGIN_SECONDS = 2.0
PAGE_MESSAGES = {
    "kco_failed": _l("The checkout could not be reached just now. Your cart is saved; please reload the page "
                     "in a moment."),
    "cart_changed": _l("Your cart changed while you were paying, so the purchase was stopped. Please check "
                       "your order and complete it again."),
}

# A change to apply to the checkout, given when its request reached the shop (`Checkout.set_cart`).
Change = Callable[[Checkout, int], None]


@dataclass(frozen=True)
class PageLoad:
    checkout: Checkout
    outcome: Outcome
    answer: dict[str, Any]

    def message(self, error: str | None) -> LazyString | None:
        """What the page says above the widget: KCO failed while the page loaded, or the validation callback
        sent the shopper back (`/checkout?error=cart_changed`)."""
        if self.outcome.action is Action.FAILED:
            return PAGE_MESSAGES["kco_failed"]
        return PAGE_MESSAGES.get(error or "")


# What `CheckoutFlow.on_sync` is told after each page load or change: the checkout, the order body the cart
# called for (None: empty cart) and what kco.checkout did with it.
SyncObserver = Callable[[Checkout, Mapping[str, Any] | None, Outcome], None]


class CheckoutFlow:
    def __init__(self, sync: CheckoutSync, records: Records, secret_key: str,
                 public_base_url: Callable[[], str],
                 time_budget_seconds: float = DEFAULT_TIME_BUDGET_SECONDS) -> None:
        """`time_budget_seconds`: the most one page load, change or confirmation waits for KCO, whatever
        calls it needs (kco.client.time_budget); past it the shopper is told to try again, the cart kept."""
        self.sync = sync
        self.records = records
        self.secret_key = secret_key
        self.public_base_url = public_base_url
        self.time_budget_seconds = time_budget_seconds
        # Optional: the workshop inspector (workshop/inspector.py) records what was sent without building it
        # again.
        self.on_sync: SyncObserver | None = None

    def current(self, session: MutableMapping[str, Any]) -> Checkout:
        """The session's checkout as stored; a new one, not stored yet, when it has none."""
        return self.records.checkout(session.get("checkout_id")) or Checkout()

    # --- the two moments of kco.checkout ---------------------------------------------------------------

    def page_load(self, session: MutableMapping[str, Any]) -> PageLoad:
        with time_budget(self.time_budget_seconds):
            checkout, outcome, totals = self._sync(session, None)
        return PageLoad(checkout, outcome, self.answer(checkout, outcome, totals))

    def change(self, session: MutableMapping[str, Any], apply: Change) -> dict[str, Any]:
        """Apply a validated change to the cart or market and bring the KCO order in step with it."""
        with time_budget(self.time_budget_seconds):
            checkout, outcome, totals = self._sync(session, apply)
        answer = self.answer(checkout, outcome, totals)
        if outcome.action is Action.COMPLETED:
            raise ShopError("purchase_completed", _l("This purchase is already complete."), 409,
                            redirect=confirmation_path(outcome.order_id), **answer)
        if outcome.action is Action.FAILED:
            raise kco_failure(outcome.error, **answer)
        return answer

    def note(self, session: MutableMapping[str, Any], apply: Change) -> None:
        """A cart change made away from the checkout page (e.g. the catalogue): no KCO call now, but the
        checkout learns the cart, so KCO's validation callback sees what the shop holds
        (kco-rules: validation-callback)."""
        arrived = arrival()
        for _ in range(SAVE_ATTEMPTS):
            checkout = self.current(session)
            apply(checkout, arrived)
            try:
                self._store(session, checkout)
                return
            except CheckoutChanged:
                continue
        raise busy()

    def _sync(self, session: MutableMapping[str, Any],
              apply: Change | None) -> tuple[Checkout, Outcome, OrderTotals | None]:
        """A page load (`apply` None) or a change, with its KCO calls, stored; see the module docstring."""
        arrived = arrival()
        updated_order = None  # the order an earlier attempt updated, maybe after another request did
        for _ in range(SAVE_ATTEMPTS):
            checkout = self.current(session)
            stored = checkout_columns(checkout)
            if apply is not None:
                apply(checkout, arrived)  # raises ShopError for bad input: nothing has been stored yet
            totals = order_totals(checkout)  # built and checked once, for KCO and for the answer
            desired = kco_order_body(checkout, totals=totals)
            reference = new_checkout_reference()  # used only if an order is created
            outcome = self._already_paid(checkout) or self._call_kco(
                checkout, desired, partial(self.create_extras, reference),
                page_load=apply is None, known=checkout.order_id != updated_order)
            self._learn(checkout, outcome, reference)
            try:
                if checkout_columns(checkout) != stored:
                    self._store(session, checkout)
            except CheckoutChanged:
                if outcome.action is Action.UPDATED:
                    updated_order = outcome.order_id
                if outcome.action is Action.CREATED:
                    self._abort_unkept(outcome.order_id)
                continue
            if self.on_sync is not None:
                self.on_sync(checkout, desired, outcome)
            return checkout, outcome, totals
        raise busy()

    def _call_kco(self, checkout: Checkout, desired: Mapping[str, Any] | None,
                  create_extras: Callable[[], Mapping[str, Any]], page_load: bool, known: bool) -> Outcome:
        if page_load:
            return self.sync.on_page_load(checkout.order_id, desired, create_extras)
        fingerprint = checkout.kco_fingerprint if known else None
        return self.sync.on_change(checkout.order_id, desired, fingerprint, create_extras)

    def _store(self, session: MutableMapping[str, Any], checkout: Checkout) -> None:
        self.records.save(checkout)
        if session.get("checkout_id") != checkout.id:
            session["checkout_id"] = checkout.id

    def _abort_unkept(self, order_id: str | None) -> None:
        """An order this request created but could not store (another request stored the checkout first):
        nobody can reach it, and its callbacks find no checkout, so KCO refuses to complete it; aborted too,
        best effort."""
        try:
            self.sync.client.abort_order(order_id or "")
        except KCOError:
            pass

    def confirmation(self, session: MutableMapping[str, Any],
                     order_id: str) -> paid_orders.Confirmation | None:
        """The purchase's end (merchant_urls.confirmation): `paid_orders.confirmation`, within the time
        budget."""
        with time_budget(self.time_budget_seconds):
            return paid_orders.confirmation(self.sync.client, self.records, session, order_id)

    # --- pieces ------------------------------------------------------------------------------------------

    @staticmethod
    def _already_paid(checkout: Checkout) -> Outcome | None:
        """COMPLETED, without a KCO call, when the checkout's order is recorded (e.g. by KCO's push) but the
        shopper never reached the confirmation page that starts a new checkout."""
        if checkout.order_id and checkout.paid:
            return Outcome(Action.COMPLETED, checkout.order_id)
        return None

    @staticmethod
    def answer(checkout: Checkout, outcome: Outcome | None = None,
               totals: OrderTotals | None = None) -> dict[str, Any]:
        """The JSON answer of the cart API: cart, order, and html_snippet for a new order only.
        `totals`: `pricing.order_totals` of this checkout, when the caller has it."""
        order = None
        if checkout.order_id and checkout.cart:
            completed = outcome.action is Action.COMPLETED if outcome is not None else checkout.paid
            order = {"order_id": checkout.order_id, "status": COMPLETE if completed else INCOMPLETE}
        answer: dict[str, Any] = {
            "cart": cart_summary(checkout, totals),
            "order": order,
        }
        if outcome is not None and outcome.action is Action.CREATED and outcome.html_snippet:
            answer["html_snippet"] = outcome.html_snippet
        return answer

    def create_extras(self, reference: str) -> dict[str, Any]:
        return create_extras(self.public_base_url(), self.secret_key, reference)

    @staticmethod
    def _learn(checkout: Checkout, outcome: Outcome, reference: str) -> None:
        """What the checkout knows of its KCO order after `outcome`."""
        if outcome.action is Action.CREATED:
            # The replaced order (if any) loses its reference with it: its callbacks then find no checkout,
            # so its validation is refused and it cannot be paid even if the abort failed (kco/checkout.py).
            checkout.order_id = outcome.order_id
            checkout.reference = reference
            checkout.kco_fingerprint = outcome.fingerprint
            checkout.kco_cart = dict(checkout.cart)
        elif outcome.action is Action.FAILED and outcome.order_id is None and checkout.order_id:
            # KCO gave the order up (aborted, or read-only yet unpaid) and no new one could be made: keep no
            # order rather than one nobody can pay; the next page load creates one.
            checkout.order_id = None
            checkout.reference = None
            checkout.kco_fingerprint = None
            checkout.kco_cart = None
        elif outcome.action in (Action.UPDATED, Action.UNCHANGED):
            checkout.kco_fingerprint = outcome.fingerprint
            checkout.kco_cart = dict(checkout.cart)
        elif outcome.stale:
            checkout.kco_fingerprint = None  # kco_cart stays the last confirmed one; validation catches drift


def busy() -> ShopError:
    return ShopError("checkout_busy", _l("Your cart is being changed in another tab. Please try again."), 409)


def sync_timeout_ms(time_budget_seconds: float) -> int:
    """How long the checkout page waits for one cart or market change (`data-timeout-ms`): the shop's time
    budget for KCO, plus a margin for the shop itself."""
    return round((time_budget_seconds + PAGE_MARGIN_SECONDS) * 1000)
