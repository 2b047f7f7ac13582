"""`run_probe`: the unattended API probes, then the guided widget probes, into one report.

The probe starts its own web server (kco.probe.listener) for the guided page and KCO's callbacks, creates
every order it needs and aborts each one it did not complete. Parts run in the order of PARTS; `parts` picks
some of them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from kco.client import ClientConfig
from kco.markets import UnsupportedCountry, get_market
from kco.probe import widget_probes
from kco.probe.api_probes import ApiProbes
from kco.probe.clock import Clock, WallClock
from kco.probe.guided import Guide, Guided, print_step
from kco.probe.kco_calls import RawKco, english_locale, market_lines
from kco.probe.listener import Answer, Callback, Listener, echo_answer
from kco.probe.report import Finding, Report

# How many steps each guided part shows the person at the browser.
GUIDED_STEPS = {"snippets": 1, "lock": 1, "addresses": 2, "shipping": 1, "country": 1, "purchase": 2}
PARTS = ("api", *GUIDED_STEPS)
DEFAULT_STEP_TIMEOUT = 15 * 60.0
# kco-rules: callback-lock: how long address_update waits for the probe's update.
DEFAULT_HOLD_SECONDS = 5.0


def run_probe(config: ClientConfig, public_url: str | None = None, *, guide: Guide = print_step,
              parts: Sequence[str] = PARTS, host: str = "127.0.0.1", port: int = 0,
              clock: Clock | None = None, step_timeout: float = DEFAULT_STEP_TIMEOUT,
              hold_seconds: float = DEFAULT_HOLD_SECONDS) -> Report:
    """Probe the KCO `config` points at; KCO calls back `public_url` (by default the listener's own URL,
    enough for a KCO on this machine). `guide` does each guided step (see kco.probe.guided)."""
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise ValueError(f"unknown parts {', '.join(sorted(unknown))}; the parts are {', '.join(PARTS)}")
    clock = clock or WallClock()
    kco = RawKco(config)
    listener = Listener(clock, host, port)
    public = (public_url or listener.url).rstrip("/")
    report = Report(config.base_url, public, _now())
    listener.answers.update({"address_update": echo_answer, "country_change": country_answer,
                             "shipping_option_update": echo_answer})
    listener.confirmation_snippet = lambda order_id: str(kco.read(order_id).field("html_snippet") or "")
    listener.start()
    try:
        if "api" in parts:
            report.findings += ApiProbes(kco, public).run()
        guided_parts = [part for part in PARTS if part in parts and part in GUIDED_STEPS]
        if guided_parts:
            total = sum(GUIDED_STEPS[part] for part in guided_parts)
            guided = Guided(kco, listener, public, guide, clock, step_timeout, total)
            report.findings += run_guided(guided, guided_parts, hold_seconds)
    finally:
        listener.stop()
    report.callbacks = [vars(callback) for callback in listener.callbacks]
    report.events = list(listener.events)
    report.finished_at = _now()
    return report


def run_guided(guided: Guided, parts: Sequence[str], hold_seconds: float) -> list[Finding]:
    probes: dict[str, Callable[[], list[Finding]]] = {
        "snippets": lambda: widget_probes.snippets(guided),
        "lock": lambda: widget_probes.lock(guided, hold_seconds),
        "addresses": lambda: widget_probes.addresses(guided),
        "shipping": lambda: widget_probes.shipping(guided),
        "country": lambda: widget_probes.country(guided),
        "purchase": lambda: widget_probes.purchase(guided),
    }
    findings: list[Finding] = []
    try:
        for part in parts:
            findings += probes[part]()
    finally:
        guided.finish()
    events = guided.listener.events
    return [*findings, widget_probes.events_finding(events),
            widget_probes.origins_finding(events, guided.snippets)]


def country_answer(callback: Callback) -> Answer:
    """country_change answered with the order in the new country's currency and language
    (kco-rules: refine-callbacks: KCO applies the answer's lines, currency and locale)."""
    body = callback.body if isinstance(callback.body, dict) else {}
    address = body.get("billing_address") or body.get("shipping_address") or {}
    try:
        market = get_market(str(address.get("country", "")))
    except UnsupportedCountry:
        return 400, {"error_type": "address_error",
                     "error_text": "kco-probe sells only to KCO's core countries"}
    return 200, {**market_lines(market), "locale": english_locale(market)}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
