"""The pytest plugin's `kco_emulator` fixture (kco_emulator.pytest_plugin) does what its methods say, each
over one control call, seen from the REST API a shop calls. The shop-side uses are in the rest of the suite
and in the example merchant project (tests/test_installable.py).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from harness.emulator_samples import sample_order
from kco_emulator.testing import ControlRefused, EmulatorNotReady, EmulatorProcess, KcoEmulator


def create(kco_emulator: KcoEmulator) -> requests.Response:
    return requests.post(f"{kco_emulator.url}/checkout/v3/orders", json=sample_order(),
                         auth=kco_emulator.credentials, timeout=10)


def read(kco_emulator: KcoEmulator, order_id: str) -> requests.Response:
    return requests.get(f"{kco_emulator.url}/checkout/v3/orders/{order_id}", auth=kco_emulator.credentials,
                        timeout=10)


def update(kco_emulator: KcoEmulator, order_id: str) -> requests.Response:
    return requests.post(f"{kco_emulator.url}/checkout/v3/orders/{order_id}",
                         json={"merchant_reference1": "x"}, auth=kco_emulator.credentials, timeout=10)


def test_each_test_starts_with_an_empty_emulator_whose_log_lists_the_shops_calls(
        kco_emulator: KcoEmulator) -> None:
    assert kco_emulator.calls() == []
    order_id = create(kco_emulator).json()["order_id"]
    assert read(kco_emulator, order_id).status_code == 200
    assert kco_emulator.order(order_id)["order_id"] == order_id  # looking does not count as a call

    assert [entry["operation"] for entry in kco_emulator.calls()] == ["create", "read"]
    assert [entry["order_id"] for entry in kco_emulator.calls("read")] == [order_id]


def test_expire_moves_the_clock_just_past_the_orders_48_hours(kco_emulator: KcoEmulator) -> None:
    order_id = create(kco_emulator).json()["order_id"]
    kco_emulator.advance(hours=47)
    assert update(kco_emulator, order_id).status_code == 200  # activity restarts the window

    kco_emulator.expire(order_id)

    assert read(kco_emulator, order_id).status_code == 404
    assert kco_emulator.order_state(order_id)["expired"] is True


def test_fail_next_and_disconnect_next_break_only_the_next_calls_of_their_operation(
        kco_emulator: KcoEmulator) -> None:
    kco_emulator.fail_next("create", status=503, times=2)
    assert [create(kco_emulator).status_code for _ in range(3)] == [503, 503, 201]

    order_id = kco_emulator.calls("create")[-1]["order_id"]
    kco_emulator.disconnect_next("read")
    with pytest.raises(requests.ConnectionError):
        read(kco_emulator, order_id)
    assert read(kco_emulator, order_id).status_code == 200


def test_lock_refuses_the_next_updates_with_the_callback_lock_status(kco_emulator: KcoEmulator) -> None:
    order_id = create(kco_emulator).json()["order_id"]
    kco_emulator.lock(order_id, refusals=1)
    refused = update(kco_emulator, order_id)
    assert refused.status_code == kco_emulator.settings()["callback_lock_status"]
    assert update(kco_emulator, order_id).status_code == 200


def test_change_country_is_refused_unless_the_order_offers_that_country_among_two_or_more(
        kco_emulator: KcoEmulator) -> None:
    single = create(kco_emulator).json()["order_id"]  # no billing_countries: Sweden only
    for country in ("DE", "SE"):
        with pytest.raises(ControlRefused, match="two or more billing_countries"):
            kco_emulator.change_country(single, country)
    finnish = sample_order(purchase_country="FI", purchase_currency="EUR", locale="fi-FI",
                           billing_countries=["FI", "DE"])
    offering = requests.post(f"{kco_emulator.url}/checkout/v3/orders", json=finnish,
                             auth=kco_emulator.credentials, timeout=10).json()["order_id"]
    with pytest.raises(ControlRefused, match="offers the shopper FI, DE"):
        kco_emulator.change_country(offering, "SE")
    assert kco_emulator.change_country(offering, "DE")["result"] == "updated"


def test_a_pending_fraud_review_ends_with_the_decision(kco_emulator: KcoEmulator) -> None:
    order_id = create(kco_emulator).json()["order_id"]
    assert kco_emulator.complete(order_id, fraud_status="PENDING")["result"] == "completed"
    assert kco_emulator.order_state(order_id)["fraud_status"] == "PENDING"

    kco_emulator.decide_fraud(order_id, "FRAUD_RISK_ACCEPTED")

    assert kco_emulator.order_state(order_id)["fraud_status"] == "ACCEPTED"


@pytest.mark.kco_emulator_settings(aborted_orders="read_only", callback_lock_status=423,
                                   automatic_shipping_cost="separate")
def test_the_settings_marker_applies_after_the_reset(kco_emulator: KcoEmulator) -> None:
    settings = kco_emulator.settings()
    names = ("aborted_orders", "callback_lock_status", "automatic_shipping_cost")
    assert [settings[name] for name in names] == ["read_only", 423, "separate"]


def test_without_the_emulator_extra_the_emulator_says_which_pip_install_is_missing(tmp_path: Path) -> None:
    # A flask that cannot be imported, first on the emulator process's path: a `pip install kco-sync` without
    # its extra.
    (tmp_path / "flask").mkdir()
    (tmp_path / "flask" / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'flask'\", name='flask')\n", encoding="utf-8")
    process = EmulatorProcess(env={"PYTHONPATH": str(tmp_path)})
    reason = re.escape("'flask' is missing: pip install 'kco-sync[emulator]'")
    with pytest.raises(EmulatorNotReady, match=reason):
        process.start()


def run_pytest_outside_this_repository(folder: Path, *arguments: str) -> str:
    """A test run in `folder`, without this repository's configuration (as in a merchant's fresh project)."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith("PYTEST_")}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *arguments],
                         cwd=folder, env=environment, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def test_the_plugin_hides_pytest_base_urls_deprecation_warning(tmp_path: Path) -> None:
    (tmp_path / "test_uses_base_url.py").write_text("def test_it(base_url):\n    pass\n", encoding="utf-8")
    assert "PytestRemovedIn10Warning" in run_pytest_outside_this_repository(tmp_path, "-p", "no:kco_emulator")
    assert "PytestRemovedIn10Warning" not in run_pytest_outside_this_repository(tmp_path)
