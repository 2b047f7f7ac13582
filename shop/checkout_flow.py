"""One shopper request, start to end: read the session, apply the change, let `kco.checkout` decide and call
KCO, write the session and the checkout row, and shape the answer.

`CheckoutFlow.page_load` and `CheckoutFlow.change` do "read session -> decide -> KCO call -> write session"
for the checkout, `CheckoutFlow.confirmation` the same for the purchase's end; the per-session lock (needed
when two tabs post at once, shop/session_lock.py) wraps every session-writing request, these included.
A change that the shop rejects raises before anything is written, so a rejected request changes nothing.
Each writer of the checkout row writes only the columns it owns, so a KCO callback that lands during a KCO
call here is never undone by this request's older copy of the row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from kco.checkout import COMPLETE, INCOMPLETE, UPDATE_RETRY_WAITS, Action, CheckoutSync, Outcome
from kco.client import ClientConfig
from kco.errors import KCOApiError, KCOError
from kco.markets import MARKETS
from kco.order_lines import OrderTotals
from shop.callbacks import recorded_fraud_status
from shop.cart import ShopperState
from shop.errors import ShopError, kco_failure
from shop.pricing import cart_summary, kco_order_body, order_totals
from shop.records import Checkout, Records
from shop.security import callback_token, new_checkout_reference

# notification: the outcome of a fraud review of a pending order (kco-rules: pending-orders).
CALLBACKS = ("push", "notification", "validation", "address_update", "country_change",
             "shipping_option_update")
# Replaced by KCO in every merchant URL (kco-rules: merchant-urls).
ORDER_ID_PLACEHOLDER = "{checkout.order.id}"
# One change makes at most seven KCO calls (update; if KCO refuses it, a read and two more updates; then
# abort, a read if the abort says read-only, and create), each bounded by the connect and read timeouts, plus
# the waits between the updates. The page waits one call and a margin longer, so it gives up only after the
# shop.
CALLS_PER_CHANGE = 7
SYNC_MARGIN_MS = 2000 + round(sum(UPDATE_RETRY_WAITS) * 1000)
PAGE_MESSAGES = {
    "kco_failed": "The checkout could not be reached just now. Your cart is saved; please reload the page "
                  "in a moment.",
    "cart_changed": "Your cart changed while you were paying, so the purchase was stopped. Please check your "
                    "order and complete it again.",
}


@dataclass(frozen=True)
class PageLoad:
    state: ShopperState
    outcome: Outcome
    answer: dict[str, Any]

    def message(self, error: str | None) -> str | None:
        """What the page says above the widget: KCO failed while the page loaded, or the validation callback
        sent the shopper back (`/checkout?error=cart_changed`)."""
        if self.outcome.action is Action.FAILED:
            return PAGE_MESSAGES["kco_failed"]
        return PAGE_MESSAGES.get(error or "")


@dataclass(frozen=True)
class Confirmation:
    state: ShopperState
    order_id: str
    html_snippet: str  # KCO's confirmation snippet; "" once the Checkout API no longer has the order
    # The fraud review as recorded (shop/callbacks.py): "pending" tells the shopper the payment is under
    # review; None when Order Management could not be read yet (the push records it later).
    fraud_status: str | None = None


# What `CheckoutFlow.on_sync` is told after each page load or change: the state, the order body the cart
# called for (None: empty cart) and what kco.checkout did with it.
SyncObserver = Callable[[ShopperState, Mapping[str, Any] | None, Outcome], None]


class CheckoutFlow:
    def __init__(self, sync: CheckoutSync, records: Records, secret_key: str,
                 public_base_url: Callable[[], str]) -> None:
        self.sync = sync
        self.records = records
        self.secret_key = secret_key
        self.public_base_url = public_base_url
        # Optional: the workshop inspector (workshop/inspector.py) records what was sent without building it
        # again.
        self.on_sync: SyncObserver | None = None

    # --- the two moments of kco.checkout ---------------------------------------------------------------

    def page_load(self, session: MutableMapping[str, Any]) -> PageLoad:
        state, checkout = self.load(session)
        totals = self.totals(state, checkout)  # built and checked once, for KCO and for the answer
        desired = self.desired(state, checkout, totals)
        reference = new_checkout_reference()  # used only if an order is created
        outcome = self._already_paid(state, checkout) or self.sync.on_page_load(
            state.order_id, desired, lambda: self.create_extras(reference))
        self._store(state, checkout, outcome, reference)
        state.save_to(session)
        self._observe(state, desired, outcome)
        return PageLoad(state, outcome, self.answer(state, checkout, outcome, totals))

    def change(self, session: MutableMapping[str, Any],
               apply: Callable[[ShopperState], None]) -> dict[str, Any]:
        """Apply a validated change to the cart or market and bring the KCO order in step with it."""
        state, checkout = self.load(session)
        apply(state)  # raises ShopError for bad input: nothing has been written yet
        totals = self.totals(state, checkout)  # built and checked once, for KCO and for the answer
        desired = self.desired(state, checkout, totals)
        reference = new_checkout_reference()  # used only if an order is created
        outcome = self._already_paid(state, checkout) or self.sync.on_change(
            state.order_id, desired, checkout.kco_fingerprint if checkout else None,
            lambda: self.create_extras(reference))
        self._store(state, checkout, outcome, reference)
        state.save_to(session)  # kept even when KCO failed: the shopper's change is not lost
        self._observe(state, desired, outcome)
        answer = self.answer(state, checkout, outcome, totals)
        if outcome.action is Action.COMPLETED:
            raise ShopError("purchase_completed", "This purchase is already complete.", 409,
                            redirect=confirmation_path(outcome.order_id), **answer)
        if outcome.action is Action.FAILED:
            raise kco_failure(outcome.error, **answer)
        return answer

    def confirmation(self, session: MutableMapping[str, Any], order_id: str) -> Confirmation | None:
        """The purchase's end (merchant_urls.confirmation): KCO's confirmation snippet, the order recorded,
        and a fresh cart. None while KCO says the order is not complete: the shopper belongs on the checkout.
        A failed KCO call raises its KCOError, which shop/errors.py answers.

        A completed order is not yet a paid one: with fraud review it may be pending
        (kco-rules: pending-orders), which only Order Management says, so a first visit reads it there too."""
        state = ShopperState.from_session(session)
        if not order_id or order_id not in (state.order_id, state.confirmed_order_id):
            raise ShopError("not_found", "There is no such order in your session.", 404)
        order: Mapping[str, Any] | None
        try:
            order = self.sync.client.read_order(order_id)
        except KCOApiError as error:
            # A completed order may later 404 on the Checkout API while Order Management still has it
            # (kco-rules: completed-order-may-404): a reload then shows the thank-you without KCO's snippet.
            recorded = self.records.order(order_id) if error.status == 404 else None
            if recorded is None:
                raise
            order = None  # recorded already (by the push or an earlier visit): the cart is cleared below too
        else:
            if order.get("status") != COMPLETE:
                return None
            recorded = self.records.order(order_id) or self._record_with_fraud_status(order)
        if state.order_id == order_id:
            state.cart, state.order_id, state.confirmed_order_id = {}, None, order_id
            state.save_to(session)
        return Confirmation(state, order_id, order.get("html_snippet", "") if order is not None else "",
                            fraud_status=recorded["fraud_status"] if recorded is not None else None)

    def _record_with_fraud_status(self, order: Mapping[str, Any]) -> dict[str, Any] | None:
        """Records the order with Order Management's fraud review; the recorded row, or None if OM failed."""
        try:
            om_order = self.sync.client.read_om_order(order["order_id"])
        except KCOError:
            return None  # not recorded now: KCO's push reads Order Management again and records it
        self.records.record_order(order, recorded_by="confirmation",
                                  fraud_status=recorded_fraud_status(om_order))
        return self.records.order(order["order_id"])  # ours, or the push's if it recorded it first

    def note_cart(self, session: MutableMapping[str, Any], apply: Callable[[ShopperState], None]) -> None:
        """A cart change made away from the checkout page (e.g. the catalogue): no KCO call now, but the
        checkout row learns the cart, so KCO's validation callback sees what the shop holds
        (kco-rules: validation-callback)."""
        state, checkout = self.load(session)
        apply(state)
        if checkout is not None and not _same(checkout.cart, state.cart):
            checkout.cart = dict(state.cart)
            self.records.save_checkout(checkout, ("cart",))
        state.save_to(session)

    # --- pieces ------------------------------------------------------------------------------------------

    def _already_paid(self, state: ShopperState, checkout: Checkout | None) -> Outcome | None:
        """COMPLETED, without a KCO call, when the session's order is recorded (e.g. by KCO's push) but the
        shopper never reached the confirmation page that starts a fresh cart. `load` read the answer with
        the checkout row (`Checkout.paid`)."""
        if not state.order_id:
            return None
        if checkout is not None and checkout.order_id == state.order_id:
            paid = checkout.paid
        else:
            paid = self.records.order(state.order_id) is not None
        return Outcome(Action.COMPLETED, state.order_id) if paid else None

    def load(self, session: MutableMapping[str, Any]) -> tuple[ShopperState, Checkout | None]:
        """The session's state, having adopted a market KCO moved the order to (country_change callback)."""
        state = ShopperState.from_session(session)
        checkout = self.records.checkout(state.order_id)
        if state.order_id and checkout is None:
            # Without its row the shop cannot answer this order's callbacks (token, cart): start afresh.
            state.order_id = None
        if checkout is not None and checkout.market_revision > state.market_revision:
            state.country, state.locale = checkout.country, checkout.locale
            state.market_revision = checkout.market_revision
        return state, checkout

    def totals(self, state: ShopperState, checkout: Checkout | None) -> OrderTotals | None:
        """The order lines and sums of the cart (shop.pricing.order_totals); None for an empty cart."""
        if not any(quantity > 0 for quantity in state.cart.values()):
            return None
        return order_totals(state.cart, state.market, *_shipping_and_region(state, checkout))

    def desired(self, state: ShopperState, checkout: Checkout | None,
                totals: OrderTotals | None = None) -> dict[str, Any] | None:
        shipping_id, us_region = _shipping_and_region(state, checkout)
        return kco_order_body(state.cart, state.market, state.locale, shipping_id, us_region, totals)

    def answer(self, state: ShopperState, checkout: Checkout | None,
               outcome: Outcome | None = None, totals: OrderTotals | None = None) -> dict[str, Any]:
        """The JSON answer of the cart API: cart, order, and html_snippet for a new order only.

        `checkout` is the row `load` returned; a replacing order inherits its shipping choice and US region.
        `totals`: what `totals` returned for this state, when the caller has it.
        """
        shipping_id, us_region = _shipping_and_region(state, checkout)
        order = None
        if state.order_id and state.cart:
            if outcome is not None:
                completed = outcome.action is Action.COMPLETED
            elif checkout is not None and checkout.order_id == state.order_id:
                completed = checkout.paid  # read with the row
            else:
                completed = self.records.order(state.order_id) is not None
            order = {"order_id": state.order_id, "status": COMPLETE if completed else INCOMPLETE}
        answer: dict[str, Any] = {
            "cart": cart_summary(state.cart, state.market, state.locale, shipping_id, us_region, totals),
            "order": order,
        }
        if outcome is not None and outcome.action is Action.CREATED and outcome.html_snippet:
            answer["html_snippet"] = outcome.html_snippet
        return answer

    def create_extras(self, reference: str) -> dict[str, Any]:
        """What only a create sends: merchant URLs with the callback token, countries, our reference."""
        base = self.public_base_url()
        token = callback_token(self.secret_key, reference)
        query = f"order_id={ORDER_ID_PLACEHOLDER}&token={token}"
        return {
            "merchant_reference2": reference,
            # terms, checkout, confirmation and push are required (kco-rules: merchant-urls); the other
            # callbacks are optional, and KCO calls them only when they are set.
            "merchant_urls": {
                "terms": f"{base}/terms",
                "checkout": f"{base}/checkout",
                "confirmation": f"{base}{confirmation_path(ORDER_ID_PLACEHOLDER)}",
                **{name: f"{base}/kco/callbacks/{name}?{query}" for name in CALLBACKS},
            },
            # Lets the shopper pick another country inside the widget
            # (kco-rules: order-fields, market-change).
            "billing_countries": list(MARKETS),
            "shipping_countries": list(MARKETS),
            # Without it a missing or late validation answer counts as approval, so a purchase could
            # complete with a cart the shop never checked; with it KCO waits 10 s and then fails the purchase
            # (kco-rules: order-options, validation-callback).
            "options": {"require_validate_callback_success": True},
        }

    def _store(self, state: ShopperState, checkout: Checkout | None, outcome: Outcome,
               reference: str) -> None:
        if outcome.action is Action.CREATED:
            assert outcome.order_id is not None
            state.order_id = outcome.order_id
            shipping_id, us_region = _shipping_and_region(state, checkout)
            self.records.add_checkout(Checkout(
                order_id=outcome.order_id, reference=reference, cart=dict(state.cart),
                kco_cart=dict(state.cart), country=state.country,
                locale=state.locale, shipping_option_id=shipping_id, us_region=us_region,
                kco_fingerprint=outcome.fingerprint, market_revision=state.market_revision,
            ))
            if checkout is not None and checkout.order_id == outcome.replaced_order_id:
                # The replaced order: with no cart held for it, its validation is refused
                # (order_matches_shop), so it cannot be paid even if the abort failed (kco/checkout.py).
                checkout.cart = {}
                self.records.save_checkout(checkout, ("cart",))
            return
        if outcome.action is Action.FAILED and outcome.order_id is None and state.order_id:
            # KCO gave the order up (aborted, or read-only yet unpaid) and no new one could be made: keep no
            # order rather than one nobody can pay; the next page load creates one.
            state.order_id = None
            if checkout is not None:
                checkout.cart = {}  # and its validation is refused, like a replaced order's
                self.records.save_checkout(checkout, ("cart",))
            return
        if checkout is None or outcome.action is Action.COMPLETED:
            return
        row: dict[str, Any] = {"cart": dict(state.cart)}
        if (state.country, state.locale) != (checkout.country, checkout.locale):
            # Only the shopper's own market change is written: a country_change callback that moved the order
            # during the KCO call above keeps its market (and revision) in the row.
            row.update(country=state.country, locale=state.locale)
        if outcome.action in (Action.UPDATED, Action.UNCHANGED):
            row.update(kco_fingerprint=outcome.fingerprint, kco_cart=dict(state.cart))
        elif outcome.stale:
            row["kco_fingerprint"] = None  # kco_cart stays the last confirmed one; validation catches drift
        # Of these, only what differs from the row as loaded is written, and nothing when all is the same
        # (e.g. the same cart sent again): writing back a loaded value could only undo a callback's write.
        changed = [name for name, value in row.items() if not _same(getattr(checkout, name), value)]
        if changed:
            for name in changed:
                setattr(checkout, name, row[name])
            self.records.save_checkout(checkout, changed)

    def _observe(self, state: ShopperState, desired: Mapping[str, Any] | None, outcome: Outcome) -> None:
        if self.on_sync is not None:
            self.on_sync(state, desired, outcome)


def confirmation_path(order_id: str | None) -> str:
    return f"/confirmation?order_id={order_id}"


def sync_timeout_ms(kco: ClientConfig) -> int:
    """How long the checkout page waits for one cart or market change (`data-timeout-ms`): the most KCO
    calls one change may make, each at its connect and read timeouts, plus a margin for the shop itself."""
    per_call_ms = (kco.connect_timeout + kco.read_timeout) * 1000
    return round((CALLS_PER_CHANGE + 1) * per_call_ms + SYNC_MARGIN_MS)


def _shipping_and_region(state: ShopperState, checkout: Checkout | None) -> tuple[str | None, str | None]:
    if checkout is None:
        return None, None
    return checkout.shipping_option_id, checkout.us_region if state.country == "US" else None


def _same(stored: Any, value: Any) -> bool:
    """Equal, and for carts also in the same order: the order of the lines KCO shows follows the cart's."""
    if isinstance(stored, dict) and isinstance(value, dict):
        return list(stored.items()) == list(value.items())
    return bool(stored == value)
