"""The decisions of kco/checkout.py, one test per rule, against a fake KCO client that counts its calls."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Mapping
from typing import Any

import pytest

from kco.checkout import Action, CheckoutSync, content_fingerprint, may_pass, order_content
from kco.errors import KCOApiError, KCOError, KCOProtocolError, KCOUnreachable


def extras() -> dict[str, Any]:
    """What the shop sends only on create (the decisions take it as a callable, built only when needed)."""
    return {"merchant_reference2": "ref-1", "merchant_urls": {"terms": "http://shop/terms"}}


def order_body(quantity: int = 1, country: str = "SE", currency: str = "SEK", locale: str = "sv-SE",
               unit_price: int = 10000) -> dict[str, Any]:
    total = quantity * unit_price
    tax = total - total * 10000 // 12500
    return {
        "purchase_country": country, "purchase_currency": currency, "locale": locale,
        "order_amount": total, "order_tax_amount": tax,
        "order_lines": [{"type": "physical", "reference": "mug", "name": "Mug", "quantity": quantity,
                         "unit_price": unit_price, "tax_rate": 2500, "total_amount": total,
                         "total_discount_amount": 0, "total_tax_amount": tax}],
    }


class FakeKCO:
    """Holds orders in memory like KCO; `fail[operation]` lists errors to raise on the next calls
    (None: that call answers as usual)."""

    def __init__(self) -> None:
        self.orders: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, str | None]] = []
        self.fail: dict[str, list[KCOError | None]] = {}
        self._ids = itertools.count(1)

    def _maybe_fail(self, operation: str) -> None:
        if self.fail.get(operation):
            error = self.fail[operation].pop(0)
            if error is not None:  # None: this call answers as usual
                raise error

    def create_order(self, order: Mapping[str, Any]) -> dict[str, Any]:
        self.calls.append(("create", None))
        self._maybe_fail("create")
        order_id = f"order-{next(self._ids)}"
        self.orders[order_id] = {**order, "order_id": order_id, "status": "checkout_incomplete",
                                 "purchase_country": str(order["purchase_country"]).lower(),
                                 "html_snippet": f"<div>{order_id}</div>"}
        return dict(self.orders[order_id])

    def read_order(self, order_id: str) -> dict[str, Any]:
        self.calls.append(("read", order_id))
        self._maybe_fail("read")
        if order_id not in self.orders:
            raise KCOApiError("read", 404)
        return dict(self.orders[order_id])

    def update_order(self, order_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        self.calls.append(("update", order_id))
        self._maybe_fail("update")
        if self.orders[order_id]["status"] == "checkout_complete":
            raise KCOApiError("update", 403, "READ_ONLY_ORDER", ["Resource is read-only"])
        self.orders[order_id].update(changes)
        return dict(self.orders[order_id])

    def abort_order(self, order_id: str) -> dict[str, Any]:
        self.calls.append(("abort", order_id))
        self._maybe_fail("abort")
        if order_id not in self.orders or self.orders[order_id]["status"] == "aborted":
            raise KCOApiError("abort", 404)
        if self.orders[order_id]["status"] == "checkout_complete":
            raise KCOApiError("abort", 403, "READ_ONLY_ORDER", ["Resource is read-only"])
        self.orders[order_id]["status"] = "aborted"
        return dict(self.orders[order_id])

    def operations(self) -> list[str]:
        return [operation for operation, _ in self.calls]


@pytest.fixture
def kco() -> FakeKCO:
    return FakeKCO()


@pytest.fixture
def sync(kco: FakeKCO) -> CheckoutSync:
    return CheckoutSync(kco, sleep=lambda _seconds: None)  # the retry waits of a refused update, skipped


def created(sync: CheckoutSync, kco: FakeKCO, body: dict[str, Any] | None = None) -> str:
    outcome = sync.on_page_load(None, body or order_body(), extras)
    kco.calls.clear()
    assert outcome.order_id
    return outcome.order_id


# --- fingerprints ------------------------------------------------------------------------------------------

def test_fingerprint_ignores_case_of_country_and_locale_and_fields_kco_adds() -> None:
    echoed = {**order_body(), "purchase_country": "se", "locale": "SV-se", "status": "checkout_incomplete",
              "html_snippet": "<div/>", "shipping_options": [{"id": "standard"}]}
    assert content_fingerprint(echoed) == content_fingerprint(order_body())


def test_fingerprint_treats_omitted_optional_line_fields_as_their_defaults() -> None:
    body = order_body()
    trimmed = {**body, "order_lines": [{key: value for key, value in body["order_lines"][0].items()
                                        if key not in ("type", "total_discount_amount")}]}
    assert order_content(trimmed) == order_content(body)


@pytest.mark.parametrize("change", [
    {"locale": "en-SE"}, {"purchase_country": "DE"}, {"purchase_currency": "EUR"}, {"order_amount": 1},
    {"order_tax_amount": 1}, {"order_lines": []},
])
def test_fingerprint_changes_with_every_content_field(change: dict[str, Any]) -> None:
    assert content_fingerprint({**order_body(), **change}) != content_fingerprint(order_body())


# --- page load -------------------------------------------------------------------------------------------

def test_first_page_load_creates_one_order_with_the_create_extras(sync: CheckoutSync, kco: FakeKCO) -> None:
    outcome = sync.on_page_load(None, order_body(), extras)
    assert outcome.action is Action.CREATED
    assert kco.operations() == ["create"]
    assert kco.orders[outcome.order_id]["merchant_reference2"] == "ref-1"
    assert outcome.html_snippet == f"<div>{outcome.order_id}</div>"
    assert outcome.fingerprint == content_fingerprint(order_body())


def test_page_load_with_empty_cart_makes_no_call_and_keeps_the_order_id(sync: CheckoutSync,
                                                                         kco: FakeKCO) -> None:
    outcome = sync.on_page_load("order-9", None, extras)
    assert outcome.action is Action.NO_ORDER and outcome.order_id == "order-9"
    assert kco.calls == []


def test_reload_with_unchanged_cart_reads_once_and_never_updates(sync: CheckoutSync, kco: FakeKCO) -> None:
    order_id = created(sync, kco)
    outcome = sync.on_page_load(order_id, order_body(), extras)
    assert outcome.action is Action.UNCHANGED
    assert kco.calls == [("read", order_id)]
    assert outcome.html_snippet == f"<div>{order_id}</div>"


def test_reload_with_changed_cart_reads_then_updates_once(sync: CheckoutSync, kco: FakeKCO) -> None:
    order_id = created(sync, kco)
    outcome = sync.on_page_load(order_id, order_body(quantity=3), extras)
    assert outcome.action is Action.UPDATED and outcome.order_id == order_id
    assert kco.operations() == ["read", "update"]
    assert kco.orders[order_id]["order_lines"][0]["quantity"] == 3
    assert outcome.fingerprint == content_fingerprint(order_body(quantity=3))


def test_reload_of_completed_order_goes_to_confirmation_without_update(sync: CheckoutSync,
                                                                        kco: FakeKCO) -> None:
    order_id = created(sync, kco)
    kco.orders[order_id]["status"] = "checkout_complete"
    outcome = sync.on_page_load(order_id, order_body(quantity=5), extras)
    assert outcome.action is Action.COMPLETED and outcome.order_id == order_id
    assert kco.operations() == ["read"]


def test_page_load_replaces_an_unknown_or_expired_order_without_aborting_it(sync: CheckoutSync,
                                                                              kco: FakeKCO) -> None:
    order_id = created(sync, kco)
    kco.fail["read"] = [KCOApiError("read", 404)]
    outcome = sync.on_page_load(order_id, order_body(), extras)
    assert outcome.action is Action.CREATED
    assert outcome.order_id != order_id and outcome.replaced_order_id == order_id
    assert kco.operations() == ["read", "create"]


@pytest.mark.parametrize("error", [
    KCOApiError("read", 500, "INTERNAL"), KCOApiError("read", 401), KCOUnreachable("read", "timed out"),
    KCOProtocolError("read", "not JSON"),
])
def test_page_load_aborts_an_order_it_cannot_read_before_creating_its_replacement(
        sync: CheckoutSync, kco: FakeKCO, error: KCOError) -> None:
    order_id = created(sync, kco)
    kco.fail["read"] = [error]
    outcome = sync.on_page_load(order_id, order_body(), extras)
    assert outcome.action is Action.CREATED
    assert outcome.order_id != order_id and outcome.replaced_order_id == order_id
    assert kco.calls == [("read", order_id), ("abort", order_id), ("create", None)]
    assert kco.orders[order_id]["status"] == "aborted"


def test_a_failed_abort_still_replaces_the_order(sync: CheckoutSync, kco: FakeKCO) -> None:
    order_id = created(sync, kco)
    kco.fail["read"] = [KCOApiError("read", 503)]
    kco.fail["abort"] = [KCOUnreachable("abort", "connection refused")]
    outcome = sync.on_page_load(order_id, order_body(), extras)
    assert outcome.action is Action.CREATED and outcome.replaced_order_id == order_id
    assert kco.operations() == ["read", "abort", "create"]


def test_an_abort_refused_as_read_only_means_the_purchase_is_done(sync: CheckoutSync, kco: FakeKCO) -> None:
    order_id = created(sync, kco)
    kco.orders[order_id]["status"] = "checkout_complete"
    kco.fail["update"] = [KCOApiError("update", 401)]  # no retry: the order is replaced, aborted first
    outcome = sync.on_change(order_id, order_body(quantity=2), content_fingerprint(order_body()), extras)
    assert outcome.action is Action.COMPLETED and outcome.order_id == order_id
    assert kco.operations() == ["update", "abort", "read"]  # the read confirms checkout_complete


def test_an_abort_refused_as_read_only_then_an_unreadable_order_goes_to_the_confirmation(
        sync: CheckoutSync, kco: FakeKCO) -> None:
    # Read-only may mean paid: with no read to say otherwise, the confirmation page (which reads again) is
    # safer than a second order for a shopper who may have paid.
    order_id = created(sync, kco)
    kco.fail["update"] = [KCOApiError("update", 401)]
    kco.fail["abort"] = [KCOApiError("abort", 403, "READ_ONLY_ORDER")]
    kco.fail["read"] = [KCOUnreachable("read", "connection refused")]
    outcome = sync.on_change(order_id, order_body(quantity=2), content_fingerprint(order_body()), extras)
    assert outcome.action is Action.COMPLETED and outcome.order_id == order_id
    assert kco.operations() == ["update", "abort", "read"]


def test_create_extras_are_built_only_for_a_create(sync: CheckoutSync, kco: FakeKCO) -> None:
    order_id = created(sync, kco)
    built: list[int] = []

    def counted_extras() -> dict[str, Any]:
        built.append(1)
        return extras()

    sync.on_page_load(order_id, order_body(), counted_extras)
    sync.on_change(order_id, order_body(quantity=2), None, counted_extras)
    assert built == [] and kco.operations() == ["read", "update"]


def test_page_load_of_an_order_in_another_status_creates_a_new_one(sync: CheckoutSync, kco: FakeKCO) -> None:
    order_id = created(sync, kco)
    kco.orders[order_id]["status"] = "aborted"
    outcome = sync.on_page_load(order_id, order_body(), extras)
    assert outcome.action is Action.CREATED and kco.operations() == ["read", "create"]


def test_page_load_update_unreachable_keeps_the_order_and_marks_it_stale(sync: CheckoutSync,
                                                                         kco: FakeKCO) -> None:
    order_id = created(sync, kco)
    kco.fail["update"] = [KCOUnreachable("update", "read timed out")]
    outcome = sync.on_page_load(order_id, order_body(quantity=2), extras)
    assert outcome.action is Action.FAILED and outcome.unreachable and outcome.stale
    assert outcome.order_id == order_id and outcome.html_snippet == f"<div>{order_id}</div>"
    assert kco.operations() == ["read", "update"]


def test_page_load_create_failure_is_reported_and_not_retried(sync: CheckoutSync, kco: FakeKCO) -> None:
    kco.fail["create"] = [KCOUnreachable("create", "read timed out")]
    outcome = sync.on_page_load(None, order_body(), extras)
    assert outcome.action is Action.FAILED and outcome.unreachable and outcome.order_id is None
    assert kco.operations() == ["create"]


# --- cart or market change -----------------------------------------------------------------------------

def test_change_updates_directly_without_reading(sync: CheckoutSync, kco: FakeKCO) -> None:
    order_id = created(sync, kco)
    outcome = sync.on_change(order_id, order_body(quantity=2), content_fingerprint(order_body()), extras)
    assert outcome.action is Action.UPDATED and outcome.html_snippet is not None
    assert kco.calls == [("update", order_id)]


def test_same_content_again_costs_no_call(sync: CheckoutSync, kco: FakeKCO) -> None:
    order_id = created(sync, kco)
    outcome = sync.on_change(order_id, order_body(), content_fingerprint(order_body()), extras)
    assert outcome.action is Action.UNCHANGED and kco.calls == []


def test_change_with_unknown_fingerprint_updates(sync: CheckoutSync, kco: FakeKCO) -> None:
    order_id = created(sync, kco)
    outcome = sync.on_change(order_id, order_body(), None, extras)
    assert outcome.action is Action.UPDATED and kco.operations() == ["update"]


def test_market_change_sends_country_currency_and_locale(sync: CheckoutSync, kco: FakeKCO) -> None:
    order_id = created(sync, kco)
    german = order_body(country="DE", currency="EUR", locale="de-DE", unit_price=1290)
    sync.on_change(order_id, german, content_fingerprint(order_body()), extras)
    order = kco.orders[order_id]
    assert (order["purchase_country"], order["purchase_currency"], order["locale"]) == ("DE", "EUR", "de-DE")


def test_change_on_read_only_order_means_purchase_completed(sync: CheckoutSync, kco: FakeKCO) -> None:
    order_id = created(sync, kco)
    kco.orders[order_id]["status"] = "checkout_complete"
    outcome = sync.on_change(order_id, order_body(quantity=2), content_fingerprint(order_body()), extras)
    assert outcome.action is Action.COMPLETED and outcome.order_id == order_id
    assert kco.operations() == ["update", "read"]  # the read confirms checkout_complete


@pytest.mark.parametrize(("error", "calls"), [
    (KCOApiError("update", 404), ["update", "create"]),
    (KCOApiError("update", 401), ["update", "abort", "create"]),
    (KCOProtocolError("update", "not JSON"), ["update", "abort", "create"]),
])
def test_change_replaces_the_order_when_the_update_is_refused_for_good_aborting_it_unless_404(
        sync: CheckoutSync, kco: FakeKCO, error: KCOError, calls: list[str]) -> None:
    order_id = created(sync, kco)
    kco.fail["update"] = [error]
    outcome = sync.on_change(order_id, order_body(quantity=2), content_fingerprint(order_body()), extras)
    assert outcome.action is Action.CREATED and outcome.replaced_order_id == order_id
    assert outcome.html_snippet == f"<div>{outcome.order_id}</div>"
    assert kco.operations() == calls
    assert kco.orders[outcome.order_id]["order_lines"][0]["quantity"] == 2


def test_change_unreachable_keeps_the_order_marks_it_stale_and_creates_nothing(sync: CheckoutSync,
                                                                                kco: FakeKCO) -> None:
    order_id = created(sync, kco)
    kco.fail["update"] = [KCOUnreachable("update", "read timed out")]
    outcome = sync.on_change(order_id, order_body(quantity=2), content_fingerprint(order_body()), extras)
    assert outcome.action is Action.FAILED and outcome.unreachable and outcome.stale
    assert outcome.order_id == order_id
    assert kco.operations() == ["update"]


def test_change_whose_replacement_create_fails_reports_it_once(sync: CheckoutSync, kco: FakeKCO) -> None:
    order_id = created(sync, kco)
    kco.fail["update"] = [KCOApiError("update", 404)]
    kco.fail["create"] = [KCOUnreachable("create", "read timed out")]
    outcome = sync.on_change(order_id, order_body(quantity=2), content_fingerprint(order_body()), extras)
    assert outcome.action is Action.FAILED and outcome.stale and outcome.order_id == order_id
    assert kco.operations() == ["update", "create"]


def test_first_change_without_order_creates_one(sync: CheckoutSync, kco: FakeKCO) -> None:
    outcome = sync.on_change(None, order_body(), None, extras)
    assert outcome.action is Action.CREATED and kco.operations() == ["create"]


def test_change_to_empty_cart_makes_no_call(sync: CheckoutSync, kco: FakeKCO) -> None:
    order_id = created(sync, kco)
    outcome = sync.on_change(order_id, None, "abc", extras)
    assert outcome.action is Action.NO_ORDER and outcome.order_id == order_id and kco.calls == []


@pytest.mark.parametrize("order_lines", [True, "lines", [1, 2], [None], {"name": "not a list"}])
def test_order_content_of_a_broken_body_never_raises_and_never_equals_a_real_order(order_lines: Any) -> None:
    real = {"purchase_country": "SE", "purchase_currency": "SEK", "locale": "sv-SE", "order_amount": 0,
            "order_tax_amount": 0, "order_lines": []}
    broken = {**real, "order_lines": order_lines}
    assert order_content(broken) != order_content(real)


# --- fingerprints: what they are made of, and that they stay the same across releases --------------------

def test_order_content_is_the_normalised_market_amounts_and_lines() -> None:
    body = {**order_body(), "purchase_country": "se", "purchase_currency": "sek", "locale": "SV-se"}
    del body["order_lines"][0]["type"]
    assert order_content(body) == {
        "purchase_country": "SE", "purchase_currency": "SEK", "locale": "sv-se",
        "order_amount": 10000, "order_tax_amount": 2000,
        "order_lines": [{"type": "physical", "reference": "mug", "name": "Mug", "quantity": 1,
                         "unit_price": 10000, "tax_rate": 2500, "total_amount": 10000,
                         "total_discount_amount": 0, "total_tax_amount": 2000}],
    }
    assert order_content({}) == {"purchase_country": "", "purchase_currency": "", "locale": "",
                                 "order_amount": None, "order_tax_amount": None, "order_lines": []}


def test_broken_lines_are_kept_by_their_repr_and_differ_from_each_other() -> None:
    assert order_content({"order_lines": [1, None]})["order_lines"] == [
        {"not_an_order_line": "1"}, {"not_an_order_line": "None"}]
    assert order_content({"order_lines": [1]}) != order_content({"order_lines": ["1"]})


@pytest.mark.parametrize("change", [{"quantity": 2}, {"name": "Cup"}, {"reference": "cup"},
                                    {"total_discount_amount": 100}])
def test_fingerprint_changes_with_every_line_field(change: dict[str, Any]) -> None:
    body = order_body()
    changed = {**body, "order_lines": [{**body["order_lines"][0], **change}]}
    assert content_fingerprint(changed) != content_fingerprint(body)


def test_fingerprint_is_the_same_in_every_release() -> None:
    # The shop stores fingerprints (what KCO holds) between requests and deploys: the same content must give
    # the same digest in the next release, or every stored order would look changed once.
    # So the digest is SHA-256 of one fixed spelling: keys sorted, no spaces, non-ASCII escaped.
    body = order_body()
    body["order_lines"][0]["name"] = "Kaffekopp för två"
    canonical = (
        '{"locale":"sv-se","order_amount":10000,"order_lines":[{"name":"Kaffekopp f\\u00f6r tv\\u00e5",'
        '"quantity":1,"reference":"mug","tax_rate":2500,"total_amount":10000,"total_discount_amount":0,'
        '"total_tax_amount":2000,"type":"physical","unit_price":10000}],"order_tax_amount":2000,'
        '"purchase_country":"SE","purchase_currency":"SEK"}')
    assert content_fingerprint(body) == hashlib.sha256(canonical.encode()).hexdigest()


# --- what each outcome carries ---------------------------------------------------------------------------

def test_outcomes_without_a_create_keep_the_order_and_what_kco_holds(sync: CheckoutSync,
                                                                      kco: FakeKCO) -> None:
    order_id = created(sync, kco)
    known = content_fingerprint(order_body())
    unchanged = sync.on_page_load(order_id, order_body(), extras)
    assert (unchanged.order_id, unchanged.fingerprint) == (order_id, known)
    assert sync.on_change(order_id, order_body(), known, extras).order_id == order_id
    assert sync.on_change(order_id, order_body(), known, extras).fingerprint == known
    assert sync.on_change(order_id, None, known, extras).fingerprint == known
    updated = sync.on_change(order_id, order_body(quantity=2), known, extras)
    assert updated.fingerprint == content_fingerprint(order_body(quantity=2))
    kco.orders[order_id]["status"] = "checkout_complete"
    completed = sync.on_page_load(order_id, order_body(quantity=3), extras)
    assert completed.fingerprint == content_fingerprint(kco.orders[order_id])


def test_a_page_load_replacing_an_order_in_another_status_names_it_and_keeps_none_if_the_create_fails(
        sync: CheckoutSync, kco: FakeKCO) -> None:
    order_id = created(sync, kco)
    kco.orders[order_id]["status"] = "aborted"
    assert sync.on_page_load(order_id, order_body(), extras).replaced_order_id == order_id
    kco.fail["create"] = [KCOUnreachable("create", "connection refused")]
    kco.orders[order_id]["status"] = "aborted"
    failed = sync.on_page_load(order_id, order_body(), extras)
    assert (failed.action, failed.order_id, failed.stale) == (Action.FAILED, None, False)


def test_a_page_load_whose_update_is_refused_replaces_the_order_with_the_create_extras(
        sync: CheckoutSync, kco: FakeKCO) -> None:
    order_id = created(sync, kco)
    kco.fail["update"] = [KCOApiError("update", 401)]
    outcome = sync.on_page_load(order_id, order_body(quantity=2), extras)
    assert outcome.action is Action.CREATED and kco.operations() == ["read", "update", "abort", "create"]
    assert kco.orders[outcome.order_id]["merchant_reference2"] == "ref-1"


def test_an_aborted_order_whose_create_fails_leaves_the_shopper_with_no_order(sync: CheckoutSync,
                                                                            kco: FakeKCO) -> None:
    order_id = created(sync, kco)
    kco.fail["read"] = [KCOApiError("read", 500)]
    kco.fail["create"] = [KCOUnreachable("create", "connection refused")]
    outcome = sync.on_page_load(order_id, order_body(), extras)
    assert (outcome.action, outcome.order_id, outcome.stale) == (Action.FAILED, None, False)
    assert kco.operations() == ["read", "abort", "create"]


def test_a_read_only_abort_of_an_unpaid_order_replaces_it_with_the_cart_and_the_create_extras(
        sync: CheckoutSync, kco: FakeKCO) -> None:
    order_id = created(sync, kco)
    kco.fail["update"] = [KCOApiError("update", 401)]
    kco.fail["abort"] = [KCOApiError("abort", 403, "READ_ONLY_ORDER")]
    outcome = sync.on_change(order_id, order_body(quantity=2), None, extras)
    assert outcome.action is Action.CREATED and outcome.replaced_order_id == order_id
    assert kco.calls == [("update", order_id), ("abort", order_id), ("read", order_id), ("create", None)]
    new_order = kco.orders[outcome.order_id]
    assert new_order["order_lines"][0]["quantity"] == 2 and new_order["merchant_reference2"] == "ref-1"
    kco.fail["update"] = [KCOApiError("update", 401)]
    kco.fail["abort"] = [KCOApiError("abort", 403, "READ_ONLY_ORDER")]
    kco.fail["create"] = [KCOUnreachable("create", "connection refused")]
    failed = sync.on_change(outcome.order_id, order_body(quantity=3), None, extras)
    assert (failed.action, failed.order_id) == (Action.FAILED, None)


# --- an update refused by a status that may pass: read, wait, try again --------------------------------

class Waits:
    """The waits the decisions asked for, instead of sleeping."""

    def __init__(self) -> None:
        self.seconds: list[float] = []


@pytest.fixture
def waits() -> Waits:
    return Waits()


@pytest.fixture
def waiting_sync(kco: FakeKCO, waits: Waits) -> CheckoutSync:
    return CheckoutSync(kco, sleep=waits.seconds.append)


@pytest.mark.parametrize("status", [409, 423, 429, 500, 503])
def test_an_update_refused_once_by_a_passing_status_is_read_and_tried_again(
        waiting_sync: CheckoutSync, kco: FakeKCO, waits: Waits, status: int) -> None:
    order_id = created(waiting_sync, kco)
    kco.fail["update"] = [KCOApiError("update", status)]
    outcome = waiting_sync.on_change(order_id, order_body(quantity=2), None, extras)
    assert (outcome.action, outcome.order_id) == (Action.UPDATED, order_id)
    assert outcome.fingerprint == content_fingerprint(order_body(quantity=2))
    assert kco.calls == [("update", order_id), ("read", order_id), ("update", order_id)]
    assert waits.seconds == [0.25]
    assert kco.orders[order_id]["order_lines"][0]["quantity"] == 2


def test_an_update_refused_every_time_is_tried_three_times_then_the_order_is_replaced(
        waiting_sync: CheckoutSync, kco: FakeKCO, waits: Waits) -> None:
    order_id = created(waiting_sync, kco)
    kco.fail["update"] = [KCOApiError("update", 409)] * 3
    outcome = waiting_sync.on_change(order_id, order_body(quantity=2), None, extras)
    assert outcome.action is Action.CREATED and outcome.replaced_order_id == order_id
    assert kco.operations() == ["update", "read", "update", "update", "abort", "create"]
    assert waits.seconds == [0.25, 0.5]
    assert kco.orders[outcome.order_id]["merchant_reference2"] == "ref-1"


def test_each_wait_in_update_retry_waits_is_one_more_try(
        waiting_sync: CheckoutSync, kco: FakeKCO, waits: Waits, monkeypatch: pytest.MonkeyPatch) -> None:
    # A merchant who lets a locked order settle longer adds a wait: each one is used, in order.
    monkeypatch.setattr("kco.checkout.UPDATE_RETRY_WAITS", (0.25, 0.5, 1.0))
    order_id = created(waiting_sync, kco)
    kco.fail["update"] = [KCOApiError("update", 409)] * 4
    outcome = waiting_sync.on_change(order_id, order_body(quantity=2), None, extras)
    assert outcome.action is Action.CREATED and outcome.replaced_order_id == order_id
    assert kco.operations() == ["update", "read", "update", "update", "update", "abort", "create"]
    assert waits.seconds == [0.25, 0.5, 1.0]


def test_a_retried_update_refused_for_good_replaces_the_order_without_more_tries(
        waiting_sync: CheckoutSync, kco: FakeKCO, waits: Waits) -> None:
    order_id = created(waiting_sync, kco)
    kco.fail["update"] = [KCOApiError("update", 409), KCOApiError("update", 401)]
    outcome = waiting_sync.on_change(order_id, order_body(quantity=2), None, extras)
    assert outcome.action is Action.CREATED
    assert kco.operations() == ["update", "read", "update", "abort", "create"]
    assert waits.seconds == [0.25]


def test_a_refused_update_whose_read_gets_no_answer_keeps_the_order_and_its_snippet(
        waiting_sync: CheckoutSync, kco: FakeKCO) -> None:
    order_id = created(waiting_sync, kco)
    kco.fail["update"] = [KCOApiError("update", 409)]
    kco.fail["read"] = [None, KCOUnreachable("read", "connection refused")]  # the page load's read answers
    outcome = waiting_sync.on_page_load(order_id, order_body(quantity=2), extras)
    assert (outcome.action, outcome.order_id, outcome.html_snippet, outcome.stale) == (
        Action.FAILED, order_id, f"<div>{order_id}</div>", True)
    assert isinstance(outcome.error, KCOUnreachable) and outcome.error.reason == "connection refused"


def test_a_refused_update_whose_read_fails_replaces_the_order(waiting_sync: CheckoutSync,
                                                              kco: FakeKCO) -> None:
    order_id = created(waiting_sync, kco)
    kco.fail["update"] = [KCOApiError("update", 409)]
    kco.fail["read"] = [KCOApiError("read", 404)]
    outcome = waiting_sync.on_change(order_id, order_body(quantity=2), None, extras)
    assert outcome.action is Action.CREATED and outcome.replaced_order_id == order_id
    assert kco.operations() == ["update", "read", "create"]  # 404: nothing left to abort
    assert kco.orders[outcome.order_id]["merchant_reference2"] == "ref-1"


def test_a_refused_update_of_an_order_paid_meanwhile_goes_to_the_confirmation(
        waiting_sync: CheckoutSync, kco: FakeKCO) -> None:
    order_id = created(waiting_sync, kco)
    kco.orders[order_id]["status"] = "checkout_complete"
    kco.fail["update"] = [KCOApiError("update", 409)]
    outcome = waiting_sync.on_change(order_id, order_body(quantity=2), None, extras)
    assert (outcome.action, outcome.order_id) == (Action.COMPLETED, order_id)
    assert outcome.fingerprint == content_fingerprint(kco.orders[order_id])


@pytest.mark.parametrize("refusal", [KCOApiError("update", 409),
                                     KCOApiError("update", 403, "READ_ONLY_ORDER")])
def test_a_refused_update_of_an_order_no_longer_incomplete_gets_a_new_order_or_none(
        waiting_sync: CheckoutSync, kco: FakeKCO, refusal: KCOApiError) -> None:
    order_id = created(waiting_sync, kco)
    kco.orders[order_id]["status"] = "aborted"
    kco.fail["update"] = [refusal]
    outcome = waiting_sync.on_change(order_id, order_body(quantity=2), None, extras)
    assert outcome.action is Action.CREATED and outcome.replaced_order_id == order_id
    assert kco.operations() == ["update", "read", "create"]  # nobody can pay it: nothing to abort
    new_order = kco.orders[outcome.order_id]
    assert new_order["order_lines"][0]["quantity"] == 2 and new_order["merchant_reference2"] == "ref-1"
    kco.fail["update"] = [refusal]
    kco.fail["create"] = [KCOUnreachable("create", "connection refused")]
    kco.orders[outcome.order_id]["status"] = kco.orders[order_id]["status"]
    failed = waiting_sync.on_change(outcome.order_id, order_body(quantity=3), None, extras)
    assert (failed.action, failed.order_id) == (Action.FAILED, None)


def test_every_refusal_but_401_and_404_may_pass_as_the_lock_of_a_callback_could() -> None:
    assert [status for status in (400, 401, 403, 404, 409, 423, 429, 499, 500, 503)
            if not may_pass(KCOApiError("update", status))] == [401, 404]
    assert may_pass(KCOApiError("update", 403, "READ_ONLY_ORDER"))
    assert not may_pass(KCOUnreachable("update", "timed out"))


@pytest.mark.parametrize("lock", [KCOApiError("update", 403, "READ_ONLY_ORDER"), KCOApiError("update", 400),
                                  KCOApiError("update", 403, "NOT_ALLOWED"), KCOApiError("update", 423)])
def test_an_update_refused_by_a_lock_of_any_status_waits_and_retries_the_open_order(
        waiting_sync: CheckoutSync, kco: FakeKCO, waits: Waits, lock: KCOApiError) -> None:
    # KCO does not say what it answers while it calls the merchant back (kco-rules: callback-lock): replacing
    # the order then would swap the widget under a shopper typing an address.
    order_id = created(waiting_sync, kco)
    kco.fail["update"] = [lock]
    outcome = waiting_sync.on_change(order_id, order_body(quantity=2), None, extras)
    assert (outcome.action, outcome.order_id) == (Action.UPDATED, order_id)
    assert kco.calls == [("update", order_id), ("read", order_id), ("update", order_id)]
    assert waits.seconds == [0.25]


def test_an_open_order_refused_read_only_after_every_retry_is_replaced_without_a_confirmation(
        waiting_sync: CheckoutSync, kco: FakeKCO, waits: Waits) -> None:
    # An aborted order may read checkout_incomplete and refuse updates as read-only
    # (kco-rules: aborted-orders): after the retries the abort is refused too, and a read shows it unpaid, so
    # the shopper gets a new order.
    order_id = created(waiting_sync, kco)
    kco.fail["update"] = [KCOApiError("update", 403, "READ_ONLY_ORDER")] * 3
    kco.fail["abort"] = [KCOApiError("abort", 403, "READ_ONLY_ORDER")]
    outcome = waiting_sync.on_change(order_id, order_body(quantity=2), None, extras)
    assert outcome.action is Action.CREATED and outcome.replaced_order_id == order_id
    assert kco.operations() == ["update", "read", "update", "update", "abort", "read", "create"]
    assert waits.seconds == [0.25, 0.5]


@pytest.mark.parametrize("refusals", [1, 2])
def test_a_retried_update_that_gets_no_answer_keeps_the_order_and_the_snippet_of_the_page_load(
        waiting_sync: CheckoutSync, kco: FakeKCO, refusals: int) -> None:
    order_id = created(waiting_sync, kco)
    no_answer = KCOUnreachable("update", "read timed out")
    kco.fail["update"] = [KCOApiError("update", 409)] * refusals + [no_answer]
    outcome = waiting_sync.on_page_load(order_id, order_body(quantity=2), extras)
    assert (outcome.action, outcome.order_id, outcome.html_snippet, outcome.stale) == (
        Action.FAILED, order_id, f"<div>{order_id}</div>", True)
    assert kco.operations() == ["read", "update", "read"] + ["update"] * refusals


def test_an_update_accepted_on_the_last_try_reports_what_kco_now_holds(waiting_sync: CheckoutSync,
                                                                      kco: FakeKCO) -> None:
    order_id = created(waiting_sync, kco)
    kco.fail["update"] = [KCOApiError("update", 409)] * 2
    outcome = waiting_sync.on_change(order_id, order_body(quantity=2), None, extras)
    assert outcome.action is Action.UPDATED
    assert outcome.fingerprint == content_fingerprint(order_body(quantity=2))
    assert kco.operations() == ["update", "read", "update", "update"]
