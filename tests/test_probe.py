"""kco-probe without a browser: the command refuses production credentials, its API probes tell each reading
of the emulator apart, the report reads as it should, `kco-emulator --settings-from` plays a report, and each
reading of the widget probes is recognised from what KCO would show (e2e/test_probe.py runs them in Chromium).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kco.client import ClientConfig
from kco.probe import Report, run_probe
from kco.probe.__main__ import main
from kco.probe.guided import RECIPIENT, SHOPPER
from kco.probe.kco_calls import Exchange
from kco.probe.report import Finding
from kco.probe.widget_probes import (
    LockProbe,
    address_finding,
    lock_finding,
    push_finding,
    split_address_events,
)
from kco_emulator.testing import EMULATOR_LISTENING, KcoEmulator, ServerProcess

TEST_KEY = "kco_test_api_kco-probe"


def api_report(emulator: KcoEmulator) -> Report:
    config = ClientConfig.from_env({"KCO_API_URL": emulator.url, "KCO_API_KEY": TEST_KEY})
    return run_probe(config, parts=["api"])


def observed(report: Report, behaviour: str) -> str:
    finding = report.finding(behaviour)
    assert finding is not None, f"no finding for {behaviour}"
    return finding.observed


# --- The command -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("environment", "refusal"), [
    ({"KCO_ENVIRONMENT": "playground", "KCO_API_KEY": "kco_live_api_abc"}, "KCO_API_KEY is a kco_live_ key"),
    ({"KCO_ENVIRONMENT": "live", "KCO_API_KEY": "kco_live_api_abc"}, "KCO_API_KEY is a kco_live_ key"),
    ({"KCO_ENVIRONMENT": "live", "KCO_USERNAME": "M1", "KCO_PASSWORD": "secret"}, "KCO_ENVIRONMENT=live"),
    ({"KCO_API_URL": "https://api-na.kustom.co", "KCO_USERNAME": "M1", "KCO_PASSWORD": "secret"},
     "api-na.kustom.co is not the playground"),
])
def test_the_command_refuses_production_credentials_in_one_line(
    environment: dict[str, str], refusal: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--public-url", "https://probe.example"], environment) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert error.startswith(f"kco-probe: refusing production credentials ({refusal})")


def test_the_installed_command_and_the_module_both_refuse_a_live_key() -> None:
    environment = {"PATH": "", "KCO_ENVIRONMENT": "live", "KCO_API_KEY": "kco_live_api_abc"}
    command = Path(sys.executable).with_name("kco-probe")
    for argv in ([str(command)], [sys.executable, "-m", "kco.probe"]):
        finished = subprocess.run(argv, env=environment, capture_output=True, text=True, timeout=30)
        assert finished.returncode == 2
        assert "refusing production credentials" in finished.stderr


def test_callbacks_to_the_playground_need_an_https_public_url(capsys: pytest.CaptureFixture[str]) -> None:
    playground = {"KCO_ENVIRONMENT": "playground", "KCO_API_KEY": TEST_KEY}
    assert main([], playground) == 2
    assert main(["--public-url", "http://probe.example"], playground) == 2
    assert capsys.readouterr().err.splitlines() == [
        "kco-probe: --public-url is needed: the https address of a tunnel to --port",
        "kco-probe: --public-url must be an https URL, got 'http://probe.example'",
    ]


def test_the_command_writes_the_report_as_json_and_markdown(emulator: KcoEmulator, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    environment = {"KCO_API_URL": emulator.url, "KCO_API_KEY": TEST_KEY}
    assert main(["--parts", "api", "--port", "0", "--report", str(report)], environment) == 0
    written = json.loads(report.read_text(encoding="utf-8"))
    assert written["emulator_settings"] == {"aborted_orders": "not_found", "update_merge": "top_level"}
    assert {finding["rule"] for finding in written["findings"]} >= {"aborted-orders", "update-nested-objects"}
    markdown = report.with_suffix(".md").read_text(encoding="utf-8")
    assert "| What an aborted order answers | abort 200; read 404; update 404; abort again 404 | " \
           "`aborted_orders=\"not_found\"` | `aborted-orders` |" in markdown


# --- The API probes against the emulator under each setting -----------------------------------------------

@pytest.mark.parametrize("reading", ["not_found", "read_only"])
def test_the_api_probe_reports_each_reading_of_an_aborted_order(emulator: KcoEmulator, reading: str) -> None:
    emulator.settings(aborted_orders=reading)
    assert api_report(emulator).finding("aborted_orders").setting == {"aborted_orders": reading}


@pytest.mark.parametrize("reading", ["top_level", "deep"])
def test_the_api_probe_reports_each_reading_of_a_partial_update(emulator: KcoEmulator, reading: str) -> None:
    emulator.settings(update_merge=reading)
    assert api_report(emulator).finding("update_merge").setting == {"update_merge": reading}


def test_the_api_probes_report_the_answers_as_they_came(emulator: KcoEmulator) -> None:
    report = api_report(emulator)
    assert observed(report, "create_and_read") == \
        "create 201 (status checkout_incomplete), read 200 (status checkout_incomplete)"
    assert observed(report, "location").startswith(
        f"the order's absolute URL on the API host ({emulator.url}/")
    assert report.finding("location").note == "kco.client accepts it"
    assert observed(report, "error_bad_value") == (
        "400 BAD_VALUE: Bad value: order_amount (application/json; correlation_id as in the header)")
    assert observed(report, "error_unknown_id") == "404 with an empty body (application/json)"
    assert observed(report, "error_wrong_credentials").startswith("401 UNAUTHORIZED")
    assert observed(report, "test_key_forms") == (
        "the key after Basic, as issued: accepted (404); the key base64-encoded after Basic: refused (401); "
        "the key as a Basic username without password: refused (401); the key after Bearer: refused (401)")
    assert observed(report, "correlation_id").endswith("; error bodies carry the header's id")


def test_every_order_the_api_probes_create_is_aborted_afterwards(emulator: KcoEmulator) -> None:
    api_report(emulator)
    created = [call["order_id"] for call in emulator.calls("create") if call["status"] == 201]
    aborted = {call["order_id"] for call in emulator.calls("abort") if call["status"] == 200}
    assert len(created) == 3
    assert set(created) == aborted


# --- The report and the emulator that plays it ------------------------------------------------------------

def test_the_emulator_started_from_a_report_plays_what_it_observed_also_after_a_reset(
    emulator: KcoEmulator, tmp_path: Path
) -> None:
    emulator.settings(aborted_orders="read_only", update_merge="deep")
    report = tmp_path / "report.json"
    report.write_text(api_report(emulator).as_json(), encoding="utf-8")
    argv = [sys.executable, "-m", "kco_emulator", "--port", "0", "--settings-from", str(report)]
    with ServerProcess("emulator", argv, ready=EMULATOR_LISTENING) as played:
        replayed = KcoEmulator(played.url)
        replayed.reset()
        settings = replayed.settings()
    assert (settings["aborted_orders"], settings["update_merge"]) == ("read_only", "deep")


@pytest.mark.parametrize(("report", "problem"), [
    ({"emulator_settings": {"aborted_orders": "gone"}}, "aborted_orders must be one of not_found, read_only"),
    ({"emulator_settings": {"colour": "blue"}}, "colour is not a behaviour setting of the emulator"),
    ({"findings": []}, "the report has no emulator_settings object"),
])
def test_the_emulator_refuses_a_report_it_cannot_play_in_one_line(
    tmp_path: Path, report: dict[str, Any], problem: str
) -> None:
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report), encoding="utf-8")
    argv = [sys.executable, "-m", "kco_emulator", "--port", "0", "--settings-from", str(path)]
    finished = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert finished.returncode == 2
    assert problem in finished.stderr and finished.stderr.count("\n") == 1


def test_a_step_nobody_does_is_reported_as_not_observed_with_the_reason(emulator: KcoEmulator) -> None:
    config = ClientConfig.from_env({"KCO_API_URL": emulator.url, "KCO_API_KEY": TEST_KEY})
    report = run_probe(config, parts=["lock"], guide=lambda step, page_url: None, step_timeout=0.1)
    finding = report.finding("callback_lock_status")
    assert finding.unobserved.startswith("the step “Type this shopper in the checkout")
    assert finding.unobserved.endswith("was not done within 0.1 s")
    assert "| not observed: the step “Type this shopper" in report.as_markdown()
    # The order it had opened for the step is aborted.
    assert [call["status"] for call in emulator.calls("abort")] == [200]


# --- Readings of real KCO the emulator cannot produce ------------------------------------------------------

@pytest.mark.parametrize(("seconds", "setting"), [
    ([125, 301], {"push_schedule": "real"}),
    ([140, 442], {"push_schedule": "real_from_first_push"}),
    ([1, 3], {"push_schedule": "fast"}),
    ([120, 900], {}),
])
def test_push_times_are_read_as_the_reading_they_match(seconds: list[int], setting: dict[str, str]) -> None:
    finding = push_finding(seconds, Exchange("POST", "/acknowledge", 204))
    assert finding.setting == setting
    assert bool(finding.unplayed) == (not setting)


def test_an_update_kco_holds_until_the_callback_is_answered_matches_no_setting() -> None:
    probe = LockProbe(kco=None, order_id="order", hold_seconds=5)  # type: ignore[arg-type]
    probe.update = Exchange("POST", "/checkout/v3/orders/order", 200)
    probe.answered_during_hold = False
    finding = lock_finding(probe, Exchange("POST", "/checkout/v3/orders/order", 200))
    assert finding.setting == {}
    assert finding.unplayed == ("KCO held the update until the callback was answered; the emulator answers "
                                "at once")


def address_event(name: str, address: dict[str, str]) -> dict[str, Any]:
    return {"name": name, "payload": {"postal_code": address["postal_code"], "country": "swe"}}


def test_a_shipping_address_change_that_arrives_after_done_counts_with_the_address_it_carries() -> None:
    # The person pressed Done as soon as billing_address_change showed; the widget's shipping_address_change
    # for the same address came a moment later, among the separate address's events.
    events = [address_event("billing_address_change", SHOPPER),
              address_event("shipping_address_change", SHOPPER),
              address_event("billing_address_change", SHOPPER),
              address_event("shipping_address_change", RECIPIENT)]
    with_billing, with_separate = split_address_events(events, billing_step_events=1)
    assert with_billing == ["billing_address_change", "shipping_address_change"]
    assert with_separate == ["billing_address_change", "shipping_address_change"]
    finding = address_finding(with_billing, with_separate)
    assert finding.setting == {"shipping_address_change": "every_address"}


def test_the_markdown_report_tells_each_kind_of_finding() -> None:
    report = Report("https://api.playground.kustom.co", "https://probe.example", "start", "end", [
        Finding("aborted_orders", "abort 200; read 404", {"aborted_orders": "not_found"}),
        Finding("update_merge", "kept", unplayed="deep keeps both"),
        Finding("second_snippet", "replaced", note="the emulator does the same"),
        Finding("push_schedule", unobserved="1 push(es) came within 12 minutes of the purchase"),
    ])
    rows = report.as_markdown().splitlines()
    assert "| What an aborted order answers | abort 200; read 404 | `aborted_orders=\"not_found\"` | " \
           "`aborted-orders` |" in rows
    assert "| What an update does to an object it sends in part | kept | no setting plays this: deep keeps " \
           "both | `update-nested-objects` |" in rows
    assert "| What a second snippet does on one page | replaced | the emulator does the same | " \
           "`page-follows-order` |" in rows
    assert ("| When the push schedule starts counting | — | not observed: 1 push(es) came within 12 minutes "
            "of the purchase | `push-and-acknowledge` |") in rows
    assert report.emulator_settings() == {"aborted_orders": "not_found"}
