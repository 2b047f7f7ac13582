"""The probes that need nobody at the browser: each creates its own order, looks at how KCO answers, and
aborts the order afterwards.

- create, then read (kco-rules: status-codes) and the form of `Location` (kco-rules: request-headers);
- an aborted order read, updated and aborted again (kco-rules: aborted-orders; setting `aborted_orders`);
- a partial update of `options` and of `merchant_urls` (kco-rules: update-nested-objects; `update_merge`);
- the error bodies of a bad value, an unknown id and wrong credentials (kco-rules: error-body, error-codes);
- `Klarna-Correlation-Id` on every answer (kco-rules: error-body);
- which forms of the credentials KCO accepts (kco-rules: basic-auth).
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

from kco.client import location_names_order
from kco.probe.kco_calls import ORDERS_PATH, Exchange, RawKco, basic, merchant_urls, sample_order
from kco.probe.report import Finding, unobserved

READ_ONLY = ("READ_ONLY_ORDER", 403)
PROBE_OPTIONS = {"allow_separate_shipping_address": True, "color_button": "#0B5FFF"}


class ApiProbes:
    """Runs the unattended probes on `kco`, with callbacks to `public_url`; `exchanges` keeps every answer."""

    def __init__(self, kco: RawKco, public_url: str) -> None:
        self.kco = kco
        self.public_url = public_url
        self.exchanges: list[Exchange] = []
        self.to_abort: list[str] = []

    def call(self, exchange: Exchange) -> Exchange:
        self.exchanges.append(exchange)
        return exchange

    def create(self, **extra: Any) -> tuple[Exchange, str | None]:
        """A fresh order, aborted when the probes end; its id, or None when the create failed."""
        created = self.call(self.kco.create(sample_order(self.public_url, **extra)))
        order_id = created.field("order_id") if created.status == 201 else None
        if order_id:
            self.to_abort.append(order_id)
        return created, order_id

    def run(self) -> list[Finding]:
        try:
            findings = [*self.create_and_read(), self.aborted_order(), self.update_merge(), *self.errors(),
                        self.test_key_forms()]
        finally:
            for order_id in self.to_abort:
                self.kco.abort(order_id)
        return [*findings, self.correlation_ids()]

    def create_and_read(self) -> list[Finding]:
        created, order_id = self.create()
        if order_id is None:
            why = f"create answered {created.answer()}"
            return [unobserved("create_and_read", why, create=created.evidence()),
                    unobserved("location", why)]
        read = self.call(self.kco.read(order_id))
        observed = (f"create {created.status} (status {created.field('status')}), read {read.status} "
                    f"(status {read.field('status')})")
        reading = Finding("create_and_read", observed, evidence={"create": created.evidence(),
                                                                 "read": read.evidence()})
        return [reading, location_form(created, order_id, self.kco.config.base_url)]

    def aborted_order(self) -> Finding:
        _, order_id = self.create()
        if order_id is None:
            return unobserved("aborted_orders", "the order to abort could not be created")
        self.to_abort.remove(order_id)
        calls = {"abort": self.call(self.kco.abort(order_id)),
                 "read": self.call(self.kco.read(order_id)),
                 "update": self.call(self.kco.update(order_id, {"merchant_reference2": "after the abort"})),
                 "abort again": self.call(self.kco.abort(order_id))}
        evidence = {name: exchange.evidence() for name, exchange in calls.items()}
        if calls["abort"].status != 200:
            return unobserved("aborted_orders", f"the abort answered {calls['abort'].answer()}", **evidence)
        observed = "; ".join(f"{name} {exchange.answer()}" for name, exchange in calls.items())
        afterwards = [calls["read"], calls["update"], calls["abort again"]]
        if all(exchange.status == 404 for exchange in afterwards):
            return Finding("aborted_orders", observed, {"aborted_orders": "not_found"}, evidence=evidence)
        refusals = [_error(calls["update"]), _error(calls["abort again"])]
        if calls["read"].status == 200 and refusals == [READ_ONLY, READ_ONLY]:
            status = calls["read"].field("status")
            if status == "checkout_incomplete":
                return Finding("aborted_orders", observed, {"aborted_orders": "read_only"}, evidence=evidence)
            return Finding("aborted_orders", observed, evidence=evidence,
                           unplayed=f"read_only reads checkout_incomplete, KCO read {status}")
        return Finding("aborted_orders", observed, evidence=evidence,
                       unplayed="not_found answers 404 to all three, read_only reads the order and refuses "
                                "update and abort with 403 READ_ONLY_ORDER")

    def update_merge(self) -> Finding:
        _, order_id = self.create(options=PROBE_OPTIONS)
        if order_id is None:
            return unobserved("update_merge", "the order with options could not be created")
        confirmation = merchant_urls(self.public_url)["confirmation"] + "?probe=partial"
        partial_options = {"options": {"color_button": "#FF5A00"}}
        calls = {"update options": self.call(self.kco.update(order_id, partial_options)),
                 "read": self.call(self.kco.read(order_id)),
                 "update merchant_urls": self.call(self.kco.update(
                     order_id, {"merchant_urls": {"confirmation": confirmation}})),
                 "read again": self.call(self.kco.read(order_id))}
        evidence = {name: exchange.evidence() for name, exchange in calls.items()}
        options = calls["read"].field("options")
        if calls["update options"].status != 200 or not isinstance(options, dict):
            why = (f"the options update answered {calls['update options'].answer()}, the read showed "
                   f"options {options!r}")
            return unobserved("update_merge", why, **evidence)
        options_kept = options.get("allow_separate_shipping_address") is True
        urls = calls["read again"].field("merchant_urls") or {}
        urls_merged = calls["update merchant_urls"].status == 200 and "terms" in urls
        observed = (f"a partial options update {'kept' if options_kept else 'dropped'} the other options; a "
                    f"partial merchant_urls update answered {calls['update merchant_urls'].answer()}"
                    f"{' and kept the other URLs' if urls_merged else ''}")
        if options_kept and urls_merged:
            return Finding("update_merge", observed, {"update_merge": "deep"}, evidence=evidence)
        if not options_kept and _error(calls["update merchant_urls"])[1] == 400:
            return Finding("update_merge", observed, {"update_merge": "top_level"}, evidence=evidence)
        return Finding("update_merge", observed, unplayed="top_level drops the other options and refuses a "
                       "partial merchant_urls with 400; deep keeps both", evidence=evidence)

    def errors(self) -> list[Finding]:
        bad = sample_order(self.public_url)
        bad["order_amount"] += 1
        created = self.call(self.kco.create(bad))
        if created.status == 201 and created.field("order_id"):
            self.to_abort.append(created.field("order_id"))
        unknown = self.call(self.kco.read(str(uuid.uuid4())))
        wrong = self.call(self.kco.call("GET", f"{ORDERS_PATH}/{uuid.uuid4()}",
                                        authorization=basic("kco-probe", "not-the-password")))
        return [Finding(behaviour, _error_answer(exchange), evidence=exchange.evidence())
                for behaviour, exchange in (("error_bad_value", created), ("error_unknown_id", unknown),
                                            ("error_wrong_credentials", wrong))]

    def test_key_forms(self) -> Finding:
        """Each form reads an unknown order: 404 means the credentials were accepted, 401 refused."""
        forms = credential_forms(self.kco.config.api_key, self.kco.config.username, self.kco.config.password)
        answers = {name: self.call(self.kco.call("GET", f"{ORDERS_PATH}/{uuid.uuid4()}",
                                                 authorization=authorization))
                   for name, authorization in forms.items()}
        observed = "; ".join(
            f"{name}: {'refused' if exchange.status == 401 else 'accepted'} ({exchange.status})"
            for name, exchange in answers.items())
        return Finding("test_key_forms", observed, evidence={name: exchange.evidence()
                                                             for name, exchange in answers.items()})

    def correlation_ids(self) -> Finding:
        answered = [exchange for exchange in self.exchanges if exchange.status is not None]
        missing = sorted({f"{exchange.method} {exchange.status}" for exchange in answered
                          if not exchange.correlation_id})
        differing = [exchange.evidence() for exchange in answered
                     if isinstance(exchange.json, dict) and "correlation_id" in exchange.json
                     and exchange.json["correlation_id"] != exchange.correlation_id]
        observed = (f"on {len(answered) - len(missing)} of {len(answered)} answers"
                    + (f" (missing on {', '.join(missing)})" if missing else "")
                    + ("; an error body's correlation_id differs from the header" if differing
                       else "; error bodies carry the header's id"))
        return Finding("correlation_id", observed, evidence={"differing": differing})


def location_form(created: Exchange, order_id: str, base_url: str) -> Finding:
    location = created.headers.get("location", "")
    expected = f"{base_url}{ORDERS_PATH}/{order_id}"
    if not location:
        observed = "no Location header"
    elif location == expected:
        observed = f"the order's absolute URL on the API host ({location})"
    elif location == f"{ORDERS_PATH}/{order_id}":
        observed = f"a path without the host ({location})"
    else:
        observed = f"another form: {location}"
    # KCOClient.create_order takes Location only as the URL it builds itself (kco-rules: request-headers).
    accepted = location_names_order(location, base_url, order_id)
    note = ("kco.client accepts it" if accepted
            else "kco.client refuses it: KCOClient.create_order must change")
    return Finding("location", observed, note=note, evidence={"location": location, "expected": expected})


def credential_forms(api_key: str | None, username: str | None, password: str | None) -> dict[str, str]:
    """The Authorization values to try: the configured form and the others a merchant might write."""
    if api_key:
        encoded = base64.b64encode(api_key.encode()).decode("ascii")
        return {"the key after Basic, as issued": f"Basic {api_key}",
                "the key base64-encoded after Basic": f"Basic {encoded}",
                "the key as a Basic username without password": basic(api_key, ""),
                "the key after Bearer": f"Bearer {api_key}"}
    return {"username and password in classic Basic": basic(username or "", password or ""),
            "the password after Basic, as issued": f"Basic {password}",
            "the password after Bearer": f"Bearer {password}"}


def _error(exchange: Exchange) -> tuple[str | None, int | None]:
    return exchange.field("error_code"), exchange.status


def _error_answer(exchange: Exchange) -> str:
    """Status, error_code and messages, the body's form and whether it repeats the header's correlation id."""
    body = exchange.json
    if exchange.status is None:
        return f"no answer ({exchange.error})"
    content_type = exchange.headers.get("content-type", "no Content-Type")
    if not exchange.text.strip():
        return f"{exchange.status} with an empty body ({content_type})"
    if not isinstance(body, dict):
        return f"{exchange.status} with a body that is not JSON ({content_type})"
    messages = "; ".join(str(message) for message in body.get("error_messages") or [])
    same_id = body.get("correlation_id") == exchange.correlation_id
    return (f"{exchange.status} {body.get('error_code')}: {messages or 'no error_messages'} ({content_type}; "
            f"correlation_id {'as in the header' if same_id else repr(body.get('correlation_id'))})")
