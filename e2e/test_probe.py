"""kco-probe, pointed at the emulator configured each way, reports each setting: the guided page works in
Chromium, where the `KcoWidget` helpers do each step a person would do on the real playground
(docs/real-playground.md, "Settle what is inferred: kco-probe").

One probe run with the emulator's defaults, one with every other reading at once, and short runs of one part
for the remaining values of `callback_lock_status` and `push_schedule`. A probe that reported one setting for
two readings fails one of them.

The emulator's `fast` push schedule pushes in real time, Kustom's schedules (`real`, `real_from_first_push`)
on the emulator's clock: the probe measures each on the clock that moves it, the wall clock or
`EmulatorClock`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from kco.client import ClientConfig
from kco.probe import Report, Step, WallClock, run_probe
from kco_emulator.playwright import KcoWidget
from kco_emulator.testing import KcoEmulator

TEST_KEY = "kco_test_api_kco-probe"
DEFAULTS = {"callback_lock_status": 409, "country_change_sets_purchase_country": True,
            "aborted_orders": "not_found", "push_schedule": "fast", "automatic_shipping_cost": "separate",
            "shipping_address_change": "separate_address", "update_merge": "top_level",
            "event_listeners": "add"}
ALTERNATIVES = {"callback_lock_status": 403, "country_change_sets_purchase_country": False,
                "aborted_orders": "read_only", "push_schedule": "real", "automatic_shipping_cost": "line",
                "shipping_address_change": "every_address", "update_merge": "deep",
                "event_listeners": "replace"}
STEP_TIMEOUT = 60.0
# The probe's page reports what the widget loads from other origins through a report-only policy, which
# Chromium also writes to the console.
pytestmark = pytest.mark.expected_console_errors("violates the following report-only Content Security Policy")


class EmulatorClock:
    """The emulator's clock, moved on where the probe would wait: the real push schedules run on it."""

    def __init__(self, emulator: KcoEmulator) -> None:
        self.emulator = emulator

    def now(self) -> float:
        return datetime.fromisoformat(self.emulator.status()["now"].replace("Z", "+00:00")).timestamp()

    def sleep(self, seconds: float, wake: Any) -> None:
        # The pushes that fall due go out before the emulator answers.
        self.emulator.advance(seconds=seconds)


class WidgetGuide:
    """Does each step of kco-probe's guided page in Chromium with the KcoWidget helpers, then presses Done, as
    the person at the browser would. It waits for an event the step fires under every reading."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.widget = KcoWidget(page)

    def __call__(self, step: Step, page_url: str) -> None:
        if step.id == "wait_for_pushes":
            return  # the probe's clock lets the time pass
        if not self.page.url.startswith(page_url.rstrip("/")):
            self.page.goto(page_url)
        expect(self.page.locator("#probe-step")).to_have_attribute("data-probe-step", step.id)
        self.widget.wait_ready()
        getattr(self, step.id)(step)

    def event(self, name: str, has_text: str | None = None) -> None:
        expect(self.page.locator(f'[data-probe-event="{name}"]', has_text=has_text).first).to_be_attached()

    def done(self) -> None:
        self.page.get_by_role("button", name="Done").click()

    def swap_snippet(self, step: Step) -> None:
        self.page.get_by_role("button", name="Load a second order").click()
        expect(self.page.locator('[data-probe-event="load"][data-snippet="2"]')).to_be_attached()
        self.done()

    def type_address(self, step: Step) -> None:
        self.widget.fill_shopper(**step.details["address"])
        # The change goes through, or fails when nothing locked the order against the probe's update.
        expect(self.page.locator('[data-probe-event="billing_address_change"], '
                                 '[data-probe-event="shipping_address_update_error"]').first).to_be_attached()
        self.done()

    def billing_address(self, step: Step) -> None:
        self.widget.fill_shopper(**step.details["address"])
        self.event("billing_address_change")
        self.done()

    def separate_address(self, step: Step) -> None:
        self.widget.ship_to(**step.details["address"])
        self.event("shipping_address_change")
        self.done()

    def second_shipping_option(self, step: Step) -> None:
        self.widget.choose_shipping(step.details["option"])
        self.event("shipping_option_change")
        self.done()

    def switch_country(self, step: Step) -> None:
        self.widget.change_country(step.details["country"])
        self.event("change", has_text='"deu"')
        self.done()

    def complete_purchase(self, step: Step) -> None:
        self.widget.fill_shopper(**step.details["address"])
        self.widget.complete()
        self.page.wait_for_url("**/kco/confirmation/**")


def probe(emulator: KcoEmulator, page: Page, clock: Any = None, **options: Any) -> Report:
    config = ClientConfig.from_env({"KCO_API_URL": emulator.url, "KCO_API_KEY": TEST_KEY})
    return run_probe(config, guide=WidgetGuide(page), clock=clock or WallClock(), step_timeout=STEP_TIMEOUT,
                     **options)


def test_with_the_emulators_defaults_the_probe_reports_every_default_setting(
    emulator: KcoEmulator, page: Page
) -> None:
    report = probe(emulator, page)
    assert report.emulator_settings() == DEFAULTS
    assert [finding.behaviour for finding in report.findings if finding.unobserved] == []
    assert report.finding("second_snippet").note.startswith("the emulator does the same")
    assert report.finding("snippet_origins").note == f'shop: KCO_SNIPPET_ORIGINS="{emulator.url}"'
    assert {"load", "billing_address_change", "shipping_option_change", "redirect_initiated",
            "load_confirmation"} <= set(report.finding("widget_events").observed.split(", "))
    recorded = {callback["name"] for callback in report.callbacks}
    assert recorded == {"address_update", "country_change", "confirmation", "push"}


def test_with_every_other_reading_the_probe_reports_every_other_setting(
    emulator: KcoEmulator, page: Page
) -> None:
    emulator.settings(**ALTERNATIVES)
    report = probe(emulator, page, clock=EmulatorClock(emulator))
    assert report.emulator_settings() == ALTERNATIVES


@pytest.mark.parametrize("status", [0, 400, 423, 429, 503])
def test_each_status_of_a_locked_order_is_reported_as_it_is_played(
    emulator: KcoEmulator, page: Page, status: int
) -> None:
    emulator.settings(callback_lock_status=status)
    report = probe(emulator, page, parts=["lock"])
    assert report.emulator_settings() == {"callback_lock_status": status}


def test_pushes_counted_from_the_first_push_are_reported_as_such(emulator: KcoEmulator, page: Page) -> None:
    emulator.settings(push_schedule="real_from_first_push")
    report = probe(emulator, page, clock=EmulatorClock(emulator), parts=["purchase"])
    assert report.emulator_settings() == {"push_schedule": "real_from_first_push"}
