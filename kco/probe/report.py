"""What kco-probe found: one finding per behaviour, written as a markdown table and a JSON file.

Each behaviour names the question it answers, the row of docs/kco-rules.md it settles and, where the local
emulator plays the readings as a setting, that setting. A finding says what was observed and which value of
the setting plays it; or that no value does (the emulator then needs a new one); or why it could not be
observed. `Report.emulator_settings` gathers the values observed, which `kco-emulator --settings-from
report.json` plays.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Behaviour:
    key: str
    question: str
    rule: str
    """The slug of its row in docs/kco-rules.md."""
    setting: str | None = None
    """The emulator setting that plays each reading, or None when the emulator plays one reading only."""


BEHAVIOURS: dict[str, Behaviour] = {behaviour.key: behaviour for behaviour in (
    Behaviour("create_and_read", "What create and read answer", "status-codes"),
    Behaviour("location", "The form of the Location header of a create", "request-headers"),
    Behaviour("correlation_id", "Whether every answer carries Klarna-Correlation-Id", "error-body"),
    Behaviour("error_bad_value", "The error body of a bad value", "error-codes"),
    Behaviour("error_unknown_id", "The answer for an unknown order id", "error-body"),
    Behaviour("error_wrong_credentials", "The answer for wrong credentials", "error-codes"),
    Behaviour("test_key_forms", "Which Authorization forms of the credentials KCO accepts", "basic-auth"),
    Behaviour("aborted_orders", "What an aborted order answers", "aborted-orders", "aborted_orders"),
    Behaviour("update_merge", "What an update does to an object it sends in part", "update-nested-objects",
              "update_merge"),
    Behaviour("event_listeners", "Whether api.on adds a listener or replaces the event's earlier one",
              "widget-event-listeners", "event_listeners"),
    Behaviour("second_snippet", "What a second snippet does on one page", "page-follows-order"),
    Behaviour("snippet_origins", "Where the widget loads its scripts and frames from (the CSP)",
              "html-snippet"),
    Behaviour("widget_events", "Which client-side events the widget fired, and their payloads",
              "widget-events"),
    Behaviour("callback_lock_status", "The answer to an update while KCO waits for address_update",
              "callback-lock", "callback_lock_status"),
    Behaviour("shipping_address_change", "When the widget fires shipping_address_change",
              "shipping-address-change", "shipping_address_change"),
    Behaviour("automatic_shipping_cost", "Where a shipping option KCO charges itself shows in the order",
              "automatic-shipping-cost", "automatic_shipping_cost"),
    Behaviour("country_change_sets_purchase_country",
              "Whether a country picked in the widget becomes purchase_country",
              "country-change-purchase-country", "country_change_sets_purchase_country"),
    Behaviour("push_schedule", "When the push schedule starts counting", "push-and-acknowledge",
              "push_schedule"),
)}


@dataclass
class Finding:
    """What one behaviour looked like: `observed`, and the `setting` that plays it, or `unplayed` when none
    does; `unobserved` instead when it could not be seen. A behaviour without a setting has a `note`."""

    behaviour: str
    observed: str = ""
    setting: dict[str, Any] = field(default_factory=dict)
    """The emulator setting whose value plays what was observed, e.g. {"aborted_orders": "read_only"}."""
    unplayed: str = ""
    """Observed, but no value of the setting plays it: what the emulator plays instead."""
    unobserved: str = ""
    """Why the behaviour could not be observed."""
    note: str = ""
    """For a behaviour without a setting: how the emulator compares, or what to set in the shop."""
    evidence: dict[str, Any] = field(default_factory=dict)
    """The answers, callbacks and events the finding rests on."""


def unobserved(behaviour: str, why: str, **evidence: Any) -> Finding:
    return Finding(behaviour, unobserved=why, evidence=evidence)


@dataclass
class Report:
    kco_url: str
    public_url: str
    started_at: str
    finished_at: str = ""
    findings: list[Finding] = field(default_factory=list)
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    """Every call KCO made to the probe: name, order id, body, headers and time."""
    events: list[dict[str, Any]] = field(default_factory=list)
    """Every event the guided page posted, with its payload and times."""

    def finding(self, behaviour: str) -> Finding | None:
        return next((found for found in self.findings if found.behaviour == behaviour), None)

    def emulator_settings(self) -> dict[str, Any]:
        """Every setting value a finding observed: what `kco-emulator --settings-from` plays."""
        settings: dict[str, Any] = {}
        for found in self.findings:
            settings.update(found.setting)
        return settings

    def as_json(self) -> str:
        return json.dumps({
            "kco_url": self.kco_url,
            "public_url": self.public_url,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "emulator_settings": self.emulator_settings(),
            "findings": [{**asdict(found), "question": BEHAVIOURS[found.behaviour].question,
                          "rule": BEHAVIOURS[found.behaviour].rule} for found in self.findings],
            "callbacks": self.callbacks,
            "events": self.events,
        }, indent=2, ensure_ascii=False)

    def as_markdown(self) -> str:
        lines = [
            f"# kco-probe report: {self.kco_url}",
            "",
            f"From {self.started_at} to {self.finished_at}; callbacks to {self.public_url}.",
            "",
            "| behaviour | observed | emulator setting | kco-rules row |",
            "|---|---|---|---|",
        ]
        for found in self.findings:
            behaviour = BEHAVIOURS[found.behaviour]
            cells = [behaviour.question, _cell(found.observed or "—"), _cell(_setting(found)),
                     f"`{behaviour.rule}`"]
            lines.append(f"| {' | '.join(cells)} |")
        lines += ["", "The JSON report holds the evidence of each row: answers, callbacks and events.", ""]
        return "\n".join(lines)


def _setting(found: Finding) -> str:
    if found.unobserved:
        return f"not observed: {found.unobserved}"
    if found.setting:
        return ", ".join(f"`{name}={json.dumps(value)}`" for name, value in found.setting.items())
    if found.unplayed:
        return f"no setting plays this: {found.unplayed}"
    return found.note or "—"


def _cell(text: str) -> str:
    """Text that stays inside one markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")
