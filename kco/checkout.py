"""The decisions that keep one KCO checkout order in step with the shop's cart and market.

Two moments matter (kco-rules: update-ongoing-order):

* `CheckoutSync.on_page_load`: the checkout page is (re)loaded. With no order yet, create one. With an
  order id, read it once: gone or failing (4xx/5xx, unreachable) -> replace it with a new one;
  `checkout_complete` -> the purchase is done, show the confirmation and never update it; content differs
  from the cart -> update; same -> nothing more.
* `CheckoutSync.on_change`: the shopper changed the cart or the market on the page. Update directly (no read
  first) unless the content equals what the shop last knew KCO holds; other 4xx/5xx -> replace the order and
  hand back the new snippet; unreachable -> keep the order, mark the shop's knowledge stale, tell the caller.

A refused update is checked with one read before anything is thrown away (both paths). KCO locks an order
while it calls the merchant back (kco-rules: callback-lock), with a status that is not documented: any but
404 (unknown or expired) and 401 (credentials) may be that lock, 403 `READ_ONLY_ORDER` and 400 included.

* the order reads `checkout_complete`: the purchase is done, the shopper belongs on the confirmation;
* it reads `checkout_incomplete`: the update is tried again after a short wait, at most twice within about
  1 s; only an order still refused is replaced;
* a read-only order that never reads `checkout_complete` (e.g. one KCO aborted, kco-rules: aborted-orders) is
  replaced by a new order, never sent to the confirmation, so a shopper can never bounce between checkout and
  confirmation.

Replacing an order that may still be live (any failure but 404) aborts it first, so the shopper never has two
payable orders, e.g. one in another tab (kco-rules: new-order-on-error; 404 = unknown or expired, nothing to
abort).

"Content" is what the shop decides (lines, amounts, country, currency, locale); `content_fingerprint` reduces
it to a string, so the shop can remember what KCO holds without keeping the whole order. An empty cart never
creates an order. A create is never retried here: a timed-out create may have succeeded at KCO, and a
second attempt could leave two orders for one change (the client does not retry it either).

Plain Python, no web framework: the shop passes in the client and the payloads it built.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from kco.client import sleep_within_budget
from kco.errors import KCOApiError, KCOError, KCOUnreachable

LINE_FIELDS = ("type", "reference", "name", "quantity", "unit_price", "tax_rate", "total_amount",
               "total_discount_amount", "total_tax_amount")
# Optional line fields and the value KCO assumes when they are omitted (kco-rules: order-line-fields: `type`
# optional, `total_discount_amount` >= 0). Treating "physical" as the default type is our reading [inferred].
LINE_DEFAULTS: dict[str, Any] = {"type": "physical", "total_discount_amount": 0}

INCOMPLETE = "checkout_incomplete"
COMPLETE = "checkout_complete"
# Refusals of an update that say all there is to know: 404, the order is unknown or expired (kco-rules:
# expiry-48h), and 401, the shop's credentials are wrong. Any other refusal may be the lock KCO holds on the
# order while it calls the merchant back (kco-rules: callback-lock): the status it answers then is not
# documented, and 403 READ_ONLY_ORDER or 400 are as plausible as 409 or 423 [inferred]. Rate limits and server
# errors pass by themselves too.
FINAL_UPDATE_STATUSES = frozenset({401, 404})
# Waits before the retries of such an update: two retries, done within about 1 s [inferred: a refine callback
# usually answers well within that; KCO does not document how long the lock lasts].
UPDATE_RETRY_WAITS = (0.25, 0.5)


def may_pass(error: KCOError) -> bool:
    """True for a refusal of an update that a retry a moment later may not repeat."""
    return isinstance(error, KCOApiError) and error.status not in FINAL_UPDATE_STATUSES


class CheckoutClient(Protocol):
    """The part of `kco.client.KCOClient` the decisions use."""

    def create_order(self, order: Mapping[str, Any]) -> dict[str, Any]: ...
    def read_order(self, order_id: str) -> dict[str, Any]: ...
    def update_order(self, order_id: str, changes: Mapping[str, Any]) -> dict[str, Any]: ...
    def abort_order(self, order_id: str) -> dict[str, Any]: ...


# What only a create sends (merchant_urls, countries, references); called only when an order is created.
CreateExtras = Callable[[], Mapping[str, Any]]


def order_content(order: Mapping[str, Any]) -> dict[str, Any]:
    """The merchant-set content of an order or payload, normalised so that KCO's echo compares equal.

    KCO has answered `purchase_country` lower-cased (kco-rules: order-status, observed); locales are
    case-insensitive (RFC 1766), so both are compared in one case.
    """
    raw_lines = order.get("order_lines") or []
    if not isinstance(raw_lines, list):
        raw_lines = [raw_lines]  # a broken body (e.g. a forged callback): kept, so it never compares equal
    lines = [
        {name: line.get(name, LINE_DEFAULTS.get(name)) for name in LINE_FIELDS}
        if isinstance(line, Mapping) else {"not_an_order_line": repr(line)}
        for line in raw_lines
    ]
    return {
        "purchase_country": str(order.get("purchase_country", "")).upper(),
        "purchase_currency": str(order.get("purchase_currency", "")).upper(),
        "locale": str(order.get("locale", "")).lower(),
        "order_amount": order.get("order_amount"),
        "order_tax_amount": order.get("order_tax_amount"),
        "order_lines": lines,
    }


def content_fingerprint(order: Mapping[str, Any]) -> str:
    """A short, stable digest of `order_content`: equal fingerprints mean KCO needs no update."""
    canonical = json.dumps(order_content(order), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


class Action(StrEnum):
    NO_ORDER = "no_order"  # empty cart: no order, no KCO call
    UNCHANGED = "unchanged"  # KCO already holds this content
    UPDATED = "updated"
    CREATED = "created"  # a first order, or a new one replacing a broken/expired one
    COMPLETED = "completed"  # the shopper already paid: go to the confirmation
    FAILED = "failed"  # KCO unreachable or refused the create; `error` says which


@dataclass(frozen=True)
class Outcome:
    action: Action
    order_id: str | None
    html_snippet: str | None = None
    fingerprint: str | None = None  # of the content KCO holds now, when known
    error: KCOError | None = None
    stale: bool = False  # an update may or may not have reached KCO: the next page load reads it
    replaced_order_id: str | None = None  # set with CREATED when an older order was given up (and aborted)

    @property
    def unreachable(self) -> bool:
        return isinstance(self.error, KCOUnreachable)


class CheckoutSync:
    """Applies the decisions with one KCO client; every method makes the fewest calls the rules allow."""

    def __init__(self, client: CheckoutClient,
                 sleep: Callable[[float], None] = sleep_within_budget) -> None:
        self.client = client
        self._sleep = sleep

    def on_page_load(self, order_id: str | None, desired: Mapping[str, Any] | None,
                     create_extras: CreateExtras) -> Outcome:
        """Checkout page load: read once, then create, update or leave the order as the rules say.

        `desired` is the order body the cart calls for (content plus e.g. shipping_options) or None for an
        empty cart; `create_extras()` (merchant_urls, countries, references) is only sent on create.
        """
        if desired is None:
            return Outcome(Action.NO_ORDER, order_id)
        if order_id is None:
            return self._create(desired, create_extras, replacing=None)
        try:
            current = self.client.read_order(order_id)
        except KCOError as error:
            # On any 4xx/5xx (404 = expired or unknown) create a new order (kco-rules: new-order-on-error,
            # expiry-48h).
            # Unreachable too: a fresh order is the only way to show a checkout at all; if KCO is really
            # down, the create fails as well and the page says so.
            return self._replace(order_id, error, desired, create_extras)
        status = current.get("status")
        fingerprint = content_fingerprint(current)
        if status == COMPLETE:
            # kco-rules: order-status: a completed order is read-only; the shopper belongs on the
            # confirmation.
            return Outcome(Action.COMPLETED, order_id, fingerprint=fingerprint)
        if status != INCOMPLETE:
            # Any other status (e.g. after abort, which kco-rules: order-status leaves undocumented) cannot
            # be updated, nor, as far as the docs say, paid: nothing to abort.
            return self._create(desired, create_extras, replacing=order_id, given_up=True)
        wanted = content_fingerprint(desired)
        if fingerprint == wanted:
            return Outcome(Action.UNCHANGED, order_id, current.get("html_snippet"), fingerprint=fingerprint)
        return self._update(order_id, desired, create_extras,
                            snippet_if_unreachable=current.get("html_snippet"), sent_fingerprint=wanted)

    def on_change(self, order_id: str | None, desired: Mapping[str, Any] | None,
                  known_fingerprint: str | None, create_extras: CreateExtras) -> Outcome:
        """Cart or market changed on the page: update directly, without reading first
        (kco-rules: update-ongoing-order).

        `known_fingerprint` is what the shop last knew KCO holds (None when unknown/stale): equal content
        costs no KCO call, which also stops loops when the page repeats a change a callback already made.
        """
        if desired is None:
            return Outcome(Action.NO_ORDER, order_id, fingerprint=known_fingerprint)
        if order_id is None:
            return self._create(desired, create_extras, replacing=None)
        wanted = content_fingerprint(desired)
        if known_fingerprint == wanted:
            return Outcome(Action.UNCHANGED, order_id, fingerprint=known_fingerprint)
        return self._update(order_id, desired, create_extras, snippet_if_unreachable=None,
                            sent_fingerprint=wanted)

    def _update(self, order_id: str, desired: Mapping[str, Any], create_extras: CreateExtras,
                snippet_if_unreachable: str | None, sent_fingerprint: str,
                retry_waits: tuple[float, ...] | None = None) -> Outcome:
        """`sent_fingerprint`: `content_fingerprint(desired)`. An update KCO accepts (200) replaces each field
        it sends (checkout-v3-openapi.yml updateOrderMerchant), so KCO then holds that content and its
        fingerprint is not computed again from the answer. `retry_waits`: None for a first attempt; for a
        retry (`_after_refusal`), the waits before the retries still allowed."""
        try:
            updated = self.client.update_order(order_id, desired)
        except KCOUnreachable as error:
            # The update may or may not have been applied (a read timeout after sending): keep the order,
            # forget what KCO holds, and let the next page load read it (never create here: the order
            # is probably fine, and a second one would confuse the shopper).
            return Outcome(Action.FAILED, order_id, snippet_if_unreachable, error=error, stale=True)
        except KCOApiError as error:
            if may_pass(error) and retry_waits is None:
                return self._after_refusal(order_id, desired, create_extras, snippet_if_unreachable,
                                           sent_fingerprint)
            if may_pass(error) and retry_waits:
                self._sleep(retry_waits[0])
                return self._update(order_id, desired, create_extras, snippet_if_unreachable,
                                    sent_fingerprint, retry_waits[1:])
            # 401, 404, or a refusal that outlasted the retries -> create a new order (kco-rules:
            # new-order-on-error); `_replace` reads an order that refuses its abort as read-only first.
            return self._replace(order_id, error, desired, create_extras)
        except KCOError as error:
            return self._replace(order_id, error, desired, create_extras)  # an unusable 2xx answer
        return Outcome(Action.UPDATED, order_id, updated.get("html_snippet"), fingerprint=sent_fingerprint)

    def _after_refusal(self, order_id: str, desired: Mapping[str, Any], create_extras: CreateExtras,
                       snippet_if_unreachable: str | None, sent_fingerprint: str) -> Outcome:
        """An update refused with a status that may pass, read-only included: read the order before
        deciding."""
        try:
            current = self.client.read_order(order_id)
        except KCOUnreachable as error:
            # The refusal said the update was not applied; with no answer now, the next load reads again.
            return Outcome(Action.FAILED, order_id, snippet_if_unreachable, error=error, stale=True)
        except KCOError as error:
            return self._replace(order_id, error, desired, create_extras)
        status = current.get("status")
        if status == COMPLETE:
            # kco-rules: status-codes: completed meanwhile; the shopper belongs on the confirmation.
            return Outcome(Action.COMPLETED, order_id, fingerprint=content_fingerprint(current))
        if status != INCOMPLETE:
            # A status that cannot be updated (kco-rules: aborted-orders): nobody can pay it, so there is
            # nothing to abort; the shopper gets a new order.
            return self._create(desired, create_extras, replacing=order_id, given_up=True)
        # Still open: the refusal, whatever its status, may be a callback's lock (kco-rules: callback-lock).
        # Retry after each of UPDATE_RETRY_WAITS; an order still refused after the last is replaced
        # (kco-rules: new-order-on-error, read-only-not-complete).
        self._sleep(UPDATE_RETRY_WAITS[0])
        return self._update(order_id, desired, create_extras, snippet_if_unreachable, sent_fingerprint,
                            UPDATE_RETRY_WAITS[1:])

    def _replace(self, order_id: str, failure: KCOError, desired: Mapping[str, Any],
                 create_extras: CreateExtras) -> Outcome:
        """Give up `order_id`, which KCO would not read or update, for a new order.

        Unless KCO said 404 (unknown or expired, kco-rules: expiry-48h), the old order may still be live and
        payable, e.g. in another tab: abort it first, once and best effort (kco-rules: status-codes). A failed
        abort is no reason to keep the shopper without a checkout; the shop also stops approving the old
        order's validation.
        """
        if isinstance(failure, KCOApiError) and failure.status == 404:
            return self._create(desired, create_extras, replacing=order_id)
        try:
            self.client.abort_order(order_id)
        except KCOError as error:
            if isinstance(error, KCOApiError) and error.is_read_only_order:
                # kco-rules: status-codes: read-only = completed, unless a read says otherwise
                # (kco-rules: aborted-orders). The failed read/update may have hidden a purchase.
                return self._read_only_abort(order_id, desired, create_extras)
            return self._create(desired, create_extras, replacing=order_id)  # best effort, see above
        return self._create(desired, create_extras, replacing=order_id, given_up=True)

    def _read_only_abort(self, order_id: str, desired: Mapping[str, Any],
                         create_extras: CreateExtras) -> Outcome:
        try:
            status = self.client.read_order(order_id).get("status")
        except KCOError:
            status = None  # no better knowledge: the confirmation page reads it again
        if status in (COMPLETE, None):
            return Outcome(Action.COMPLETED, order_id)
        return self._create(desired, create_extras, replacing=order_id, given_up=True)

    def _create(self, desired: Mapping[str, Any], create_extras: CreateExtras,
                replacing: str | None, given_up: bool = False) -> Outcome:
        """`given_up`: the replaced order is aborted or read-only, so if the create fails the shopper keeps no
        order at all (order_id None) rather than one that can never be paid."""
        try:
            created = self.client.create_order({**desired, **create_extras()})
        except KCOError as error:
            # Never retried: a timed-out create may exist at KCO, a retry could make a second order.
            kept = None if given_up else replacing
            return Outcome(Action.FAILED, kept, error=error, stale=kept is not None)
        return Outcome(Action.CREATED, created["order_id"], created.get("html_snippet"),
                       fingerprint=content_fingerprint(created), replaced_order_id=replacing)
